"""Cumulative meter registers in a record's signed attributes (``docs/figure-proof-format.md``
section 11).

A terminal reading a meter with a cumulative register signs, in the record's attributes:

* ``register``: the register at the END of the record's interval, as a decimal string of the
  record's scaled integer (the same scaling as ``quantity``: ``decimals`` places);
* ``registerEpoch``: an integer, 0 for the source's first meter, one more on every meter
  replacement or register reset;
* ``registerOpening``: on the first record of an epoch only, the register at the START of its
  interval, scaled alike.

The invariant, enforced at ingest and relied on by the register figure proof: within an epoch a
record's quantity is its register minus the previous record's; on the first record of an epoch
it is its register minus its opening. A sum of quantities over a run of one epoch is therefore
its last register minus its first plus the first record's quantity, whatever lies between.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from accounting.from_records import REGISTER_ATTRIBUTES
from verifier.errors import RegisterError
from verifier.protocol.typed_data import ActivityRecord

__all__ = [
    "REGISTER",
    "REGISTER_ATTRIBUTES",
    "REGISTER_EPOCH",
    "REGISTER_OPENING",
    "MeterReading",
    "RegisterError",
    "continuity_problem",
    "meter_reading",
    "reading_of",
    "register_attributes",
    "without_registers",
]

REGISTER = "register"
REGISTER_EPOCH = "registerEpoch"
REGISTER_OPENING = "registerOpening"
# A register is a scaled uint256, like the quantity: at most 78 decimal digits.
_SCALED = re.compile(r"^(0|[1-9][0-9]{0,77})$")
_MAX_EPOCH = 2**53 - 1  # RFC 8785 JSON holds integers exactly only up to here


@dataclass(frozen=True)
class MeterReading:
    """The register attributes of one record, and what of the record the invariant reads."""

    register: int
    epoch: int
    opening: int | None
    quantity: int
    meter: tuple[str, str, str, int, str]  # activity, source, unit, decimals, other attributes

    def epoch_quantity(self) -> int | None:
        """The quantity a first-of-epoch reading's opening implies; None without an opening."""
        return None if self.opening is None else self.register - self.opening


def _scaled(attributes: Mapping[str, Any], name: str) -> int:
    value = attributes[name]
    if not isinstance(value, str) or not _SCALED.fullmatch(value):
        raise RegisterError(name, f"{name} must be a non-negative integer as a decimal string")
    return int(value)


def without_registers(attributes: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """The attributes apart from the register fields: what accounting groups records by."""
    if attributes is None:
        return None
    rest = {k: v for k, v in attributes.items() if k not in REGISTER_ATTRIBUTES}
    return rest or None


def meter_reading(
    record: ActivityRecord, attributes: Mapping[str, Any] | None
) -> MeterReading | None:
    """The record's register attributes; None when it carries none. Raises
    :class:`~verifier.errors.RegisterError` when they are malformed or incomplete."""
    return reading_of(
        (record.activity, record.source, record.unit, record.decimals),
        record.quantity,
        attributes,
    )


def reading_of(
    meter: tuple[str, str, str, int], quantity: int, attributes: Mapping[str, Any] | None
) -> MeterReading | None:
    """As :func:`meter_reading`, from a record's ``(activity, source, unit, decimals)`` and
    quantity (the ledger reads its stored rows without rebuilding the signed message)."""
    if not attributes or not any(name in attributes for name in REGISTER_ATTRIBUTES):
        return None
    if REGISTER not in attributes or REGISTER_EPOCH not in attributes:
        missing = REGISTER if REGISTER not in attributes else REGISTER_EPOCH
        raise RegisterError(missing, f"{missing} is required with any register attribute")
    epoch = attributes[REGISTER_EPOCH]
    if type(epoch) is not int or not 0 <= epoch <= _MAX_EPOCH:
        raise RegisterError(REGISTER_EPOCH, "registerEpoch must be an integer from 0 to 2^53-1")
    opening = _scaled(attributes, REGISTER_OPENING) if REGISTER_OPENING in attributes else None
    register = _scaled(attributes, REGISTER)
    if opening is not None and opening > register:
        raise RegisterError(REGISTER_OPENING, "registerOpening is above the register")
    rest = json.dumps(without_registers(attributes) or {}, sort_keys=True)
    return MeterReading(register, epoch, opening, quantity, (*meter, rest))


def continuity_problem(
    previous: MeterReading | None, current: MeterReading
) -> tuple[str, str, str] | None:
    """``(code, field, message)`` when ``current`` does not continue ``previous`` (the
    device's reading just before it, None when there is none or it carries no register)."""
    opening = current.epoch_quantity()
    if previous is None or current.epoch == previous.epoch + 1:
        if opening is None:
            return (
                "register_opening_missing",
                f"attributes.{REGISTER_OPENING}",
                "the first reading of a register epoch must state registerOpening",
            )
        if opening != current.quantity:
            return (
                "register_discontinuity",
                "record.quantity",
                f"quantity {current.quantity} is not register - registerOpening = {opening}",
            )
        return None
    if current.epoch < previous.epoch:
        return (
            "register_epoch_reversed",
            f"attributes.{REGISTER_EPOCH}",
            f"registerEpoch {current.epoch} is below the previous reading's {previous.epoch}",
        )
    if current.epoch > previous.epoch + 1:
        return (
            "register_epoch_skipped",
            f"attributes.{REGISTER_EPOCH}",
            f"registerEpoch {current.epoch} skips from the previous reading's {previous.epoch}",
        )
    return _same_epoch_problem(previous, current)


def _same_epoch_problem(
    previous: MeterReading, current: MeterReading
) -> tuple[str, str, str] | None:
    if current.meter != previous.meter:
        return (
            "register_meter_changed",
            "record",
            "activity, source, unit, decimals and other attributes stay those of the previous "
            "reading within a register epoch; a new meter starts a new epoch",
        )
    if current.opening is not None and current.opening != previous.register:
        return (
            "register_discontinuity",
            f"attributes.{REGISTER_OPENING}",
            f"registerOpening {current.opening} is not the previous register {previous.register}",
        )
    step = current.register - previous.register
    if step != current.quantity:
        return (
            "register_discontinuity",
            "record.quantity",
            f"quantity {current.quantity} is not register {current.register} - previous "
            f"register {previous.register} = {step}",
        )
    return None


def register_attributes(register: int, epoch: int, opening: int | None = None) -> dict[str, Any]:
    """The register attributes of one reading, as a terminal signs them."""
    attributes: dict[str, Any] = {REGISTER: str(register), REGISTER_EPOCH: epoch}
    if opening is not None:
        attributes[REGISTER_OPENING] = str(opening)
    return attributes
