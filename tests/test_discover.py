"""``stenogram crawl --discover-from ARCHIVE`` against a real pywb on loopback.

The world: the sample site's mid.ru with more articles (100 filler transcripts, 51 mid pages)
than its live listing page 1, its two feeds and the links inside articles reach (robots.txt
forbids ``?PAGEN``, as live). A web archive captured every article and the four listing pages
earlier (warcio's ``capture_http`` around plain HTTP GETs, the way any WARC-writing client
records an exchange), and pywb serves that collection: its CDX API lists more mid articles than
a live crawl can find. Since the archive's visit, one of the extra articles answers live only
with mid.ru's anti-bot wall, and one is gone (410).

A crawl of mid without ``--discover-from`` is the baseline (what the live listing shows); the
crawl with it must fetch every extra article live, take the walled and the gone one from the
archive's copy with ``via`` provenance, and hold every article in its corpus. pywb's CDX has no
resume keys; ``ArchiveProxy`` (tests/test_backfill.py) answers in the Wayback Machine's form
with paging, so the same crawl is also run through it, two rows a page.
"""
from __future__ import annotations

import gzip
import json
import re
import sqlite3
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import given, settings, strategies as st

from conftest import crawl_args, stenogram_cmd
from stenogram.corpus.serve import stop  # SIGTERM each process group, SIGKILL what lingers
from test_backfill import ArchiveProxy
from test_interop_tools import run, start_wayback, tools_bin  # noqa: F401  (tools_bin: a fixture)

pytestmark = [pytest.mark.network, pytest.mark.slow]
COLL = "earlier"
ARTICLE = re.compile(r"^/(en|ru)/(foreign_policy/news|press_service/minister_speeches)/\d+/$")
LISTINGS = ("/en/foreign_policy/news/", "/ru/foreign_policy/news/",
            "/en/press_service/minister_speeches/", "/ru/press_service/minister_speeches/")


@dataclass
class World:
    root: Path
    site: object
    pywb: str
    proxy: ArchiveProxy
    articles: set[str]  # every mid article URL (the archive holds each)
    reached: set[str]  # what a crawl without --discover-from reaches
    walled: str
    gone: str
    archived_at: dict[str, str]  # URL -> its capture time in the archive (ISO 8601)

    @property
    def archive(self) -> str:
        return f"{self.pywb}/{COLL}"


def rows(db: Path, sql: str, *params) -> list[tuple]:
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        return conn.execute(sql, params).fetchall()
    finally:
        conn.close()


def capture_archive(site, warc: Path) -> None:
    """The archive's earlier visit: every mid article and listing page, as plain GETs."""
    from warcio.capture_http import capture_http

    base = site.base_urls["mid"]
    with capture_http(str(warc)):
        for path in [*sorted(site.catalog.paths("mid")), *LISTINGS]:
            with urllib.request.urlopen(base + path, timeout=30) as resp:
                assert resp.status == 200
                resp.read()


def cdx_times(collection: Path) -> dict[str, str]:
    out = {}
    for index in (collection / "indexes").glob("*.cdxj"):
        for line in index.read_text().splitlines():
            _key, ts, blob = line.split(" ", 2)
            out[json.loads(blob)["url"]] = f"{ts[:4]}-{ts[4:6]}-{ts[6:8]}T{ts[8:10]}:{ts[10:12]}:{ts[12:14]}Z"
    return out


