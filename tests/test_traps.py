"""Crawler traps and budgets (crawler/traps.py, crawler/robots.py, the response-head cap in
crawler/download_handler.py, Ctrl-C mid-parse in crawler/shutdown.py): issue 23, item 3.

The rules are tested on URLs (property tests for the path rules) and on the middleware with a
spider output that counts how much of it was read; then each trap of tests/trap_site.py (a
loopback server generating it as it is sent) is crawled through the installed ``stenogram``
script, and each crawl must end by itself. Memory and time are figures of bench/bench_traps.py,
not assertions here.
"""
from __future__ import annotations

import ast
import os
import re
import signal
import sqlite3
import subprocess
import time
from pathlib import Path

import pytest
from hypothesis import given, settings as hsettings, strategies as st
from scrapy import Request
from scrapy.http import HtmlResponse

from conftest import VENV_BIN, project_crawler, stenogram_cmd
from stenogram.crawler.robots import BoundedRobotParser, truncate_robotstxt
from stenogram.crawler.state import FrontierEntry, SqliteFrontier
from stenogram.crawler.traps import TrapMiddleware, TrapRules, descends, repeated_run
from trap_site import LISTING, TrapSite, source_of

SEGMENT = st.text(alphabet="abcdefghij0123456789-_.", min_size=1, max_size=6)


# -- the URL rules ---------------------------------------------------------------------------


@given(prefix=st.lists(SEGMENT, max_size=4), run=st.lists(SEGMENT, min_size=1, max_size=4),
       suffix=st.lists(SEGMENT, max_size=4), repeats=st.integers(min_value=3, max_value=6))
def test_a_run_repeated_more_than_twice_is_found(prefix, run, suffix, repeats):
    segments = prefix + run * repeats + suffix
    assert repeated_run(segments, 2) is not None
    assert TrapRules(64, 2, 0).refusal("http://h/" + "/".join(segments) + "/")[0] == "path_repeats"


@given(st.lists(SEGMENT, unique=True, max_size=12))
def test_distinct_segments_are_never_a_repeat(segments):
    assert repeated_run(segments, 2) is None
    assert repeated_run(segments + segments, 2) is None  # twice in a row is allowed


@pytest.mark.parametrize("url,rule", [
    ("http://h/wmd/library/news/russia/2016/2016/2016/", "path_repeats"),
    ("http://h/a/b/a/b/a/b/", "path_repeats"),
    ("http://h/" + "/".join(f"d{i}" for i in range(17)) + "/", "path_segments"),
    ("http://h/x?" + "q" * 3000, "url_length"),
])
def test_url_rules(url, rule):
    assert TrapRules(16, 2, 2083).refusal(url)[0] == rule


@pytest.mark.parametrize("url", [
    "https://mid.ru/en/foreign_policy/news/1234567/",
    "https://archive.mid.ru/en/press_service/minister_speeches/-/asset_publisher/7OvQR5KJWVmR/content/id/2566139",
    "https://www.globalsecurity.org/wmd/library/news/russia/2016/01/russia-160101-russia-mfa01.htm",
    "https://en.interaffairs.ru/lavrov/page/2/",
    "https://web.archive.org/web/20160101000000id_/https://archive.mid.ru/en/press_service/"
    "minister_speeches/-/asset_publisher/7OvQR5KJWVmR/content/id/2566139",
])
def test_the_sources_own_urls_pass(url):
    assert TrapRules.from_settings(project_crawler().settings).refusal(url) is None


def test_descents():
    assert descends("http://h/a/", "http://h/a/b/")
    assert descends("http://h/a/index.htm", "http://h/a/b/c.htm")
    assert not descends("http://h/a/b/", "http://h/a/b/file.htm")  # same folder
    assert not descends("http://h/a/b/", "http://h/a/")  # up
    assert not descends("http://h/a/", "http://other/a/b/")


@given(st.binary(max_size=3000), st.integers(min_value=0, max_value=3000))
def test_robots_truncation_keeps_whole_lines_within_the_limit(body, limit):
    cut = truncate_robotstxt(body, limit)
    assert len(cut) <= max(limit, 0) or cut == body
    assert body.startswith(cut)
    if len(body) > limit and cut:
        assert cut.endswith((b"\n", b"\r"))


def test_a_rule_past_500_kib_of_robots_txt_is_not_read():
    filler = b"".join(b"Disallow: /never/%08d/\n" % i for i in range(30_000))  # ~690 KB
    body = b"User-agent: *\n" + filler + b"Disallow: /secret/\n"
    crawler = project_crawler()
    assert not BoundedRobotParser.from_crawler(None, body).allowed("http://h/secret/x", "stenogram")
    parser = BoundedRobotParser.from_crawler(crawler, body)
    assert parser.allowed("http://h/secret/x", "stenogram")
    assert not parser.allowed("http://h/never/00000001/", "stenogram")  # the head is still obeyed
    assert crawler.stats.get_value("stenogram/robotstxt/truncated") == 1


