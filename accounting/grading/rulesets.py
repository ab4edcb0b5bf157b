"""Grading rulesets: versioned data files, replaceable per region and year.

A ruleset is one JSON document under ``accounting/data/rulesets/``: the L level bands, the K
grade bands (upper edges inclusive), the industries it covers, industry average L values per
year and product-intensity benchmarks, each value with provenance. Like a factor set, its digest
is keccak256 over the RFC 8785 canonical JSON of the whole document, so it can be anchored.
Thresholds change periodically (the method text says levels are adjusted each year): a new
ruleset with a later first year replaces an older one for the same region from that year on.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from functools import cache
from itertools import pairwise
from types import MappingProxyType
from typing import Any

from accounting.errors import (
    AccountingError,
    RulesetFormatError,
    RulesetNotApplicableError,
    UnknownIndustryAverageError,
    UnknownRulesetError,
)
from accounting.factors import STATUSES as FACTOR_STATUSES
from accounting.factors import Provenance, digest_document, parse_decimal, parse_provenance
from accounting.grading.averages import IndustryAverage, ruleset_average
from accounting.industries import ACCEPTED_INDUSTRIES
from accounting.numbers import decimal_str
from accounting.published import Shelf
from accounting.regions import RULESET_REGION_KEYS, read_region

FORMAT = "carbon-ledger/ruleset/v1"
STATUSES = (*FACTOR_STATUSES, "illustrative")
PRODUCT_UNIT = "tCO2e/t"
RULESETS = Shelf(
    "ruleset", "rulesets/{}.json", "ruleset", (UnknownRulesetError, RulesetFormatError)
)


@dataclass(frozen=True, slots=True)
class ProductBenchmark:
    """Benchmark intensity of an industry's main product (t CO2e per t of product)."""

    industry: str
    product: str
    year: int
    value: Decimal
    unit: str
    provenance: Provenance

    def to_dict(self) -> dict[str, Any]:
        return {
            "industry": self.industry,
            "product": self.product,
            "year": self.year,
            "value": decimal_str(self.value),
            "unit": self.unit,
            "provenance": self.provenance.to_dict(),
        }


@dataclass(frozen=True, eq=False)
class Ruleset:
    """An immutable, versioned grading ruleset; compared and hashed by identity."""

    id: str
    version: str
    title: str
    region: str
    # Division-code prefixes the ruleset covers (GB/T 2260): its ``region_codes``, or for a
    # ruleset published before that key, the code its region key stands for.
    region_codes: tuple[str, ...]
    first_year: int
    last_year: int
    digest: str
    # (level, upper edge inclusive); the last band has no edge.
    levels: tuple[tuple[str, Decimal | None], ...]
    # Upper edges (inclusive) of grades 1 .. n-1; grade n is everything above the last edge.
    grade_edges: tuple[Decimal, ...]
    level_provenance: Provenance
    grade_provenance: Provenance
    industries: frozenset[str]
    averages: MappingProxyType[tuple[str, int], IndustryAverage]
    benchmarks: MappingProxyType[tuple[str, int], ProductBenchmark]
    document: MappingProxyType[str, Any] = field(repr=False)

    def summary(self) -> dict[str, str]:
        return {"id": self.id, "version": self.version, "digest": self.digest}

    @property
    def scope2_basis(self) -> str:
        """Which Scope 2 figure the grade uses (``accounting.scope2``): ``"location"`` for a
        ruleset that does not say, as every ruleset published before the key."""
        return str(self.document.get("scope2Basis", "location"))

    def covers(self, region: str) -> bool:
        """Whether an enterprise registered at ``region`` (its key or a division code or a
        province name) lies inside this ruleset's region."""
        if region.strip().lower() == self.region:
            return True
        place = read_region(region)
        return place is not None and any(place.within(c) for c in self.region_codes)

    def check_applies(self, industry: str, year: int) -> None:
        if industry not in self.industries:
            covered = ", ".join(sorted(self.industries))
            raise RulesetNotApplicableError(
                f"ruleset {self.id!r} does not cover industry {industry!r} (covers: {covered})",
                field="industry",
            )
        if not self.first_year <= year <= self.last_year:
            raise RulesetNotApplicableError(
                f"ruleset {self.id!r} is valid {self.first_year}–{self.last_year}, not {year}",
                field="year",
            )

    def average(self, industry: str, year: int) -> IndustryAverage:
        self.check_applies(industry, year)
        try:
            return self.averages[(industry, year)]
        except KeyError:
            years = sorted(y for i, y in self.averages if i == industry)
            raise UnknownIndustryAverageError(
                f"ruleset {self.id!r} has no average L for {industry!r} in {year} "
                f"(has years {years}); pass a population average instead",
                field="industry",
            ) from None

    def benchmark(self, industry: str, year: int) -> ProductBenchmark | None:
        return self.benchmarks.get((industry, year))


