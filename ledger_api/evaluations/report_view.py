"""From a stored evaluation to the report's input model (``report.ReportData``)."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any
from urllib.parse import quote

from sqlalchemy import select
from sqlmodel import Session

from accounting.industries import INDUSTRY_TABLE
from ledger_api.core.errors import ApiError, not_found
from ledger_api.core.models import AnchorBatch, EmissionSource, Enterprise, Evaluation, LeafRow
from ledger_api.evaluations.report import AnchorInfo, RatingView, ReportData, SourceRow, TrendPoint

INDUSTRY_ZH = {
    "flat_glass": "平板玻璃",
    "cement": "水泥熟料",
    "chemicals": "化工",
    "iron_steel": "钢铁",
    "automotive": "汽车及零部件制造",
    "aluminium": "电解铝",
    "general": "工业通用",
}
INDUSTRY_EN = {i.key: i.name for i in INDUSTRY_TABLE} | {"general": "General industry"}


def _rating(rating: dict[str, Any]) -> RatingView:
    product = rating.get("product") or {}
    benchmark = product.get("benchmark") or {}
    return RatingView(
        L=Decimal(rating["L"]["reported"]),
        L_level=rating["level"],
        K=Decimal(rating["K"]["reported"]),
        grade=rating["grade"],
        industry_average_L=Decimal(rating["industry_average"]["value"]),
        industry_average_origin=rating["industry_average"]["origin"],
        ruleset_id=rating["ruleset"]["id"],
        ruleset_version=rating["ruleset"]["version"],
        added_value_wan_yuan=Decimal(rating["added_value_wan_yuan"]),
        product_intensity=Decimal(product["intensity"]["reported"]) if product else None,
        product_benchmark=Decimal(benchmark["value"]) if benchmark.get("value") else None,
    )


def _sources(session: Session, enterprise: Enterprise, entry: dict[str, Any]) -> list[SourceRow]:
    names = dict(
        session.execute(
            select(EmissionSource.identifier, EmissionSource.name).where(
                EmissionSource.enterprise_id == enterprise.id
            )
        ).all()
    )
    rows = []
    for source in entry["boundary"]["sources"]:
        devices = [d for d in entry["records"]["devices"] if d["source"] == source]
        rows.append(
            SourceRow(
                source, names.get(source, source), sum(d["count"] for d in devices), len(devices)
            )
        )
    return rows


def _trend(session: Session, row: Evaluation) -> list[TrendPoint]:
    earlier = session.scalars(
        select(Evaluation)
        .where(
            Evaluation.enterprise_id == row.enterprise_id, Evaluation.period_end < row.period_start
        )
        .order_by(Evaluation.period_start, Evaluation.id)
    )
    latest = {e.period_start: e for e in earlier}  # the newest evaluation of each period
    return [TrendPoint(e.period_start[:7], Decimal(e.total)) for e in latest.values()]


def _anchor(session: Session, row: Evaluation) -> AnchorInfo | None:
    batch = session.scalar(
        select(AnchorBatch)
        .join(LeafRow, LeafRow.batch_id == AnchorBatch.id)
        .where(LeafRow.hash == row.leaf_hash)
    )
    if batch is None or batch.status != "confirmed":
        return None
    return AnchorInfo(batch.chain_id, batch.contract, batch.tx_hash or "", batch.block_number or 0)


def report_data(session: Session, identifier: str, base_url: str) -> ReportData:
    """Everything the report shows about one evaluation; 422 when it has no rating."""
    row = session.scalar(select(Evaluation).where(Evaluation.identifier == identifier))
    if row is None:
        raise not_found("evaluation", identifier)
    entry = json.loads(row.entry)
    if not entry.get("rating"):
        raise ApiError(422, "no_rating", "this evaluation has no rating to report", "identifier")
    enterprise = session.get(Enterprise, row.enterprise_id)
    assert enterprise is not None
    reported = entry["accounting"]["figures"]["reported"]
    return ReportData(
        enterprise_identifier=enterprise.identifier,
        enterprise_name=enterprise.name,
        industry_key=enterprise.industry,
        industry_name_zh=INDUSTRY_ZH.get(enterprise.industry, enterprise.industry),
        industry_name_en=INDUSTRY_EN.get(enterprise.industry, enterprise.industry),
        region=enterprise.region or "",
        period_start=date.fromisoformat(row.period_start),
        period_end=date.fromisoformat(row.period_end),
        boundary=f"{len(entry['boundary']['sources'])} registered emission sources",
        sources=_sources(session, enterprise, entry),
        total_tco2e=Decimal(reported["total"]),
        by_category={k: Decimal(v) for k, v in reported["byCategory"].items()},
        by_gas={k: Decimal(v) for k, v in reported["byGas"].items()},
        trend=_trend(session, row),
        rating=_rating(entry["rating"]),
        factor_set_id=entry["accounting"]["factorSet"]["id"],
        factor_set_digest=entry["accounting"]["factorSet"]["digest"],
        gwp_set=entry["accounting"]["gwp"],
        engine_version=entry["accounting"]["engineVersion"],
        evaluation_identifier=row.identifier,
        proof_url=f"{base_url}/v1/evaluations/{quote(row.identifier)}/proof",
        anchor=_anchor(session, row),
        generated_at=datetime.now(UTC),
    )
