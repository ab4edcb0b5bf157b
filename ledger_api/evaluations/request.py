"""What one evaluation is asked for: the enterprise, the period and grading's inputs."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal


@dataclass(frozen=True)
class EvaluationRequest:
    enterprise: str
    period_start: date
    period_end: date
    added_value: Decimal | None
    product_output: Decimal | None = None
    ruleset_id: str | None = None
    factor_set_id: str | None = None
    gwp: str = "AR5"
    average_source: str = "ruleset"
    factor_choices: dict[str, str] | None = None
    # A grid factor other than the selection rule's, and why (required with it).
    grid_factor: str | None = None
    grid_factor_reason: str | None = None
    # Electricity at its equivalent value (等价值, the default) or equal value (当量值).
    energy_basis: str = "equivalent"
