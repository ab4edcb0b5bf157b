"""verify_asset against a real chain: holding and retirement claims pass, and each tampering is
caught by the check it targets, named exactly; then the carbon-verify asset command."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from eth_account.signers.local import LocalAccount
from web3 import Web3

from anchoring.anchor_contract import AnchorContract
from anchoring.deployment import deploy
from anchoring.devchain import DevChain
from tests.verifier.asset_bundle_factory import (
    ASSET,
    ENTERPRISE_A,
    ENTERPRISE_B,
    KEPT_BY_A,
    LOT_FIRST,
    LOT_LAST,
    PROGRAM,
    RETIRE_AT,
    RETIRE_FIRST,
    RETIRE_LAST,
    TRANSFER_FIRST,
    TRANSFER_LAST,
    AssetCase,
    Op,
    SignerSet,
    build_case,
    fails,
    holding_claim,
    make_asset_case,
    offline,
    retirement_claim,
    standard_history,
    tamper,
    with_claim,
)
from tests.verifier.failures import is_failure
from tests.verifier.record_bundle_factory import DEV_CHAIN_ID, address_of, new_key, unused_port
from verifier.checks.asset import (
    ASSET_CHECKS,
    parse_asset_bundle,
    verify_asset,
)
from verifier.checks.kernel import ONCHAIN_CHECKS, CheckStatus
from verifier.errors import VerificationFailure
from verifier.protocol.asset_ops import sign_asset_operation
from verifier.protocol.typed_data import SECP256K1_N, Domain
from verifier.rpc import JsonRpcReader, RpcUnavailable

CARBON_VERIFY = Path(sys.executable).parent / "carbon-verify"
ISSUED = LOT_LAST - LOT_FIRST + 1
MOVED = TRANSFER_LAST - TRANSFER_FIRST + 1
RETIRED = RETIRE_LAST - RETIRE_FIRST + 1

Change = Callable[[dict[str, Any]], None]


@pytest.fixture
def rpc(dev_chain: DevChain) -> JsonRpcReader:
    return JsonRpcReader(dev_chain.rpc_url)


@pytest.fixture
def case(anchor: AnchorContract, operator_account: LocalAccount) -> AssetCase:
    return make_asset_case(anchor, operator_account)


def on_op(index: int, field: str, value: Any) -> Change:
    return lambda data: data["operations"][index]["operation"].update({field: value})


# --- valid bundles ----------------------------------------------------------------------------


def test_holding_claim_verifies_online(case: AssetCase, rpc: JsonRpcReader) -> None:
    result = verify_asset(case.bundle, rpc)
    assert result.valid, result.failure
    assert [c.name for c in result.checks] == list(ASSET_CHECKS)
    assert {c.status for c in result.checks} == {CheckStatus.PASSED}
    summary = result.asset
    assert summary is not None
    assert (summary.asset, summary.holder, summary.claim) == (ASSET, ENTERPRISE_A, "holding")
    assert summary.quantity == LOT_LAST - TRANSFER_LAST == ISSUED - MOVED
    assert (summary.operations, summary.head, summary.head_block) == (
        len(case.ops),
        case.digests[-1],
        case.blocks[-1],
    )
    assert summary.holdings == {ENTERPRISE_A: ISSUED - MOVED, ENTERPRISE_B: MOVED - RETIRED}
    assert summary.pending == {}
    assert summary.issuer == address_of(case.keys[f"issuer:{PROGRAM}"])
    assert result.summary is not None
    assert f"issued by CEA issuer key {summary.issuer}" in result.summary
    assert f"as of operation 4 (digest 0x{case.digests[RETIRE_AT].hex()})" in result.summary
    assert result.summary.endswith(f"anchored in block {case.blocks[RETIRE_AT]}")
    report = result.to_json()
    assert report["valid"] is True and report["record"] is None
    assert report["asset"]["claim"]["quantity"] == ISSUED - MOVED


def test_valid_offline_skips_the_chain(case: AssetCase) -> None:
    result = offline(case.bundle)
    assert result.valid and result.offline
    statuses = {c.name: c.status for c in result.checks}
    assert all(statuses[n] is CheckStatus.SKIPPED for n in ONCHAIN_CHECKS)


@pytest.mark.parametrize(
    ("first", "last"),
    [(RETIRE_FIRST, RETIRE_LAST), (RETIRE_FIRST + 49, RETIRE_FIRST + 99)],
)
def test_retirement_claim_verifies(
    case: AssetCase, rpc: JsonRpcReader, first: int, last: int
) -> None:
    claim = retirement_claim(ENTERPRISE_B, first, last, case.digests[RETIRE_AT])
    result = verify_asset(tamper(case.bundle, with_claim(claim)), rpc)
    assert result.valid, result.failure
    assert result.asset is not None and result.asset.quantity == last - first + 1
    assert result.summary is not None and f"retired {last - first + 1} tCO2e" in result.summary


def test_holding_of_the_recipient_verifies(case: AssetCase) -> None:
    kept = holding_claim(ENTERPRISE_B, RETIRE_LAST + 1, TRANSFER_LAST)  # what B did not retire
    assert offline(tamper(case.bundle, with_claim(kept))).valid


def test_a_signer_may_be_rotated(anchor: AnchorContract, operator_account: LocalAccount) -> None:
    """A's new key, named in its own block, signs the transfer: valid."""
    old, new, key_b = new_key(), new_key(), new_key()
    batches = standard_history(old, key_b)
    batches.insert(1, [SignerSet(ENTERPRISE_A, new)])
    case = build_case(anchor, operator_account, batches, KEPT_BY_A)
    assert offline(case.bundle).valid


