"""GB/T 32151.7-2023 flat glass: oxidation of carbon powder added to the batch.

E = Q_C × C_C × 44/12, with Q_C the carbon powder consumed (t) and C_C its carbon content
(mass fraction, measured: the reference data has no default). Carbonates in the batch are
``process.carbonate.*``; fuels and energy are the general methods.
"""

from __future__ import annotations

from accounting.activities import ActivitySpec, BuildContext, GasTerm, Param


def _carbon_powder(ctx: BuildContext) -> tuple[GasTerm, ...]:
    content = ctx.value("carbon_content")
    return (GasTerm("CO2", content * ctx.factor("molar_mass.co2"), ctx.factor("molar_mass.c")),)


SPECS: tuple[ActivitySpec, ...] = (
    ActivitySpec(
        code="process.glass_carbon_powder",
        category="process",
        method="GB/T 32151.7-2023: carbon powder in batch, E = Q_C × C_C × 44/12",
        units=("t",),
        build=_carbon_powder,
        params=(Param("carbon_content", "1", "carbon mass fraction of the powder", fraction=True),),
        industries=frozenset({"flat_glass"}),
        description="carbon powder (reducing agent) added to the glass batch",
    ),
)
