"""Building blocks every domain's request and response models share, and the error body."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Path, Query
from pydantic import BaseModel, ConfigDict

from ledger_api.core.errors import Problem

# Identifiers: printable, no whitespace or control characters; schemes are checked elsewhere.
IDENTIFIER = r"^[\x21-\x7e]{1,128}$"
ADDRESS = r"^0x[0-9a-fA-F]{40}$"
HEX_SIGNATURE = r"^0x[0-9a-fA-F]{130}$"
# Figures travel as decimal strings, never JSON numbers, so no value passes through a float.
DECIMAL_TEXT = r"^(0|[1-9][0-9]{0,17})(\.[0-9]{1,12})?$"
#: The largest row id of every table on every database: ids are four-byte integers on
#: PostgreSQL (eight on SQLite), except leaves' and activity records' (migration 0020), which
#: no URL takes. A larger id names no row, and would overflow the query rather than miss.
MAX_ROW_ID = 2**31 - 1
#: A stored row's id in a path, or (``RowIdQuery``) in a query string.
RowId = Annotated[int, Path(ge=1, le=MAX_ROW_ID)]
RowIdQuery = Annotated[int | None, Query(ge=1, le=MAX_ROW_ID)]


class Strict(BaseModel):
    """A request body: unknown fields are refused rather than silently dropped."""

    model_config = ConfigDict(extra="forbid")


class Open(BaseModel):
    """A response whose keys partly come from a stored document (a rating, a bundle part):
    the fields listed are always there, the document's others pass through."""

    model_config = ConfigDict(extra="allow")


class ErrorDetail(BaseModel):
    code: str
    message: str
    field: str | None = None
    problems: list[Problem] | None = None


class ErrorOut(BaseModel):
    """The one shape of every 4xx and 5xx body the ledger answers."""

    error: ErrorDetail


#: Documents the error body on every route (the handlers in ``errors`` answer it).
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {"4XX": {"model": ErrorOut}}
