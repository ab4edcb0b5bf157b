"""Bulk registration files: enterprises, sources and terminals from CSV or XLSX.

``dry_run_csv`` / ``dry_run_xlsx`` read a file set and return either a ``BulkPlan`` (every row
valid, in the order to register them) or every ``RowProblem`` found, each naming its sheet,
spreadsheet row and column. Nothing here touches the database: what is already registered
comes in as ``Known``, and the caller still enforces uniqueness when it writes.

Column layout and cell rules: docs/identifiers.md, "Bulk registration files". Files are read
within ``FileLimits`` (``accounting.spreadsheets``): a file over one raises ``FileLimitError``
rather than becoming a row problem, since nothing in it was checked.
"""

from __future__ import annotations

import csv
import json
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time
from decimal import Decimal
from typing import Any

from accounting.methods import ACTIVITIES
from accounting.spreadsheets import FileLimits, csv_rows, excerpt, open_xlsx, sheet_rows
from ledger_api.registry.identifiers import IdentifierError, parse
from ledger_api.registry.metadata_templates import (
    PUBLIC_ID,
    FieldSpec,
    TemplateCatalog,
    TemplateError,
)
from verifier.protocol.keccak import parse_address, to_checksum_address

SHEETS: tuple[str, ...] = ("enterprises", "sources", "terminals")
KIND = {"enterprises": "enterprise", "sources": "source", "terminals": "terminal"}
# Columns that are not template fields: keys and references, checked here, not by templates.
STRUCTURAL: dict[str, tuple[str, ...]] = {
    "enterprises": ("identifier", "template"),
    "sources": ("identifier", "enterprise"),
    "terminals": ("identifier", "address", "enterprise", "sources"),
}
REQUIRED: dict[str, tuple[str, ...]] = {
    "enterprises": ("identifier", "industry"),
    "sources": ("identifier", "enterprise"),
    "terminals": ("identifier", "address", "enterprise", "sources"),
}
LIST_SEPARATOR = ";"
MAX_ROWS = 10_000  # per sheet; larger registrations are split into several files
MAX_MESSAGE = 160  # characters of a problem's message: enough to name a value, not echo a file


@dataclass(frozen=True, slots=True)
class RowProblem:
    sheet: str
    row: int | None  # spreadsheet row, header = 1; None for whole-file problems
    column: str | None
    code: str
    message: str


@dataclass(frozen=True, slots=True)
class Sheet:
    name: str
    header: tuple[Any, ...]
    rows: tuple[tuple[int, tuple[Any, ...]], ...]  # (row number, cells)


@dataclass(frozen=True, slots=True)
class Known:
    """What the database already holds (canonical identifiers, checksum addresses)."""

    enterprises: Mapping[str, str] = field(default_factory=dict)  # identifier → template id
    sources: Mapping[str, str] = field(default_factory=dict)  # identifier → enterprise
    terminals: frozenset[str] = frozenset()
    addresses: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class PlannedRow:
    kind: str  # enterprise | source | terminal
    sheet: str
    row: int
    identifier: str  # canonical text
    template_id: str
    document: Mapping[str, Any]  # template fields, validated
    enterprise: str | None = None
    sources: tuple[str, ...] = ()
    address: str | None = None  # EIP-55 checksum address of a terminal's key


@dataclass(frozen=True, slots=True)
class BulkPlan:
    enterprises: tuple[PlannedRow, ...]
    sources: tuple[PlannedRow, ...]
    terminals: tuple[PlannedRow, ...]

    @property
    def rows(self) -> tuple[PlannedRow, ...]:
        """Every row in registration order: a row only refers to rows before it."""
        return (*self.enterprises, *self.sources, *self.terminals)


class BulkFileError(ValueError):
    def __init__(self, code: str, message: str, sheet: str = "") -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.sheet = sheet


@dataclass(frozen=True, slots=True)
class _Formula:
    text: str


