"""Files that would exhaust a reader are refused before or while they are read, with a code;
``carbon-ledger calc`` applies the same bounds and exits 2 with a short message."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from accounting import FileLimitError, FileLimits, InventoryFormatError, read_inventory
from accounting.spreadsheets import csv_rows, open_xlsx, sheet_rows
from ledger_api.cli import app
from ledger_api.core.config import get_settings
from tests.accounting.spreadsheet_bombs import (
    MIB,
    SHEET,
    dimension_bomb,
    in_sheet,
    lying_sizes,
    many_members,
    rezip,
    string_bomb,
    workbook,
)

LIMITS = FileLimits()


def refusal(tmp_path: Path, data: bytes, suffix: str = ".xlsx", **limits: int) -> str:
    path = tmp_path / f"bomb{suffix}"
    path.write_bytes(data)
    with pytest.raises(FileLimitError) as caught:
        read_inventory(path, FileLimits(**limits))
    return caught.value.code


def test_a_sheet_declaring_3000_by_16384_cells_is_refused_before_a_row_is_read(
    tmp_path: Path,
) -> None:
    bomb = dimension_bomb(3_000, 16_384)
    assert len(bomb) < 8 * 1024  # tiny on the wire
    assert refusal(tmp_path, bomb) == "sheet_too_large"
    # Within the limits the same construction reads: the limit is what refuses it.
    within = dimension_bomb(LIMITS.max_rows, LIMITS.max_columns)
    assert refusal(tmp_path, within, max_cells=2) == "sheet_too_large"  # counted, not declared


def test_cells_are_checked_where_they_are_not_where_the_dimension_says(tmp_path: Path) -> None:
    honest = workbook([["identifier"], ["88.118.8/CL-ENT-1"]])
    no_dimension = rezip(honest, in_sheet(rb'<dimension ref="[^"]*" ?/>', b""))
    far_right = rezip(no_dimension, in_sheet(rb'<c r="A2"', b'<c r="XFD2"'))
    assert refusal(tmp_path, far_right) == "sheet_too_large"
    far_down = rezip(no_dimension, in_sheet(rb'<row r="2"', b'<row r="1048576"'))
    assert refusal(tmp_path, far_down) == "too_many_rows"
    # Rows and cells without positions count one after another, as openpyxl places them.
    unnumbered = "".join("<row><c><v>1</v></c></row>" for _ in range(LIMITS.max_rows + 1))
    long = rezip(no_dimension, in_sheet(rb"<sheetData>", b"<sheetData>" + unnumbered.encode()))
    assert refusal(tmp_path, long) == "too_many_rows"


def test_zip_bombs_are_refused_by_ratio_and_by_inflated_size(tmp_path: Path) -> None:
    ratio_bomb = string_bomb(4 * MIB)  # 4 MiB of zeros, deflated to a few KiB
    assert len(ratio_bomb) < 64 * 1024
    assert refusal(tmp_path, ratio_bomb) == "archive_too_large"
    # With the ratio check out of the way, the inflated size still stops it.
    assert refusal(tmp_path, ratio_bomb, max_ratio=10**6, max_member_bytes=MIB) == (
        "archive_too_large"
    )
    assert (
        refusal(tmp_path, ratio_bomb, max_ratio=10**6, max_total_bytes=2 * MIB)
        == "archive_too_large"
    )


def test_sizes_are_counted_while_inflating_not_taken_from_the_headers(tmp_path: Path) -> None:
    bomb = string_bomb(4 * MIB)
    # Declared tiny: nothing past the declared size is inflated, and the CRC gives the lie away.
    under = lying_sizes(bomb, SHEET, 1_000)
    path = tmp_path / "under.xlsx"
    path.write_bytes(under)
    with pytest.raises(InventoryFormatError, match="not an XLSX workbook"):
        read_inventory(path, FileLimits(max_ratio=10**6))
    # Declared huge: refused from the central directory, before anything is inflated.
    assert refusal(tmp_path, lying_sizes(bomb, SHEET, 2**31)) == "archive_too_large"


def test_an_archive_of_many_members_is_refused(tmp_path: Path) -> None:
    assert refusal(tmp_path, many_members(LIMITS.max_members)) == "archive_too_large"


def test_xml_is_bounded_by_elements_and_may_not_declare_a_dtd(tmp_path: Path) -> None:
    honest = workbook([["identifier"], ["88.118.8/CL-ENT-1"]])
    assert refusal(tmp_path, honest, max_xml_elements=20) == "archive_too_large"
    laughs = b'<!DOCTYPE w [<!ENTITY a "aaaaaaaaaa">]><worksheet'
    with_dtd = rezip(honest, in_sheet(rb"<worksheet", laughs))
    path = tmp_path / "dtd.xlsx"
    path.write_bytes(with_dtd)
    with pytest.raises(InventoryFormatError, match="declares a DTD"):
        read_inventory(path)


def test_rows_are_counted_while_read_even_when_the_archive_check_allowed_them() -> None:
    data = workbook([["identifier"], *[[f"88.118.8/CL-ENT-{i}"] for i in range(5)]])
    book = open_xlsx(data, LIMITS, data_only=True)
    try:
        rows: Iterator[tuple[object, ...]] = sheet_rows(book.active, FileLimits(max_rows=3))
        with pytest.raises(FileLimitError) as caught:
            list(rows)
    finally:
        book.close()
    assert caught.value.code == "too_many_rows"


def test_csv_lines_columns_rows_and_size(tmp_path: Path) -> None:
    ten_mb_line = "activity,quantity,unit\n" + "x" * (10 * MIB) + "\n"
    assert refusal(tmp_path, ten_mb_line.encode(), ".csv") == "upload_too_large"
    assert refusal(tmp_path, ten_mb_line.encode(), ".csv", max_bytes=16 * MIB) == "line_too_long"
    wide = ",".join(["a"] * (LIMITS.max_columns + 1))
    with pytest.raises(FileLimitError) as caught:
        list(csv_rows(wide, LIMITS))
    assert caught.value.code == "sheet_too_large"
    tall = "a\n" * (LIMITS.max_rows + 1)
    with pytest.raises(FileLimitError) as caught:
        list(csv_rows(tall, LIMITS))
    assert caught.value.code == "too_many_rows"
    assert len(list(csv_rows("a\n" * LIMITS.max_rows, LIMITS))) == LIMITS.max_rows


def test_calc_applies_the_configured_bounds_and_exits_2_briefly(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    runner = CliRunner()
    bomb = tmp_path / "bomb.xlsx"
    bomb.write_bytes(dimension_bomb())
    result = runner.invoke(app, ["calc", str(bomb)])
    assert result.exit_code == 2
    assert "sheet_too_large" in result.output and len(result.output) < 400
    zip_bomb = tmp_path / "zip.xlsx"
    zip_bomb.write_bytes(string_bomb(4 * MIB))
    result = runner.invoke(app, ["calc", str(zip_bomb), "--json"])
    assert result.exit_code == 2
    assert '"code": "archive_too_large"' in result.output
    small = tmp_path / "small.csv"
    small.write_text("enterprise_id,e\n" * 50, encoding="utf-8")
    monkeypatch.setenv("CARBON_UPLOAD_LIMITS", '{"max_bytes": 100}')
    get_settings.cache_clear()
    try:
        result = runner.invoke(app, ["calc", str(small)])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 2
    assert "upload_too_large" in result.output


def test_openpyxl_would_have_padded_the_declared_dimension() -> None:
    """Why the dimension is dropped: read as declared, one row is 16,384 cells wide."""
    import openpyxl

    book = openpyxl.load_workbook(io.BytesIO(dimension_bomb()), read_only=True)
    try:
        first = next(book.active.iter_rows())
    finally:
        book.close()
    assert len(first) == 16_384
