"""Issue 15, item 5, on the verifier's side: a lot proves a holding only if its issue was signed
by the key an anchored event names as the programme's issuer, and serials sent to an enterprise
are its holding only once it signed their acceptance. Each attack is a real, signed, anchored
bundle that the previous rules (bundle v1) would have passed."""

from __future__ import annotations

from dataclasses import replace

from coincurve import PrivateKey
from eth_account.signers.local import LocalAccount

from anchoring.anchor_contract import AnchorContract
from tests.verifier.asset_bundle_factory import (
    ENTERPRISE_A,
    ENTERPRISE_B,
    KEPT_BY_A,
    PROGRAM,
    RETIRE_AT,
    RETIRE_FIRST,
    RETIRE_LAST,
    TRANSFER_FIRST,
    TRANSFER_LAST,
    IssuerSet,
    Op,
    Step,
    build_case,
    fails,
    holding_claim,
    offline,
    retirement_claim,
    standard_history,
    tamper,
    with_claim,
)
from tests.verifier.record_bundle_factory import address_of, new_key

MOVED = TRANSFER_LAST - TRANSFER_FIRST + 1


def _issue_signed_by(batches: list[list[Step]], key: PrivateKey) -> None:
    issue = batches[0][-1]
    assert isinstance(issue, Op) and issue.action == "issue"
    batches[0][-1] = replace(issue, key=key)


def test_a_self_signed_issue_is_refused(
    anchor: AnchorContract, operator_account: LocalAccount
) -> None:
    """The inflation attack: an enterprise mints its own lot with its own registered key."""
    key_a = new_key()
    batches = standard_history(key_a, new_key())
    _issue_signed_by(batches, key_a)
    case = build_case(anchor, operator_account, batches, KEPT_BY_A)
    reason = fails(case.bundle, "IssuerNotAuthorised").reason
    assert "operations[0] (issue" in reason and address_of(key_a) in reason
    assert f"program.issuer_set event of {PROGRAM}" in reason


def test_the_issuer_of_another_programme_cannot_issue(
    anchor: AnchorContract, operator_account: LocalAccount
) -> None:
    ccer = new_key()
    batches = standard_history(new_key(), new_key())
    batches[0].insert(0, IssuerSet("CCER", ccer))
    _issue_signed_by(batches, ccer)
    case = build_case(anchor, operator_account, batches, KEPT_BY_A)
    assert address_of(ccer) in fails(case.bundle, "IssuerNotAuthorised").reason


def test_a_withheld_issuer_event_fails(
    anchor: AnchorContract, operator_account: LocalAccount
) -> None:
    case = build_case(anchor, operator_account, standard_history(new_key(), new_key()), KEPT_BY_A)
    assert case.bundle.signers[0].event["type"] == "program.issuer_set"
    fails(tamper(case.bundle, lambda d: d["signers"].pop(0)), "IssuerNotAuthorised")


def test_an_issuer_event_moved_to_another_programme_fails(
    anchor: AnchorContract, operator_account: LocalAccount
) -> None:
    case = build_case(anchor, operator_account, standard_history(new_key(), new_key()), KEPT_BY_A)
    moved = tamper(case.bundle, lambda d: d["signers"][0]["event"].update(subject="CCER"))
    fails(moved, "SignerEventInvalid")


def test_unaccepted_serials_are_nobodys_holding(
    anchor: AnchorContract, operator_account: LocalAccount
) -> None:
    """A sends B serials B never accepted: B does not hold them, and A no longer does."""
    batches = standard_history(new_key(), new_key())[:2]
    claim = holding_claim(ENTERPRISE_B, TRANSFER_FIRST, TRANSFER_LAST)
    case = build_case(anchor, operator_account, batches, claim)
    reason = fails(case.bundle, "ClaimNotHeld").reason
    assert f"{ENTERPRISE_B} holds 0 of the {MOVED} serials" in reason
    kept = offline(tamper(case.bundle, with_claim(KEPT_BY_A)))
    assert kept.valid and kept.asset is not None
    assert kept.asset.pending == {ENTERPRISE_B: MOVED}
    assert ENTERPRISE_B not in kept.asset.holdings


def test_unaccepted_serials_cannot_be_retired(
    anchor: AnchorContract, operator_account: LocalAccount
) -> None:
    batches = standard_history(new_key(), new_key())
    del batches[2]  # no accept
    case = build_case(anchor, operator_account, batches, KEPT_BY_A)
    failure = fails(case.bundle, "ReplayRejected")
    assert (failure.rule, failure.index) == ("transfer_pending", RETIRE_AT - 1)


def test_an_accept_signed_by_the_sender_is_refused(
    anchor: AnchorContract, operator_account: LocalAccount
) -> None:
    """The sender (or the operator with its key) cannot accept on the recipient's behalf."""
    key_a = new_key()
    batches = standard_history(key_a, new_key())
    accept = batches[2][0]
    assert isinstance(accept, Op) and accept.action == "accept"
    batches[2] = [replace(accept, key=key_a)]
    case = build_case(anchor, operator_account, batches, KEPT_BY_A)
    reason = fails(case.bundle, "SignerNotAuthorised").reason
    assert "operations[2] (accept" in reason and ENTERPRISE_B in reason


def test_a_rejected_transfer_returns_to_the_sender(
    anchor: AnchorContract, operator_account: LocalAccount
) -> None:
    batches = standard_history(new_key(), new_key())[:2]
    batches.append([Op("reject", ENTERPRISE_B, TRANSFER_FIRST, TRANSFER_LAST)])
    everything = holding_claim(ENTERPRISE_A, TRANSFER_FIRST, TRANSFER_LAST)
    case = build_case(anchor, operator_account, batches, everything)
    result = offline(case.bundle)
    assert result.valid, result.failure
    assert result.asset is not None and result.asset.pending == {}


def test_a_retirement_of_accepted_serials_verifies(
    anchor: AnchorContract, operator_account: LocalAccount
) -> None:
    batches = standard_history(new_key(), new_key())
    case = build_case(anchor, operator_account, batches, KEPT_BY_A)
    claim = retirement_claim(ENTERPRISE_B, RETIRE_FIRST, RETIRE_LAST, case.digests[RETIRE_AT])
    assert offline(tamper(case.bundle, with_claim(claim))).valid
