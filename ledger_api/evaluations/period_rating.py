"""Grading an evaluated period: the ruleset, the industry average and the 碳效 rating."""

from __future__ import annotations

import json
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlmodel import Session

from accounting.errors import MissingAddedValueError, RulesetNotApplicableError
from accounting.grading import (
    PEERS_DEFINITION,
    REPORT_PLACES,
    IndustryAverage,
    PublishedPopulation,
    Ruleset,
    grade,
    load_ruleset,
    published_peer_average,
    ruleset_for,
)
from ledger_api.core.errors import ApiError
from ledger_api.core.models import Enterprise, Evaluation
from ledger_api.evaluations.attestations import attested
from ledger_api.evaluations.request import EvaluationRequest
from verifier.protocol.population import members_digest


def choose_ruleset(request: EvaluationRequest, region: str | None) -> Ruleset:
    """The named ruleset, else the one in force for the enterprise's region and year. A named
    ruleset must cover the enterprise's region when one is registered (a Huzhou average says
    nothing about a smelter in Yunnan)."""
    if request.ruleset_id:
        ruleset = load_ruleset(request.ruleset_id)
        if region and not ruleset.covers(region):
            raise RulesetNotApplicableError(
                f"ruleset {ruleset.id!r} covers {ruleset.region}, not the enterprise's region "
                f"{region!r}; leave the ruleset out to have the region's chosen",
                field="ruleset",
            )
        return ruleset
    return ruleset_for(region or "", request.period_start.year)


@dataclass(frozen=True)
class Peer:
    """A peer's latest rated evaluation of the period: its figures and its entry digest."""

    emissions: Decimal
    added_value: Decimal
    entry_digest: bytes


def peer_rows(
    session: Session, enterprise: Enterprise, period: tuple[str, str], before: int | None = None
) -> list[tuple[str, Evaluation]]:
    """The latest rated evaluation of each other regulator-attested firm of the industry for
    the same period (ISO dates), so re-evaluations do not count twice; ``before``: as it stood
    before that evaluation id. The firm itself is left out: an average that moved with its own
    inputs would let it solve for the others' totals by re-evaluating."""
    query = (
        select(Evaluation, Enterprise.identifier)
        .join(Enterprise, Enterprise.id == Evaluation.enterprise_id)
        .where(
            Enterprise.industry == enterprise.industry,
            Evaluation.enterprise_id != enterprise.id,
            Evaluation.period_start == period[0],
            Evaluation.period_end == period[1],
        )
        .order_by(Evaluation.id)
    )
    if before is not None:
        query = query.where(Evaluation.id < before)  # type: ignore[operator]
    rows = list(session.execute(query))
    vouched = attested(session, sorted({identifier for _, identifier in rows}))
    latest: dict[str, Evaluation] = {}
    for evaluation, identifier in rows:
        if identifier in vouched:  # a shell the operator registered counts for nothing
            latest[identifier] = evaluation
    return [(i, e) for i, e in latest.items() if json.loads(e.entry).get("rating")]


def peers(session: Session, enterprise: Enterprise, request: EvaluationRequest) -> list[Peer]:
    """The peers' figures and entry digests (:func:`peer_rows`)."""
    period = (request.period_start.isoformat(), request.period_end.isoformat())
    out = []
    for _, evaluation in peer_rows(session, enterprise, period):
        rating = json.loads(evaluation.entry)["rating"]
        out.append(
            Peer(
                Decimal(rating["emissions_t"]),
                Decimal(rating["added_value_wan_yuan"]),
                bytes.fromhex(evaluation.digest[2:]),
            )
        )
    return out


def peer_average(
    session: Session, enterprise: Enterprise, request: EvaluationRequest, min_members: int
) -> IndustryAverage:
    """The peers' published average; 422 ``population_too_small`` below ``min_members``,
    without saying how many peers there are (that alone would tell who has evaluated)."""
    members = peers(session, enterprise, request)
    if len(members) < min_members:
        raise ApiError(
            422,
            "population_too_small",
            f"fewer than {min_members} regulator-attested peers of this industry are rated for "
            "the period: a population average of so few would disclose their figures; grade "
            "against the ruleset's average",
            "averageSource",
        )
    published = PublishedPopulation(
        PEERS_DEFINITION,
        REPORT_PLACES,
        min_members,
        members_digest(p.entry_digest for p in members),
    )
    return published_peer_average(
        enterprise.industry,
        request.period_start.year,
        [(p.emissions, p.added_value) for p in members],
        published,
    )


def rate(
    session: Session,
    enterprise: Enterprise,
    request: EvaluationRequest,
    total: Decimal,
    min_members: int,
) -> dict[str, Any]:
    """The rating block of an evaluation entry (grading's own JSON form)."""
    ruleset = choose_ruleset(request, enterprise.region)
    average: IndustryAverage | None = None
    if request.average_source == "population":
        if request.added_value is None:
            raise MissingAddedValueError(
                "added value of the period is required", field="addedValue"
            )
        average = peer_average(session, enterprise, request, min_members)
    rating = grade(
        total,
        request.added_value,
        enterprise.industry,
        request.period_start.year,
        ruleset,
        industry_average=average,
        product_output_t=request.product_output,
    )
    return rating.to_dict()


def ruleset_document(ruleset_id: str) -> dict[str, Any]:
    return dict(load_ruleset(ruleset_id).document)
