"""Run every benchmark under bench/ with its default (small) sizes, one after another.

Each script prints its own figures against the baseline it measures in the same run; this
runner only sequences them (benchmarks would disturb each other on a 2-core machine) and says
which one failed. Larger runs: call a script directly with its own flags (see its --help).

A script whose own default is a long run gets smaller flags here (``SMALL``): the rebuild
benchmark's default is the 100k-capture run the README quotes (12+ minutes); here it runs at
5,000 captures (66 s, its base crawl included), which still prints every figure it has.
"""
from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

#: flags for scripts whose own defaults are long runs (their defaults are the README's figures)
SMALL = {"bench_rebuild_cluster.py": ["--captures", "5000"]}


def main() -> int:
    here = Path(__file__).resolve().parent
    scripts = sorted(p for p in here.glob("bench_*.py"))
    failed = []
    for script in scripts:
        print(f"\n=== {script.name} " + "=" * max(0, 60 - len(script.name)), flush=True)
        started = time.perf_counter()
        proc = subprocess.run([sys.executable, str(script), *SMALL.get(script.name, [])], cwd=here.parent)
        print(f"--- {script.name}: exit {proc.returncode} after {time.perf_counter() - started:.1f} s", flush=True)
        if proc.returncode:
            failed.append(script.name)
    if failed:
        print("failed:", ", ".join(failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
