"""``carbon-ledger calc``: prints the breakdown; on bad input exits non-zero with no total."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from accounting import account, inventory_to_dict, load_sample, reported_str, sample_path
from ledger_api.cli import app

runner = CliRunner()


def test_calc_prints_total_breakdown_and_provenance():
    result = runner.invoke(app, ["calc", str(sample_path("flat_glass"))])
    assert result.exit_code == 0, result.output
    expected = account(load_sample("flat_glass"))
    assert f"TOTAL        {reported_str(expected.total)} tCO2e" in result.stdout
    assert expected.factor_set_digest in result.stdout
    assert "grid.mee.province.zhejiang.2023=0.4974" in result.stdout
    assert "公告2025年第47号" in result.stdout


def test_calc_json_with_options():
    result = runner.invoke(
        app,
        [
            "calc",
            str(sample_path("aluminium")),
            "--gwp",
            "SAR",
            "--factor-set",
            "cn-ghg-v1",
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    expected = account(load_sample("aluminium"), gwp="SAR")
    assert payload["total"] == reported_str(expected.total)
    assert payload["gwp_set"] == "SAR"
    assert payload["factor_set"]["digest"] == expected.factor_set_digest
    assert isinstance(payload["by_gas"]["CF4"], str)
    assert payload["lines"][0]["factors"][0]["provenance"]["status"]


def _bad_file(tmp_path, mutate) -> str:
    document = inventory_to_dict(load_sample("automotive"))
    mutate(document)
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(document), encoding="utf-8")
    return str(path)


def test_calc_bad_entry_exits_nonzero_without_total(tmp_path):
    def unit_of_welding_entry(doc):
        doc["entries"][3]["unit"] = "MWh"  # welding CO2 is a mass

    result = runner.invoke(app, ["calc", _bad_file(tmp_path, unit_of_welding_entry)])
    assert result.exit_code != 0
    assert "TOTAL" not in result.stdout and "tCO2e" not in result.stdout
    assert "entry 3" in result.stderr and "unit" in result.stderr


def test_calc_unknown_gwp_and_factor_set_and_missing_file(tmp_path):
    path = str(sample_path("cement"))
    for args in (["--gwp", "AR9"], ["--factor-set", "nope"]):
        result = runner.invoke(app, ["calc", path, *args])
        assert result.exit_code != 0 and "TOTAL" not in result.stdout
    result = runner.invoke(app, ["calc", str(tmp_path / "missing.json")])
    assert result.exit_code != 0 and "TOTAL" not in result.stdout


def test_calc_json_error_is_machine_readable(tmp_path):
    def negative(doc):
        doc["entries"][0]["quantity"] = "-3"

    result = runner.invoke(app, ["calc", _bad_file(tmp_path, negative), "--json"])
    assert result.exit_code != 0 and result.stdout == ""
    error = json.loads(result.stderr)["error"]
    assert error == {
        "code": "negative_quantity",
        "entry": 0,
        "field": "quantity",
        "message": error["message"],
    }
