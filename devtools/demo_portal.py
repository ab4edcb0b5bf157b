"""The demo's portal users: a bank, a regulator and the steelworks, each with a fresh key in a
file only its owner may read (never printed, never logged), and how to sign in with them."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from eth_account import Account

from devtools.demo_assets import BANK, enterprise_key
from devtools.demo_plan import DemoEnterprise
from devtools.local_server import ServerProcess
from devtools.publishing import sign_and_post
from ledger_api.access.keys import key_id_of
from ledger_api.commands.runtime import console
from ledger_api.core.config import Settings
from verifier.protocol.typed_data import Domain


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


def _keystore(settings: Settings, enterprise: DemoEnterprise) -> tuple[Path, Path]:
    """The enterprise's registry key: its keystore and the file holding its passphrase."""
    enterprise_key(settings, enterprise)  # made on the demo's first run
    folder = settings.data_dir / "enterprise-keys"
    return folder / f"{enterprise.key}.json", folder / "passphrase"


def publish_evaluation(
    settings: Settings,
    server: ServerProcess,
    domain: Domain,
    enterprise: DemoEnterprise,
    evaluation: dict[str, Any],
) -> str:
    """Publish ``evaluation`` as the enterprise does in the portal: a statement signed with
    its registry key (read from its keystore here, in the browser there), posted with its
    portal key. Returns the evaluation's identifier; a published one is left as it is."""
    identifier = str(evaluation["identifier"])
    token = (settings.data_dir / "portal-keys" / "demo-steelworks.key").read_text().strip()
    with server.client(timeout=60) as http:
        state = http.get(
            f"/v1/evaluations/{identifier}/publication",
            headers={"Authorization": f"Bearer {token}"},
        )
        state.raise_for_status()
        if not state.json()["published"]:
            keystore, passphrase = _keystore(settings, enterprise)
            key = Account.decrypt(json.loads(keystore.read_text()), passphrase.read_text())
            sign_and_post(http, token, domain, bytes(key), identifier, "publish").raise_for_status()
    return identifier


def print_portal(
    settings: Settings,
    users: list[PortalUser],
    published: str | None = None,
    enterprise: DemoEnterprise | None = None,
) -> None:
    folder = settings.data_dir / "portal-keys"
    url = f"http://{settings.api_host}:{settings.api_port}"
    if published and enterprise:
        keystore, passphrase = _keystore(settings, enterprise)
        console.print(
            f"[bold]public[/bold]   {url}/v/{published} (published with "
            f"{enterprise.identifier}'s signature; the browser verifies it)"
        )
        console.print(
            f"           to publish or withdraw in the portal, sign in as demo-steelworks and "
            f"load its keystore {keystore} (passphrase in {passphrase}); it never leaves the "
            "browser"
        )
    console.print(
        f"[bold]portal[/bold]   `carbon-ledger serve`, then open {url}/ and sign in "
        "with one of these keys (paste the file's contents):"
    )
    for user in users:
        console.print(f"           {user.role:<10} {user.name:<16} {folder / (user.name + '.key')}")
