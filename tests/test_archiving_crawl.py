"""A real Scrapy crawl of a local test server with the WarcArchiver extension.

The crawl runs in a subprocess (Twisted's reactor cannot be restarted in one process);
the server runs in a thread of the test process on 127.0.0.1 only.
"""
from __future__ import annotations

import gzip
import json
import subprocess
import sys
import textwrap
import threading
from http.server import ThreadingHTTPServer
from pathlib import Path

import pytest
from warcio.archiveiterator import ArchiveIterator

from conftest import LoopbackHandler
from stenogram.archive.digests import digest_of

pytestmark = pytest.mark.network

BIN = Path(sys.executable).parent
PAGE = ("<html><head><title>Foreign Minister Sergey Lavrov’s remarks, Moscow, April 12, 2024"
        "</title></head><body><div class='text article-content'><p>Sergey Lavrov: Good "
        "afternoon.</p></div></body></html>").encode("utf-8")
GZIPPED = gzip.compress(PAGE, mtime=0)
BIG = b"<html><body>" + b"<p>Question: ...</p>" * 15000 + b"</body></html>"
MAX_RECORD_BODY = 100_000


class Handler(LoopbackHandler):
    def do_GET(self):
        path = self.path
        html = [("Content-Type", "text/html; charset=utf-8")]
        if path == "/robots.txt":
            self._send(200, b"User-agent: *\nDisallow: /private\n", [("Content-Type", "text/plain")])
        elif path == "/gzip":
            self._send(200, GZIPPED, html + [("Content-Encoding", "gzip"), ("Vary", "Accept-Encoding")])
        elif path == "/chunked":
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            for piece in (PAGE[:50], PAGE[50:]):
                self.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece))
            self.wfile.write(b"0\r\n\r\n")
        elif path == "/cookies":
            self._send(200, b"<html>cookies</html>", html + [
                ("Set-Cookie", "BITRIX_SM_GUEST_ID=42; path=/"),
                ("Set-Cookie", "PHPSESSID=s3ss10n; path=/; HttpOnly")])
        elif path.startswith("/search?"):
            self._send(200, b"<html>results for " + path.encode() + b"</html>", html)
        elif path == "/r1":
            self._send(302, b"", [("Location", "/r2")])
        elif path == "/r2":
            self._send(301, b"", [("Location", "/final")])
        elif path == "/final":
            self._send(200, b"<html>final</html>", html)
        elif path == "/big":
            self._send(200, BIG, html)
        else:
            self._send(404, b"<html>not found</html>", html)


SPIDER_SCRIPT = textwrap.dedent("""
    import json, sys
    import scrapy
    from scrapy.crawler import CrawlerProcess
    from stenogram.crawler import settings as project
    from stenogram.crawler.archiving import WarcArchiver

    base, warc_dir, out = sys.argv[1], sys.argv[2], sys.argv[3]
    seen = []

    class ThrowawaySpider(scrapy.Spider):
        name = "throwaway"
        start_urls = [base + p for p in ("/gzip", "/chunked", "/cookies",
                      "/search?q=lavrov&page=2", "/r1", "/missing", "/big")]

        def parse(self, response):
            loc = response.meta.get("warc")
            ext = self.crawler.get_extension(WarcArchiver)
            meta = ext.write_metadata(response.meta["warc"], response.url, {"outlink": [base + "/x", base + "/y"]})
            seen.append({"url": response.url, "status": response.status,
                         "warc": loc.to_dict() if loc else None,
                         "revisit_of": (response.meta["warc_revisit_of"].to_dict()
                                        if "warc_revisit_of" in response.meta else None),
                         "metadata": meta.to_dict() if meta else None,
                         "text_ok": b"Sergey Lavrov" in response.body})

    process = CrawlerProcess({  # stock Scrapy plus the archive, with the project's defaults for it
        **{name: getattr(project, name) for name in dir(project) if name.startswith(("WARC_", "STENOGRAM_"))},
        "ROBOTSTXT_OBEY": True, "HTTPERROR_ALLOW_ALL": True, "TELNETCONSOLE_ENABLED": False,
        "LOG_LEVEL": "INFO", "DOWNLOAD_TIMEOUT": 10, "CLOSESPIDER_TIMEOUT": 60,
        "RETRY_ENABLED": False, "COOKIES_ENABLED": True, "USER_AGENT": "stenogram-test/0.1",
        "EXTENSIONS": {"stenogram.crawler.archiving.WarcArchiver": 100},
        "WARC_DIR": warc_dir, "WARC_PREFIX": "crawltest", "WARC_MAX_RECORD_BODY": %d,
        "STENOGRAM_CRAWL_ID": "test-crawl", "STENOGRAM_OPERATOR": "pytest",
    })
    crawler = process.create_crawler(ThrowawaySpider)
    process.crawl(crawler)
    process.start()
    stats = {k: v for k, v in crawler.stats.get_stats().items() if isinstance(v, (int, str))}
    json.dump({"items": seen, "stats": stats}, open(out, "w"))
""") % MAX_RECORD_BODY


