"""The Docker Compose chain runs ganache with the same chain options as `chain up`."""

from __future__ import annotations

from pathlib import Path

from anchoring.devchain import DevChain

COMPOSE = Path(__file__).resolve().parents[2] / "chain" / "docker-compose.yml"


def test_compose_uses_the_dev_chain_options() -> None:
    text = COMPOSE.read_text()
    assert "trufflesuite/ganache:v7.9.2" in text
    options = DevChain(data_dir=Path("var/chain"))._args()
    shared = [o for o in options if not o.startswith(("--server.", "--database."))]
    for option in shared:
        assert f"- {option}\n" in text, option
