"""The register form of a figure proof (``docs/figure-proof-format.md`` section 11): per
device with a cumulative register, the few signed readings that fix what it measured over the
period, instead of all its readings. Shapes only; the checks live in
``verifier.checks.registers``."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from verifier.formats.record import ADDRESS, SIGNATURE, AnchorLocation, BatchJson, Frozen

__all__ = [
    "RegisterBatchJson",
    "RegisterChangeJson",
    "RegisterDeviceJson",
    "RegisterEvidenceJson",
    "RegisterReadingJson",
]


class RegisterBatchJson(Frozen):
    """An anchored batch holding some of the readings, stated once however many it holds, and
    one multiproof of all of them: ``leaves`` are the readings' leaf hashes in the
    multiproof's order; ``proof`` and ``proofFlags`` are ``MerkleProof.multiProofVerify``'s."""

    batch: BatchJson
    anchor: AnchorLocation
    leaves: tuple[str, ...] = Field(min_length=1)
    proof: tuple[str, ...]
    proof_flags: tuple[bool, ...] = Field(alias="proofFlags")


class SignedReadingJson(Frozen):
    """A signed reading as in ``records``: EIP-712 message, signature, attributes."""

    message: dict[str, Any]
    signature: str = Field(pattern=SIGNATURE)
    attributes: dict[str, Any] | None = None


class RegisterReadingJson(Frozen):
    """One reading, whose kind-1 leaf is among the leaves of ``registers.batches[batch]``."""

    record: SignedReadingJson
    batch: int = Field(ge=0)


class RegisterChangeJson(Frozen):
    """An epoch change inside the period: the last reading of one epoch and the first of the
    next, whose sequence numbers follow each other."""

    end: RegisterReadingJson
    start: RegisterReadingJson


class RegisterDeviceJson(Frozen):
    """One counted device proven by its register: its readings ``firstSeq`` and ``lastSeq``
    (the same reading twice when it has one), every epoch change between them in order, and its
    readings ``firstSeq - 1`` and ``lastSeq + 1`` (null where a registry event closes that
    side)."""

    device: str = Field(pattern=ADDRESS)
    before: RegisterReadingJson | None = None
    first: RegisterReadingJson
    changes: tuple[RegisterChangeJson, ...] = ()
    last: RegisterReadingJson
    after: RegisterReadingJson | None = None


class RegisterEvidenceJson(Frozen):
    """The register devices of a figure proof, and the batches their readings are in."""

    batches: tuple[RegisterBatchJson, ...] = Field(min_length=1)
    devices: tuple[RegisterDeviceJson, ...] = Field(min_length=1)
