"""stenogram.crawler.replay: a real Scrapy crawl served from a WARC (and a WACZ) instead of the network."""
from __future__ import annotations

import gzip
import json
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from stenogram.crawler.replay import ReplayIndex, replay_settings
from stenogram.archive.wacz import build_wacz
from test_reader import EN_TEXT, RU_TEXT, chunk, html_page, write_exchange

ROOT = Path(__file__).resolve().parents[1]
START = "https://mid.ru/en/foreign_policy/news/"  # recorded as a 302 to LISTING
LISTING = "https://mid.ru/en/foreign_policy/news/?lang=en"
EN = "https://mid.ru/en/foreign_policy/news/1975643/"
RU = "http://en.interaffairs.ru/lavrov/1234-lavrov.html"
OLD = "https://mid.ru/en/foreign_policy/news/1975643"
MISSING = "https://mid.ru/en/foreign_policy/news/9999999/"


def make_crawl_warc(path: Path) -> None:
    listing = (f'<html><body><ul><li><a href="{OLD}">Remarks</a></li>'
               f'<li><a href="{RU}">Лавров</a></li><li><a href="{MISSING}">gone</a></li></ul></body></html>')
    with open(path, "wb") as fh:
        w = WARCWriter(fh, gzip=True, warc_version="1.1")
        write_exchange(w, START, "302 Found", [("Location", LISTING), ("Content-Length", "0")], b"",
                       "2024-04-12T15:37:00Z")
        write_exchange(w, LISTING, "200 OK", [("Content-Type", "text/html; charset=utf-8"),
                                              ("Transfer-Encoding", "chunked")],
                       chunk(listing.encode()), "2024-04-12T15:37:30Z")
        write_exchange(w, OLD, "301 Moved Permanently", [("Location", EN), ("Content-Length", "0")],
                       b"", "2024-04-12T15:37:59Z")
        # an older capture with other text: the latest one must be served
        write_exchange(w, EN, "200 OK", [("Content-Type", "text/html; charset=UTF-8"), ("Content-Encoding", "gzip")],
                       gzip.compress(html_page("Remarks", "an older version").encode()), "2024-01-01T00:00:00Z")
        en = write_exchange(w, EN, "200 OK", [("Content-Type", "text/html; charset=UTF-8"),
                                              ("Content-Encoding", "gzip")],
                            gzip.compress(html_page("Remarks", EN_TEXT).encode()), "2024-04-12T15:38:00Z")
        write_exchange(w, RU, "200 OK", [("Content-Type", "text/html; charset=windows-1251")],
                       html_page("Лавров", RU_TEXT, "windows-1251").encode("cp1251"), "2024-04-12T15:39:00Z")
        w.write_record(w.create_revisit_record(
            "https://www.mid.ru/en/foreign_policy/news/1975643/?b=2&a=1",
            digest=en.rec_headers.get_header("WARC-Payload-Digest"), refers_to_uri=EN,
            refers_to_date="2024-04-12T15:38:00Z",
            http_headers=StatusAndHeaders("304 Not Modified", [], protocol="HTTP/1.1"),
            warc_headers_dict={"WARC-Date": "2024-05-01T00:00:00Z",
                               "WARC-Refers-To": en.rec_headers.get_header("WARC-Record-ID")}))


SPIDER = textwrap.dedent('''
    import json, os
    import scrapy

    class ReplaySpider(scrapy.Spider):
        name = "replay"
        custom_settings = dict(json.loads(os.environ["REPLAY_SETTINGS"]),
                               ROBOTSTXT_OBEY=True, TELNETCONSOLE_ENABLED=False,
                               HTTPERROR_ALLOWED_CODES=[404], LOG_LEVEL="INFO",
                               CLOSESPIDER_TIMEOUT=60)
        start_urls = [os.environ["START"]]

        def parse(self, response):
            warc = response.meta.get("warc")
            yield {"url": response.url, "status": response.status, "flags": response.flags,
                   "warc": warc.to_dict() if warc else None, "warc_date": response.meta.get("warc_date"),
                   "redirects": response.meta.get("redirect_urls", []),
                   "title": response.css("title::text").get(),
                   "text": " ".join(response.css("p::text").getall()) if response.status == 200 else ""}
            if response.status == 200:
                for href in response.css("li a::attr(href)").getall():
                    yield response.follow(href, self.parse)
''')


