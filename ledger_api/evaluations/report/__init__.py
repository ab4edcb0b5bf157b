"""The carbon-efficiency evaluation report (碳效评价报告) and its 碳效码: a pure renderer from
``ReportData`` to one self-contained HTML document."""

from ledger_api.evaluations.report.model import (
    GRADE_COLOURS,
    AnchorInfo,
    FactorRow,
    GridFactorView,
    RatingView,
    ReportData,
    SourceRow,
    TrendPoint,
)
from ledger_api.evaluations.report.render import parse_qr_payload, qr_payload, render_report

__all__ = [
    "GRADE_COLOURS",
    "AnchorInfo",
    "FactorRow",
    "GridFactorView",
    "RatingView",
    "ReportData",
    "SourceRow",
    "TrendPoint",
    "parse_qr_payload",
    "qr_payload",
    "render_report",
]
