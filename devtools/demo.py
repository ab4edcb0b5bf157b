"""``carbon-ledger-demo`` (``make demo``): the main job end to end on the local dev chain.

Five enterprises (the white paper's cases) register their sources and terminals; the
terminals sign a month of hourly readings; the ledger stores them over HTTP, anchors them,
and a proof of one record is checked with ``carbon-verify`` against the chain. Every step is
idempotent: a second run finds everything stored and anchored, and says so.
"""

from __future__ import annotations

import json
import secrets
import subprocess
import sys
import time
from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
from rich.progress import Progress
from rich.table import Table
from sqlalchemy.engine import make_url

from accounting import account, report
from accounting.from_records import RecordQuantity, inventory_from_records
from accounting.grid import GRID_ACTIVITIES
from anchoring.deployment import deploy
from anchoring.devchain import DevChain
from devtools.declarations import declare_added_value
from devtools.demo_assets import book_assets, enterprise_key, financier_view
from devtools.demo_energy import show_energy
from devtools.demo_gateway import run_gateway
from devtools.demo_monitoring import show_monitoring
from devtools.demo_plan import ENTERPRISES, DemoEnterprise, Reading, month_end, readings
from devtools.demo_portal import (
    issue_portal_keys,
    portal_users,
    print_portal,
    publish_evaluation,
)
from devtools.demo_registers import REGISTER_ENTERPRISE, Meters, show_registers
from devtools.local_server import ServerProcess, running_server
from devtools.seeding import sign_registry
from ledger_api.commands.runtime import chain, clean_errors, console, fail, operator
from ledger_api.commands.serve import build_worker
from ledger_api.core.config import Settings, get_settings
from terminal.client import BatchRejected, LedgerClient, SignedRecord, Terminal
from verifier.protocol.typed_data import ActivityRecord, Domain, attributes_hash, record_digest

SUBMIT_BATCH = 5_000


@clean_errors
def demo() -> None:
    """Run the main job end to end: chain, deploy, register, sign, ingest, anchor, verify."""
    settings = get_settings()
    dev_chain = DevChain(data_dir=settings.chain_dir, port=settings.chain_port)
    dev_chain.up()
    w3 = chain(settings)
    record, deployed = deploy(w3, operator(settings, w3), settings.deployments_dir)
    console.print(f"[bold]chain[/bold]    {dev_chain.rpc_url}, chainId {w3.eth.chain_id}")
    console.print(
        f"[bold]contract[/bold] CarbonAnchor at {record.address} "
        f"({'deployed' if deployed else 'reused'})"
    )
    env = {"CARBON_RPC_URL": settings.rpc_url}
    with running_server(settings.data_dir, env) as server:
        console.print(f"[bold]ledger[/bold]   {server.base_url} ({_database(settings)})")
        domain = server.ledger_client().domain()
        signed = {e.key: _ingest(settings, server, domain, e) for e in ENTERPRISES}
        run_gateway(settings, server)
        _anchor(settings)
        _resolve(server, ENTERPRISES[0].identifier)
        _account(signed)
        proof_file = _fetch_proof(settings, server, domain, signed["alu"][0])
        evaluations = {e.key: _evaluate(settings, server, domain, e) for e in ENTERPRISES}
        _anchor(settings)
        _grades(evaluations)
        show_energy(settings, server, evaluations)
        _write_report(settings, server, evaluations["alu"])
        figure_file = _fetch_figure(settings, server, evaluations["steel"])
        register_file = show_registers(settings, server, evaluations[REGISTER_ENTERPRISE])
        steel, alu = (next(e for e in ENTERPRISES if e.key == k) for k in ("steel", "alu"))
        book_assets(settings, server, domain, steel, alu)
        _anchor(settings)
        asset_file = financier_view(settings, server, steel)
        show_monitoring(settings, server, steel)
        users = portal_users(steel)
        issue_portal_keys(settings, server, users)
        published = publish_evaluation(settings, server, domain, steel, evaluations["steel"])
    _verify("record", proof_file, settings.rpc_url)
    _verify("figure", figure_file, settings.rpc_url)
    _verify("figure", register_file, settings.rpc_url)
    _verify("asset", asset_file, settings.rpc_url)
    console.print("chain still running; stop it with `carbon-ledger chain down`")
    print_portal(settings, users, published, steel)


def _database(settings: Settings) -> str:
    """Where the ledger keeps its data, without any password the URL holds."""
    url = make_url(settings.effective_database_url)
    if url.get_backend_name() == "sqlite":
        return f"SQLite database {url.database}"
    return f"PostgreSQL database {url.database} on {url.host}:{url.port}"


