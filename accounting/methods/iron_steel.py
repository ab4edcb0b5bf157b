"""GB/T 32151.5-2015 iron and steel: process CO2 and carbon locked in products.

E = E_combustion + E_process + E_electricity/heat − R_fixed. Process sources are fluxes
(limestone, dolomite), electrode consumption and purchased carbon-bearing materials (pig iron,
DRI, ferro-alloys), each AD × EF; R_fixed = Σ AD_product × EF_product (crude steel, methanol …).
BF / COG / BOF gas used as fuel are the general ``fuel.*`` codes. Every default here is recalled
guideline data (see the factor set); ferro-alloys have no default and need a measured ``ef``.
"""

from __future__ import annotations

from accounting.activities import ActivitySpec, BuildContext, Builder, GasTerm, Param

PART = "GB/T 32151.5-2015"
STEEL = frozenset({"iron_steel"})
EF = (Param("ef", "tCO2/t", "measured emission factor"),)


def _factor_times_quantity(factor_id: str | None) -> Builder:
    def build(ctx: BuildContext) -> tuple[GasTerm, ...]:
        return (GasTerm("CO2", ctx.value("ef", factor_id)),)

    return build


def _process(code: str, factor_id: str | None, what: str) -> ActivitySpec:
    return ActivitySpec(
        code=code,
        category="process",
        method=f"{PART}: process emissions, E = AD × EF",
        units=("t",),
        build=_factor_times_quantity(factor_id),
        params=EF,
        industries=STEEL,
        description=what,
    )


def _fixed(product: str) -> ActivitySpec:
    return ActivitySpec(
        code=f"carbon_fixed.{product}",
        category="deducted",
        method=f"{PART}: carbon locked in products, R = AD × EF, deducted",
        units=("t",),
        build=_factor_times_quantity(f"carbon_fixed.{product}"),
        params=EF,
        industries=STEEL,
        sign=-1,
        description=f"{product.replace('_', ' ')} leaving the boundary",
    )


SPECS: tuple[ActivitySpec, ...] = (
    _process("process.flux.limestone", "process.flux.limestone", "limestone flux consumed"),
    _process("process.flux.dolomite", "process.flux.dolomite", "dolomite flux consumed"),
    _process("process.electrode", "process.electrode", "graphite electrodes consumed"),
    _process("process.purchased.pig_iron", "process.purchased.pig_iron", "pig iron bought in"),
    _process("process.purchased.dri", "process.purchased.dri", "direct-reduced iron bought in"),
    _process("process.purchased.ferroalloy", None, "ferro-alloys bought in (measured ef)"),
    _fixed("crude_steel"),
    _fixed("methanol"),
)
