"""Carbonate decomposition in raw materials and fluxes.

GB/T 32151.7 (flat glass) form, also used by the chemicals (32151.10) and aluminium (32151.4)
parts: E = M × EF × F, with M the carbonate consumed (t), EF the stoichiometric factor
(tCO2/t) and F the calcination fraction (default 1, i.e. 100 %). Cement accounts raw-material
carbonates through clinker (``process.clinker``) instead, and the machinery guideline has none.
"""

from __future__ import annotations

from accounting.activities import ONE, ActivitySpec, BuildContext, GasTerm, Param

CARBONATES = (
    "caco3",
    "mgco3",
    "dolomite",
    "na2co3",
    "nahco3",
    "k2co3",
    "baco3",
    "li2co3",
    "srco3",
    "feco3",
    "mnco3",
)
INDUSTRIES = frozenset({"flat_glass", "chemicals", "iron_steel", "aluminium", "general"})
PARAMS = (
    Param("ef", "tCO2/t", "measured emission factor of the carbonate"),
    Param("fraction", "1", "calcination fraction (1 = fully decomposed)", fraction=True),
)


def _spec(name: str) -> ActivitySpec:
    def build(ctx: BuildContext) -> tuple[GasTerm, ...]:
        factor = ctx.value("ef", f"carbonate.{name}")
        fraction = ctx.optional("fraction", ONE)
        return (GasTerm("CO2", factor * fraction),)

    return ActivitySpec(
        code=f"process.carbonate.{name}",
        category="process",
        method="GB/T 32151.7-2023 (also .10, .4): carbonate decomposition, E = M × EF × F",
        units=("t",),
        build=build,
        params=PARAMS,
        industries=INDUSTRIES,
        description=f"{name} consumed as raw material or flux",
    )


SPECS: tuple[ActivitySpec, ...] = tuple(_spec(name) for name in CARBONATES)