@pytest.fixture(scope="module")
def world(tools_bin, tmp_path_factory):  # noqa: F811
    from stenogram.sample_site.faults import Faults
    from stenogram.sample_site.server import SampleSite

    root = tmp_path_factory.mktemp("discover")
    site = SampleSite(port=0, size=100, seed=7).start()
    procs, proxy = [], None
    try:
        base = site.base_urls["mid"]
        articles = {base + p for p in site.catalog.paths("mid") if ARTICLE.match(p)}
        home = root / "pywb"
        home.mkdir()
        warc = root / "earlier.warc.gz"
        capture_archive(site, warc)
        assert run([tools_bin / "wb-manager", "init", COLL], cwd=home).returncode == 0
        proc = run([tools_bin / "wb-manager", "add", COLL, warc], cwd=home)
        assert proc.returncode == 0, proc.stderr
        wayback, pywb = start_wayback(tools_bin, home)
        procs.append(wayback)
        proxy = ArchiveProxy(pywb)
        # the baseline: what a crawl sees of the live site (page 1, feeds, in-article links)
        plain = root / "plain"
        proc = stenogram_cmd(*crawl_args(site, plain, "mid"))
        assert proc.returncode == 0, proc.stdout + proc.stderr
        reached = {u for (u,) in rows(plain / "corpus.db", "SELECT url FROM captures WHERE is_transcript = 1")}
        extras = sorted(articles - reached)
        assert reached < articles and len(extras) >= 5, (len(reached), len(articles))
        # since the archive's visit: one extra article walled off live, one gone
        walled, gone = extras[0], extras[1]
        site.faults = (Faults()
                       .add("interstitial", re.escape(walled[len(base):]) + "$", source="mid", times=None)
                       .add("status", re.escape(gone[len(base):]) + "$", source="mid", status=410, times=None))
        yield World(root, site, pywb, proxy, articles, reached, walled, gone,
                    cdx_times(home / "collections" / COLL))
    finally:
        stop(procs)
        if proxy is not None:
            proxy.close()
        site.stop()


def discover_crawl(world: World, name: str, archive: str, *extra: str):
    out = world.root / name
    proc = stenogram_cmd(*crawl_args(world.site, out, "mid"), "--discover-from", archive, *extra)
    return out, proc


@pytest.fixture(scope="module")
def discovered(world):
    """The crawl with --discover-from pywb (JSON-lines CDX, no resume keys: a page size it
    fills makes the whole listing asked for once more)."""
    before = len(world.site.requested("mid"))
    out, proc = discover_crawl(world, "discover", world.archive, "-s", "DISCOVER_CDX_PAGE_SIZE=7")
    return out, proc, world.site.requested("mid")[before:]


def transcript_captures(db: Path) -> dict[str, tuple]:
    return {url: (via, archived_at) for url, via, archived_at in
            rows(db, "SELECT url, via, archived_at FROM captures WHERE is_transcript = 1")}


def test_the_corpus_holds_every_article_the_archive_lists(world, discovered):
    out, proc, _ = discovered
    assert proc.returncode == 0, proc.stdout + proc.stderr
    got = transcript_captures(out / "corpus.db")
    assert set(got) == world.articles
    assert "2 taken from the archive's copy (1 walled, 1 refused or gone)" in " ".join(proc.stdout.split())
    # each a document (a transcript published in two sections is one document with two URLs)
    assert rows(out / "corpus.db", "SELECT count(*) FROM captures WHERE is_transcript = 1 "
                                   "AND document_id IS NULL") == [(0,)]


def test_the_extras_are_fetched_live(world, discovered):
    out, _, requested = discovered
    got = transcript_captures(out / "corpus.db")
    base = world.site.base_urls["mid"]
    for url in world.articles - world.reached - {world.walled, world.gone}:
        assert got[url] == (None, None), url  # today's text, from the site: no via
        assert url[len(base):] in requested, url
    # asked politely of the live site: its robots.txt was read, the archive's listing was not
    # taken for a page of the site
    assert "/robots.txt" in requested
    assert not any("cdx" in t or "id_/" in t for t in requested)


def test_refused_pages_come_from_the_archive_with_via_provenance(world, discovered):
    out, _, requested = discovered
    got = transcript_captures(out / "corpus.db")
    base = world.site.base_urls["mid"]
    for url in (world.walled, world.gone):
        assert url[len(base):] in requested, url  # tried live first
        via, archived_at = got[url]
        assert via == world.archive, url
        assert archived_at == world.archived_at[url], url
    # the wall was tried until InterstitialMiddleware gave up (1 + INTERSTITIAL_RETRY_TIMES)
    assert requested.count(world.walled[len(base):]) == 6
    # the WARC says so too: our exchange with the archive and a metadata record beside it
    data = b"".join(gzip.decompress(p.read_bytes()) for p in (out / "warc").glob("*.warc.gz"))
    for url in (world.walled, world.gone):
        assert f"x-stenogram-original-url: {url}".encode() in data
        assert re.search(rb"WARC-Target-URI: " + re.escape(world.archive.encode()) + rb"/\d{14}id_/"
                         + re.escape(url.encode()), data)
    assert f"x-stenogram-archive: {world.archive}".encode() in data
    log = "".join(p.read_text() for p in (out / "logs").glob("*.log"))
    assert "giving up" in log and world.walled in log  # the wall is logged as before


