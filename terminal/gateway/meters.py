"""Meters as they are: samples in, interval readings out, nothing invented.

A cumulative register becomes one reading per new whole second it was read at: the quantity is
the register's increase since the previous reading, and the signed attributes carry the
register so anyone can check the chain (``register``, ``registerEpoch`` and, on an epoch's first
reading, ``registerOpening``, as ``verifier.protocol.registers`` spells them: integers scaled
like the quantity). A register that wraps at its modulus is unwrapped, so within an
epoch the signed register only grows; a register that drops any other way is a replaced or
reset meter: a new epoch whose first sample is only its opening, and the time between the two
meters is reported as unmetered rather than guessed.

An interval meter's sample is its own quantity over the interval it states (or, without one,
since the point's previous reading); a sample that ends no later than the previous one is a
repeat and is dropped, so a redelivered message never counts twice.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

from terminal.gateway.config import Point
from verifier.protocol.registers import register_attributes


@dataclass(frozen=True)
class Sample:
    """One value read from a meter point, scaled to the point's unit."""

    point: str
    time: float  # seconds since the epoch at which the value held (the interval's end)
    value: Decimal
    start: float | None = None  # an interval meter's own start, when it states one


@dataclass(frozen=True)
class PointState:
    """What the next reading of a point continues from (persisted with each reading)."""

    epoch: int | None = None  # None: the point was never read
    register: int | None = None  # the unwrapped, scaled register of the last reading or opening
    end: int | None = None  # end (whole seconds) of the last reading, or the opening's time
    opening: bool = False  # the next reading is its epoch's first
    # The register last read, unwrapped: ahead of ``register`` while samples within the second
    # of the last reading wait for the next one. Wraps and swaps are judged against it.
    seen: int | None = None


@dataclass(frozen=True)
class Reading:
    point: str
    start: int
    end: int
    quantity: int  # scaled by 10^decimals, as the record carries it
    attributes: dict[str, Any] | None


@dataclass(frozen=True)
class Step:
    """A sample's outcome: at most one reading, the point's next state, and what to report."""

    state: PointState
    reading: Reading | None = None
    event: str | None = None  # baseline, rollover, meter_replaced, duplicate, bad_value, ...


def step(point: Point, state: PointState, sample: Sample) -> Step:
    """The reading (if any) that ``sample`` makes of ``point`` after ``state``."""
    if not sample.value.is_finite() or sample.value < 0:
        return Step(state, event="bad_value")
    # Scaled to the record's integer once; a register's chain then telescopes without drift.
    value = int(sample.value.scaleb(point.decimals).to_integral_value(ROUND_HALF_EVEN))
    end = math.floor(sample.time)
    if point.kind == "cumulative":
        return _cumulative(point, state, value, end)
    return _interval(point, state, sample, value, end)


def _cumulative(point: Point, state: PointState, value: int, end: int) -> Step:
    if state.register is None or state.epoch is None or state.end is None:
        return Step(PointState(0, value, end, True, value), event="baseline")
    if end < state.end:
        # Older than the last reading: a message the broker delivered again, or a clock that
        # stepped back. Never a reason to open a new epoch.
        return Step(state, event="stale")
    seen = state.register if state.seen is None else state.seen
    modulus = point.scaled_rollover
    increase = value - (seen % modulus if modulus else seen)
    event = None
    # A drop by less than a wrap's window is the register wrapping; any other drop is a new meter.
    if increase < 0 and modulus and increase + modulus <= modulus * point.rollover_window:
        increase += modulus
        event = "rollover"
    if increase < 0:
        # The new meter's first value is its epoch's opening; what the old one counted after
        # its last reading (within that reading's second) has no interval left to be signed in.
        return Step(
            PointState(state.epoch + 1, value, end, True, value),
            event="meter_replaced" if seen == state.register else "meter_replaced_unrecorded",
        )
    seen += increase
    if end <= state.end:
        # Within the second of the previous reading: the next one covers this increase too.
        return Step(replace(state, seen=seen), event=event or "coalesced")
    opening = state.register if state.opening else None
    attributes = register_attributes(seen, state.epoch, opening)
    reading = Reading(point.name, state.end, end, seen - state.register, attributes)
    return Step(PointState(state.epoch, seen, end, False, seen), reading, event)


def _interval(point: Point, state: PointState, sample: Sample, value: int, end: int) -> Step:
    if sample.start is not None:
        start = math.floor(sample.start)
    elif state.end is not None:
        start = state.end
    elif point.interval_s is not None:
        start = end - math.ceil(point.interval_s)
    else:
        return Step(state, event="no_interval")
    if state.end is not None and end <= state.end:
        return Step(state, event="duplicate")
    if state.end is not None and start < state.end:
        return Step(state, event="overlapping_interval")
    if start >= end:
        return Step(state, event="empty_interval")
    return Step(replace(state, end=end), Reading(point.name, start, end, value, None))
