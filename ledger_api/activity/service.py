"""Accepting a batch of signed activity records: all of it, or none of it.

Work without the database (parsing, digests, signature recovery) runs first, outside any
transaction. The transaction then locks the batch's devices before it reads them, so two
batches from one device cannot both pass the sequence check.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from typing import NamedTuple

import rfc8785
from psycopg import sql
from sqlalchemy import Column, Connection, Table, insert, select, update
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
from ledger_api.core.periods import CLOCK_SKEW_S, EARLIEST_PERIOD
from ledger_api.registry.checks import template_for
from ledger_api.registry.template_store import template_catalog
from verifier.errors import InvalidRecord, SignatureError
from verifier.protocol.keccak import keccak256, parse_address, to_checksum_address
from verifier.protocol.leaves import LeafKind, leaf_hash
from verifier.protocol.typed_data import (
    ActivityRecord,
    Domain,
    attributes_hash,
    record_digest,
    recover_address,
)

MAX_DECIMALS = 18
MAX_VALUE = 10**12  # in the record's own unit: no meter reports a trillion of anything at once
MAX_PERIOD_S = 366 * 86_400
# The batch manifest is RFC 8785 JSON, which holds integers exactly only up to 2^53 - 1: a
# larger sequence number could be signed (uint64) but never anchored.
MAX_SEQ = 2**53 - 1


class Checked(NamedTuple):
    """A record that passed every check that needs no database (a tuple: a frozen dataclass
    costs a microsecond or two more to build, for every record)."""

    index: int
    record: ActivityRecord
    signature: str  # 0x + lowercase hex, as stored
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
    digest = record_digest(domain, record)
    try:
        signer = recover_address(digest, signature)
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
    # ``activity_record_leaf``'s hash, aux = the signature's keccak, built from the digest at
    # hand: its Leaf object's checks of words made just here cost more than the hashing.
    aux = keccak256(signature)
    return Checked(
        index,
        record,
        "0x" + signature.hex(),
        "0x" + digest.hex(),
        "0x" + leaf_hash(LeafKind.ACTIVITY_RECORD, digest, aux).hex(),
        "0x" + aux.hex(),
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


@dataclass(frozen=True)
class _Owner:
    """The registry's ids for one (device, enterprise, source) a record names, once checked."""

    device_id: int
    source_id: int
    enterprise_id: int
    industry: str
    template_id: str | None


# A registry refusal: (code, field, message), the same for every record naming the same three.
_Refusal = tuple[str, str, str]


@dataclass
class _Context:
    """The registry rows and stored records a batch touches, read in a few queries."""

    devices: dict[str, Device]
    sources: dict[str, EmissionSource]
    enterprises: dict[str, Enterprise]
    bindings: set[tuple[int, int]]
    stored_digests: set[str]
    stored_seqs: dict[tuple[int, int], str]
    # The registry checks of each distinct (device, enterprise, source): a terminal sends
    # thousands of records naming the same three, which the checks need look at once.
    owners: dict[tuple[str, str, str], _Owner | _Refusal] = field(default_factory=dict)

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
        seqs = list({c.record.seq for c in checked})
        if session.connection().dialect.name == "sqlite":
            stored_digests, stored_seqs = _stored_on_sqlite(session, digests, device_ids, seqs)
            return cls(devices, sources, enterprises, bindings, stored_digests, stored_seqs)
        stored_digests = set(
            session.scalars(
                select(ActivityRecordRow.digest).where(ActivityRecordRow.digest.in_(digests))
            )
        )
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

    def owner(self, r: ActivityRecord) -> _Owner:
        """The ids of a record that passed :meth:`validate`."""
        return self.owners[(r.device, r.enterprise, r.source)]  # type: ignore[return-value]

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
            if (self.owner(c.record).device_id, c.record.seq) in self.stored_seqs:
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
        key = (r.device, r.enterprise, r.source)
        found = self.owners.get(key)
        if found is None:
            found = self.owners[key] = self._resolve(*key)
        if isinstance(found, tuple):
            return _problem(c.index, *found)
        if c.attributes is not None:
            template = template_for(found.industry, found.template_id)
            return _attribute_problem(c.index, template, c.attributes)
        return None

    def _resolve(self, address: str, identifier: str, source_id: str) -> _Owner | _Refusal:
        device = self.devices.get(address)
        if device is None:
            return "unknown_device", "record.device", f"device {address} is not registered"
        if device.status != "active":
            return "device_revoked", "record.device", f"device {address} is revoked"
        enterprise = self.enterprises.get(identifier)
        if enterprise is None or enterprise.id != device.enterprise_id:
            message = f"device {address} does not report for {identifier}"
            return "device_not_bound", "record.enterprise", message
        source = self.sources.get(source_id)
        if source is None or source.enterprise_id != enterprise.id:
            return "unknown_source", "record.source", f"{source_id} is not a source of {identifier}"
        if (device.id, source.id) not in self.bindings:
            message = f"device {address} is not bound to source {source_id}"
            return "device_not_bound", "record.source", message
        ids = (device.id, source.id, enterprise.id)
        return _Owner(*ids, enterprise.industry, enterprise.template_id)  # type: ignore[arg-type]


