"""The lot's rules: each code raised where it should be, the state and journal each operation
leaves, and properties of random histories (cover, conservation, retirement is final, nothing
sent is held before it is accepted)."""

from __future__ import annotations

from collections import Counter
from dataclasses import replace
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from verifier.protocol.asset_ops import AssetOperation
from verifier.protocol.keccak import keccak256
from verifier.protocol.lot_rules import (
    HELD,
    PENDING,
    RETIRED,
    RULE_CODES,
    SURRENDERED,
    AssetRuleError,
    JournalLine,
    LotState,
    SerialRange,
    apply,
    balances,
    holdings,
    journal_lines,
    pending,
    ranges_within,
    replay,
)

A, B, C = "ENT-A", "ENT-B", "ENT-C"
FIRST, LAST = 101, 200  # 100 serials


def digest_of(n: int) -> bytes:
    """A stand-in digest: the rules only compare digests, they never recompute them."""
    return keccak256(n.to_bytes(8, "big"))


def op(action: str, owner: str, first: int, last: int, prev: bytes, **more: Any) -> AssetOperation:
    fields: dict[str, Any] = {
        "action": action,
        "asset": "LOT-1",
        "program": "CCER",
        "vintage": 2024,
        "serial_prefix": "CN-CCER-",
        "first": first,
        "last": last,
        "owner": owner,
        "recipient": "",
        "prev": prev,
        "reference": "",
        "timestamp": 1_700_000_000,
    }
    return AssetOperation(**(fields | more))


ISSUE = op("issue", A, FIRST, LAST, bytes(32))
ISSUED = apply(None, ISSUE, digest_of(1))


def transfer(state: LotState, owner: str, to: str, first: int, last: int) -> AssetOperation:
    return op("transfer", owner, first, last, state.head, recipient=to)


def deliver(state: LotState, owner: str, to: str, first: int, last: int, n: int) -> LotState:
    """``owner`` sends ``to`` the serials (digest n) and ``to`` accepts them (digest n + 1)."""
    sent = apply(state, transfer(state, owner, to, first, last), digest_of(n))
    return apply(sent, op("accept", to, first, last, sent.head), digest_of(n + 1))


def rule(state: LotState | None, operation: AssetOperation) -> tuple[str, str]:
    with pytest.raises(AssetRuleError) as caught:
        apply(state, operation, digest_of(99))
    with pytest.raises(type(caught.value)):  # journal_lines checks exactly as apply does
        journal_lines(state, operation)
    return caught.value.code, caught.value.field


# --- the state each operation leaves ----------------------------------------------------------


def test_issue_makes_one_held_range() -> None:
    assert ISSUED.ranges == (SerialRange(FIRST, LAST, HELD, A),)
    assert (ISSUED.head, ISSUED.operations, ISSUED.quantity) == (digest_of(1), 1, LAST - FIRST + 1)
    assert holdings(ISSUED) == {A: LAST - FIRST + 1}


def test_a_transfer_is_pending_until_accepted() -> None:
    sent = apply(ISSUED, transfer(ISSUED, A, B, 121, 150), digest_of(2))
    assert sent.ranges == (
        SerialRange(FIRST, 120, HELD, A),
        SerialRange(121, 150, PENDING, B, A),
        SerialRange(151, LAST, HELD, A),
    )
    assert holdings(sent) == {A: (LAST - FIRST + 1) - 30}  # B holds nothing yet
    assert pending(sent) == {B: 30}
    accepted = apply(sent, op("accept", B, 121, 150, sent.head), digest_of(3))
    assert accepted.ranges[1] == SerialRange(121, 150, HELD, B)
    assert (holdings(accepted), pending(accepted)) == ({A: 70, B: 30}, {})


