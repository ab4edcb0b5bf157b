"""Industry keys: the white paper's five sectors, building materials split by standard part."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Industry:
    key: str
    sector: str
    name: str
    standard: str


INDUSTRY_TABLE: tuple[Industry, ...] = (
    Industry(
        "flat_glass",
        "building_materials",
        "Flat glass",
        "GB/T 32151.7-2023 (carbon emission accounting and reporting, part 7: flat glass)",
    ),
    Industry(
        "cement",
        "building_materials",
        "Cement clinker",
        "GB/T 32151.8-2023 (carbon emission accounting and reporting, part 8: cement)",
    ),
    Industry(
        "chemicals",
        "chemicals",
        "Chemicals",
        "GB/T 32151.10-2015 (GHG accounting and reporting, part 10: chemicals)",
    ),
    Industry(
        "iron_steel",
        "iron_steel",
        "Iron and steel",
        "GB/T 32151.5-2015 (GHG accounting and reporting, part 5: iron and steel)",
    ),
    Industry(
        "automotive",
        "automotive",
        "Automotive / machinery manufacturing",
        "NDRC 2015 machinery manufacturing GHG accounting guideline (no GB/T 32151 part)",
    ),
    Industry(
        "aluminium",
        "aluminium",
        "Electrolytic aluminium",
        "GB/T 32151.4-2015 (GHG accounting and reporting, part 4: aluminium smelting)",
    ),
)

INDUSTRIES: tuple[str, ...] = tuple(i.key for i in INDUSTRY_TABLE)
# Accounting under GB/T 32150 alone, for enterprises outside the five sectors.
GENERAL = "general"
ACCEPTED_INDUSTRIES: frozenset[str] = frozenset((*INDUSTRIES, GENERAL))


def industry(key: str) -> Industry | None:
    if key == GENERAL:
        return Industry(GENERAL, GENERAL, "General industry", "GB/T 32150-2015 (general rules)")
    return next((i for i in INDUSTRY_TABLE if i.key == key), None)
