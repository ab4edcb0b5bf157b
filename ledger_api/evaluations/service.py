"""The evaluation flow (white paper, figure 3) for one enterprise and period.

object and boundary → sources and gases → the period's signed, anchored records → factor set →
emissions → carbon efficiency → grade → an evaluation entry, stored as a ledger leaf (kind 2)
that the next anchoring round puts on chain. Nothing is recorded unless every step succeeds.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import rfc8785
from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from accounting import FactorSet, account, load_factor_set
from accounting.errors import AccountingError
from accounting.figures import figures
from accounting.from_records import RecordQuantity, inventory_from_records
from accounting.grid import (
    GRID_ACTIVITIES,
    GridOverrideError,
    GridSelection,
    override_grid_factor,
    select_grid_factor,
)
from ledger_api.core.errors import ApiError, not_found
from ledger_api.core.models import (
    ActivityRecordRow,
    AnchorBatch,
    Device,
    EmissionSource,
    Enterprise,
    Evaluation,
    LeafRow,
)
from ledger_api.core.periods import CLOCK_SKEW_S, DAY_S, EARLIEST_PERIOD
from ledger_api.evaluations.declarations import with_declared_value
from ledger_api.evaluations.edges import device_edges
from ledger_api.evaluations.energy import energy_blocks
from ledger_api.evaluations.gradability import rate_or_explain
from ledger_api.evaluations.green_certificates import scope2_block
from ledger_api.evaluations.request import EvaluationRequest
from ledger_api.evaluations.supersession import mark_superseded, ruleset_of, supersession_for
from verifier.protocol.entry import ENTRY_FORMAT
from verifier.protocol.entry import period_bounds as entry_period_bounds
from verifier.protocol.keccak import keccak256
from verifier.protocol.leaves import LeafKind, leaf_hash

# The factor set evaluations use unless the caller names one: the first with the grid rule.
EVALUATION_FACTOR_SET = "cn-ghg-v2"


@dataclass(frozen=True)
class PeriodRecord:
    """One record of the period, as accounting and the completeness checks need it."""

    digest: str
    device: str
    source: str
    seq: int
    activity: str
    quantity: int
    decimals: int
    unit: str
    attributes_hash: str
    attributes: dict[str, Any] | None
    batch_status: str | None


def period_bounds(start: date, end: date, utc_offset_h: int) -> tuple[int, int]:
    """Unix seconds of local midnight at ``start`` and after ``end`` (inclusive dates), by the
    rule the verifier recomputes them with; only periods records can lie in (from 2000, ended
    by now), which also keeps every bound within the database's period columns."""
    try:
        start_ts, end_ts = entry_period_bounds(start, end, utc_offset_h)
    except OverflowError:  # the last day of year 9999 has no day after it
        raise ApiError(422, "period_out_of_range", "periodEnd is too late", "periodEnd") from None
    if start_ts < EARLIEST_PERIOD - DAY_S:
        message = "periodStart is before 2000-01-01: no record is that old"
        raise ApiError(422, "period_out_of_range", message, "periodStart")
    if end_ts > time.time() + CLOCK_SKEW_S:
        raise ApiError(422, "period_in_future", "periodEnd has not ended yet", "periodEnd")
    return start_ts, end_ts


def load_period_records(
    session: Session, enterprise: Enterprise, start_ts: int, end_ts: int
) -> list[PeriodRecord]:
    """The enterprise's records lying wholly inside [start_ts, end_ts), by device and seq."""
    query = (
        select(ActivityRecordRow, Device.address, EmissionSource.identifier, AnchorBatch.status)
        .join(Device, Device.id == ActivityRecordRow.device_id)
        .join(EmissionSource, EmissionSource.id == ActivityRecordRow.source_id)
        .join(LeafRow, LeafRow.hash == ActivityRecordRow.leaf_hash)
        .outerjoin(AnchorBatch, AnchorBatch.id == LeafRow.batch_id)
        .where(
            ActivityRecordRow.enterprise_id == enterprise.id,
            ActivityRecordRow.period_start >= start_ts,
            ActivityRecordRow.period_end <= end_ts,
        )
        .order_by(Device.address, ActivityRecordRow.seq)
    )
    return [
        PeriodRecord(
            row.digest,
            address,
            source,
            row.seq,
            row.activity,
            int(row.quantity),
            row.decimals,
            row.unit,
            row.attributes_hash,
            json.loads(row.attributes) if row.attributes else None,
            status,
        )
        for row, address, source, status in session.execute(query)
    ]