def test_reject_and_reclaim_return_serials_to_the_sender() -> None:
    sent = apply(ISSUED, transfer(ISSUED, A, B, 121, 150), digest_of(2))
    rejected = apply(sent, op("reject", B, 121, 150, sent.head), digest_of(3))
    reclaimed = apply(sent, op("reclaim", A, 121, 150, sent.head), digest_of(3))
    assert rejected.ranges == reclaimed.ranges == ISSUED.ranges
    partly = apply(sent, op("accept", B, 121, 130, sent.head), digest_of(3))
    back = apply(partly, op("reclaim", A, 131, 150, partly.head), digest_of(4))
    assert back.ranges == (
        SerialRange(FIRST, 120, HELD, A),
        SerialRange(121, 130, HELD, B),
        SerialRange(131, LAST, HELD, A),
    )


def test_transfer_retire_surrender_split_and_merge_ranges() -> None:
    after_transfer = deliver(ISSUED, A, B, 121, 150, 2)
    assert after_transfer.ranges == (
        SerialRange(FIRST, 120, HELD, A),
        SerialRange(121, 150, HELD, B),
        SerialRange(151, LAST, HELD, A),
    )
    retired = apply(after_transfer, op("retire", B, 121, 130, digest_of(3)), digest_of(4))
    surrendered = apply(retired, op("surrender", A, 151, 160, digest_of(4)), digest_of(5))
    back = deliver(surrendered, B, A, 131, 150, 6)
    # B's 131..150 returns to A and merges with A's 101..120 on its left.
    assert back.ranges == (
        SerialRange(FIRST, 120, HELD, A),
        SerialRange(121, 130, RETIRED, B),
        SerialRange(131, 150, HELD, A),
        SerialRange(151, 160, SURRENDERED, A),
        SerialRange(161, LAST, HELD, A),
    )
    assert back.operations == 7 and back.head == digest_of(7)
    held_by_a = (120 - FIRST + 1) + (150 - 131 + 1) + (LAST - 161 + 1)
    assert holdings(back) == {A: held_by_a}
    assert balances(back) == {
        "holding:ENT-A": held_by_a,
        "registry:CCER": -(LAST - FIRST + 1),
        "retired:ENT-B": 130 - 121 + 1,
        "surrendered:ENT-A": 160 - 151 + 1,
    }


def test_transfer_back_merges_into_one_range() -> None:
    there = deliver(ISSUED, A, B, 150, 160, 2)
    back = deliver(there, B, A, 150, 160, 4)
    assert back.ranges == ISSUED.ranges


def test_ranges_within_cuts_to_the_range() -> None:
    there = deliver(ISSUED, A, B, 150, 160, 2)
    assert ranges_within(there, 155, 170) == (
        SerialRange(155, 160, HELD, B),
        SerialRange(161, 170, HELD, A),
    )
    assert ranges_within(there, 1, 50) == ()


@pytest.mark.parametrize(
    ("action", "recipient", "expected"),
    [
        ("transfer", B, [("holding:ENT-A", -10), ("pending:ENT-B", 10)]),
        ("retire", "", [("holding:ENT-A", -10), ("retired:ENT-A", 10)]),
        ("surrender", "", [("holding:ENT-A", -10), ("surrendered:ENT-A", 10)]),
    ],
)
def test_journal_lines(action: str, recipient: str, expected: list[tuple[str, int]]) -> None:
    operation = op(action, A, 111, 120, ISSUED.head, recipient=recipient)  # 10 serials
    assert journal_lines(ISSUED, operation) == tuple(JournalLine(*line) for line in expected)


def test_journal_lines_of_accept_reject_reclaim() -> None:
    """C is offered 101..105 by A and 106..110 by B; a reject returns each part to its sender,
    a reclaim takes back what one sender offered."""
    to_c = apply(ISSUED, transfer(ISSUED, A, C, 101, 105), digest_of(2))
    at_b = deliver(to_c, A, B, 106, 110, 3)
    both = apply(at_b, transfer(at_b, B, C, 106, 110), digest_of(5))
    assert journal_lines(both, op("reject", C, 101, 110, both.head)) == (
        JournalLine("pending:ENT-C", -10),
        JournalLine("holding:ENT-A", 5),
        JournalLine("holding:ENT-B", 5),
    )
    assert journal_lines(both, op("accept", C, 101, 110, both.head)) == (
        JournalLine("pending:ENT-C", -10),
        JournalLine("holding:ENT-C", 10),
    )
    assert journal_lines(both, op("reclaim", B, 106, 110, both.head)) == (
        JournalLine("pending:ENT-C", -5),
        JournalLine("holding:ENT-B", 5),
    )