@cache
def available_rulesets() -> tuple[str, ...]:
    """Ids of the shipped rulesets (package data: fixed for the life of the process)."""
    return RULESETS.ids()


def load_ruleset(ruleset_id: str | None = None) -> Ruleset:
    """Load a shipped ruleset by id (cached: load once, grade many); ``None`` = the only one."""
    known = available_rulesets()
    if ruleset_id is None and len(known) == 1:
        ruleset_id = known[0]
    elif ruleset_id is None:
        raise UnknownRulesetError(
            f"several rulesets are shipped ({', '.join(known)}): name one", field="ruleset"
        )
    return _load(ruleset_id)


@cache
def _load(ruleset_id: str) -> Ruleset:
    return parse_ruleset(RULESETS.read(ruleset_id))


def ruleset_for(region: str, year: int, rulesets: Iterable[Ruleset] | None = None) -> Ruleset:
    """The ruleset for ``region`` in ``year`` among ``rulesets`` (default: the shipped ones).

    A later ruleset replaces an earlier one from its first year on (periodic adjustment), so
    among those valid in ``year`` the one with the latest first year wins.
    """
    pool = list(rulesets) if rulesets is not None else _all()
    key = region.strip().lower()
    matches = [r for r in pool if r.covers(region) and r.first_year <= year <= r.last_year]
    if not matches:
        spans = ", ".join(sorted(f"{r.region} {r.first_year}–{r.last_year}" for r in pool))
        raise RulesetNotApplicableError(
            f"not gradable: no published average for region {region!r} in {year} "
            f"(rulesets: {spans or 'none'})",
            field="region",
        )
    latest = max(r.first_year for r in matches)
    chosen = [r for r in matches if r.first_year == latest]
    if len(chosen) > 1:
        ids = ", ".join(sorted(r.id for r in chosen))
        raise RulesetFormatError(f"rulesets {ids} both start in {latest} for region {key!r}")
    return chosen[0]


def _all() -> list[Ruleset]:
    return [load_ruleset(i) for i in available_rulesets()]


def parse_ruleset(document: dict[str, Any]) -> Ruleset:
    """Validate a ruleset document and build the immutable ``Ruleset``."""
    try:
        return _parse(document)
    except AccountingError:
        raise
    except (KeyError, TypeError, ValueError) as exc:
        raise RulesetFormatError(f"malformed ruleset: {exc!r}") from None


def _parse(document: dict[str, Any]) -> Ruleset:
    if document["format"] != FORMAT:
        raise RulesetFormatError(f"format {document['format']!r} is not {FORMAT!r}")
    sources = document["sources"]
    industries = frozenset(document["industries"])
    unknown = industries - ACCEPTED_INDUSTRIES
    if unknown:
        raise RulesetFormatError(f"unknown industry keys {sorted(unknown)}")
    years = document["valid_years"]
    first, last = int(years["from"]), int(years["to"])
    if first > last:
        raise RulesetFormatError(f"valid_years from {first} is after to {last}")
    if document.get("scope2Basis", "location") not in ("location", "market"):
        raise RulesetFormatError("scope2Basis must be 'location' or 'market'")
    levels = document["levels"]
    grades = document["grades"]
    return Ruleset(
        id=document["id"],
        version=document["version"],
        title=document["title"],
        region=document["region"].strip().lower(),
        region_codes=_region_codes(document),
        first_year=first,
        last_year=last,
        digest=digest_document(document),
        levels=_level_bands(levels["bands"]),
        grade_edges=_grade_edges(grades["bands"]),
        level_provenance=_provenance(levels, sources),
        grade_provenance=_provenance(grades, sources),
        industries=industries,
        averages=MappingProxyType(_averages(document["industry_averages"], industries, sources)),
        benchmarks=MappingProxyType(
            _benchmarks(document.get("product_benchmarks", []), industries, sources)
        ),
        document=MappingProxyType(document),
    )


