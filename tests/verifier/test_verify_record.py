"""verify_record against a real chain: a valid bundle passes, and each tampering is caught by
the check it targets, named exactly."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import rfc8785
from eth_account.signers.local import LocalAccount
from pydantic import ValidationError
from web3 import Web3

from anchoring.anchor_contract import AnchorContract
from anchoring.batching import PendingLeaf, build_batch
from anchoring.deployment import deploy
from anchoring.devchain import DevChain
from tests.verifier.failures import is_failure
from tests.verifier.record_bundle_factory import (
    DEV_CHAIN_ID,
    Case,
    address_of,
    make_case,
    make_record,
    new_key,
    registration_event,
    tamper,
    unused_port,
)
from verifier.checks.kernel import ONCHAIN_CHECKS, CheckStatus, VerificationResult
from verifier.checks.record import CHECKS, verify_record
from verifier.formats.record import RecordProofBundle
from verifier.protocol.keccak import keccak256
from verifier.protocol.leaves import LeafKind, leaf_hash
from verifier.protocol.typed_data import SECP256K1_N, Domain, sign_record, typed_data
from verifier.rpc import JsonRpcReader, RpcUnavailable

# Init code that deploys the one-byte runtime 0x00: CODECOPY(0, 12, 1); RETURN(0, 1); 0x00.
TINY_CONTRACT = "0x6001600c60003960016000f300"


@pytest.fixture
def rpc(dev_chain: DevChain) -> JsonRpcReader:
    return JsonRpcReader(dev_chain.rpc_url)


@pytest.fixture
def case(anchor: AnchorContract, operator_account: LocalAccount) -> Case:
    return make_case(anchor, operator_account)


def failed(result: VerificationResult) -> str | None:
    assert result.valid == (result.failure is None)
    return result.failed_check


def _set(path: str, value: Any) -> Any:
    *parents, last = path.split(".")

    def change(data: dict[str, Any]) -> None:
        for part in parents:
            data = data[part]
        data[last] = value

    return change


def test_valid_bundle_passes_online(case: Case, rpc: JsonRpcReader) -> None:
    result = verify_record(case.bundle, rpc)
    assert result.valid, result.failure
    assert [c.name for c in result.checks] == list(CHECKS)
    assert {c.status for c in result.checks} == {CheckStatus.PASSED}
    assert not result.offline
    assert result.record is not None
    assert result.record.digest.hex() == case.bundle.leaf.digest[2:]
    assert str(result.record.value) == "125.000"
    assert result.to_json()["valid"] is True


def test_valid_bundle_passes_offline(case: Case) -> None:
    result = verify_record(case.bundle, None)
    assert result.valid and result.offline
    statuses = {c.name: c.status for c in result.checks}
    assert all(statuses[n] is CheckStatus.SKIPPED for n in ONCHAIN_CHECKS)
    assert all(statuses[n] is CheckStatus.PASSED for n in CHECKS[:7])


def test_undisclosed_attributes_are_reported_skipped(case: Case) -> None:
    result = verify_record(tamper(case.bundle, _set("attributes", None)), None)
    assert result.valid
    assert result.checks[3].status is CheckStatus.SKIPPED


def _offline_failure(bundle: RecordProofBundle) -> str | None:
    return failed(verify_record(bundle, None))


def test_changed_quantity(case: Case) -> None:
    bundle = tamper(case.bundle, _set("typedData.message.quantity", "125001"))
    result = verify_record(bundle, None)
    assert failed(result) == "signature"
    assert is_failure(result.failure, "SignatureMismatch")
    assert result.failure is not None
    assert "the record's content changed after it was signed" in result.failure.reason
    later = [c.status for c in result.checks[3:]]
    assert later == [CheckStatus.NOT_RUN] * len(later)


def test_swapped_signature(case: Case) -> None:
    swapped = "0x" + case.neighbour_signature.hex()
    assert _offline_failure(tamper(case.bundle, _set("signature", swapped))) == "signature"


def test_signature_by_another_key(case: Case) -> None:
    domain, record = case.domain, make_record(case.bundle.typed_data["message"]["device"], 5)
    forged = "0x" + sign_record(new_key(), domain, record).hex()
    assert _offline_failure(tamper(case.bundle, _set("signature", forged))) == "signature"


def test_malleable_signature(case: Case) -> None:
    sig = bytes.fromhex(case.bundle.signature[2:])
    high_s = (SECP256K1_N - int.from_bytes(sig[32:64], "big")).to_bytes(32, "big")
    flipped = sig[:32] + high_s + bytes((55 - sig[64],))
    result = verify_record(tamper(case.bundle, _set("signature", "0x" + flipped.hex())), None)
    assert is_failure(result.failure, "SignatureMalleable")


def test_changed_attributes(case: Case) -> None:
    bundle = tamper(case.bundle, _set("attributes.lossFactor", "0.5"))
    assert _offline_failure(bundle) == "attributes"


def test_changed_leaf(case: Case) -> None:
    bundle = tamper(case.bundle, _set("leaf.aux", "0x" + "11" * 32))
    assert _offline_failure(bundle) == "leaf"


def test_dropped_proof_node(case: Case) -> None:
    bundle = tamper(case.bundle, lambda d: d["proof"].pop())
    assert _offline_failure(bundle) == "merkle-path"


def test_changed_proof_node(case: Case) -> None:
    def change(data: dict[str, Any]) -> None:
        data["proof"][0] = "0x" + "ab" * 32

    assert _offline_failure(tamper(case.bundle, change)) == "merkle-path"


def test_malformed_proof_node_is_unusable(case: Case) -> None:
    def change(data: dict[str, Any]) -> None:
        data["proof"][0] = "0x1234"

    assert _offline_failure(tamper(case.bundle, change)) == "bundle"


def test_changed_manifest(case: Case) -> None:
    def change(data: dict[str, Any]) -> None:
        data["batch"]["section"]["devices"][0]["lastSeq"] += 1

    assert _offline_failure(tamper(case.bundle, change)) == "manifest"


def test_record_signed_for_another_chain(
    anchor: AnchorContract, operator_account: LocalAccount
) -> None:
    case = make_case(anchor, operator_account, domain=Domain(1, anchor.address))
    result = verify_record(case.bundle, None)
    assert failed(result) == "typed-data"
    assert is_failure(result.failure, "DomainMismatch")


def test_record_signed_for_another_contract(
    anchor: AnchorContract, operator_account: LocalAccount
) -> None:
    elsewhere = Domain(DEV_CHAIN_ID, "0x" + "42" * 20)
    case = make_case(anchor, operator_account, domain=elsewhere)
    assert is_failure(verify_record(case.bundle, None).failure, "DomainMismatch")


def test_rewritten_domain_breaks_the_signature(case: Case) -> None:
    other = Domain(DEV_CHAIN_ID, "0x" + "42" * 20)
    document = typed_data(other, make_record(case.bundle.typed_data["message"]["device"], 5))

    def change(data: dict[str, Any]) -> None:
        data["typedData"] = document
        data["anchor"]["contract"] = other.verifying_contract

    assert _offline_failure(tamper(case.bundle, change)) == "signature"


def test_wrong_chain_id_in_bundle(
    anchor: AnchorContract, operator_account: LocalAccount, rpc: JsonRpcReader
) -> None:
    case = make_case(anchor, operator_account, chain_id=1)
    assert verify_record(case.bundle, None).valid  # consistent in itself
    assert failed(verify_record(case.bundle, rpc)) == "chain-id"


def test_root_not_anchored(
    anchor: AnchorContract,
    operator_account: LocalAccount,
    w3: Web3,
    tmp_path: Path,
    rpc: JsonRpcReader,
) -> None:
    fresh, _ = deploy(w3, operator_account, tmp_path / "other")
    case = make_case(anchor, operator_account, contract=fresh.address)
    result = verify_record(case.bundle, rpc)
    assert failed(result) == "anchored"
    assert is_failure(result.failure, "RootNotAnchored")


def test_contract_without_code(
    anchor: AnchorContract, operator_account: LocalAccount, rpc: JsonRpcReader
) -> None:
    case = make_case(anchor, operator_account, contract=operator_account.address)
    result = verify_record(case.bundle, rpc)
    assert is_failure(result.failure, "ContractCodeMismatch")
    assert "no contract code" in result.failure.reason


def test_contract_with_other_code(
    anchor: AnchorContract, operator_account: LocalAccount, w3: Web3, rpc: JsonRpcReader
) -> None:
    tx = w3.eth.send_transaction({"from": operator_account.address, "data": TINY_CONTRACT})
    address = w3.eth.wait_for_transaction_receipt(tx)["contractAddress"]
    assert w3.eth.get_code(address) == b"\x00"
    case = make_case(anchor, operator_account, contract=address)
    result = verify_record(case.bundle, rpc)
    assert is_failure(result.failure, "ContractCodeMismatch")
    assert "not a trusted build" in result.failure.reason


@pytest.mark.parametrize(
    ("path", "value"),
    [("anchor.batchId", 7), ("anchor.blockNumber", 1)],
)
def test_anchor_fields_must_match_the_chain(
    case: Case, rpc: JsonRpcReader, path: str, value: int
) -> None:
    result = verify_record(tamper(case.bundle, _set(path, value)), rpc)
    assert is_failure(result.failure, "AnchorMismatch")


def test_wrong_log_index(case: Case, rpc: JsonRpcReader) -> None:
    bundle = tamper(case.bundle, _set("anchor.logIndex", case.bundle.anchor.log_index + 1))
    result = verify_record(bundle, rpc)
    assert failed(result) == "anchor-location"
    assert is_failure(result.failure, "AnchorLocationMismatch")


@pytest.mark.parametrize(
    ("path", "value"),
    [("anchor.blockHash", "0x" + "00" * 32), ("anchor.txHash", "0x" + "00" * 32)],
)
def test_wrong_transaction_or_block(case: Case, rpc: JsonRpcReader, path: str, value: str) -> None:
    result = verify_record(tamper(case.bundle, _set(path, value)), rpc)
    assert failed(result) == "anchor-location"


def test_another_batchs_transaction(
    anchor: AnchorContract, operator_account: LocalAccount, case: Case, rpc: JsonRpcReader
) -> None:
    # A second batch in the same contract: its tx and log are real, but not this root's.
    second = make_case(anchor, operator_account).bundle.anchor
    bundle = tamper(case.bundle, _set("anchor.txHash", second.tx_hash))
    assert failed(verify_record(bundle, rpc)) == "anchor-location"


def test_unreachable_rpc_raises(case: Case) -> None:
    with pytest.raises(RpcUnavailable):
        verify_record(case.bundle, JsonRpcReader(f"http://127.0.0.1:{unused_port()}", 2))


def _offline(bundle: RecordProofBundle) -> str | None:
    return failed(verify_record(bundle, None))


def test_registration_for_another_source_is_not_authorisation(case: Case) -> None:
    def change(data: dict[str, Any]) -> None:
        data["authorization"][0]["event"]["sources"] = ["88.118.8/ENT-0001/SRC-OTHER"]

    # The event no longer hashes to its anchored leaf: the rewrite itself is caught.
    assert _offline(tamper(case.bundle, change)) == "authorization"


def test_event_about_another_terminal_is_refused(case: Case) -> None:
    def change(data: dict[str, Any]) -> None:
        data["authorization"][0]["event"]["subject"] = "0x" + "42" * 20

    assert _offline(tamper(case.bundle, change)) == "authorization"


def test_a_revocation_anchored_before_the_record_is_caught(
    anchor: AnchorContract, operator_account: LocalAccount
) -> None:
    """A revocation of the terminal anchored in an earlier block than the record: the record
    cannot have been accepted honestly."""
    # Anchor the revocation first (its own batch, earlier block), then the record's batch.
    key = new_key()
    device = address_of(key)
    event = {**registration_event(device, "unused"), "type": "device.revoked", "reason": "x"}
    event_leaf = leaf_hash(LeafKind.REGISTRY_EVENT, keccak256(rfc8785.dumps(event)), bytes(32))
    revocation_batch = build_batch([PendingLeaf(0, LeafKind.REGISTRY_EVENT, event_leaf)])
    receipt = anchor.anchor(
        operator_account, revocation_batch.root, 1, revocation_batch.manifest_hash
    )
    case = make_case(anchor, operator_account, key=key)
    revocation = {
        "event": event,
        "leaf": {
            "kind": 3,
            "digest": "0x" + keccak256(rfc8785.dumps(event)).hex(),
            "aux": "0x" + "00" * 32,
            "hash": "0x" + event_leaf.hex(),
        },
        "proof": [],
        "batch": revocation_batch.batch_json(None).model_dump(mode="json", by_alias=True),
        "anchor": {
            "chainId": 1337,
            "contract": anchor.address,
            "batchId": receipt.batch_id,
            "txHash": receipt.tx_hash,
            "blockNumber": receipt.block_number,
            "blockHash": receipt.block_hash,
            "logIndex": receipt.log_index,
        },
    }
    assert receipt.block_number < case.bundle.anchor.block_number

    def change(data: dict[str, Any]) -> None:
        data["authorization"].append(revocation)

    result = verify_record(tamper(case.bundle, change), None)
    assert failed(result) == "authorization"
    assert result.failure is not None and "after the terminal's device.revoked" in str(
        result.failure
    )


def test_missing_authorization_is_unusable(case: Case) -> None:
    def change(data: dict[str, Any]) -> None:
        data["authorization"] = []

    with pytest.raises(ValidationError):
        tamper(case.bundle, change)