def read_csv(data: bytes | str, sheet: str, limits: FileLimits | None = None) -> Sheet:
    """One CSV file holds one sheet; ``sheet`` says which (e.g. from the file name)."""
    if isinstance(data, bytes):
        try:
            data = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise BulkFileError(
                "unreadable_file", "CSV files are UTF-8 (save as 'CSV UTF-8')", sheet
            ) from None
    try:
        return _sheet(sheet, csv_rows(data, limits or FileLimits(), sheet))
    except csv.Error as exc:
        raise BulkFileError("unreadable_file", f"not a CSV file: {excerpt(exc)}", sheet) from None


def read_xlsx(data: bytes, limits: FileLimits | None = None) -> tuple[Sheet, ...]:
    """Every worksheet of a workbook, except those whose name starts with ``_`` (notes)."""
    limits = limits or FileLimits()
    try:
        workbook = open_xlsx(data, limits, data_only=False)
    except ValueError as exc:
        raise BulkFileError("unreadable_file", str(exc)) from None
    try:
        return tuple(
            _sheet(ws.title, _xlsx_records(ws, limits))
            for ws in workbook.worksheets
            if not ws.title.startswith("_")
        )
    except ValueError as exc:  # a cell openpyxl cannot convert, e.g. a number that is not one
        raise BulkFileError("unreadable_file", f"unreadable cell: {excerpt(exc)}") from None
    finally:
        workbook.close()


def _xlsx_records(worksheet: Any, limits: FileLimits) -> Iterable[list[Any]]:
    for cells in sheet_rows(worksheet, limits):
        # A formula's cached result may be stale or absent; keep the formula to refuse it.
        yield [
            _Formula(str(c.value)) if getattr(c, "data_type", None) == "f" else c.value
            for c in cells
        ]


def _sheet(name: str, records: Iterable[list[Any]]) -> Sheet:
    header: tuple[Any, ...] = ()
    rows: list[tuple[int, tuple[Any, ...]]] = []
    for number, cells in enumerate(records, start=1):
        if number == 1:
            header = tuple(cells)
        elif any(not _empty(c) for c in cells):
            rows.append((number, tuple(cells)))
            if len(rows) > MAX_ROWS:
                raise BulkFileError("too_many_rows", f"more than {MAX_ROWS} rows", name)
    return Sheet(name, header, tuple(rows))


