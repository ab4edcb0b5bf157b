"""``carbon-ledger evaluate``: run the evaluation flow for an enterprise and period.

The HTTP client and the settings are imported when the command runs, so the CLI starts
without them.
"""

from __future__ import annotations

import json
from datetime import date

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
    body = {
        "enterprise": enterprise,
        "periodStart": period_start,
        "periodEnd": period_end,
        "addedValue": added_value,
        "productOutput": product_output,
        "ruleset": ruleset,
        "averageSource": average,
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
    rating = result["entry"].get("rating") or {}
    console.print(
        f"{result['identifier']}: {enterprise} {period_start}..{period_end} "
        f"total {result['total']} tCO2e, grade {rating.get('grade')} "
        f"(K {rating.get('K')}, L {rating.get('L')})"
    )


def _auth_header() -> dict[str, str]:
    from ledger_api.core.config import get_settings

    key = get_settings().api_key
    if key is None:
        raise fail("set CARBON_API_KEY to an enterprise or admin key of the ledger", code=2)
    return {"Authorization": f"Bearer {key.get_secret_value()}"}
