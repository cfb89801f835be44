#!/usr/bin/env python3
"""Crawl throughput of 1, 2 and 4 `stenogram crawl --redis` workers vs one plain process.

Why: issue 15 asks whether the shared Redis frontier pays: the sample site's four sources, each
on its own port (four hosts), with the per-host delay scaled down (``--delay``, default 0.05 s,
one request at a time per host), crawled by one ordinary process (no Redis: the baseline,
measured in the same run) and then by 1, 2 and 4 workers sharing a fresh ``redis-server`` (AOF
on, as the README's recipe). Each figure is wall time from the start of the processes to the
last one's exit (start-up included), the pages archived (response and revisit records in every
worker's WARCs) and pages/s; the speedup is against the one-process baseline.

The per-host check: the shortest gap between two archived responses from one host, over all
workers' WARCs (``WARC-Date``, microseconds), against the configured delay. Scrapy's delay is per
process, so without a cluster-wide limiter N workers may each wait the delay and the host
sees N times the rate; the bench prints the gap either way (with the ``ratelimit`` component on,
the gap must not fall below the delay).

Run from the checkout: ``.venv/bin/python bench/bench_scaleout_crawl.py [--size 120] [--delay
0.05] [--workers 1,2,4]``. Needs ``redis-server`` (Debian's package; ``.ci/run`` installs it).
"""
from __future__ import annotations

import argparse
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
           "-s", "STENOGRAM_REDIS_POLL=0.1"]
    for source, url in site.base_urls.items():
        cmd += ["--base-url", f"{source}={url}"]
    return cmd + (["--redis", redis_url] if redis_url else [])


def archived(outs: list[Path]) -> tuple[int, float]:
    """Response/revisit records over the workers' WARCs, and the shortest per-host gap (s)."""
    from warcio.archiveiterator import ArchiveIterator

    times = defaultdict(list)
    pages = 0
    for out in outs:
        for path in sorted((out / "warc").glob("*.warc.gz")):
            with open(path, "rb") as fh:
                for record in ArchiveIterator(fh):
                    if record.rec_type not in ("response", "revisit"):
                        continue
                    url = record.rec_headers.get_header("WARC-Target-URI")
                    if url.endswith("/robots.txt"):
                        continue  # each process reads it once for itself, outside the delay
                    pages += 1
                    when = datetime.fromisoformat(record.rec_headers.get_header("WARC-Date").replace("Z", "+00:00"))
                    times[urlsplit(url).netloc].append(when.timestamp())
    gaps = [b - a for stamps in times.values() for a, b in zip(sorted(stamps), sorted(stamps)[1:])]
    return pages, min(gaps) if gaps else float("nan")


def run(site, work: Path, name: str, n: int, delay: float, redis_url: str | None) -> dict:
    outs = [work / f"{name}-{i}" for i in range(n)]
    start = time.perf_counter()
    procs = [subprocess.Popen(command(site, out, delay, redis_url), stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL) for out in outs]
    codes = [p.wait() for p in procs]
    seconds = time.perf_counter() - start
    pages, gap = archived(outs)
    return {"name": name, "workers": n, "seconds": seconds, "pages": pages, "gap": gap, "codes": codes}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=int, default=120, help="sample-site filler transcripts")
    parser.add_argument("--delay", type=float, default=0.05, help="per-host DOWNLOAD_DELAY, seconds")
    parser.add_argument("--workers", default="1,2,4")
    args = parser.parse_args(argv)
    from redis_support import REDIS_SERVER, RedisServer

    from stenogram.sample_site.server import SampleSite

    if not Path(REDIS_SERVER).exists():
        print("redis-server is not installed (Debian's redis-server; .ci/run installs it)")
        return 1
    work = Path(tempfile.mkdtemp(prefix="bench-scaleout-"))
    site = SampleSite(port=0, size=args.size, seed=1).start()
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
    print(f"sample site size {args.size}, 4 hosts, DOWNLOAD_DELAY {args.delay} s per host, "
          f"1 request at a time per host; wall time includes process start-up")
    print(f"{'run':<14}{'workers':>8}{'pages':>7}{'seconds':>9}{'pages/s':>9}{'speedup':>9}"
          f"{'min gap/host':>14}  exit")
    for row in rows:
        rate = row["pages"] / row["seconds"]
        print(f"{row['name']:<14}{row['workers']:>8}{row['pages']:>7}{row['seconds']:>9.1f}{rate:>9.1f}"
              f"{rate / base:>8.2f}x{row['gap']:>13.3f}s  {row['codes']}")
    below = [r["name"] for r in rows if r["gap"] < args.delay * 0.95]
    print("per-host gap below the delay in: " + (", ".join(below) if below else "none"))
    return 0 if all(c == 0 for r in rows for c in r["codes"]) else 1


if __name__ == "__main__":
    sys.exit(main())
