"""Metadata templates: shipped schemas, per-industry validation, enterprise extensions."""

from __future__ import annotations

import json
from typing import Any

import pytest
import rfc8785
import sha3
from jsonschema import Draft202012Validator

from accounting.industries import INDUSTRIES
from accounting.methods import ACTIVITIES
from devtools.seeding import smelter_template
from ledger_api.registry.metadata_templates import PUBLIC_ID, TemplateError
from ledger_api.registry.metadata_templates import TemplateCatalog as TemplateRegistry
from ledger_api.registry.metadata_templates.catalog import SCHEMA_DIR

ENTERPRISE = {
    "name": "Example Smelter Co., Ltd.",
    "uscc": "91350100M000100Y43",
    "region": "530100",
}

# Per industry: a valid enterprise, source and attributes document, and one bad attributes
# document with the exact path of its violation.
CASES: dict[str, dict[str, Any]] = {
    "aluminium": {
        "enterprise": {"capacity_kt": "350"},
        "source": {
            "kind": "process",
            "activities": ["process.anode", "process.pfc.slope.cwpb"],
            "potline_technology": "cwpb",
            "cell_count": "300",
        },
        "attributes": {
            "params": {"aem": "0.085", "net_anode_consumption": "0.412", "sulfur": "0.021"},
            "measurements": {"aluminium_output": "30150"},
        },
        "bad": ({"params": {"aem": 0.085}}, "$.params.aem"),
    },
    "cement": {
        "enterprise": {"clinker_capacity_tpd": "5000"},
        "source": {"kind": "process", "activities": ["process.clinker"], "kiln_process": "dry"},
        "attributes": {
            "params": {"cao": "0.6512", "mgo": "0.0231"},
            "measurements": {"clinker_output": "152000"},
        },
        "bad": ({"params": {"cao": "65.12"}}, "$.params.cao"),
    },
    "flat_glass": {
        "enterprise": {"melting_capacity_tpd": "900", "float_lines": "2"},
        "source": {"kind": "process", "activities": ["process.glass_carbon_powder"]},
        "attributes": {
            "params": {"carbon_content": "0.92"},
            "measurements": {"carbon_powder_use": "12.5", "cullet_ratio": "0.2"},
        },
        "bad": ({"measurements": {"cullet_ratio": "20%"}}, "$.measurements.cullet_ratio"),
    },
    "chemicals": {
        "enterprise": {"main_products": "Nitric acid"},
        "source": {
            "kind": "process",
            "activities": ["process.n2o.nitric_acid.high"],
            "nitric_acid_pressure": "high",
            "n2o_abatement": "nscr",
        },
        "attributes": {"params": {"abatement_efficiency": "0.9", "abatement_utilisation": "1"}},
        "bad": ({"params": {"aem": "0.1"}}, "$.params.aem"),  # an aluminium parameter
    },
    "iron_steel": {
        "enterprise": {"route": "bf_bof", "crude_steel_capacity_kt": "4000"},
        "source": {"kind": "process", "activities": ["process.flux.limestone"]},
        "attributes": {"params": {"ef": "0.44"}, "measurements": {"crude_steel_output": "1"}},
        "bad": (
            {"measurements": {"crude_steel_output": "-1"}},
            "$.measurements.crude_steel_output",
        ),
    },
    "automotive": {
        "enterprise": {"refrigerant_types": ["hfc_134a", "hfo_1234yf"]},
        "source": {
            "kind": "process",
            "activities": ["process.welding_co2"],
            "welding_process": "mag",
        },
        "attributes": {"measurements": {"shielding_gas_co2_share": "0.2"}},
        "bad": (
            {"measurements": {"shielding_gas_co2_share": "1.5"}},
            "$.measurements.shielding_gas_co2_share",
        ),
    },
}
TERMINAL = {
    "model": "EM-300",
    "serial": "SN-0001",
    "meter_class": "0.5S",
    "calibration_due": "2026-03-31",
}


@pytest.fixture(scope="module")
def registry() -> TemplateRegistry:
    return TemplateRegistry.default()


def test_every_shipped_schema_is_valid_2020_12() -> None:
    files = sorted(SCHEMA_DIR.glob("*.json"))
    assert {f.name for f in files} == {
        "public-v1.json",
        *(f"industry-{key}-v1.json" for key in INDUSTRIES),
    }
    for path in files:
        document = json.loads(path.read_text(encoding="utf-8"))
        Draft202012Validator.check_schema(document)
        assert document["$schema"] == "https://json-schema.org/draft/2020-12/schema"


