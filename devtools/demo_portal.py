"""The demo's portal users: a bank, a regulator and the steelworks, each with a fresh key in a
file only its owner may read (never printed, never logged), and how to sign in with them."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import httpx

from devtools.demo_assets import BANK
from devtools.demo_plan import DemoEnterprise
from devtools.local_server import ServerProcess
from ledger_api.access.keys import key_id_of
from ledger_api.commands.runtime import console
from ledger_api.core.config import Settings


@dataclass(frozen=True)
class PortalUser:
    name: str
    role: str
    enterprise: str | None = None


def portal_users(steel: DemoEnterprise) -> list[PortalUser]:
    """The bank the steelworks consented to (see demo_assets), a regulator, the steelworks."""
    return [
        PortalUser(BANK, "financier"),
        PortalUser("demo-regulator", "regulator"),
        PortalUser("demo-steelworks", "enterprise", steel.identifier),
    ]


def _fresh_key(http: httpx.Client, user: PortalUser) -> str:
    body = {"name": user.name, "role": user.role, "label": "portal"}
    if user.enterprise:
        body["enterprise"] = user.enterprise
    created = http.post("/v1/principals", json=body)
    if created.status_code == 409:
        created = http.post(f"/v1/principals/{user.name}/keys", json={"label": "portal"})
        created.raise_for_status()
        return created.json()["token"]
    created.raise_for_status()
    return created.json()["key"]["token"]


def _write_secret(path: Path, text: str) -> None:
    """Write ``text`` readable by its owner alone, from the first byte on."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        handle.write(text + "\n")
    path.chmod(0o600)  # an older file keeps its mode through O_CREAT


def issue_portal_keys(settings: Settings, server: ServerProcess, users: list[PortalUser]) -> None:
    """A new key per user, written to ``<data dir>/portal-keys/<name>.key``; the key of the
    run before is revoked, so each user holds one live portal key."""
    folder = settings.data_dir / "portal-keys"
    with server.client(timeout=60) as http:
        for user in users:
            path = folder / f"{user.name}.key"
            old = key_id_of(path.read_text().strip()) if path.is_file() else None
            _write_secret(path, _fresh_key(http, user))
            if old:
                http.post(f"/v1/keys/{old}/revoke")


def print_portal(settings: Settings, users: list[PortalUser]) -> None:
    folder = settings.data_dir / "portal-keys"
    url = f"http://{settings.api_host}:{settings.api_port}"
    console.print(
        f"[bold]portal[/bold]   `carbon-ledger serve`, then open {url}/ and sign in "
        "with one of these keys (paste the file's contents):"
    )
    for user in users:
        console.print(f"           {user.role:<10} {user.name:<16} {folder / (user.name + '.key')}")
