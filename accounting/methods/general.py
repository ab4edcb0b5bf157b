"""GB/T 32150 general rules: fuel combustion, biomass memo, purchased / exported energy.

* Fuel combustion (GB/T 32150-2015 fuel-combustion formulas; GB/T 32150-2025 cl. 7.5):
  E = FC × NCV × CC × OF × 44/12, i.e. AD = FC × NCV (GJ) and EF = CC × OF × 44/12 (tCO2/GJ).
  A quantity already in energy units is AD itself, so NCV is not applied.
* Biomass combustion: same formula, reported apart and not counted in the total.
* Purchased electricity (cl. 7.5.6): E = AD (MWh) × EF_grid; exported (cl. 7.5.7) subtracted.
* Purchased heat (cl. 7.5.6): E = AD (GJ) × EF_heat (default 0.11 tCO2/GJ); exported subtracted.
"""

from __future__ import annotations

from accounting.activities import ONE, ActivitySpec, BuildContext, GasTerm, Param

GB32150 = "GB/T 32150-2015 / GB/T 32150-2025"
ENERGY = "GJ"
MASS = "t"
GAS_VOLUME = "wan_Nm3"

# fuel key → unit its default NCV is given per
FUELS: dict[str, str] = {
    "anthracite": MASS,
    "bituminous_coal": MASS,
    "lignite": MASS,
    "raw_coal": MASS,
    "washed_coal": MASS,
    "other_washed_coal": MASS,
    "briquettes": MASS,
    "coke": MASS,
    "crude_oil": MASS,
    "fuel_oil": MASS,
    "gasoline": MASS,
    "diesel": MASS,
    "kerosene": MASS,
    "lpg": MASS,
    "lng": MASS,
    "refinery_gas": MASS,
    "natural_gas": GAS_VOLUME,
    "coke_oven_gas": GAS_VOLUME,
    "blast_furnace_gas": GAS_VOLUME,
    "bof_gas": GAS_VOLUME,
    "other_gas": GAS_VOLUME,
}


def fuel_params(per: str) -> tuple[Param, ...]:
    per_text = "10^4 Nm3" if per == GAS_VOLUME else per
    return (
        Param("ncv", f"GJ/{per_text}", "net calorific value (not used for energy quantities)"),
        Param("cc", "tC/GJ", "carbon content per unit heat"),
        Param("of", "1", "oxidation rate", fraction=True),
    )


def _default(fuel: str | None, name: str) -> str | None:
    """Factor id of a fuel default; biomass (``None``) has no defaults, all measured."""
    return f"fuel.{fuel}.{name}" if fuel else None


def combustion_term(ctx: BuildContext, fuel: str | None) -> GasTerm:
    """CO2 per unit of fuel: NCV × CC × OF × 44, over 12 (defaults unless measured)."""
    if ctx.unit == ENERGY:
        ctx.reject("ncv", "does not apply: the quantity is already in energy units")
        ncv = ONE
    else:
        ncv = ctx.value("ncv", _default(fuel, "ncv"))
    cc = ctx.value("cc", _default(fuel, "cc"))
    oxidation = ctx.value("of", _default(fuel, "of"))
    numerator = ncv * cc * oxidation * ctx.factor("molar_mass.co2")
    return GasTerm("CO2", numerator, ctx.factor("molar_mass.c"))


def _fuel_spec(fuel: str, per: str) -> ActivitySpec:
    def build(ctx: BuildContext) -> tuple[GasTerm, ...]:
        return (combustion_term(ctx, fuel),)

    return ActivitySpec(
        code=f"fuel.{fuel}",
        category="combustion",
        method=f"{GB32150}: fuel combustion, E = FC × NCV × CC × OF × 44/12",
        units=(per, ENERGY),
        build=build,
        params=fuel_params(per),
        description=f"{fuel.replace('_', ' ')} burnt as fuel",
    )


def _biomass(ctx: BuildContext) -> tuple[GasTerm, ...]:
    return (combustion_term(ctx, None),)


def _grid(ctx: BuildContext) -> tuple[GasTerm, ...]:
    factor_id = ctx.chosen_id()
    assert factor_id is not None  # every factor set names a default grid series
    return (GasTerm("CO2", ctx.factor(factor_id)),)


def _heat(ctx: BuildContext) -> tuple[GasTerm, ...]:
    return (GasTerm("CO2", ctx.value("ef", ctx.chosen_id())),)


HEAT_PARAMS = (Param("ef", "tCO2/GJ", "measured or supplier heat emission factor"),)

SPECS: tuple[ActivitySpec, ...] = (
    *(_fuel_spec(fuel, per) for fuel, per in FUELS.items()),
    ActivitySpec(
        code="fuel.biomass",
        category="biomass_memo",
        method=f"{GB32150}: biomass combustion, reported apart and not in the total",
        units=(MASS, ENERGY),
        build=_biomass,
        params=fuel_params(MASS),
        description="biomass fuel; all parameters measured",
    ),
    ActivitySpec(
        code="electricity.purchased",
        category="purchased_electricity",
        method=f"{GB32150}: purchased electricity, E = AD × EF_grid (2025 cl. 7.5.6)",
        units=("MWh",),
        build=_grid,
        slot="grid_ef",
        description="electricity bought from the grid",
    ),
    ActivitySpec(
        code="electricity.exported",
        category="exported",
        method=f"{GB32150}: exported electricity, subtracted (2025 cl. 7.5.7)",
        units=("MWh",),
        build=_grid,
        sign=-1,
        slot="grid_ef",
        description="electricity supplied outside the boundary",
    ),
    ActivitySpec(
        code="heat.purchased",
        category="purchased_heat",
        method=f"{GB32150}: purchased heat, E = AD × EF_heat (2025 cl. 7.5.6)",
        units=(ENERGY,),
        build=_heat,
        params=HEAT_PARAMS,
        slot="heat_ef",
        description="heat (steam, hot water) bought, as heat content",
    ),
    ActivitySpec(
        code="heat.exported",
        category="exported",
        method=f"{GB32150}: exported heat, subtracted (2025 cl. 7.5.7)",
        units=(ENERGY,),
        build=_heat,
        params=HEAT_PARAMS,
        sign=-1,
        slot="heat_ef",
        description="heat supplied outside the boundary, as heat content",
    ),
)
