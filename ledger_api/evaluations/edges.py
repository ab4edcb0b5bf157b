"""The edges of an evaluated period, per device: what shows that no reading of the period was
left out before the first one counted or after the last (``docs/figure-proof-format.md``
section 4).

Before the period, the device's reading ``firstSeq - 1`` must end by the period's start, or the
device's anchored registration must say its sequence starts at ``firstSeq``. After it, the
reading ``lastSeq + 1`` must start at or after the period's end, or the device's anchored
revocation / rotation must say it ended at ``lastSeq``. A device that has not reported past the
period leaves it open: the ledger does not evaluate it until it has (409 ``period_open``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlmodel import Session

from ledger_api.core.errors import ApiError
from ledger_api.core.models import (
    ActivityRecordRow,
    AnchorBatch,
    Device,
    LeafRow,
    RegistryEvent,
)
from ledger_api.ledger.proofs import enterprise_chain, registry_event_missing
from verifier.formats.record import RegistryProofJson
from verifier.protocol.events import DEVICE_ENDED, DEVICE_REGISTERED


@dataclass(frozen=True)
class DeviceEdges:
    """A counted device's neighbours just outside the period (None where its registry events
    close that side)."""

    device: Device
    before: ActivityRecordRow | None
    after: ActivityRecordRow | None


def registry_bodies(session: Session, address: str) -> list[dict[str, Any]]:
    """The device's registry events, oldest first; 409 when its registration is missing, since
    no proof can then show the terminal was allowed to sign."""
    bodies = [
        json.loads(body)
        for body in session.scalars(
            select(RegistryEvent.body)
            .where(RegistryEvent.subject == address)
            .order_by(RegistryEvent.id)
        )
    ]
    if not any(b.get("type") == DEVICE_REGISTERED for b in bodies):
        raise registry_event_missing(address)
    return bodies


def _neighbours(session: Session, device: Device, first: int, last: int) -> dict[int, Any]:
    query = (
        select(ActivityRecordRow, AnchorBatch.status)
        .join(LeafRow, LeafRow.hash == ActivityRecordRow.leaf_hash)
        .outerjoin(AnchorBatch, AnchorBatch.id == LeafRow.batch_id)
        .where(
            ActivityRecordRow.device_id == device.id,
            ActivityRecordRow.seq.in_([first - 1, last + 1]),  # type: ignore[attr-defined]
        )
    )
    return {row.seq: (row, status) for row, status in session.execute(query)}


def _anchored(found: tuple[ActivityRecordRow, str | None], address: str) -> ActivityRecordRow:
    row, status = found
    if status != "confirmed":
        raise ApiError(
            409,
            "records_not_anchored",
            f"reading {row.seq} of terminal {address}, next to the period, is not anchored yet; "
            "run `carbon-ledger anchor` first",
            "periodStart",
        )
    return row


def _before(found: Any, address: str, first: int, start_ts: int, starts: set[int]) -> Any:
    if found is None:
        if first in starts:
            return None
        raise ApiError(
            422,
            "sequence_gap",
            f"terminal {address}'s readings before seq {first} are missing: the first reading "
            "of the period cannot be shown to be its first",
            "periodStart",
        )
    row = _anchored(found, address)
    if row.period_end > start_ts:
        raise ApiError(
            422,
            "record_straddles_period",
            f"reading {row.seq} of terminal {address} runs past the period's start",
            "periodStart",
        )
    return row


def _later_exists(session: Session, device: Device, last: int) -> bool:
    query = select(ActivityRecordRow.id).where(
        ActivityRecordRow.device_id == device.id, ActivityRecordRow.seq > last
    )
    return session.scalar(query.limit(1)) is not None


def _after(
    session: Session, found: Any, device: Device, last: int, end_ts: int, ends: set[int]
) -> Any:
    address = device.address
    if found is None:
        if last in ends:
            return None
        if _later_exists(session, device, last):
            raise ApiError(
                422,
                "sequence_gap",
                f"terminal {address}'s reading {last + 1} is missing",
                "periodEnd",
            )
        raise ApiError(
            409,
            "period_open",
            f"terminal {address} has not reported past the period (its last reading is seq "
            f"{last}): evaluate once it has, or after it is revoked",
            "periodEnd",
        )
    row = _anchored(found, address)
    if row.period_start < end_ts:
        raise ApiError(
            422,
            "record_straddles_period",
            f"reading {row.seq} of terminal {address} starts before the period's end",
            "periodEnd",
        )
    return row


def device_edges(
    session: Session, address: str, first: int, last: int, start_ts: int, end_ts: int
) -> DeviceEdges:
    """The device's edges of the period ``[start_ts, end_ts)``; a 4xx when one stays open."""
    device = session.scalar(select(Device).where(Device.address == address))
    assert device is not None
    events = registry_bodies(session, address)
    starts = {
        e["firstSeq"] for e in events if e.get("type") == DEVICE_REGISTERED and "firstSeq" in e
    }
    ends = {e["lastSeq"] for e in events if e.get("type") in DEVICE_ENDED and "lastSeq" in e}
    near = _neighbours(session, device, first, last)
    before = _before(near.get(first - 1), address, first, start_ts, starts)
    after = _after(session, near.get(last + 1), device, last, end_ts, ends)
    return DeviceEdges(device, before, after)


def enterprise_registry(
    session: Session, engine: Engine, identifier: str
) -> tuple[RegistryProofJson, ...]:
    """The enterprise's registry chain (``docs/figure-proof-format.md`` section 6), enrolment
    first, up to its last anchored event: a later one is not yet provable, and all it could add
    is an event after the period. Empty for an enterprise enrolled without a signer key, which
    the verifier reports at ``registry-signatures``."""
    return enterprise_chain(session, engine, identifier)
