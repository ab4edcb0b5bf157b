"""The register form of a figure proof (``docs/figure-proof-format.md`` section 11): per
device with a cumulative register, its signed readings at the period's edges and at each epoch
change, instead of every reading.

Built from index lookups only: a device's readings at ``firstSeq`` and ``lastSeq``, its two
neighbours outside the period, and, when their epochs differ, a binary search over ``seq`` for
each epoch change (epochs never go back: ingest refuses it). The work grows with the number of
devices and epoch changes, not with the readings between them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlmodel import Session

from ledger_api.core.models import ActivityRecordRow, Device, EmissionSource, LeafRow
from ledger_api.evaluations.edges import device_edges
from ledger_api.ledger.proofs import (
    anchor_location,
    batch_json,
    confirmed_batch,
    load_tree,
    record_from_row,
)
from verifier.formats.registers import (
    RegisterBatchJson,
    RegisterChangeJson,
    RegisterDeviceJson,
    RegisterEvidenceJson,
    RegisterReadingJson,
    SignedReadingJson,
)
from verifier.protocol.registers import REGISTER, REGISTER_EPOCH

__all__ = ["RegisterForm", "register_form"]


@dataclass(frozen=True)
class RegisterForm:
    """The register devices of an entry and their evidence; the bundle's other devices are
    proven record by record."""

    addresses: frozenset[str]
    evidence: RegisterEvidenceJson | None


def _attributes(row: ActivityRecordRow) -> dict[str, Any]:
    return json.loads(row.attributes) if row.attributes else {}


def _epoch(row: ActivityRecordRow) -> int | None:
    attributes = _attributes(row)
    return attributes.get(REGISTER_EPOCH) if REGISTER in attributes else None


def _row(session: Session, device: Device, seq: int) -> ActivityRecordRow:
    row = session.scalar(
        select(ActivityRecordRow).where(
            ActivityRecordRow.device_id == device.id, ActivityRecordRow.seq == seq
        )
    )
    assert row is not None  # the entry's ranges are contiguous (the ledger refuses a gap)
    return row


def _changes(
    session: Session, device: Device, first: ActivityRecordRow, last: ActivityRecordRow
) -> list[tuple[ActivityRecordRow, ActivityRecordRow]]:
    """Each epoch change between ``first`` and ``last`` as (last of one epoch, first of the
    next), found by bisecting ``seq``: O(changes × log readings) lookups."""
    changes, start, final = [], first, _epoch(last)
    while _epoch(start) != final:
        epoch, low, high = _epoch(start), start.seq, last.seq  # epoch(low) = epoch < epoch(high)
        while high - low > 1:
            middle = (low + high) // 2
            if _epoch(_row(session, device, middle)) == epoch:
                low = middle
            else:
                high = middle
        start = _row(session, device, high)
        changes.append((_row(session, device, low), start))
    return changes


@dataclass(frozen=True)
class _Device:
    address: str
    before: ActivityRecordRow | None
    first: ActivityRecordRow
    changes: list[tuple[ActivityRecordRow, ActivityRecordRow]]
    last: ActivityRecordRow
    after: ActivityRecordRow | None

    def rows(self) -> list[ActivityRecordRow]:
        inside = [row for change in self.changes for row in change]
        return [r for r in (self.before, self.first, *inside, self.last, self.after) if r]


def _device(session: Session, stated: dict[str, Any], period: dict[str, Any]) -> _Device | None:
    """The device's bounding readings; None when its readings carry no register."""
    address = stated["device"]
    device = session.scalar(select(Device).where(Device.address == address))
    assert device is not None
    first = _row(session, device, stated["firstSeq"])
    last = _row(session, device, stated["lastSeq"])
    if _epoch(first) is None or _epoch(last) is None:
        return None
    first_seq, last_seq = stated["firstSeq"], stated["lastSeq"]
    edges = device_edges(session, address, first_seq, last_seq, period["startTs"], period["endTs"])
    changes = _changes(session, device, first, last)
    return _Device(address, edges.before, first, changes, last, edges.after)


