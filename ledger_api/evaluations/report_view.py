"""From a stored evaluation to the report's input model (``report.ReportData``)."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any
from urllib.parse import quote

from sqlalchemy import select
from sqlmodel import Session

from accounting import load_factor_set
from accounting.industries import INDUSTRY_TABLE
from accounting.numbers import decimal_str
from ledger_api.core.errors import ApiError, not_found
from ledger_api.core.models import AnchorBatch, EmissionSource, Enterprise, Evaluation, LeafRow
from ledger_api.evaluations.declarations import attestation_of
from ledger_api.evaluations.energy import energy_view
from ledger_api.evaluations.gradability import grading_of
from ledger_api.evaluations.green_certificates import scope2_view
from ledger_api.evaluations.report import (
    AnchorInfo,
    FactorRow,
    GridFactorView,
    RatingView,
    ReportData,
    SourceRow,
    TrendPoint,
)

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


def _source_line(provenance: dict[str, Any]) -> str:
    """A value's source in one line: document, notice number, year, clause and status."""
    notice = provenance.get("notice")
    parts = [provenance["document"]]
    if notice and notice != "none":
        parts.append(notice)
    parts += [str(provenance["year"]), provenance["clause"], f"status: {provenance['status']}"]
    return "; ".join(parts)


def _average_source(rating: dict[str, Any]) -> str:
    """Where K's industry average comes from, named in full (not just "ruleset")."""
    average = rating["industry_average"]
    if average["origin"] == "ruleset":
        return f"ruleset {rating['ruleset']['id']}: {_source_line(average['provenance'])}"
    definition = (average.get("population") or {}).get("definition", "")
    return f"population of the ledger's rated firms ({definition})"


def _factors(entry: dict[str, Any]) -> list[FactorRow]:
    """Every factor the accounting used, from the factor set the entry names."""
    accounting = entry["accounting"]
    factor_set = load_factor_set(accounting["factorSet"]["id"])
    rows = []
    for factor_id in accounting.get("factorsUsed", []):
        factor = factor_set.get(factor_id)
        if factor is None:
            continue
        provenance = factor.provenance.to_dict()
        rows.append(
            FactorRow(
                factor_id,
                decimal_str(factor.value),
                factor.unit,
                factor.provenance.status,
                _source_line(provenance),
            )
        )
    return rows


def _grid(entry: dict[str, Any]) -> GridFactorView | None:
    grid = entry["accounting"].get("gridFactor")
    if not grid:
        return None
    override = grid.get("override") or {}
    return GridFactorView(
        grid["factor"],
        grid["value"],
        grid["level"],
        grid["note"],
        _source_line(grid["source"]),
        override.get("reason"),
    )


def _grading(entry: dict[str, Any]) -> tuple[str, list[str], Decimal | None]:
    """Status, reasons and (when not gradable) L of an entry; older entries are graded."""
    grading = grading_of(entry) or {}
    status = grading.get("status", "graded")
    if status == "not_gradable":
        return status, [grading["reason"], grading["detail"]], Decimal(grading["L"]["reported"])
    return status, list(grading.get("indicativeReasons", [])), None


def _rating(rating: dict[str, Any]) -> RatingView:
    product = rating.get("product") or {}
    benchmark = product.get("benchmark") or {}
    return RatingView(
        L=Decimal(rating["L"]["reported"]),
        L_level=rating["level"],
        K=Decimal(rating["K"]["reported"]),
        grade=rating["grade"],
        industry_average_L=Decimal(rating["industry_average"]["value"]),
        industry_average_origin=_average_source(rating),
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


def report_data(
    session: Session, identifier: str, base_url: str, public_base_url: str | None = None
) -> ReportData:
    """Everything the report shows about one evaluation; 422 when it has no rating."""
    row = session.scalar(select(Evaluation).where(Evaluation.identifier == identifier))
    if row is None:
        raise not_found("evaluation", identifier)
    entry = json.loads(row.entry)
    status, reasons, intensity = _grading(entry)
    if not entry.get("rating") and status != "not_gradable":
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
        rating=_rating(entry["rating"]) if entry.get("rating") else None,
        factor_set_id=entry["accounting"]["factorSet"]["id"],
        factor_set_digest=entry["accounting"]["factorSet"]["digest"],
        gwp_set=entry["accounting"]["gwp"],
        engine_version=entry["accounting"]["engineVersion"],
        evaluation_identifier=row.identifier,
        proof_url=f"{base_url}/v1/evaluations/{quote(row.identifier)}/proof",
        public_url=(
            f"{public_base_url.rstrip('/')}/v/{quote(row.identifier)}" if public_base_url else None
        ),
        anchor=_anchor(session, row),
        generated_at=datetime.now(UTC),
        grading_status=status,
        grading_reasons=reasons,
        intensity_L=intensity,
        added_value_attestation=(attestation_of(entry, session) or {}).get("label"),
        grid_factor=_grid(entry),
        factors=_factors(entry),
        scope2=scope2_view(entry),
        energy=energy_view(entry),
    )
