"""GB/T 32151.10-2015 chemicals: carbon mass balance, N2O from nitric / adipic acid, recovery.

* Feedstock carbon mass balance, one entry per carbon stream (碳源流):
  CO2 = [Σ AD_in × CC_in − (Σ Y_product × CC_product + Σ W_waste × CC_waste)] × 44/12,
  so inputs add and product / waste outputs subtract, each with its measured carbon content.
* N2O = AD × EF × (1 − η × μ) / 1000 (t), η = abatement efficiency, μ = abatement-unit
  utilisation; CO2e = N2O × GWP_N2O. Without abatement data η × μ = 0.
* CO2 recovered and supplied to others as product is deducted (category ``deducted``).
"""

from __future__ import annotations

from accounting.activities import (
    ONE,
    THOUSAND,
    ZERO,
    ActivitySpec,
    BuildContext,
    Builder,
    GasTerm,
    Param,
)

PART = "GB/T 32151.10-2015"
CHEMICALS = frozenset({"chemicals"})
MASS_BALANCE = frozenset({"chemicals", "general"})
CARBON = (Param("cc", "tC/t", "carbon mass fraction of the stream", fraction=True),)
N2O_PARAMS = (
    Param("ef", "kgN2O/t", "measured N2O generation factor"),
    Param("abatement_efficiency", "1", "N2O removal efficiency η", fraction=True),
    Param("abatement_utilisation", "1", "abatement unit utilisation μ", fraction=True),
)


def _carbon_stream(ctx: BuildContext) -> tuple[GasTerm, ...]:
    numerator = ctx.value("cc") * ctx.factor("molar_mass.co2")
    return (GasTerm("CO2", numerator, ctx.factor("molar_mass.c")),)


def _stream_spec(code: str, sign: int, what: str) -> ActivitySpec:
    return ActivitySpec(
        code=code,
        category="process",
        method=f"{PART}: feedstock carbon mass balance, CO2 = (C_in − C_out) × 44/12",
        units=("t",),
        build=_carbon_stream,
        params=CARBON,
        industries=MASS_BALANCE,
        sign=sign,
        description=what,
    )


def _n2o(factor_id: str) -> Builder:
    def build(ctx: BuildContext) -> tuple[GasTerm, ...]:
        factor = ctx.value("ef", factor_id)
        # Abatement data comes as a pair; one without the other is a missing parameter.
        if {"abatement_efficiency", "abatement_utilisation"} & ctx.params.keys():
            reduction = ctx.value("abatement_efficiency") * ctx.value("abatement_utilisation")
        else:
            reduction = ZERO
        return (GasTerm("N2O", factor * (ONE - reduction), THOUSAND),)

    return build


def _n2o_spec(code: str, factor_id: str, what: str) -> ActivitySpec:
    return ActivitySpec(
        code=code,
        category="process",
        method=f"{PART}: N2O = AD × EF × (1 − η × μ) / 1000",
        units=("t",),
        build=_n2o(factor_id),
        params=N2O_PARAMS,
        industries=CHEMICALS,
        description=what,
    )


def _recovered(ctx: BuildContext) -> tuple[GasTerm, ...]:
    return (GasTerm("CO2", ONE),)


SPECS: tuple[ActivitySpec, ...] = (
    _stream_spec("process.carbon_input", 1, "carbon-bearing feedstock entering the unit"),
    _stream_spec("process.carbon_output.product", -1, "carbon leaving in products"),
    _stream_spec("process.carbon_output.waste", -1, "carbon leaving in waste streams"),
    *(
        _n2o_spec(
            f"process.n2o.nitric_acid.{p}",
            f"n2o.nitric_acid.{p}",
            f"nitric acid produced ({p}-pressure plant)",
        )
        for p in ("atmospheric", "medium", "high")
    ),
    _n2o_spec("process.n2o.adipic_acid", "n2o.adipic_acid", "adipic acid produced"),
    ActivitySpec(
        code="recovery.co2",
        category="deducted",
        method=f"{PART}: CO2 recovered and supplied as product, deducted",
        units=("t",),
        build=_recovered,
        industries=CHEMICALS,
        sign=-1,
        description="CO2 captured and supplied outside the boundary (mass of CO2)",
    ),
)
