#!/usr/bin/env python3
"""Crawl throughput of 1, 2 and 4 `stenogram crawl --redis` workers vs one plain process.

Why: issue 15 asks whether the shared Redis frontier pays: the sample site's four sources, each
on its own port (four hosts), with the per-host delay scaled down (``--delay``, default 0.05 s,
one request at a time per host), crawled by one ordinary process (no Redis: the baseline,
measured in the same run) and then by 1, 2 and 4 workers sharing a fresh ``redis-server`` (AOF
on, as the README's recipe). Each figure is wall time from the start of the processes to the
last one's exit (start-up included), the pages archived (response and revisit records in every
worker's WARCs) and pages/s; the speedup is against the one-process baseline.

The per-host check: the shortest gap between two requests to one host as the host saw them
(the sample site's access log, ``SampleSite.access_log``), against the configured delay. Scrapy's
delay is per process; with ``--redis`` the cluster-wide budget (crawler/host_budget.py) holds it
for all workers together, so no gap may fall below the delay (the one-process baseline keeps
Scrapy's own per-process delay, whose gaps can be shorter by the answers' latency jitter).
CPU ms/page is the crawl processes' user+system time (start-up included) per page archived:
on this 2-core machine shared with other work the crawl is CPU-bound, so wall-time speedups
say how much CPU the machine had to spare; a worker on a machine of its own adds its share.
Workers do not write the corpus (one ``reprocess`` does, after the crawl; its time is printed
apart), the baseline process does: so the figures are given against both the baseline and one
worker, and once more with the ``reprocess`` counted (``corpus/s``: pages per second from the
start of the crawl to a corpus as complete as the baseline's).

Run from the checkout: ``.venv/bin/python bench/bench_scaleout_crawl.py [--size 400] [--delay
0.05] [--workers 1,2,4]``. Needs ``redis-server`` (Debian's package; ``.ci/run`` installs it).
"""
from __future__ import annotations

import argparse
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from datetime import datetime
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
VENV_BIN = Path(sys.executable).parent


def command(site, out: Path, delay: float, redis_url: str | None) -> list[str]:
    cmd = [str(VENV_BIN / "stenogram"), "crawl", "--loopback", "--out", str(out), "--no-progress",
           "-s", f"DOWNLOAD_DELAY={delay}", "-s", "CONCURRENT_REQUESTS_PER_DOMAIN=1",
           "-s", "DOWNLOAD_DELAY_JITTER=0", "-s", "STENOGRAM_REDIS_POLL=0.1"]
    for source, url in site.base_urls.items():
        cmd += ["--base-url", f"{source}={url}"]
    return cmd + (["--redis", redis_url] if redis_url else [])


def archived(outs: list[Path]) -> int:
    """Response/revisit records over the workers' WARCs (robots.txt aside: each process reads it)."""
    from warcio.archiveiterator import ArchiveIterator

    pages = 0
    for out in outs:
        for path in sorted((out / "warc").glob("*.warc.gz")):
            with open(path, "rb") as fh:
                for record in ArchiveIterator(fh):
                    url = record.rec_headers.get_header("WARC-Target-URI") or ""
                    pages += record.rec_type in ("response", "revisit") and not url.endswith("/robots.txt")
    return pages


def shortest_gap(entries) -> float:
    """The shortest gap between two requests to one source (host) of the access log, seconds."""
    times = defaultdict(list)
    for when, source, _method, _target in entries:
        times[source].append(when)
    gaps = [b - a for stamps in times.values() for a, b in zip(sorted(stamps), sorted(stamps)[1:])]
    return min(gaps) if gaps else float("nan")


def run(site, work: Path, name: str, n: int, delay: float, redis_url: str | None) -> dict:
    outs = [work / f"{name}-{i}" for i in range(n)]
    first = len(site.access_log)
    cpu = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    procs = [subprocess.Popen(command(site, out, delay, redis_url), stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL) for out in outs]
    codes = [p.wait() for p in procs]
    seconds = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = after.ru_utime + after.ru_stime - cpu.ru_utime - cpu.ru_stime
    gap = shortest_gap(site.access_log[first:])
    row = {"name": name, "workers": n, "seconds": seconds, "pages": archived(outs), "gap": gap, "codes": codes,
           "cpu": cpu}
    if redis_url:  # the single corpus writer, after the crawl
        start = time.perf_counter()
        proc = subprocess.run([str(VENV_BIN / "stenogram"), "reprocess", "--db", str(work / f"{name}.db"),
                               *[str(o / "warc") for o in outs]], capture_output=True)
        row["reprocess"] = time.perf_counter() - start
        row["codes"].append(proc.returncode)
    return row


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=int, default=400, help="sample-site filler transcripts")
    parser.add_argument("--delay", type=float, default=0.05, help="per-host DOWNLOAD_DELAY, seconds")
    parser.add_argument("--workers", default="1,2,4")
    args = parser.parse_args(argv)
    from redis_support import REDIS_SERVER, RedisServer

    from stenogram.sample_site.server import SampleSite

    if not Path(REDIS_SERVER).exists():
        print("redis-server is not installed (Debian's redis-server; .ci/run installs it)")
        return 1
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    work = Path(tempfile.mkdtemp(prefix="bench-scaleout-"))
    site = SampleSite(port=0, size=args.size, seed=1).start()
    hosts = len(site.base_urls)
    rows = []
    try:
        rows.append(run(site, work, "one-process", 1, args.delay, None))
        for n in [int(x) for x in args.workers.split(",")]:
            server = RedisServer(work / f"redis-{n}").start()
            try:
                rows.append(run(site, work, f"redis-x{n}", n, args.delay, server.url))
            finally:
                server.kill()
    finally:
        site.stop()
        shutil.rmtree(work, ignore_errors=True)
    base = rows[0]["pages"] / rows[0]["seconds"]
    one = rows[1]["pages"] / rows[1]["seconds"] if len(rows) > 1 else base
    print(f"sample site size {args.size}, {hosts} hosts served (4 crawled), DOWNLOAD_DELAY "
          f"{args.delay} s per host, one request at a time per host; wall time from the start of the "
          f"processes to the last exit (start-up included); load average before: {load}")
    print(f"{'run':<14}{'workers':>8}{'pages':>7}{'seconds':>9}{'pages/s':>9}{'vs 1 proc':>10}"
          f"{'vs 1 wkr':>9}{'CPU ms/page':>12}{'min gap/host':>14}{'reprocess':>11}{'corpus/s':>10}"
          f"{'vs 1 proc':>10}  exit")
    for row in rows:
        rate = row["pages"] / row["seconds"]
        corpus_rate = row["pages"] / (row["seconds"] + row.get("reprocess", 0.0))
        re_s = f"{row['reprocess']:.1f}s" if "reprocess" in row else "-"
        print(f"{row['name']:<14}{row['workers']:>8}{row['pages']:>7}{row['seconds']:>9.1f}{rate:>9.1f}"
              f"{rate / base:>9.2f}x{rate / one:>8.2f}x{1000 * row['cpu'] / row['pages']:>12.1f}"
              f"{row['gap']:>13.3f}s{re_s:>11}{corpus_rate:>10.1f}{corpus_rate / base:>9.2f}x  {row['codes']}")
    below = [r["name"] for r in rows[1:] if r["gap"] < args.delay]
    print("--redis runs with a per-host gap below the delay: " + (", ".join(below) if below else "none"))
    return 0 if all(c == 0 for r in rows for c in r["codes"]) else 1


if __name__ == "__main__":
    sys.exit(main())