def test_a_rotation_in_the_same_block_is_accepted(
    anchor: AnchorContract, operator_account: LocalAccount
) -> None:
    """The old key signs in the block that names the new one: no order within a block is
    visible, so the verifier accepts it."""
    old, new, key_b = new_key(), new_key(), new_key()
    batches = standard_history(old, key_b)
    transfer = batches[1][0]
    assert isinstance(transfer, Op)
    batches[1] = [SignerSet(ENTERPRISE_A, new), replace(transfer, key=old)]
    assert offline(build_case(anchor, operator_account, batches, KEPT_BY_A).bundle).valid


# --- checks 1–3: bundle, typed data, signatures -----------------------------------------------


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"format": "carbon-ledger/record-proof"}, "not a carbon-ledger/asset-proof bundle"),
        ({"format": "carbon-ledger/asset-proof", "version": 3}, "unsupported bundle version"),
        # Version 1 replayed transfers without acceptance and took self-signed issues.
        ({"format": "carbon-ledger/asset-proof", "version": 1}, "unsupported bundle version"),
        ({"format": "carbon-ledger/asset-proof", "version": 2}, "claim"),
        ([], "not a carbon-ledger/asset-proof bundle"),
    ],
)
def test_unreadable_bundles(data: Any, message: str) -> None:
    with pytest.raises(VerificationFailure, match=message) as raised:
        parse_asset_bundle(data)
    assert is_failure(raised.value, "BundleInvalid")


def test_bundle_without_operations_is_unreadable(case: AssetCase) -> None:
    data = case.bundle.to_json()
    data["operations"] = []
    with pytest.raises(VerificationFailure, match="operations") as raised:
        parse_asset_bundle(data)
    assert is_failure(raised.value, "BundleInvalid")


def test_malformed_proof_node_is_a_bundle_failure(case: AssetCase) -> None:
    bundle = tamper(case.bundle, lambda d: d["operations"][1]["proof"].__setitem__(0, "0x12"))
    fails(bundle, "BundleInvalid")


def test_domain_of_another_chain(case: AssetCase) -> None:
    bundle = tamper(case.bundle, lambda d: d["domain"].update(chainId=1))
    fails(bundle, "DomainMismatch")


def test_operations_signed_for_another_contract(
    anchor: AnchorContract, operator_account: LocalAccount
) -> None:
    elsewhere = Domain(DEV_CHAIN_ID, "0x" + "42" * 20)
    case = make_asset_case(anchor, operator_account, domain=elsewhere)
    assert "0x4242" in fails(case.bundle, "DomainMismatch").reason


