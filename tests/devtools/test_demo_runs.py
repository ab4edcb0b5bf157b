"""`make demo`, the README's main job, run end to end on SQLite (its default). A change that
breaks the demo fails here rather than in a user's first minute."""

from __future__ import annotations

from pathlib import Path

from tests.devtools.demo_run import assert_demo_shows_everything, run_demo


def test_the_demo_runs_and_every_proof_verifies(tmp_path: Path) -> None:
    assert_demo_shows_everything(run_demo(tmp_path))
