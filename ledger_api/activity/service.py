"""Accepting a batch of signed activity records: all of it, or none of it.

Work without the database (parsing, digests, signature recovery) runs first, outside any
transaction. The transaction then locks the batch's devices before it reads them, so two
batches from one device cannot both pass the sequence check.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache

import rfc8785
from psycopg import sql
from sqlalchemy import Table, insert, select, update
from sqlmodel import Session

from accounting.errors import AccountingError
from accounting.validation import check_activity_unit
from ledger_api.activity.registers import register_problems
from ledger_api.activity.schemas import SignedRecordIn
from ledger_api.activity.units import unit_hint
from ledger_api.core.errors import ApiError, Problem
from ledger_api.core.models import (
    ActivityRecordRow,
    Device,
    DeviceBinding,
    EmissionSource,
    Enterprise,
    LeafRow,
    utcnow,
)
from ledger_api.registry.checks import template_for
from ledger_api.registry.template_store import template_catalog
from verifier.errors import InvalidRecord, SignatureError
from verifier.protocol.keccak import parse_address, to_checksum_address
from verifier.protocol.leaves import activity_record_leaf
from verifier.protocol.typed_data import ActivityRecord, Domain, attributes_hash, recover_address

MAX_DECIMALS = 18
MAX_VALUE = 10**12  # in the record's own unit: no meter reports a trillion of anything at once
MAX_PERIOD_S = 366 * 86_400
CLOCK_SKEW_S = 300
EARLIEST_PERIOD = 946_684_800  # 2000-01-01T00:00:00Z
# The batch manifest is RFC 8785 JSON, which holds integers exactly only up to 2^53 - 1: a
# larger sequence number could be signed (uint64) but never anchored.
MAX_SEQ = 2**53 - 1


@dataclass(frozen=True)
class Checked:
    """A record that passed every check that needs no database."""

    index: int
    record: ActivityRecord
    signature: bytes
    digest: str
    leaf_hash: str
    leaf_aux: str
    attributes: str | None


def _problem(index: int, code: str, field: str, message: str) -> Problem:
    return Problem(index=index, code=code, field=field, message=message)


def check_offline(index: int, item: SignedRecordIn, domain: Domain, now: int) -> Checked | Problem:
    """Parse, bound and authenticate one record; the first failure is its problem."""
    try:
        record = ActivityRecord.from_message(item.record)
    except InvalidRecord as exc:
        return _problem(index, "invalid_record", "record", str(exc))
    if problem := _check_values(index, record, now):
        return problem
    attributes = None
    if item.attributes is not None:
        try:
            attributes = rfc8785.dumps(item.attributes).decode()
        except (rfc8785.CanonicalizationError, UnicodeEncodeError) as exc:  # no JCS form
            return _problem(index, "invalid_attributes", "attributes", f"not canonical JSON: {exc}")
        if attributes_hash(item.attributes) != record.attributes_hash:
            return _problem(
                index,
                "attributes_mismatch",
                "attributes",
                "attributes do not hash to record.attributesHash",
            )
    signature = bytes.fromhex(item.signature[2:])
    leaf = activity_record_leaf(domain, record, signature)
    try:
        signer = recover_address(leaf.digest, signature)
    except SignatureError as exc:
        code = "malleable_signature" if "upper half" in str(exc) else "bad_signature"
        return _problem(index, code, "signature", str(exc))
    if signer != _address(record.device):
        return _problem(
            index,
            "signer_mismatch",
            "signature",
            f"signed by {to_checksum_address(signer)}, not by record.device {record.device} "
            "(or signed for another chain or contract)",
        )
    return Checked(
        index,
        record,
        signature,
        "0x" + leaf.digest.hex(),
        "0x" + leaf.hash().hex(),
        "0x" + leaf.aux.hex(),
        attributes,
    )


@lru_cache(maxsize=4096)
def _address(device: str) -> bytes:
    """A device's 20 bytes: compared with the recovered signer as bytes, so only a refused
    record pays for the signer's EIP-55 spelling (a terminal sends thousands a batch)."""
    return parse_address(device)


def _check_values(index: int, r: ActivityRecord, now: int) -> Problem | None:
    if r.seq > MAX_SEQ:
        return _problem(
            index, "seq_out_of_range", "record.seq", f"seq must be at most {MAX_SEQ} (2^53 - 1)"
        )
    if r.decimals > MAX_DECIMALS:
        return _problem(
            index,
            "decimals_out_of_range",
            "record.decimals",
            f"decimals must be at most {MAX_DECIMALS}",
        )
    if r.quantity >= MAX_VALUE * 10**r.decimals:
        return _problem(
            index,
            "quantity_too_large",
            "record.quantity",
            f"quantity must be below {MAX_VALUE} {r.unit}",
        )
    if r.period_start >= r.period_end:
        return _problem(
            index, "period_reversed", "record.periodEnd", "periodEnd must be after periodStart"
        )
    if r.period_start < EARLIEST_PERIOD:
        return _problem(
            index, "period_too_old", "record.periodStart", "periodStart is before 2000-01-01"
        )
    if r.period_end > now + CLOCK_SKEW_S:
        return _problem(index, "period_in_future", "record.periodEnd", "periodEnd is in the future")
    if r.period_end - r.period_start > MAX_PERIOD_S:
        return _problem(
            index, "period_too_long", "record.periodEnd", "a record covers at most 366 days"
        )
    if not r.enterprise or not r.source:
        return _problem(index, "invalid_record", "record", "identifiers are required")
    try:
        check_activity_unit(r.activity, r.unit)
    except AccountingError as exc:
        # A refused unit names the spellings the activity takes, so the sender can fix it.
        hint = unit_hint(r.activity) if exc.field == "unit" else ""
        return _problem(index, exc.code, f"record.{exc.field or 'activity'}", exc.message + hint)
    return None