def test_operation_about_another_lot(case: AssetCase) -> None:
    fails(tamper(case.bundle, on_op(2, "asset", ASSET + "-2")), "ForeignOperation")


def test_operation_missing_a_field(case: AssetCase) -> None:
    fails(
        tamper(case.bundle, lambda d: d["operations"][1]["operation"].pop("prev")),
        "TypedDataInvalid",
    )


def test_operation_with_an_out_of_range_field(case: AssetCase) -> None:
    fails(tamper(case.bundle, on_op(0, "vintage", 1999)), "TypedDataInvalid")


def test_malleable_signature(case: AssetCase) -> None:
    sig = case.signatures[0]
    high_s = (SECP256K1_N - int.from_bytes(sig[32:64], "big")).to_bytes(32, "big")
    flipped = "0x" + (sig[:32] + high_s + bytes((55 - sig[64],))).hex()
    bundle = tamper(case.bundle, lambda d: d["operations"][0].update(signature=flipped))
    fails(bundle, "SignatureMalleable")


def test_signature_with_a_bad_recovery_id(case: AssetCase) -> None:
    bad = "0x" + (case.signatures[1][:64] + bytes((29,))).hex()
    fails(
        tamper(case.bundle, lambda d: d["operations"][1].update(signature=bad)),
        "SignatureMalformed",
    )


# --- check 4: signers -------------------------------------------------------------------------


def test_changed_quantity(case: AssetCase) -> None:
    """The signature now recovers some unrelated address, which no signer event names."""
    bundle = tamper(case.bundle, on_op(1, "last", TRANSFER_LAST + 100))
    assert "operations[1]" in fails(bundle, "SignerNotAuthorised").reason


def test_operation_signed_by_a_non_owner_key(case: AssetCase) -> None:
    """B's key is a named signer, but B does not own the serials A transfers."""
    forged = "0x" + sign_asset_operation(case.keys[ENTERPRISE_B], case.domain, case.ops[1]).hex()
    bundle = tamper(case.bundle, lambda d: d["operations"][1].update(signature=forged))
    reason = fails(bundle, "SignerNotAuthorised").reason
    assert address_of(case.keys[ENTERPRISE_B]) in reason and ENTERPRISE_A in reason


def test_a_rotated_away_signer_is_refused(
    anchor: AnchorContract, operator_account: LocalAccount
) -> None:
    old, new, key_b = new_key(), new_key(), new_key()
    batches = standard_history(old, key_b)
    transfer = batches[1][0]
    assert isinstance(transfer, Op)
    batches[1] = [replace(transfer, key=old)]
    batches.insert(1, [SignerSet(ENTERPRISE_A, new)])  # anchored between issue and transfer
    case = build_case(anchor, operator_account, batches, KEPT_BY_A)
    rotation_block = case.bundle.signers[3].anchor.block_number
    assert case.blocks[0] < rotation_block < case.blocks[1]
    reason = fails(case.bundle, "SignerRotatedAway").reason
    assert f"named {address_of(new)} in block {rotation_block}" in reason


def test_a_key_named_only_after_the_operation_is_refused(
    anchor: AnchorContract, operator_account: LocalAccount
) -> None:
    key_a, key_b = new_key(), new_key()
    batches = standard_history(key_a, key_b)
    transfer = batches[1][0]
    assert isinstance(transfer, Op)
    del batches[0][1]  # A's key is not named with the issue …
    batches[1] = [replace(transfer, key=key_a)]
    batches.insert(2, [SignerSet(ENTERPRISE_A, key_a)])  # … but only after A's transfer
    case = build_case(anchor, operator_account, batches, KEPT_BY_A)
    named_in = case.bundle.signers[2].anchor.block_number
    assert f"named only in block {named_in}" in fails(case.bundle, "SignerNotAuthorised").reason


def test_missing_signer_event(case: AssetCase) -> None:
    bundle = tamper(case.bundle, lambda d: d["signers"].pop(2))  # B's
    assert "operations[2]" in fails(bundle, "SignerNotAuthorised").reason


