"""CarbonAnchor on a real ganache: anchoring, rejections, roles and proof verification."""

from __future__ import annotations

import pytest
from eth_account.signers.local import LocalAccount
from web3 import Web3
from web3.exceptions import ContractCustomError

from anchoring.anchor_contract import AnchorContract, AnchorRejected
from verifier.protocol.keccak import keccak256

MANIFEST = keccak256(b"manifest")


def leaf(value: bytes) -> bytes:
    """A standard-v1 style leaf: double keccak of a 32-byte word."""
    return keccak256(keccak256(value.rjust(32, b"\0")))


def node(a: bytes, b: bytes) -> bytes:
    """Commutative node hash: keccak of the two children sorted as big-endian numbers."""
    return keccak256(min(a, b) + max(a, b))


def test_anchor_returns_batch_ids_in_order_and_emits_event(
    anchor: AnchorContract, operator_account: LocalAccount
) -> None:
    first = anchor.anchor(operator_account, keccak256(b"root-1"), 3, MANIFEST)
    second = anchor.anchor(operator_account, keccak256(b"root-2"), 5, MANIFEST)
    assert (first.batch_id, second.batch_id) == (0, 1)
    assert anchor.batch_count() == 2
    batch = anchor.batch_of(keccak256(b"root-2"))
    assert batch is not None
    assert (batch.batch_id, batch.leaf_count, batch.block_number) == (1, 5, second.block_number)
    assert batch.manifest_hash == MANIFEST


def test_anchored_at_and_batch_at_views(
    anchor: AnchorContract, operator_account: LocalAccount
) -> None:
    root = keccak256(b"root")
    assert anchor.contract.functions.anchoredAt(root).call() == [False, 0]
    receipt = anchor.anchor(operator_account, root, 1, MANIFEST)
    assert anchor.contract.functions.anchoredAt(root).call() == [True, receipt.block_number]
    stored_root, batch = anchor.contract.functions.batchAt(0).call()
    assert stored_root == root
    assert batch == (0, 1, receipt.block_number, MANIFEST)


def test_batch_at_unknown_id_reverts(anchor: AnchorContract) -> None:
    with pytest.raises(ContractCustomError):
        anchor.contract.functions.batchAt(7).call()


@pytest.mark.parametrize(
    ("root", "count", "error"),
    [
        (bytes(32), 1, "ZeroRoot"),
        (keccak256(b"x"), 0, "ZeroLeafCount"),
    ],
)
def test_zero_root_and_zero_count_rejected(
    anchor: AnchorContract, operator_account: LocalAccount, root: bytes, count: int, error: str
) -> None:
    with pytest.raises(AnchorRejected) as rejected:
        anchor.anchor(operator_account, root, count, MANIFEST)
    assert rejected.value.error == error
    assert anchor.batch_count() == 0


def test_duplicate_root_rejected(anchor: AnchorContract, operator_account: LocalAccount) -> None:
    root = keccak256(b"once")
    anchor.anchor(operator_account, root, 2, MANIFEST)
    with pytest.raises(AnchorRejected) as rejected:
        anchor.anchor(operator_account, root, 2, MANIFEST)
    assert rejected.value.error == "DuplicateRoot"
    assert anchor.batch_count() == 1


def test_only_anchor_role_may_anchor(
    anchor: AnchorContract, stranger_account: LocalAccount, operator_account: LocalAccount
) -> None:
    assert not anchor.has_anchor_role(stranger_account.address)
    with pytest.raises(AnchorRejected) as rejected:
        anchor.anchor(stranger_account, keccak256(b"intruder"), 1, MANIFEST)
    assert rejected.value.error == "AccessControlUnauthorizedAccount"
    assert anchor.batch_count() == 0


def test_granted_role_may_anchor(
    anchor: AnchorContract,
    w3: Web3,
    operator_account: LocalAccount,
    stranger_account: LocalAccount,
) -> None:
    role = anchor.contract.functions.ANCHOR_ROLE().call()
    tx = anchor.contract.functions.grantRole(role, stranger_account.address).build_transaction(
        {
            "from": operator_account.address,
            "nonce": w3.eth.get_transaction_count(operator_account.address),
        }
    )
    w3.eth.wait_for_transaction_receipt(
        w3.eth.send_raw_transaction(operator_account.sign_transaction(tx).raw_transaction)
    )
    assert anchor.anchor(stranger_account, keccak256(b"granted"), 1, MANIFEST).batch_id == 0


def test_verify_single_proof_only_for_anchored_roots(
    anchor: AnchorContract, operator_account: LocalAccount
) -> None:
    a, b, c = leaf(b"a"), leaf(b"b"), leaf(b"c")
    ab = node(a, b)
    root = node(ab, c)
    verify = anchor.contract.functions.verify
    assert verify(root, a, [b, c]).call() is False  # not anchored yet
    anchor.anchor(operator_account, root, 3, MANIFEST)
    assert verify(root, a, [b, c]).call() is True
    assert verify(root, c, [ab]).call() is True
    assert verify(root, a, [c, b]).call() is False  # wrong path
    assert verify(root, leaf(b"d"), [b, c]).call() is False  # leaf not in tree
    assert verify(root, a, [b]).call() is False  # dropped node


def test_verify_multiproof(anchor: AnchorContract, operator_account: LocalAccount) -> None:
    a, b, c = leaf(b"a"), leaf(b"b"), leaf(b"c")
    root = node(node(a, b), c)
    anchor.anchor(operator_account, root, 3, MANIFEST)
    verify_multi = anchor.contract.functions.verifyMulti
    # Prove a and b together: hash(a, b) from the two leaves, then with c from the proof.
    assert verify_multi(root, [a, b], [c], [True, False]).call() is True
    assert verify_multi(root, [a, leaf(b"x")], [c], [True, False]).call() is False
    # An empty multiproof with the root as its proof proves nothing.
    assert verify_multi(root, [], [root], []).call() is False
    # Lengths that do not fit are false, not a revert.
    assert verify_multi(root, [a, b], [c], [True]).call() is False
    assert verify_multi(keccak256(b"other"), [a, b], [c], [True, False]).call() is False
