"""Factor library: versioned factor sets loaded from data files, with provenance and a digest.

A factor set is one JSON document under ``accounting/data/factor_sets/``. It holds everything on
the data side that decides the digits: default factors, GWP sets, unit definitions and the
default choice of grid / heat series. Values are stored as decimal strings; like every published
set (:mod:`accounting.published`) it is known by id and published by its digest.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from functools import cache
from types import MappingProxyType
from typing import Any

from accounting.errors import (
    AccountingError,
    FactorSetFormatError,
    UnknownFactorSetError,
    UnknownGwpSetError,
)
from accounting.published import PublishedSet, Shelf, by_id, heading
from accounting.published import digest_document as digest_document

DEFAULT_FACTOR_SET_ID = "cn-ghg-v1"
DEFAULT_GWP_SET = "AR5"
STATUSES = ("verified", "secondary", "recalled", "derived")
FACTOR_SETS = Shelf(
    "factor set", "factor_sets/{}.json", "factor_set", (UnknownFactorSetError, FactorSetFormatError)
)

# The unit a method assumes for each kind of factor; a data file may not silently differ.
KIND_UNITS: dict[str, tuple[str, ...]] = {
    "fuel_ncv": ("GJ/t", "GJ/10^4 Nm3"),
    "fuel_cc": ("tC/GJ",),
    "fuel_of": ("1",),
    "molar_mass": ("g/mol",),
    "carbonate_ef": ("tCO2/t",),
    "process_ef": ("tCO2/t",),
    "carbon_fixed_ef": ("tCO2/t",),
    "n2o_ef": ("kgN2O/t",),
    "pfc_ef": ("kg/t",),
    "pfc_slope": ("(kgCF4/t)/(AE-min/cell-day)",),
    "pfc_ratio": ("kgC2F6/kgCF4",),
    "grid_ef": ("tCO2/MWh",),
    "heat_ef": ("tCO2/GJ",),
    "leak_rate": ("1",),
}


@dataclass(frozen=True, slots=True)
class Provenance:
    """Where a value comes from and how far it has been checked."""

    document: str
    clause: str
    year: int
    notice: str
    status: str
    note: str | None = None
    url: str | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "document": self.document,
            "clause": self.clause,
            "year": self.year,
            "notice": self.notice,
            "status": self.status,
        }
        if self.note:
            out["note"] = self.note
        if self.url:
            out["url"] = self.url
        return out


@dataclass(frozen=True, slots=True)
class Factor:
    id: str
    kind: str
    value: Decimal
    unit: str
    provenance: Provenance
    gas: str | None = None


@dataclass(frozen=True, slots=True)
class GwpSet:
    """A GWP-100 table (gas → value) with its source."""

    id: str
    title: str
    values: MappingProxyType[str, Decimal]
    provenance: Provenance


@dataclass(frozen=True, eq=False)
class FactorSet(PublishedSet):
    """An immutable, versioned factor set; compared and hashed by identity (one per id)."""

    factors: MappingProxyType[str, Factor]
    gwp_sets: MappingProxyType[str, GwpSet]
    defaults: MappingProxyType[str, str]
    unit_definitions: tuple[str, ...]
    unit_aliases: MappingProxyType[str, str]
    document: MappingProxyType[str, Any] = field(repr=False)

    def get(self, factor_id: str) -> Factor | None:
        return self.factors.get(factor_id)

    def gwp(self, gwp_id: str) -> GwpSet:
        try:
            return self.gwp_sets[gwp_id]
        except KeyError:
            known = ", ".join(sorted(self.gwp_sets))
            raise UnknownGwpSetError(
                f"unknown GWP set {gwp_id!r} (known: {known})", field="gwp"
            ) from None


def available_factor_sets() -> tuple[str, ...]:
    return FACTOR_SETS.ids()


def load_factor_set(factor_set_id: str = DEFAULT_FACTOR_SET_ID) -> FactorSet:
    """Load a shipped factor set by id (factor sets are immutable: one object per id, so what
    is cached per factor set, such as its unit converter, is built once)."""
    return _load_factor_set(factor_set_id)


@cache
def _load_factor_set(factor_set_id: str) -> FactorSet:
    # Cached by the resolved id: a cache on load_factor_set itself keys by the call's spelling,
    # so load_factor_set() and load_factor_set("cn-ghg-v1") would parse the set twice.
    return parse_factor_set(FACTOR_SETS.read(factor_set_id))


def parse_factor_set(document: dict[str, Any]) -> FactorSet:
    """Validate a factor-set document and build the immutable ``FactorSet``."""
    try:
        sources = document["sources"]
        factors = by_id(
            (_parse_factor(raw, sources) for raw in document["factors"]),
            "factor",
            FactorSetFormatError,
        )
        gwp_sets = {key: _parse_gwp(key, raw, sources) for key, raw in document["gwp_sets"].items()}
        defaults = dict(document["defaults"])
        for kind, factor_id in defaults.items():
            if factor_id not in factors or factors[factor_id].kind != kind:
                raise FactorSetFormatError(f"default {kind} → {factor_id!r} is not a {kind}")
        units = document["units"]
        return FactorSet(
            **heading(document),
            factors=factors,
            gwp_sets=MappingProxyType(gwp_sets),
            defaults=MappingProxyType(defaults),
            unit_definitions=tuple(d["definition"] for d in units["definitions"]),
            unit_aliases=MappingProxyType(dict(units["aliases"])),
            document=MappingProxyType(document),
        )
    except KeyError as exc:
        raise FactorSetFormatError(f"factor set is missing key {exc}") from None


def parse_provenance(
    raw: dict[str, Any],
    sources: dict[str, Any],
    *,
    statuses: tuple[str, ...] = STATUSES,
    error: type[AccountingError] = FactorSetFormatError,
) -> Provenance:
    """A value's provenance: its source document (by key) plus its own clause and status."""
    source = sources[raw["source"]]
    status = raw["status"]
    if status not in statuses:
        raise error(f"status {status!r} is not one of {statuses}")
    return Provenance(
        document=source["document"],
        clause=raw["clause"],
        year=int(source["year"]),
        notice=source["notice"],
        status=status,
        note=raw.get("note"),
        url=source.get("url"),
    )


