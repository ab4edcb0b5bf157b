"""What a figure proof bundle carries for energy and benchmark figures (optional, no version
bump): the coefficient set and the benchmark level set the entry names, as documents."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from verifier.formats.record import Frozen


class EnergyEvidenceJson(Frozen):
    """The published GB/T 2589 coefficient set and benchmark level set the entry's ``energy``
    and ``benchmark`` blocks were computed with."""

    coefficient_set: dict[str, Any] = Field(alias="coefficientSet")
    benchmark_levels: dict[str, Any] = Field(alias="benchmarkLevels")
