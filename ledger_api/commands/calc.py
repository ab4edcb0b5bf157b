"""``carbon-ledger calc``: account an inventory file (placeholder)."""

from __future__ import annotations

from pathlib import Path

import typer


def calc(file: Path) -> None:
    """Account an inventory file and print the breakdown."""
    raise typer.Exit(code=2)
