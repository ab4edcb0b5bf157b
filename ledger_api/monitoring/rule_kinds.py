"""The rule kinds and their parameters: what a rule may say, checked when it is stored."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

# Figures a rule compares with: positive, at most 15 integer digits and 12 decimals, so no
# parameter can make an alert's message or figures grow without bound.
Positive = Annotated[
    Decimal, Field(gt=0, lt=Decimal("1e15"), allow_inf_nan=False, max_digits=27, decimal_places=12)
]


class Params(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class EnergyThreshold(Params):
    """A reading, or an hour of a source, above ``limitTce``."""

    per: Literal["reading", "hour"] = "hour"
    limit_tce: Positive = Field(alias="limitTce")


class EnergyBand(Params):
    """An hour of a source outside median ± k·MAD of the same hour of the recent weeks."""

    k: Positive = Decimal(3)
    weeks: int = Field(4, ge=2, le=12)
    min_history: int = Field(3, ge=2, le=12, alias="minHistory")


class EmissionBudget(Params):
    """Emissions projected to the month's end against a budget or the allowances held."""

    budget_t: Positive | None = Field(None, alias="budgetT")
    allowances: bool = False
    levels: list[Annotated[int, Field(gt=0, le=1000)]] = Field(
        default_factory=lambda: [80, 90, 100]
    )

    @model_validator(mode="after")
    def _one_budget(self) -> EmissionBudget:
        if (self.budget_t is None) == (not self.allowances):
            raise ValueError("set budgetT or allowances=true, not both")
        if not self.levels or sorted(set(self.levels)) != self.levels:
            raise ValueError("levels must be increasing percentages")
        return self


class Benchmark(Params):
    """Month-to-date intensity (tCO2e per tce) worse than a benchmark level."""

    level_t_per_tce: Positive = Field(alias="levelTPerTce")


class DataQuality(Params):
    """Terminals silent too long, sequence gaps, readings dated ahead of the server clock."""

    max_silence_s: int = Field(alias="maxSilenceS", gt=0)
    max_ahead_s: int = Field(60, alias="maxAheadS", ge=0)
    gaps: bool = True


KINDS: dict[str, type[Params]] = {
    "energy_threshold": EnergyThreshold,
    "energy_band": EnergyBand,
    "emission_budget": EmissionBudget,
    "benchmark": Benchmark,
    "data_quality": DataQuality,
}
RuleKind = Literal[
    "energy_threshold", "energy_band", "emission_budget", "benchmark", "data_quality"
]