@pytest.mark.parametrize(
    "change",
    [
        lambda e: e.update(signer=e["signer"].lower()),  # not EIP-55: one spelling per key
        lambda e: e.update(subject=ENTERPRISE_B),  # no longer hashes to its leaf
        lambda e: e.update(type="device.registered"),
        lambda e: e.update(format="other"),
    ],
)
def test_rewritten_signer_event(case: AssetCase, change: Callable[[dict[str, Any]], None]) -> None:
    fails(tamper(case.bundle, lambda d: change(d["signers"][0]["event"])), "SignerEventInvalid")


def test_signer_event_with_a_wrong_path(case: AssetCase) -> None:
    bundle = tamper(
        case.bundle, lambda d: d["signers"][0]["proof"].__setitem__(0, "0x" + "ab" * 32)
    )
    assert "signers[0]" in fails(bundle, "SignerEventInvalid").reason


# --- checks 5–7: leaf, path, manifest ---------------------------------------------------------


def test_wrong_leaf_aux(case: AssetCase) -> None:
    bundle = tamper(case.bundle, lambda d: d["operations"][1]["leaf"].update(aux="0x" + "11" * 32))
    fails(bundle, "LeafMismatch")


def test_wrong_proof_node(case: AssetCase) -> None:
    bundle = tamper(
        case.bundle, lambda d: d["operations"][2]["proof"].__setitem__(0, "0x" + "ab" * 32)
    )
    fails(bundle, "MerklePathInvalid")


def test_dropped_proof_node(case: AssetCase) -> None:
    fails(tamper(case.bundle, lambda d: d["operations"][2]["proof"].pop()), "MerklePathInvalid")


def test_changed_manifest(case: AssetCase) -> None:
    def change(data: dict[str, Any]) -> None:
        batch = data["operations"][1]["batch"]
        if "section" in batch:  # the batch's share of a sectioned (v2) manifest
            batch["section"]["kinds"]["5"] += 1
        else:
            batch["manifest"]["enterprises"][0]["count"] += 1

    fails(tamper(case.bundle, change), "ManifestMismatch")


# --- checks 8–10: history, replay, claim ------------------------------------------------------


def test_dropped_operation(case: AssetCase) -> None:
    fails(tamper(case.bundle, lambda d: d["operations"].pop(1)), "HistoryBroken")


def test_dropped_issue(case: AssetCase) -> None:
    reason = fails(tamper(case.bundle, lambda d: d["operations"].pop(0)), "HistoryBroken").reason
    assert "starts with a transfer" in reason


def test_reordered_operations(case: AssetCase) -> None:
    def swap(data: dict[str, Any]) -> None:
        ops = data["operations"]
        ops[1], ops[2] = ops[2], ops[1]

    fails(tamper(case.bundle, swap), "HistoryBroken")


def test_repeated_operation(case: AssetCase) -> None:
    fails(
        tamper(case.bundle, lambda d: d["operations"].append(d["operations"][2])), "HistoryBroken"
    )


def test_operation_anchored_before_its_predecessor(
    anchor: AnchorContract, operator_account: LocalAccount
) -> None:
    batches = standard_history(new_key(), new_key())
    case = build_case(anchor, operator_account, batches, KEPT_BY_A, anchor_order=[0, 2, 1, 3])
    assert case.blocks[2] < case.blocks[1]
    assert "before its predecessor" in fails(case.bundle, "HistoryBroken").reason


@pytest.mark.parametrize(
    ("third", "code"),
    [
        # B holds MOVED serials and transfers one more.
        (
            Op("transfer", ENTERPRISE_B, TRANSFER_FIRST, TRANSFER_LAST + 1, ENTERPRISE_A),
            "insufficient_holding",
        ),
        (
            Op("retire", ENTERPRISE_B, RETIRE_FIRST, RETIRE_LAST, changes={"vintage": 2024}),
            "terms_mismatch",
        ),
        (
            Op("retire", ENTERPRISE_B, RETIRE_FIRST, RETIRE_LAST, ENTERPRISE_A),
            "recipient_not_allowed",
        ),
    ],
)
def test_signed_and_anchored_operation_breaking_a_rule(
    anchor: AnchorContract, operator_account: LocalAccount, third: Op, code: str
) -> None:
    batches = standard_history(new_key(), new_key())
    batches[RETIRE_AT] = [third]
    case = build_case(anchor, operator_account, batches, KEPT_BY_A)
    failure = fails(case.bundle, "ReplayRejected")
    assert (failure.code, failure.rule, failure.index) == ("ReplayRejected", code, RETIRE_AT)