def _terminal(settings: Settings, enterprise: DemoEnterprise, source: str) -> Terminal:
    """The source's terminal key, in an encrypted keystore under the data directory."""
    folder = settings.data_dir / "terminals"
    folder.mkdir(parents=True, exist_ok=True)
    passphrase_file = folder / "passphrase"
    if not passphrase_file.is_file():
        passphrase_file.touch(mode=0o600)
        passphrase_file.write_text(secrets.token_urlsafe(24))
    name = source.rsplit("/", 1)[-1]
    # Throwaway dev keys: a cheap scrypt keeps 40 of them from costing half a minute a run.
    return Terminal.load_or_create(
        folder / f"{name}.json", passphrase_file.read_text(), scrypt_n=2**12
    )


def _register(
    server: ServerProcess,
    http: httpx.Client,
    enterprise: DemoEnterprise,
    terminals: dict[str, Terminal],
    key: Terminal,
) -> None:
    """The registrar enrols the enterprise with its signer key; the enterprise then signs its
    sources and terminals as registry operations. What exists already is left alone."""
    body = {
        "identifier": enterprise.identifier,
        "name": f"{enterprise.name_zh} {enterprise.name}",
        "industry": enterprise.industry,
        "region": enterprise.region,
        "signer": key.address,
    }
    response = http.post("/v1/enterprises", json=body)
    if response.status_code not in (201, 409):
        raise RuntimeError(f"registration failed: {response.text}")
    head = http.get(f"/v1/enterprises/{enterprise.identifier}/registry-head")
    if head.status_code != 200:
        raise RuntimeError(
            f"{enterprise.identifier} was enrolled by an older demo without a signer key, so its "
            "figures cannot verify: move the data directory's ledger.sqlite aside and run again"
        )
    known = {
        s["identifier"] for s in http.get(f"/v1/enterprises/{enterprise.identifier}/sources").json()
    }
    changes: list[tuple[str, str, dict[str, Any]]] = [
        ("source.registered", s, {"name": s.rsplit("-01-", 1)[-1], "metadata": None})
        for s in terminals
        if s not in known
    ]
    changes += [
        ("device.registered", t.address, {"sources": [s], "metadata": None, "firstSeq": 1})
        for s, t in terminals.items()
        if http.get(f"/v1/devices/{t.address}").status_code == 404
    ]
    if changes:
        response = sign_registry(server, enterprise.identifier, changes, key=key)
        if response.status_code != 201:
            raise RuntimeError(f"registration failed: {response.text}")


def sign_plan(
    domain: Domain,
    enterprise: DemoEnterprise,
    terminals: dict[str, Terminal],
    plan: Sequence[Reading],
) -> list[SignedRecord]:
    """The plan's readings signed in order, each source's by its terminal with its own seq
    from 1 (and register attributes where the enterprise's meters keep registers)."""
    seq: dict[str, int] = {}
    signed = []
    meters = Meters.of(enterprise, terminals)
    for r in plan:
        terminal = terminals[r.source]
        seq[r.source] = seq.get(r.source, 0) + 1
        record = ActivityRecord(
            enterprise=enterprise.identifier,
            source=r.source,
            device=terminal.address,
            seq=seq[r.source],
            activity=r.activity,
            quantity=r.quantity,
            decimals=r.decimals,
            unit=r.unit,
            period_start=r.period_start,
            period_end=r.period_end,
            attributes_hash=attributes_hash(r.attributes),
        )
        signed.append(meters.sign(terminal, domain, record, r.attributes))
    return signed


def _gateway_key(http: httpx.Client, enterprise: DemoEnterprise) -> tuple[str, str]:
    """A fresh key of the enterprise's gateway, a terminal principal held to its own records."""
    name = f"{enterprise.key}-gateway"
    body = {"name": name, "role": "terminal", "enterprise": enterprise.identifier}
    response = http.post("/v1/principals", json=body)
    if response.status_code == 409:
        response = http.post(f"/v1/principals/{name}/keys", json={"label": "demo"})
    key = response.json()
    return key.get("key", key)["keyId"], key.get("key", key)["token"]


