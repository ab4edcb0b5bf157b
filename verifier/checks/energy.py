"""Energy and benchmark figures of a figure proof (``docs/figure-proof-format.md``, energy).

Two hooks into the figure checks, no check of their own: under ``factor-set``, the bundle's
GB/T 2589 coefficient set and benchmark level set are the ones the entry names and the
published ones (a set with other numbers under the official id fails here); under ``figures``,
the entry's ``energy`` and ``benchmark`` blocks are recomputed from the same accounted records,
digit for digit, and the standing from the recomputed intensity.

A bundle without the sets proves no energy figure: its energy blocks are not checked, and asking
it for one fails ``figures``. The ledger adds the sets to the bundle of an energy figure only.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from accounting.benchmarks import LevelSet, energy_and_standing, parse_level_set
from accounting.energy import Denominators, EnergySet, parse_energy_set
from accounting.errors import AccountingError
from accounting.result import Result
from verifier.errors import VerificationFailure
from verifier.formats.entry import EvaluationEntry
from verifier.formats.figure import FigureProofBundle
from verifier.protocol.entry import ENERGY_PREFIXES

if TYPE_CHECKING:
    from verifier.trust import ReferenceRoot

__all__ = ["EnergySets", "check_energy_figures", "check_energy_sets"]

_BAD_INPUT = (AccountingError, KeyError, TypeError, ValueError, ArithmeticError)


@dataclass(frozen=True)
class EnergySets:
    coefficients: EnergySet
    levels: LevelSet


def _published(
    code: str, kind: str, summary: Mapping[str, str], known: dict[tuple[str, str], str]
) -> None:
    published = known.get((summary["id"], summary["version"]))
    if published == summary["digest"]:
        return
    said = f"the published one has digest {published}" if published else "none is published"
    raise VerificationFailure(
        "factor-set",
        code,
        f"the energy figures were computed with a {kind} that is not the published one: "
        f"{summary['id']} {summary['version']} has digest {summary['digest']}, {said}",
    )


def _stated(kind: str, code: str, summary: Mapping[str, str], stated: Any) -> None:
    if dict(summary) != stated:
        raise VerificationFailure(
            "factor-set", code, f"the bundle's {kind} is {dict(summary)}, the entry states {stated}"
        )


def check_energy_sets(
    bundle: FigureProofBundle, entry: EvaluationEntry, reference: ReferenceRoot
) -> EnergySets | None:
    """The bundle's coefficient and level sets: the entry's, and published (None if absent)."""
    if bundle.energy is None:
        return None
    if entry.energy is None or entry.benchmark is None:
        raise VerificationFailure(
            "factor-set", "EnergySetMismatch", "the bundle carries energy sets, the entry no energy"
        )
    try:
        coefficients = parse_energy_set(dict(bundle.energy.coefficient_set))
        levels = parse_level_set(dict(bundle.energy.benchmark_levels))
    except _BAD_INPUT as exc:
        raise VerificationFailure(
            "factor-set", "EnergySetMismatch", f"not an energy or level set: {exc}"
        ) from None
    _stated(
        "coefficient set",
        "EnergySetMismatch",
        coefficients.summary(),
        entry.energy.get("coefficientSet"),
    )
    _stated(
        "level set", "BenchmarkLevelsMismatch", levels.summary(), entry.benchmark.get("levelSet")
    )
    _published(
        "EnergySetUnpublished", "coefficient set", coefficients.summary(), reference.energy_sets
    )
    _published("BenchmarkLevelsUnpublished", "level set", levels.summary(), reference.level_sets)
    return EnergySets(coefficients, levels)


def _difference(computed: Any, stated: Any, path: str) -> str:
    if isinstance(computed, dict) and isinstance(stated, dict):
        for key in sorted(set(computed) | set(stated)):
            if computed.get(key) != stated.get(key):
                return _difference(computed.get(key), stated.get(key), f"{path}.{key}")
    return f"{path}: recomputed {computed!r}, stated {stated!r}"


def _denominators(entry: EvaluationEntry) -> Denominators:
    """The entry's stated denominators, which must be the ones it grades with."""
    assert entry.energy is not None
    stated = entry.energy["denominators"]
    output, added = stated["productOutputT"], stated["addedValueWanYuan"]
    rating = entry.rating or {}
    product = rating.get("product") or {}
    for name, value, graded in (
        ("addedValueWanYuan", added, rating.get("added_value_wan_yuan")),
        ("productOutputT", output, product.get("output_t")),
    ):
        if graded is not None and (value is None or Decimal(value) != Decimal(graded)):
            raise VerificationFailure(
                "figures",
                "EnergyMismatch",
                f"energy.denominators.{name} is {value}, the rating grades with {graded}",
            )
    return Denominators(
        None if output is None else Decimal(output), None if added is None else Decimal(added)
    )


def check_energy_figures(
    bundle: FigureProofBundle, entry: EvaluationEntry, result: Result, sets: EnergySets | None
) -> str | None:
    """Recompute the energy and benchmark blocks; None when the bundle proves no energy."""
    if sets is None:
        if bundle.figure.path.startswith(ENERGY_PREFIXES):
            raise VerificationFailure(
                "figures",
                "FigureMismatch",
                f"{bundle.figure.path} needs the bundle's energy coefficient and level sets",
            )
        return None
    assert entry.energy is not None and entry.benchmark is not None
    try:
        computed = energy_and_standing(
            result,
            sets.coefficients,
            sets.levels,
            entry.energy["basis"],
            entry.period.start.year,
            entry.industry,
            _denominators(entry),
        )
    except _BAD_INPUT as exc:
        raise VerificationFailure(
            "figures", "EnergyMismatch", f"the energy cannot be recomputed: {exc}"
        ) from None
    if computed["energy"] != entry.energy:
        where = _difference(computed["energy"], entry.energy, "energy")
        raise VerificationFailure("figures", "EnergyMismatch", f"energy differs at {where}")
    if computed["benchmark"] != entry.benchmark:
        where = _difference(computed["benchmark"], entry.benchmark, "benchmark")
        raise VerificationFailure("figures", "BenchmarkMismatch", f"benchmark differs at {where}")
    total = entry.energy["figures"]["reported"]["total"]
    return (
        f"energy {total} tce ({entry.energy['basis']} value) and standing "
        + str(entry.benchmark["standing"])
        + " recomputed"
    )
