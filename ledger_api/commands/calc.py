"""``carbon-ledger calc``: account an inventory file and print the breakdown.

Everything is computed before anything is printed, so a bad entry exits non-zero with one
error line naming the entry and field, and no partial total. The file is read within the
same ``upload_limits`` as an upload to the ledger API (docs/security.md, "Uploads").
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from accounting import (
    DEFAULT_FACTOR_SET_ID,
    DEFAULT_GWP_SET,
    AccountingError,
    Factor,
    Provenance,
    Result,
    account,
    decimal_str,
    load_factor_set,
    read_inventory,
    reported_str,
)
from ledger_api.core.config import get_settings

EXIT_BAD_INPUT = 2


def calc(
    file: Annotated[Path, typer.Argument(help="Inventory file (.json, .csv or .xlsx).")],
    factor_set: Annotated[
        str, typer.Option("--factor-set", help="Factor set id.")
    ] = DEFAULT_FACTOR_SET_ID,
    gwp: Annotated[str, typer.Option("--gwp", help="GWP set: SAR, AR4, AR5 or AR6.")] = (
        DEFAULT_GWP_SET
    ),
    as_json: Annotated[bool, typer.Option("--json", help="Print the full result as JSON.")] = (
        False
    ),
) -> None:
    """Account an inventory file and print the total, breakdown and per-entry factors."""
    try:
        if not file.is_file():
            raise typer.BadParameter(f"no such file: {file}", param_hint="FILE")
        inventory = read_inventory(file, get_settings().upload_limits)
        result = account(inventory, load_factor_set(factor_set), gwp)
        text = (
            json.dumps(result.to_dict(), ensure_ascii=False, indent=2)
            if as_json
            else _render(result)
        )
    except AccountingError as exc:
        if as_json:
            typer.echo(json.dumps({"error": exc.to_dict()}, ensure_ascii=False), err=True)
        else:
            typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(code=EXIT_BAD_INPUT) from None
    except OSError as exc:
        typer.echo(f"error: cannot read {file}: {exc.strerror}", err=True)
        raise typer.Exit(code=EXIT_BAD_INPUT) from None
    typer.echo(text)


def _render(result: Result) -> str:
    out = [
        f"enterprise   {result.enterprise_id} ({result.industry})",
        f"period       {result.period_start} .. {result.period_end}",
        f"factor set   {result.factor_set_id} {result.factor_set_version} "
        f"digest {result.factor_set_digest}",
        f"GWP set      {result.gwp_set}",
        "",
        f"TOTAL        {reported_str(result.total)} tCO2e",
        "",
        "by category (tCO2e; biomass_memo is not in the total)",
    ]
    out += [f"  {name:<22} {reported_str(v):>18}" for name, v in result.by_category.items()]
    out.append("by gas (tCO2e)")
    out += [f"  {gas:<22} {reported_str(v):>18}" for gas, v in result.by_gas.items()]
    out.append("entries (factor [provenance key, status])")
    keys: dict[Provenance, str] = {}
    for line in result.lines:
        used = ", ".join(_factor_text(f, keys) for f in line.basis.factors)
        measured = ", ".join(
            f"{o.param}={decimal_str(o.value)} {o.unit} measured" for o in line.basis.overrides
        )
        gwps = ", ".join(
            f"GWP {gas}={decimal_str(g)}"
            for gas, g in zip(line.basis.gases, line.basis.gwp, strict=True)
            if gas != "CO2"
        )
        detail = "; ".join(part for part in (used, measured, gwps) if part)
        out.append(
            f"  [{line.index}] {line.code} {decimal_str(line.entry.quantity)} "
            f"{line.entry.unit} -> {reported_str(line.co2e)} tCO2e "
            f"({line.category})" + (f": {detail}" if detail else "")
        )
    out.append("provenance")
    for provenance, key in keys.items():
        out.append(
            f"  {key} {provenance.document}; {provenance.clause}; {provenance.year}; "
            f"notice {provenance.notice}"
        )
    return "\n".join(out)


def _factor_text(factor: Factor, keys: dict[Provenance, str]) -> str:
    key = keys.setdefault(factor.provenance, f"P{len(keys) + 1}")
    return (
        f"{factor.id}={decimal_str(factor.value)} {factor.unit} [{key}, {factor.provenance.status}]"
    )
