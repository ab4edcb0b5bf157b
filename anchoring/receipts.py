"""What anchoring records of a batch on chain: plain values, free of the chain client, so the
ledger's store and the API import them without loading web3 (a second of every start)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class AnchoredBatch:
    """Where an anchored root sits on chain."""

    batch_id: int
    root: bytes
    leaf_count: int
    manifest_hash: bytes
    block_number: int


@dataclass(frozen=True)
class SignedAnchor:
    """A signed, not necessarily sent, anchor transaction."""

    raw_tx: str
    tx_hash: str
    nonce: int


@dataclass(frozen=True)
class AnchorReceipt:
    """The mined anchor transaction and the ``Anchored`` event it emitted."""

    batch_id: int
    root: bytes
    tx_hash: str
    block_number: int
    block_hash: str
    log_index: int
    gas_used: int
