"""The register-continuity check of ingest (``verifier.protocol.registers``).

A register figure proof counts a device's readings between two signed registers without
showing them, so every reading the ledger accepts must continue the one before it: its
quantity is the register's step, an epoch changes only by one and with a stated opening, and a
device that reports a register keeps reporting one. One indexed lookup per batch (each
device's last stored reading, by the unique ``(device_id, seq)`` index); the rest is arithmetic
on the batch, in order.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from sqlalchemy import and_, or_, select
from sqlmodel import Session

from ledger_api.core.errors import Problem
from ledger_api.core.models import ActivityRecordRow, Device, EmissionSource
from verifier.errors import RegisterError
from verifier.protocol.registers import (
    REGISTER,
    MeterReading,
    continuity_problem,
    meter_reading,
    reading_of,
)

if TYPE_CHECKING:
    from ledger_api.activity.service import Checked

# What a device's previous reading was: its register, or "none" when it carried no register.
_NONE = "none"
Previous = MeterReading | str | None


def _stored(
    session: Session, devices: Mapping[str, Device], new: Sequence[Checked]
) -> dict[int, Previous]:
    """Each batch device's last stored reading, as a register reading (or ``_NONE``)."""
    batch = [devices[address] for address in {c.record.device for c in new}]
    wanted = {d.id: d.last_seq for d in batch if d.last_seq is not None}
    if not wanted:
        return {}
    query = (
        select(ActivityRecordRow, EmissionSource.identifier)
        .join(EmissionSource, EmissionSource.id == ActivityRecordRow.source_id)
        .where(
            or_(
                *(
                    and_(ActivityRecordRow.device_id == d, ActivityRecordRow.seq == s)
                    for d, s in wanted.items()
                )
            )
        )
    )
    found: dict[int, Previous] = {}
    for row, source in session.execute(query):
        attributes = json.loads(row.attributes) if row.attributes else None
        meter = (row.activity, source, row.unit, row.decimals)
        reading = reading_of(meter, int(row.quantity), attributes)  # valid when it was stored
        found[row.device_id] = reading if reading is not None else _NONE
    return found


def _problem(index: int, code: str, field: str, message: str) -> Problem:
    return Problem(index=index, code=code, field=field, message=message)


def _attributes(c: Checked) -> dict[str, Any] | None:
    # Most readings carry no register: skip parsing their attributes again.
    if c.attributes is None or f'"{REGISTER}' not in c.attributes:
        return None
    return json.loads(c.attributes)


def _check(c: Checked, previous: Previous) -> tuple[Problem | None, Previous]:
    try:
        reading = meter_reading(c.record, _attributes(c))
    except RegisterError as exc:
        return _problem(c.index, exc.code, f"attributes.{exc.field}", str(exc)), previous
    if reading is None:
        if isinstance(previous, MeterReading):
            return _problem(
                c.index,
                "register_missing",
                f"attributes.{REGISTER}",
                "the device's previous reading carries a register: every later one must",
            ), previous
        return None, _NONE
    found = continuity_problem(previous if isinstance(previous, MeterReading) else None, reading)
    if found is not None:
        return _problem(c.index, *found), previous
    return None, reading


def register_problems(
    session: Session, devices: Mapping[str, Device], new: Sequence[Checked]
) -> list[Problem]:
    """A problem for every new record (in batch order) that breaks its device's register."""
    previous: dict[str, Previous] = {}
    stored = _stored(session, devices, new)
    problems: list[Problem] = []
    for c in new:
        address = c.record.device
        if address not in previous:
            previous[address] = stored.get(devices[address].id)  # type: ignore[arg-type]
        problem, previous[address] = _check(c, previous[address])
        if problem is not None:
            problems.append(problem)
    return problems
