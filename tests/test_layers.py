"""The dependency direction of the README holds: every import-linter contract is kept.

The contracts live in pyproject.toml; a broken one fails here with import-linter's own report
(which import, at which line), so `make test` catches a layer violation like any other bug.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _lint_imports() -> list[str]:
    # The script sits next to the interpreter running the tests; fall back to PATH.
    beside = Path(sys.executable).with_name("lint-imports")
    found = str(beside) if beside.is_file() else shutil.which("lint-imports")
    assert found is not None, "lint-imports is missing: install the dev extras"
    return [found]


def test_import_contracts_are_kept() -> None:
    result = subprocess.run(
        [*_lint_imports(), "--no-cache"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout
