"""`make demo` run as a user runs it, for the tests that check it on each database: its own
dev chain, its own data directory, every `carbon-verify` against the chain."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from devtools.local_server import free_port

BIN = Path(sys.executable).parent


def run_demo(tmp_path: Path, **env: str) -> str:
    """The demo's output; fails the test if it exits non-zero. ``env`` adds settings."""
    port = free_port()
    full_env = {
        **os.environ,
        "CARBON_DATA_DIR": str(tmp_path / "data"),
        "CARBON_CHAIN_PORT": str(port),
        "CARBON_RPC_URL": f"http://127.0.0.1:{port}",
        "COLUMNS": "200",  # the accounting table's columns whole, not wrapped
        **env,
    }
    try:
        run = subprocess.run(
            [str(BIN / "carbon-ledger-demo")],
            env=full_env,
            capture_output=True,
            text=True,
            timeout=900,
            cwd=tmp_path,
        )
    finally:
        subprocess.run(
            [str(BIN / "carbon-ledger"), "chain", "down"],
            env=full_env,
            capture_output=True,
            timeout=60,
        )
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    return run.stdout


def assert_demo_shows_everything(out: str) -> None:
    """Four verifications VALID (a record, the steelworks' figure, the glass works' total in
    the register form, an asset), and each enterprise's month accounted from its signed
    records equal to its sample inventory (the table's last column)."""
    assert out.count("\nVALID") == 4, out[-3000:]
    assert "INVALID" not in out
    rows = re.findall(r"CL-ENT-\w+-01 .*│ +(yes|NO) +│", out)
    assert rows == ["yes"] * 5, out[-6000:]
    assert "form=registers" in out and "meter replaced" in out
