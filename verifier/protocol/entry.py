"""The evaluation entry on the wire: a ``carbon-ledger/evaluation`` v1 document, anchored as a
ledger-entry leaf (kind 2) over the keccak256 of its RFC 8785 canonical JSON.

The ledger writes entries and the verifier reads them back, so the format name and the way a
figure path resolves to its reported value are defined once, here; the fields a check reads are
the frozen model :class:`verifier.formats.entry.EvaluationEntry`.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime, timedelta, timezone
from typing import Any

from accounting.figures import figure_at

ENTRY_FORMAT = "carbon-ledger/evaluation"
RATING_FIGURES = ("rating.grade", "rating.L", "rating.K")
# Scope 2 both ways (``accounting.scope2``), in entries that carry a ``scope2`` block.
SCOPE2_FIGURES = ("scope2.locationBased", "scope2.marketBased")
# Energy figures (``energy.total``, ``energy.bySource.<id>``, ``energy.intensity.product``, …)
# and the benchmark standing (``benchmark.standing``, ``benchmark.intensity``).
ENERGY_PREFIXES = ("energy.", "benchmark.")


def figure_value(entry: Mapping[str, Any], path: str) -> str:
    """The reported value of ``path`` in an entry (KeyError or TypeError when it reports no
    such figure): ``total``, ``byCategory.x``, ``byGas.x``, ``bySource.x`` from the reported
    figures; ``rating.grade``, ``rating.L``, ``rating.K`` from the rating;
    ``scope2.locationBased`` and ``scope2.marketBased`` from the Scope 2 block."""
    if path in RATING_FIGURES:
        value = entry["rating"][path.removeprefix("rating.")]
        return str(value) if path == "rating.grade" else value["reported"]
    if path in SCOPE2_FIGURES:
        return entry["scope2"][path.removeprefix("scope2.")]["reported"]
    if path.startswith(ENERGY_PREFIXES):
        return energy_figure_value(entry, path)
    return figure_at(entry["accounting"]["figures"]["reported"], path)


def period_bounds(start: date, end: date, utc_offset_hours: int) -> tuple[int, int]:
    """Unix seconds of local midnight at ``start`` and after ``end`` (inclusive dates) in the
    reporting zone: what an entry's ``startTs`` / ``endTs`` must be (OverflowError after the
    last day of year 9999)."""
    zone = timezone(timedelta(hours=utc_offset_hours))
    first = datetime(start.year, start.month, start.day, tzinfo=zone)
    after = datetime(end.year, end.month, end.day, tzinfo=zone) + timedelta(days=1)
    return int(first.timestamp()), int(after.timestamp())


def energy_figure_value(entry: Mapping[str, Any], path: str) -> str:
    """An energy or benchmark figure's reported value (KeyError or TypeError when absent)."""
    if path == "benchmark.standing":
        value = entry["benchmark"]["standing"]
    elif path == "benchmark.intensity":
        value = entry["benchmark"]["intensity"]["reported"]
    else:
        return figure_at(entry["energy"]["figures"]["reported"], path.removeprefix("energy."))
    if not isinstance(value, str):
        raise KeyError(path)
    return value