@dataclass
class _Batches:
    """The batches the readings are in, each proven once by a multiproof of its readings."""

    session: Session
    engine: Engine
    enterprise: str
    index: dict[int, int] = field(default_factory=dict)  # batch id → position
    leaves: dict[int, list[str]] = field(default_factory=dict)  # batch id → leaf hashes

    def add(self, row: ActivityRecordRow) -> int:
        leaf = self.session.scalar(select(LeafRow).where(LeafRow.hash == row.leaf_hash))
        assert leaf is not None
        batch = confirmed_batch(self.session, leaf.batch_id, f"reading {row.seq}")
        if batch.id not in self.index:
            self.index[batch.id] = len(self.index)  # type: ignore[index]
            self.leaves[batch.id] = []  # type: ignore[index]
        if row.leaf_hash not in self.leaves[batch.id]:  # type: ignore[index]
            self.leaves[batch.id].append(row.leaf_hash)  # type: ignore[index]
        return self.index[batch.id]  # type: ignore[index]

    def json(self) -> tuple[RegisterBatchJson, ...]:
        proven = []
        for batch_id in sorted(self.index, key=self.index.__getitem__):
            batch = confirmed_batch(self.session, batch_id, f"batch {batch_id}")
            tree = load_tree(self.engine, batch_id)
            positions = [tree.find_leaf(bytes.fromhex(h[2:])) for h in self.leaves[batch_id]]
            multiproof = tree.get_multiproof(positions)
            proven.append(
                RegisterBatchJson(
                    batch=batch_json(batch, self.enterprise),
                    anchor=anchor_location(batch),
                    leaves=tuple(_hex(x) for x in multiproof.leaves),
                    proof=tuple(_hex(x) for x in multiproof.proof),
                    proofFlags=multiproof.proof_flags,
                )
            )
        return tuple(proven)


def _hex(data: bytes) -> str:
    return "0x" + data.hex()


@dataclass
class _Readings:
    session: Session
    batches: _Batches
    sources: dict[int, str] = field(default_factory=dict)

    def _source(self, source_id: int) -> str:
        if source_id not in self.sources:
            source = self.session.get(EmissionSource, source_id)
            assert source is not None
            self.sources[source_id] = source.identifier
        return self.sources[source_id]

    def one(self, row: ActivityRecordRow | None, address: str) -> RegisterReadingJson | None:
        if row is None:
            return None
        enterprise = self.batches.enterprise
        record = record_from_row(row, enterprise, self._source(row.source_id), address)
        return RegisterReadingJson(
            record=SignedReadingJson(
                message=record.to_message(),
                signature=row.signature,
                attributes=json.loads(row.attributes) if row.attributes else None,
            ),
            batch=self.batches.add(row),
        )

    def device(self, found: _Device) -> RegisterDeviceJson:
        one, address = self.one, found.address
        return RegisterDeviceJson(
            device=address,
            before=one(found.before, address),
            first=one(found.first, address),  # type: ignore[arg-type]
            changes=tuple(
                RegisterChangeJson(end=one(end, address), start=one(start, address))  # type: ignore[arg-type]
                for end, start in found.changes
            ),
            last=one(found.last, address),  # type: ignore[arg-type]
            after=one(found.after, address),
        )


def register_form(session: Session, engine: Engine, entry: dict[str, Any]) -> RegisterForm:
    """The register evidence of every counted device whose readings carry a register (a 4xx
    when a device's edge is open, as for the record form)."""
    readings = _Readings(session, _Batches(session, engine, entry["enterprise"]))
    devices = []
    for stated in entry["records"]["devices"]:
        found = _device(session, stated, entry["period"])
        if found is not None:
            devices.append(readings.device(found))
    if not devices:
        return RegisterForm(frozenset(), None)
    batches = readings.batches.json()
    evidence = RegisterEvidenceJson(batches=batches, devices=tuple(devices))
    return RegisterForm(frozenset(d.device for d in devices), evidence)
