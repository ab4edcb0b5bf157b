"""What an activity code is: its category, accepted units, measured parameters and method.

A method module (``accounting.methods.*``) declares ``ActivitySpec`` objects. Each spec's
``build`` turns the factor set plus an entry's measured parameters into per-gas coefficients
``numerator / denominator`` per canonical unit of quantity. Numerators are exact products; the
denominator is the single division the policy allows (molar masses, 1000 for kg → t).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from accounting.errors import (
    FactorKindError,
    FactorNotFoundError,
    InvalidParameterError,
    MissingParameterError,
)
from accounting.factors import Factor, FactorSet
from accounting.numbers import decimal_str

CATEGORIES: tuple[str, ...] = (
    "combustion",
    "process",
    "purchased_electricity",
    "purchased_heat",
    "exported",
    "deducted",
    "biomass_memo",
)
# Reported beside the total, never in it (GB/T 32150: biomass combustion CO2).
MEMO_CATEGORIES: frozenset[str] = frozenset({"biomass_memo"})

ONE = Decimal(1)
ZERO = Decimal(0)
THOUSAND = Decimal(1000)  # kg → t


@dataclass(frozen=True, slots=True)
class Param:
    """A measured parameter an entry may (or must) supply, in a fixed unit."""

    name: str
    unit: str
    description: str
    fraction: bool = False


@dataclass(frozen=True, slots=True)
class GasTerm:
    """Mass of ``gas`` (t) per canonical unit of activity = numerator / denominator."""

    gas: str
    numerator: Decimal
    denominator: Decimal = ONE


@dataclass(frozen=True, slots=True)
class Override:
    """An enterprise-measured value used instead of a factor-set default (or where none exists)."""

    param: str
    value: Decimal
    unit: str
    replaces: str | None
    default_value: Decimal | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "param": self.param,
            "value": decimal_str(self.value),
            "unit": self.unit,
            "replaces": self.replaces,
            "default_value": None
            if self.default_value is None
            else decimal_str(self.default_value),
        }


class BuildContext:
    """Everything a method may read while building coefficients; records what it used."""

    def __init__(
        self,
        spec: ActivitySpec,
        factor_set: FactorSet,
        unit: str,
        params: Mapping[str, Decimal],
        choice: str | None,
        index: int,
    ):
        self.spec = spec
        self.factor_set = factor_set
        self.unit = unit
        self.params = params
        self.choice = choice
        self.index = index
        self.used: list[Factor] = []
        self.overrides: list[Override] = []

    def factor(self, factor_id: str) -> Decimal:
        """A factor the method always takes from the set (e.g. molar masses)."""
        found = self.factor_set.get(factor_id)
        if found is None:
            raise FactorNotFoundError(
                f"factor {factor_id!r} needed by {self.spec.code} is not in factor set "
                f"{self.factor_set.id}",
                entry=self.index,
                field="factor",
            )
        if found not in self.used:
            self.used.append(found)
        return found.value

    def value(self, name: str, factor_id: str | None = None) -> Decimal:
        """Measured parameter ``name`` if given (recorded as an override), else the default."""
        param = self.spec.param(name)
        default = self.factor_set.get(factor_id) if factor_id else None
        if name in self.params:
            measured = self.params[name]
            self.overrides.append(
                Override(
                    name,
                    measured,
                    param.unit,
                    factor_id if default else None,
                    default.value if default else None,
                )
            )
            return measured
        if default is None:
            raise MissingParameterError(
                f"{self.spec.code} needs measured parameter {name!r} ({param.unit}): "
                f"the factor set has no default for it",
                entry=self.index,
                field=f"params.{name}",
            )
        return self.factor(default.id)

    def optional(self, name: str, fallback: Decimal) -> Decimal:
        """Measured parameter whose absence has a definitional meaning (e.g. no abatement = 0)."""
        self.spec.param(name)
        if name in self.params:
            return self.value(name)
        return fallback

    def chosen_id(self) -> str | None:
        """Factor id for the activity's selectable slot: the entry's choice or the set default."""
        kind = self.spec.slot
        if kind is None:
            return None
        factor_id = self.choice or self.factor_set.defaults.get(kind)
        if factor_id is None:
            return None
        found = self.factor_set.get(factor_id)
        if found is None:
            raise FactorNotFoundError(
                f"factor {factor_id!r} is not in factor set {self.factor_set.id}",
                entry=self.index,
                field="factor",
            )
        if found.kind != kind:
            raise FactorKindError(
                f"factor {factor_id!r} is a {found.kind}, {self.spec.code} needs a {kind}",
                entry=self.index,
                field="factor",
            )
        return factor_id

    def reject(self, name: str, why: str) -> None:
        if name in self.params:
            raise InvalidParameterError(
                f"parameter {name!r} {why}", entry=self.index, field=f"params.{name}"
            )


Builder = Callable[[BuildContext], tuple[GasTerm, ...]]


@dataclass(frozen=True, slots=True)
class ActivitySpec:
    """One stable activity code and how it is accounted."""

    code: str
    category: str
    method: str
    units: tuple[str, ...]
    build: Builder
    params: tuple[Param, ...] = ()
    industries: frozenset[str] | None = None
    sign: int = 1
    slot: str | None = None
    description: str = ""

    def param(self, name: str) -> Param:
        for p in self.params:
            if p.name == name:
                return p
        raise KeyError(f"{self.code} declares no parameter {name!r}")

    def allows(self, industry: str) -> bool:
        return self.industries is None or industry in self.industries
