"""Evaluations (碳效评价): run one, read them back, prove any figure, render the report.
(An enterprise's rating and figure history: ``enterprise_routes``.)"""

from __future__ import annotations

from decimal import Decimal
from typing import Literal

from fastapi import APIRouter, Query, Request, status
from fastapi.responses import HTMLResponse, JSONResponse

from ledger_api.access.deps import Manager, Reader, enterprise_for, sees
from ledger_api.core.deps import Context, SessionDep
from ledger_api.core.errors import ApiError
from ledger_api.core.paths import IDENTIFIER
from ledger_api.evaluations.proofs import figure_proof
from ledger_api.evaluations.queries import evaluation_out, visible_evaluation
from ledger_api.evaluations.report import render_report
from ledger_api.evaluations.report_view import report_data
from ledger_api.evaluations.request import EvaluationRequest
from ledger_api.evaluations.schemas import EvaluationIn, EvaluationOut
from ledger_api.evaluations.service import evaluate
from verifier.formats.figure import FigureProofBundle

router = APIRouter(prefix="/v1/evaluations", tags=["evaluations"])


def _request(body: EvaluationIn) -> EvaluationRequest:
    return EvaluationRequest(
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
        grid_factor=body.grid_factor,
        grid_factor_reason=body.grid_factor_reason,
        energy_basis=body.energy_basis,
    )


@router.post("", status_code=status.HTTP_201_CREATED, response_model=EvaluationOut)
def run_evaluation(
    body: EvaluationIn, session: SessionDep, context: Context, caller: Manager
) -> EvaluationOut:
    """Evaluate an enterprise's period from its signed, anchored records; store the entry."""
    enterprise = enterprise_for(session, caller, body.enterprise, write=True)
    if body.period_end < body.period_start:
        raise ApiError(422, "period_reversed", "periodEnd is before periodStart", "periodEnd")
    settings = context.settings
    row = evaluate(
        session,
        _request(body),
        settings.identifier_prefix,
        settings.reporting_utc_offset_h,
        settings.population_min_members,
        supersedes=body.supersedes.model_dump() if body.supersedes else None,
        caller_sees=enterprise.id is not None and sees(session, caller, enterprise.id),
    )
    return evaluation_out(session, row)


@router.get(f"/{IDENTIFIER}/proof", response_model=FigureProofBundle)
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
    form: Literal["records", "registers"] = Query(
        "records",
        description="records: every reading; registers: devices with a cumulative register "
        "by their edge readings only (docs/figure-proof-format.md section 11)",
    ),
) -> JSONResponse:
    """The figure proof bundle (docs/figure-proof-format.md); 409 until the entry is anchored."""
    visible_evaluation(session, caller, identifier)
    bundle = figure_proof(session, context.engine, context.domain, identifier, figure, form)
    # Checked against its format when built, and large: answered as built, not revalidated.
    return JSONResponse(bundle.to_json())


@router.get(f"/{IDENTIFIER}/report", response_class=HTMLResponse)
def get_report(
    identifier: str, session: SessionDep, request: Request, context: Context, caller: Reader
) -> HTMLResponse:
    """The carbon-efficiency evaluation report (碳效评价报告) as one self-contained HTML page."""
    visible_evaluation(session, caller, identifier)
    base_url = str(request.base_url).rstrip("/")
    public = context.settings.public_base_url
    return HTMLResponse(render_report(report_data(session, identifier, base_url, public)))


@router.get(f"/{IDENTIFIER}", response_model=EvaluationOut)
def get_evaluation(identifier: str, session: SessionDep, caller: Reader) -> EvaluationOut:
    return evaluation_out(session, visible_evaluation(session, caller, identifier))
