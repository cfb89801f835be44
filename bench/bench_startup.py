"""Start-up time of the `stenogram` command against a bare `python -c pass`, same run.

Each command runs --runs times, alternating (so load from other processes hits all alike);
printed: the fastest and the median wall time, the median CPU time (user+sys of the child:
steadier than wall time on a shared machine) and the same minus the baseline. The target (issue
12) is `stenogram extract` starting in <= 0.3 s: the command modules load lazily and the heavy
packages (scrapy, datasketch/scipy, cdxj_indexer) are imported only by the commands that use
them; `extract PAGE` loads trafilatura only for a page no profile reads (the generic path),
and pymorphy3 only for a Russian title with names (the country words are shipped). Usage:
    .venv/bin/python bench/bench_startup.py [--runs 15]
"""
from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PAGES = ROOT / "tests" / "gold" / "pages"


def _run(cmd: list[str]) -> tuple[float, float]:
    """(wall s, CPU s) of one run of `cmd` (CPU = the child's user + sys)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True, cwd=ROOT)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    python = sys.executable
    stenogram = str(Path(python).parent / "stenogram")
    if not os.path.exists(stenogram):
        sys.exit(f"no {stenogram}: run `make install` first")
    commands = {
        "python -c pass (baseline)": [python, "-c", "pass"],
        "stenogram --help": [stenogram, "--help"],
        "stenogram extract --help": [stenogram, "extract", "--help"],
        "python -c 'import trafilatura'": [python, "-c", "import trafilatura"],
        "stenogram extract EN page": [stenogram, "extract", str(PAGES / "seed-000.mid.html")],
        "stenogram extract RU page": [stenogram, "extract", str(PAGES / "seed-000-ru.mid.html")],
        "stenogram extract no-profile page": [stenogram, "extract", str(PAGES / "variant-no-container.mirror.html")],
    }
    results: dict[str, list[tuple[float, float]]] = {name: [] for name in commands}
    for cmd in commands.values():  # warm the page cache
        _run(cmd)
    for _ in range(args.runs):
        for name, cmd in commands.items():
            results[name].append(_run(cmd))
    base_wall = min(w for w, _ in results["python -c pass (baseline)"])
    base_cpu = statistics.median(c for _, c in results["python -c pass (baseline)"])
    print(f"{args.runs} runs each, alternating; load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    print(f"{'command':34} {'min wall':>9} {'median wall':>12} {'median CPU':>11} {'CPU - baseline':>15}")
    for name, runs in results.items():
        walls = [w for w, _ in runs]
        cpu = statistics.median(c for _, c in runs)
        print(f"{name:34} {min(walls):8.3f}s {statistics.median(walls):11.3f}s {cpu:10.3f}s {cpu - base_cpu:14.3f}s")
    print(f"(min wall of the baseline: {base_wall:.3f}s)")


if __name__ == "__main__":
    main()
