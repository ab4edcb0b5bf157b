"""The evaluation report renderer: a complete, self-contained, escaped, bilingual document."""

from __future__ import annotations

import dataclasses
import re
from datetime import UTC, date, datetime
from decimal import Decimal
from html.parser import HTMLParser
from pathlib import Path

import pytest

from ledger_api.evaluations.report import (
    AnchorInfo,
    RatingView,
    ReportData,
    SourceRow,
    TrendPoint,
    parse_qr_payload,
    qr_payload,
    render_report,
)
from ledger_api.evaluations.report.charts import _k_position
from ledger_api.evaluations.report.render import qr_svg
from tests.browser import ConsoleWatch, save_screenshots, shared_browser

D = Decimal
PROOF_URL = "https://ledger.example.org/v1/evaluations/88.118.8%2FCL-EVAL-0A1B2C3D4E5F6071/proof"


def rating(**changes: object) -> RatingView:
    base = RatingView(
        L=D("0.8230"),
        L_level="medium",
        K=D("0.95"),
        grade=3,
        industry_average_L=D("0.8663"),
        industry_average_origin="ruleset building-materials-2024 (published average)",
        ruleset_id="cn-carbon-efficiency-glass",
        ruleset_version="2024.1",
        added_value_wan_yuan=D("15000.00"),
        product_intensity=D("0.512"),
        product_benchmark=D("0.540"),
    )
    return dataclasses.replace(base, **changes)


def full_data(**changes: object) -> ReportData:
    base = ReportData(
        enterprise_identifier="88.118.8/ENT-330102-0001",
        enterprise_name="示例玻璃有限公司 Example Glass Co.",
        industry_key="flat_glass",
        industry_name_zh="平板玻璃",
        industry_name_en="Flat glass",
        region="浙江省杭州市 Hangzhou, Zhejiang",
        period_start=date(2024, 1, 1),
        period_end=date(2024, 12, 31),
        boundary="法人边界：熔窑、锡槽、退火窑及辅助设施 Legal-entity boundary",
        sources=[
            SourceRow("88.118.8/SRC-FURNACE-1", "浮法熔窑 Float furnace", 8784, 3),
            SourceRow("88.118.8/SRC-GRID", "电网购电 Grid electricity", 366, 2),
        ],
        total_tco2e=D("12345.678"),
        by_category={
            "combustion": D("10000.120"),
            "process": D("2500.000"),
            "purchased_electricity": D("1200.558"),
            "purchased_heat": D("300.000"),
            "exported": D("-1500.000"),
            "deducted": D("-155.000"),
            "biomass_memo": D("432.100"),
        },
        by_gas={"CO2": D("12300.000"), "CH4": D("30.678"), "N2O": D("15.000")},
        trend=[TrendPoint("2022", D("14002.250")), TrendPoint("2023", D("13010.500"))],
        rating=rating(),
        factor_set_id="cn-ghg-v1",
        factor_set_digest="0x" + "ab" * 32,
        gwp_set="AR5",
        engine_version="accounting 0.3.1",
        evaluation_identifier="88.118.8/CL-EVAL-0A1B2C3D4E5F6071",
        proof_url=PROOF_URL,
        anchor=AnchorInfo(
            chain_id=1337,
            contract="0x5FbDB2315678afecb367f032d93F642f64180aa3",
            tx_hash="0x" + "cd" * 32,
            block=4211,
        ),
        generated_at=datetime(2025, 2, 3, 4, 5, 6, tzinfo=UTC),
    )
    return dataclasses.replace(base, **changes)


def svg_by_class(html: str, css: str) -> str:
    match = re.search(rf'<svg [^>]*class="chart {css}".*?</svg>', html, re.S)
    assert match, f"no {css} chart"
    return match.group(0)


def element_by_id(html: str, tag: str, ident: str) -> str:
    match = re.search(rf'<{tag}[^>]*id="{ident}".*?</{tag}>', html, re.S)
    assert match, f"no {tag}#{ident}"
    return match.group(0)


