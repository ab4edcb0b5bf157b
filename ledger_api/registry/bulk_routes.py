"""Bulk registration of enterprises, sources and terminals from XLSX or CSV, with a dry run.

``POST /v1/registrations/bulk`` takes an XLSX workbook as the body, or JSON
``{"sheets": {"enterprises": "<csv>", "sources": "<csv>", "terminals": "<csv>"}}``. Every
problem is reported with its sheet, row and column (the first ``MAX_PROBLEMS``, then a count);
a file with any problem registers nothing, and ``?dryRun=true`` only reports. A file over the
upload limits is refused with 413 and the limit's code before its rows are checked.
"""

from __future__ import annotations

import json

from fastapi import APIRouter, Header, Query, Response, status
from sqlmodel import Session

from accounting.spreadsheets import FileLimitError, FileLimits
from ledger_api.access.deps import Admin
from ledger_api.core.deps import Context, SessionDep
from ledger_api.core.errors import ApiError, Problem
from ledger_api.core.uploads import Upload, limit_error
from ledger_api.registry.bulk import BulkPlan, RowProblem, dry_run_csv, dry_run_xlsx
from ledger_api.registry.schemas import BulkOut
from ledger_api.registry.service import apply_plan, known_registry
from ledger_api.registry.template_store import template_catalog

router = APIRouter(prefix="/v1/registrations", tags=["registry"])
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
MAX_PROBLEMS = 100  # listed in an answer; the rest are counted


def _plan(
    body: bytes, content_type: str, session: Session, prefix: str, limits: FileLimits
) -> BulkPlan | list[RowProblem]:
    known, catalog = known_registry(session), template_catalog()
    if content_type.startswith(XLSX):
        return dry_run_xlsx(body, catalog, known=known, allowed_prefixes={prefix}, limits=limits)
    try:
        sheets = json.loads(body)["sheets"]
        assert isinstance(sheets, dict)
        json.dumps(sheets, ensure_ascii=False).encode()  # lone surrogates: UnicodeEncodeError
    except (ValueError, KeyError, TypeError, AssertionError):
        raise ApiError(
            400,
            "malformed_body",
            'send an XLSX workbook or JSON {"sheets": {name: csv text}}',
            "body",
        ) from None
    for name, text in sheets.items():
        if not isinstance(text, str):
            raise ApiError(400, "malformed_body", "a sheet is CSV text", f"sheets.{name}")
    try:
        return dry_run_csv(sheets, catalog, known=known, allowed_prefixes={prefix}, limits=limits)
    except FileLimitError as exc:
        raise limit_error(exc, f"sheets.{exc.sheet}" if exc.sheet else "body") from None


def _refusal(problems: list[RowProblem]) -> ApiError:
    """422 listing the first ``MAX_PROBLEMS`` problems; one more item counts the rest."""
    listed = [
        Problem(code=p.code, message=p.message, index=p.row, field=f"{p.sheet}.{p.column}")
        for p in problems[:MAX_PROBLEMS]
    ]
    rest = len(problems) - len(listed)
    if rest:
        more = f"{rest} more problem(s) not listed"
        listed.append(Problem(code="more_problems", message=more, field="body"))
    return ApiError(
        422, "invalid_bulk_file", f"{len(problems)} problem(s); nothing registered", problems=listed
    )


@router.post(
    "/bulk",
    status_code=status.HTTP_201_CREATED,
    response_model=BulkOut,
    responses={200: {"description": "A dry run: what the file would register"}},
)
def bulk_register(
    _: Admin,
    body: Upload,
    session: SessionDep,
    context: Context,
    response: Response,
    content_type: str = Header("", include_in_schema=False),
    dry_run: bool = Query(False, alias="dryRun", description="Only check and report."),
) -> BulkOut:
    """Register a whole file, all or nothing; every problem names its sheet, row and column.

    A plain ``def``: the file is parsed in a worker thread, never on the event loop.
    """
    prefix, limits = context.settings.identifier_prefix, context.settings.upload_limits
    try:
        plan = _plan(body, content_type, session, prefix, limits)
    except FileLimitError as exc:
        raise limit_error(exc) from None
    if isinstance(plan, list):
        raise _refusal(plan)
    counts = BulkOut(
        dry_run=dry_run,
        enterprises=len(plan.enterprises),
        sources=len(plan.sources),
        terminals=len(plan.terminals),
    )
    if dry_run:
        response.status_code = status.HTTP_200_OK
        return counts
    apply_plan(session, plan)
    return counts