@pytest.fixture(scope="module")
def server():
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def run_crawl(base, warc_dir, out):
    proc = subprocess.run([sys.executable, "-c", SPIDER_SCRIPT, base, str(warc_dir), str(out)],
                          capture_output=True, text=True, timeout=80,
                          cwd=Path(__file__).resolve().parents[1])
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(Path(out).read_text()), proc.stderr


def read_all(warc_dir):
    recs = []
    for path in sorted(Path(warc_dir).glob("*.warc.gz")):
        with open(path, "rb") as fh:
            it = ArchiveIterator(fh)
            for record in it:
                payload = (record.raw_stream.read() if record.http_headers
                           else record.content_stream().read())
                # get_record_offset() reads the record to its end: payload first
                recs.append({
                    "file": path.name, "offset": it.get_record_offset(),
                    "type": record.rec_type, "h": record.rec_headers, "http": record.http_headers,
                    "payload": payload})
    return recs


@pytest.fixture(scope="module")
def crawls(server, tmp_path_factory):
    warc_dir = tmp_path_factory.mktemp("warc")
    first, log1 = run_crawl(server, warc_dir, warc_dir.parent / "first.json")
    first_records = read_all(warc_dir)
    second, log2 = run_crawl(server, warc_dir, warc_dir.parent / "second.json")
    return warc_dir, first, first_records, second, read_all(warc_dir)


def responses(recs, url, rec_type="response"):
    return [r for r in recs if r["type"] == rec_type and r["h"].get_header("WARC-Target-URI") == url]


def test_gzip_page_stored_encoded_with_correct_digests(crawls, server):
    _, first, recs, _, _ = crawls
    [resp] = responses(recs, server + "/gzip")
    assert resp["payload"] == GZIPPED
    assert resp["http"].get_header("Content-Encoding") == "gzip"
    assert resp["h"].get_header("WARC-Payload-Digest") == digest_of(GZIPPED)
    head = resp["http"].to_str().encode("latin-1") + b"\r\n"
    assert resp["h"].get_header("WARC-Block-Digest") == digest_of(head, GZIPPED)
    assert resp["h"].get_header("WARC-IP-Address") == "127.0.0.1"
    item = [i for i in first["items"] if i["url"] == server + "/gzip"][0]
    assert item["text_ok"]  # the spider still got the decoded page
    assert item["warc"]["warc_offset"] == resp["offset"] and item["warc"]["warc_file"] == resp["file"]
    assert item["warc"]["warc_record_id"] == resp["h"].get_header("WARC-Record-ID")


def test_request_records(crawls, server):
    _, _, recs, _, _ = crawls
    url = server + "/search?q=lavrov&page=2"
    [req] = responses(recs, url, "request")
    assert req["http"].protocol == "GET"
    assert req["http"].statusline == "/search?q=lavrov&page=2 HTTP/1.1"
    assert req["http"].get_header("Host") == server.split("//")[1]
    assert req["http"].get_header("User-Agent") == "stenogram-test/0.1"
    [resp] = responses(recs, url)
    assert req["h"].get_header("WARC-Concurrent-To") == resp["h"].get_header("WARC-Record-ID")


def test_headers_fidelity(crawls, server):
    _, _, recs, _, _ = crawls
    [cookies] = responses(recs, server + "/cookies")
    assert [v for k, v in cookies["http"].headers if k.lower() == "set-cookie"] == [
        "BITRIX_SM_GUEST_ID=42; path=/", "PHPSESSID=s3ss10n; path=/; HttpOnly"]
    [chunked] = responses(recs, server + "/chunked")
    assert chunked["payload"] == PAGE
    # Twisted keeps Transfer-Encoding among connection headers Scrapy never sees (and Scrapy
    # synthesises Content-Length), so the stored head is the de-chunked body's framing only;
    # the writer's rename to X-Archive-Orig-Transfer-Encoding is unit-tested separately.
    assert chunked["http"].get_header("Transfer-Encoding") is None
    assert chunked["http"].get_header("Content-Length") == str(len(PAGE))


def test_every_exchange_archived(crawls, server):
    _, first, recs, _, _ = crawls
    statuses = {url: [r["http"].get_statuscode() for r in responses(recs, server + url)]
                for url in ("/robots.txt", "/r1", "/r2", "/final", "/missing", "/big")}
    assert statuses == {"/robots.txt": ["200"], "/r1": ["302"], "/r2": ["301"],
                        "/final": ["200"], "/missing": ["404"], "/big": ["200"]}
    [big] = responses(recs, server + "/big")
    assert big["h"].get_header("WARC-Truncated") == "length"
    assert len(big["payload"]) == MAX_RECORD_BODY
    assert recs[0]["type"] == "warcinfo"
    assert b"operator: pytest" in recs[0]["payload"] and b"robots: obey" in recs[0]["payload"]
    metas = [r for r in recs if r["type"] == "metadata"]
    assert len(metas) == len(first["items"])
    by_id = {r["h"].get_header("WARC-Record-ID"): r for r in recs}
    for meta in metas:  # one capture event with the response it describes
        described = by_id[meta["h"].get_header("WARC-Concurrent-To")]
        assert meta["h"].get_header("WARC-Date") == described["h"].get_header("WARC-Date")
        assert meta["h"].get_header("WARC-Payload-Digest") is None
    stats = first["stats"]
    [warc] = {r["file"] for r in recs}
    assert stats["warc/records"] == len(recs) and stats["warc/files"] == 1
    assert stats["warc/bytes"] == (Path(crawls[0]) / warc).stat().st_size
    assert stats.get("warc/revisits", 0) == 0