@dataclass(frozen=True)
class Outcome:
    stored: list[str]
    duplicates: list[str]


def ingest(
    session: Session,
    items: Sequence[SignedRecordIn],
    domain: Domain,
    charge: Callable[[Session], None],
) -> Outcome:
    """Store a batch atomically or raise ``ApiError`` 422 listing every offending record.
    ``charge`` runs inside the storing transaction (the caller's allowance), after the locks."""
    now = int(time.time())
    checked: list[Checked] = []
    problems: list[Problem] = []
    for index, item in enumerate(items):
        result = check_offline(index, item, domain, now)
        (problems if isinstance(result, Problem) else checked).append(result)  # type: ignore[arg-type]
    if problems:
        raise _rejected(problems)
    with session.begin():
        addresses = sorted({c.record.device for c in checked})
        # Lock the devices first (row locks; SQLite's write lock), then read fresh state.
        session.execute(
            update(Device).where(Device.address.in_(addresses)).values(last_seq=Device.last_seq)
        )
        charge(session)
        context = _Context.load(session, checked)
        new, duplicates = context.validate(checked, problems)
        problems += register_problems(session, context.devices, new)
        if problems:
            raise _rejected(problems)
        _write(session, context, new)
    return Outcome([c.digest for c in new], duplicates)


def _rejected(problems: list[Problem]) -> ApiError:
    problems.sort(key=lambda p: p.index or 0)
    return ApiError(
        422,
        "invalid_batch",
        f"{len(problems)} record(s) rejected; nothing was stored",
        problems=problems,
    )


@dataclass
class _Context:
    """The registry rows and stored records a batch touches, read in a few queries."""

    devices: dict[str, Device]
    sources: dict[str, EmissionSource]
    enterprises: dict[str, Enterprise]
    bindings: set[tuple[int, int]]
    stored_digests: set[str]
    stored_seqs: dict[tuple[int, int], str]

    @classmethod
    def load(cls, session: Session, checked: list[Checked]) -> _Context:
        addresses = {c.record.device for c in checked}
        devices = {
            d.address: d
            for d in session.scalars(select(Device).where(Device.address.in_(addresses)))
        }
        sources = {
            s.identifier: s
            for s in session.scalars(
                select(EmissionSource).where(
                    EmissionSource.identifier.in_({c.record.source for c in checked})
                )
            )
        }
        enterprises = {
            e.identifier: e
            for e in session.scalars(
                select(Enterprise).where(
                    Enterprise.identifier.in_({c.record.enterprise for c in checked})
                )
            )
        }
        device_ids = [d.id for d in devices.values()]
        bindings = set(
            session.execute(
                select(DeviceBinding.device_id, DeviceBinding.source_id).where(
                    DeviceBinding.device_id.in_(device_ids)
                )
            )
        )
        digests = [c.digest for c in checked]
        stored_digests = set(
            session.scalars(
                select(ActivityRecordRow.digest).where(ActivityRecordRow.digest.in_(digests))
            )
        )
        seqs = {c.record.seq for c in checked}
        stored_seqs = {
            (d, s): g
            for d, s, g in session.execute(
                select(
                    ActivityRecordRow.device_id, ActivityRecordRow.seq, ActivityRecordRow.digest
                ).where(
                    ActivityRecordRow.device_id.in_(device_ids), ActivityRecordRow.seq.in_(seqs)
                )
            )
        }
        return cls(devices, sources, enterprises, bindings, stored_digests, stored_seqs)

    def validate(
        self, checked: list[Checked], problems: list[Problem]
    ) -> tuple[list[Checked], list[str]]:
        """Split into new records and duplicates; append a problem for every bad record."""
        new: list[Checked] = []
        duplicates: list[str] = []
        last_seq = {a: d.last_seq for a, d in self.devices.items()}
        seen: set[str] = set()
        for c in checked:
            if c.digest in self.stored_digests or c.digest in seen:
                duplicates.append(c.digest)
                continue
            if problem := self._check_registry(c):
                problems.append(problem)
                continue
            device = self.devices[c.record.device]
            if (device.id, c.record.seq) in self.stored_seqs:
                problems.append(
                    _problem(
                        c.index,
                        "seq_conflict",
                        "record.seq",
                        f"seq {c.record.seq} is already used by another record",
                    )
                )
                continue
            previous = last_seq[c.record.device]
            if previous is not None and c.record.seq <= previous:
                problems.append(
                    _problem(
                        c.index,
                        "seq_not_increasing",
                        "record.seq",
                        f"seq {c.record.seq} is not above {previous}",
                    )
                )
                continue
            last_seq[c.record.device] = c.record.seq
            seen.add(c.digest)
            new.append(c)
        return new, duplicates

    def _check_registry(self, c: Checked) -> Problem | None:
        r = c.record
        device = self.devices.get(r.device)
        if device is None:
            return _problem(
                c.index, "unknown_device", "record.device", f"device {r.device} is not registered"
            )
        if device.status != "active":
            return _problem(
                c.index, "device_revoked", "record.device", f"device {r.device} is revoked"
            )
        enterprise = self.enterprises.get(r.enterprise)
        if enterprise is None or enterprise.id != device.enterprise_id:
            return _problem(
                c.index,
                "device_not_bound",
                "record.enterprise",
                f"device {r.device} does not report for {r.enterprise}",
            )
        source = self.sources.get(r.source)
        if source is None or source.enterprise_id != enterprise.id:
            return _problem(
                c.index,
                "unknown_source",
                "record.source",
                f"{r.source} is not a source of {r.enterprise}",
            )
        if (device.id, source.id) not in self.bindings:
            return _problem(
                c.index,
                "device_not_bound",
                "record.source",
                f"device {r.device} is not bound to source {r.source}",
            )
        if c.attributes is not None:
            template = template_for(enterprise.industry, enterprise.template_id)
            return _attribute_problem(c.index, template, c.attributes)
        return None