def _region_codes(document: dict[str, Any]) -> tuple[str, ...]:
    codes = document.get("region_codes")
    if codes is None:
        legacy = RULESET_REGION_KEYS.get(document["region"].strip().lower())
        return (legacy,) if legacy else ()
    if not all(isinstance(c, str) and c.isdigit() and 2 <= len(c) <= 6 for c in codes):
        raise RulesetFormatError("region_codes: division-code prefixes of 2 to 6 digits")
    return tuple(codes)


def _edges(bands: list[dict[str, Any]], where: str) -> list[Decimal]:
    """Upper edges of all but the last band: positive and strictly increasing; last open."""
    if len(bands) < 2 or bands[-1]["max"] is not None:
        raise RulesetFormatError(f"{where}: need two or more bands, the last with max null")
    edges = [_decimal(b["max"], where) for b in bands[:-1]]
    if edges[0] <= 0 or any(a >= b for a, b in pairwise(edges)):
        raise RulesetFormatError(f"{where}: edges must be positive and strictly increasing")
    return edges


def _level_bands(bands: list[dict[str, Any]]) -> tuple[tuple[str, Decimal | None], ...]:
    edges = [*_edges(bands, "levels"), None]
    names = [str(b["level"]) for b in bands]
    if len(set(names)) != len(names):
        raise RulesetFormatError("levels: duplicate level names")
    return tuple(zip(names, edges, strict=True))


def _grade_edges(bands: list[dict[str, Any]]) -> tuple[Decimal, ...]:
    if [b["grade"] for b in bands] != list(range(1, len(bands) + 1)):
        raise RulesetFormatError("grades: bands must be numbered 1, 2, … in order")
    return tuple(_edges(bands, "grades"))


def _averages(
    rows: list[dict[str, Any]], industries: frozenset[str], sources: dict[str, Any]
) -> dict[tuple[str, int], IndustryAverage]:
    out: dict[tuple[str, int], IndustryAverage] = {}
    for row in rows:
        key = _covered_key(row, industries, out, "industry_averages")
        value = _decimal(row["value"], f"industry average {key}")
        if value <= 0:
            raise RulesetFormatError(f"industry average {key} must be positive")
        out[key] = ruleset_average(key[0], key[1], value, _provenance(row, sources))
    return out


def _benchmarks(
    rows: list[dict[str, Any]], industries: frozenset[str], sources: dict[str, Any]
) -> dict[tuple[str, int], ProductBenchmark]:
    out: dict[tuple[str, int], ProductBenchmark] = {}
    for row in rows:
        key = _covered_key(row, industries, out, "product_benchmarks")
        if row["unit"] != PRODUCT_UNIT:
            raise RulesetFormatError(f"benchmark {key}: unit must be {PRODUCT_UNIT!r}")
        value = _decimal(row["value"], f"benchmark {key}")
        if value <= 0:
            raise RulesetFormatError(f"benchmark {key} must be positive")
        provenance = _provenance(row, sources)
        out[key] = ProductBenchmark(key[0], row["product"], key[1], value, row["unit"], provenance)
    return out


def _covered_key(
    row: dict[str, Any], industries: frozenset[str], seen: dict[Any, Any], where: str
) -> tuple[str, int]:
    key = (row["industry"], int(row["year"]))
    if key[0] not in industries:
        raise RulesetFormatError(f"{where}: {key[0]!r} is not among the covered industries")
    if key in seen:
        raise RulesetFormatError(f"{where}: duplicate entry for {key}")
    return key


def _provenance(raw: dict[str, Any], sources: dict[str, Any]) -> Provenance:
    return parse_provenance(raw, sources, statuses=STATUSES, error=RulesetFormatError)


def _decimal(text: Any, where: str) -> Decimal:
    # Thresholds and averages are only checked finite here; signs are checked where used.
    return parse_decimal(text, where, error=RulesetFormatError, non_negative=False)