def test_reprocess_rebuilds_the_same_provenance(world, discovered):
    out, _, _ = discovered
    rebuilt = world.root / "rebuilt.db"
    proc = stenogram_cmd("reprocess", "--db", str(rebuilt), str(out / "warc"))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert transcript_captures(rebuilt) == transcript_captures(out / "corpus.db")


def test_paged_wayback_form_listing_gives_the_same_corpus(world, discovered):
    """The Wayback Machine's CDX form, two rows a page with resume keys (ArchiveProxy)."""
    out, proc = discover_crawl(world, "paged", f"{world.proxy.base}/{COLL}", "-s", "DISCOVER_CDX_PAGE_SIZE=2")
    assert proc.returncode in (0, 1), proc.stdout + proc.stderr
    got = transcript_captures(out / "corpus.db")
    assert set(got) == world.articles
    assert got[world.walled][0] == got[world.gone][0] == f"{world.proxy.base}/{COLL}"
    with world.proxy.lock:
        paged = [p for _, p, _ in world.proxy.requests if "/cdx?" in p and "resumeKey=" in p]
    assert len(paged) > 10  # the listing was walked page by page


def test_an_owed_archive_copy_is_fetched_by_the_next_crawl(world):
    """A crawl killed after the live page was refused, before the archive's copy came in, left
    the copy owed on the archive's host; the next --discover-from crawl fetches it."""
    from stenogram.crawler import cdx
    from stenogram.crawler.state import FrontierEntry, SqliteFrontier

    out = world.root / "resumed"
    out.mkdir()
    url = sorted(world.articles - {world.walled, world.gone})[0]
    stamp = world.archived_at[url].replace("-", "").replace("T", "").replace(":", "").rstrip("Z")
    frontier = SqliteFrontier(out / "state.db")
    frontier.enqueue(FrontierEntry(cdx.replay_url(world.archive, stamp, url), "mid", "parse_archived_copy",
                                   {"url": url, "timestamp": stamp}, {"depth": 1}))
    frontier.close()
    _, proc = discover_crawl(world, "resumed", world.archive)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    vias = {via for u, via in rows(out / "corpus.db", "SELECT url, via FROM captures WHERE is_transcript = 1")
            if u == url}
    assert vias == {None, world.archive}  # today's page live, and the owed copy from the archive
    assert rows(out / "state.db", "SELECT count(*) FROM frontier WHERE url LIKE '%id_/%'") == [(0,)]


# -- the component on its own: what an archive's index may and may not add -----------------------

SITE = "http://127.0.0.1:8001"
ARCHIVE = "http://127.0.0.1:8009/coll"
WAYBACK_HEAD = ["urlkey", "timestamp", "original", "mimetype", "statuscode", "digest", "length"]


def component():
    from conftest import project_crawler
    from stenogram.crawler.discover import ArchiveDiscovery
    from stenogram.crawler.spiders.mid import MidSpider

    crawler = project_crawler(MidSpider, DISCOVER_FROM=ARCHIVE)
    spider = MidSpider.from_crawler(crawler, base_url=SITE)
    crawler.spider = spider
    crawler.stats.open_spider()
    mw = ArchiveDiscovery.from_crawler(crawler)
    mw.spider_opened(spider)
    return spider, mw, crawler.stats


