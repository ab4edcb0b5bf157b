"""Bulk registration of enterprises, sources and terminals from XLSX or CSV, with a dry run.

``POST /v1/registrations/bulk`` takes an XLSX workbook as the body, or JSON
``{"sheets": {"enterprises": "<csv>", "sources": "<csv>", "terminals": "<csv>"}}``. Every
problem is reported with its sheet, row and column; a file with any problem registers nothing,
and ``?dryRun=true`` only reports.
"""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Query, Request, Response, status
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from ledger_api.access.deps import Admin
from ledger_api.core.deps import Context, SessionDep
from ledger_api.core.errors import ApiError, Problem
from ledger_api.core.models import Device, EmissionSource, Enterprise
from ledger_api.registry.bulk import BulkPlan, Known, RowProblem, dry_run_csv, dry_run_xlsx
from ledger_api.registry.routes import add_device, add_enterprise, add_source
from ledger_api.registry.service import templates

router = APIRouter(tags=["registry"])
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
MAX_BYTES = 20 * 1024 * 1024


def _known(session: Session) -> Known:
    registry = templates()
    enterprises = {
        e.identifier: registry.for_industry(e.industry).id
        for e in session.scalars(select(Enterprise))
    }
    sources = dict(
        session.execute(
            select(EmissionSource.identifier, Enterprise.identifier).join(
                Enterprise, Enterprise.id == EmissionSource.enterprise_id
            )
        ).all()
    )
    addresses = frozenset(session.scalars(select(Device.address)))
    return Known(enterprises=enterprises, sources=sources, addresses=addresses)


async def _plan(request: Request, session: Session, prefix: str) -> BulkPlan | list[RowProblem]:
    body = await request.body()
    if len(body) > MAX_BYTES:
        raise ApiError(413, "file_too_large", f"at most {MAX_BYTES} bytes", "body")
    known, registry = _known(session), templates()
    if request.headers.get("content-type", "").startswith(XLSX):
        return dry_run_xlsx(body, registry, known=known, allowed_prefixes={prefix})
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
    return dry_run_csv(sheets, registry, known=known, allowed_prefixes={prefix})


def _apply(session: Session, plan: BulkPlan) -> None:
    enterprises: dict[str, Enterprise] = {}
    sources: dict[str, EmissionSource] = {}
    for row in plan.enterprises:
        doc = dict(row.document)
        enterprises[row.identifier] = add_enterprise(
            session, row.identifier, doc["name"], doc["industry"], doc.get("region"), doc
        )
    session.flush()
    for row in plan.sources:
        enterprise = enterprises.get(row.enterprise) or session.scalar(
            select(Enterprise).where(Enterprise.identifier == row.enterprise)
        )
        assert enterprise is not None
        doc = dict(row.document)
        sources[row.identifier] = add_source(
            session, enterprise, row.identifier, doc.get("name", row.identifier), doc
        )
    session.flush()
    for row in plan.terminals:
        enterprise = enterprises.get(row.enterprise) or session.scalar(
            select(Enterprise).where(Enterprise.identifier == row.enterprise)
        )
        bound = [
            sources.get(s)
            or session.scalar(select(EmissionSource).where(EmissionSource.identifier == s))
            for s in row.sources
        ]
        assert enterprise is not None and row.address is not None and all(bound)
        add_device(
            session,
            row.address,
            enterprise,
            bound,  # type: ignore[arg-type]
            {**row.document, "identifier": row.identifier},
        )


@router.post("/registrations/bulk", status_code=status.HTTP_201_CREATED)
async def bulk_register(
    request: Request,
    session: SessionDep,
    context: Context,
    response: Response,
    _: Admin,
    dry_run: bool = Query(False, alias="dryRun", description="Only check and report."),
) -> dict[str, Any]:
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
    counts = {
        "enterprises": len(plan.enterprises),
        "sources": len(plan.sources),
        "terminals": len(plan.terminals),
    }
    if dry_run:
        response.status_code = status.HTTP_200_OK
        return {"dryRun": True, **counts}
    try:
        _apply(session, plan)
        session.commit()
    except IntegrityError:
        session.rollback()
        raise ApiError(
            409,
            "registered_concurrently",
            "part of the file was registered meanwhile; run the dry run again",
            "body",
        ) from None
    return {"dryRun": False, **counts}