def parse_decimal(
    text: Any,
    where: str,
    *,
    error: type[AccountingError] = FactorSetFormatError,
    non_negative: bool = True,
) -> Decimal:
    """A data file's decimal string as an exact Decimal (never a JSON number, never a float)."""
    if not isinstance(text, str):
        raise error(f"{where}: value must be a decimal string, got {text!r}")
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise error(f"{where}: {text!r} is not a decimal") from None
    if non_negative and (not value.is_finite() or value < 0):
        raise error(f"{where}: {text!r} must be finite and non-negative")
    if not value.is_finite():
        raise error(f"{where}: {text!r} is not finite")
    return value


def _parse_factor(raw: dict[str, Any], sources: dict[str, Any]) -> Factor:
    kind = raw["kind"]
    if kind not in KIND_UNITS:
        raise FactorSetFormatError(f"factor {raw['id']!r}: unknown kind {kind!r}")
    if raw["unit"] not in KIND_UNITS[kind]:
        raise FactorSetFormatError(
            f"factor {raw['id']!r}: unit {raw['unit']!r} is not one of {KIND_UNITS[kind]}"
        )
    return Factor(
        id=raw["id"],
        kind=kind,
        value=parse_decimal(raw["value"], raw["id"]),
        unit=raw["unit"],
        provenance=parse_provenance(raw, sources),
        gas=raw.get("gas"),
    )


def _parse_gwp(key: str, raw: dict[str, Any], sources: dict[str, Any]) -> GwpSet:
    values = {gas: parse_decimal(v, f"gwp {key}/{gas}") for gas, v in raw["values"].items()}
    return GwpSet(
        id=key,
        title=raw["title"],
        values=MappingProxyType(values),
        provenance=parse_provenance(raw, sources),
    )
