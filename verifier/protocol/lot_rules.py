"""The rules of a carbon-asset lot, as pure functions shared by the ledger and the verifier.

A lot's state is the result of replaying its signed operations in order from its ``issue``:
:func:`apply` takes the state before an operation (``None`` before the issue) and returns the
state after it, or raises an :class:`~verifier.errors.AssetRuleError` subclass whose ``code``
names the broken rule. The ledger calls :func:`apply` before it accepts an operation, and a
verifier calls :func:`replay` on the operations a bundle discloses: both must reach the same
verdict from the same bytes, so nothing here reads a clock, a database or the chain.

These are the rules of version :data:`LOT_RULES_VERSION` (2). Version 1 moved transferred
serials to the recipient at once, so anyone could push units into another enterprise's
holdings; since version 2 a transfer leaves them *pending* until the recipient signs an
``accept`` (or ``reject``, which returns them to the sender), and the sender may ``reclaim`` them
while they are still pending. Only held serials are holdings.

Rules are checked in this order; the first broken one is raised.

* ``issue``: ``asset_exists``, ``prev_not_zero``, ``recipient_not_allowed``, ``range_invalid``,
  ``non_canonical_serial_prefix`` (:func:`check_serial_prefix`).
* otherwise: ``unknown_asset``, ``stale_prev``, ``terms_mismatch``, ``range_invalid``,
  ``range_outside_lot``, ``already_retired``, then
  ``transfer_pending`` and ``insufficient_holding`` (transfer, retire, surrender) or
  ``not_pending`` (accept, reject: pending *to* the owner; reclaim: pending *from* it), then
  ``recipient_required`` / ``recipient_is_owner`` (transfer) or ``recipient_not_allowed``
  (every other action).

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
    "LOT_RULES_VERSION",
    "PENDING",
    "RETIRED",
    "RULES_VERSIONS",
    "RULE_CODES",
    "STATUSES",
    "SURRENDERED",
    "AlreadyRetired",
    "AssetExists",
    "AssetRuleError",
    "InsufficientHolding",
    "JournalLine",
    "LotState",
    "NotPending",
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
    "TransferPending",
    "UnknownAsset",
    "apply",
    "balances",
    "check_serial_prefix",
    "holdings",
    "journal_lines",
    "pending",
    "ranges_within",
    "replay",
]

#: The rules this module implements; an asset proof bundle of version 2 replays under them.
LOT_RULES_VERSION = 2
#: Versions :func:`apply` can replay. Rules 1 only so that the ledger can still read lots it
#: stored under them; no verifier accepts a proof replayed under rules 1.
RULES_VERSIONS = (1, 2)

HELD, PENDING, RETIRED, SURRENDERED = "held", "pending", "retired", "surrendered"
STATUSES: tuple[str, ...] = (HELD, PENDING, RETIRED, SURRENDERED)
_SPENT = (RETIRED, SURRENDERED)


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


class TransferPending(AssetRuleError):
    code = "transfer_pending"


class NotPending(AssetRuleError):
    code = "not_pending"


class SerialPrefixNotCanonical(AssetRuleError):
    """The serial prefix is not written in its one canonical form (see
    :func:`check_serial_prefix`)."""

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
        SerialPrefixNotCanonical,
        TransferPending,
        NotPending,
    )
)


# --- state ----------------------------------------------------------------------------------


class SerialRange(NamedTuple):
    """Serials ``first..last`` (inclusive), all with one status and one holder (the enterprise
    holding them, the one they await acceptance by, or the one that retired or surrendered
    them). ``origin`` is the sender of pending serials, to whom a reject or reclaim returns
    them; ``""`` for every other status."""

    first: int
    last: int
    status: str
    holder: str
    origin: str = ""

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
                | ({"origin": r.origin} if r.status == PENDING else {})
                for r in self.ranges
            ],
        }


def _owner_key(r: SerialRange) -> tuple[str, str, str]:
    return r.status, r.holder, r.origin


def _check_cover(ranges: tuple[SerialRange, ...], first: int, last: int) -> None:
    """Raise ValueError unless ``ranges`` is the one canonical cover of ``first..last``."""
    expected = first
    for i, r in enumerate(ranges):
        if r.status not in STATUSES:
            raise ValueError(f"ranges[{i}]: unknown status {r.status!r}")
        if bool(r.origin) != (r.status == PENDING):
            raise ValueError(f"ranges[{i}]: pending serials, and only they, have an origin")
        if r.first != expected or r.last < r.first:
            raise ValueError(f"ranges[{i}] does not continue the cover at serial {expected}")
        if i and _owner_key(r) == _owner_key(ranges[i - 1]):
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
    """The serials an operation moves or spends are all held by its owner."""
    touched = ranges_within(state, op.first, op.last)
    spent = next((r for r in touched if r.status in _SPENT), None)
    if spent is not None:
        raise AlreadyRetired(f"serials {spent.first}..{spent.last} are {spent.status}", "first")
    if op.action in ("accept", "reject", "reclaim"):
        _check_pending(touched, op)
        return
    waiting = next((r for r in touched if r.status == PENDING), None)
    if waiting is not None:
        raise TransferPending(
            f"serials {waiting.first}..{waiting.last} await acceptance by {waiting.holder}", "first"
        )
    held = sum(r.quantity for r in touched if r.holder == op.owner)
    if held != op.quantity:
        raise InsufficientHolding(
            f"{op.owner} holds {held} of the {op.quantity} serials {op.first}..{op.last}", "owner"
        )


def _check_pending(touched: tuple[SerialRange, ...], op: AssetOperation) -> None:
    """Accept and reject take serials pending *to* the owner; reclaim those pending *from* it."""
    side = "origin" if op.action == "reclaim" else "holder"
    mine = sum(r.quantity for r in touched if r.status == PENDING and getattr(r, side) == op.owner)
    if mine != op.quantity:
        way = "from" if side == "origin" else "to"
        raise NotPending(
            f"{mine} of the {op.quantity} serials {op.first}..{op.last} are pending {way} "
            f"{op.owner}",
            "first",
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
        raise UnknownAsset("the lot has not been issued", "asset")
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
        if merged and _owner_key(merged[-1]) == _owner_key(r):
            merged[-1] = merged[-1]._replace(last=r.last)
        else:
            merged.append(r)
    return tuple(merged)


def _after(op: AssetOperation, piece: SerialRange, rules: int) -> SerialRange:
    """What ``op`` makes of one piece of its range (already checked)."""
    if op.action == "transfer" and rules == 1:  # delivered at once, as rules 1 had it
        return piece._replace(holder=op.recipient)
    if op.action == "transfer":
        return piece._replace(status=PENDING, holder=op.recipient, origin=op.owner)
    if op.action == "accept":
        return piece._replace(status=HELD, origin="")
    if op.action == "reject":
        return piece._replace(status=HELD, holder=piece.origin, origin="")
    if op.action == "reclaim":
        return piece._replace(status=HELD, holder=op.owner, origin="")
    status = RETIRED if op.action == "retire" else SURRENDERED
    return piece._replace(status=status)


def _reassign(state: LotState, op: AssetOperation, rules: int) -> LotState:
    """``state`` with each piece of ``op``'s serials as :func:`_after` makes it."""
    out: list[SerialRange] = []
    for r in state.ranges:
        if r.last < op.first or r.first > op.last:
            out.append(r)
            continue
        if r.first < op.first:
            out.append(r._replace(last=op.first - 1))
        piece = r._replace(first=max(r.first, op.first), last=min(r.last, op.last))
        out.append(_after(op, piece, rules))
        if r.last > op.last:
            out.append(r._replace(first=op.last + 1))
    return replace(state, ranges=_merge(out))