def test_registry_ids_levels_and_digests(registry: TemplateRegistry) -> None:
    public = registry.get(PUBLIC_ID)
    assert (public.level, public.version, public.parent) == ("public", 1, None)
    assert registry.for_industry("general") == public
    for key in INDUSTRIES:
        template = registry.for_industry(key)
        assert template.id == f"https://carbon-ledger.example/templates/industry/{key}/v1"
        assert (template.level, template.industry, template.parent) == ("industry", key, PUBLIC_ID)
        expected = "0x" + sha3.keccak_256(rfc8785.dumps(template.document)).hexdigest()
        assert template.digest == expected
    assert (
        registry.for_industry("aluminium").digest
        == TemplateRegistry.default().for_industry("aluminium").digest
    )
    with pytest.raises(TemplateError) as info:
        registry.get("https://carbon-ledger.example/templates/industry/tea/v1")
    assert info.value.code == "unknown_template"


def test_industry_parameters_are_the_accounting_parameter_names(registry: TemplateRegistry) -> None:
    # Every accounting parameter of an industry's codes is declared by its template, so a
    # measured value that the engine accepts is never refused by the template.
    for key in INDUSTRIES:
        template = registry.for_industry(key).id
        wanted = {p.name for spec in ACTIVITIES.values() if spec.allows(key) for p in spec.params}
        document = {"params": dict.fromkeys(wanted, "0.5")}
        assert registry.validate(template, "attributes", document) == [], key


@pytest.mark.parametrize("industry", sorted(CASES))
def test_valid_documents_per_industry(registry: TemplateRegistry, industry: str) -> None:
    case = CASES[industry]
    template = registry.for_industry(industry).id
    enterprise = {**ENTERPRISE, "industry": industry, **case["enterprise"]}
    source = {"name": "Line 1", **case["source"]}
    assert registry.validate(template, "enterprise", enterprise) == []
    assert registry.validate(template, "source", source) == []
    assert registry.validate(template, "terminal", TERMINAL) == []
    assert registry.validate(template, "attributes", case["attributes"]) == []


@pytest.mark.parametrize("industry", sorted(CASES))
def test_invalid_document_per_industry_names_the_path(
    registry: TemplateRegistry, industry: str
) -> None:
    document, path = CASES[industry]["bad"]
    problems = registry.validate(registry.for_industry(industry).id, "attributes", document)
    assert [(p.code, p.path) for p in problems] == [("template_violation", path)]


def test_enterprise_problems_point_at_each_field(registry: TemplateRegistry) -> None:
    template = registry.for_industry("cement").id
    document = {
        "name": "Plant",
        "uscc": "91350100M000100Y44",  # wrong check character
        "region": "05300",
        "industry": "aluminium",
        "clinker_capacity_tpd": 5000,  # a JSON number
        "potline_technology": "cwpb",  # an aluminium field
    }
    problems = {p.path: p.message for p in registry.validate(template, "enterprise", document)}
    assert set(problems) == {
        "$.uscc",
        "$.region",
        "$.industry",
        "$.clinker_capacity_tpd",
        "$.potline_technology",
    }
    assert "check character is '3'" in problems["$.uscc"]
    assert "string" in problems["$.clinker_capacity_tpd"]
    missing = registry.validate(template, "enterprise", {"name": "Plant"})
    assert [p.path for p in missing] == ["$.industry", "$.region", "$.uscc"]


def test_nested_and_list_paths(registry: TemplateRegistry) -> None:
    template = registry.for_industry("aluminium").id
    source = {"name": "P", "kind": "process", "activities": ["process.anode", "Process"]}
    assert [p.path for p in registry.validate(template, "source", source)] == ["$.activities[1]"]
    odd = registry.validate(template, "attributes", {"params": {"a b": "1"}})
    assert [p.path for p in odd] == ['$.params["a b"]']
    assert [p.path for p in registry.validate(template, "terminal", [])] == ["$"]


def test_open_validation_skips_only_the_unknown_field_check(registry: TemplateRegistry) -> None:
    source = {"name": "P", "kind": "process", "activities": ["x.y"], "potline_technology": "cwpb"}
    assert registry.validate(PUBLIC_ID, "source", source, closed=False) == []
    assert [p.path for p in registry.validate(PUBLIC_ID, "source", source)] == [
        "$.potline_technology"
    ]


def test_unknown_kind(registry: TemplateRegistry) -> None:
    with pytest.raises(TemplateError) as info:
        registry.validate(PUBLIC_ID, "product", {})
    assert info.value.code == "unknown_kind"


