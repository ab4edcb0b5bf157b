"""Typed client of a deployed ``CarbonAnchor``: send anchors, read batches, decode its errors."""

from __future__ import annotations

from typing import Any

from eth_account.signers.local import LocalAccount
from hexbytes import HexBytes
from web3 import Web3
from web3.contract import Contract
from web3.exceptions import ContractCustomError, TimeExhausted, TransactionNotFound

from anchoring.artifact import Artifact, load_artifact
from anchoring.receipts import AnchoredBatch, AnchorReceipt, SignedAnchor

ANCHOR_ROLE = Web3.keccak(text="ANCHOR_ROLE")


class AnchorRejected(RuntimeError):
    """The contract refused the call with one of its custom errors."""

    def __init__(self, error: str, detail: str = "") -> None:
        super().__init__(f"{error}{': ' + detail if detail else ''}")
        self.error = error


class AnchorContract:
    """One ``CarbonAnchor`` deployment."""

    def __init__(self, w3: Web3, address: str, artifact: Artifact | None = None) -> None:
        self.w3 = w3
        self.artifact = artifact or load_artifact()
        self.address = Web3.to_checksum_address(address)
        self.contract: Contract = w3.eth.contract(address=self.address, abi=self.artifact.abi)
        self._errors = _error_selectors(self.artifact)

    def sign_anchor(
        self, account: LocalAccount, root: bytes, leaf_count: int, manifest_hash: bytes
    ) -> SignedAnchor:
        """Build and sign ``anchor`` without sending it, so its hash can be stored first.

        The call is simulated first: a contract error is raised here and no doomed
        transaction is signed.
        """
        call = self.contract.functions.anchor(root, leaf_count, manifest_hash)
        nonce = self.w3.eth.get_transaction_count(account.address, "pending")
        try:
            call.call({"from": account.address})
            tx = call.build_transaction({"from": account.address, "nonce": nonce})
        except ContractCustomError as exc:
            raise self._decode(exc) from None
        signed = account.sign_transaction(tx)
        return SignedAnchor(signed.raw_transaction.to_0x_hex(), signed.hash.to_0x_hex(), nonce)

    def broadcast(self, signed: SignedAnchor) -> None:
        """Send a signed anchor; sending the same bytes twice is harmless."""
        try:
            self.w3.eth.send_raw_transaction(HexBytes(signed.raw_tx))
        except ValueError as exc:
            if "already" not in str(exc).lower() and "known" not in str(exc).lower():
                raise

    def send_anchor(
        self, account: LocalAccount, root: bytes, leaf_count: int, manifest_hash: bytes
    ) -> str:
        """Sign and send ``anchor``; returns the tx hash without waiting for it to be mined."""
        signed = self.sign_anchor(account, root, leaf_count, manifest_hash)
        self.broadcast(signed)
        return signed.tx_hash

    def wait(self, tx_hash: str, timeout_s: float = 120.0) -> AnchorReceipt | None:
        """The receipt of an anchor tx; None if it is not mined within the timeout."""
        try:
            receipt = self.w3.eth.wait_for_transaction_receipt(
                HexBytes(tx_hash), timeout=timeout_s, poll_latency=0.1
            )
        except TimeExhausted:
            return None
        return self._anchor_receipt(receipt)

    def receipt(self, tx_hash: str) -> AnchorReceipt | None:
        """The receipt of an anchor tx if it is mined, else None (no waiting)."""
        try:
            receipt = self.w3.eth.get_transaction_receipt(HexBytes(tx_hash))
        except TransactionNotFound:
            return None
        return self._anchor_receipt(receipt)

    def is_known(self, tx_hash: str) -> bool:
        """Whether the node knows the transaction (pending or mined)."""
        try:
            self.w3.eth.get_transaction(HexBytes(tx_hash))
        except TransactionNotFound:
            return False
        return True

    def find_anchor(self, root: bytes, from_block: int = 0) -> AnchorReceipt | None:
        """The receipt of the transaction that anchored ``root``, found by its event."""
        logs = self.contract.events.Anchored().get_logs(
            argument_filters={"root": root}, from_block=from_block
        )
        return self.receipt(logs[0]["transactionHash"].to_0x_hex()) if logs else None

    def _anchor_receipt(self, receipt: Any) -> AnchorReceipt:
        if receipt["status"] != 1:
            raise AnchorRejected("TransactionReverted", receipt["transactionHash"].to_0x_hex())
        (event,) = self.contract.events.Anchored().process_receipt(receipt)
        return AnchorReceipt(
            batch_id=event["args"]["batchId"],
            root=event["args"]["root"],
            tx_hash=receipt["transactionHash"].to_0x_hex(),
            block_number=receipt["blockNumber"],
            block_hash=receipt["blockHash"].to_0x_hex(),
            log_index=event["logIndex"],
            gas_used=receipt["gasUsed"],
        )

    def anchor(
        self, account: LocalAccount, root: bytes, leaf_count: int, manifest_hash: bytes
    ) -> AnchorReceipt:
        """Send ``anchor`` and wait for it to be mined."""
        tx_hash = self.send_anchor(account, root, leaf_count, manifest_hash)
        receipt = self.wait(tx_hash)
        if receipt is None:
            raise TimeoutError(f"anchor transaction {tx_hash} was not mined in time")
        return receipt

    def batch_of(self, root: bytes) -> AnchoredBatch | None:
        """The batch anchored under ``root``, or None."""
        batch_id, leaf_count, block_number, manifest_hash = self.contract.functions.batchOf(
            root
        ).call()
        if leaf_count == 0:
            return None
        return AnchoredBatch(batch_id, root, leaf_count, manifest_hash, block_number)

    def batch_count(self) -> int:
        return self.contract.functions.batchCount().call()

    def has_anchor_role(self, address: str) -> bool:
        return self.contract.functions.hasRole(ANCHOR_ROLE, address).call()

    def _decode(self, exc: ContractCustomError) -> AnchorRejected:
        data = exc.data if isinstance(exc.data, str) else str(exc.message)
        name = self._errors.get(data[:10].lower(), "UnknownContractError")
        return AnchorRejected(name, data)


def _error_selectors(artifact: Artifact) -> dict[str, str]:
    """4-byte selector (0x-hex) -> custom error name, from the ABI."""
    selectors = {}
    for item in artifact.abi:
        if item["type"] == "error":
            signature = f"{item['name']}({','.join(i['type'] for i in item['inputs'])})"
            selectors[Web3.keccak(text=signature)[:4].to_0x_hex()] = item["name"]
    return selectors