def cdx_answer(originals, resume_key=None):
    from scrapy.http import Request, TextResponse

    rows = [WAYBACK_HEAD] + [["k", ts, original, "text/html", "200", "D" + ts, "100"] for ts, original in originals]
    if resume_key:
        rows += [[], [resume_key]]
    url = f"{ARCHIVE}/cdx?url=x"
    return TextResponse(url, body=json.dumps(rows).encode(), request=Request(url),
                        headers={"Content-Type": "application/json"})


def test_a_hostile_index_adds_only_article_urls_of_the_site():
    spider, _, stats = component()
    answer = cdx_answer([
        ("20190101000000", f"{SITE}/en/foreign_policy/news/1/"),
        ("20200101000000", f"{SITE}/en/foreign_policy/news/1"),  # newer capture, no slash
        ("20190101000000", "https://www.mid.ru/en/foreign_policy/news/2/?lang=ru"),  # the live host
        ("20190101000000", "javascript:alert(1)//127.0.0.1:8001/en/foreign_policy/news/3/"),
        ("20190101000000", "http://127.0.0.2:8001/en/foreign_policy/news/4/"),
        ("20190101000000", "http://evil.example/en/foreign_policy/news/5/"),
        ("20190101000000", "ftp://127.0.0.1:8001/en/foreign_policy/news/6/"),
        ("20190101000000", f"{SITE}/en/foreign_policy/news/"),  # the listing page
    ], resume_key="k 20190101000000!")
    out = list(spider.parse_archive_index(answer, prefix="/en/foreign_policy/news/"))
    live = {r.url: r for r in out if r.callback == spider.parse_discovered}
    assert set(live) == {f"{SITE}/en/foreign_policy/news/1/", f"{SITE}/en/foreign_policy/news/2/"}
    assert live[f"{SITE}/en/foreign_policy/news/1/"].cb_kwargs["timestamp"] == "20200101000000"
    assert all(r.errback == spider.discovered_failed and r.meta["depth_reset"] for r in live.values())
    (following,) = [r for r in out if r.callback == spider.parse_archive_index]
    assert following.meta["dont_obey_robotstxt"] and following.url.startswith(f"{ARCHIVE}/cdx?")
    assert stats.get_value("stenogram/discover/off_site") == 4
    assert stats.get_value("stenogram/discover/not_article") == 1


@settings(max_examples=80, deadline=None)
@given(st.lists(st.one_of(st.text(max_size=60),
                          st.builds(lambda scheme, host, path: f"{scheme}://{host}{path}",
                                    st.sampled_from(["http", "https", "ftp", "javascript", "file"]),
                                    st.sampled_from(["127.0.0.1:8001", "mid.ru", "www.mid.ru", "127.0.0.2:8001",
                                                     "127.0.0.1:8002", "user@127.0.0.1:8001", "[::1]:8001"]),
                                    st.sampled_from(["/en/foreign_policy/news/7/", "/ru/foreign_policy/news/8",
                                                     "/en/x/", "//127.0.0.1:8001/en/foreign_policy/news/9/"]))),
                max_size=8))
def test_property_every_url_the_index_adds_is_on_the_site(originals):
    spider, _, _ = component()
    answer = cdx_answer([("20190101000000", o) for o in originals])
    for request in spider.parse_archive_index(answer, prefix="/en/foreign_policy/news/"):
        if request.callback == spider.parse_discovered:
            assert request.url.startswith(SITE + "/") and MID_ARTICLE.match(request.url[len(SITE):])


MID_ARTICLE = re.compile(r"^/(en|ru)/(foreign_policy/news|press_service/minister_speeches)/\d+/$")


