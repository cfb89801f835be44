"""Soak run: a long crawl of the sample site with faults on, the way cron will run it for years.

Prints pages/s, the crawl process's RSS when the site has answered 5k / 10k / 20k requests (and
its peak), and how each fault ended (retried and archived, or given up). The point is to see
that memory stays flat and that every fault has an outcome, not to race.

The sample site runs in threads of this process with ``Faults.sprinkled`` (a seeded share of
transcript pages resets, answers 500, 503 + Retry-After, or an interstitial on its first hit);
the crawl runs :func:`crawler.runner.run_crawl` with the loopback settings and the operations
middlewares in a child process. RSS is read from ``/proc/<child>/status`` every 0.2 s; the page
counter is the site's request log. Usage::

    .venv/bin/python bench/bench_soak.py                  # ~2,000 pages, about a minute
    .venv/bin/python bench/bench_soak.py --pages 20000    # the full soak
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import textwrap
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

CHILD = textwrap.dedent(
    """
    import json, sys
    from stenogram.crawler.runner import LOOPBACK_SETTINGS, run_crawl
    cfg = json.loads(sys.argv[1])
    settings = dict(LOOPBACK_SETTINGS)
    settings.update(cfg["settings"])
    result = run_crawl(cfg["sources"], out_dir=cfg["out"], base_urls=cfg["base_urls"],
                       settings=settings, spider_args=cfg["spider_args"])
    stats = {s: {k: (v if isinstance(v, (int, float)) else str(v)) for k, v in st.items()}
             for s, st in result.stats.items()}
    json.dump(stats, open(cfg["stats_path"], "w"))
    """
)

OUTCOME_KEYS = (
    "downloader/response_count", "downloader/exception_count", "retry/count", "retry/max_reached",
    "stenogram/retry/dataloss", "stenogram/retry_after", "stenogram/retry_after/gave_up",
    "stenogram/interstitial/seen", "stenogram/interstitial/retried", "stenogram/interstitial/gave_up",
    "stenogram/recrawl/new", "stenogram/recrawl/skipped_not_due", "stenogram/transcript_pages",
    "stenogram/not_transcript", "stenogram/documents_new", "stenogram/versions_new",
    "stenogram/captures_merged", "warc/records", "warc/revisits", "warc/errors",
    "stenogram/warc_write_failed",
)


def rss_kib(pid: int) -> int | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--pages", type=int, default=2000, help="pages to crawl, roughly")
    parser.add_argument("--fault-rate", type=float, default=0.05, help="share of transcript pages that misbehave")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--timeout", type=float, default=3600)
    parser.add_argument("--keep", type=Path, default=None, help="crawl into this folder and keep it")
    args = parser.parse_args()

    from stenogram.sample_site.faults import Faults
    from stenogram.sample_site.server import SampleSite

    # about 1.25-1.4 pages per generated transcript across the four sources (copies, listings, feeds)
    size = max(20, int(args.pages / 1.25))
    faults = Faults.sprinkled(seed=args.seed, rate=args.fault_rate)
    marks = [m for m in (5_000, 10_000, 20_000) if m <= args.pages * 1.2] or [args.pages // 2]
    out = args.keep or Path(tempfile.mkdtemp(prefix="stenogram-soak-"))
    print(f"sample site: size={size} seed={args.seed} fault rate={args.fault_rate:.0%}; crawl into {out}")
    with SampleSite(port=0, size=size, seed=args.seed, faults=faults) as site:
        cfg = {
            "sources": ["mid", "mid_archive", "globalsecurity", "interaffairs"],
            "out": str(out),
            "base_urls": site.base_urls,
            "settings": {
                "RETRY_BACKOFF_BASE": 0.2, "RETRY_BACKOFF_MAX": 2, "INTERSTITIAL_BACKOFF_BASE": 0.5,
                "INTERSTITIAL_BACKOFF_MAX": 4, "RETRY_AFTER_MAX": 30,
            },
            "spider_args": {"mid_archive": {"max_pages": 100_000}, "interaffairs": {"max_pages": 100_000}},
            "stats_path": str(out / "soak-stats.json"),
        }
        started = time.perf_counter()
        child = subprocess.Popen([sys.executable, "-c", CHILD, json.dumps(cfg)], cwd=ROOT,
                                 stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        peak, at_mark, pending, last = 0, {}, list(marks), (0, 0)
        while child.poll() is None:
            if time.perf_counter() - started > args.timeout:
                child.kill()
                print("timed out")
                break
            rss = rss_kib(child.pid)
            if rss:
                peak = max(peak, rss)
                pages = len(site.requests)
                last = (pages, rss)
                while pending and pages >= pending[0]:
                    at_mark[pending.pop(0)] = rss
            time.sleep(0.2)
        stderr = child.stderr.read()
        elapsed = time.perf_counter() - started
        served = len(site.requests)
        applied = Counter(kind for _s, _t, kind in faults.applied)
    if child.returncode != 0:
        print(stderr[-3000:])
        print(f"crawl failed: exit {child.returncode}")
        return 1
    stats = json.loads((out / "soak-stats.json").read_text())
    totals = Counter()
    for per_source in stats.values():
        for key in OUTCOME_KEYS:
            totals[key] += per_source.get(key, 0)
    print(f"\nrequests answered by the site: {served:,} in {elapsed:.1f} s = {served / elapsed:.1f} pages/s "
          "(including Scrapy start-up and fault waits)")
    print("crawl process RSS: " + ", ".join(f"{m:,} pages: {kib / 1024:.0f} MiB" for m, kib in at_mark.items())
          + f"; last sample at {last[0]:,} pages: {last[1] / 1024:.0f} MiB; peak {peak / 1024:.0f} MiB")
    print("faults served by the site: " + ", ".join(f"{k} {n}" for k, n in sorted(applied.items())))
    print("outcomes (all sources):")
    for key in OUTCOME_KEYS:
        print(f"  {key:40s} {totals[key]:>8,}")
    finish = {s: st.get("finish_reason") for s, st in stats.items()}
    print("finish reasons:", finish)
    return 0 if all(r == "finished" for r in finish.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
