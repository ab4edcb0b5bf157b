"""Reading evaluations back: one evaluation as answered, the ones a caller may see, and an
enterprise's history of ratings and reported figures."""

from __future__ import annotations

import json

from sqlalchemy import select
from sqlmodel import Session

from ledger_api.access.deps import Caller, enterprise_for, sees
from ledger_api.core.errors import not_found
from ledger_api.core.models import AnchorBatch, Enterprise, Evaluation, LeafRow
from ledger_api.evaluations.declarations import attestation_of
from ledger_api.evaluations.energy import energy_summary
from ledger_api.evaluations.gradability import grading_of
from ledger_api.evaluations.schemas import EvaluationOut, PeriodRowOut
from ledger_api.evaluations.supersession import supersession_of


def evaluation_out(session: Session, row: Evaluation) -> EvaluationOut:
    enterprise = session.get(Enterprise, row.enterprise_id)
    batch_status = session.scalar(
        select(AnchorBatch.status)
        .join(LeafRow, LeafRow.batch_id == AnchorBatch.id)
        .where(LeafRow.hash == row.leaf_hash)
    )
    assert enterprise is not None
    entry = json.loads(row.entry)
    return EvaluationOut(
        identifier=row.identifier,
        enterprise=enterprise.identifier,
        period_start=row.period_start,
        period_end=row.period_end,
        digest=row.digest,
        total=row.total,
        grade=row.grade,
        anchored=batch_status == "confirmed",
        grid_factor=entry["accounting"].get("gridFactor"),
        grading=grading_of(entry),
        added_value_attestation=attestation_of(entry, session),
        entry=entry,
        supersession=supersession_of(session, row),
        energy=energy_summary(entry),
        benchmark=entry.get("benchmark"),
    )


def visible_evaluation(session: Session, caller: Caller, identifier: str) -> Evaluation:
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


def rating_history(session: Session, caller: Caller, identifier: str) -> list[PeriodRowOut]:
    """The enterprise's ratings, oldest first (a period without a rating has only its keys and
    ``gradingStatus``, which also marks an indicative grade)."""
    rows = []
    for row in _history(session, caller, identifier):
        entry = json.loads(row.entry)
        grading = grading_of(entry) or {}
        rows.append(
            PeriodRowOut(
                evaluation=row.identifier,
                period_start=row.period_start,
                period_end=row.period_end,
                gradingStatus=grading.get("status"),
                supersededBy=row.superseded_by,  # history keeps both; null marks the current
                **(entry.get("rating") or {}),
            )
        )
    return rows


def figure_history(session: Session, caller: Caller, identifier: str) -> list[PeriodRowOut]:
    """The enterprise's reported figures by period, oldest first."""
    return [
        PeriodRowOut(
            evaluation=row.identifier,
            period_start=row.period_start,
            period_end=row.period_end,
            supersededBy=row.superseded_by,
            **json.loads(row.entry)["accounting"]["figures"]["reported"],
        )
        for row in _history(session, caller, identifier)
    ]