def test_a_refused_live_page_is_asked_of_the_archive():
    from scrapy.exceptions import IgnoreRequest
    from scrapy.http import HtmlResponse, Request
    from twisted.python.failure import Failure

    from stenogram.crawler.recrawl import NotModified

    spider, _, stats = component()
    url = f"{SITE}/en/foreign_policy/news/1/"
    request = Request(url, callback=spider.parse_discovered, errback=spider.discovered_failed,
                      cb_kwargs={"original": "https://www.mid.ru/en/foreign_policy/news/1",
                                 "timestamp": "20190101000000"})
    for status in (403, 404, 410, 451):
        (copy,) = spider.parse_discovered(HtmlResponse(url, status=status, request=request), **request.cb_kwargs)
        assert copy.url == f"{ARCHIVE}/20190101000000id_/https://www.mid.ru/en/foreign_policy/news/1"
        assert copy.callback == spider.parse_archived_copy and copy.meta["dont_obey_robotstxt"]
        assert copy.cb_kwargs == {"url": url, "timestamp": "20190101000000"}
    page = HtmlResponse(url, status=200, request=request, body=b"<html><body><p>text</p></body></html>")
    assert [type(x).__name__ for x in spider.parse_discovered(page, **request.cb_kwargs)] == ["TranscriptPage"]

    def failed(exc):
        failure = Failure(exc)
        failure.request = request
        return list(spider.discovered_failed(failure))

    assert [r.callback for r in failed(IgnoreRequest("interstitial tspd: gave up after 6 answers"))] == \
        [spider.parse_archived_copy]
    assert failed(NotModified("304")) == [] and failed(IgnoreRequest("not due")) == []
    assert stats.get_value("stenogram/discover/from_archive") == 5
    assert stats.get_value("stenogram/discover/from_archive/wall") == 1


def test_the_archive_copy_stands_for_the_live_url():
    from scrapy.http import HtmlResponse, Request

    spider, _, _ = component()
    url = f"{SITE}/en/foreign_policy/news/1/"
    replay = f"{ARCHIVE}/20190101000000id_/http://www.mid.ru/en/foreign_policy/news/1"
    request = Request(replay, callback=spider.parse_archived_copy,
                      cb_kwargs={"url": url, "timestamp": "20190101000000"})
    response = HtmlResponse(replay, status=200, request=request, headers={
        "Memento-Datetime": "Tue, 01 Jan 2019 00:00:05 GMT",
        # a hostile archive's Link header does not decide what the page stands for
        "Link": '<javascript:alert(1)//mid.ru/en/foreign_policy/news/1/>; rel="original"'},
        body=b'<html><body><a href="/en/foreign_policy/news/2/">next</a></body></html>')
    facts = spider.provenance(request, response)
    assert facts == {"x-stenogram-original-url": url, "x-stenogram-original-date": "2019-01-01T00:00:05Z",
                     "x-stenogram-archive": ARCHIVE, "x-stenogram-source": "mid"}
    (item,) = spider.parse_archived_copy(response, **request.cb_kwargs)
    assert (item["url"], item["archived_at"], item["via"]) == (url, "2019-01-01T00:00:05Z", ARCHIVE)
    assert item["outlinks"] == [f"{SITE}/en/foreign_policy/news/2/"]  # against the original, not the archive
    # the site's own pages carry no provenance
    live = HtmlResponse(url, status=200, request=Request(url, callback=spider.parse_article))
    assert spider.provenance(live.request, live) is None


def test_a_listing_that_does_not_advance_stops_with_one_line(caplog):
    """New resume keys over pages that name nothing new (or nothing): paging stops, counted."""
    import logging

    spider, _, stats = component()
    page = [("20190101000000", f"{SITE}/en/foreign_policy/news/1/"),
            ("20190101000000", f"{SITE}/en/foreign_policy/news/2/")]
    first = list(spider.parse_archive_index(cdx_answer(page, resume_key="a 1!"), prefix="/p/"))
    assert [r for r in first if r.callback == spider.parse_archive_index]
    with caplog.at_level(logging.WARNING):
        again = list(spider.parse_archive_index(cdx_answer(page, resume_key="a 2!"), prefix="/p/"))
        empty = list(spider.parse_archive_index(cdx_answer([], resume_key="a 3!"), prefix="/p/"))
    assert not [r for r in again + empty if r.callback == spider.parse_archive_index]
    assert stats.get_value("stenogram/discover/cdx_stalled") == 2
    assert len([r for r in caplog.records if "not paging further" in r.getMessage()]) == 2
    # another listing (prefix) is its own
    other = list(spider.parse_archive_index(cdx_answer(page, resume_key="b 1!"), prefix="/q/"))
    assert [r for r in other if r.callback == spider.parse_archive_index]