def apply(
    state: LotState | None, op: AssetOperation, digest: bytes, rules: int = LOT_RULES_VERSION
) -> LotState:
    """The lot after ``op`` (whose EIP-712 digest is ``digest``), or the first broken rule
    raised as an :class:`~verifier.errors.AssetRuleError` subclass. ``state`` is None before
    the lot's issue. Signatures are not this function's concern: check them first.
    ``rules`` 1 replays a lot stored under those rules (transfers delivered at once, no
    accept, reject or reclaim)."""
    if not isinstance(digest, bytes) or len(digest) != 32:
        raise ValueError("digest must be 32 bytes")
    if rules not in RULES_VERSIONS:
        raise ValueError(f"lot rules {rules} are not known")
    if rules == 1 and op.action in ("accept", "reject", "reclaim"):
        raise ValueError(f"lot rules 1 have no {op.action}")
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
    after = _reassign(state, op, rules)
    return replace(after, head=digest, operations=state.operations + 1)


def _per(pieces: tuple[SerialRange, ...], side: str, prefix: str, sign: int) -> list[JournalLine]:
    """One line per distinct holder (or origin) of ``pieces``, in serial order."""
    totals: dict[str, int] = {}
    for r in pieces:
        name = getattr(r, side)
        totals[name] = totals.get(name, 0) + r.quantity
    return [JournalLine(f"{prefix}:{name}", sign * q) for name, q in totals.items()]