def device_ranges(records: list[PeriodRecord]) -> list[dict[str, Any]]:
    """Per device: its source, first and last sequence number and count, sorted by device."""
    ranges: dict[str, dict[str, Any]] = {}
    for r in records:
        entry = ranges.setdefault(
            r.device,
            {
                "device": r.device,
                "source": r.source,
                "firstSeq": r.seq,
                "lastSeq": r.seq,
                "count": 0,
            },
        )
        entry["firstSeq"] = min(entry["firstSeq"], r.seq)
        entry["lastSeq"] = max(entry["lastSeq"], r.seq)
        entry["count"] += 1
    return [ranges[d] for d in sorted(ranges)]


def check_complete(records: list[PeriodRecord], boundary: list[str]) -> None:
    """Refuse a period whose data is missing, gapped, partly unanchored or lacks attributes."""
    if not records:
        raise ApiError(422, "no_data", "no signed records in this period", "periodStart")
    for r in device_ranges(records):
        if r["count"] != r["lastSeq"] - r["firstSeq"] + 1:
            raise ApiError(
                422,
                "sequence_gap",
                f"device {r['device']} has gaps between seq {r['firstSeq']} and "
                f"{r['lastSeq']}: a reading is missing",
                "periodStart",
            )
    covered = {r.source for r in records}
    for source in boundary:
        if source not in covered:
            raise ApiError(
                422,
                "source_not_covered",
                f"source {source} has no records in this period",
                "periodStart",
            )
    unanchored = sum(1 for r in records if r.batch_status != "confirmed")
    if unanchored:
        raise ApiError(
            409,
            "records_not_anchored",
            f"{unanchored} records of the period are not anchored yet; run "
            "`carbon-ledger anchor` first",
            "periodStart",
        )
    zero = "0x" + "00" * 32
    for r in records:
        if r.attributes is None and r.attributes_hash != zero:
            raise ApiError(
                422,
                "attributes_missing",
                f"record {r.digest} carries an attributes hash but its attributes "
                "were never submitted",
                "periodStart",
            )


def digests_hash(digests: list[str]) -> str:
    """keccak256 of the sorted 32-byte record digests, concatenated."""
    return "0x" + keccak256(b"".join(bytes.fromhex(d[2:]) for d in sorted(digests))).hex()


def _boundary(session: Session, enterprise: Enterprise) -> list[str]:
    return sorted(
        session.scalars(
            select(EmissionSource.identifier).where(EmissionSource.enterprise_id == enterprise.id)
        )
    )


def _grid(
    factor_set: FactorSet, enterprise: Enterprise, request: EvaluationRequest
) -> GridSelection:
    """The grid factor by the factor set's rule, or the caller's override with its reason."""
    chosen = select_grid_factor(factor_set, enterprise.region, request.period_start.year)
    for code in GRID_ACTIVITIES:
        if code in (request.factor_choices or {}):
            raise GridOverrideError(
                "the grid factor is chosen by the selection rule: override it with gridFactor "
                "and gridFactorReason, not factorChoices",
                field=f"factorChoices.{code}",
            )
    if request.grid_factor is None:
        if request.grid_factor_reason is not None:
            raise GridOverrideError("a reason without gridFactor", field="gridFactorReason")
        return chosen
    return override_grid_factor(chosen, factor_set, request.grid_factor, request.grid_factor_reason)


def _account(
    enterprise: Enterprise, request: EvaluationRequest, records: list[PeriodRecord]
) -> Any:
    factor_set = load_factor_set(request.factor_set_id or EVALUATION_FACTOR_SET)
    grid = _grid(factor_set, enterprise, request)
    choices = {**(request.factor_choices or {}), **grid.factor_choices()}
    inventory = inventory_from_records(
        enterprise.identifier,
        enterprise.industry,
        request.period_start,
        request.period_end,
        [
            RecordQuantity(r.activity, r.source, r.quantity, r.decimals, r.unit, r.attributes)
            for r in records
        ],
        factor_choices=choices,
    )
    return account(inventory, factor_set, request.gwp), factor_set, grid


