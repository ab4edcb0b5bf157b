"""``carbon-ledger evaluate``: run the evaluation flow for an enterprise and period.

The HTTP client and the settings are imported when the command runs, so the CLI starts
without them.
"""

from __future__ import annotations

import json
from datetime import date
from typing import Any

import typer

from ledger_api.commands.runtime import clean_errors, console, fail


@clean_errors
def evaluate(
    enterprise: str = typer.Argument(..., help="Enterprise identifier."),
    period_start: str = typer.Option(..., "--from", help="First day, YYYY-MM-DD."),
    period_end: str = typer.Option(..., "--to", help="Last day (inclusive), YYYY-MM-DD."),
    added_value: str = typer.Option(..., help="Added value of the period, 万元 (decimal)."),
    product_output: str = typer.Option(None, help="Main product output, t (decimal)."),
    ruleset: str = typer.Option(None, help="Ruleset id (default: the region's)."),
    grid_factor: str = typer.Option(
        None, help="Grid factor id overriding the province/region/national rule."
    ),
    grid_factor_reason: str = typer.Option(
        None, help="Why the grid factor is overridden (required with --grid-factor)."
    ),
    average: str = typer.Option(
        "ruleset",
        help="Industry average from 'ruleset' or 'population' (the ledger's own evaluations).",
    ),
    api: str = typer.Option(
        "http://127.0.0.1:8000", envvar="CARBON_API_URL", help="Ledger API base URL."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the evaluation entry as JSON."),
) -> None:
    """Evaluate a period from the ledger's signed, anchored records and store the entry."""
    import httpx

    for value in (period_start, period_end):
        try:
            date.fromisoformat(value)
        except ValueError:
            raise fail(f"{value!r} is not a date (YYYY-MM-DD)", code=2) from None
    if grid_factor and not (grid_factor_reason or "").strip():
        raise fail("--grid-factor needs --grid-factor-reason", code=2)
    body = {
        "enterprise": enterprise,
        "periodStart": period_start,
        "periodEnd": period_end,
        "addedValue": added_value,
        "productOutput": product_output,
        "ruleset": ruleset,
        "averageSource": average,
        "gridFactor": grid_factor,
        "gridFactorReason": grid_factor_reason,
    }
    try:
        response = httpx.post(
            f"{api}/v1/evaluations",
            json={k: v for k, v in body.items() if v is not None},
            headers=_auth_header(),
            timeout=300,
        )
    except httpx.TransportError:
        raise fail(
            f"cannot reach the ledger API at {api}: start it with `carbon-ledger serve`", code=2
        ) from None
    if response.status_code >= 400:
        error = response.json().get("error", {})
        raise fail(f"{error.get('code')}: {error.get('message')} (field {error.get('field')})")
    result = response.json()
    if as_json:
        console.print_json(json.dumps(result["entry"]))
        return
    console.print(_summary(result, enterprise, period_start, period_end))


def _summary(result: dict[str, Any], enterprise: str, start: str, end: str) -> str:
    """The evaluation in a few lines: total, the grid factor and why, the grade and its status."""
    rating = result["entry"].get("rating") or {}
    grading = result.get("grading") or {}
    grid = result.get("gridFactor") or {}
    lines = [f"{result['identifier']}: {enterprise} {start}..{end} total {result['total']} tCO2e"]
    if grid:
        override = " OVERRIDE" if grid["level"] == "override" else ""
        lines.append(f"  grid factor {grid['factor']} = {grid['value']} {grid['unit']}{override}")
        lines.append(f"    {grid['note']}")
    status = grading.get("status", "graded")
    if rating:
        label = "INDICATIVE grade" if status == "indicative" else "grade"
        lines.append(
            f"  {label} {rating['grade']} (K {rating['K']['reported']}, "
            f"L {rating['L']['reported']} {rating['L']['unit']}, ruleset {rating['ruleset']['id']})"
        )
    elif status == "not_gradable":
        lines.append(f"  {grading['reason']} (L {grading['L']['reported']} {grading['L']['unit']})")
    lines += [f"    {reason}" for reason in grading.get("indicativeReasons", [])]
    return "\n".join(lines)


def _auth_header() -> dict[str, str]:
    from ledger_api.core.config import get_settings

    key = get_settings().api_key
    if key is None:
        raise fail("set CARBON_API_KEY to an enterprise or admin key of the ledger", code=2)
    return {"Authorization": f"Bearer {key.get_secret_value()}"}