def _stored_on_sqlite(
    session: Session, digests: list[str], device_ids: list[int], seqs: list[int]
) -> tuple[set[str], dict[tuple[int, int], str]]:
    """:meth:`_Context.load`'s two look-ups of stored records, by digest and by (device, seq),
    handed to SQLite's driver with the values as they are: SQLAlchemy expands an ``IN`` list
    value by value in Python, a third of the look-ups' CPU (docs/benchmarks.md)."""
    connection = session.connection()
    table = ActivityRecordRow.__tablename__
    found = connection.exec_driver_sql(
        f"SELECT digest FROM {table} WHERE digest IN ({_marks(len(digests))})", tuple(digests)
    )
    stored_digests = {digest for (digest,) in found}
    if not device_ids:
        return stored_digests, {}
    taken = connection.exec_driver_sql(
        f"SELECT device_id, seq, digest FROM {table} "
        f"WHERE device_id IN ({_marks(len(device_ids))}) AND seq IN ({_marks(len(seqs))})",
        (*device_ids, *seqs),
    )
    return stored_digests, {(d, s): g for d, s, g in taken}


def _marks(count: int) -> str:
    return ", ".join("?" * count)


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
    connection = session.connection()
    leaf: Table = LeafRow.__table__  # type: ignore[attr-defined]
    table: Table = ActivityRecordRow.__table__  # type: ignore[attr-defined]
    # One receipt time a batch (both tables' timestamps are one type): converted for the driver
    # once, not row by row.
    received_at = _driver_value(connection, table.c.received_at, utcnow())
    _insert(connection, leaf, _LEAF_COLUMNS, [_leaf(c, received_at) for c in new])
    _insert(connection, table, _RECORD_COLUMNS, [_row(context, c, received_at) for c in new])
    last: dict[str, int] = {}
    for c in new:
        last[c.record.device] = c.record.seq
    for address, seq in last.items():
        device_id = context.devices[address].id
        session.execute(update(Device).where(Device.id == device_id).values(last_seq=seq))


_LEAF_COLUMNS = ("kind", "digest", "aux", "hash", "created_at")
_RECORD_COLUMNS = (
    "received_at",
    "digest",
    "leaf_hash",
    "device_id",
    "source_id",
    "enterprise_id",
    "seq",
    "activity",
    "quantity",
    "decimals",
    "unit",
    "period_start",
    "period_end",
    "attributes_hash",
    "attributes",
    "signature",
)


def _driver_value(connection: Connection, column: Column[datetime], value: datetime) -> object:
    """``value`` as SQLAlchemy would hand it to SQLite's driver (which stores datetimes as
    text); the other drivers adapt a datetime themselves."""
    if connection.dialect.name != "sqlite":
        return value
    processor = column.type.dialect_impl(connection.dialect).bind_processor(connection.dialect)
    return processor(value) if processor else value


def _insert(
    connection: Connection, table: Table, columns: Sequence[str], rows: list[tuple[object, ...]]
) -> None:
    """Every row in the storing transaction, one statement a table. PostgreSQL gets a COPY (a
    quarter less time a batch than executemany on the partitioned table, docs/benchmarks.md);
    SQLite gets the driver's executemany with the rows as they are, which runs in C: through
    SQLAlchemy's insert each row's parameters were handled in Python, half the write's CPU
    (docs/benchmarks.md). Other databases go through SQLAlchemy."""
    dialect = connection.dialect.name
    if dialect == "postgresql":
        name = sql.Identifier(*[part for part in (table.schema, table.name) if part])
        statement = sql.SQL("COPY {} ({}) FROM STDIN").format(
            name, sql.SQL(", ").join(sql.Identifier(c) for c in columns)
        )
        driver = connection.connection.driver_connection
        with driver.cursor() as cursor, cursor.copy(statement) as copy:  # type: ignore[union-attr]
            for row in rows:
                copy.write_row(row)
    elif dialect == "sqlite":
        marks = ", ".join("?" * len(columns))
        text = f"INSERT INTO {table.name} ({', '.join(columns)}) VALUES ({marks})"
        connection.exec_driver_sql(text, rows)
    else:
        connection.execute(insert(table), [dict(zip(columns, row, strict=True)) for row in rows])


def _leaf(c: Checked, created_at: object) -> tuple[object, ...]:
    """The ``leaf`` row, in ``_LEAF_COLUMNS`` order."""
    return (int(LeafKind.ACTIVITY_RECORD), c.digest, c.leaf_aux, c.leaf_hash, created_at)


def _row(context: _Context, c: Checked, received_at: object) -> tuple[object, ...]:
    """The ``activity_record`` row, in ``_RECORD_COLUMNS`` order."""
    r = c.record
    owner = context.owner(r)
    return (
        received_at,
        c.digest,
        c.leaf_hash,
        owner.device_id,
        owner.source_id,
        owner.enterprise_id,
        r.seq,
        r.activity,
        str(r.quantity),
        r.decimals,
        r.unit,
        r.period_start,
        r.period_end,
        "0x" + r.attributes_hash.hex(),
        c.attributes,
        c.signature,
    )
