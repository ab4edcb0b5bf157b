"""Run every benchmark under bench/ in turn; each prints one JSON line of results."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent


def main() -> int:
    failed = 0
    for script in sorted(BENCH_DIR.glob("bench_*.py")):
        print(f"# {script.name}", flush=True)
        failed |= subprocess.run([sys.executable, str(script)], check=False).returncode != 0
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
