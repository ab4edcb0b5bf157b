"""The figure proof bundle (``docs/figure-proof-format.md``): frozen models of what
``carbon-verify figure`` reads. Shapes only; the checks live in ``verifier.checks.figure``."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from verifier.formats.energy import EnergyEvidenceJson
from verifier.formats.record import (
    ADDRESS,
    HEX32,
    SIGNATURE,
    AnchorLocation,
    BatchJson,
    Frozen,
    LeafJson,
    RegistryProofJson,
)
from verifier.formats.registers import RegisterEvidenceJson

FIGURE_PROOF_FORMAT = "carbon-ledger/figure-proof"
# v2 adds ``devices``: each counted terminal's registration and the period's edges. v1 bundles
# are still read, and the verifier says which guarantees they lack. v3: batches carry their
# enterprise's manifest section and its path instead of the whole manifest; ``registry`` is
# the enterprise's signed registry chain (enrolment, sources, terminals, rotations, revocations).
FIGURE_PROOF_VERSION = 3


class FigureJson(Frozen):
    """The figure being proven: a path into the evaluation entry and its reported value."""

    path: str = Field(min_length=1)
    value: str


class DomainJson(Frozen):
    chain_id: int = Field(alias="chainId", ge=1)
    verifying_contract: str = Field(alias="verifyingContract", pattern=ADDRESS)


class SignedRecordJson(Frozen):
    """One contributing record: its EIP-712 message, signature and attributes."""

    message: dict[str, Any]
    signature: str = Field(pattern=SIGNATURE)
    attributes: dict[str, Any] | None = None


class BatchProofJson(Frozen):
    """The records of one anchored batch, proven together by one multiproof."""

    batch: BatchJson
    anchor: AnchorLocation
    records: tuple[int, ...] = Field(min_length=1)  # indices into bundle.records, as leaves
    leaves: tuple[str, ...] = Field(min_length=1)
    proof: tuple[str, ...]
    proof_flags: tuple[bool, ...] = Field(alias="proofFlags")


class EntryProofJson(Frozen):
    """The evaluation entry's own inclusion in an anchored batch."""

    leaf: LeafJson
    proof: tuple[str, ...]
    batch: BatchJson
    anchor: AnchorLocation


class EdgeJson(Frozen):
    """A device's reading just outside the period, with the path proving it anchored (v2)."""

    record: SignedRecordJson
    proof: tuple[str, ...]
    batch: BatchJson
    anchor: AnchorLocation


class DeviceEvidenceJson(Frozen):
    """Once per counted device (v2): its anchored registry events, and its readings just
    before and just after the period (null where a registry event proves there is none)."""

    device: str = Field(pattern=ADDRESS)
    registry: tuple[RegistryProofJson, ...] = Field(min_length=1)
    before: EdgeJson | None = None
    after: EdgeJson | None = None


class CountersignatureJson(Frozen):
    """A third-party verifier's countersignature of the declaration (an anchored
    ``enterprise.added_value_countersigned`` event) and the anchored events naming the
    countersigner's key (``verifier.countersigner_set``)."""

    countersignature: RegistryProofJson
    keys: tuple[RegistryProofJson, ...]


class InputsEvidenceJson(Frozen):
    """v3: the enterprise's signed declaration of the added value the entry graded with, and
    the anchored registry events naming its signing key (enrolment, ``enterprise.signer_set``);
    optionally, verifiers' countersignatures of it."""

    declaration: RegistryProofJson
    signers: tuple[RegistryProofJson, ...] = Field(min_length=1)
    countersignatures: tuple[CountersignatureJson, ...] = Field(
        default=(), exclude_if=lambda value: not value
    )


