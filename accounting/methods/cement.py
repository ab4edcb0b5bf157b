"""GB/T 32151.8-2023 cement: raw-material (carbonate) CO2 back-calculated from clinker.

E = Q_cli × [(F_CaO − F_CaO,nc) × 44/56 + (F_MgO − F_MgO,nc) × 44/40], F = mass fractions in
clinker, "nc" = CaO / MgO from non-carbonate sources (slag, fly ash). Evaluated with one
division: Q × 44 × [(ΔCaO) × 40 + (ΔMgO) × 56] / (56 × 40). Kiln-dust, bypass-dust and organic
carbon terms are not in the reference data and are not applied.
"""

from __future__ import annotations

from accounting.activities import ZERO, ActivitySpec, BuildContext, GasTerm, Param
from accounting.errors import InvalidParameterError

PARAMS = (
    Param("cao", "1", "CaO mass fraction in clinker", fraction=True),
    Param("mgo", "1", "MgO mass fraction in clinker", fraction=True),
    Param("cao_nc", "1", "CaO fraction from non-carbonate sources (default 0)", fraction=True),
    Param("mgo_nc", "1", "MgO fraction from non-carbonate sources (default 0)", fraction=True),
)


def _clinker(ctx: BuildContext) -> tuple[GasTerm, ...]:
    cao = ctx.value("cao") - ctx.optional("cao_nc", ZERO)
    mgo = ctx.value("mgo") - ctx.optional("mgo_nc", ZERO)
    for name, net in (("cao_nc", cao), ("mgo_nc", mgo)):
        if net < 0:
            raise InvalidParameterError(
                f"{name} exceeds the total oxide fraction", entry=ctx.index, field=f"params.{name}"
            )
    m_cao = ctx.factor("molar_mass.cao")
    m_mgo = ctx.factor("molar_mass.mgo")
    numerator = ctx.factor("molar_mass.co2") * (cao * m_mgo + mgo * m_cao)
    return (GasTerm("CO2", numerator, m_cao * m_mgo),)


SPECS: tuple[ActivitySpec, ...] = (
    ActivitySpec(
        code="process.clinker",
        category="process",
        method="GB/T 32151.8-2023: clinker, E = Q × [(CaO − CaO_nc)·44/56 + (MgO − MgO_nc)·44/40]",
        units=("t",),
        build=_clinker,
        params=PARAMS,
        industries=frozenset({"cement"}),
        description="clinker produced",
    ),
)