def journal_lines(state_before: LotState | None, op: AssetOperation) -> tuple[JournalLine, ...]:
    """The double-entry lines of ``op`` (they sum to zero), after checking it applies to
    ``state_before`` exactly as :func:`apply` would; a broken rule is raised the same way.
    A reject returns serials to each sender, and a reclaim takes them back from each
    recipient, so those two may have more than one line on one side."""
    _check(state_before, op)
    q, owner = op.quantity, op.owner
    if state_before is not None and op.action in ("reject", "reclaim"):
        pieces = ranges_within(state_before, op.first, op.last)
        if op.action == "reject":
            return (JournalLine(f"pending:{owner}", -q), *_per(pieces, "origin", "holding", 1))
        return (*_per(pieces, "holder", "pending", -1), JournalLine(f"holding:{owner}", q))
    source, target = {
        "issue": (f"registry:{op.program}", f"holding:{owner}"),
        "transfer": (f"holding:{owner}", f"pending:{op.recipient}"),
        "accept": (f"pending:{owner}", f"holding:{owner}"),
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


def pending(state: LotState) -> dict[str, int]:
    """Quantity awaiting acceptance per recipient, sorted by recipient; never a holding."""
    waiting: dict[str, int] = defaultdict(int)
    for r in state.ranges:
        if r.status == PENDING:
            waiting[r.holder] += r.quantity
    return dict(sorted(waiting.items()))


def balances(state: LotState) -> dict[str, int]:
    """Every non-zero account balance the lot's journal adds up to, sorted by account:
    ``registry:<program>`` (minus the issued quantity), ``holding:``, ``pending:`` (awaiting
    acceptance by), ``retired:`` and ``surrendered:`` per enterprise. The sum of all the
    history's journal lines equals it."""
    totals: dict[str, int] = defaultdict(int)
    totals[f"registry:{state.program}"] = -state.quantity
    prefix = {HELD: "holding", PENDING: "pending", RETIRED: "retired", SURRENDERED: "surrendered"}
    for r in state.ranges:
        totals[f"{prefix[r.status]}:{r.holder}"] += r.quantity
    return dict(sorted(totals.items()))


def replay(ops: Sequence[tuple[AssetOperation, bytes]], rules: int = LOT_RULES_VERSION) -> LotState:
    """Apply ``(operation, digest)`` pairs in order from the issue under ``rules``; the first
    broken rule is raised. An empty history is a ValueError: there is no lot to return."""
    state: LotState | None = None
    for op, digest in ops:
        state = apply(state, op, digest, rules)
    if state is None:
        raise ValueError("a lot's history starts with its issue; none was given")
    return state
