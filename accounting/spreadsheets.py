"""Read untrusted CSV and XLSX files within fixed bounds.

An XLSX workbook is a zip of XML: a few kilobytes can declare a sheet of 3,000 × 16,384
cells, inflate to gigabytes, or hold millions of XML elements that the spreadsheet library
turns into objects. So before openpyxl sees a workbook, ``open_xlsx`` checks the zip's central
directory (member count, each member's and the total declared size, compression ratio), then
inflates every member while counting the bytes that really come out (headers can lie) and
feeds the XML to a bare expat parser that counts elements, refuses DTDs, and in each worksheet
checks the declared ``<dimension>``, every row and cell position and the number of cells.
``sheet_rows`` and ``csv_rows`` count again while rows are read and stop at the limit, so a
lying declaration gains nothing. Every refusal is a ``FileLimitError`` with a code.

What a legal file may still cost is measured in docs/security.md, "Uploads": callers read
files off any event loop.
"""

from __future__ import annotations

import csv
import io
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any
from xml.parsers import expat

from accounting.errors import AccountingError

MIB = 1024 * 1024
_CHUNK = 64 * 1024
_RATIO_FLOOR = MIB  # small members may compress extremely well (repeated styles); harmless
_EXCERPT = 80
_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
_CELL, _ROW, _DIMENSION = _MAIN + "c", _MAIN + "row", _MAIN + "dimension"
_DIGITS = "0123456789"
_BOMS = (b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff")


@dataclass(frozen=True, slots=True)
class FileLimits:
    """What one uploaded or read file may cost; documented in docs/security.md, "Uploads"."""

    max_bytes: int = 8 * MIB  # the file as uploaded or stored
    max_members: int = 64  # zip entries of a workbook
    max_member_bytes: int = 32 * MIB  # one entry, inflated
    max_total_bytes: int = 64 * MIB  # all entries, inflated
    max_ratio: int = 100  # inflated ÷ compressed, for entries over 1 MiB
    max_xml_elements: int = 2_000_000  # in all XML entries (an inline-string cell is 3)
    max_rows: int = 20_000  # per sheet, blank rows included
    max_columns: int = 256  # per row, and the declared width
    max_cells: int = 500_000  # per file
    max_line_chars: int = 64 * 1024  # one CSV line

    def __post_init__(self) -> None:
        for spec in fields(self):
            value = getattr(self, spec.name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(f"{spec.name} must be a positive whole number")


class FileLimitError(AccountingError):
    """A file over one of its ``FileLimits``: refused before or while it is read."""

    def __init__(self, code: str, message: str, *, sheet: str | None = None) -> None:
        super().__init__(message, field="file")
        self.code = code
        self.sheet = sheet


def excerpt(text: object, limit: int = _EXCERPT) -> str:
    """At most ``limit`` characters of ``text``: error messages never echo a whole input."""
    value = str(text)
    return value if len(value) <= limit else value[: limit - 1] + "…"


def check_size(size: int, limits: FileLimits) -> None:
    if size > limits.max_bytes:
        raise FileLimitError(
            "upload_too_large", f"the file has {size} bytes; at most {limits.max_bytes}"
        )


def open_xlsx(source: bytes | Path, limits: FileLimits, *, data_only: bool) -> Any:
    """A read-only openpyxl workbook, once the archive passed every check above.

    Raises ``FileLimitError`` for a file over a limit and ``ValueError`` for one that is not a
    readable workbook.
    """
    import openpyxl
    from openpyxl.utils.exceptions import InvalidFileException

    check_size(source.stat().st_size if isinstance(source, Path) else len(source), limits)
    data = source.read_bytes() if isinstance(source, Path) else source
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            _check_archive(archive, limits)
        return openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=data_only)
    except FileLimitError:
        raise
    except (
        zipfile.BadZipFile,
        InvalidFileException,
        zlib.error,
        expat.ExpatError,
        EOFError,
        KeyError,
        NotImplementedError,  # a compression method zipfile lacks
        RuntimeError,  # an encrypted entry
        ValueError,
        OSError,
    ) as exc:
        raise ValueError(f"not an XLSX workbook: {excerpt(exc)}") from None


def _check_archive(archive: zipfile.ZipFile, limits: FileLimits) -> None:
    members = archive.infolist()
    if len(members) > limits.max_members:
        raise _archive(f"{len(members)} entries; at most {limits.max_members}")
    declared = 0
    for info in members:
        declared += info.file_size
        _check_entry(info, info.file_size, declared, limits)
    counter = _XmlCounter(limits)
    inflated = 0
    for info in members:
        parser = None
        size = 0
        with archive.open(info) as entry:
            while chunk := entry.read(_CHUNK):
                if size == 0 and _looks_like_xml(chunk):
                    parser = counter.parser(info.filename)
                size += len(chunk)
                inflated += len(chunk)
                _check_entry(info, size, inflated, limits)
                if parser is not None:
                    parser.Parse(chunk, False)
        if parser is not None:
            parser.Parse(b"", True)


def _looks_like_xml(head: bytes) -> bool:
    """By content, not name: openpyxl follows the workbook's relationships to any entry name.
    Whatever it could parse as XML starts with ``<``, a byte-order mark, or whitespace and
    NULs (UTF-16 or UTF-32 without a mark) before ``<``; images and binary parts do not."""
    return head.startswith(_BOMS) or head.lstrip(b" \t\r\n\x00").startswith(b"<")


def _check_entry(info: zipfile.ZipInfo, size: int, total: int, limits: FileLimits) -> None:
    """``size`` of the entry and ``total`` of all so far, declared or counted while inflating."""
    name = excerpt(info.filename)
    if size > limits.max_member_bytes:
        raise _archive(f"{name} inflates to over {limits.max_member_bytes} bytes")
    if total > limits.max_total_bytes:
        raise _archive(f"the entries inflate to over {limits.max_total_bytes} bytes")
    if size > _RATIO_FLOOR and size > limits.max_ratio * max(info.compress_size, 1):
        raise _archive(f"{name} is compressed over {limits.max_ratio} to 1")


def _archive(message: str) -> FileLimitError:
    return FileLimitError("archive_too_large", message)


class _XmlCounter:
    """Counts what openpyxl would build from the XML entries, without building anything."""

    def __init__(self, limits: FileLimits) -> None:
        self.limits = limits
        self.elements = 0
        self.cells = 0

    def parser(self, name: str) -> Any:
        """An expat parser for one entry; its handlers raise ``FileLimitError``."""
        return _Entry(self, excerpt(name)).parser

    def count(self) -> None:
        self.elements += 1
        if self.elements > self.limits.max_xml_elements:
            raise _archive(f"over {self.limits.max_xml_elements} XML elements")


class _Entry:
    """One XML entry: every element counted; in a worksheet, rows and cells placed too."""

    def __init__(self, counter: _XmlCounter, name: str) -> None:
        from openpyxl.utils.cell import column_index_from_string, range_boundaries

        self.counter = counter
        self.limits = counter.limits
        self.name = name
        self.rows = self.row = self.column = 0
        self._column_of = column_index_from_string
        self._bounds = range_boundaries
        self.parser = expat.ParserCreate(namespace_separator="}")
        self.parser.StartElementHandler = self._root
        self.parser.StartDoctypeDeclHandler = self._doctype

    def _doctype(self, *_: object) -> None:
        # Workbooks never need one; refusing it rules out entity expansion altogether.
        raise ValueError(f"{self.name} declares a DTD")

    def _root(self, tag: str, _: dict[str, str]) -> None:
        self.counter.count()
        worksheet = tag == _MAIN + "worksheet"  # what openpyxl reads rows from
        self.parser.StartElementHandler = self._sheet if worksheet else self._other

    def _other(self, tag: str, _: dict[str, str]) -> None:
        self.counter.count()

    def _sheet(self, tag: str, attributes: dict[str, str]) -> None:
        self.counter.count()
        if tag == _CELL:
            self._cell(attributes.get("r"))
        elif tag == _ROW:
            self._row(attributes.get("r"))
        elif tag == _DIMENSION and attributes.get("ref"):
            self._dimension(attributes["ref"])

    def _cell(self, ref: str | None) -> None:
        limits = self.limits
        self.counter.cells += 1
        self.column = self._column_of(ref.rstrip(_DIGITS)) if ref else self.column + 1
        if self.column > limits.max_columns:
            raise _too_wide(self.name, limits)
        if self.counter.cells > limits.max_cells:
            raise _too_many_cells(limits)

    def _row(self, ref: str | None) -> None:
        self.rows += 1
        self.row = int(ref) if ref else self.row + 1
        self.column = 0
        if self.row > self.limits.max_rows or self.rows > self.limits.max_rows:
            raise _too_many_rows(self.name, self.limits)

    def _dimension(self, ref: str) -> None:
        _, _, columns, rows = self._bounds(ref)
        if (rows or 0) > self.limits.max_rows or (columns or 0) > self.limits.max_columns:
            raise FileLimitError(
                "sheet_too_large",
                f"{self.name} declares {excerpt(ref)}: at most "
                f"{self.limits.max_rows} rows of {self.limits.max_columns} columns",
            )


def _too_many_rows(where: str, limits: FileLimits) -> FileLimitError:
    return FileLimitError(
        "too_many_rows", f"{where} has over {limits.max_rows} rows", sheet=where or None
    )


def _too_wide(where: str, limits: FileLimits) -> FileLimitError:
    return FileLimitError(
        "sheet_too_large",
        f"{where} has a cell beyond column {limits.max_columns}",
        sheet=where or None,
    )


def _too_many_cells(limits: FileLimits, where: str = "") -> FileLimitError:
    return FileLimitError(
        "sheet_too_large", f"the file has over {limits.max_cells} cells", sheet=where or None
    )


def sheet_rows(worksheet: Any, limits: FileLimits) -> Iterator[tuple[Any, ...]]:
    """The cells of each row of a read-only worksheet, counted as they come.

    The declared dimension is dropped first: openpyxl pads every row to it, which is how a
    tiny file made millions of empty cells.
    """
    worksheet.reset_dimensions()
    name = excerpt(worksheet.title)
    cells = 0
    for number, row in enumerate(worksheet.iter_rows(), start=1):
        cells += len(row)
        if number > limits.max_rows:
            raise _too_many_rows(name, limits)
        if len(row) > limits.max_columns:
            raise _too_wide(name, limits)
        if cells > limits.max_cells:
            raise _too_many_cells(limits, name)
        yield row


def csv_rows(text: str, limits: FileLimits, sheet: str = "") -> Iterator[list[str]]:
    """The records of CSV ``text``, each line, row and the cells counted before use."""
    name = excerpt(sheet)

    def lines() -> Iterator[str]:
        for line in io.StringIO(text, newline=""):
            if len(line) > limits.max_line_chars:
                raise FileLimitError(
                    "line_too_long",
                    f"{name or 'the file'} has a line over {limits.max_line_chars} characters",
                    sheet=name or None,
                )
            yield line

    cells = 0
    for number, record in enumerate(csv.reader(lines()), start=1):
        cells += len(record)
        if number > limits.max_rows:
            raise _too_many_rows(name, limits)
        if len(record) > limits.max_columns:
            raise _too_wide(name, limits)
        if cells > limits.max_cells:
            raise _too_many_cells(limits, name)
        yield record
