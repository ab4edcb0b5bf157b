"""`make demo`, the README's main job, run end to end as a user runs it: its own dev chain, its
own data directory, every `carbon-verify` against the chain. A change that breaks the demo
fails here rather than in a user's first minute.

What it must show: four verifications VALID (a record, the steelworks' figure, the glass
works' total in the register form, an asset), and each enterprise's month accounted from its
signed records equal to its sample inventory (the table's last column).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from devtools.local_server import free_port

BIN = Path(sys.executable).parent


def test_the_demo_runs_and_every_proof_verifies(tmp_path: Path) -> None:
    port = free_port()
    env = {
        **os.environ,
        "CARBON_DATA_DIR": str(tmp_path / "data"),
        "CARBON_CHAIN_PORT": str(port),
        "CARBON_RPC_URL": f"http://127.0.0.1:{port}",
        "COLUMNS": "200",  # the accounting table's columns whole, not wrapped
    }
    try:
        run = subprocess.run(
            [str(BIN / "carbon-ledger-demo")],
            env=env,
            capture_output=True,
            text=True,
            timeout=900,
            cwd=tmp_path,
        )
    finally:
        subprocess.run(
            [str(BIN / "carbon-ledger"), "chain", "down"], env=env, capture_output=True, timeout=60
        )
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    out = run.stdout
    assert out.count("\nVALID") == 4, out[-3000:]
    assert "INVALID" not in out
    rows = re.findall(r"CL-ENT-\w+-01 .*│ +(yes|NO) +│", out)
    assert rows == ["yes"] * 5, out[-6000:]
    assert "form=registers" in out and "meter replaced" in out
