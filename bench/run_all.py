"""Run every benchmark under bench/ (every bench_*.py, start-up included) in turn; each prints
one JSON line of results.

The soak (bench_soak.py) lasts ten minutes, so it runs only with CARBON_BENCH_SOAK=1.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
OPT_IN = {"bench_soak.py": "CARBON_BENCH_SOAK"}


def main() -> int:
    failed = 0
    for script in sorted(BENCH_DIR.glob("bench_*.py")):
        switch = OPT_IN.get(script.name)
        if switch and os.environ.get(switch) != "1":
            print(f"# {script.name} skipped (set {switch}=1 to run it)", flush=True)
            continue
        print(f"# {script.name}", flush=True)
        failed |= subprocess.run([sys.executable, str(script)], check=False).returncode != 0
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