class Refs(HTMLParser):
    """Collects every attribute that could make the document fetch something."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.refs: list[tuple[str, str, str | None]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.refs += [(tag, k, v) for k, v in attrs if k in {"href", "src", "srcset", "action"}]


@pytest.fixture(scope="module")
def html() -> str:
    return render_report(full_data())


def test_complete_self_contained_document(html: str) -> None:
    assert html.startswith("<!DOCTYPE html>")
    assert html.rstrip().endswith("</html>")
    parser = Refs()
    parser.feed(html)
    assert {"html", "head", "meta", "title", "style", "body"} <= set(parser.tags)
    assert "script" not in parser.tags and "link" not in parser.tags and "img" not in parser.tags
    # The only reference out of the document is the proof link a reader may follow.
    assert parser.refs == [("a", "href", PROOF_URL)]
    assert "@import" not in html and "url(" not in html
    assert '<meta charset="utf-8">' in html
    assert "@page { size: A4" in html


def test_bilingual_labels(html: str) -> None:
    for label in (
        '碳效等级 <span class="en">Carbon-efficiency grade</span>',
        '碳效码 <span class="en">Carbon-efficiency code</span>',
        "接近行业平均 near industry average",
        "中碳 medium",
        '化石燃料燃烧 <span class="en">Fuel combustion</span>',
        '净购入电力 <span class="en">Purchased electricity</span>',
        '输出的电力和热力 <span class="en">Exported electricity and heat</span>',
        '甲烷 <span class="en">Methane</span>',
        '行业平均 L <span class="en">Industry average L</span>',
        "平板玻璃 Flat glass",
    ):
        assert label in html, label


def test_every_figure_printed_exactly(html: str) -> None:
    data = full_data()
    r = data.rating
    figures = [
        data.total_tco2e,
        *data.by_category.values(),
        *data.by_gas.values(),
        *(p.total for p in data.trend),
        r.L,
        r.K,
        r.industry_average_L,
        r.added_value_wan_yuan,
        r.product_intensity,
        r.product_benchmark,
    ]
    for value in figures:
        assert f">{value:f}<" in html, value
    # trailing zeros are digits of the reported figure, kept as given
    assert ">2500.000<" in html and ">15000.00<" in html
    assert ">8784<" in html and ">1337<" in html and ">4211<" in html


def test_qr_payload_exact_and_round_trips() -> None:
    data = full_data()
    payload = qr_payload(data)
    assert payload == (
        "CLCE1;id=88.118.8/CL-EVAL-0A1B2C3D4E5F6071;e=88.118.8/ENT-330102-0001;g=3;k=0.95;"
        "p=https://ledger.example.org/v1/evaluations/88.118.8%252FCL-EVAL-0A1B2C3D4E5F6071/proof"
    )
    assert parse_qr_payload(payload) == {
        "id": data.evaluation_identifier,
        "e": data.enterprise_identifier,
        "g": "3",
        "k": "0.95",
        "p": PROOF_URL,
    }
    odd = full_data(evaluation_identifier="a;b=c%", proof_url="https://x.example/p?a=1;b=2")
    assert qr_payload(odd) == (
        "CLCE1;id=a%3Bb=c%25;e=88.118.8/ENT-330102-0001;g=3;k=0.95;p=https://x.example/p?a=1%3Bb=2"
    )
    assert parse_qr_payload(qr_payload(odd))["id"] == "a;b=c%"
    with pytest.raises(ValueError):
        parse_qr_payload("CLCE2;id=x")


def test_qr_code_embedded_in_grade_colour(html: str) -> None:
    payload = qr_payload(full_data())
    assert str(qr_svg(payload, "#8a6d00")) in html
    assert 'class="qr-code"' in html and 'stroke="#8a6d00"' in html
    # the payload is also printed under the code, for a reader without a scanner
    assert f">{payload.replace('&', '&amp;')}</div>" in html
    colours = {1: "#000001", 2: "#000002", 3: "#123456", 4: "#000004", 5: "#000005"}
    assert 'stroke="#123456"' in render_report(full_data(), colours)
    with pytest.raises(ValueError):
        render_report(full_data(), {**colours, 3: "red;x"})


def test_charts_carry_values(html: str) -> None:
    data = full_data()
    category = svg_by_class(html, "chart-category")
    for value in data.by_category.values():
        assert f">{value:f}</text>" in category
    assert ">12345.678</text>" in category
    assert 'class="bar negative"' in category  # exported and deducted drawn left of zero
    gas = svg_by_class(html, "chart-gas")
    for value in data.by_gas.values():
        assert f">{value:f}</text>" in gas
    trend = svg_by_class(html, "chart-trend")
    for value in ("14002.250", "13010.500", "12345.678"):
        assert f">{value}</text>" in trend
    assert trend.count('class="trend-point current"') == 1


def test_biomass_memo_reported_apart(html: str) -> None:
    memo = element_by_id(html, "div", "memo")
    assert ">432.100<" in memo and "not included in the total" in memo
    table = element_by_id(html, "table", "by-category")
    assert "432.100" not in table and "biomass_memo" not in table
    category = svg_by_class(html, "chart-category")
    memo_row = re.search(r'<g class="bar-row memo" data-value="432.100">', category)
    assert memo_row and "备忘项，不计入合计" in category[: memo_row.start()]


def test_no_trend_no_anchor_no_product_figures() -> None:
    data = full_data(
        trend=[],
        anchor=None,
        rating=rating(product_intensity=None, product_benchmark=None),
    )
    html = render_report(data)
    assert "尚未上链" in html and "Not yet anchored" in html
    assert 'class="chart chart-trend"' not in html and "No previous periods" in html
    assert "未提供 not provided" in html
    one = render_report(full_data(trend=[TrendPoint("2023", D("13010.500"))]))
    assert ">13010.500</text>" in svg_by_class(one, "chart-trend")


def test_everything_is_escaped() -> None:
    evil = '<script>alert("x")</script> & Co'
    data = full_data(
        enterprise_name=evil,
        boundary=evil,
        sources=[SourceRow("id<1>", evil, 1, 1)],
        trend=[TrendPoint(evil, D("1"))],
    )
    html = render_report(data)
    assert "<script" not in html
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &amp; Co" in html
    assert "id&lt;1&gt;" in html
    trend = svg_by_class(html, "chart-trend")
    assert "&lt;script&gt;" in trend and "<script" not in trend


@pytest.mark.parametrize(
    ("k", "grade"),
    [("0.41", 1), ("0.6", 1), ("0.75", 2), ("0.95", 3), ("1.2", 3), ("1.65", 4), ("7.3", 5)],
)
def test_grade_scale_marks_the_grade(k: str, grade: int) -> None:
    html = render_report(full_data(rating=rating(K=D(k), grade=grade)))
    scale = svg_by_class(html, "chart-grade-scale")
    current = re.findall(r'<g class="grade-step current" data-grade="(\d)"', scale)
    assert current == [str(grade)]
    assert f'data-k="{k}"' in scale and f">K = {k}</text>" in scale
    for edge in ("0.6", "0.8", "1.2", "2.0"):
        assert f">{edge}</text>" in scale
    x0, width = D(20), D(128)
    x = _k_position(D(k), grade, x0, width)
    assert x0 + width * (grade - 1) <= x <= x0 + width * grade


def test_k_marker_positions() -> None:
    x0, width = D(0), D(100)
    assert _k_position(D("0.6"), 1, x0, width) == D(100)  # upper edge belongs to grade 1
    assert _k_position(D("1.0"), 3, x0, width) == D(250)
    assert _k_position(D("99"), 5, x0, width) == D(500)  # grade 5 has no edge: clamp


def test_model_refuses_bad_input() -> None:
    with pytest.raises(ValueError):
        rating(K=0.95)
    with pytest.raises(ValueError):
        rating(grade=6)
    with pytest.raises(ValueError):
        rating(L_level="tiny")
    with pytest.raises(ValueError):
        full_data(by_category={"scope3": D("1")})
    with pytest.raises(ValueError):
        full_data(by_gas={"CO2": 1.5})
    with pytest.raises(ValueError):
        full_data(period_end=date(2023, 1, 1))


def test_headless_screenshot(tmp_path: Path, html: str) -> None:
    report = tmp_path / "report.html"
    report.write_text(html, encoding="utf-8")
    page = shared_browser().new_page(viewport={"width": 900, "height": 3400})
    try:
        watch = ConsoleWatch(page)
        page.goto(report.as_uri())
        png = save_screenshots(page, "report", "evaluation-report")[0]
    finally:
        page.close()
    assert not watch.errors
    data = png.read_bytes()
    assert data.startswith(b"\x89PNG\r\n\x1a\n")
    assert len(data) > 40_000