def test_enterprise_template_extending_its_industry_is_accepted() -> None:
    registry = TemplateRegistry.default()
    parent = registry.for_industry("aluminium").id
    template = registry.register(smelter_template(parent), industry="aluminium", name="smelter-a")
    assert template.id == "https://carbon-ledger.example/templates/enterprise/smelter-a/v1"
    assert (template.level, template.version, template.parent, template.industry) == (
        "enterprise",
        1,
        parent,
        "aluminium",
    )
    attributes = {"params": {"aem": "0.1", "anode_density": "1.58"}}
    assert registry.validate(template.id, "attributes", attributes) == []
    bad = registry.validate(template.id, "attributes", {"params": {"anode_density": "dense"}})
    assert [p.path for p in bad] == ["$.params.anode_density"]
    source = {"name": "Potline 1", "kind": "process", "activities": ["process.anode"]}
    assert [p.path for p in registry.validate(template.id, "source", source)] == ["$.workshop"]
    assert registry.validate(template.id, "source", {**source, "workshop": "W1"}) == []
    # Kinds it does not redefine come from the industry template, constraints included.
    enterprise = {**ENTERPRISE, "industry": "cement"}
    assert [p.path for p in registry.validate(template.id, "enterprise", enterprise)] == [
        "$.industry"
    ]
    second = registry.register(smelter_template(parent), industry="aluminium", name="smelter-a")
    assert second.version == 2 and second.digest != template.digest


@pytest.mark.parametrize(
    ("mutate", "industry", "code"),
    [
        (
            lambda d, p: {**d, "$ref": p.replace("aluminium", "cement")},
            "aluminium",
            "not_extending",
        ),
        (lambda d, p: d, "cement", "not_extending"),
        (lambda d, p: {k: v for k, v in d.items() if k != "$ref"}, "aluminium", "not_extending"),
        (
            lambda d, p: {**d, "$defs": {"source_fields": {"properties": {"w": {}}}}},
            "aluminium",
            "not_extending",
        ),
        (
            lambda d, p: {**d, "$defs": {"product_fields": {"$ref": f"{p}#/$defs/source_fields"}}},
            "aluminium",
            "unknown_definition",
        ),
        (
            lambda d, p: {
                **d,
                "$defs": {
                    "source_fields": {
                        "$ref": f"{p}#/$defs/source_fields",
                        "additionalProperties": True,
                    }
                },
            },
            "aluminium",
            "loosening_keyword",
        ),
        (
            lambda d, p: {
                **d,
                "$defs": {
                    "params_fields": {
                        "allOf": [
                            {"$ref": f"{p}#/$defs/params_fields"},
                            {"properties": {"x": {"type": "number"}}},
                        ]
                    }
                },
            },
            "aluminium",
            "number_type",
        ),
        (
            lambda d, p: {
                **d,
                "$defs": {
                    "params_fields": {
                        "allOf": [
                            {"$ref": f"{p}#/$defs/params_fields"},
                            {"properties": {"x": {"$ref": "https://elsewhere.example/s.json"}}},
                        ]
                    }
                },
            },
            "aluminium",
            "foreign_ref",
        ),
        (
            lambda d, p: {
                **d,
                "$defs": {
                    "params_fields": {
                        "allOf": [
                            {"$ref": f"{p}#/$defs/params_fields"},
                            {"properties": {"x": {"$ref": f"{p}#/$defs/missing"}}},
                        ]
                    }
                },
            },
            "aluminium",
            "unresolvable_ref",
        ),
        (
            lambda d, p: {**d, "$schema": "http://json-schema.org/draft-07/schema#"},
            "aluminium",
            "wrong_dialect",
        ),
        (lambda d, p: {**d, "required": 5}, "aluminium", "invalid_schema"),
        (
            lambda d, p: {**d, "$id": "https://carbon-ledger.example/templates/enterprise/x/v2"},
            "aluminium",
            "version_conflict",
        ),
        (
            lambda d, p: {
                **d,
                "$id": "https://carbon-ledger.example/templates/industry/aluminium/v2",
            },
            "aluminium",
            "not_enterprise_template",
        ),
        (lambda d, p: {**d, "$id": "https://example.org/t"}, "aluminium", "bad_template_id"),
    ],
)
def test_enterprise_templates_that_do_not_extend_are_refused(
    mutate: Any, industry: str, code: str
) -> None:
    registry = TemplateRegistry.default()
    parent = registry.for_industry("aluminium").id
    document = mutate(smelter_template(parent), parent)
    with pytest.raises(TemplateError) as info:
        registry.register(document, industry=industry, name="x")
    assert info.value.code == code
    assert [t.level for t in registry.templates()].count("enterprise") == 0


def test_register_does_not_keep_a_reference_to_the_callers_document() -> None:
    registry = TemplateRegistry.default()
    parent = registry.for_industry("cement").id
    document = smelter_template(parent)
    template = registry.register(document, industry="cement", name="kiln-co")
    document["$defs"].clear()
    assert "params_fields" in registry.get(template.id).document["$defs"]
    assert "$id" not in document
