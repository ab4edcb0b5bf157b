"""A hostile file handed to carbon-verify: a clear message and exit 2, never a traceback."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest


@pytest.mark.parametrize("command", ["record", "figure", "asset"])
def test_a_bundle_nested_past_any_real_one_is_unusable(tmp_path: Path, command: str) -> None:
    bundle = tmp_path / "deep.json"
    bundle.write_text("[" * 300_000)
    done = subprocess.run(
        [sys.executable, "-m", "verifier.cli", command, str(bundle), "--offline"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert "nests too deeply" in done.stderr
    assert "Traceback" not in done.stderr
