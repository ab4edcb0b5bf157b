"""Request and response bodies of evaluations, ratings and reported figures."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field

from ledger_api.core.schemas import DECIMAL_TEXT, IDENTIFIER, Open, Strict

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


class EvaluationOut(BaseModel):
    identifier: str
    enterprise: str
    period_start: str = Field(serialization_alias="periodStart")
    period_end: str = Field(serialization_alias="periodEnd")
    digest: str
    total: str
    grade: int | None
    anchored: bool
    entry: dict[str, Any]


class PeriodRowOut(Open):
    """One evaluation's period; the rating's or the reported figures' own keys follow it."""

    evaluation: str
    period_start: str = Field(serialization_alias="periodStart")
    period_end: str = Field(serialization_alias="periodEnd")