# -- the middleware ------------------------------------------------------------------------


class Counted:
    """A spider's output that counts how far it was read."""

    def __init__(self, items):
        self.items, self.read, self.closed = items, 0, False

    def __iter__(self):
        try:
            for item in self.items:
                self.read += 1
                yield item
        finally:
            self.closed = True


def _middleware(**settings):
    crawler = project_crawler(**settings)
    return TrapMiddleware(crawler), crawler


def _page(url="http://h/en/press_service/minister_speeches", depth=0):
    response = HtmlResponse(url, body=b"<html></html>", request=Request(url, meta={"depth": depth}))
    return response


def test_a_page_of_a_million_links_is_read_only_up_to_the_cap():
    mw, crawler = _middleware(TRAP_MAX_LINKS_PER_PAGE=50)
    item = {"url": "http://h/page"}

    def links():
        yield item
        for i in range(1_000_000):
            yield Request(f"http://h/en/press_service/minister_speeches/-/asset_publisher/t/content/id/{i}")

    output = Counted(links())
    kept = list(mw.process_spider_output(_page(), iter(output)))
    assert kept[0] is item and len(kept) == 51
    assert output.read == 52  # the 51st request was read and refused; nothing after it
    assert crawler.stats.get_value("stenogram/traps/links_per_page") == 1


def test_depth_limit_is_applied_before_the_frontier_and_counted():
    mw, crawler = _middleware(DEPTH_LIMIT=3)
    child = Request("http://h/a/")
    assert list(mw.process_spider_output(_page(depth=2), [child])) == [child]
    assert list(mw.process_spider_output(_page(depth=3), [Request("http://h/b/")])) == []
    assert crawler.stats.get_value("stenogram/traps/depth") == 1


def test_descents_in_a_row_are_counted_through_meta():
    mw, crawler = _middleware(TRAP_MAX_DESCENTS=2)
    page = _page("http://h/r/")
    first = Request("http://h/r/a/")
    assert list(mw.process_spider_output(page, [first])) == [first] and first.meta["trap_descents"] == 1
    page2 = HtmlResponse("http://h/r/a/", body=b"", request=Request("http://h/r/a/", meta={"trap_descents": 2}))
    assert list(mw.process_spider_output(page2, [Request("http://h/r/a/b/")])) == []
    assert crawler.stats.get_value("stenogram/traps/descents") == 1
    sideways = Request("http://h/r/a/file.htm")  # not a descent: the count starts over
    assert list(mw.process_spider_output(page2, [sideways])) == [sideways]


def test_owed_trap_urls_are_dropped_from_the_frontier(tmp_path):
    frontier = SqliteFrontier(tmp_path / "state.db")
    good = "http://h/wmd/library/news/russia/2016/"
    traps = ["http://h/wmd/library/news/russia/2016/2016/2016/", "http://h/" + "d/e/" * 12]
    for url in [good, *traps]:
        frontier.enqueue(FrontierEntry(url, "globalsecurity", "parse_index", {}, {}))
    mw, crawler = _middleware()
    crawler._stenogram_frontier = type("Keeper", (), {"frontier": frontier})()
    spider = type("Spider", (), {"name": "globalsecurity"})()
    assert mw.sweep(spider) == 2
    assert [e.url for e in frontier.owed("globalsecurity")] == [good]
    assert crawler.stats.get_value("stenogram/traps/owed_dropped") == 2
    assert mw.sweep(spider) == 0


# -- the traps, crawled ------------------------------------------------------------------------


def crawl(site: TrapSite, out: Path, *settings: str, timeout: float = 300) -> subprocess.CompletedProcess:
    source = source_of(site.trap)
    args = ["crawl", source, "--loopback", "--out", str(out), "--base-url", f"{source}={site.url}",
            "-s", "LOG_LEVEL=INFO"]
    for setting in settings:
        args += ["-s", setting]
    return stenogram_cmd(*args, timeout=timeout)


def crawl_stats(out: Path) -> dict:
    """The last crawl's stats, as Scrapy dumped them at INFO in its log."""
    log = max((out / "logs").glob("*.log"), key=lambda p: p.stat().st_mtime).read_text()
    dump = log.rsplit("Dumping Scrapy stats:\n", 1)[1]
    text = dump[:dump.index("}\n") + 1]
    return ast.literal_eval(re.sub(r"datetime\.datetime\([^)]*\)", "None", text))


def owed(out: Path, source: str) -> list[str]:
    with sqlite3.connect(out / "state.db") as db:
        return [u for (u,) in db.execute("select url from frontier where source = ?", (source,))]


