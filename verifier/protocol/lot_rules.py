"""The rules of a carbon-asset lot, as pure functions shared by the ledger and the verifier.

A lot's state is the result of replaying its signed operations in order from its ``issue``:
:func:`apply` takes the state before an operation (``None`` before the issue) and returns the
state after it, or raises an :class:`~verifier.errors.AssetRuleError` subclass whose ``code``
names the broken rule. The ledger calls :func:`apply` before it accepts an operation, and a
verifier calls :func:`replay` on the operations a bundle discloses: both must reach the same
verdict from the same bytes, so nothing here reads a clock, a database or the chain.

Rules are checked in this order; the first broken one is raised.

* ``issue``: ``asset_exists``, ``prev_not_zero``, ``recipient_not_allowed``, ``range_invalid``,
  ``non_canonical_serial_prefix`` (:func:`check_serial_prefix`).
* otherwise: ``unknown_asset``, ``stale_prev``, ``terms_mismatch``, ``range_invalid``,
  ``range_outside_lot``, ``already_retired``, ``insufficient_holding``, then
  ``recipient_required`` / ``recipient_is_owner`` (transfer) or ``recipient_not_allowed``
  (retire, surrender).

``stale_prev`` is what makes the history a chain: each operation names the digest of the one
before it, so an operation cannot be replayed, reordered, or applied to a state its signer
never saw.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any, NamedTuple

from verifier.errors import AssetRuleError
from verifier.protocol.asset_ops import ZERO_PREV, AssetOperation

__all__ = [
    "HELD",
    "RETIRED",
    "RULE_CODES",
    "STATUSES",
    "SURRENDERED",
    "AlreadyRetired",
    "AssetExists",
    "AssetRuleError",
    "InsufficientHolding",
    "JournalLine",
    "LotState",
    "PrevNotZero",
    "RangeInvalid",
    "RangeOutsideLot",
    "RecipientIsOwner",
    "RecipientNotAllowed",
    "RecipientRequired",
    "SerialPrefixNotCanonical",
    "SerialRange",
    "StalePrev",
    "TermsMismatch",
    "UnknownAsset",
    "apply",
    "balances",
    "check_serial_prefix",
    "holdings",
    "journal_lines",
    "ranges_within",
    "replay",
]

HELD, RETIRED, SURRENDERED = "held", "retired", "surrendered"
STATUSES: tuple[str, ...] = (HELD, RETIRED, SURRENDERED)
_STATUS_AFTER = {"transfer": HELD, "retire": RETIRED, "surrender": SURRENDERED}


# --- rule failures: one class per code ------------------------------------------------------


class AssetExists(AssetRuleError):
    code = "asset_exists"


class PrevNotZero(AssetRuleError):
    code = "prev_not_zero"


class RecipientNotAllowed(AssetRuleError):
    code = "recipient_not_allowed"


class UnknownAsset(AssetRuleError):
    code = "unknown_asset"


class StalePrev(AssetRuleError):
    code = "stale_prev"


class TermsMismatch(AssetRuleError):
    code = "terms_mismatch"


class RangeInvalid(AssetRuleError):
    code = "range_invalid"


class RangeOutsideLot(AssetRuleError):
    code = "range_outside_lot"


class AlreadyRetired(AssetRuleError):
    code = "already_retired"


class InsufficientHolding(AssetRuleError):
    code = "insufficient_holding"


class RecipientRequired(AssetRuleError):
    code = "recipient_required"


class RecipientIsOwner(AssetRuleError):
    code = "recipient_is_owner"


class SerialPrefixNotCanonical(AssetRuleError):
    """The serial prefix is not written in its one canonical form (see
    :func:`check_serial_prefix`). Not in :data:`RULE_CODES`, which lists the rules relating an
    operation to the lot's history; this one is about the issue's own terms."""

    code = "non_canonical_serial_prefix"


RULE_CODES: tuple[str, ...] = tuple(
    cls.code
    for cls in (
        AssetExists,
        PrevNotZero,
        RecipientNotAllowed,
        UnknownAsset,
        StalePrev,
        TermsMismatch,
        RangeInvalid,
        RangeOutsideLot,
        AlreadyRetired,
        InsufficientHolding,
        RecipientRequired,
        RecipientIsOwner,
    )
)


# --- state ----------------------------------------------------------------------------------


class SerialRange(NamedTuple):
    """Serials ``first..last`` (inclusive), all with one status and one holder (the enterprise
    holding them, or the one that retired or surrendered them)."""

    first: int
    last: int
    status: str
    holder: str

    @property
    def quantity(self) -> int:
        return self.last - self.first + 1


@dataclass(frozen=True)
class LotState:
    """A lot after ``operations`` operations, the last of which has digest ``head``.

    ``first``/``last`` is the issued range. ``ranges`` covers it exactly, sorted, disjoint and
    with neighbours of equal (status, holder) merged, so one state has one spelling and two
    replays of one history compare equal.
    """

    asset: str
    program: str
    vintage: int
    serial_prefix: str
    first: int
    last: int
    head: bytes
    operations: int
    ranges: tuple[SerialRange, ...]

    def __post_init__(self) -> None:
        if not isinstance(self.head, bytes) or len(self.head) != 32:
            raise ValueError("head must be 32 bytes")
        if self.operations < 1:
            raise ValueError("a lot exists only after its issue")
        object.__setattr__(self, "ranges", tuple(SerialRange(*r) for r in self.ranges))
        _check_cover(self.ranges, self.first, self.last)

    @property
    def quantity(self) -> int:
        """The issued quantity, in tCO2e."""
        return self.last - self.first + 1

    def to_json(self) -> dict[str, Any]:
        return {
            "asset": self.asset,
            "program": self.program,
            "vintage": self.vintage,
            "serialPrefix": self.serial_prefix,
            "first": self.first,
            "last": self.last,
            "head": "0x" + self.head.hex(),
            "operations": self.operations,
            "ranges": [
                {"first": r.first, "last": r.last, "status": r.status, "holder": r.holder}
                for r in self.ranges
            ],
        }


def _check_cover(ranges: tuple[SerialRange, ...], first: int, last: int) -> None:
    """Raise ValueError unless ``ranges`` is the one canonical cover of ``first..last``."""
    expected = first
    for i, r in enumerate(ranges):
        if r.status not in STATUSES:
            raise ValueError(f"ranges[{i}]: unknown status {r.status!r}")
        if r.first != expected or r.last < r.first:
            raise ValueError(f"ranges[{i}] does not continue the cover at serial {expected}")
        if i and (r.status, r.holder) == (ranges[i - 1].status, ranges[i - 1].holder):
            raise ValueError(f"ranges[{i}] should be merged with its left neighbour")
        expected = r.last + 1
    if not ranges or expected != last + 1:
        raise ValueError(f"ranges do not cover {first}..{last} exactly")


@dataclass(frozen=True)
class JournalLine:
    """One double-entry line: ``quantity`` tCO2e into (positive) or out of ``account``."""

    account: str
    quantity: int


# --- the rules ------------------------------------------------------------------------------

# Printable ASCII without space and without lower-case letters: one spelling per registry block.
_CANONICAL_SERIAL_PREFIX = re.compile(r"[!-`{-~]{1,64}")


def check_serial_prefix(prefix: object) -> str:
    """Return ``prefix`` if it is in canonical form, else raise
    :class:`SerialPrefixNotCanonical` (field ``serialPrefix``).

    Canonical: 1-64 printable ASCII characters, none of them a space, none a lower-case letter.
    Lots of one programme may not share serials under one prefix, and a prefix that differs
    only in case, surrounding or inner spaces, an invisible or a look-alike character would
    otherwise name the same registry block twice. The prefix is signed, so it is refused, never
    rewritten: the signer must sign the canonical spelling.
    """
    if isinstance(prefix, str) and _CANONICAL_SERIAL_PREFIX.fullmatch(prefix):
        return prefix
    if not isinstance(prefix, str) or not 1 <= len(prefix) <= 64:
        reason = "must be 1..64 characters"
    elif prefix != prefix.strip():
        reason = "has surrounding whitespace"
    elif any(c.isspace() for c in prefix):
        reason = "contains whitespace"
    elif not prefix.isascii():
        reason = "contains a non-ASCII (look-alike or invisible) character"
    elif not prefix.isprintable():
        reason = "contains a control character"
    else:
        reason = f"has lower-case letters; write it as {prefix.upper()!r}"
    raise SerialPrefixNotCanonical(f"serialPrefix {prefix!r} {reason}", "serialPrefix")


def _check_issue(state: LotState | None, op: AssetOperation) -> None:
    if state is not None:
        raise AssetExists(f"lot {op.asset} was already issued", "asset")
    if op.prev != ZERO_PREV:
        raise PrevNotZero("an issue starts a lot, so prev must be 32 zero bytes", "prev")
    if op.recipient:
        raise RecipientNotAllowed(
            "an issue goes to its owner; recipient must be empty", "recipient"
        )
    if op.first > op.last:
        raise RangeInvalid(f"first {op.first} is after last {op.last}", "last")
    check_serial_prefix(op.serial_prefix)


def _check_terms(state: LotState, op: AssetOperation) -> None:
    for field, ours, theirs in (
        ("asset", state.asset, op.asset),
        ("program", state.program, op.program),
        ("vintage", state.vintage, op.vintage),
        ("serialPrefix", state.serial_prefix, op.serial_prefix),
    ):
        if ours != theirs:
            raise TermsMismatch(f"{field} is {theirs!r}, the lot's is {ours!r}", field)


def _overlapping(state: LotState, first: int, last: int) -> tuple[SerialRange, ...]:
    start = max(bisect_right(state.ranges, (first,)) - 1, 0)
    return tuple(r for r in state.ranges[start:] if r.first <= last and r.last >= first)


def ranges_within(state: LotState, first: int, last: int) -> tuple[SerialRange, ...]:
    """The state's ranges cut to ``first..last``: who holds, retired or surrendered which of
    those serials. Serials outside the lot are simply absent, so compare quantities."""
    return tuple(
        r._replace(first=max(r.first, first), last=min(r.last, last))
        for r in _overlapping(state, first, last)
    )


def _check_holding(state: LotState, op: AssetOperation) -> None:
    touched = ranges_within(state, op.first, op.last)
    spent = next((r for r in touched if r.status != HELD), None)
    if spent is not None:
        raise AlreadyRetired(f"serials {spent.first}..{spent.last} are {spent.status}", "first")
    held = sum(r.quantity for r in touched if r.holder == op.owner)
    if held != op.quantity:
        raise InsufficientHolding(
            f"{op.owner} holds {held} of the {op.quantity} serials {op.first}..{op.last}", "owner"
        )


def _check_recipient(op: AssetOperation) -> None:
    if op.action == "transfer":
        if not op.recipient:
            raise RecipientRequired("a transfer names its recipient", "recipient")
        if op.recipient == op.owner:
            raise RecipientIsOwner("a transfer to its own owner moves nothing", "recipient")
    elif op.recipient:
        raise RecipientNotAllowed(f"a {op.action} has no recipient; it must be empty", "recipient")


def _check(state: LotState | None, op: AssetOperation) -> None:
    """Raise the first rule ``op`` breaks against ``state`` (the module doc gives the order)."""
    if op.action == "issue":
        _check_issue(state, op)
        return
    if state is None:
        raise UnknownAsset(f"lot {op.asset} has not been issued", "asset")
    if op.prev != state.head:
        raise StalePrev(
            f"prev is 0x{op.prev.hex()}, the lot's last operation is 0x{state.head.hex()}", "prev"
        )
    _check_terms(state, op)
    if op.first > op.last:
        raise RangeInvalid(f"first {op.first} is after last {op.last}", "last")
    if op.first < state.first or op.last > state.last:
        field = "first" if op.first < state.first else "last"
        raise RangeOutsideLot(
            f"{op.first}..{op.last} is not within the lot's {state.first}..{state.last}", field
        )
    _check_holding(state, op)
    _check_recipient(op)


def _merge(ranges: list[SerialRange]) -> tuple[SerialRange, ...]:
    merged: list[SerialRange] = []
    for r in ranges:
        if merged and (merged[-1].status, merged[-1].holder) == (r.status, r.holder):
            merged[-1] = merged[-1]._replace(last=r.last)
        else:
            merged.append(r)
    return tuple(merged)


def _reassign(state: LotState, first: int, last: int, status: str, holder: str) -> LotState:
    """``state`` with serials ``first..last`` given ``status`` and ``holder``."""
    out: list[SerialRange] = []
    for r in state.ranges:
        if r.last < first or r.first > last:
            out.append(r)
            continue
        if r.first < first:
            out.append(r._replace(last=first - 1))
        out.append(SerialRange(max(r.first, first), min(r.last, last), status, holder))
        if r.last > last:
            out.append(r._replace(first=last + 1))
    return replace(state, ranges=_merge(out))


def apply(state: LotState | None, op: AssetOperation, digest: bytes) -> LotState:
    """The lot after ``op`` (whose EIP-712 digest is ``digest``), or the first broken rule
    raised as an :class:`~verifier.errors.AssetRuleError` subclass. ``state`` is None before
    the lot's issue. Signatures are not this function's concern: check them first."""
    if not isinstance(digest, bytes) or len(digest) != 32:
        raise ValueError("digest must be 32 bytes")
    _check(state, op)
    if state is None:  # an issue, as _check has established
        return LotState(
            asset=op.asset,
            program=op.program,
            vintage=op.vintage,
            serial_prefix=op.serial_prefix,
            first=op.first,
            last=op.last,
            head=digest,
            operations=1,
            ranges=(SerialRange(op.first, op.last, HELD, op.owner),),
        )
    holder = op.recipient if op.action == "transfer" else op.owner
    after = _reassign(state, op.first, op.last, _STATUS_AFTER[op.action], holder)
    return replace(after, head=digest, operations=state.operations + 1)


def journal_lines(state_before: LotState | None, op: AssetOperation) -> tuple[JournalLine, ...]:
    """The double-entry lines of ``op`` (they sum to zero), after checking it applies to
    ``state_before`` exactly as :func:`apply` would; a broken rule is raised the same way."""
    _check(state_before, op)
    q, owner = op.quantity, op.owner
    source, target = {
        "issue": (f"registry:{op.program}", f"holding:{owner}"),
        "transfer": (f"holding:{owner}", f"holding:{op.recipient}"),
        "retire": (f"holding:{owner}", f"retired:{owner}"),
        "surrender": (f"holding:{owner}", f"surrendered:{owner}"),
    }[op.action]
    return (JournalLine(source, -q), JournalLine(target, q))


def holdings(state: LotState) -> dict[str, int]:
    """Held (not retired, not surrendered) quantity per holder, sorted by holder."""
    held: dict[str, int] = defaultdict(int)
    for r in state.ranges:
        if r.status == HELD:
            held[r.holder] += r.quantity
    return dict(sorted(held.items()))


def balances(state: LotState) -> dict[str, int]:
    """Every non-zero account balance the lot's journal adds up to, sorted by account:
    ``registry:<program>`` (minus the issued quantity), ``holding:``, ``retired:`` and
    ``surrendered:`` per enterprise. The sum of all the history's journal lines equals it."""
    totals: dict[str, int] = defaultdict(int)
    totals[f"registry:{state.program}"] = -state.quantity
    prefix = {HELD: "holding", RETIRED: "retired", SURRENDERED: "surrendered"}
    for r in state.ranges:
        totals[f"{prefix[r.status]}:{r.holder}"] += r.quantity
    return dict(sorted(totals.items()))


def replay(ops: Sequence[tuple[AssetOperation, bytes]]) -> LotState:
    """Apply ``(operation, digest)`` pairs in order from the issue; the first broken rule is
    raised. An empty history is a ValueError: there is no lot to return."""
    state: LotState | None = None
    for op, digest in ops:
        state = apply(state, op, digest)
    if state is None:
        raise ValueError("a lot's history starts with its issue; none was given")
    return state
