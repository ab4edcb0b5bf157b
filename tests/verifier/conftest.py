"""Shared helpers for the verifier tests: driving the npm reference implementation."""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
OZ_SCRIPT = Path(__file__).parent / "js" / "oz_tree.js"

RunOz = Callable[[list[dict[str, Any]]], list[dict[str, Any]]]


@pytest.fixture(scope="session")
def run_oz() -> RunOz:
    """Run cases through ``js/oz_tree.js`` (one node process per call) from the repo root, so
    ``require`` finds the pinned ``@openzeppelin/merkle-tree`` in node_modules."""
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed")
    if not (REPO / "node_modules" / "@openzeppelin" / "merkle-tree").is_dir():
        pytest.skip("npm dependencies are not installed (npm ci)")

    def run(cases: list[dict[str, Any]]) -> list[dict[str, Any]]:
        done = subprocess.run(
            [node, str(OZ_SCRIPT)],
            input=json.dumps(cases),
            capture_output=True,
            text=True,
            cwd=REPO,
            check=True,
            timeout=300,
        )
        return json.loads(done.stdout)

    return run
