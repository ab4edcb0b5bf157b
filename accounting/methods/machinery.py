"""Automotive / machinery manufacturing (NDRC 2015 machinery-equipment guideline).

There is no GB/T 32151 part for automotive manufacturing; the NDRC 2015 machinery guideline is
the usual basis. Besides combustion and energy (general methods) it accounts:

* CO2 used as welding shielding gas: E = mass of CO2 consumed (enter the CO2 share of mixtures).
* Fugitive SF6 / HFC / PFC / refrigerant emissions: E_gas = Q × L, CO2e = E_gas × GWP. With no
  leak rate Q is the emitted mass itself (refill or mass-balance method, L = 1); with a leak
  rate (measured ``leak_rate`` or a chosen ``leak_rate.*`` factor) Q is the equipment charge
  and L the rate for the inventory period.
"""

from __future__ import annotations

from accounting.activities import ONE, ActivitySpec, BuildContext, Builder, GasTerm, Param

GUIDELINE = "NDRC 2015 machinery manufacturing guideline"
MACHINERY = frozenset({"automotive", "general"})
FUGITIVE_GASES = {
    "sf6": "SF6",
    "hfc_23": "HFC-23",
    "hfc_32": "HFC-32",
    "hfc_125": "HFC-125",
    "hfc_134a": "HFC-134a",
    "hfc_143a": "HFC-143a",
    "hfc_152a": "HFC-152a",
    "hfc_227ea": "HFC-227ea",
    "hfc_245fa": "HFC-245fa",
    "cf4": "CF4",
    "c2f6": "C2F6",
    "nf3": "NF3",
    "co2": "CO2",
}


def _welding(ctx: BuildContext) -> tuple[GasTerm, ...]:
    return (GasTerm("CO2", ONE),)


def _fugitive(gas: str) -> Builder:
    def build(ctx: BuildContext) -> tuple[GasTerm, ...]:
        chosen = ctx.chosen_id()
        if chosen is not None or "leak_rate" in ctx.params:
            return (GasTerm(gas, ctx.value("leak_rate", chosen)),)
        return (GasTerm(gas, ONE),)

    return build


SPECS: tuple[ActivitySpec, ...] = (
    ActivitySpec(
        code="process.welding_co2",
        category="process",
        method=f"{GUIDELINE}: CO2 shielding gas in welding, E = mass of CO2 used",
        units=("t",),
        build=_welding,
        industries=MACHINERY,
        description="CO2 consumed as welding shielding gas (mass of CO2)",
    ),
    *(
        ActivitySpec(
            code=f"fugitive.{key}",
            category="process",
            method=f"{GUIDELINE}: fugitive emissions, E = Q × L × GWP",
            units=("t",),
            build=_fugitive(gas),
            params=(
                Param("leak_rate", "1", "share of the charge emitted in the period", fraction=True),
            ),
            industries=MACHINERY,
            slot="leak_rate",
            description=f"{gas} emitted (or charge, with a leak rate)",
        )
        for key, gas in FUGITIVE_GASES.items()
    ),
)
