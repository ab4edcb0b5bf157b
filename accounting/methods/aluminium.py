"""GB/T 32151.4-2015 electrolytic aluminium: anode CO2 and anode-effect PFCs.

* Anode CO2: E = P_Al × NC × (1 − S_a − A_a) × 44/12 (NC net anode consumption t/t Al, S sulfur,
  A ash fractions). The reference data has no Chinese defaults, so all three are measured.
* PFCs, emission-factor method: E_CF4 = P_Al × EF_CF4 / 1000, E_C2F6 = P_Al × EF_C2F6 / 1000
  (EF in kg/t Al; China 2013 guideline defaults, recalled).
* PFCs, slope method (IPCC 2006 Tier 2; 40 CFR 98.63 structure): E_CF4 = S_CF4 × AEM × P_Al /
  1000, E_C2F6 = E_CF4 × F_C2F6/CF4 (AEM = anode-effect minutes per cell-day; slope and ratio
  by cell technology, IPCC 2006 Vol. 3 Table 4.16, recalled). Use one PFC method per inventory.
"""

from __future__ import annotations

from accounting.activities import (
    ONE,
    THOUSAND,
    ActivitySpec,
    BuildContext,
    Builder,
    GasTerm,
    Param,
)
from accounting.errors import InvalidParameterError

PART = "GB/T 32151.4-2015"
ALUMINIUM = frozenset({"aluminium"})
TECHNOLOGIES = {
    "cwpb": "centre-worked prebake",
    "swpb": "side-worked prebake",
    "vss": "vertical-stud Søderberg",
    "hss": "horizontal-stud Søderberg",
}


def _anode(ctx: BuildContext) -> tuple[GasTerm, ...]:
    impurities = ctx.value("sulfur") + ctx.value("ash")
    if impurities > ONE:
        raise InvalidParameterError("sulfur + ash exceed 1", entry=ctx.index, field="params.ash")
    carbon = ctx.value("net_anode_consumption") * (ONE - impurities)
    return (GasTerm("CO2", carbon * ctx.factor("molar_mass.co2"), ctx.factor("molar_mass.c")),)


def _pfc_factor(ctx: BuildContext) -> tuple[GasTerm, ...]:
    return (
        GasTerm("CF4", ctx.value("ef_cf4", "pfc.ef.cf4"), THOUSAND),
        GasTerm("C2F6", ctx.value("ef_c2f6", "pfc.ef.c2f6"), THOUSAND),
    )


def _pfc_slope(technology: str) -> Builder:
    def build(ctx: BuildContext) -> tuple[GasTerm, ...]:
        cf4 = ctx.value("slope_cf4", f"pfc.slope.{technology}.cf4") * ctx.value("aem")
        ratio = ctx.value("ratio_c2f6", f"pfc.slope.{technology}.c2f6_ratio")
        return (GasTerm("CF4", cf4, THOUSAND), GasTerm("C2F6", cf4 * ratio, THOUSAND))

    return build


SLOPE_PARAMS = (
    Param("aem", "AE-min/cell-day", "anode-effect minutes per cell-day"),
    Param("slope_cf4", "(kgCF4/t)/(AE-min/cell-day)", "measured CF4 slope coefficient"),
    Param("ratio_c2f6", "kgC2F6/kgCF4", "measured C2F6/CF4 weight fraction"),
)

SPECS: tuple[ActivitySpec, ...] = (
    ActivitySpec(
        code="process.anode",
        category="process",
        method=f"{PART}: anode consumption, E = P × NC × (1 − S − A) × 44/12",
        units=("t",),
        build=_anode,
        params=(
            Param("net_anode_consumption", "t/t", "net carbon anode consumed per t Al"),
            Param("sulfur", "1", "sulfur mass fraction of the anode", fraction=True),
            Param("ash", "1", "ash mass fraction of the anode", fraction=True),
        ),
        industries=ALUMINIUM,
        description="primary aluminium produced (quantity), anode data measured",
    ),
    ActivitySpec(
        code="process.pfc.emission_factor",
        category="process",
        method=f"{PART}: anode-effect PFCs, emission-factor method, E = P × EF / 1000",
        units=("t",),
        build=_pfc_factor,
        params=(
            Param("ef_cf4", "kg/t", "measured CF4 factor"),
            Param("ef_c2f6", "kg/t", "measured C2F6 factor"),
        ),
        industries=ALUMINIUM,
        description="primary aluminium produced",
    ),
    *(
        ActivitySpec(
            code=f"process.pfc.slope.{tech}",
            category="process",
            method=f"{PART} / IPCC 2006 Tier 2: PFC slope method ({name}), "
            "E_CF4 = S × AEM × P / 1000, E_C2F6 = E_CF4 × F",
            units=("t",),
            build=_pfc_slope(tech),
            params=SLOPE_PARAMS,
            industries=ALUMINIUM,
            description=f"primary aluminium produced in {name} cells",
        )
        for tech, name in TECHNOLOGIES.items()
    ),
)
