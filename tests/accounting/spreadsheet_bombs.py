"""Hostile workbooks and archives, crafted byte by byte from a real openpyxl workbook.

Shared by the reader tests (tests/accounting) and the upload tests against a real server
(tests/ledger_api/registry/test_upload_bombs.py).
"""

from __future__ import annotations

import io
import re
import struct
import zipfile
from collections.abc import Callable

import openpyxl

SHEET = "xl/worksheets/sheet1.xml"
STRINGS_MEMBER = "xl/sharedStrings.xml"
MIB = 1024 * 1024


def workbook(rows: list[list[object]], title: str = "enterprises") -> bytes:
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = title
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def rezip(
    data: bytes,
    change: Callable[[str, bytes], bytes] = lambda _, body: body,
    extra: dict[str, bytes] | None = None,
) -> bytes:
    """The same archive with each member passed through ``change`` and ``extra`` added."""
    source = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        for info in source.infolist():
            archive.writestr(info.filename, change(info.filename, source.read(info)))
        for name, body in (extra or {}).items():
            archive.writestr(name, body)
    return out.getvalue()


def in_sheet(pattern: bytes, replacement: bytes) -> Callable[[str, bytes], bytes]:
    def change(name: str, body: bytes) -> bytes:
        if name != SHEET:
            return body
        changed = re.sub(pattern, replacement, body, count=1)
        assert changed != body, pattern
        return changed

    return change


def dimension_bomb(rows: int = 3_000, columns: int = 16_384) -> bytes:
    """The attacker's 1.6 KB file: a sheet declaring ``rows`` × ``columns`` cells, with a cell
    in its last row so a reader that pads to the declaration walks every one of them."""
    from openpyxl.utils import get_column_letter

    last = f"{get_column_letter(columns)}{rows}".encode()
    data = workbook([["identifier"], ["88.118.8/CL-ENT-1"]])
    data = rezip(data, in_sheet(rb'<dimension ref="[^"]*"', b'<dimension ref="A1:' + last + b'"'))
    tail = b'<row r="%d"><c r="A%d" t="inlineStr"><is><t>x</t></is></c></row>' % (rows, rows)
    return rezip(data, in_sheet(rb"</sheetData>", tail + b"</sheetData>"))


def string_bomb(inflated: int) -> bytes:
    """A workbook whose one cell is ``inflated`` bytes of zeros: deflate shrinks them ~1000×."""
    data = workbook([["identifier"], ["88.118.8/CL-ENT-1"]])
    cell = b'<c r="A2" t="inlineStr"><is><t>' + b"0" * inflated + b"</t></is></c>"
    return rezip(data, in_sheet(rb'<c r="A2".*?</c>', cell))


def many_members(count: int) -> bytes:
    data = workbook([["identifier"], ["88.118.8/CL-ENT-1"]])
    return rezip(data, extra={f"customXml/item{i}.xml": b"<a/>" for i in range(count)})


def lying_sizes(data: bytes, member: str, declared: int) -> bytes:
    """``data`` with ``member``'s uncompressed size declared as ``declared`` bytes, in its local
    header and in the central directory alike."""
    archive = zipfile.ZipFile(io.BytesIO(data))
    info = archive.getinfo(member)
    out = bytearray(data)
    struct.pack_into("<I", out, info.header_offset + 22, declared)  # local file header
    entry = data.find(b"PK\x01\x02", 0)
    while entry != -1:
        (offset,) = struct.unpack_from("<I", data, entry + 42)
        if offset == info.header_offset:
            struct.pack_into("<I", out, entry + 24, declared)  # central directory
            break
        entry = data.find(b"PK\x01\x02", entry + 4)
    assert entry != -1
    lied = zipfile.ZipFile(io.BytesIO(bytes(out))).getinfo(member)
    assert lied.file_size == declared
    return bytes(out)
