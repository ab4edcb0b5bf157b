"""Hand-written inline SVG charts for the report.

Every chart prints its figures as text (the Decimal string, exactly as given), so a printed or
archived report is readable without hovering. Geometry is the only place a figure becomes a
float: SVG needs pixel coordinates, and those never feed back into any figure.

All text is escaped here, because the template inserts the returned ``Markup`` as it is.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal

from markupsafe import Markup, escape

from ledger_api.evaluations.report.model import GRADE_DESCRIPTIONS, K_THRESHOLDS

WIDTH = 680
ROW_H = 34
LABEL_W = 250  # zh label over en label
VALUE_W = 120  # right-aligned value column, so value text never collides with a bar
PLOT_X0 = LABEL_W + 10
PLOT_W = WIDTH - LABEL_W - VALUE_W - 20
# Grade 5 has no upper edge; the scale draws it as far again past 2.0 as grade 4 is wide.
K_SCALE_TOP = Decimal("2.8")


@dataclass(frozen=True)
class Bar:
    """One labelled bar; ``css`` picks its look: ``""``, ``"negative"``, ``"total"``, ``"memo"``."""

    label_zh: str
    label_en: str
    value: Decimal
    css: str = ""


@dataclass(frozen=True)
class BarGroup:
    """Bars drawn together; a group after the first is set apart by a rule and its caption."""

    bars: Sequence[Bar]
    caption: str | None = None


def figure_str(value: Decimal) -> str:
    """The Decimal exactly as given (its digits and exponent), never in scientific notation."""
    return format(value, "f")


def _px(value: Decimal | float | int) -> str:
    # Pixel coordinates only: the float never becomes a figure the reader sees.
    return f"{float(value):.2f}".rstrip("0").rstrip(".")


def _text(x: object, y: object, content: str, css: str = "", anchor: str = "start") -> str:
    return (
        f'<text x="{_px(x)}" y="{_px(y)}" class="{escape(css)}" '
        f'text-anchor="{anchor}">{escape(content)}</text>'
    )


def _svg(css: str, height: int, title: str, body: list[str]) -> Markup:
    head = (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart {escape(css)}" role="img" '
        f'viewBox="0 0 {WIDTH} {height}" width="{WIDTH}" height="{height}">'
        f"<title>{escape(title)}</title>"
    )
    return Markup(head + "".join(body) + "</svg>")


def _extents(values: Sequence[Decimal]) -> tuple[Decimal, Decimal]:
    """Largest positive and largest negative magnitude, so both sides of zero get room."""
    pos = max([v for v in values if v > 0], default=Decimal(0))
    neg = max([-v for v in values if v < 0], default=Decimal(0))
    return pos, neg


def _bar_row(bar: Bar, y: int, zero_x: Decimal, scale: Decimal) -> list[str]:
    length = abs(bar.value) * scale
    left = zero_x - length if bar.value < 0 else zero_x
    css = bar.css or ("negative" if bar.value < 0 else "")
    return [
        f'<g class="bar-row {escape(css)}" data-value="{escape(figure_str(bar.value))}">',
        _text(LABEL_W, y + 14, bar.label_zh, "label-zh", "end"),
        _text(LABEL_W, y + 27, bar.label_en, "label-en", "end"),
        f'<rect class="bar {escape(css)}" x="{_px(left)}" y="{y + 7}" '
        f'width="{_px(max(length, Decimal("0.5")))}" height="{ROW_H - 14}"/>',
        _text(WIDTH - 6, y + 22, figure_str(bar.value), "value", "end"),
        "</g>",
    ]


def bar_chart(groups: Sequence[BarGroup], title: str, css: str) -> Markup:
    """Horizontal bars around a zero line: negatives go left, positives right, one scale."""
    values = [b.value for g in groups for b in g.bars]
    pos, neg = _extents(values)
    span = (pos + neg) or Decimal(1)
    scale = Decimal(PLOT_W) / span
    zero_x = PLOT_X0 + neg * scale
    body: list[str] = []
    y = 6
    for index, group in enumerate(groups):
        if index:  # a separate group: a rule, then its caption, then its bars
            body.append(
                f'<line class="group-rule" x1="6" x2="{WIDTH - 6}" y1="{y + 4}" y2="{y + 4}"/>'
            )
            y += 8
            if group.caption:
                body.append(_text(6, y + 14, group.caption, "caption"))
                y += 20
        for bar in group.bars:
            body.extend(_bar_row(bar, y, zero_x, scale))
            y += ROW_H
    top, bottom = 2, y + 2
    body.append(
        f'<line class="zero" x1="{_px(zero_x)}" x2="{_px(zero_x)}" y1="{top}" y2="{bottom}"/>'
    )
    return _svg(css, bottom + 4, title, body)


def trend_chart(points: Sequence[tuple[str, Decimal, bool]], title: str) -> Markup:
    """Vertical bars per period (label, total, is_current) with the value above each bar."""
    height, top, base_gap = 240, 28, 46
    plot_h = Decimal(height - top - base_gap)
    pos, neg = _extents([p[1] for p in points])
    scale = plot_h / ((pos + neg) or Decimal(1))
    zero_y = top + pos * scale
    slot = Decimal(WIDTH - 40) / max(len(points), 1)
    bar_w = min(slot * Decimal("0.6"), Decimal(90))
    # Many periods leave narrow slots: smaller value text keeps neighbours from overlapping.
    value_css = "value dense" if slot < 80 else "value"
    body: list[str] = []
    for i, (label, total, current) in enumerate(points):
        centre = 20 + slot * i + slot / 2
        length = abs(total) * scale
        y = zero_y - length if total >= 0 else zero_y
        css = "current" if current else ""
        value_y = y - 6 if total >= 0 else y + length + 14
        body += [
            f'<g class="trend-point {css}" data-value="{escape(figure_str(total))}">',
            f'<rect class="bar {css}" x="{_px(centre - bar_w / 2)}" y="{_px(y)}" '
            f'width="{_px(bar_w)}" height="{_px(max(length, Decimal("0.5")))}"/>',
            _text(centre, value_y, figure_str(total), value_css, "middle"),
            _text(centre, height - 24, label, "label-zh", "middle"),
            "</g>",
        ]
    body.append(
        f'<line class="zero" x1="10" x2="{WIDTH - 10}" y1="{_px(zero_y)}" y2="{_px(zero_y)}"/>'
    )
    return _svg("chart-trend", height, title, body)


def _k_position(k: Decimal, grade: int, x0: Decimal, seg_w: Decimal) -> Decimal:
    """x of K inside the rated grade's segment (linear between that segment's edges).

    The marker is kept inside the grade the rating gave: where the ruleset's edges and these
    display thresholds differ, the report must not appear to contradict the rating.
    """
    edges = (Decimal(0), *K_THRESHOLDS, K_SCALE_TOP)
    lo, hi = edges[grade - 1], edges[grade]
    frac = min(max((k - lo) / (hi - lo), Decimal(0)), Decimal(1))
    return x0 + seg_w * (grade - 1) + seg_w * frac


def _k_marker(k: Decimal, grade: int, x0: Decimal, seg_w: Decimal, bar_y: int) -> list[str]:
    kx = _k_position(k, grade, x0, seg_w)
    # keep the label inside the drawing when K sits at either end of the scale
    label_x = min(max(kx, x0 + 30), x0 + seg_w * 5 - 30)
    return [
        f'<g class="k-marker" data-k="{escape(figure_str(k))}">',
        f'<path d="M{_px(kx - 7)} {bar_y - 12} L{_px(kx + 7)} {bar_y - 12} '
        f'L{_px(kx)} {bar_y - 2} Z"/>',
        _text(label_x, bar_y - 18, f"K = {figure_str(k)}", "value", "middle"),
        "</g>",
    ]


def grade_scale(k: Decimal, grade: int, colours: Mapping[int, str], title: str) -> Markup:
    """Five equal steps coloured per grade, edges labelled 0.6/0.8/1.2/2.0, K marked."""
    x0, seg_w, bar_y, bar_h = Decimal(20), Decimal(128), 44, 54
    body: list[str] = []
    for g, (zh, en) in GRADE_DESCRIPTIONS.items():
        x = x0 + seg_w * (g - 1)
        css = "grade-step current" if g == grade else "grade-step"
        current = ' aria-current="true"' if g == grade else ""
        body += [
            f'<g class="{css}" data-grade="{g}"{current}>',
            f'<rect x="{_px(x)}" y="{bar_y}" width="{_px(seg_w)}" height="{bar_h}" '
            f'fill="{escape(colours[g])}"/>',
            _text(x + seg_w / 2, bar_y + 20, f"{g} 级 {zh}", "step-zh", "middle"),
            _text(x + seg_w / 2, bar_y + 38, en, "step-en", "middle"),
            "</g>",
        ]
    for i, edge in enumerate(K_THRESHOLDS, start=1):
        x = x0 + seg_w * i
        body.append(_text(x, bar_y + bar_h + 16, figure_str(edge), "edge", "middle"))
    body.append(_text(x0, bar_y + bar_h + 16, "K", "edge", "start"))
    body += _k_marker(k, grade, x0, seg_w, bar_y)
    return _svg("chart-grade-scale", bar_y + bar_h + 26, title, body)
