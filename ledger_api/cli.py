"""The ``carbon-ledger`` command line: one Typer app, one module per command group."""

from __future__ import annotations

import typer

from ledger_api.commands import calc, chain, contracts, evaluate, grade, keys, monitor, serve

app = typer.Typer(
    name="carbon-ledger",
    help="Trusted carbon ledger: chain, anchoring, accounting and evaluation.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)

app.add_typer(chain.app, name="chain")
app.add_typer(contracts.app, name="contracts")
app.add_typer(keys.app, name="keys")
app.command("deploy")(contracts.deploy)
app.command("calc")(calc.calc)
app.command("evaluate")(evaluate.evaluate)
app.command("grade")(grade.grade_command)
app.command("serve")(serve.serve)
app.command("anchor")(serve.anchor)
app.command("monitor")(monitor.monitor)