def test_journal_lines_of_issue() -> None:
    quantity = LAST - FIRST + 1
    assert journal_lines(None, ISSUE) == (
        JournalLine("registry:CCER", -quantity),
        JournalLine("holding:ENT-A", quantity),
    )


def test_replay_is_apply_in_order() -> None:
    second = transfer(ISSUED, A, B, 101, 110)
    assert replay([(ISSUE, digest_of(1)), (second, digest_of(2))]) == apply(
        ISSUED, second, digest_of(2)
    )
    with pytest.raises(ValueError, match="starts with its issue"):
        replay([])


def test_lot_state_refuses_a_broken_cover() -> None:
    fields = {**ISSUED.__dict__}
    for ranges in (
        (SerialRange(FIRST, 150, HELD, A),),  # a gap at the end
        (SerialRange(FIRST, 150, HELD, A), SerialRange(152, LAST, HELD, B)),  # a hole
        (SerialRange(FIRST, 150, HELD, A), SerialRange(151, LAST, HELD, A)),  # not merged
        (SerialRange(FIRST, LAST, "lost", A),),
    ):
        with pytest.raises(ValueError):
            LotState(**(fields | {"ranges": ranges}))


def test_apply_refuses_a_bad_digest() -> None:
    with pytest.raises(ValueError):
        apply(None, ISSUE, b"short")


# --- every rule, by its code ------------------------------------------------------------------


def test_issue_rules() -> None:
    assert rule(ISSUED, ISSUE) == ("asset_exists", "asset")
    assert rule(None, replace(ISSUE, prev=digest_of(7))) == ("prev_not_zero", "prev")
    assert rule(None, replace(ISSUE, recipient=B)) == ("recipient_not_allowed", "recipient")
    assert rule(None, replace(ISSUE, first=LAST, last=FIRST)) == ("range_invalid", "last")


def test_unknown_asset() -> None:
    assert rule(None, transfer(ISSUED, A, B, 101, 110)) == ("unknown_asset", "asset")


def test_stale_prev_stops_replays() -> None:
    once = transfer(ISSUED, A, B, 101, 110)
    after = apply(ISSUED, once, digest_of(2))
    assert rule(after, once) == ("stale_prev", "prev")  # the same signed op a second time
    assert rule(ISSUED, replace(once, prev=bytes(32))) == ("stale_prev", "prev")


@pytest.mark.parametrize(
    ("field", "value", "name"),
    [
        ("asset", "LOT-2", "asset"),
        ("program", "CEA", "program"),
        ("vintage", 2025, "vintage"),
        ("serial_prefix", "CN-CEA-", "serialPrefix"),
    ],
)
def test_terms_mismatch(field: str, value: Any, name: str) -> None:
    changed = replace(transfer(ISSUED, A, B, 101, 110), **{field: value})
    assert rule(ISSUED, changed) == ("terms_mismatch", name)


def test_range_rules() -> None:
    assert rule(ISSUED, transfer(ISSUED, A, B, 120, 110)) == ("range_invalid", "last")
    assert rule(ISSUED, transfer(ISSUED, A, B, FIRST - 1, 110)) == ("range_outside_lot", "first")
    assert rule(ISSUED, transfer(ISSUED, A, B, 190, LAST + 1)) == ("range_outside_lot", "last")


