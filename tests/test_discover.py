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