def test_recrawl_writes_revisits(crawls, server):
    warc_dir, first, first_recs, second, recs = crawls
    assert len(list(Path(warc_dir).glob("*.warc.gz"))) == 2
    [orig] = responses(first_recs, server + "/gzip")
    [rev] = responses(recs, server + "/gzip", "revisit")
    assert rev["h"].get_header("WARC-Refers-To") == orig["h"].get_header("WARC-Record-ID")
    assert rev["h"].get_header("WARC-Payload-Digest") == digest_of(GZIPPED)
    assert rev["h"].get_header("WARC-Profile").endswith("/revisit/identical-payload-digest")
    assert rev["payload"] == b""
    item = [i for i in second["items"] if i["url"] == server + "/gzip"][0]
    assert item["revisit_of"]["warc_record_id"] == orig["h"].get_header("WARC-Record-ID")
    assert item["text_ok"]
    assert len(responses(recs, server + "/robots.txt", "revisit")) == 1
    # a truncated capture is never a revisit target; redirects (empty bodies) are not either
    assert len(responses(recs, server + "/big")) == 2
    assert len(responses(recs, server + "/r1")) == 2
    assert second["stats"]["warc/revisits"] >= 5


def test_warcio_check_and_live_index_on_every_file(crawls):
    warc_dir = crawls[0]
    for path in Path(warc_dir).glob("*.warc.gz"):
        check = subprocess.run([str(BIN / "warcio"), "check", str(path)], capture_output=True,
                               text=True, timeout=60)
        assert check.returncode == 0, check.stdout
        indexed = subprocess.run([str(BIN / "cdxj-indexer"), "--sort", str(path)],
                                 capture_output=True, text=True, timeout=60, check=True).stdout
        live = path.with_name(path.name[: -len(".warc.gz")] + ".cdxj").read_text()
        assert live == indexed  # sorted on close: byte for byte `stenogram index`
    assert not list(Path(warc_dir).glob("*.open"))


def test_scrapy_messages_flattened_once_into_heads():
    """The extension hands Scrapy's headers (or the wire head) to the record heads as they
    are; the blocks are what the flattened pairs give, repeated headers and order kept, and a
    bodiless POST says ``Content-Length: 0`` first."""
    from scrapy.http import Request, Response

    from stenogram.archive.http_blocks import header_pairs, request_head, response_head
    from stenogram.crawler.archiving import WarcArchiver

    url = "http://127.0.0.1:8000/search?q=1"
    sent = {"User-Agent": "stenogram-test", "Accept-Encoding": "gzip, deflate",
            "Cookie": ["a=1", "b=2"]}
    for method, body, first in (("GET", b"", None), ("POST", b"", ("Content-Length", "0")),
                                ("POST", b"q=1", ("Content-Length", "3"))):
        request = Request(url, method=method, body=body, headers=sent)
        head = request_head(WarcArchiver.archived_request(request))
        assert (head.headers[0] if first else None) == first
        assert [h for h in head.headers if h[0] not in ("Content-Length", "Host")] == \
            header_pairs(request.headers)
        head.compute_headers_buffer()
        assert head.headers_buff.startswith(f"{method} /search?q=1 HTTP/1.1\r\n".encode())
    got = {"Content-Type": "text/html", "Set-Cookie": ["a=1; path=/", "b=2"]}
    request = Request(url)
    response = Response(url, status=200, headers=got, body=GZIPPED, request=request)
    head = response_head(WarcArchiver.archived_response(response, request), len(GZIPPED))
    assert head.headers == [("Content-Type", "text/html"), ("Set-Cookie", "a=1; path=/"),
                            ("Set-Cookie", "b=2"), ("Content-Length", str(len(GZIPPED)))]
    assert head.statusline == "200 OK"
    request.meta["wire"] = {"status": 200, "reason": "Fine",
                            "headers": [["Set-Cookie", "b=2"], ["Transfer-Encoding", "chunked"],
                                        ["set-cookie", "a=1"]]}
    head = response_head(WarcArchiver.archived_response(response, request), len(GZIPPED))
    assert head.statusline == "200 Fine"
    assert head.headers == [("Set-Cookie", "b=2"), ("X-Archive-Orig-Transfer-Encoding", "chunked"),
                            ("set-cookie", "a=1"), ("Content-Length", str(len(GZIPPED)))]