def _empty(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


class _CellError(ValueError):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def _text_cell(value: Any, what: str) -> str:
    """A cell that must hold text: identifiers, codes, names."""
    if isinstance(value, str):
        return value
    if isinstance(value, _Formula):
        raise _CellError("formula_cell", f"{what} is a formula ({value.text}); enter the value")
    if isinstance(value, int | float) and not isinstance(value, bool):
        # Excel keeps 15 significant digits: an 18-digit code typed as a number is already lost.
        raise _CellError("numeric_cell", f"{what} is a number cell; format the cell as text")
    raise _CellError("invalid_cell", f"{what} holds {type(value).__name__}, not text")


def _decimal_cell(value: Any, what: str) -> str:
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise _CellError("invalid_cell", f"{what} is not a finite number")
        # Shortest text that round-trips to the stored double: what Excel displays.
        return format(Decimal(repr(value)), "f")
    return _text_cell(value, what)


def _date_cell(value: Any, what: str) -> str:
    if isinstance(value, datetime):
        if value.time() != time(0):
            raise _CellError("invalid_cell", f"{what} has a time of day; a date is wanted")
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return _text_cell(value, what)


def _field_value(value: Any, spec: FieldSpec | None, column: str) -> Any:
    """The JSON value of a template field cell, per the field's type and format."""
    if spec is not None and spec.type == "array":
        text = _text_cell(value, column)
        return [item.strip() for item in text.split(LIST_SEPARATOR) if item.strip()]
    fmt = spec.format if spec is not None else None
    if fmt == "decimal":
        return _decimal_cell(value, column)
    if fmt == "date":
        return _date_cell(value, column)
    return _text_cell(value, column)


def dry_run_csv(
    files: Mapping[str, bytes | str],
    catalog: TemplateCatalog,
    *,
    known: Known | None = None,
    allowed_prefixes: Iterable[str] | None = None,
    limits: FileLimits | None = None,
) -> BulkPlan | list[RowProblem]:
    """``files`` maps a sheet name (enterprises, sources, terminals) to that CSV file."""
    sheets, problems = [], []
    for name, data in files.items():
        try:
            sheets.append(read_csv(data, name, limits))
        except BulkFileError as exc:
            problems.append(RowProblem(name, None, None, exc.code, exc.message))
    return _finish(sheets, problems, catalog, known, allowed_prefixes)


def dry_run_xlsx(
    data: bytes,
    catalog: TemplateCatalog,
    *,
    known: Known | None = None,
    allowed_prefixes: Iterable[str] | None = None,
    limits: FileLimits | None = None,
) -> BulkPlan | list[RowProblem]:
    """One workbook with a sheet per kind: enterprises, sources, terminals."""
    try:
        sheets = read_xlsx(data, limits)
    except BulkFileError as exc:
        return [RowProblem(exc.sheet, None, None, exc.code, exc.message)]
    return _finish(list(sheets), [], catalog, known, allowed_prefixes)


def plan(
    sheets: Iterable[Sheet],
    catalog: TemplateCatalog,
    *,
    known: Known | None = None,
    allowed_prefixes: Iterable[str] | None = None,
) -> BulkPlan | list[RowProblem]:
    """Check every row of ``sheets``; the plan if all are valid, else every problem."""
    return _finish(list(sheets), [], catalog, known, allowed_prefixes)


def _finish(
    sheets: list[Sheet],
    problems: list[RowProblem],
    catalog: TemplateCatalog,
    known: Known | None,
    allowed_prefixes: Iterable[str] | None,
) -> BulkPlan | list[RowProblem]:
    allowed = None if allowed_prefixes is None else frozenset(allowed_prefixes)
    planner = _BulkPlanner(catalog, known or Known(), allowed)
    planner.problems.extend(problems)
    if not sheets and not problems:
        planner.report("", None, None, "empty_file", "no enterprises, sources or terminals sheet")
    planner.run(sheets)
    if planner.problems:
        order = {name: i for i, name in enumerate(SHEETS)}
        return sorted(
            planner.problems, key=lambda p: (order.get(p.sheet, -1), p.row or 0)
        )  # stable: within a row, problems stay in column order
    return BulkPlan(*(tuple(planner.planned[s]) for s in SHEETS))


class _Planner:
    """Walks the sheets in dependency order, collecting problems and planned rows."""

    def __init__(
        self, catalog: TemplateCatalog, known: Known, allowed: frozenset[str] | None
    ) -> None:
        self.catalog = catalog
        self.known = known
        self.allowed = allowed
        self.problems: list[RowProblem] = []
        self.flagged: set[tuple[str, int | None, str | None]] = set()  # (sheet, row, column)
        self.planned: dict[str, list[PlannedRow]] = {s: [] for s in SHEETS}
        self.seen: dict[str, str] = {}  # identifier → where it first appeared
        self.addresses: dict[str, str] = {}
        # Rows of this file, valid or not: a broken enterprise row still exists for its
        # sources, which should not also be reported as orphans.
        self.enterprises: dict[str, str] = {}  # identifier → template id
        self.sources: dict[str, str] = {}  # identifier → enterprise identifier

    def report(self, sheet: str, row: int | None, column: str | None, code: str, msg: str) -> None:
        where = None if column is None else excerpt(column)  # a header cell names a column
        message = excerpt(msg, MAX_MESSAGE)
        self.problems.append(RowProblem(excerpt(sheet), row, where, code, message))
        self.flagged.add((sheet, row, column))

    def run(self, sheets: list[Sheet]) -> None:
        by_name: dict[str, Sheet] = {}
        for sheet in sheets:
            if sheet.name not in SHEETS:
                self.report(sheet.name, None, None, "unknown_sheet", f"expected one of {SHEETS}")
            elif sheet.name in by_name:
                self.report(sheet.name, None, None, "duplicate_sheet", "sheet given twice")
            else:
                by_name[sheet.name] = sheet
        for name in SHEETS:  # dependency order, whatever the order in the file
            if name in by_name:
                self._sheet(by_name[name])

    def _sheet(self, sheet: Sheet) -> None:
        columns = self._header(sheet)
        if columns is None:
            return
        handler = {
            "enterprises": self._enterprise_row,
            "sources": self._source_row,
            "terminals": self._terminal_row,
        }[sheet.name]
        for number, cells in sheet.rows:
            row = _Row(sheet.name, number, columns, cells)
            before = len(self.problems)
            planned = handler(row)
            if planned is not None and len(self.problems) == before:
                self.planned[sheet.name].append(planned)

    def _header(self, sheet: Sheet) -> dict[str, int] | None:
        columns: dict[str, int] = {}
        kind = KIND[sheet.name]
        fields = {f for t in self.catalog.templates() for f in self.catalog.fields(t.id, kind)}
        for index, cell in enumerate(sheet.header):
            if _empty(cell):
                continue
            name = cell.strip() if isinstance(cell, str) else None
            if name is None:
                self.report(sheet.name, 1, None, "invalid_header", f"header cell {index + 1}")
            elif name in columns:
                self.report(sheet.name, 1, name, "duplicate_column", f"column {name} twice")
            elif name not in fields and name not in STRUCTURAL[sheet.name]:
                self.report(sheet.name, 1, name, "unknown_column", f"no template has {name}")
            else:
                columns[name] = index
        missing = [c for c in REQUIRED[sheet.name] if c not in columns]
        for name in missing:
            self.report(sheet.name, 1, name, "missing_column", f"column {name} is required")
        return None if missing else columns


@dataclass(frozen=True, slots=True)
class _Row:
    sheet: str
    number: int
    columns: Mapping[str, int]
    cells: tuple[Any, ...]

    def value(self, column: str) -> Any:
        index = self.columns.get(column)
        if index is None or index >= len(self.cells) or _empty(self.cells[index]):
            return None
        return self.cells[index]


class _Rows(_Planner):
    """Row checks shared by the three sheets."""

    def _identifier(self, row: _Row, column: str, value: Any = None) -> str | None:
        """Canonical identifier in ``column`` (or ``value``), or None after reporting why."""
        value = row.value(column) if value is None else value
        if value is None:
            self.report(row.sheet, row.number, column, "missing_value", f"{column} is empty")
            return None
        try:
            return parse(_text_cell(value, column), self.allowed).text
        except (IdentifierError, _CellError) as exc:
            self.report(row.sheet, row.number, column, exc.code, f"{value!r}: {exc.message}")
            return None

    def _claim(self, row: _Row) -> str | None:
        """The row's own identifier, if new to both this file and the ledger."""
        identifier = self._identifier(row, "identifier")
        if identifier is None:
            return None
        where = f"sheet {row.sheet} row {row.number}"
        if identifier in self.seen:
            self.report(
                row.sheet,
                row.number,
                "identifier",
                "duplicate_identifier",
                f"{identifier} is also on {self.seen[identifier]}",
            )
            return None
        self.seen[identifier] = where
        known = self.known
        if any(
            identifier in table for table in (known.enterprises, known.sources, known.terminals)
        ):
            self.report(
                row.sheet,
                row.number,
                "identifier",
                "already_registered",
                f"{identifier} is already registered",
            )
        return identifier

    def _owner(self, row: _Row) -> tuple[str | None, str | None]:
        """The row's enterprise and that enterprise's template, None when unknown."""
        enterprise = self._identifier(row, "enterprise")
        if enterprise is None:
            return None, None
        template = self.enterprises.get(enterprise) or self.known.enterprises.get(enterprise)
        if template is None:
            self.report(
                row.sheet,
                row.number,
                "enterprise",
                "unknown_enterprise",
                f"{enterprise} is neither in this file nor registered",
            )
        return enterprise, template

    def _document(
        self, row: _Row, kind: str, template_id: str | None
    ) -> tuple[dict[str, Any], bool]:
        """The row's template fields as a JSON document, and whether it conforms.

        With no template (the row's enterprise is unknown) the fields are checked against the
        public template, open: which extra fields are allowed depends on the real one.
        """
        closed = template_id is not None
        template_id = template_id or PUBLIC_ID
        before = len(self.problems)
        try:
            fields = self.catalog.fields(template_id, kind)
        except TemplateError as exc:
            self.report(row.sheet, row.number, None, exc.code, exc.message)
            return {}, False
        document: dict[str, Any] = {}
        broken: set[str] = set()
        for column in row.columns:
            value = row.value(column)
            if column in STRUCTURAL[row.sheet] or value is None:
                continue
            try:
                document[column] = _field_value(value, fields.get(column), column)
            except _CellError as exc:
                broken.add(column)
                self.report(row.sheet, row.number, column, exc.code, exc.message)
        for problem in self.catalog.validate(template_id, kind, document, closed=closed):
            column = _column_of(problem.path)
            if column in broken:
                continue  # the cell was refused above; "required" would only repeat it
            message = (
                problem.message
                if problem.path == f"$.{column}"
                else (f"{problem.path}: {problem.message}")
            )
            self.report(row.sheet, row.number, column, problem.code, message)
        return document, len(self.problems) == before

    def _has_problem(self, row: _Row, column: str) -> bool:
        return (row.sheet, row.number, column) in self.flagged

    def _industry(self, template_id: str) -> str | None:
        try:
            return self.catalog.get(template_id).industry or "general"
        except TemplateError:
            return None


def _column_of(path: str) -> str | None:
    """First member name of a JSON path: ``$.activities[1]`` → ``activities``."""
    rest = path[1:]
    if rest.startswith("."):
        name = rest[1:]
        for stop in (".", "["):
            name = name.split(stop, 1)[0]
        return name
    if rest.startswith('["'):
        return json.loads(rest[1 : rest.index('"]') + 1])
    return None


class _BulkPlanner(_Rows):
    """One handler per sheet; each returns the planned row, or None when it cannot be."""

    def _enterprise_row(self, row: _Row) -> PlannedRow | None:
        identifier = self._claim(row)
        template_id = self._enterprise_template(row)
        document, ok = self._document(row, "enterprise", template_id)
        if identifier is not None:
            self.enterprises[identifier] = template_id
        if identifier is None or not ok:
            return None
        return PlannedRow("enterprise", row.sheet, row.number, identifier, template_id, document)

    def _enterprise_template(self, row: _Row) -> str:
        chosen = row.value("template")
        try:
            if chosen is not None:
                return self.catalog.get(_text_cell(chosen, "template")).id
            industry = row.value("industry")
            if isinstance(industry, str):
                return self.catalog.for_industry(industry).id
        except (TemplateError, _CellError) as exc:
            if chosen is not None:  # a bad industry is reported by the template itself
                self.report(row.sheet, row.number, "template", exc.code, exc.message)
        return PUBLIC_ID

    def _source_row(self, row: _Row) -> PlannedRow | None:
        identifier = self._claim(row)
        enterprise, owner_template = self._owner(row)
        document, ok = self._document(row, "source", owner_template)
        self._activities(row, document, owner_template)
        if identifier is not None and enterprise is not None:
            self.sources[identifier] = enterprise
        if identifier is None or enterprise is None or owner_template is None or not ok:
            return None
        return PlannedRow(
            "source", row.sheet, row.number, identifier, owner_template, document, enterprise
        )

    def _activities(self, row: _Row, document: Mapping[str, Any], template_id: str | None) -> None:
        """Each activity code exists and is accounted for the enterprise's industry."""
        codes = document.get("activities")
        if not isinstance(codes, list) or self._has_problem(row, "activities"):
            return
        industry = self._industry(template_id) if template_id is not None else None
        for code in codes:
            spec = ACTIVITIES.get(code)
            if spec is None:
                self.report(
                    row.sheet, row.number, "activities", "unknown_activity", f"no code {code}"
                )
            elif industry is not None and not spec.allows(industry):
                self.report(
                    row.sheet,
                    row.number,
                    "activities",
                    "activity_not_allowed",
                    f"{code} is not accounted in {industry}",
                )

    def _terminal_row(self, row: _Row) -> PlannedRow | None:
        identifier = self._claim(row)
        address = self._address(row)
        enterprise, owner_template = self._owner(row)
        sources = self._terminal_sources(row, enterprise)
        document, ok = self._document(row, "terminal", owner_template)
        if None in (identifier, address, enterprise, owner_template) or not ok:
            return None  # _sheet plans a row only if it raised no problem at all
        return PlannedRow(
            "terminal",
            row.sheet,
            row.number,
            str(identifier),
            str(owner_template),
            document,
            enterprise=enterprise,
            sources=sources,
            address=address,
        )

    def _address(self, row: _Row) -> str | None:
        value = row.value("address")
        if value is None:
            self.report(row.sheet, row.number, "address", "missing_value", "address is empty")
            return None
        try:
            address = to_checksum_address(parse_address(_text_cell(value, "address")))
        except _CellError as exc:
            self.report(row.sheet, row.number, "address", exc.code, exc.message)
            return None
        except ValueError as exc:
            self.report(row.sheet, row.number, "address", "invalid_address", str(exc))
            return None
        if address in self.addresses:
            self.report(
                row.sheet,
                row.number,
                "address",
                "duplicate_address",
                f"{address} is also on {self.addresses[address]}",
            )
        elif address in self.known.addresses:
            self.report(
                row.sheet,
                row.number,
                "address",
                "already_registered",
                f"device {address} is already registered",
            )
        self.addresses.setdefault(address, f"sheet {row.sheet} row {row.number}")
        return address

    def _terminal_sources(self, row: _Row, enterprise: str | None) -> tuple[str, ...]:
        """The terminal's sources: each known, each of the terminal's own enterprise."""
        value = row.value("sources")
        if value is None:
            self.report(row.sheet, row.number, "sources", "missing_value", "sources is empty")
            return ()
        try:
            items = [i.strip() for i in _text_cell(value, "sources").split(LIST_SEPARATOR)]
        except _CellError as exc:
            self.report(row.sheet, row.number, "sources", exc.code, exc.message)
            return ()
        found: list[str] = []
        for item in filter(None, items):
            source = self._identifier(row, "sources", item)
            if source is None:
                continue
            if source in found:
                self.report(
                    row.sheet,
                    row.number,
                    "sources",
                    "duplicate_identifier",
                    f"{source} is listed twice",
                )
                continue
            found.append(source)
            self._check_source_owner(row, source, enterprise)
        return tuple(found)

    def _check_source_owner(self, row: _Row, source: str, enterprise: str | None) -> None:
        owner = self.sources.get(source) or self.known.sources.get(source)
        if owner is None:
            self.report(
                row.sheet,
                row.number,
                "sources",
                "unknown_source",
                f"{source} is neither in this file nor registered",
            )
        elif enterprise is not None and owner != enterprise:
            self.report(
                row.sheet,
                row.number,
                "sources",
                "source_not_in_enterprise",
                f"{source} belongs to {owner}, not {enterprise}",
            )