def run_replay_crawl(tmp_path: Path, sources: list[Path]) -> dict:
    (tmp_path / "spider.py").write_text(SPIDER)
    env = dict(os.environ, PYTHONPATH=str(ROOT), START=START,
               REPLAY_SETTINGS=json.dumps(replay_settings(sources)))
    out = tmp_path / "items.jsonl"
    proc = subprocess.run(
        [sys.executable, "-m", "scrapy", "runspider", "spider.py", "-O", str(out)],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    items = [json.loads(l) for l in out.read_text().splitlines()]
    return {"items": {i["url"]: i for i in items}, "log": proc.stderr}


def test_scrapy_crawl_replays_from_warc(tmp_path):
    warc = tmp_path / "crawl.warc.gz"
    make_crawl_warc(warc)
    got = run_replay_crawl(tmp_path, [warc])
    items, log = got["items"], got["log"]
    # redirect replayed as recorded, chunked listing decoded
    assert items[LISTING]["redirects"] == [START]
    # gzip page decoded by HttpCompressionMiddleware; latest capture served
    assert EN_TEXT in items[EN]["text"] and items[EN]["redirects"] == [OLD]
    assert "replayed" in items[EN]["flags"]
    # windows-1251 page decoded by the response's declared charset
    assert RU_TEXT in items[RU]["text"] and items[RU]["title"] == "Лавров"
    # a URL never archived is a miss: no response at all (nothing made up), logged and counted
    assert MISSING not in items
    assert f"replay miss: {MISSING} is not in the archive" in log
    assert "'replay/hit': 5" in log and "'replay/miss': 3" in log  # + two robots.txt
    assert "downloader/request_count" in log
    # nothing was waited for: no download delay, no autothrottle
    assert "'replay/hit':" in log and "AutoThrottle" not in log.split("Enabled extensions")[1].split("]")[0]
    # every item points at the record it was served from, in the archive it came from
    from warcio.archiveiterator import ArchiveIterator
    for url in (EN, RU, LISTING):
        loc = items[url]["warc"]
        assert loc["warc_file"] == "crawl.warc.gz"
        with open(warc, "rb") as fh:
            fh.seek(loc["warc_offset"])
            it = ArchiveIterator(fh)
            record = next(it)
            assert record.rec_headers.get_header("WARC-Record-ID") == loc["warc_record_id"]
            assert record.rec_headers.get_header("WARC-Target-URI") == url
            assert record.rec_headers.get_header("WARC-Date") == items[url]["warc_date"]
            it.read_to_end(record)
            assert it.get_record_length() == loc["warc_length"]
    assert items[EN]["warc_date"] == "2024-04-12T15:38:00Z"  # the latest capture's


def test_scrapy_crawl_replays_from_wacz(tmp_path):
    warc_dir = tmp_path / "w"
    warc_dir.mkdir()
    make_crawl_warc(warc_dir / "crawl.warc.gz")
    wacz = tmp_path / "crawl.wacz"
    build_wacz([warc_dir], wacz)
    got = run_replay_crawl(tmp_path, [wacz])
    assert EN_TEXT in got["items"][EN]["text"]
    assert RU_TEXT in got["items"][RU]["text"]
    # the location is the record's in the WARC inside the WACZ (named as the crawl named it)
    loc = got["items"][EN]["warc"]
    assert loc["warc_file"] == "crawl.warc.gz"
    plain = ReplayIndex([warc_dir / "crawl.warc.gz"]).lookup(EN).location
    assert (loc["warc_offset"], loc["warc_length"], loc["warc_record_id"]) == (
        plain.warc_offset, plain.warc_length, plain.warc_record_id)


def test_index_lookup_surt_revisit_and_time(tmp_path):
    warc = tmp_path / "crawl.warc.gz"
    make_crawl_warc(warc)
    index = ReplayIndex([tmp_path])
    assert index.errors == 0
    latest = index.lookup("http://www.MID.ru/en/foreign_policy/news/1975643/?a=1&b=2")
    assert latest.rec_type == "revisit" and latest.timestamp == "20240501000000"
    http, payload = index.read(index.original_of(latest))
    assert EN_TEXT.encode() in gzip.decompress(payload)
    assert index.lookup(EN, at="20240102").timestamp == "20240101000000"
    assert index.lookup(EN, at="20240412153801").timestamp == "20240412153800"
    assert index.lookup(MISSING) is None


def test_replay_from_must_exist(tmp_path):
    with pytest.raises(FileNotFoundError):
        ReplayIndex([tmp_path / "nope.warc.gz"])


# ---------------------------------------------------------------- the demo, replayed by the CLI
STENOGRAM = Path(sys.executable).parent / "stenogram"


def stenogram(*args) -> subprocess.CompletedProcess:
    return subprocess.run([str(STENOGRAM), *map(str, args)], capture_output=True, text=True,
                          timeout=300, cwd=ROOT)


def document_hashes(db: Path) -> set[str]:
    import hashlib
    import sqlite3

    con = sqlite3.connect(db)
    try:
        return {hashlib.sha1(text.encode()).hexdigest()
                for (text,) in con.execute("SELECT text FROM documents")}
    finally:
        con.close()


def warc_files(out: Path) -> list[Path]:
    return sorted(out.rglob("*.warc*"))


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    """A demo crawl of the sample site and its WACZ (what the README's example replays)."""
    d = tmp_path_factory.mktemp("demo")
    proc = stenogram("demo", "--data", d / "data", "--size", "6")
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    base_urls = dict(re.findall(r"sample site: (\w+)\s+(http://127\.0\.0\.1:\d+)", proc.stdout))
    assert len(base_urls) == 4, proc.stdout
    proc = stenogram("wacz", "--db", d / "data" / "corpus.db", "-o", d / "crawl.wacz", d / "data" / "warc")
    assert proc.returncode == 0, proc.stderr[-2000:]
    hashes = document_hashes(d / "data" / "corpus.db")
    assert len(hashes) >= 10
    return d, base_urls, hashes


def crawl_log(out: Path) -> str:
    """Scrapy's log of a `stenogram crawl` (it goes to DATA/logs/, not the terminal)."""
    return "".join(p.read_text() for p in sorted((Path(out) / "logs").glob("*.log")))


def test_replay_of_demo_wacz_with_its_base_urls_gives_its_documents(demo, tmp_path):
    d, base_urls, hashes = demo
    out = tmp_path / "re"
    args = [f"--base-url={source}={url}" for source, url in base_urls.items()]
    proc = stenogram("crawl", *args, "--replay", d / "crawl.wacz", "--out", out)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert document_hashes(out / "corpus.db") == hashes
    assert warc_files(out) == []  # nothing archived again, no record made up
    assert "no WARC record" not in proc.stderr + crawl_log(out)


def test_replay_of_demo_wacz_with_live_base_urls_maps_them(demo, tmp_path):
    d, _, hashes = demo
    out = tmp_path / "re"
    proc = stenogram("crawl", "--replay", d / "crawl.wacz", "--out", out)  # the README's example
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert document_hashes(out / "corpus.db") == hashes
    assert warc_files(out) == []
    assert "'replay/mapped':" in crawl_log(out)  # Scrapy's stats dump, in DATA/logs/<crawl id>.log
    report = " ".join(proc.stdout.split())
    assert re.search(r"Replayed from the archive: [1-9][0-9]* served \([1-9][0-9]* found by path"
                     r" under the archive's base URLs\), 0 not in the archive", report), report
    # every capture points at a record of the demo's WARCs, at the offset it has there
    import sqlite3

    from warcio.archiveiterator import ArchiveIterator

    con = sqlite3.connect(out / "corpus.db")
    rows = con.execute("SELECT warc_file, warc_offset, warc_record_id FROM captures").fetchall()
    con.close()
    assert rows
    for warc_file, offset, record_id in rows:
        with open(d / "data" / "warc" / warc_file, "rb") as fh:
            fh.seek(offset)
            record = next(iter(ArchiveIterator(fh)))
            assert record.rec_headers.get_header("WARC-Record-ID") == record_id


def test_replay_that_finds_nothing_fails(demo, tmp_path):
    """A spider whose site is not in the archive: every request a counted miss, exit 1."""
    d, _, _ = demo
    (other,) = [w for w in (d / "data" / "warc").glob("*.warc.gz")
                if b"spider: interaffairs" in gzip.open(w).read(4096)]
    out = tmp_path / "re"
    proc = stenogram("crawl", "mid", "--replay", other, "--out", out)
    assert proc.returncode == 1, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "replay miss: " in proc.stderr
    assert "none of the" in proc.stderr and "is in the archive" in proc.stderr
    assert re.search(r"Replayed from the archive: 0 served \(0 found by path under the archive's "
                     r"base URLs\), [1-9][0-9]* not in the archive", " ".join(proc.stdout.split()))
    assert warc_files(out) == []


def test_a_304_revisit_is_replayed_as_reprocess_reads_it(tmp_path):
    """A ``server-not-modified`` revisit (the 304's own head) is served as ``stenogram
    reprocess`` reads the same record: status 304, the original's ``Content-Type`` (the 304 does
    not repeat it) and body. --replay used to say 200 and drop the Content-Type."""
    import asyncio

    from scrapy import Request
    from scrapy.utils.test import get_crawler

    from stenogram.archive.reader import iter_captures
    from stenogram.crawler.replay import WarcReplayDownloadHandler

    warc = tmp_path / "crawl.warc.gz"
    make_crawl_warc(warc)
    [reprocessed] = [c for c in iter_captures([warc]) if c.fetched_at == "2024-05-01T00:00:00Z"]
    assert (reprocessed.http_status, reprocessed.content_type) == (304, "text/html; charset=UTF-8")

    handler = WarcReplayDownloadHandler(get_crawler(settings_dict=replay_settings([warc])))
    response = asyncio.run(handler.download_request(Request(reprocessed.url)))
    assert response.meta["warc_date"] == "2024-05-01T00:00:00Z"  # the revisit was served
    assert response.status == reprocessed.http_status
    assert response.headers.get("Content-Type").decode() == reprocessed.content_type
    assert gzip.decompress(response.body).decode() == reprocessed.body.decode()
    # what CorpusPipeline.not_modified then ingests: the capture reprocess makes, by its code,
    # whether the record is in a WARC file or in a WACZ (its stored member)
    from stenogram.archive.reader import revisit_capture_at

    assert response.meta["replayed_capture"] == reprocessed
    assert revisit_capture_at(tmp_path, response.meta["warc"], response.meta["warc_revisit_of"]) == reprocessed
    # a full capture is served as recorded, as before
    earlier = asyncio.run(handler.download_request(Request(RU)))
    assert earlier.status == 200 and earlier.headers.get("Content-Type") == b"text/html; charset=windows-1251"


def test_a_304_revisit_replayed_from_a_wacz_is_the_capture_reprocess_makes(tmp_path):
    """The same 304 revisit, replayed from a WACZ: the capture the corpus pipeline ingests is the
    one reprocess makes of the WARC inside it (the record's own WARC file name and offset)."""
    import asyncio

    from scrapy import Request
    from scrapy.utils.test import get_crawler

    from stenogram.archive.reader import iter_captures
    from stenogram.crawler.replay import WarcReplayDownloadHandler

    warc_dir = tmp_path / "w"
    warc_dir.mkdir()
    make_crawl_warc(warc_dir / "crawl.warc.gz")
    wacz = tmp_path / "crawl.wacz"
    build_wacz([warc_dir], wacz)
    [reprocessed] = [c for c in iter_captures([warc_dir]) if c.http_status == 304]

    handler = WarcReplayDownloadHandler(get_crawler(settings_dict=replay_settings([wacz])))
    response = asyncio.run(handler.download_request(Request(reprocessed.url)))
    assert response.status == 304
    assert response.meta["replayed_capture"] == reprocessed