def test_already_retired_serials_never_move() -> None:
    retired = apply(ISSUED, op("retire", A, 101, 110, ISSUED.head), digest_of(2))
    for action, recipient in (("transfer", B), ("retire", ""), ("surrender", "")):
        again = op(action, A, 105, 115, retired.head, recipient=recipient)
        assert rule(retired, again) == ("already_retired", "first")


def test_insufficient_holding() -> None:
    moved = deliver(ISSUED, A, B, 101, 140, 2)  # B holds 40
    beyond = transfer(moved, B, C, 101, 141)  # 41 serials, one of them A's
    assert rule(moved, beyond) == ("insufficient_holding", "owner")
    assert rule(moved, op("retire", C, 101, 101, moved.head)) == ("insufficient_holding", "owner")


def test_pending_serials_move_only_by_accept_reject_or_reclaim() -> None:
    sent = apply(ISSUED, transfer(ISSUED, A, B, 101, 110), digest_of(2))
    for owner, action, recipient in (
        (B, "transfer", C),  # B does not hold them yet
        (B, "retire", ""),
        (A, "transfer", C),  # nor does A any more
        (A, "surrender", ""),
    ):
        moving = op(action, owner, 105, 115, sent.head, recipient=recipient)
        assert rule(sent, moving) == ("transfer_pending", "first")


def test_not_pending() -> None:
    sent = apply(ISSUED, transfer(ISSUED, A, B, 101, 110), digest_of(2))
    assert rule(sent, op("accept", C, 101, 110, sent.head)) == ("not_pending", "first")
    assert rule(sent, op("accept", B, 101, 111, sent.head)) == ("not_pending", "first")
    assert rule(sent, op("reject", A, 101, 110, sent.head)) == ("not_pending", "first")
    assert rule(sent, op("reclaim", B, 101, 110, sent.head)) == ("not_pending", "first")
    assert rule(ISSUED, op("accept", A, 101, 110, ISSUED.head)) == ("not_pending", "first")
    accept = op("accept", B, 101, 110, sent.head, recipient=A)
    assert rule(sent, accept) == ("recipient_not_allowed", "recipient")


def test_recipient_rules() -> None:
    assert rule(ISSUED, transfer(ISSUED, A, "", 101, 110)) == ("recipient_required", "recipient")
    assert rule(ISSUED, transfer(ISSUED, A, A, 101, 110)) == ("recipient_is_owner", "recipient")
    for action in ("retire", "surrender"):
        with_recipient = op(action, A, 101, 110, ISSUED.head, recipient=B)
        assert rule(ISSUED, with_recipient) == ("recipient_not_allowed", "recipient")


def test_every_code_is_tested_above() -> None:
    assert sorted(RULE_CODES) == sorted(
        {
            "asset_exists",
            "prev_not_zero",
            "recipient_not_allowed",
            "unknown_asset",
            "stale_prev",
            "terms_mismatch",
            "range_invalid",
            "range_outside_lot",
            "already_retired",
            "insufficient_holding",
            "recipient_required",
            "recipient_is_owner",
            "non_canonical_serial_prefix",  # tests/ledger_api/assets/test_serials_and_lot_ids.py
            "transfer_pending",
            "not_pending",
        }
    )


def test_rule_error_carries_code_message_and_field() -> None:
    with pytest.raises(AssetRuleError) as caught:
        apply(ISSUED, transfer(ISSUED, A, A, 101, 110), digest_of(2))
    error = caught.value
    assert (error.code, error.field) == ("recipient_is_owner", "recipient")
    assert str(error) == f"recipient_is_owner: {error.message}"


# --- random histories -------------------------------------------------------------------------

HOLDERS = (A, B, C)
SMALL_FIRST, SMALL_LAST = 10, 41  # 32 serials, so random ranges overlap often

intents = st.lists(
    st.tuples(
        st.sampled_from(
            ("transfer", "transfer", "accept", "accept", "reject", "reclaim", "retire", "surrender")
        ),
        # None: whoever may act on ``first`` (its holder, or for reclaim its sender)
        st.one_of(st.none(), st.sampled_from(HOLDERS)),
        st.sampled_from(HOLDERS),
        st.integers(SMALL_FIRST - 2, SMALL_LAST + 2),
        st.integers(0, 8),
        st.integers(0, 9),  # 0: sign over a stale prev
    ),
    max_size=40,
)


