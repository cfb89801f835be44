"""Peak memory and time of a crawl of each trap of tests/trap_site.py, against a plain crawl of
the bundled sample site (the baseline), all in the same run.

Each crawl is the real ``stenogram crawl --loopback`` in its own process; peak RSS is that
child's ``ru_maxrss`` (``wait4``), time its wall clock. Printed per row: seconds, peak RSS, pages
fetched, how the crawl ended, and the trap counters. ``--without-rules`` crawls the traps again
with ``TRAP_ENABLED=False`` (and a page budget, so that run ends too) to show what the rules
prevent. The Ctrl-C row sends SIGINT once the million-link listing has been sent whole and
prints the seconds from the signal to the exit (issue 23 measured ~280 s before).

Usage: .venv/bin/python bench/bench_traps.py [--links 1000000] [--cookies 1000000] [--without-rules]
"""
from __future__ import annotations

import argparse
import ast
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
STENOGRAM = Path(sys.executable).parent / "stenogram"

from trap_site import TrapSite, source_of  # noqa: E402


def run(args: list[str], interrupt_when=None) -> tuple[float, int, int, float | None]:
    """(wall s, peak RSS KiB, exit status, s from SIGINT to exit) of one `stenogram` run."""
    start = time.monotonic()
    proc = subprocess.Popen([str(STENOGRAM), *args], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    signalled = None
    if interrupt_when is not None:
        while proc.poll() is None and not interrupt_when():
            time.sleep(0.1)
        time.sleep(3)  # received, archived, being parsed
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)
            signalled = time.monotonic()
    _, status, usage = os.wait4(proc.pid, 0)
    end = time.monotonic()
    return end - start, usage.ru_maxrss, os.waitstatus_to_exitcode(status), (end - signalled) if signalled else None


def stats_of(out: Path) -> dict:
    logs = sorted((out / "logs").glob("*.log"), key=lambda p: p.stat().st_mtime)
    if not logs:
        return {}
    text = logs[-1].read_text(errors="replace")
    if "Dumping Scrapy stats:\n" not in text:
        return {}
    dump = text.rsplit("Dumping Scrapy stats:\n", 1)[1]
    return ast.literal_eval(re.sub(r"datetime\.datetime\([^)]*\)", "None", dump[:dump.index("}\n") + 1]))


def row(label: str, seconds: float, rss_kib: int, code: int, stats: dict, extra: str = "") -> None:
    traps = {k.split("/", 2)[2]: v for k, v in stats.items() if k.startswith("stenogram/traps/")}
    print(f"{label:<34} {seconds:7.1f} s {rss_kib / 1024:8.0f} MiB  exit {code:<3} "
          f"{stats.get('response_received_count', 0):>6} responses  {stats.get('finish_reason', '?'):<22} "
          f"{traps or ''} {extra}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--links", type=int, default=1_000_000)
    parser.add_argument("--cookies", type=int, default=1_000_000)
    parser.add_argument("--robots-mib", type=float, default=5.0)
    parser.add_argument("--without-rules", action="store_true",
                        help="also crawl each trap with TRAP_ENABLED=False and CLOSESPIDER_PAGECOUNT=2000")
    args = parser.parse_args()
    print(f"{'crawl':<34} {'time':>9} {'peak RSS':>12}  exit", flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        from stenogram.sample_site.server import SampleSite

        site = SampleSite(port=0).start()
        try:
            out = tmp / "baseline"
            crawl = ["crawl", "mid", "globalsecurity", "mid_archive", "--loopback", "--out", str(out),
                     "-s", "LOG_LEVEL=INFO"]
            for source in ("mid", "globalsecurity", "mid_archive"):
                crawl += ["--base-url", f"{source}={site.base_urls[source]}"]
            seconds, rss, code, _ = run(crawl)
            row("baseline: sample site (3 sources)", seconds, rss, code, stats_of(out))
        finally:
            site.stop()
        sizes = {"links": args.links, "cookies": args.cookies, "robots_bytes": int(args.robots_mib * 1024 * 1024)}
        variants = [("rules on", [])]
        if args.without_rules:
            variants.append(("rules off", ["-s", "TRAP_ENABLED=False", "-s", "CLOSESPIDER_PAGECOUNT=2000"]))
        for trap in ("calendar", "links", "cookies", "robots"):
            for name, extra in variants:
                with TrapSite(trap, **sizes) as trap_site:
                    out = tmp / f"{trap}-{name.replace(' ', '')}"
                    source = source_of(trap)
                    seconds, rss, code, _ = run(["crawl", source, "--loopback", "--out", str(out), "--base-url",
                                                 f"{source}={trap_site.url}", "-s", "LOG_LEVEL=INFO", *extra])
                    row(f"{trap} ({name})", seconds, rss, code, stats_of(out), f"served {trap_site.seen}")
        with TrapSite("links", **sizes) as trap_site:
            out = tmp / "interrupted"
            seconds, rss, code, after = run(["crawl", "mid_archive", "--loopback", "--out", str(out), "--base-url",
                                             f"mid_archive={trap_site.url}", "-s", "LOG_LEVEL=INFO"],
                                            interrupt_when=lambda: trap_site.listings_sent >= 1)
            row("links, Ctrl-C mid-parse", seconds, rss, code, stats_of(out),
                f"SIGINT -> exit {after:.1f} s" if after is not None else "(ended before the signal)")


if __name__ == "__main__":
    main()
