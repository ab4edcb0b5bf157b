"""Determinism, rounding policy, file formats and the shipped samples."""

from __future__ import annotations

import csv
import decimal
import json
import random

import pytest
from openpyxl import Workbook

from accounting import (
    INDUSTRIES,
    Entry,
    account,
    decimal_str,
    inventory_to_dict,
    load_sample,
    read_inventory,
    report,
    reported_str,
)
from accounting.numbers import scaled_to_decimal
from tests.accounting.helpers import D, inventory


def _canonical(result) -> str:
    return json.dumps(result.to_dict(), sort_keys=True, ensure_ascii=False)


@pytest.mark.parametrize("industry", INDUSTRIES)
def test_samples_account_deterministically(industry):
    sample = load_sample(industry)
    assert sample.industry == industry and len(sample.entries) >= 4
    first, second = account(sample), account(load_sample(industry))
    assert _canonical(first) == _canonical(second)
    assert first.total > 0
    assert first.factor_set_digest == second.factor_set_digest
    assert sum(v for k, v in first.by_category.items() if k != "biomass_memo") == first.total
    assert sum(first.by_gas.values()) == first.total


def test_totals_do_not_depend_on_entry_order():
    entries = [line.entry for s in ("chemicals",) for line in account(load_sample(s)).lines]
    shuffled = entries[:]
    random.Random(7).shuffle(shuffled)
    a = account(inventory("chemicals", *entries))
    b = account(inventory("chemicals", *shuffled))
    assert a.total == b.total and a.by_gas == b.by_gas and a.by_category == b.by_category


def test_global_decimal_context_has_no_effect():
    sample = load_sample("aluminium")
    baseline = account(sample)
    with decimal.localcontext(decimal.Context(prec=6, rounding=decimal.ROUND_DOWN)):
        other = account(sample)
    assert _canonical(baseline) == _canonical(other)


def test_reporting_rounds_half_even_to_three_places():
    assert report(D("1.0005")) == D("1.000")
    assert report(D("1.0015")) == D("1.002")
    assert report(D("-2.34650")) == D("-2.346")
    assert reported_str(D("12.3")) == "12.300"
    assert decimal_str(D("1.2300E+3")) == "1230"
    assert decimal_str(D("-0.000120")) == "-0.00012"
    assert scaled_to_decimal(-12345, 2) == D("-123.45")


def _rows(inv) -> list[list[str]]:
    rows = [
        ["enterprise_id", inv.enterprise_id],
        ["industry", inv.industry],
        ["period_start", inv.period_start.isoformat()],
        ["period_end", inv.period_end.isoformat()],
        ["boundary", inv.boundary],
    ]
    rows += [["factor_choice", k, v] for k, v in inv.factor_choices.items()]
    names = sorted({n for e in inv.entries for n in (e.params or {})})
    rows.append(
        ["activity", "quantity", "unit", "factor", "source_id", *(f"param.{n}" for n in names)]
    )
    for e in inv.entries:
        params = e.params or {}
        rows.append(
            [
                e.code,
                decimal_str(e.quantity),
                e.unit,
                e.factor or "",
                e.source_id or "",
                *(decimal_str(params[n]) if n in params else "" for n in names),
            ]
        )
    return rows


def test_json_csv_xlsx_read_the_same(tmp_path):
    sample = load_sample("chemicals")
    (tmp_path / "inv.json").write_text(json.dumps(inventory_to_dict(sample)), encoding="utf-8")
    with open(tmp_path / "inv.csv", "w", newline="", encoding="utf-8") as fh:
        csv.writer(fh).writerows(_rows(sample))
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "inventory"
    for row in _rows(sample):
        sheet.append(row)
    workbook.save(tmp_path / "inv.xlsx")
    expected = _canonical(account(sample))
    for name in ("inv.json", "inv.csv", "inv.xlsx"):
        assert _canonical(account(read_inventory(tmp_path / name))) == expected, name


def test_xlsx_numeric_cells_keep_their_decimal_text(tmp_path):
    workbook = Workbook()
    sheet = workbook.active
    for row in (
        ["enterprise_id", "e"],
        ["industry", "general"],
        ["period_start", "2025-01-01"],
        ["period_end", "2025-01-31"],
        ["activity", "quantity", "unit"],
        ["fuel.diesel", 0.1, "t"],
        ["fuel.diesel", 12, "t"],
    ):
        sheet.append(row)
    workbook.save(tmp_path / "n.xlsx")
    inv = read_inventory(tmp_path / "n.xlsx")
    assert [e.quantity for e in inv.entries] == [D("0.1"), D("12")]


def test_entries_with_identical_inputs_give_identical_lines():
    entries = [Entry("fuel.natural_gas", D("3.7"), "10^4 Nm3")] * 3
    result = account(inventory("general", *entries))
    assert len({line.co2e for line in result.lines}) == 1
    assert result.total == result.lines[0].co2e * 3


def test_docs_list_every_activity_code_and_their_examples_parse(tmp_path):
    from pathlib import Path

    from accounting import activity_codes, inventory_from_json

    doc = (Path(__file__).resolve().parents[2] / "docs" / "inventory-format.md").read_text(
        encoding="utf-8"
    )
    missing = [code for code in activity_codes() if f"`{code}`" not in doc]
    assert missing == []
    json_block = doc.split("```json\n", 1)[1].split("```", 1)[0]
    assert account(inventory_from_json(json_block)).total > 0
    csv_block = doc.split("```csv\n", 1)[1].split("```", 1)[0]
    (tmp_path / "doc.csv").write_text(csv_block, encoding="utf-8")
    assert account(read_inventory(tmp_path / "doc.csv")).total > 0