def _invariants(
    state: LotState, journal: Counter[str], retired: dict[int, tuple[str, str]]
) -> None:
    serials = [s for r in state.ranges for s in range(r.first, r.last + 1)]
    assert serials == list(range(SMALL_FIRST, SMALL_LAST + 1))  # each serial exactly once
    assert sum(journal.values()) == 0
    assert {k: v for k, v in journal.items() if v} == balances(state)
    assert sum(holdings(state).values()) + sum(
        r.quantity for r in state.ranges if r.status != HELD
    ) == (SMALL_LAST - SMALL_FIRST + 1)
    for serial, (status, holder) in retired.items():
        piece = ranges_within(state, serial, serial)[0]
        assert (piece.status, piece.holder) == (status, holder)
    assert {
        k[len("pending:") :]: v for k, v in journal.items() if k.startswith("pending:") and v
    } == (pending(state))


@settings(max_examples=300, deadline=None)
@given(intents)
def test_random_histories_keep_the_invariants(
    steps: list[tuple[str, str | None, str, int, int, int]],
) -> None:
    issue = op("issue", A, SMALL_FIRST, SMALL_LAST, bytes(32))
    state = apply(None, issue, digest_of(0))
    journal: Counter[str] = Counter()
    for line in journal_lines(None, issue):
        journal[line.account] += line.quantity
    retired: dict[int, tuple[str, str]] = {}
    accepted = [(issue, digest_of(0))]
    for n, (action, chosen, other, first, span, stale) in enumerate(steps, start=1):
        at_first = ranges_within(state, first, first)
        piece = at_first[0] if at_first else None
        if piece is None:
            acting = A
        else:
            acting = piece.origin if action == "reclaim" and piece.origin else piece.holder
        owner = chosen or acting
        recipient = other if action == "transfer" else ""
        prev = digest_of(n + 10_000) if stale == 0 else state.head
        candidate = op(action, owner, first, first + span, prev, recipient=recipient)
        try:
            lines = journal_lines(state, candidate)
            after = apply(state, candidate, digest_of(n))
        except AssetRuleError:
            with pytest.raises(AssetRuleError):
                apply(state, candidate, digest_of(n))
            continue
        assert sum(line.quantity for line in lines) == 0
        for line in lines:
            journal[line.account] += line.quantity
        state = after
        accepted.append((candidate, digest_of(n)))
        if action in ("retire", "surrender"):
            status = RETIRED if action == "retire" else SURRENDERED
            retired.update({s: (status, owner) for s in range(first, first + span + 1)})
        _invariants(state, journal, retired)
    assert replay(accepted) == state


def test_rules_1_are_replayed_only_for_lots_stored_under_them() -> None:
    """The ledger still reads a lot written before transfers waited for acceptance; under
    rules 2 the same history stops where the recipient used serials it never accepted."""
    sent = transfer(ISSUED, A, B, 101, 110)
    spent = op("retire", B, 101, 105, digest_of(2))
    history = [(ISSUE, digest_of(1)), (sent, digest_of(2)), (spent, digest_of(3))]
    legacy = replay(history, rules=1)
    assert legacy.ranges[:2] == (SerialRange(101, 105, RETIRED, B), SerialRange(106, 110, HELD, B))
    with pytest.raises(AssetRuleError) as caught:
        replay(history)
    assert caught.value.code == "transfer_pending"
    with pytest.raises(ValueError, match="rules 1 have no accept"):
        apply(ISSUED, op("accept", B, 101, 110, ISSUED.head), digest_of(2), rules=1)
    with pytest.raises(ValueError, match="not known"):
        apply(None, ISSUE, digest_of(1), rules=3)
