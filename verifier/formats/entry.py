"""The evaluation entry (``carbon-ledger/evaluation`` v1) as a frozen model: the fields the
figure checks read. Its format name and figure paths are in :mod:`verifier.protocol.entry`."""

from __future__ import annotations

from datetime import date
from typing import Any, Literal

from pydantic import Field

from verifier.formats.record import ADDRESS, HEX32, Frozen


class EntryPeriod(Frozen):
    start: date
    end: date
    start_ts: int = Field(alias="startTs")
    end_ts: int = Field(alias="endTs")
    utc_offset_hours: int = Field(alias="utcOffsetHours")


class EntryBoundary(Frozen):
    sources: tuple[str, ...]


class EntryDevice(Frozen):
    device: str = Field(pattern=ADDRESS)
    source: str
    first_seq: int = Field(alias="firstSeq", ge=0)
    last_seq: int = Field(alias="lastSeq", ge=0)
    count: int = Field(ge=1)


class EntryRecords(Frozen):
    count: int = Field(ge=1)
    digests_hash: str = Field(alias="digestsHash", pattern=HEX32)
    devices: tuple[EntryDevice, ...] = Field(min_length=1)


class EntryFactorSet(Frozen):
    id: str
    version: str
    digest: str = Field(pattern=HEX32)


class EntryAccounting(Frozen):
    engine_version: str = Field(alias="engineVersion")
    factor_set: EntryFactorSet = Field(alias="factorSet")
    gwp: str
    factor_choices: dict[str, str] = Field(alias="factorChoices")
    # Which grid factor the selection rule chose and why (entries since cn-ghg-v2); the
    # figures are recomputed from factorChoices, which names the same factor.
    grid_factor: dict[str, Any] | None = Field(default=None, alias="gridFactor")
    # The factor ids the accounting used, for the report's provenance list (not checked).
    factors_used: tuple[str, ...] | None = Field(default=None, alias="factorsUsed")
    figures: dict[str, Any]


class EntryDeclaration(Frozen):
    declaration: str = Field(pattern=HEX32)


class EntryInputs(Frozen):
    added_value: EntryDeclaration | None = Field(alias="addedValue")


class EntrySupersedes(Frozen):
    evaluation: str
    digest: str = Field(pattern=HEX32)
    reason: Literal["corrected_data", "new_factor_set", "ruleset_change"]
    note: str


class EvaluationEntry(Frozen):
    """The fields of a ``carbon-ledger/evaluation`` v1 entry the checks read."""

    format: Literal["carbon-ledger/evaluation"]
    version: Literal[1]
    identifier: str
    enterprise: str
    industry: str
    region: str | None = None
    period: EntryPeriod
    boundary: EntryBoundary
    records: EntryRecords
    accounting: EntryAccounting
    rating: dict[str, Any] | None
    # Graded, indicative (a placeholder average) or not gradable, and why; absent in older
    # entries.
    grading: dict[str, Any] | None = None
    # Who attests the inputs no record proves: ``{"addedValue": {"declaration": event digest}}``
    # for a declaration the enterprise signed, ``{"addedValue": null}`` for none; absent in
    # older entries (not attested either).
    inputs: EntryInputs | None = None
    created_at: str = Field(alias="createdAt")
    # A re-evaluation: the entry it supersedes (identifier and digest), the reason and a note;
    # absent in a first evaluation.
    supersedes: EntrySupersedes | None = None
    # Comprehensive energy (GB/T 2589, ``accounting.energy``) and the benchmark standing
    # (``accounting.benchmarks``); absent in entries written before them.
    energy: dict[str, Any] | None = None
    benchmark: dict[str, Any] | None = None
    # Scope 2 location- and market-based and the green-certificate claims behind the latter
    # (``accounting.scope2``); absent when no claim was made under a location-based ruleset.
    scope2: dict[str, Any] | None = None
