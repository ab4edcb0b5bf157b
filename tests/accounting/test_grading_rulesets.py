"""Grading rulesets as data: provenance for every value, coverage, digest, format checks."""

from __future__ import annotations

import copy
import json
import random
import re
from importlib import resources

import pytest

from accounting import (
    INDUSTRIES,
    AccountingError,
    available_rulesets,
    digest_document,
    load_ruleset,
    ruleset_for,
)
from accounting.grading import parse_ruleset
from accounting.grading.rulesets import STATUSES
from tests.accounting.helpers import D

HUZHOU = "zj-huzhou-2021"


def _document(ruleset_id: str) -> dict:
    path = resources.files("accounting.data.rulesets").joinpath(f"{ruleset_id}.json")
    return json.loads(path.read_text(encoding="utf-8"))


def _provenances(ruleset):
    yield ruleset.level_provenance
    yield ruleset.grade_provenance
    yield from (a.provenance for a in ruleset.averages.values())
    yield from (b.provenance for b in ruleset.benchmarks.values())


@pytest.mark.parametrize("ruleset_id", available_rulesets())
def test_every_shipped_value_has_complete_provenance(ruleset_id):
    ruleset = load_ruleset(ruleset_id)
    for p in _provenances(ruleset):
        assert p.document.strip() and p.clause.strip() and p.notice.strip()
        assert 2000 <= p.year <= 2030
        assert p.status in STATUSES
        if p.status == "illustrative":  # placeholders must say so, and say what replaces them
            assert "placeholder" in p.note.lower() and "replace" in p.note.lower()


def test_huzhou_thresholds_are_the_verified_method_text():
    ruleset = load_ruleset(HUZHOU)
    assert ruleset.levels == (("low", D("0.6")), ("medium", D("2.0")), ("high", None))
    assert ruleset.grade_edges == (D("0.6"), D("0.8"), D("1.2"), D("2.0"))
    for p in (ruleset.level_provenance, ruleset.grade_provenance):
        assert p.status == "verified" and p.year == 2021 and p.url
    # The provincial standard's thresholds were not retrieved: the data says so.
    missing = " ".join(
        item["document"] + item["note"] for item in ruleset.document["not_retrieved"]
    )
    assert "DB33/T 1347-2023" in missing and "NOT retrieved" in missing


def test_covers_the_six_industries_with_illustrative_2025_averages():
    ruleset = load_ruleset(HUZHOU)
    assert ruleset.industries == frozenset(INDUSTRIES)
    averages = {i: ruleset.average(i, 2025) for i in INDUSTRIES}
    assert all(
        a.origin == "ruleset" and a.provenance.status == "illustrative" for a in averages.values()
    )
    value = {i: a.value for i, a in averages.items()}
    # Plausible order: heavy industries far above automotive.
    assert value["automotive"] < value["chemicals"] < value["iron_steel"] < value["aluminium"]
    assert value["automotive"] < D("0.6") < D("2.0") < value["flat_glass"] < value["cement"]


def test_product_benchmarks():
    ruleset = load_ruleset(HUZHOU)
    products = {i: ruleset.benchmark(i, 2025) for i in INDUSTRIES}
    named = {i: b.product for i, b in products.items() if b is not None}
    assert named == {
        "cement": "clinker",
        "flat_glass": "flat_glass",
        "iron_steel": "crude_steel",
        "aluminium": "primary_aluminium",
    }
    for b in filter(None, products.values()):
        assert b.unit == "tCO2e/t" and b.provenance.status == "illustrative"


def test_data_files_store_decimals_as_strings():
    text = resources.files("accounting.data.rulesets").joinpath(f"{HUZHOU}.json").read_text()
    assert not re.search(r'"(value|max)":\s*[0-9]', text)


def test_digest_is_keccak_of_canonical_json_and_deterministic():
    ruleset = load_ruleset(HUZHOU)
    document = _document(HUZHOU)
    assert re.fullmatch(r"0x[0-9a-f]{64}", ruleset.digest)
    assert ruleset.digest == digest_document(document)
    # Key order and whitespace do not matter (RFC 8785); any value does.
    items = list(document.items())
    random.Random(7).shuffle(items)
    assert parse_ruleset(json.loads(json.dumps(dict(items), indent=4))).digest == ruleset.digest
    changed = copy.deepcopy(document)
    changed["industry_averages"][0]["value"] = "0.31"
    assert parse_ruleset(changed).digest != ruleset.digest


def test_load_is_cached_and_default_is_the_only_ruleset():
    assert load_ruleset(HUZHOU) is load_ruleset(HUZHOU)
    if available_rulesets() == (HUZHOU,):
        assert load_ruleset() is load_ruleset(HUZHOU)


def test_ruleset_for_region_and_year():
    assert ruleset_for("cn-zj-huzhou", 2021).id == HUZHOU
    assert ruleset_for(" CN-ZJ-Huzhou ", 2025).id == HUZHOU


def test_a_later_ruleset_replaces_an_earlier_one_from_its_first_year():
    older = load_ruleset(HUZHOU)
    newer_doc = _document(HUZHOU)
    newer_doc.update(id="zj-huzhou-2024", valid_years={"from": 2024, "to": 2026})
    newer = parse_ruleset(newer_doc)
    assert ruleset_for("cn-zj-huzhou", 2023, [older, newer]) is older
    assert ruleset_for("cn-zj-huzhou", 2024, [older, newer]) is newer
    assert ruleset_for("cn-zj-huzhou", 2026, [older, newer]) is newer
    twin = parse_ruleset({**_document(HUZHOU), "id": "twin"})
    with pytest.raises(AccountingError) as info:
        ruleset_for("cn-zj-huzhou", 2022, [older, twin])
    assert info.value.code == "invalid_ruleset"


def _broken(edit):
    document = _document(HUZHOU)
    edit(document)
    return document


BROKEN = {
    "format tag": lambda d: d.update(format="something-else"),
    "edges not increasing": lambda d: d["grades"]["bands"][1].update(max="0.5"),
    "last band closed": lambda d: d["levels"]["bands"][-1].update(max="9"),
    "grades misnumbered": lambda d: d["grades"]["bands"][0].update(grade=0),
    "unknown industry": lambda d: d["industries"].append("textiles"),
    "average for uncovered industry": lambda d: d["industries"].remove("cement"),
    "duplicate average": lambda d: d["industry_averages"].append(d["industry_averages"][0]),
    "zero average": lambda d: d["industry_averages"][0].update(value="0"),
    "unknown status": lambda d: d["industry_averages"][0].update(status="official-ish"),
    "unknown source": lambda d: d["grades"].update(source="nowhere"),
    "number not string": lambda d: d["levels"]["bands"][0].update(max=0.6),
    "benchmark unit": lambda d: d["product_benchmarks"][0].update(unit="kg/t"),
    "years reversed": lambda d: d.update(valid_years={"from": 2025, "to": 2021}),
    "missing key": lambda d: d.pop("levels"),
}


@pytest.mark.parametrize("name", BROKEN)
def test_malformed_rulesets_are_refused(name):
    with pytest.raises(AccountingError) as info:
        parse_ruleset(_broken(BROKEN[name]))
    assert info.value.code == "invalid_ruleset"
