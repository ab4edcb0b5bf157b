"""Re-evaluation: one current evaluation per enterprise, period and ruleset.

A second evaluation of a period is refused unless it names the current one it supersedes and
why (``corrected_data``, ``new_factor_set``, ``ruleset_change``, with a note). The new entry
carries ``supersedes`` — the superseded entry's identifier and digest, the reason and the note —
so the supersession is anchored with it; the old entry stays readable, marked superseded with
a link to its successor (docs/grading.md, "Re-evaluation").
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import select, update
from sqlmodel import Session

from ledger_api.core.errors import ApiError
from ledger_api.core.models import AnchorBatch, Enterprise, Evaluation, LeafRow

REASONS = ("corrected_data", "new_factor_set", "ruleset_change")


def ruleset_of(entry: dict[str, Any]) -> str:
    """The ruleset an entry graded with; "" for a period no ruleset grades."""
    return str(((entry.get("rating") or {}).get("ruleset") or {}).get("id") or "")


def _current(session: Session, enterprise: Enterprise, entry: dict[str, Any]) -> Evaluation | None:
    period = entry["period"]
    return session.scalar(
        select(Evaluation).where(
            Evaluation.enterprise_id == enterprise.id,
            Evaluation.period_start == period["start"],
            Evaluation.period_end == period["end"],
            Evaluation.ruleset == ruleset_of(entry),
            Evaluation.superseded_by.is_(None),  # type: ignore[union-attr]
        )
    )


def _unknown(identifier: str) -> ApiError:
    # One answer for an evaluation that does not exist and one of another enterprise or period:
    # a caller learns nothing of evaluations it may not see.
    return ApiError(
        422,
        "supersedes_unknown",
        f"{identifier} is not an evaluation of this enterprise and period",
        "supersedes.evaluation",
    )


def supersession_for(
    session: Session,
    enterprise: Enterprise,
    entry: dict[str, Any],
    supersedes: dict[str, str] | None,
    caller_sees: bool,
) -> tuple[Evaluation | None, dict[str, Any] | None]:
    """The evaluation the new ``entry`` supersedes and the ``supersedes`` block it carries,
    or (None, None) for a first evaluation; 4xx for a duplicate or a forged supersession."""
    current = _current(session, enterprise, entry)
    if supersedes is None:
        if current is None:
            return None, None
        named = f" ({current.identifier})" if caller_sees else ""
        raise ApiError(
            409,
            "evaluation_exists",
            f"this enterprise, period and ruleset already have a current evaluation{named}: a "
            "re-evaluation names it in supersedes, with a reason",
            "supersedes",
        )
    target = session.scalar(
        select(Evaluation).where(Evaluation.identifier == supersedes["evaluation"])
    )
    period = entry["period"]
    if (
        target is None
        or target.enterprise_id != enterprise.id
        or (target.period_start, target.period_end) != (period["start"], period["end"])
    ):
        raise _unknown(supersedes["evaluation"])
    if target.superseded_by is not None:
        raise ApiError(
            409,
            "already_superseded",
            f"{target.identifier} is already superseded by {target.superseded_by}: a "
            "re-evaluation supersedes the current one",
            "supersedes.evaluation",
        )
    if current is not None and current.id != target.id:
        raise ApiError(
            409,
            "evaluation_exists",
            f"the current evaluation of this ruleset is {current.identifier}, not "
            f"{target.identifier}",
            "supersedes.evaluation",
        )
    if target.ruleset != ruleset_of(entry) and supersedes["reason"] != "ruleset_change":
        raise ApiError(
            422,
            "supersession_reason",
            f"{target.identifier} was graded under {target.ruleset or 'no ruleset'}, this one "
            f"under {ruleset_of(entry) or 'none'}: the reason is ruleset_change",
            "supersedes.reason",
        )
    block = {
        "evaluation": target.identifier,
        "digest": target.digest,
        "reason": supersedes["reason"],
        "note": supersedes["note"],
    }
    return target, block


def mark_superseded(session: Session, target: Evaluation, successor: str) -> None:
    """Inside the transaction that stores ``successor``: point ``target`` at it, once. A
    concurrent supersession of the same entry updates no row and is refused (no chain of two
    successors of one entry)."""
    done = session.execute(
        update(Evaluation)
        .where(Evaluation.id == target.id, Evaluation.superseded_by.is_(None))  # type: ignore[union-attr]
        .values(superseded_by=successor)
    )
    if done.rowcount != 1:  # type: ignore[attr-defined]
        raise ApiError(
            409,
            "already_superseded",
            f"{target.identifier} was superseded meanwhile",
            "supersedes.evaluation",
        )


def supersession_of(session: Session, row: Evaluation) -> dict[str, Any]:
    """What an evaluation's readers see of its place in the history: whether it is current,
    what supersedes it (and why) and what it supersedes."""
    entry = json.loads(row.entry)
    out: dict[str, Any] = {
        "current": row.superseded_by is None,
        "supersededBy": None,
        "supersedes": entry.get("supersedes"),
    }
    if row.superseded_by is not None:
        successor = session.scalar(
            select(Evaluation).where(Evaluation.identifier == row.superseded_by)
        )
        block = json.loads(successor.entry).get("supersedes") if successor else None
        out["supersededBy"] = {
            "evaluation": row.superseded_by,
            "reason": (block or {}).get("reason"),
            "note": (block or {}).get("note"),
        }
    return out


def anchored_successor(session: Session, row: Evaluation) -> Evaluation | None:
    """The evaluation superseding ``row`` once its entry is anchored (a figure proof carries
    it then), else None."""
    if row.superseded_by is None:
        return None
    return session.scalar(
        select(Evaluation)
        .join(LeafRow, LeafRow.hash == Evaluation.leaf_hash)
        .join(AnchorBatch, AnchorBatch.id == LeafRow.batch_id)
        .where(Evaluation.identifier == row.superseded_by, AnchorBatch.status == "confirmed")
    )


def current_of(session: Session, row: Evaluation) -> Evaluation:
    """The current evaluation at the end of ``row``'s supersessions."""
    seen = {row.identifier}
    while row.superseded_by is not None:
        nxt = session.scalar(select(Evaluation).where(Evaluation.identifier == row.superseded_by))
        if nxt is None or nxt.identifier in seen:
            break
        seen.add(nxt.identifier)
        row = nxt
    return row
