"""Run every benchmark under bench/ with its default (small) sizes, one after another.

Each script prints its own figures against the baseline it measures in the same run; this
runner only sequences them (benchmarks would disturb each other on a 2-core machine) and says
which one failed. Larger runs: call a script directly with its own flags (see its --help).
"""
from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path


def main() -> int:
    here = Path(__file__).resolve().parent
    scripts = sorted(p for p in here.glob("bench_*.py"))
    failed = []
    for script in scripts:
        print(f"\n=== {script.name} " + "=" * max(0, 60 - len(script.name)), flush=True)
        started = time.perf_counter()
        proc = subprocess.run([sys.executable, str(script)], cwd=here.parent)
        print(f"--- {script.name}: exit {proc.returncode} after {time.perf_counter() - started:.1f} s", flush=True)
        if proc.returncode:
            failed.append(script.name)
    if failed:
        print("failed:", ", ".join(failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
