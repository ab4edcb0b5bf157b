"""deploy/compose.yml: PostgreSQL, several API processes and two anchoring workers.

Docker is not run here (the machine has no engine): the file is read as Compose reads it and
checked against the ledger's own settings, commands and dev chain, so a renamed setting or
command fails here instead of on an operator's host.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy.engine import make_url

from anchoring.devchain import DevChain
from ledger_api.cli import app
from ledger_api.core.config import Settings

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return yaml.safe_load((DEPLOY / "compose.yml").read_text())


def environment(service: dict[str, Any]) -> dict[str, str]:
    return {k: str(v) for k, v in service["environment"].items()}


def test_several_api_processes_and_workers_share_one_postgresql(compose: dict[str, Any]) -> None:
    services = compose["services"]
    assert {"postgres", "api", "anchor"} <= set(services)
    api, anchor = services["api"], services["anchor"]
    assert api["command"][:2] == ["carbon-ledger", "serve"]
    assert anchor["command"] == ["carbon-ledger", "anchor", "--watch"]
    assert str(api["deploy"]["replicas"]).endswith("2}")  # ${CARBON_API_REPLICAS:-2}
    assert anchor["deploy"]["replicas"] == 2  # one anchors, one stands by
    for service in (api, anchor):
        env = environment(service)
        assert env["CARBON_DATABASE_URL"].startswith("postgresql+psycopg://ledger@postgres:")
        assert service["depends_on"]["postgres"]["condition"] == "service_healthy"
        # One deployment record for every replica, read-only.
        assert "./deployments:/var/lib/carbon-ledger/deployments:ro" in service["volumes"]


def test_every_setting_it_names_is_a_ledger_setting(compose: dict[str, Any]) -> None:
    known = {f"CARBON_{name.upper()}" for name in Settings.model_fields}
    for name, service in compose["services"].items():
        named = {k for k in service.get("environment", {}) if k.startswith("CARBON_")}
        assert named <= known, (name, named - known)


def test_the_commands_it_runs_exist() -> None:
    commands = {
        c.name or (c.callback.__name__ if c.callback else "") for c in app.registered_commands
    }
    assert {"serve", "anchor"} <= commands


def test_no_secret_is_written_in_the_file(compose: dict[str, Any]) -> None:
    """Passwords and keys come from files outside the repository, never from the compose
    file or an environment variable it sets."""
    for name, service in compose["services"].items():
        env = environment(service) if "environment" in service else {}
        assert not {k for k in env if k.endswith(("PASSWORD", "PASSPHRASE", "_KEY"))}, name
        if "CARBON_DATABASE_URL" in env:
            assert make_url(env["CARBON_DATABASE_URL"]).password is None, name
    assert {s["file"] for s in compose["secrets"].values()} == {
        "./secrets/pg_password",
        "./secrets/pgpass",
        "./secrets/operator_keystore.json",
        "./secrets/operator_passphrase",
    }
    ignored = (DEPLOY.parent / ".gitignore").read_text().split()
    assert "/deploy/secrets/" in ignored
    assert "deploy/secrets" in (DEPLOY / "Dockerfile.dockerignore").read_text().split()


def test_the_dev_chain_runs_with_the_options_of_chain_up(compose: dict[str, Any]) -> None:
    chain = compose["services"]["chain"]
    assert chain["profiles"] == ["dev-chain"]
    options = DevChain(data_dir=Path("var/chain"))._args()
    shared = [o for o in options if not o.startswith(("--server.", "--database."))]
    assert set(shared) <= set(chain["command"])
