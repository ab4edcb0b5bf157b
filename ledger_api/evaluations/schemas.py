"""Request and response bodies of evaluations, ratings and reported figures."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field

from ledger_api.core.schemas import DECIMAL_TEXT, IDENTIFIER, Open, Strict

# A countersigner's name: what the report prints after "verified by".
COUNTERSIGNER_NAME = r"^[A-Za-z0-9][A-Za-z0-9 ._-]{0,63}$"

Code = Annotated[str, Field(pattern=IDENTIFIER)]  # an activity code or a factor id


class EvaluationIn(Strict):
    """One evaluation: an enterprise, a period (inclusive dates) and what grading needs.

    Figures are decimal strings (never JSON numbers), so no value passes through a float.
    """

    enterprise: str = Field(pattern=IDENTIFIER)
    period_start: date = Field(alias="periodStart")
    period_end: date = Field(alias="periodEnd")
    added_value: str | None = Field(
        default=None,
        alias="addedValue",
        pattern=DECIMAL_TEXT,
        description="Added value of the period in 万元.",
    )
    product_output: str | None = Field(
        default=None, alias="productOutput", pattern=DECIMAL_TEXT, description="t of main product."
    )
    ruleset: str | None = Field(default=None, max_length=64)
    factor_set: str | None = Field(default=None, alias="factorSet", max_length=64)
    gwp: str = Field(default="AR5", max_length=8)
    average_source: Literal["ruleset", "population"] = Field(
        default="ruleset", alias="averageSource"
    )
    factor_choices: dict[Code, Code] | None = Field(default=None, alias="factorChoices")
    grid_factor: Code | None = Field(
        default=None,
        alias="gridFactor",
        description="A grid factor id overriding the province/region/national selection rule.",
    )
    grid_factor_reason: str | None = Field(
        default=None,
        alias="gridFactorReason",
        min_length=1,
        max_length=500,
        description="Why the grid factor is overridden (required with gridFactor).",
    )
    supersedes: SupersedesIn | None = Field(
        default=None,
        description="Required to evaluate a period again: the current evaluation and why.",
    )
    energy_basis: Literal["equivalent", "equal"] = Field(
        default="equivalent",
        alias="energyBasis",
        description="Electricity in the energy figures (GB/T 2589): equivalent value (等价值) "
        "or equal value (当量值).",
    )


class SupersedesIn(Strict):
    """The evaluation a re-evaluation replaces, and why (docs/grading.md, "Re-evaluation")."""

    evaluation: str = Field(pattern=IDENTIFIER, description="The current evaluation's identifier.")
    reason: Literal["corrected_data", "new_factor_set", "ruleset_change"]
    note: str = Field(min_length=1, max_length=500, description="What changed, in words.")


class EvaluationOut(BaseModel):
    identifier: str
    enterprise: str
    period_start: str = Field(serialization_alias="periodStart")
    period_end: str = Field(serialization_alias="periodEnd")
    digest: str
    total: str
    grade: int | None
    anchored: bool
    grid_factor: dict[str, Any] | None = Field(default=None, serialization_alias="gridFactor")
    grading: dict[str, Any] | None = None
    added_value_attestation: dict[str, Any] | None = Field(
        default=None,
        serialization_alias="addedValueAttestation",
        description="status declared / not_attested, its label, the declaration's event, "
        "and verifiedBy: the verifiers who countersigned it ({name, address, event}).",
    )
    entry: dict[str, Any]
    supersession: dict[str, Any] | None = Field(
        default=None,
        description="current, supersededBy {evaluation, reason, note}, supersedes (the entry's).",
    )
    energy: dict[str, Any] | None = Field(
        default=None,
        description="Comprehensive energy (GB/T 2589): totalTce, basis, intensity (reported); "
        "null for entries written before energy figures.",
    )
    benchmark: dict[str, Any] | None = Field(
        default=None,
        description="The benchmark standing (对标): product, levels, the firm's intensity, "
        "standing (benchmark, between, below_baseline or not_assessed with its reason).",
    )


class PeriodRowOut(Open):
    """One evaluation's period; the rating's or the reported figures' own keys follow it."""

    evaluation: str
    period_start: str = Field(serialization_alias="periodStart")
    period_end: str = Field(serialization_alias="periodEnd")


class DeclarationIn(Strict):
    """An added-value declaration (``GET /v1/typed-data`` has its EIP-712 type) and the
    enterprise's signature of it."""

    declaration: dict[str, Any] = Field(
        description="The AddedValueDeclaration message: enterprise, periodStart, periodEnd "
        "(ISO dates), addedValue (scaled integer), decimals, declaredAt (unix seconds)."
    )
    signature: str = Field(pattern=r"^0x[0-9a-fA-F]{130}$")


class DeclarationOut(BaseModel):
    event: str = Field(description="Digest of the anchored enterprise.added_value_declared event.")
    enterprise: str
    period_start: str = Field(serialization_alias="periodStart")
    period_end: str = Field(serialization_alias="periodEnd")
    added_value: str = Field(serialization_alias="addedValue", description="万元, exact.")


class CountersignatureIn(Strict):
    """A third-party verifier's signature of ``DeclarationCountersignature(bytes32
    declaration,string countersigner)`` over the declaration's EIP-712 digest."""

    countersigner: str = Field(
        pattern=COUNTERSIGNER_NAME, description="The name its key is named under."
    )
    signature: str = Field(pattern=r"^0x[0-9a-fA-F]{130}$")


class CountersignatureOut(BaseModel):
    event: str = Field(
        description="Digest of the anchored enterprise.added_value_countersigned event."
    )
    declaration: str = Field(description="The declaration's event digest.")
    countersigner: str
    signer: str = Field(description="The address that signed, the countersigner's named key.")


class CountersignerIn(Strict):
    address: str = Field(pattern=r"^0x[0-9a-fA-F]{40}$")


class CountersignerOut(BaseModel):
    countersigner: str
    signer: str
    event: str = Field(description="Digest of the anchored verifier.countersigner_set event.")


class AttestationOut(BaseModel):
    enterprise: str
    event: str = Field(description="Digest of the anchored enterprise.registration_attested event.")
    regulator: str
    registration: str | None = Field(description="The enterprise.registered event attested.")
