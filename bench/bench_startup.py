"""Start-up of the command lines: how long a user waits before any work is done.

Times, in fresh processes and interleaved round by round so a slow moment hits every command
alike: ``carbon-ledger --help``, ``carbon-ledger calc`` on a shipped sample inventory,
``carbon-verify --help``, a bare interpreter start (``python -c pass``) and the calc's own work
without the CLI (the same accounting in a bare interpreter). Each figure is the median of the
runs; the ratios to the bare start cancel out machine speed. The target: each command costs at
most 0.6 s more than the work it does (nothing, for --help).

    python bench/bench_startup.py [--runs N]
"""

from __future__ import annotations

import argparse
import json
import platform
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "accounting" / "data" / "samples" / "cement.json"
LIMIT_OVER_WORK_S = 0.6

# The accounting `calc` does, and nothing else: the floor any CLI around it can reach.
CALC_WORK = (
    "import sys\n"
    "from pathlib import Path\n"
    "from accounting import account, load_factor_set, read_inventory\n"
    "account(read_inventory(Path(sys.argv[1])), load_factor_set())\n"
)


def _script(name: str) -> str:
    """A console script of this install: beside the interpreter, else on PATH."""
    beside = Path(sys.executable).with_name(name)
    found = str(beside) if beside.is_file() else shutil.which(name)
    if found is None:
        raise SystemExit(f"{name} is not installed: pip install -e .")
    return found


def _time(argv: list[str]) -> float | None:
    """Wall time of one run, or None when the command fails (its error goes to stderr)."""
    start = time.perf_counter()
    done = subprocess.run(argv, cwd=ROOT, check=False, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start if done.returncode == 0 else None


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    commands = {
        "bare_python": [sys.executable, "-c", "pass"],
        "calc_work": [sys.executable, "-c", CALC_WORK, str(SAMPLE)],
        "ledger_help": [_script("carbon-ledger"), "--help"],
        "ledger_calc": [_script("carbon-ledger"), "calc", str(SAMPLE)],
        "verify_help": [_script("carbon-verify"), "--help"],
    }
    # One untimed round (bytecode compiled, files in the page cache) that also drops a
    # command that fails, so one broken entry point does not hide the others' figures.
    failed = sorted(name for name, argv in commands.items() if _time(argv) is None)
    commands = {name: argv for name, argv in commands.items() if name not in failed}
    samples: dict[str, list[float]] = {name: [] for name in commands}
    for _ in range(args.runs):
        for name, argv in commands.items():
            seconds = _time(argv)
            if seconds is None:
                raise SystemExit(f"{name} failed on a later run")
            samples[name].append(seconds)
    median = {name: statistics.median(times) for name, times in samples.items()}
    bare = median["bare_python"]
    work = {"ledger_help": bare, "ledger_calc": median.get("calc_work"), "verify_help": bare}
    over_work = {
        name: median[name] - floor
        for name, floor in work.items()
        if name in median and floor is not None
    }
    print(
        json.dumps(
            {
                "benchmark": "startup",
                "runs": args.runs,
                "sample": SAMPLE.name,
                "median_s": {name: round(s, 3) for name, s in median.items()},
                "ratio_to_bare": {name: round(s / bare, 1) for name, s in median.items()},
                "over_work_s": {name: round(s, 3) for name, s in over_work.items()},
                "limit_over_work_s": LIMIT_OVER_WORK_S,
                "within_limit": {name: s <= LIMIT_OVER_WORK_S for name, s in over_work.items()},
                "failed": failed,
                "python": platform.python_version(),
            }
        )
    )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
