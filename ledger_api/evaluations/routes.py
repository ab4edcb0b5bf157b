"""Evaluations (碳效评价): run one, read them back, prove any figure, render the report."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from fastapi import APIRouter, Query, Request, status
from fastapi.responses import HTMLResponse
from sqlalchemy import select
from sqlmodel import Session

from ledger_api.access.deps import Caller, Manager, Reader, enterprise_for, sees
from ledger_api.core.deps import Context, SessionDep
from ledger_api.core.errors import ApiError, not_found
from ledger_api.core.models import AnchorBatch, Enterprise, Evaluation, Leaf
from ledger_api.evaluations.proofs import figure_proof
from ledger_api.evaluations.report import render_report
from ledger_api.evaluations.report_view import report_data
from ledger_api.evaluations.service import EvaluationRequest, evaluate
from ledger_api.schemas import EvaluationIn, EvaluationOut

router = APIRouter(tags=["evaluations"])


def _out(session: SessionDep, row: Evaluation) -> EvaluationOut:
    enterprise = session.get(Enterprise, row.enterprise_id)
    batch_status = session.scalar(
        select(AnchorBatch.status)
        .join(Leaf, Leaf.batch_id == AnchorBatch.id)
        .where(Leaf.hash == row.leaf_hash)
    )
    assert enterprise is not None
    return EvaluationOut(
        identifier=row.identifier,
        enterprise=enterprise.identifier,
        period_start=row.period_start,
        period_end=row.period_end,
        digest=row.digest,
        total=row.total,
        grade=row.grade,
        anchored=batch_status == "confirmed",
        entry=json.loads(row.entry),
    )


@router.post(
    "/evaluations",
    status_code=status.HTTP_201_CREATED,
    response_model=EvaluationOut,
    response_model_by_alias=True,
)
def run_evaluation(
    body: EvaluationIn, session: SessionDep, context: Context, caller: Manager
) -> EvaluationOut:
    """Evaluate an enterprise's period from its signed, anchored records; store the entry."""
    enterprise_for(session, caller, body.enterprise, write=True)
    if body.period_end < body.period_start:
        raise ApiError(422, "period_reversed", "periodEnd is before periodStart", "periodEnd")
    request = EvaluationRequest(
        enterprise=body.enterprise,
        period_start=body.period_start,
        period_end=body.period_end,
        added_value=Decimal(body.added_value) if body.added_value else None,
        product_output=Decimal(body.product_output) if body.product_output else None,
        ruleset_id=body.ruleset,
        factor_set_id=body.factor_set,
        gwp=body.gwp,
        average_source=body.average_source,
        factor_choices=body.factor_choices,
    )
    settings = context.settings
    row = evaluate(session, request, settings.identifier_prefix, settings.reporting_utc_offset_h)
    return _out(session, row)


@router.get("/evaluations/{identifier:path}/proof")
def get_figure_proof(
    identifier: str,
    session: SessionDep,
    context: Context,
    caller: Reader,
    figure: str = Query(
        "total",
        description="total, byCategory.<c>, byGas.<g>, "
        "bySource.<id>, rating.grade, rating.L or rating.K",
    ),
) -> dict[str, Any]:
    """The figure proof bundle (docs/figure-proof-format.md); 409 until the entry is anchored."""
    _visible(session, caller, identifier)
    return figure_proof(session, context.engine, context.domain, identifier, figure).to_json()


@router.get("/evaluations/{identifier:path}/report", response_class=HTMLResponse)
def get_report(
    identifier: str, session: SessionDep, request: Request, caller: Reader
) -> HTMLResponse:
    """The carbon-efficiency evaluation report (碳效评价报告) as one self-contained HTML page."""
    _visible(session, caller, identifier)
    base_url = str(request.base_url).rstrip("/")
    return HTMLResponse(render_report(report_data(session, identifier, base_url)))


@router.get(
    "/evaluations/{identifier:path}", response_model=EvaluationOut, response_model_by_alias=True
)
def get_evaluation(identifier: str, session: SessionDep, caller: Reader) -> EvaluationOut:
    return _out(session, _visible(session, caller, identifier))


def _visible(session: Session, caller: Caller, identifier: str) -> Evaluation:
    """The evaluation if ``caller`` may see its enterprise; else 404, as for none."""
    row = session.scalar(select(Evaluation).where(Evaluation.identifier == identifier))
    if row is None or not sees(session, caller, row.enterprise_id):
        raise not_found("evaluation", identifier)
    return row


def _history(session: Session, caller: Caller, identifier: str) -> list[Evaluation]:
    enterprise = enterprise_for(session, caller, identifier)
    return list(
        session.scalars(
            select(Evaluation)
            .where(Evaluation.enterprise_id == enterprise.id)
            .order_by(Evaluation.period_start, Evaluation.id)
        )
    )


@router.get("/enterprises/{identifier:path}/ratings")
def get_ratings(identifier: str, session: SessionDep, caller: Reader) -> list[dict[str, Any]]:
    """The enterprise's rating history, oldest first."""
    return [
        {
            "evaluation": row.identifier,
            "periodStart": row.period_start,
            "periodEnd": row.period_end,
            **(json.loads(row.entry).get("rating") or {}),
        }
        for row in _history(session, caller, identifier)
    ]


@router.get("/enterprises/{identifier:path}/figures")
def get_figures(identifier: str, session: SessionDep, caller: Reader) -> list[dict[str, Any]]:
    """The enterprise's reported figures by period (every evaluation, oldest first)."""
    return [
        {
            "evaluation": row.identifier,
            "periodStart": row.period_start,
            "periodEnd": row.period_end,
            **json.loads(row.entry)["accounting"]["figures"]["reported"],
        }
        for row in _history(session, caller, identifier)
    ]
