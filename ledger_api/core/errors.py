"""One error family for the API: an HTTP status, a machine-readable code, the offending field,
per-item problems.

Every 4xx body has one shape::

    {"error": {"code": "...", "message": "...", "field": "...",
               "problems": [{"index": 3, "code": "...", "field": "...", "message": "..."}]}}
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException

from accounting.spreadsheets import excerpt

# Characters of any message or field in an answer. Both may quote the input at fault (a field
# can name a key of the body); a request can carry megabytes, and an error body must not hand
# them back (docs/security.md, "Uploads").
MAX_MESSAGE = 400


class Problem(BaseModel):
    """One thing wrong with one item of a request."""

    code: str
    message: str
    field: str | None = None
    index: int | None = None


class LedgerError(Exception):
    """Base of every error the ledger API answers: a machine-readable ``code``, the HTTP
    ``status`` it is answered with, the request ``field`` at fault and per-item problems.

    Subclasses fix ``code`` and ``status``; any instance may name its own.
    """

    code: str = "ledger_error"
    status: int = 400

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        status: int | None = None,
        field: str | None = None,
        problems: list[Problem] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        if status is not None:
            self.status = status
        self.field = field
        self.problems = problems or []
        self.headers = headers

    def __str__(self) -> str:
        where = f"field '{self.field}': " if self.field is not None else ""
        return f"{where}{self.message} [{self.code}]"

    def body(self) -> dict[str, Any]:
        error: dict[str, Any] = {"code": self.code, "message": excerpt(self.message, MAX_MESSAGE)}
        if self.field is not None:
            error["field"] = excerpt(self.field, MAX_MESSAGE)
        if self.problems:
            error["problems"] = [_clipped(p.model_dump(exclude_none=True)) for p in self.problems]
        return {"error": error}


def _clipped(problem: dict[str, Any]) -> dict[str, Any]:
    return {k: excerpt(v, MAX_MESSAGE) if isinstance(v, str) else v for k, v in problem.items()}


class ApiError(LedgerError):
    """A ledger error spelled in the order an HTTP answer reads: status, code, message."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        field: str | None = None,
        problems: list[Problem] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(
            message, code=code, status=status, field=field, problems=problems, headers=headers
        )


class NotFoundError(LedgerError):
    """No such object, or one the caller may not see: the two are answered alike."""

    status = 404

    def __init__(self, what: str, key: str) -> None:
        super().__init__(f"no {what.replace('_', ' ')} {key}", code=f"{what}_not_found")


def not_found(what: str, key: str) -> NotFoundError:
    return NotFoundError(what, key)


def _field(loc: tuple[Any, ...]) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path")]
    return ".".join(parts) or "body"


def install_error_handlers(app: FastAPI) -> None:
    """Answer every error in the one JSON shape above."""

    @app.exception_handler(LedgerError)
    async def ledger_error(_: Request, exc: LedgerError) -> JSONResponse:
        return JSONResponse(exc.body(), status_code=exc.status, headers=exc.headers)

    @app.exception_handler(RequestValidationError)
    async def validation_error(_: Request, exc: RequestValidationError) -> JSONResponse:
        problems = [
            Problem(
                code=str(e.get("type", "invalid")),
                message=str(e.get("msg", "")),
                field=_field(tuple(e.get("loc", ()))),
            )
            for e in exc.errors()
        ]
        malformed = any(p.code == "json_invalid" for p in problems)
        error = ApiError(
            422 if not malformed else 400,
            "malformed_json" if malformed else "invalid_request",
            "request body is not valid JSON" if malformed else "request does not fit the schema",
            field=problems[0].field if problems else None,
            problems=problems,
        )
        return JSONResponse(error.body(), status_code=error.status)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        codes = {404: "not_found", 405: "method_not_allowed", 413: "body_too_large"}
        code = codes.get(exc.status_code, "http_error")
        field = "body" if exc.status_code == 413 else None
        error = ApiError(exc.status_code, code, str(exc.detail), field)
        return JSONResponse(error.body(), status_code=exc.status_code)