def _ingest(
    settings: Settings, server: ServerProcess, domain: Domain, enterprise: DemoEnterprise
) -> list[SignedRecord]:
    plan = list(readings(enterprise))
    terminals = {
        s: _terminal(settings, enterprise, s) for s in dict.fromkeys(r.source for r in plan)
    }
    with server.client(timeout=60) as http:
        _register(server, http, enterprise, terminals, enterprise_key(settings, enterprise))
        key_id, token = _gateway_key(http, enterprise)
    signed = sign_plan(domain, enterprise, terminals, plan)
    stored = duplicates = 0
    client = server.ledger_client(token)
    for i in range(0, len(signed), SUBMIT_BATCH):
        result = _submit(client, enterprise, signed[i : i + SUBMIT_BATCH])
        stored += result["accepted"]
        duplicates += result["duplicates"]
    client.close()
    server.post(f"/v1/keys/{key_id}/revoke")  # the demo's gateway keys live for one run
    console.print(
        f"[bold]ingest[/bold]   {enterprise.identifier} ({enterprise.name_zh}): "
        f"{len(terminals)} terminals, {len(signed)} signed readings, "
        f"{stored} stored, {duplicates} already there"
    )
    return signed


def _submit(
    client: LedgerClient, enterprise: DemoEnterprise, batch: Sequence[SignedRecord]
) -> dict[str, Any]:
    try:
        return client.submit(batch)
    except BatchRejected as refused:
        if any(p.get("code") == "seq_conflict" for p in refused.problems):
            # Readings an older demo signed without registers hold the same seqs.
            raise fail(
                f"{enterprise.identifier}'s readings were stored by an older demo whose meters "
                "had no registers: stop its chain (`carbon-ledger chain down`), move the data "
                "directory aside and run again"
            ) from refused
        raise


def _anchor(settings: Settings) -> None:
    with Progress(console=console, transient=True) as progress:
        result = build_worker(settings, progress).run_once()
    for r in result.receipts:
        console.print(
            f"[bold]anchor[/bold]   batch {r.batch_id}: root 0x{r.root.hex()[:16]}… "
            f"tx {r.tx_hash} block {r.block_number} gas {r.gas_used}"
        )
    if not result.receipts:
        console.print("[bold]anchor[/bold]   everything was already anchored")


def _resolve(server: ServerProcess, identifier: str) -> None:
    """Resolve one identifier the way generic Handle tooling would."""
    body = server.get(f"/api/handles/{identifier}", timeout=30).json()
    values = {v["type"]: v["data"]["value"] for v in body.get("values", [])}
    console.print(
        f"[bold]resolve[/bold]  {identifier}: responseCode {body['responseCode']}, "
        f"{values.get('CL_KIND')}, template {values.get('CL_TEMPLATE')}"
    )


def _account(signed: dict[str, list[SignedRecord]]) -> None:
    """Each enterprise's month, accounted from its signed records by the accounting engine."""
    table = Table(title="Emissions accounted from signed records")
    for column in ("enterprise", "industry", "records", "total tCO2e", "equals sample"):
        table.add_column(column, justify="right" if column != "enterprise" else "left")
    for enterprise in ENTERPRISES:
        sample, end = enterprise.inventory(), month_end(enterprise)
        records = [
            RecordQuantity(
                s.record.activity,
                s.record.source,
                s.record.quantity,
                s.record.decimals,
                s.record.unit,
                s.attributes,
            )
            for s in signed[enterprise.key]
            if s.record.period_end <= end
        ]
        inventory = inventory_from_records(
            enterprise.identifier,
            enterprise.industry,
            sample.period_start,
            sample.period_end,
            records,
            sample.boundary,
            sample.factor_choices,
        )
        result = account(inventory)
        same = result.total == account(sample).total
        table.add_row(
            enterprise.identifier,
            enterprise.industry,
            str(len(records)),
            str(report(result.total)),
            "yes" if same else "NO",
        )
    console.print(table)


def _fetch_proof(
    settings: Settings, server: ServerProcess, domain: Domain, record: SignedRecord
) -> Path:
    digest = "0x" + record_digest(domain, record.record).hex()
    bundle = server.get(f"/v1/records/{digest}/proof")
    bundle.raise_for_status()
    path = settings.data_dir / "proofs" / f"record-{digest[:18]}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(bundle.json(), indent=2, ensure_ascii=False))
    console.print(f"[bold]proof[/bold]    record {digest} -> {path}")
    return path


def _declare(
    settings: Settings, http: httpx.Client, domain: Domain, enterprise: DemoEnterprise
) -> None:
    """The enterprise signs its month's added value with its key, so its grade is attested."""
    sample, key = enterprise.inventory(), enterprise_key(settings, enterprise)
    period = (sample.period_start, sample.period_end)
    value = Decimal(enterprise.added_value)
    declared = declare_added_value(http, domain, key, enterprise.identifier, period, value)
    if declared.status_code >= 400:
        raise RuntimeError(f"declaration failed: {declared.text}")


