"""The ``carbon-ledger`` command line: one Typer app, one module per command group."""

from __future__ import annotations

import typer

from ledger_api.commands import calc

app = typer.Typer(
    name="carbon-ledger",
    help="Trusted carbon ledger: chain, anchoring, accounting and evaluation.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)

app.command("calc")(calc.calc)
