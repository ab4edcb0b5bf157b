"""The demo's carbon-asset book and the financier's view of it.

The CEA programme's issuer key (named by the demo's admin) issues the steelworks 50,000
national-ETS allowances (CEA, vintage 2025); the steelworks transfers 12,000 to the aluminium
smelter, which accepts them, and retires 3,000. The issue is signed by the issuer key, every
other operation by the acting enterprise's own key, and each is anchored. A bank the
steelworks consented to then reads its profile and fetches the proof of the retirement. A
second run finds the lot and leaves it as it is.
"""

from __future__ import annotations

import json
import secrets
import time
from pathlib import Path
from typing import Any

from rich.table import Table

from devtools.demo_plan import PREFIX, DemoEnterprise
from devtools.local_server import ServerProcess
from ledger_api.commands.runtime import console
from ledger_api.core.config import Settings
from terminal.client import Terminal
from verifier.protocol.asset_ops import ZERO_PREV, AssetOperation
from verifier.protocol.typed_data import Domain

# Lot 01 (serials 1..50,000) was self-issued by demos before issues needed the programme's
# issuer key; its proof no longer verifies, so this lot takes the next block of serials.
LOT = f"{PREFIX}/CL-AST-CEA2025-STEEL-02"
ISSUED = (50_001, 100_000)
TRANSFERRED = (50_001, 62_000)
RETIRED = (62_001, 65_000)
PROGRAM = "CEA"
BANK = "green-bank"


def enterprise_key(settings: Settings, enterprise: DemoEnterprise) -> Terminal:
    return _key(settings, enterprise.key)


def _key(settings: Settings, name: str) -> Terminal:
    folder = settings.data_dir / "enterprise-keys"
    folder.mkdir(parents=True, exist_ok=True)
    passphrase_file = folder / "passphrase"
    if not passphrase_file.is_file():
        passphrase_file.touch(mode=0o600)
        passphrase_file.write_text(secrets.token_urlsafe(24))
    # Throwaway dev keys: a cheap scrypt, as for the demo's terminals.
    return Terminal.load_or_create(
        folder / f"{name}.json", passphrase_file.read_text(), scrypt_n=2**12
    )


def _post(server: ServerProcess, path: str, body: dict[str, Any], method: str = "POST") -> Any:
    with server.client(timeout=60) as http:
        response = http.request(method, path, json=body)
    if response.status_code >= 400:
        raise RuntimeError(f"{method} {path} failed: {response.text}")
    return response.json()


def book_assets(
    settings: Settings,
    server: ServerProcess,
    domain: Domain,
    steel: DemoEnterprise,
    alu: DemoEnterprise,
) -> None:
    """Issue, transfer, accept and retire on the demo lot, unless it exists already."""
    if server.get(f"/v1/assets/{LOT}").status_code == 200:
        console.print(f"[bold]assets[/bold]   lot {LOT} already on the books")
        return
    issuer = _key(settings, f"issuer-{PROGRAM}")
    _post(server, f"/v1/programs/{PROGRAM}/issuer", {"address": issuer.address}, "PUT")
    keys = {e.identifier: (f"{e.key}'s", enterprise_key(settings, e)) for e in (steel, alu)}
    for identifier, (_, key) in keys.items():
        _post(server, f"/v1/enterprises/{identifier}/signer", {"address": key.address}, "PUT")
    head = ZERO_PREV
    steps = [
        ("issue", ISSUED, steel, "", "CN-ETS issuance HB-2025-0001"),
        ("transfer", TRANSFERRED, steel, alu.identifier, "allowance sale, contract 2026-17"),
        ("accept", TRANSFERRED, alu, "", "received under contract 2026-17"),
        ("retire", RETIRED, steel, "", "voluntary cancellation for 2025 operations"),
    ]
    for action, (first, last), owner, recipient, reference in steps:
        op = AssetOperation(
            action=action,
            asset=LOT,
            program=PROGRAM,
            vintage=2025,
            serial_prefix="CN-CEA-2025-HB-",
            first=first,
            last=last,
            owner=owner.identifier,
            recipient=recipient,
            prev=head,
            reference=reference,
            timestamp=int(time.time()),
        )
        whose, key = (f"the {PROGRAM} issuer's", issuer) if action == "issue" else keys[op.owner]
        body = {"operation": op.to_message(), "signature": key.sign_asset_operation(domain, op)}
        stored = _post(server, "/v1/asset-operations", body)
        head = bytes.fromhex(stored["digest"][2:])
        console.print(
            f"[bold]assets[/bold]   {action} {last - first + 1} CEA-2025 ({first}..{last}) "
            f"signed by {whose} key -> {stored['digest'][:18]}…"
        )


def _bank_key(server: ServerProcess, steel: DemoEnterprise) -> tuple[str, str]:
    """A fresh key of the demo bank, and the steelworks' consent that it may read."""
    with server.client(timeout=60) as http:
        created = http.post("/v1/principals", json={"name": BANK, "role": "financier"})
        if created.status_code == 409:
            key = http.post(f"/v1/principals/{BANK}/keys", json={"label": "demo"}).json()
        else:
            key = created.json()["key"]
        grant = {"grantee": BANK, "purpose": "碳效贷 green-loan review"}
        http.post(f"/v1/enterprises/{steel.identifier}/grants", json=grant).raise_for_status()
    return key["keyId"], key["token"]


def _shown(value: object) -> str:
    return "–" if value is None else str(value)


def financier_view(settings: Settings, server: ServerProcess, steel: DemoEnterprise) -> Path:
    """The bank's portfolio and the steelworks' profile; the retirement proof, saved."""
    key_id, token = _bank_key(server, steel)
    portfolio = server.get("/v1/portfolio", token).json()
    table = Table(title=f"Financier's view ({BANK}: enterprises that consented)")
    for column in ("enterprise", "grade", "K", "total tCO2e", "held", "retired"):
        table.add_column(column, justify="left" if column == "enterprise" else "right")
    for item in portfolio["items"]:
        table.add_row(
            item["enterprise"],
            _shown(item["grade"]),  # none for a firm that is not gradable
            _shown(item["K"]),
            str(item["totalTCO2e"]),
            str(item["heldTCO2e"]),
            str(item["retiredTCO2e"]),
        )
    console.print(table)
    profile = server.get(f"/v1/enterprises/{steel.identifier}/profile", token).json()
    (lot,) = [a for a in profile["assets"] if a["asset"] == LOT]
    retirement = lot["retirements"][0]
    bundle = server.get(retirement["proof"].split(server.base_url, 1)[1], token, timeout=120)
    bundle.raise_for_status()
    path = settings.data_dir / "proofs" / f"asset-retirement-{retirement['operation'][:18]}.json"
    path.write_text(json.dumps(bundle.json(), indent=2, ensure_ascii=False))
    console.print(
        f"[bold]proof[/bold]    {steel.identifier} retired {retirement['first']}.."
        f"{retirement['last']} of {LOT} -> {path}"
    )
    server.post(f"/v1/keys/{key_id}/revoke")  # the demo bank's key lives for one run
    return path