def test_the_calendar_crawl_ends_by_itself_with_the_traps_counted(tmp_path):
    with TrapSite("calendar") as site:
        proc = crawl(site, tmp_path / "out")
        fetched = dict(site.seen)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    stats = crawl_stats(tmp_path / "out")
    assert stats["stenogram/traps/descents"] > 0 and stats["stenogram/traps/path_repeats"] > 0
    # two countries, each a tree cut at TRAP_MAX_DESCENTS 5 folders: at most 2 x 63 indexes
    assert fetched["index"] <= 2 * 63, fetched
    assert "crawler trap, not followed" in proc.stderr  # logged, once per rule
    assert proc.stderr.count("crawler trap, not followed (") == 2
    assert owed(tmp_path / "out", "globalsecurity") == []


def test_owed_trap_urls_of_an_earlier_crawl_are_not_issued_again(tmp_path):
    """A crawl without the rules (as before) stops at its page budget owing calendar URLs; the
    next crawl drops the trap ones from the frontier (logged once) and finishes; a third run has
    nothing owed to issue."""
    out = tmp_path / "out"
    with TrapSite("calendar") as site:
        first = crawl(site, out, "TRAP_ENABLED=False", "CLOSESPIDER_PAGECOUNT=60")
        assert "stopped at its page budget: CLOSESPIDER_PAGECOUNT 60" in first.stderr, first.stderr
        assert crawl_stats(out)["stenogram/budget/pages_reached"] == 60
        before = owed(out, "globalsecurity")
        rules = TrapRules(16, 2, 2083)
        assert any(rules.refusal(u) for u in before), before
        second = crawl(site, out)
        assert second.returncode == 0, second.stdout + second.stderr
        assert second.stderr.count("that are crawler traps") == 1
        assert crawl_stats(out)["stenogram/traps/owed_dropped"] == sum(1 for u in before if rules.refusal(u))
        assert owed(out, "globalsecurity") == []
        third = crawl(site, out)
        assert third.returncode == 0
        assert "stenogram/frontier/reissued" not in crawl_stats(out)


def test_a_listing_of_links_is_cut_at_the_cap_and_the_crawl_ends(tmp_path):
    with TrapSite("links", links=100_000) as site:
        proc = crawl(site, tmp_path / "out", "TRAP_MAX_LINKS_PER_PAGE=20")
        fetched = dict(site.seen)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert fetched["article"] == 20, fetched
    assert crawl_stats(tmp_path / "out")["stenogram/traps/links_per_page"] == 1
    assert owed(tmp_path / "out", "mid_archive") == []


def test_ctrl_c_while_a_million_links_are_parsed_stops_the_crawl(tmp_path):
    """SIGINT while the spider reads the million-link listing: the crawl stops reading it and
    exits 130 (bench/bench_traps.py prints how long that takes).

    The signal is sent once the crawl's own log says the listing arrived (Scrapy's "Crawled
    (200)" line, written just before the callback runs), not after a fixed sleep: on a loaded
    machine the download and archiving of 16 MB can outlast any sleep, and a signal that lands
    before the callback starts lets the page be read whole (no interruption to see)."""
    import threading

    out = tmp_path / "out"
    with TrapSite("links") as site:
        source = source_of("links")
        proc = subprocess.Popen([str(VENV_BIN / "stenogram"), "crawl", source, "--loopback", "--out", str(out),
                                 "--base-url", f"{source}={site.url}", "-s", "LOG_LEVEL=DEBUG", "--verbose"],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        lines: list[str] = []
        arrived = threading.Event()

        def drain():
            for line in proc.stderr:
                lines.append(line)
                if "Crawled (200)" in line and LISTING in line:
                    arrived.set()

        reader = threading.Thread(target=drain, daemon=True)
        reader.start()
        try:
            assert arrived.wait(240), "the listing never arrived:\n" + "".join(lines[-20:])
            time.sleep(0.5)  # into the callback: reading a million links takes about a minute
            proc.send_signal(signal.SIGINT)
            proc.wait(timeout=240)
            reader.join(timeout=30)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    stderr = "".join(lines)
    assert proc.returncode == 130, stderr[-3000:]
    assert "interrupted while reading" in stderr and LISTING in stderr
    assert "Traceback" not in stderr


def test_a_flood_of_response_headers_fails_the_download_not_the_crawler(tmp_path):
    with TrapSite("cookies") as site:
        proc = crawl(site, tmp_path / "out")
    assert proc.returncode == 1, proc.stdout + proc.stderr  # nothing could be fetched: errors
    log = next((tmp_path / "out" / "logs").glob("*.log")).read_text()
    assert "more than HTTP_MAX_RESPONSE_HEADERS 100 response header lines" in log
    assert "MemoryError" not in log


def test_a_huge_robots_txt_is_read_to_500_kib(tmp_path):
    with TrapSite("robots") as site:
        proc = crawl(site, tmp_path / "out")
        fetched = dict(site.seen)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "only the first 512000 are read" in proc.stderr
    assert fetched.get("article", 0) >= 1  # the Disallow past 500 KiB was never read
