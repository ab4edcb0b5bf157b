"""The demo's energy step: each firm's comprehensive energy (综合能耗, GB/T 2589) and benchmark
standing (对标) from its evaluation entry, each firm's report written, and one energy figure
proven against the chain."""

from __future__ import annotations

import json
from typing import Any

from rich.table import Table

from devtools.local_server import ServerProcess
from ledger_api.commands.runtime import console
from ledger_api.core.config import Settings
from verifier.checks.figure import parse_figure_bundle, verify_figure
from verifier.rpc import JsonRpcReader

STANDINGS = {
    "benchmark": "达到标杆 at benchmark",
    "between": "标杆与基准之间 between",
    "below_baseline": "未达基准 below baseline",
    "not_assessed": "未对标 not assessed",
}


def _row(evaluation: dict[str, Any]) -> tuple[str, ...]:
    entry = evaluation["entry"]
    energy, benchmark = entry.get("energy"), entry.get("benchmark")
    if not energy or not benchmark:  # evaluated before energy figures existed
        return (evaluation["enterprise"], "–", "–", "–", "–", "–")
    reported = energy["figures"]["reported"]
    intensity = reported["intensity"]
    firm = benchmark.get("intensity", {}).get("reported")
    levels = f"{benchmark['benchmark']}/{benchmark['baseline']}" if "benchmark" in benchmark else ""
    standing = STANDINGS[benchmark["standing"]]
    if benchmark.get("reason"):
        standing += f" ({benchmark['reason'].replace('_', ' ')})"
    return (
        evaluation["enterprise"],
        reported["total"],
        intensity.get("addedValue", "–"),
        f"{firm} {benchmark['unit']}" if firm else "–",
        levels or "–",
        standing,
    )


def _write_report(settings: Settings, server: ServerProcess, evaluation: dict[str, Any]) -> None:
    identifier = evaluation["identifier"]
    html = server.get(f"/v1/evaluations/{identifier}/report", timeout=60)
    html.raise_for_status()
    path = settings.data_dir / "reports" / f"{identifier.rsplit('/', 1)[-1]}.html"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(html.text, encoding="utf-8")


def _prove(settings: Settings, server: ServerProcess, evaluation: dict[str, Any]) -> None:
    """Fetch and verify the firm's energy total against the chain, as carbon-verify does."""
    identifier = evaluation["identifier"]
    answer = server.get(
        f"/v1/evaluations/{identifier}/proof", params={"figure": "energy.total"}, timeout=300
    )
    if answer.status_code != 200:  # an entry from before energy figures
        console.print(f"[bold]energy[/bold]   no energy figure to prove ({answer.status_code})")
        return
    path = settings.data_dir / "proofs" / f"figure-{identifier.rsplit('/', 1)[-1]}-energy.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(answer.json(), ensure_ascii=False))
    result = verify_figure(parse_figure_bundle(answer.json()), JsonRpcReader(settings.rpc_url))
    verdict = "VALID" if result.valid else f"INVALID at {result.failed_check}"
    console.print(
        f"[bold]energy[/bold]   {evaluation['enterprise']} energy.total "
        f"{answer.json()['figure']['value']} tce: {verdict} ({path})"
    )


def show_energy(
    settings: Settings, server: ServerProcess, evaluations: dict[str, dict[str, Any]]
) -> None:
    """The five firms' energy and standing, their reports, and one energy figure proven."""
    table = Table(title="综合能耗与能效对标 Energy (GB/T 2589, equivalent value) and benchmark")
    columns = ("enterprise", "tce", "tce/万元", "firm intensity", "benchmark/baseline", "standing")
    for column in columns:
        table.add_column(
            column, justify="left" if column in ("enterprise", "standing") else "right"
        )
    for evaluation in evaluations.values():
        table.add_row(*_row(evaluation))
        _write_report(settings, server, evaluation)
    console.print(table)
    console.print(f"[bold]reports[/bold]  one per enterprise in {settings.data_dir / 'reports'}")
    if "alu" in evaluations:
        _prove(settings, server, evaluations["alu"])
