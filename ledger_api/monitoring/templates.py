"""Rule templates per industry: a starting set an enterprise applies and then tunes. The
figures are illustrative defaults for hourly terminals, not regulatory levels."""

from __future__ import annotations

from typing import Any

Template = tuple[str, str, dict[str, Any]]  # kind, name, params

_COMMON: list[Template] = [
    ("data_quality", "terminal data quality", {"maxSilenceS": 7_200, "maxAheadS": 60}),
    ("energy_band", "unusual hourly energy", {"k": "3", "weeks": 4, "minHistory": 3}),
]

TEMPLATES: dict[str, list[Template]] = {
    "iron_steel": [
        *_COMMON,
        ("energy_threshold", "hourly energy ceiling", {"per": "hour", "limitTce": "500"}),
        (
            "emission_budget",
            "allowance early warning",
            {"allowances": True, "levels": [80, 90, 100]},
        ),
        ("benchmark", "carbon intensity of energy", {"levelTPerTce": "2.8"}),
    ],
    "flat_glass": [
        *_COMMON,
        ("energy_threshold", "hourly energy ceiling", {"per": "hour", "limitTce": "40"}),
        (
            "emission_budget",
            "allowance early warning",
            {"allowances": True, "levels": [80, 90, 100]},
        ),
    ],
    "aluminium": [
        *_COMMON,
        ("energy_threshold", "hourly energy ceiling", {"per": "hour", "limitTce": "200"}),
        (
            "emission_budget",
            "allowance early warning",
            {"allowances": True, "levels": [80, 90, 100]},
        ),
    ],
}


def template_for(industry: str) -> list[Template]:
    """The industry's template, or the common rules for any other industry."""
    return TEMPLATES.get(industry, _COMMON)