def _evaluate(
    settings: Settings, server: ServerProcess, domain: Domain, enterprise: DemoEnterprise
) -> dict[str, Any]:
    """Evaluate the sample month, unless an evaluation of it is on record already."""
    sample = enterprise.inventory()
    start, end = sample.period_start.isoformat(), sample.period_end.isoformat()
    with server.client(timeout=300) as http:
        history = http.get(f"/v1/enterprises/{enterprise.identifier}/ratings").json()
        done = [h for h in history if (h["periodStart"], h["periodEnd"]) == (start, end)]
        if done:
            return http.get(f"/v1/evaluations/{done[-1]['evaluation']}").json()
        _declare(settings, http, domain, enterprise)
        # The enterprise confirms its registry after the month: the figure proof then shows
        # that no registry change in force for the month was withheld.
        key = enterprise_key(settings, enterprise)
        change = ("registry.checkpoint", enterprise.identifier, {})
        closed = sign_registry(server, enterprise.identifier, [change], int(time.time()), key)
        if closed.status_code != 201:
            raise RuntimeError(f"registry checkpoint failed: {closed.text}")
        body = {
            "enterprise": enterprise.identifier,
            "periodStart": start,
            "periodEnd": end,
            "addedValue": enterprise.added_value,
            # The region picks the grid factor and the ruleset: the samples' own grid choices
            # are for `carbon-ledger calc`, not for a registered enterprise.
            "factorChoices": {
                k: v for k, v in sample.factor_choices.items() if k not in GRID_ACTIVITIES
            },
        }
        if enterprise.product_output:
            body["productOutput"] = enterprise.product_output
        response = http.post("/v1/evaluations", json=body)
        if response.status_code != 201:
            raise RuntimeError(f"evaluation failed: {response.text}")
        return response.json()


def _grades(evaluations: dict[str, dict[str, Any]]) -> None:
    table = Table(title="碳效评价 Carbon-efficiency evaluation (grid factor and ruleset by region)")
    columns = ("enterprise", "total tCO2e", "grid factor", "L t/万元", "K", "grade", "status")
    for column in columns:
        table.add_column(column, justify="left" if column == "enterprise" else "right")
    for evaluation in evaluations.values():
        entry = evaluation["entry"]
        rating, grading = entry["rating"], entry.get("grading") or {}
        grid = entry["accounting"].get("gridFactor") or {}
        intensity = (rating or grading).get("L", {}).get("reported", "–")
        table.add_row(
            evaluation["enterprise"],
            evaluation["total"],
            f"{grid.get('factor', 'default')} {grid.get('value', '')}",
            intensity,
            rating["K"]["reported"] if rating else "–",
            str(rating["grade"]) if rating else "–",
            grading.get("status", "graded").replace("_", " "),
        )
    console.print(table)


def _write_report(settings: Settings, server: ServerProcess, evaluation: dict[str, Any]) -> None:
    identifier = evaluation["identifier"]
    html = server.get(f"/v1/evaluations/{identifier}/report", timeout=60)
    html.raise_for_status()
    path = settings.data_dir / "reports" / f"{identifier.rsplit('/', 1)[-1]}.html"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(html.text, encoding="utf-8")
    console.print(f"[bold]report[/bold]   {evaluation['enterprise']} -> {path}")


def _fetch_figure(settings: Settings, server: ServerProcess, evaluation: dict[str, Any]) -> Path:
    identifier = evaluation["identifier"]
    bundle = server.get(
        f"/v1/evaluations/{identifier}/proof", params={"figure": "total"}, timeout=300
    )
    bundle.raise_for_status()
    path = settings.data_dir / "proofs" / f"figure-{identifier.rsplit('/', 1)[-1]}-total.json"
    path.write_text(json.dumps(bundle.json(), ensure_ascii=False))
    console.print(
        f"[bold]proof[/bold]    {evaluation['enterprise']} period total "
        f"{evaluation['total']} tCO2e -> {path}"
    )
    return path


def _verify(kind: str, proof_file: Path, rpc_url: str) -> None:
    command = [
        str(Path(sys.executable).parent / "carbon-verify"),
        kind,
        str(proof_file),
        "--rpc",
        rpc_url,
    ]
    console.print(f"[bold]verify[/bold]   carbon-verify {kind} {proof_file} --rpc {rpc_url}")
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    console.print(done.stdout.rstrip() or done.stderr.rstrip())
    if done.returncode != 0:
        raise SystemExit(done.returncode)


def main() -> None:
    """Console entry point of ``carbon-ledger-demo``."""
    import typer

    typer.run(demo)