def test_retired_serials_cannot_be_transferred(
    anchor: AnchorContract, operator_account: LocalAccount
) -> None:
    batches = standard_history(new_key(), new_key())
    batches.append([Op("transfer", ENTERPRISE_B, RETIRE_LAST, RETIRE_LAST, ENTERPRISE_A)])
    case = build_case(anchor, operator_account, batches, KEPT_BY_A)
    failure = fails(case.bundle, "ReplayRejected")
    assert failure.code == "ReplayRejected" and failure.rule == "already_retired"


@pytest.mark.parametrize(
    ("claim", "held"),
    [
        # B received MOVED serials and retired RETIRED of them.
        (holding_claim(ENTERPRISE_B, TRANSFER_FIRST, TRANSFER_LAST), MOVED - RETIRED),
        (holding_claim(ENTERPRISE_A, TRANSFER_FIRST, TRANSFER_LAST), 0),
        (holding_claim(ENTERPRISE_A, TRANSFER_LAST + 1, LOT_LAST + 1), ISSUED - MOVED),
    ],
)
def test_claim_of_a_range_not_held(case: AssetCase, claim: dict[str, Any], held: int) -> None:
    quantity = claim["last"] - claim["first"] + 1
    reason = fails(tamper(case.bundle, with_claim(claim)), "ClaimNotHeld").reason
    assert f"holds {held} of the {quantity} serials" in reason


def test_claim_of_a_retirement_by_a_transfer(case: AssetCase) -> None:
    claim = retirement_claim(ENTERPRISE_A, TRANSFER_FIRST, TRANSFER_LAST, case.digests[1])
    reason = fails(tamper(case.bundle, with_claim(claim)), "ClaimNotRetired").reason
    assert "is a transfer, not a retirement" in reason


@pytest.mark.parametrize(
    ("holder", "first", "last", "operation"),
    [
        (ENTERPRISE_A, RETIRE_FIRST, RETIRE_LAST, RETIRE_AT),  # B retired them, not A
        (ENTERPRISE_B, RETIRE_FIRST, RETIRE_LAST + 1, RETIRE_AT),  # beyond the retirement
        (ENTERPRISE_B, RETIRE_FIRST, RETIRE_LAST, None),  # an operation not in the history
    ],
)
def test_claim_of_a_retirement_not_proven(
    case: AssetCase, holder: str, first: int, last: int, operation: int | None
) -> None:
    digest = bytes(32) if operation is None else case.digests[operation]
    claim = retirement_claim(holder, first, last, digest)
    fails(tamper(case.bundle, with_claim(claim)), "ClaimNotRetired")


@pytest.mark.parametrize(
    "claim",
    [
        holding_claim(ENTERPRISE_A, TRANSFER_LAST + 1, LOT_LAST) | {"asset": ASSET + "-2"},
        holding_claim(ENTERPRISE_A, LOT_LAST, TRANSFER_LAST + 1),
    ],
)
def test_claim_about_another_lot_or_no_serials(case: AssetCase, claim: dict[str, Any]) -> None:
    fails(tamper(case.bundle, with_claim(claim)), "ClaimInvalid")


# --- checks 11–14: the chain ------------------------------------------------------------------


def test_wrong_chain_id(
    anchor: AnchorContract, operator_account: LocalAccount, rpc: JsonRpcReader
) -> None:
    case = make_asset_case(anchor, operator_account, chain_id=1)
    assert offline(case.bundle).valid  # consistent in itself
    assert verify_asset(case.bundle, rpc).failed_check == "chain-id"


