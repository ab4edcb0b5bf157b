"""The anchoring worker: a state machine that survives a crash at any point.

A batch moves ``pending`` (tree and leaf assignment committed together) → ``sent`` (the signed
transaction and its hash committed *before* broadcast) → ``confirmed`` (receipt recorded). On
every start the open batches are reconciled with the chain, so after a crash no leaf is lost,
none sits in two batches, and no root is anchored twice (the contract refuses it anyway).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from anchoring.batching import BuiltBatch, PendingLeaf, build_batch, screen
from anchoring.receipts import AnchorReceipt, SignedAnchor

if TYPE_CHECKING:  # the chain client loads web3, which the ledger's API does not need
    from eth_account.signers.local import LocalAccount

    from anchoring.anchor_contract import AnchorContract

log = logging.getLogger(__name__)


class LeaseLost(RuntimeError):
    """Another worker holds the anchoring lease now; this one must stop writing."""


@dataclass(frozen=True)
class OpenBatch:
    """A stored batch not yet confirmed on chain."""

    id: int
    status: str  # pending | sent
    root: bytes
    leaf_count: int
    manifest_hash: bytes
    signed: SignedAnchor | None


class BatchStore(Protocol):
    """What the worker needs from the ledger's database. ``create_batch`` and ``mark_sent``
    raise :class:`LeaseLost` once another worker has taken over."""

    def claim(self) -> bool: ...

    def unanchored(self, limit: int) -> list[PendingLeaf]: ...

    def create_batch(self, batch: BuiltBatch) -> int: ...

    def set_aside(self, leaf_ids: Sequence[int], reason: str) -> None: ...

    def open_batches(self) -> list[OpenBatch]: ...

    def mark_sent(self, batch_id: int, signed: SignedAnchor) -> None: ...

    def mark_confirmed(self, batch_id: int, receipt: AnchorReceipt) -> None: ...


@dataclass(frozen=True)
class RoundResult:
    batches: int
    leaves: int
    receipts: tuple[AnchorReceipt, ...]
    standby: bool = False  # another worker held the lease: this round did nothing


class AnchorWorker:
    """Anchors everything unanchored, batch by batch, through one operator account."""

    def __init__(
        self,
        store: BatchStore,
        contract: AnchorContract,
        account: LocalAccount,
        max_batch: int,
        on_progress: Callable[[str, int], None] | None = None,
    ) -> None:
        self.store = store
        self.contract = contract
        self.account = account
        self.max_batch = max_batch
        self.on_progress = on_progress or (lambda _stage, _n: None)

    def run_once(self) -> RoundResult:
        """Reconcile open batches, then batch and anchor every unanchored leaf; nothing while
        another worker holds the lease, and stop where this one loses it."""
        receipts: list[AnchorReceipt] = []
        leaves = 0
        if not self.store.claim():
            return RoundResult(0, 0, (), standby=True)
        try:
            leaves = self._round(receipts)
        except LeaseLost as exc:
            log.warning("anchoring lease lost mid-round, standing by: %s", exc)
        return RoundResult(len(receipts), leaves, tuple(receipts))

    def _round(self, receipts: list[AnchorReceipt]) -> int:
        leaves = 0
        for batch in self.store.open_batches():
            receipts.append(self._settle(batch))
            leaves += batch.leaf_count
        while pending := self.store.unanchored(self.max_batch):
            self.on_progress("build", len(pending))
            try:
                built = build_batch(pending)
            except ValueError:
                pending = self._set_aside_unbatchable(pending)
                if not pending:
                    continue
                built = build_batch(pending)
            batch_id = self.store.create_batch(built)
            open_batch = OpenBatch(
                batch_id, "pending", built.root, len(pending), built.manifest_hash, None
            )
            # Stored: let this batch's leaves and tree go before the next batch is read, so
            # two batches never sit in memory at once.
            del built
            receipts.append(self._settle(open_batch))
            leaves += len(pending)
            self.on_progress("anchored", len(pending))
            del pending
        return leaves

    def _set_aside_unbatchable(self, pending: list[PendingLeaf]) -> list[PendingLeaf]:
        """One bad leaf must not stop anchoring for every tenant: set it aside, loudly, and
        return the leaves that can still be batched."""
        good, bad = screen(pending)
        for leaf_id, reason in bad.items():
            log.error("leaf %s set aside, not anchored: %s", leaf_id, reason)
            self.store.set_aside([leaf_id], reason)
        self.on_progress("set-aside", len(bad))
        return good

    def _settle(self, batch: OpenBatch) -> AnchorReceipt:
        receipt = self._already_anchored(batch)
        if receipt is None:
            signed = batch.signed
            if signed is None or not self._still_sendable(signed):
                signed = self.contract.sign_anchor(
                    self.account, batch.root, batch.leaf_count, batch.manifest_hash
                )
                self.store.mark_sent(batch.id, signed)  # committed before it leaves us
            self.contract.broadcast(signed)
            receipt = self.contract.wait(signed.tx_hash)
            if receipt is None:
                raise TimeoutError(f"anchor tx {signed.tx_hash} not mined in time")
        self.store.mark_confirmed(batch.id, receipt)
        log.info(
            "batch %s confirmed: tx %s block %s", batch.id, receipt.tx_hash, receipt.block_number
        )
        return receipt

    def _already_anchored(self, batch: OpenBatch) -> AnchorReceipt | None:
        """The receipt if the root is on chain already (e.g. mined before a crash)."""
        if self.contract.batch_of(batch.root) is None:
            return None
        if batch.signed is not None and (r := self.contract.receipt(batch.signed.tx_hash)):
            return r
        return self.contract.find_anchor(batch.root)

    def _still_sendable(self, signed: SignedAnchor) -> bool:
        """A stored tx can be re-broadcast unless its nonce was spent by another tx."""
        if self.contract.is_known(signed.tx_hash):
            return True
        confirmed_nonce = self.contract.w3.eth.get_transaction_count(self.account.address)
        return signed.nonce >= confirmed_nonce
