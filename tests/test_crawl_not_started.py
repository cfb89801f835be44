"""A spider whose crawl fails before it runs (its spider, an extension or a middleware raises
while Scrapy builds them) ends `stenogram crawl` with one line and exit 1, not a traceback;
run_crawl raises SpiderNotStarted, even where Scrapy never set the crawler's stats (reading
them used to raise RuntimeError). Nothing is fetched: the base URL is a closed loopback port."""
from __future__ import annotations

import subprocess
import sys

from conftest import stenogram_cmd

CLOSED = "http://127.0.0.1:9"  # discard port: never contacted, the crawl does not start


def test_crawl_whose_extension_does_not_load_is_one_line_exit_1(tmp_path):
    proc = stenogram_cmd("crawl", "mid", "--loopback", "--out", str(tmp_path / "out"),
                         "--base-url", f"mid={CLOSED}",
                         "-s", 'EXTENSIONS={"stenogram.no_such_module.Extension": 100}', timeout=120)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    said = (proc.stdout + proc.stderr).strip().splitlines()
    assert said == ["failed: mid did not start: ModuleNotFoundError: No module named "
                    "'stenogram.no_such_module'"], said
    assert "Traceback" not in proc.stdout + proc.stderr


RUN = """
import sys
from stenogram.crawler.runner import LOOPBACK_SETTINGS, SpiderNotStarted, run_crawl
try:
    run_crawl(["backfill"], out_dir=sys.argv[1], base_urls={"backfill": sys.argv[2] + "/web"},
              settings=dict(LOOPBACK_SETTINGS), spider_args={"backfill": {"sources": "no_such_source"}},
              known_sources=("backfill",))
except SpiderNotStarted as exc:
    print(exc)
    print(sorted(exc.result.stats.items()))
    sys.exit(3)
"""


def test_spider_raising_before_stats_exist_raises_not_started(tmp_path):
    """The backfill spider's from_crawler loads each named source's spider: an unknown one
    raises KeyError before Scrapy creates the stats collector."""
    proc = subprocess.run([sys.executable, "-c", RUN, str(tmp_path / "out"), CLOSED],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 3, proc.stdout + proc.stderr
    assert proc.stdout.splitlines() == ["backfill did not start: KeyError: 'Spider not found: no_such_source'",
                                        "[('backfill', {})]"], proc.stdout
    assert "Traceback" not in proc.stderr and "RuntimeError" not in proc.stderr, proc.stderr
