"""Industry average L: from a ruleset's data (with provenance) or from the ledger's population.

K divides an enterprise's L by its industry's average L for the same period. The average is kept
as an exact fraction ``numerator / denominator`` so that grading can compare K with the grade
edges exactly: for a ruleset value ``a`` that is ``a / 1``; for a population it is
``Σ emissions / Σ added value``, whose decimal expansion may not terminate.
"""

from __future__ import annotations

import decimal
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from accounting.errors import (
    AccountingError,
    ArithmeticLimitError,
    InvalidAddedValueError,
    InvalidEmissionsError,
    InvalidIndustryAverageError,
    MissingAddedValueError,
    NegativeEmissionsError,
    PopulationTooSmallError,
)
from accounting.factors import Provenance, digest_document
from accounting.numbers import CONTEXT, context, decimal_str, report

ORIGINS = ("ruleset", "population")
INTENSITY_UNIT = "tCO2/万元"
# The population definition, named so a result (and its digest) says which one was used.
POPULATION_DEFINITION = "weighted/v1: sum(emissions_t) / sum(added_value_wan_yuan)"
# What the ledger grades with since v1 disclosed member totals: the weighted average of the
# firm's peers (itself left out), rounded, from at least a minimum number of them.
PEERS_DEFINITION = "peers-weighted/v2: round(sum(emissions_t) / sum(added_value_wan_yuan))"

# Sums and cross-products used for comparisons must be exact: trap any rounding.
EXACT = CONTEXT.copy()
EXACT.traps[decimal.Inexact] = True


@dataclass(frozen=True, slots=True)
class PopulationBasis:
    """How a population average was formed: enough for anyone to recompute it."""

    count: int
    total_emissions_t: Decimal
    total_added_value_wan_yuan: Decimal
    definition: str
    digest: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "count": self.count,
            "total_emissions_t": decimal_str(self.total_emissions_t),
            "total_added_value_wan_yuan": decimal_str(self.total_added_value_wan_yuan),
            "definition": self.definition,
            "digest": self.digest,
        }


@dataclass(frozen=True, slots=True)
class PublishedPopulation:
    """A peer average as published to the graded firm: no count, no totals, no members.

    ``members_digest`` commits to the peers' anchored evaluation entries (keccak of their
    sorted entry digests), so someone allowed to see every member can recompute the average,
    while the firm learns nothing it could confirm a guess of a peer's figures against.
    """

    definition: str
    places: int
    min_members: int
    members_digest: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "definition": self.definition,
            "places": self.places,
            "min_members": self.min_members,
            "members_digest": self.members_digest,
        }


@dataclass(frozen=True, slots=True)
class IndustryAverage:
    """An industry's average L for one year, as the exact fraction ``numerator / denominator``.

    ``value`` is that fraction at 50 significant digits (what is reported); grading compares
    with the fraction itself, so a non-terminating population average loses nothing. Origin
    ``ruleset`` carries ``provenance``; origin ``population`` carries ``population``.
    """

    industry: str
    year: int
    origin: str
    numerator: Decimal
    denominator: Decimal = Decimal(1)
    provenance: Provenance | None = None
    population: PopulationBasis | PublishedPopulation | None = None

    def __post_init__(self) -> None:
        # Each origin carries exactly its own evidence, so a rating always says where K came from.
        evidence = {"ruleset": self.provenance, "population": self.population}
        if self.origin not in evidence:
            raise InvalidIndustryAverageError(
                f"origin {self.origin!r} is not one of {ORIGINS}", field="industry_average"
            )
        if [k for k, v in evidence.items() if v is not None] != [self.origin]:
            raise InvalidIndustryAverageError(
                "a ruleset average needs provenance, a population average its basis",
                field="industry_average",
            )
        parts = (self.numerator, self.denominator)
        if not all(isinstance(p, Decimal) and p.is_finite() and p > 0 for p in parts):
            # K = L / average is undefined for a zero average.
            raise InvalidIndustryAverageError(
                f"industry average for {self.industry!r} {self.year} must be positive",
                field="industry_average",
            )

    @property
    def value(self) -> Decimal:
        """The average at 50 significant digits (exact when the fraction terminates)."""
        with context():
            return self.numerator / self.denominator

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "industry": self.industry,
            "year": self.year,
            "value": decimal_str(self.value),
            "unit": INTENSITY_UNIT,
            "origin": self.origin,
        }
        if self.provenance is not None:
            out["provenance"] = self.provenance.to_dict()
        if self.population is not None:
            out["population"] = self.population.to_dict()
        return out


