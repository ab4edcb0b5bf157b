"""Factor library: complete provenance, reference values, canonical digest, exact units."""

from __future__ import annotations

import copy
import decimal
import json
import re
from importlib import resources

import pytest

from accounting import (
    FactorSetFormatError,
    available_factor_sets,
    digest_document,
    load_factor_set,
)
from accounting.factors import STATUSES, parse_factor_set
from accounting.units import converter_for
from tests.accounting.helpers import D


def _document(set_id: str) -> dict:
    path = resources.files("accounting.data.factor_sets").joinpath(f"{set_id}.json")
    return json.loads(path.read_text(encoding="utf-8"))


@pytest.mark.parametrize("set_id", available_factor_sets())
def test_every_shipped_value_has_complete_provenance(set_id):
    factor_set = load_factor_set(set_id)
    provenances = [f.provenance for f in factor_set.factors.values()]
    provenances += [g.provenance for g in factor_set.gwp_sets.values()]
    assert len(provenances) > 100
    for p in provenances:
        assert p.document.strip() and p.clause.strip()
        assert 1990 <= p.year <= 2030
        assert p.notice == "none" or p.notice.strip()
        assert p.status in STATUSES
    document = _document(set_id)
    for unit in document["units"]["definitions"]:
        assert unit["source"] in document["sources"] and unit["clause"] and unit["status"]


def test_reference_values_and_statuses():
    fs = load_factor_set()
    expected = {
        "fuel.natural_gas.ncv": ("389.31", "secondary"),
        "fuel.natural_gas.cc": ("0.0153", "secondary"),
        "fuel.anthracite.ncv": ("24.515", "secondary"),
        "fuel.raw_coal.ncv": ("20.908", "recalled"),
        "carbonate.caco3": ("0.4397", "derived"),
        "grid.mee.national.2021": ("0.5568", "verified"),
        "grid.mee.national.2022": ("0.5366", "verified"),
        "grid.mee.national.2023": ("0.5306", "secondary"),
        "grid.ets.national.2022": ("0.5703", "verified"),
        "grid.ets.national.2021": ("0.5810", "recalled"),
        "grid.mee.province.zhejiang.2023": ("0.4974", "secondary"),
        "heat.default": ("0.11", "secondary"),
        "pfc.ef.cf4": ("0.034", "recalled"),
        "n2o.adipic_acid": ("300", "recalled"),
    }
    for factor_id, (value, status) in expected.items():
        factor = fs.factors[factor_id]
        assert (factor.value, factor.provenance.status) == (D(value), status), factor_id
    assert fs.factors["grid.mee.national.2022"].provenance.notice == "公告2024年第33号"
    assert fs.gwp("AR5").values["CH4"] == D("28")
    assert fs.gwp("AR6").values["CH4"] == D("27.9")
    assert "NF3" not in fs.gwp("SAR").values


def test_digest_is_keccak_of_canonical_json_and_tracks_content():
    fs = load_factor_set()
    assert re.fullmatch(r"0x[0-9a-f]{64}", fs.digest)
    document = _document(fs.id)
    assert digest_document(document) == fs.digest
    # Key order and whitespace do not matter; any value does.
    reordered = json.loads(json.dumps(document, sort_keys=True, indent=4))
    assert digest_document(reordered) == fs.digest
    changed = copy.deepcopy(document)
    changed["factors"][0]["value"] = "24.516"
    assert parse_factor_set(changed).digest != fs.digest
    assert fs.version == document["version"]


def test_factor_set_rejects_numbers_and_wrong_units():
    document = _document("cn-ghg-v1")
    bad = copy.deepcopy(document)
    bad["factors"][0]["value"] = 24.515
    with pytest.raises(FactorSetFormatError):
        parse_factor_set(bad)
    bad = copy.deepcopy(document)
    bad["factors"][0]["unit"] = "MJ/kg"
    with pytest.raises(FactorSetFormatError):
        parse_factor_set(bad)


@pytest.mark.parametrize(
    ("unit", "canonical", "ratio"),
    [
        ("kWh", "MWh", (D("0.001"), D(1))),
        ("kgce", "GJ", (D("0.0293076"), D(1))),  # 7000 kcal(IT) = 29.3076 MJ
        ("tce", "GJ", (D("29.3076"), D(1))),
        ("Nm3", "wan_Nm3", (D("0.0001"), D(1))),
        ("10^4 Nm3", "wan_Nm3", (D(1), D(1))),
        ("万Nm3", "wan_Nm3", (D(1), D(1))),
        ("kg", "t", (D("0.001"), D(1))),
        ("TJ", "GJ", (D(1000), D(1))),
        ("Gcal", "GJ", (D("4.1868"), D(1))),
        ("GJ", "MWh", (D(1), D("3.6"))),  # 1/3.6 is not a finite decimal: kept as a fraction
    ],
)
def test_unit_conversions_are_exact(unit, canonical, ratio):
    converter = converter_for(load_factor_set())
    assert converter.factor(unit, canonical) == ratio


def test_incompatible_units_never_convert():
    converter = converter_for(load_factor_set())
    assert converter.factor("m^3", "wan_Nm3") is None
    assert converter.factor("t", "MWh") is None


def test_conversion_does_not_depend_on_global_context():
    with decimal.localcontext(decimal.Context(prec=5)):
        from accounting.units import UnitConverter

        fs = load_factor_set()
        fresh = UnitConverter(fs.unit_definitions, dict(fs.unit_aliases))
        assert fresh.factor("lb", "t") == (D("0.00045359237"), D(1))


def test_the_default_set_is_one_object_however_it_is_named() -> None:
    """Asked for by default, by its id positionally or by keyword: the same parsed set, so the
    unit converter cached per set is built once."""
    default = load_factor_set()
    assert load_factor_set("cn-ghg-v1") is default
    assert load_factor_set(factor_set_id="cn-ghg-v1") is default
    assert converter_for(load_factor_set("cn-ghg-v1")) is converter_for(default)
