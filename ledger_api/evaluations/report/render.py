"""Render a ``ReportData`` into one self-contained HTML document (no external CSS, JS, fonts or
images), so the report can be archived and emailed as a single file.

碳效码 payload (version 1), the text inside the QR code::

    CLCE1;id=<evaluation identifier>;e=<enterprise identifier>;g=<grade>;k=<K>;p=<proof URL>

Fields are separated by ``;`` and appear in exactly this order. In each value, ``%``, ``;``
and control characters are percent-encoded (``%25``, ``%3B``, ``%0A`` …), so a reader splits
on ``;``, then on the first ``=``, then percent-decodes. ``g`` is 1..5 and ``k`` is the K value
as its decimal string. Keys never change meaning within ``CLCE1``; a new meaning takes a new
prefix. The grade and K in the code are a convenience: the proof at ``p`` is what counts.

A grade that is only indicative (it rests on a placeholder industry average), or a period no
ruleset grades, is written under version 2, which a version-1 reader refuses, so no reader
takes such a grade for a definitive one::

    CLCE2;id=…;e=…;s=<indicative|not_gradable>;g=<grade or ->;k=<K or ->;p=<proof URL>

A ledger with a public base URL puts the public page's address in the code instead,
``<public base URL>/v/<evaluation identifier>``: a phone's camera opens it, and the page
verifies the published proof in the browser.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import segno
from jinja2 import Environment, FileSystemLoader, StrictUndefined
from markupsafe import Markup

from ledger_api.evaluations.report.charts import (
    Bar,
    BarGroup,
    bar_chart,
    figure_str,
    grade_scale,
    trend_chart,
)
from ledger_api.evaluations.report.model import (
    CATEGORY_NAMES,
    CATEGORY_ORDER,
    GAS_NAMES,
    GRADE_COLOURS,
    GRADE_DESCRIPTIONS,
    K_THRESHOLDS,
    LEVEL_NAMES,
    MEMO_CATEGORIES,
    ReportData,
    check_colours,
)

QR_PREFIX = "CLCE1"
QR_KEYS = ("id", "e", "g", "k", "p")
QR_PREFIX_V2 = "CLCE2"
QR_KEYS_V2 = ("id", "e", "s", "g", "k", "p")

_ENV = Environment(
    loader=FileSystemLoader(Path(__file__).parent / "templates"),
    autoescape=True,
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
    keep_trailing_newline=True,
)
_ENV.filters["fig"] = figure_str


def _encode(value: str) -> str:
    return "".join(f"%{ord(c):02X}" if c in "%;" or ord(c) < 0x20 else c for c in value)


def qr_payload(data: ReportData) -> str:
    """The 碳效码 text (format in the module docstring)."""
    if data.public_url:
        return data.public_url
    rating = data.rating
    grade = str(rating.grade) if rating else "-"
    k = figure_str(rating.K) if rating else "-"
    ids = (data.evaluation_identifier, data.enterprise_identifier)
    if data.grading_status == "graded":
        prefix, keys, values = QR_PREFIX, QR_KEYS, (*ids, grade, k, data.proof_url)
    else:
        prefix, keys = QR_PREFIX_V2, QR_KEYS_V2
        values = (*ids, data.grading_status, grade, k, data.proof_url)
    fields = (f"{key}={_encode(value)}" for key, value in zip(keys, values, strict=True))
    return ";".join((prefix, *fields))


def parse_qr_payload(payload: str) -> dict[str, str]:
    """Inverse of ``qr_payload``: the fields by key; raises ValueError on anything else."""
    prefix, *fields = payload.split(";")
    keys = {QR_PREFIX: QR_KEYS, QR_PREFIX_V2: QR_KEYS_V2}.get(prefix)
    if keys is None:
        raise ValueError(f"not a {QR_PREFIX} or {QR_PREFIX_V2} payload")
    parsed = dict(field.split("=", 1) for field in fields if "=" in field)
    if tuple(parsed) != keys or len(fields) != len(keys):
        raise ValueError(f"expected fields {keys}")
    return {key: unquote(value) for key, value in parsed.items()}


def qr_svg(payload: str, colour: str) -> Markup:
    """The QR code as inline SVG, with the 4-module quiet zone the QR spec asks for.

    Error level M at least; segno raises it when that costs no larger symbol.
    """
    code = segno.make(payload, error="m", micro=False)
    svg = code.svg_inline(
        scale=4, dark=colour, light="#ffffff", border=4, svgclass="qr-code", title=payload
    )
    return Markup(svg)  # segno escapes the title itself


def _category_groups(data: ReportData) -> list[BarGroup]:
    def bar(key: str, css: str = "") -> Bar:
        zh, en = CATEGORY_NAMES[key]
        return Bar(zh, en, data.by_category[key], css)

    keys = [k for k in CATEGORY_ORDER if k in data.by_category]
    groups = [
        BarGroup([bar(k) for k in keys if k not in MEMO_CATEGORIES]),
        BarGroup([Bar("合计", "Total", data.total_tco2e, "total")]),
    ]
    memo = [bar(k, "memo") for k in keys if k in MEMO_CATEGORIES]
    if memo:
        groups.append(BarGroup(memo, "备忘项，不计入合计 Memo item, not included in the total"))
    return groups


def _gas_names(gas: str) -> tuple[str, str]:
    return GAS_NAMES.get(gas, (gas, gas))


def _gas_order(by_gas: Mapping[str, Any]) -> list[str]:
    known = [g for g in GAS_NAMES if g in by_gas]
    return known + sorted(g for g in by_gas if g not in GAS_NAMES)


def _charts(data: ReportData, colours: Mapping[int, str]) -> dict[str, Markup | None]:
    gases = _gas_order(data.by_gas)
    gas_bars = [Bar(*_gas_names(g), data.by_gas[g]) for g in gases]
    points = [(p.period_label, p.total, False) for p in data.trend]
    rating = data.rating
    return {
        "category": bar_chart(
            _category_groups(data), "按类别的排放量 Emissions by category", "chart-category"
        ),
        "gas": bar_chart([BarGroup(gas_bars)], "按气体的排放量 Emissions by gas", "chart-gas"),
        # The current period joins the trend so the reader sees it against earlier ones.
        "trend": trend_chart([*points, ("本期 Current", data.total_tco2e, True)], "趋势 Trend")
        if points
        else None,
        "grade": grade_scale(rating.K, rating.grade, colours, "碳效等级标尺 Grade scale")
        if rating
        else None,
    }


UNGRADED_COLOUR = "#24292f"


def _status_counts(data: ReportData) -> list[tuple[str, int]]:
    """How many of the factors used carry each status, most reliable first."""
    order = ("verified", "secondary", "derived", "recalled")
    counts = {s: sum(1 for f in data.factors if f.status == s) for s in order}
    return [(s, n) for s, n in counts.items() if n]


def build_context(data: ReportData, colours: Mapping[int, str]) -> dict[str, Any]:
    """Everything the template needs, already ordered and labelled."""
    keys = [k for k in CATEGORY_ORDER if k in data.by_category]
    payload = qr_payload(data)
    rating = data.rating
    # Without a grade the code is printed in plain dark grey: no grade colour to imply one.
    colour = colours[rating.grade] if rating else UNGRADED_COLOUR
    grade = GRADE_DESCRIPTIONS[rating.grade] if rating else ("", "")
    level = LEVEL_NAMES[rating.L_level] if rating else ("", "")
    return {
        "d": data,
        "r": rating,
        "categories": [(k, *CATEGORY_NAMES[k]) for k in keys if k not in MEMO_CATEGORIES],
        "memo": [(k, *CATEGORY_NAMES[k]) for k in keys if k in MEMO_CATEGORIES],
        "gases": [(g, *_gas_names(g)) for g in _gas_order(data.by_gas)],
        "grade_zh": grade[0],
        "grade_en": grade[1],
        "level_zh": level[0],
        "level_en": level[1],
        "statuses": _status_counts(data),
        "grade_colour": colour,
        "thresholds": [figure_str(t) for t in K_THRESHOLDS],
        "grades": GRADE_DESCRIPTIONS,
        "qr_payload": payload,
        "qr": qr_svg(payload, colour),
        "charts": _charts(data, colours),
    }


def render_report(data: ReportData, colours: Mapping[int, str] | None = None) -> str:
    """The complete HTML document for ``data``; ``colours`` overrides the per-grade colours."""
    chosen = check_colours(colours if colours is not None else GRADE_COLOURS)
    return _ENV.get_template("report.html.j2").render(build_context(data, chosen))