def ruleset_average(
    industry: str, year: int, value: Decimal, provenance: Provenance
) -> IndustryAverage:
    return IndustryAverage(industry, year, "ruleset", value, provenance=provenance)


def check_emissions(value: Any, name: str = "emissions_t") -> Decimal:
    if not isinstance(value, Decimal) or not value.is_finite():
        raise InvalidEmissionsError(
            f"emissions must be a finite Decimal, got {value!r}", field=name
        )
    if value < 0:
        raise NegativeEmissionsError(f"emissions must not be negative, got {value}", field=name)
    return value


def check_added_value(value: Any, name: str = "added_value_wan_yuan") -> Decimal:
    if value is None:
        raise MissingAddedValueError("added value (万元) is required to compute L", field=name)
    if not isinstance(value, Decimal) or not value.is_finite() or value <= 0:
        raise InvalidAddedValueError(
            f"added value must be a finite, positive Decimal (万元), got {value!r}", field=name
        )
    return value


def industry_average_from_population(
    industry: str, year: int, members: Iterable[tuple[Decimal, Decimal]]
) -> IndustryAverage:
    """Average L of ``members`` = Σ emissions ÷ Σ added value (the weighted average).

    ``members`` are the (emissions_t, added_value_wan_yuan) pairs of the industry's firms for
    the period. The digest covers the definition, industry, year and the sorted pairs, so the
    figure can be anchored and recomputed.
    """
    pairs: list[tuple[Decimal, Decimal]] = []
    for index, (emissions, added_value) in enumerate(members):
        try:
            pairs.append((check_emissions(emissions), check_added_value(added_value)))
        except AccountingError as exc:
            raise exc.at(index) from None
    if not pairs:
        raise InvalidIndustryAverageError(
            f"empty population for {industry!r} {year}", field="population"
        )
    try:
        with decimal.localcontext(EXACT):
            total_e = sum((e for e, _ in pairs), Decimal(0))
            total_v = sum((v for _, v in pairs), Decimal(0))
    except decimal.Inexact:
        raise ArithmeticLimitError("population totals exceed the engine precision") from None
    basis = PopulationBasis(
        len(pairs), total_e, total_v, POPULATION_DEFINITION, _digest(industry, year, pairs)
    )
    return IndustryAverage(industry, year, "population", total_e, total_v, population=basis)


def _digest(industry: str, year: int, pairs: list[tuple[Decimal, Decimal]]) -> str:
    # Sorted so the digest names the population, not the order it was read in.
    members = [[decimal_str(e), decimal_str(v)] for e, v in sorted(pairs)]
    return digest_document(
        {
            "definition": POPULATION_DEFINITION,
            "industry": industry,
            "year": year,
            "members": members,
        }
    )


def published_peer_average(
    industry: str,
    year: int,
    peers: Iterable[tuple[Decimal, Decimal]],
    published: PublishedPopulation,
) -> IndustryAverage:
    """The peers' weighted average rounded to ``published.places`` (half-even), the value a
    firm is graded against. Grading on the rounded figure keeps K from disclosing the exact
    fraction Σe ÷ Σv, whose digits would give the peers' totals back."""
    pairs = list(peers)
    if len(pairs) < published.min_members:
        raise PopulationTooSmallError(
            f"fewer than {published.min_members} peers in {industry!r} {year}: "
            "a population average of so few would disclose their figures",
            field="population",
        )
    exact = industry_average_from_population(industry, year, pairs)
    value = report(exact.value, published.places)
    return IndustryAverage(industry, year, "population", value, population=published)
