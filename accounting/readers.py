"""Read inventories from JSON, CSV and XLSX (format: docs/inventory-format.md).

Numbers are read from their decimal text, never through binary floating point: JSON number
literals are parsed straight to Decimal, CSV cells are text. XLSX stores numeric cells as
doubles; openpyxl hands them over as floats, so a numeric cell is read from the shortest decimal
text that round-trips to the stored double (what Excel shows and wrote) — text cells are exact.

Files are read within ``FileLimits`` (``accounting.spreadsheets``): its size first, then a
workbook's archive and XML, then every row as it is read; over a limit is ``FileLimitError``.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from accounting.errors import InventoryFormatError
from accounting.inventory import Entry, Inventory
from accounting.numbers import decimal_str
from accounting.spreadsheets import (
    FileLimits,
    check_size,
    csv_rows,
    excerpt,
    open_xlsx,
    sheet_rows,
)

HEADER_FIELDS = ("enterprise_id", "industry", "period_start", "period_end", "boundary")
ENTRY_COLUMNS = ("activity", "quantity", "unit", "factor", "source_id")
PARAM_PREFIX = "param."


def read_inventory(path: str | Path, limits: FileLimits | None = None) -> Inventory:
    """Read an inventory file; the format follows the suffix (.json, .csv, .xlsx)."""
    path = Path(path)
    limits = limits or FileLimits()
    suffix = path.suffix.lower()
    if suffix in (".json", ".csv", ".xlsx"):
        check_size(path.stat().st_size, limits)
    if suffix == ".json":
        return inventory_from_json(path.read_text(encoding="utf-8"))
    if suffix == ".csv":
        try:
            return inventory_from_rows(csv_rows(path.read_text(encoding="utf-8-sig"), limits))
        except csv.Error as exc:
            raise InventoryFormatError(f"not a CSV file: {excerpt(exc)}", field="file") from None
    if suffix == ".xlsx":
        return inventory_from_rows(_xlsx_rows(path, limits))
    raise InventoryFormatError(
        f"unsupported inventory file type {suffix!r} (use .json, .csv or .xlsx)", field="file"
    )


def inventory_from_json(text: str) -> Inventory:
    try:
        document = json.loads(text, parse_float=Decimal, parse_int=Decimal)
    except json.JSONDecodeError as exc:
        raise InventoryFormatError(f"not valid JSON: {exc}", field="file") from None
    if not isinstance(document, dict):
        raise InventoryFormatError("the document must be a JSON object", field="file")
    return inventory_from_dict(document)


def inventory_from_dict(document: Mapping[str, Any]) -> Inventory:
    """Inventory from the JSON document shape (decimal values as strings or numbers)."""
    entries_raw = document.get("entries")
    if not isinstance(entries_raw, list):
        raise InventoryFormatError("entries must be a list", field="entries")
    entries = tuple(_entry(i, raw) for i, raw in enumerate(entries_raw))
    choices = document.get("factor_choices") or {}
    if not isinstance(choices, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in choices.items()
    ):
        raise InventoryFormatError(
            "factor_choices must map activity codes to factor ids", field="factor_choices"
        )
    return Inventory(
        enterprise_id=_text(document, "enterprise_id"),
        industry=_text(document, "industry"),
        period_start=_date(document, "period_start"),
        period_end=_date(document, "period_end"),
        entries=entries,
        boundary=str(document.get("boundary") or ""),
        factor_choices=choices,
    )


def inventory_to_dict(inventory: Inventory) -> dict[str, Any]:
    """The JSON document shape of an inventory (inverse of ``inventory_from_dict``)."""
    return {
        "enterprise_id": inventory.enterprise_id,
        "industry": inventory.industry,
        "period_start": inventory.period_start.isoformat(),
        "period_end": inventory.period_end.isoformat(),
        "boundary": inventory.boundary,
        "factor_choices": dict(inventory.factor_choices),
        "entries": [_entry_dict(e) for e in inventory.entries],
    }


def _entry_dict(entry: Entry) -> dict[str, Any]:
    out: dict[str, Any] = {
        "activity": entry.code,
        "quantity": decimal_str(entry.quantity),
        "unit": entry.unit,
    }
    if entry.params:
        out["params"] = {k: decimal_str(v) for k, v in entry.params.items()}
    if entry.factor:
        out["factor"] = entry.factor
    if entry.source_id:
        out["source_id"] = entry.source_id
    return out


def _text(document: Mapping[str, Any], name: str) -> str:
    value = document.get(name)
    if not isinstance(value, str) or not value.strip():
        raise InventoryFormatError(f"{name} is required (text)", field=name)
    return value.strip()


def _date(document: Mapping[str, Any], name: str) -> date:
    value = document.get(name)
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value).strip())
    except ValueError:
        raise InventoryFormatError(
            f"{name} must be an ISO date (YYYY-MM-DD), got {value!r}", field=name
        ) from None


def _decimal(value: Any, index: int, field: str) -> Decimal:
    if isinstance(value, bool):
        raise InventoryFormatError("must be a decimal number", entry=index, field=field)
    if isinstance(value, Decimal):
        return value
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, float):
        # Only reached for XLSX numeric cells: recover the decimal text Excel stored.
        return _decimal(repr(value), index, field)
    try:
        # No thousands separators: "1,5" must not silently become 15.
        result = Decimal(str(value).strip())
    except InvalidOperation:
        raise InventoryFormatError(
            f"{value!r} is not a decimal number", entry=index, field=field
        ) from None
    if not result.is_finite():
        raise InventoryFormatError(f"{value!r} is not a finite number", entry=index, field=field)
    return result


def _entry(index: int, raw: Any) -> Entry:
    if not isinstance(raw, dict):
        raise InventoryFormatError("entry must be an object", entry=index)
    for name in ("activity", "unit"):
        if not isinstance(raw.get(name), str) or not raw[name].strip():
            raise InventoryFormatError(f"{name} is required (text)", entry=index, field=name)
    if raw.get("quantity") in (None, ""):
        raise InventoryFormatError("quantity is required", entry=index, field="quantity")
    params_raw = raw.get("params") or {}
    if not isinstance(params_raw, dict):
        raise InventoryFormatError("params must be an object", entry=index, field="params")
    params = {str(k): _decimal(v, index, f"params.{k}") for k, v in params_raw.items()}
    return Entry(
        code=raw["activity"].strip(),
        quantity=_decimal(raw["quantity"], index, "quantity"),
        unit=raw["unit"].strip(),
        params=params or None,
        factor=_optional_text(raw.get("factor")),
        source_id=_optional_text(raw.get("source_id")),
    )


def _optional_text(value: Any) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def inventory_from_rows(rows: Iterable[Sequence[Any]]) -> Inventory:
    """CSV / XLSX layout: ``key,value`` header rows, then an ``activity,…`` table."""
    header: dict[str, Any] = {}
    choices: dict[str, str] = {}
    columns: list[str] | None = None
    entries: list[dict[str, Any]] = []
    for row in rows:
        cells = ["" if c is None else c for c in row]
        if not any(str(c).strip() for c in cells):
            continue
        if columns is None:
            key = str(cells[0]).strip()
            if key == "activity":
                columns = [str(c).strip() for c in cells]
            elif key == "factor_choice":
                choices[str(cells[1]).strip()] = str(cells[2]).strip()
            else:
                value = cells[1] if len(cells) > 1 else ""
                header[key] = value if isinstance(value, date) else str(value).strip()
        else:
            entries.append(_row_entry(columns, cells))
    if columns is None:
        raise InventoryFormatError(
            "no entries table (a row starting with 'activity')", field="entries"
        )
    return inventory_from_dict({**header, "factor_choices": choices, "entries": entries})


def _row_entry(columns: list[str], cells: list[Any]) -> dict[str, Any]:
    entry: dict[str, Any] = {}
    params: dict[str, Any] = {}
    for name, cell in zip(columns, cells, strict=False):
        if isinstance(cell, str):
            cell = cell.strip()
        if cell == "" or not name:
            continue
        if name.startswith(PARAM_PREFIX):
            params[name.removeprefix(PARAM_PREFIX)] = cell
        else:
            entry[name] = cell if name == "quantity" else str(cell)
    if params:
        entry["params"] = params
    return entry


def _xlsx_rows(path: Path, limits: FileLimits) -> Iterable[Sequence[Any]]:
    try:
        workbook = open_xlsx(path, limits, data_only=True)
    except ValueError as exc:
        raise InventoryFormatError(str(exc), field="file") from None
    try:
        sheet = workbook["inventory"] if "inventory" in workbook.sheetnames else workbook.active
        for cells in sheet_rows(sheet, limits):
            yield tuple(getattr(c, "value", None) for c in cells)
    except ValueError as exc:  # a cell openpyxl cannot convert, e.g. a number that is not one
        raise InventoryFormatError(f"unreadable cell: {excerpt(exc)}", field="file") from None
    finally:
        workbook.close()
