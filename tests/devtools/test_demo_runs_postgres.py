"""The demo with its ledger on PostgreSQL (``CARBON_DATABASE_URL``), as a deployment runs
it: the same output, the same proofs valid against the chain. Its own module, so the suite's
workers run the two demos side by side."""

from __future__ import annotations

from pathlib import Path

from tests.devtools.demo_run import assert_demo_shows_everything, run_demo
from tests.postgres import create_database


def test_the_demo_runs_on_postgres(tmp_path: Path, postgres_base_url: str) -> None:
    url = create_database(postgres_base_url, "demo")
    out = run_demo(tmp_path, CARBON_DATABASE_URL=url)
    assert "PostgreSQL database demo on 127.0.0.1" in out
    assert_demo_shows_everything(out)