def build_entry(
    session: Session,
    enterprise: Enterprise,
    request: EvaluationRequest,
    prefix: str,
    utc_offset_h: int,
    min_peers: int,
) -> dict[str, Any]:
    """The evaluation entry document; raises ApiError (4xx) on any bad input. A population
    average needs ``min_peers`` rated peers."""
    start_ts, end_ts = period_bounds(request.period_start, request.period_end, utc_offset_h)
    boundary = _boundary(session, enterprise)
    records = load_period_records(session, enterprise, start_ts, end_ts)
    check_complete(records, boundary)
    for r in device_ranges(records):  # a 4xx unless both edges of the period are closed
        device_edges(session, r["device"], r["firstSeq"], r["lastSeq"], start_ts, end_ts)
    request, inputs = with_declared_value(session, enterprise, request)
    try:
        result, factor_set, grid = _account(enterprise, request, records)
        scope2, graded = scope2_block(session, enterprise, request, result)
        rating, grading = rate_or_explain(session, enterprise, request, graded, min_peers)
        energy = energy_blocks(result, enterprise.industry, request)
    except AccountingError as exc:
        raise ApiError(422, exc.code, exc.message, exc.field) from None
    created = datetime.now(UTC).isoformat(timespec="seconds")
    seed = f"{enterprise.identifier}|{request.period_start}|{request.period_end}|{created}"
    return {
        "format": ENTRY_FORMAT,
        "version": 1,
        "identifier": f"{prefix}/CL-EVAL-{keccak256(seed.encode()).hex()[:16].upper()}",
        "enterprise": enterprise.identifier,
        "industry": enterprise.industry,
        "region": enterprise.region,
        "period": {
            "start": request.period_start.isoformat(),
            "end": request.period_end.isoformat(),
            "startTs": start_ts,
            "endTs": end_ts,
            "utcOffsetHours": utc_offset_h,
        },
        "boundary": {"sources": boundary},
        "records": {
            "count": len(records),
            "digestsHash": digests_hash([r.digest for r in records]),
            "devices": device_ranges(records),
        },
        "accounting": {
            "engineVersion": result.engine_version,
            "factorSet": {
                "id": factor_set.id,
                "version": factor_set.version,
                "digest": factor_set.digest,
            },
            "gwp": result.gwp_set,
            "factorChoices": dict(
                sorted({**(request.factor_choices or {}), **grid.factor_choices()}.items())
            ),
            "gridFactor": grid.to_dict(),
            "factorsUsed": sorted({f.id for line in result.lines for f in line.basis.factors}),
            "figures": figures(result),
        },
        "rating": rating,
        "grading": grading,
        "inputs": inputs,
        # Only with green-certificate claims or a market-based ruleset (accounting.scope2)
        **({"scope2": scope2} if scope2 is not None else {}),
        **energy,
        "createdAt": created,
    }


def evaluate(
    session: Session,
    request: EvaluationRequest,
    prefix: str,
    utc_offset_h: int,
    min_peers: int,
    supersedes: dict[str, str] | None = None,
    caller_sees: bool = True,
) -> Evaluation:
    """Run the flow and store the entry and its leaf in one transaction. A period, enterprise
    and ruleset with a current evaluation is evaluated again only by naming it in
    ``supersedes`` (``supersession.py``); ``caller_sees`` says whether a refusal may name it."""
    enterprise = session.scalar(
        select(Enterprise).where(Enterprise.identifier == request.enterprise)
    )
    if enterprise is None:
        raise not_found("enterprise", request.enterprise)
    entry = build_entry(session, enterprise, request, prefix, utc_offset_h, min_peers)
    target, block = supersession_for(session, enterprise, entry, supersedes, caller_sees)
    if block is not None:  # anchored with the entry: the supersession is on chain too
        entry["supersedes"] = block
        # Minted from what it supersedes too, so a correction within the second of the
        # evaluation it corrects gets an identifier of its own.
        seed = f"{entry['identifier']}|{block['digest']}"
        entry["identifier"] = f"{prefix}/CL-EVAL-{keccak256(seed.encode()).hex()[:16].upper()}"
    canonical = rfc8785.dumps(entry)
    digest = keccak256(canonical)
    hashed = "0x" + leaf_hash(LeafKind.LEDGER_ENTRY, digest, bytes(32)).hex()
    row = Evaluation(
        identifier=entry["identifier"],
        enterprise_id=enterprise.id,
        period_start=entry["period"]["start"],
        period_end=entry["period"]["end"],
        entry=canonical.decode(),
        digest="0x" + digest.hex(),
        leaf_hash=hashed,
        total=entry["accounting"]["figures"]["reported"]["total"],
        grade=entry["rating"]["grade"] if entry["rating"] else None,
        ruleset=ruleset_of(entry),
    )
    session.rollback()  # end the read transaction before writing
    try:
        with session.begin():
            session.execute(
                insert(LeafRow).values(
                    kind=int(LeafKind.LEDGER_ENTRY),
                    digest=row.digest,
                    aux="0x" + "00" * 32,
                    hash=hashed,
                )
            )
            if target is not None:  # before the insert: one current row per period
                mark_superseded(session, target, row.identifier)
            session.add(row)
    except IntegrityError:  # identifiers are minted per second; or a concurrent evaluation
        raise ApiError(
            409,
            "evaluation_exists",
            f"an evaluation of this enterprise and period was just recorded alongside "
            f"{entry['identifier']}; read the current one and name it in supersedes",
            "supersedes",
        ) from None
    session.refresh(row)
    return row
