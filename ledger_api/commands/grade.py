"""``carbon-ledger grade``: grade a period offline, exactly as the ledger does.

For auditors: from emissions, added value, industry and year, under a shipped ruleset (named,
or the one in force for a region code), against the ruleset's industry average or an average
the auditor states with its source. The figures come from the same ``accounting.grading``
code the ledger stores (same exact comparison at the edges, same 4-place half-even display),
so the command and an evaluation entry agree digit for digit. Bad input exits 2.
"""

from __future__ import annotations

import json
import re
from decimal import Decimal
from typing import Annotated, Any

import typer

from accounting import AccountingError, Provenance
from accounting.grading import (
    IndustryAverage,
    Ruleset,
    grade,
    indicative_reasons,
    load_ruleset,
    ruleset_for,
)

EXIT_BAD_INPUT = 2
# Plain decimal text only: no exponent, sign, NaN or Infinity, as the API accepts.
_DECIMAL = re.compile(r"(0|[1-9][0-9]{0,17})(\.[0-9]{1,12})?")
AVERAGE_STATUSES = ("verified", "secondary", "recalled", "illustrative")


class GradeInputError(AccountingError):
    code = "invalid_input"


def _decimal(text: str, option: str) -> Decimal:
    if not _DECIMAL.fullmatch(text):
        raise GradeInputError(f"{option} {text!r} is not a plain decimal number", field=option)
    return Decimal(text)


def _ruleset(ruleset_id: str | None, region: str | None, year: int) -> Ruleset:
    if ruleset_id and region:
        raise GradeInputError("give --ruleset or --region, not both", field="--ruleset")
    if ruleset_id:
        return load_ruleset(ruleset_id)
    if region:
        return ruleset_for(region, year)
    raise GradeInputError("name a --ruleset, or a --region to find its ruleset", field="--ruleset")


def _stated_average(
    industry: str, year: int, value: str, source: str | None, status: str
) -> IndustryAverage:
    if not source or not source.strip():
        raise GradeInputError(
            "a stated --average needs its --average-source", field="--average-source"
        )
    if status not in AVERAGE_STATUSES:
        raise GradeInputError(
            f"--average-status must be one of {', '.join(AVERAGE_STATUSES)}",
            field="--average-status",
        )
    provenance = Provenance(
        document=f"stated to carbon-ledger grade: {source.strip()}",
        clause=f"industry average L ({industry}), {year}",
        year=year,
        notice="none",
        status=status,
    )
    return IndustryAverage(
        industry, year, "ruleset", _decimal(value, "--average"), provenance=provenance
    )


def grade_command(
    emissions: Annotated[str, typer.Option(help="Emissions of the period, tCO2 (decimal).")],
    added_value: Annotated[str, typer.Option(help="Added value of the period, 万元 (decimal).")],
    industry: Annotated[str, typer.Option(help="Industry key, e.g. aluminium.")],
    year: Annotated[int, typer.Option(help="Year of the period.")],
    ruleset: Annotated[str | None, typer.Option(help="Ruleset id.")] = None,
    region: Annotated[
        str | None, typer.Option(help="Region (division code) whose ruleset applies.")
    ] = None,
    average: Annotated[
        str | None, typer.Option(help="A stated industry average L, t/万元 (decimal).")
    ] = None,
    average_source: Annotated[
        str | None, typer.Option(help="Where the stated average comes from (required with it).")
    ] = None,
    average_status: Annotated[
        str, typer.Option(help="Status of the stated average: verified, secondary, …")
    ] = "secondary",
    product_output: Annotated[
        str | None, typer.Option(help="Main product output, t (decimal).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the rating as JSON.")] = False,
) -> None:
    """Grade emissions and added value under a ruleset, exactly as the ledger does."""
    try:
        chosen = _ruleset(ruleset, region, year)
        stated = (
            _stated_average(industry, year, average, average_source, average_status)
            if average is not None
            else None
        )
        rating = grade(
            _decimal(emissions, "--emissions"),
            _decimal(added_value, "--added-value"),
            industry,
            year,
            chosen,
            industry_average=stated,
            product_output_t=_decimal(product_output, "--product-output")
            if product_output is not None
            else None,
        ).to_dict()
    except AccountingError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(code=EXIT_BAD_INPUT) from None
    reasons = indicative_reasons(rating, chosen)
    status = "indicative" if reasons else "graded"
    if as_json:
        out = {"rating": rating, "status": status, "indicativeReasons": list(reasons)}
        typer.echo(json.dumps(out, ensure_ascii=False, indent=2))
        return
    typer.echo(_render(rating, status, reasons))


def _render(rating: dict[str, Any], status: str, reasons: tuple[str, ...]) -> str:
    average = rating["industry_average"]
    provenance = average.get("provenance") or {}
    label = "INDICATIVE grade" if status == "indicative" else "grade"
    out = [
        f"ruleset      {rating['ruleset']['id']} {rating['ruleset']['version']} "
        f"digest {rating['ruleset']['digest']}",
        f"L            {rating['L']['reported']} {rating['L']['unit']} ({rating['level']})",
        f"average L    {average['value']} {average['unit']} "
        f"[{provenance.get('status', average['origin'])}] {provenance.get('document', '')}",
        f"K            {rating['K']['reported']}",
        f"{label:<12} {rating['grade']}",
    ]
    out += [f"  indicative: {reason}" for reason in reasons]
    return "\n".join(out)
