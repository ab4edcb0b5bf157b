"""The population proof bundle (``docs/figure-proof-format.md`` section 9): what a principal
allowed to see every member (a regulator) needs to recompute a ``peers-weighted/v2`` average.
Shapes only; the checks live in ``verifier.checks.population``."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from verifier.formats.figure import DomainJson, EntryProofJson
from verifier.formats.record import Frozen, RegistryProofJson

POPULATION_PROOF_FORMAT = "carbon-ledger/population-proof"
POPULATION_PROOF_VERSION = 1


class MemberJson(Frozen):
    """One peer: its anchored evaluation entry and a regulator's attestation of it."""

    entry: dict[str, Any]
    entry_proof: EntryProofJson = Field(alias="entryProof")
    attestation: RegistryProofJson


class PopulationProofBundle(Frozen):
    """The graded entry, and every peer entry its average was formed from."""

    format: Literal["carbon-ledger/population-proof"] = POPULATION_PROOF_FORMAT
    version: Literal[1] = POPULATION_PROOF_VERSION
    domain: DomainJson
    entry: dict[str, Any]
    entry_proof: EntryProofJson = Field(alias="entryProof")
    members: tuple[MemberJson, ...] = Field(min_length=1)

    def to_json(self) -> dict[str, Any]:
        return self.model_dump(mode="json", by_alias=True)


__all__ = [
    "POPULATION_PROOF_FORMAT",
    "POPULATION_PROOF_VERSION",
    "MemberJson",
    "PopulationProofBundle",
]