def test_unanchored_root(
    anchor: AnchorContract,
    operator_account: LocalAccount,
    w3: Web3,
    tmp_path: Path,
    rpc: JsonRpcReader,
) -> None:
    fresh, _ = deploy(w3, operator_account, tmp_path / "other")
    case = make_asset_case(anchor, operator_account, contract=fresh.address)
    assert is_failure(verify_asset(case.bundle, rpc).failure, "RootNotAnchored")


def test_contract_without_code(
    anchor: AnchorContract, operator_account: LocalAccount, rpc: JsonRpcReader
) -> None:
    case = make_asset_case(anchor, operator_account, contract=operator_account.address)
    assert is_failure(verify_asset(case.bundle, rpc).failure, "ContractCodeMismatch")


def test_wrong_batch_id(case: AssetCase, rpc: JsonRpcReader) -> None:
    bundle = tamper(case.bundle, lambda d: d["operations"][1]["anchor"].update(batchId=99))
    assert is_failure(verify_asset(bundle, rpc).failure, "AnchorMismatch")


def test_one_root_at_two_anchors(case: AssetCase, rpc: JsonRpcReader) -> None:
    # signers[0] sits in the issue's batch; give it another log index than the issue states.
    bundle = tamper(case.bundle, lambda d: d["signers"][0]["anchor"].update(logIndex=5))
    failure = verify_asset(bundle, rpc).failure
    assert is_failure(failure, "AnchorMismatch") and "two anchors" in failure.reason


def test_wrong_log_index(case: AssetCase, rpc: JsonRpcReader) -> None:
    index = case.bundle.operations[2].anchor.log_index + 1
    bundle = tamper(case.bundle, lambda d: d["operations"][2]["anchor"].update(logIndex=index))
    assert is_failure(verify_asset(bundle, rpc).failure, "AnchorLocationMismatch")


def test_unreachable_rpc_raises(case: AssetCase) -> None:
    with pytest.raises(RpcUnavailable):
        verify_asset(case.bundle, JsonRpcReader(f"http://127.0.0.1:{unused_port()}", 2))


# --- the command ------------------------------------------------------------------------------


def run(*args: str | Path) -> subprocess.CompletedProcess[str]:
    if not CARBON_VERIFY.exists():
        pytest.skip("carbon-verify is not installed: pip install --no-deps -e .")
    return subprocess.run(
        [str(CARBON_VERIFY), *map(str, args)], capture_output=True, text=True, timeout=60
    )


def test_cli_exit_codes(case: AssetCase, dev_chain: DevChain, tmp_path: Path) -> None:
    valid = tmp_path / "valid.json"
    valid.write_text(json.dumps(case.bundle.to_json()), encoding="utf-8")
    done = run("asset", valid, "--rpc", dev_chain.rpc_url)
    assert done.returncode == 0, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    assert lines[-1] == "VALID"
    head, block = case.digests[RETIRE_AT], case.blocks[RETIRE_AT]
    assert lines[-2].endswith(
        f"as of operation 4 (digest 0x{head.hex()}) anchored in block {block}"
    )
    report = json.loads(run("asset", valid, "--rpc", dev_chain.rpc_url, "--json").stdout)
    assert report["valid"] is True
    assert report["asset"]["claim"]["quantity"] == ISSUED - MOVED
    assert report["asset"]["asOf"] == {
        "operation": 4,
        "digest": "0x" + head.hex(),
        "blockNumber": block,
    }

    broken = tmp_path / "broken.json"
    dropped = tamper(case.bundle, lambda d: d["operations"].pop(1))
    broken.write_text(json.dumps(dropped.to_json()), encoding="utf-8")
    done = run("asset", broken, "--rpc", dev_chain.rpc_url)
    assert done.returncode == 1
    assert done.stdout.splitlines()[-1].startswith("INVALID: history: ")

    unusable = tmp_path / "unusable.json"
    unusable.write_text(json.dumps({"format": "carbon-ledger/record-proof"}), encoding="utf-8")
    done = run("asset", unusable, "--rpc", dev_chain.rpc_url)
    assert done.returncode == 2
    assert "not a carbon-ledger/asset-proof bundle" in done.stderr
