"""Publishing an evaluation: the enterprise lets anyone fetch its figure proof, so whoever scans
its 碳效码 can check the grade in a browser. Withdrawing ends that; nothing else changes (the
entry stays anchored, and a bundle fetched earlier still verifies)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlmodel import Session

from ledger_api.access.deps import Caller, Role, manages
from ledger_api.core.errors import not_found
from ledger_api.core.models import Evaluation, utcnow
from ledger_api.evaluations.supersession import current_of, supersession_of


def _owned(session: Session, caller: Caller, identifier: str) -> Evaluation:
    """The evaluation if ``caller`` is its enterprise; else 404, as for none. Only the
    enterprise decides what of its own is public, not an administrator."""
    row = session.scalar(select(Evaluation).where(Evaluation.identifier == identifier))
    if row is None or caller.role != Role.ENTERPRISE or not manages(caller, row.enterprise_id):
        raise not_found("evaluation", identifier)
    return row


def set_published(session: Session, caller: Caller, identifier: str, public: bool) -> Evaluation:
    row = _owned(session, caller, identifier)
    if public and row.published_at is None:
        row.published_at = utcnow()
    elif not public:
        row.published_at = None
    session.add(row)
    session.commit()
    session.refresh(row)
    return row


def published_evaluation(session: Session, identifier: str) -> Evaluation:
    """A published evaluation, for callers without a key; 404 for any other, published or
    not existing alike."""
    row = session.scalar(select(Evaluation).where(Evaluation.identifier == identifier))
    if row is None or row.published_at is None:
        raise not_found("evaluation", identifier)
    return row


def public_supersession(session: Session, row: Evaluation) -> dict[str, Any] | None:
    """For a superseded evaluation's public page: what supersedes it and why, and the current
    evaluation of its period, linked only when its enterprise published that one too (the page
    shows nothing the enterprise did not make public). None while it is current."""
    if row.superseded_by is None:
        return None
    told = supersession_of(session, row)["supersededBy"]
    current = current_of(session, row)
    return {
        "by": row.superseded_by,
        "reason": told["reason"],
        "note": told["note"],
        "current": current.identifier if current.published_at is not None else None,
    }


def public_figure(entry_rating: object) -> str:
    """The figure a public page proves: the grade when rated (its bundle re-checks every
    figure of the entry as well), else the total."""
    return "rating.grade" if entry_rating else "total"


def published_at_text(row: Evaluation) -> str | None:
    value: datetime | None = row.published_at
    return None if value is None else value.isoformat(timespec="seconds")
