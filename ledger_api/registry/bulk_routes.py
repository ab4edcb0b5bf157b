"""Bulk registration of enterprises, sources and terminals from XLSX or CSV, with a dry run.

``POST /v1/registrations/bulk`` takes an XLSX workbook as the body, or JSON
``{"sheets": {"enterprises": "<csv>", "sources": "<csv>", "terminals": "<csv>"}}``. Every
problem is reported with its sheet, row and column; a file with any problem registers nothing,
and ``?dryRun=true`` only reports.
"""

from __future__ import annotations

import json

from fastapi import APIRouter, Query, Request, Response, status
from sqlmodel import Session

from ledger_api.access.deps import Admin
from ledger_api.core.deps import Context, SessionDep
from ledger_api.core.errors import ApiError, Problem
from ledger_api.registry.bulk import BulkPlan, RowProblem, dry_run_csv, dry_run_xlsx
from ledger_api.registry.schemas import BulkOut
from ledger_api.registry.service import apply_plan, known_registry
from ledger_api.registry.template_store import template_catalog

router = APIRouter(prefix="/v1/registrations", tags=["registry"])
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
MAX_BYTES = 20 * 1024 * 1024


async def _plan(request: Request, session: Session, prefix: str) -> BulkPlan | list[RowProblem]:
    body = await request.body()
    if len(body) > MAX_BYTES:
        raise ApiError(413, "file_too_large", f"at most {MAX_BYTES} bytes", "body")
    known, catalog = known_registry(session), template_catalog()
    if request.headers.get("content-type", "").startswith(XLSX):
        return dry_run_xlsx(body, catalog, known=known, allowed_prefixes={prefix})
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
    return dry_run_csv(sheets, catalog, known=known, allowed_prefixes={prefix})


@router.post(
    "/bulk",
    status_code=status.HTTP_201_CREATED,
    response_model=BulkOut,
    responses={200: {"description": "A dry run: what the file would register"}},
)
async def bulk_register(
    request: Request,
    session: SessionDep,
    context: Context,
    response: Response,
    _: Admin,
    dry_run: bool = Query(False, alias="dryRun", description="Only check and report."),
) -> BulkOut:
    """Register a whole file, all or nothing; every problem names its sheet, row and column."""
    plan = await _plan(request, session, context.settings.identifier_prefix)
    if isinstance(plan, list):
        raise ApiError(
            422,
            "invalid_bulk_file",
            f"{len(plan)} problem(s); nothing registered",
            problems=[
                Problem(code=p.code, message=p.message, index=p.row, field=f"{p.sheet}.{p.column}")
                for p in plan
            ],
        )
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