class GreenCertificatesEvidenceJson(Frozen):
    """The enterprise's signed green-certificate claims behind ``entry.scope2`` (anchored
    ``enterprise.green_certificates_claimed`` events) and the anchored events naming its
    signing key; the ``scope2`` check reads them (``verifier.checks.scope2``)."""

    claims: tuple[RegistryProofJson, ...] = Field(min_length=1)
    signers: tuple[RegistryProofJson, ...] = Field(min_length=1)


class SupersessionEvidenceJson(Frozen):
    """The evaluation that supersedes this bundle's entry: its entry and that entry's own
    inclusion in an anchored batch (optional; the ``supersession`` check reads it)."""

    entry: dict[str, Any]
    leaf: LeafJson
    proof: tuple[str, ...]
    batch: BatchJson
    anchor: AnchorLocation


class PublicationEvidenceJson(Frozen):
    """The enterprise's signed statement publishing this entry (an ``evaluation.published``
    registry event, ``verifier.protocol.publication``) and, once anchored, its inclusion
    (null until then). Optional: a public page's bundle carries it."""

    event: dict[str, Any]
    inclusion: EntryProofJson | None = None


class FigureProofBundle(Frozen):
    """Proof of one reported figure: the anchored entry, every contributing signed record with
    its inclusion proof, the factor set and the ruleset the figure was computed with."""

    format: Literal["carbon-ledger/figure-proof"] = FIGURE_PROOF_FORMAT
    version: Literal[1, 2, 3] = FIGURE_PROOF_VERSION
    figure: FigureJson
    domain: DomainJson
    entry: dict[str, Any]
    entry_proof: EntryProofJson = Field(alias="entryProof")
    records: tuple[SignedRecordJson, ...]
    batches: tuple[BatchProofJson, ...]
    factor_set: dict[str, Any] = Field(alias="factorSet")
    ruleset: dict[str, Any] | None = None
    devices: tuple[DeviceEvidenceJson, ...] = ()  # v2: one per device of the entry
    # v3: the enterprise's registry chain, enrolment first, each event with its anchored leaf
    registry: tuple[RegistryProofJson, ...] = ()
    # v3: the declaration behind ``entry.inputs.addedValue``; null when the entry has none
    inputs: InputsEvidenceJson | None = None
    # Optional: the later evaluation of the same enterprise and period naming this entry in its
    # ``supersedes``; the verifier then reports the entry superseded (a warning)
    superseded_by: SupersessionEvidenceJson | None = Field(default=None, alias="supersededBy")
    # Optional, absent unless the entry names green-certificate claims (``entry.scope2``)
    green_certificates: GreenCertificatesEvidenceJson | None = Field(
        default=None, alias="greenCertificates", exclude_if=lambda value: value is None
    )
    # Optional, v3 (section 11): the devices proven by their cumulative registers, whose
    # readings are then not in ``records``; absent from a record-by-record bundle
    registers: RegisterEvidenceJson | None = Field(
        default=None, exclude_if=lambda value: value is None
    )
    # Optional, absent unless set (no version bump): the coefficient and benchmark level sets
    # behind the entry's ``energy`` and ``benchmark`` blocks, for an energy figure
    energy: EnergyEvidenceJson | None = Field(default=None, exclude_if=lambda value: value is None)
    # Optional, absent unless set (no version bump): the enterprise's publication statement
    publication: PublicationEvidenceJson | None = Field(
        default=None, exclude_if=lambda value: value is None
    )

    def to_json(self) -> dict[str, Any]:
        return self.model_dump(mode="json", by_alias=True)


__all__ = [
    "FIGURE_PROOF_FORMAT",
    "FIGURE_PROOF_VERSION",
    "HEX32",
    "BatchProofJson",
    "DeviceEvidenceJson",
    "DomainJson",
    "EdgeJson",
    "EntryProofJson",
    "FigureJson",
    "FigureProofBundle",
    "GreenCertificatesEvidenceJson",
    "InputsEvidenceJson",
    "PublicationEvidenceJson",
    "SignedRecordJson",
    "SupersessionEvidenceJson",
]