@lru_cache(maxsize=4096)
def _attribute_violation(template_id: str, canonical: str) -> tuple[str, str] | None:
    """(JSON path, message) of the first template violation; cached because a terminal sends
    the same attributes with reading after reading (templates never change once registered)."""
    problems = template_catalog().validate(template_id, "attributes", json.loads(canonical))
    return (problems[0].path, problems[0].message) if problems else None


def _attribute_problem(index: int, template_id: str, canonical: str) -> Problem | None:
    violation = _attribute_violation(template_id, canonical)
    if violation is None:
        return None
    path, message = violation
    return _problem(index, "template_violation", "attributes" + path.removeprefix("$"), message)


def _write(session: Session, context: _Context, new: list[Checked]) -> None:
    if not new:
        return
    # Core inserts on the tables: the ORM's bulk path costs more than SQLite's own work here.
    received_at = utcnow()
    _insert(
        session,
        LeafRow.__table__,  # type: ignore[arg-type]
        [
            {
                "kind": 1,
                "digest": c.digest,
                "aux": c.leaf_aux,
                "hash": c.leaf_hash,
                "created_at": received_at,
            }
            for c in new
        ],
    )
    _insert(
        session,
        ActivityRecordRow.__table__,  # type: ignore[arg-type]
        [_row(context, c, received_at) for c in new],
    )
    last: dict[int, int] = {}
    for c in new:
        last[context.devices[c.record.device].id] = c.record.seq  # type: ignore[index]
    for device_id, seq in last.items():
        session.execute(update(Device).where(Device.id == device_id).values(last_seq=seq))


def _insert(session: Session, table: Table, rows: list[dict[str, object]]) -> None:
    """Every row in the storing transaction. PostgreSQL gets one COPY a table (a quarter
    less time a batch than executemany on the partitioned table, docs/benchmarks.md);
    elsewhere the driver's executemany, which SQLite runs in C."""
    connection = session.connection()
    if connection.dialect.name != "postgresql":
        connection.execute(insert(table), rows)
        return
    columns = list(rows[0])
    name = sql.Identifier(*[part for part in (table.schema, table.name) if part])
    statement = sql.SQL("COPY {} ({}) FROM STDIN").format(
        name, sql.SQL(", ").join(sql.Identifier(c) for c in columns)
    )
    driver = connection.connection.driver_connection
    with driver.cursor() as cursor, cursor.copy(statement) as copy:  # type: ignore[union-attr]
        for row in rows:
            copy.write_row([row[c] for c in columns])


def _row(context: _Context, c: Checked, received_at: datetime) -> dict[str, object]:
    r = c.record
    return {
        "received_at": received_at,
        "digest": c.digest,
        "leaf_hash": c.leaf_hash,
        "device_id": context.devices[r.device].id,
        "source_id": context.sources[r.source].id,
        "enterprise_id": context.enterprises[r.enterprise].id,
        "seq": r.seq,
        "activity": r.activity,
        "quantity": str(r.quantity),
        "decimals": r.decimals,
        "unit": r.unit,
        "period_start": r.period_start,
        "period_end": r.period_end,
        "attributes_hash": "0x" + r.attributes_hash.hex(),
        "attributes": c.attributes,
        "signature": "0x" + c.signature.hex(),
    }
