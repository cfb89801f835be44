"""WireHTTP11DownloadHandler: a real Scrapy crawl keeps the reason phrase and connection headers.

The server is a raw http.server on 127.0.0.1 in this process writing exact response heads
(non-standard phrases, chunked framing, mixed-case names, an unexpected 103); the crawl runs
in a subprocess (Twisted's reactor cannot restart) and dumps, for every exchange, what
``response_downloaded`` sees — the moment the archive reads ``request.meta["wire"]``.
"""
from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from stenogram.archive.http_blocks import ArchivedResponse, response_head

REPO = Path(__file__).resolve().parent.parent
HANDLER = "stenogram.crawler.download_handler.WireHTTP11DownloadHandler"

CHUNKED_BODY = b"<html><body>" + b"x" * 5000 + b"</body></html>"


def _chunks(body: bytes, size: int = 1000) -> bytes:
    out = b"".join(b"%x\r\n%s\r\n" % (len(body[i:i + size]), body[i:i + size])
                   for i in range(0, len(body), size))
    return out + b"0\r\n\r\n"


#: path -> the exact bytes the server writes
RESPONSES = {
    "/chunked": (b"HTTP/1.1 200 Fine\r\n"
                 b"Content-Type: text/html; charset=utf-8\r\n"
                 b"X-Mixed-Case: one\r\n"
                 b"Transfer-Encoding: chunked\r\n"
                 b"x-mixed-case: two\r\n"
                 b"\r\n" + _chunks(CHUNKED_BODY)),
    "/gone": (b"HTTP/1.1 404 Gone Fishing\r\n"
              b"Connection: keep-alive\r\n"
              b"Keep-Alive: timeout=5, max=100\r\n"
              b"Content-Type: text/plain\r\n"
              b"Content-Length: 7\r\n"
              b"\r\nfishing"),
    "/early": (b"HTTP/1.1 103 Early Hints\r\n"
               b"Link: </style.css>; rel=preload\r\n"
               b"Connection: upgrade-me-not\r\n"
               b"\r\n"
               b"HTTP/1.1 200 OK\r\n"
               b"Content-Length: 2\r\n"
               b"\r\nok"),
    "/moved": (b"HTTP/1.1 301 Moved Elsewhere\r\n"
               b"Location: /chunked\r\n"
               b"Content-Length: 0\r\n"
               b"\r\n"),
    "/nophrase": (b"HTTP/1.1 200\r\n"
                  b"Content-Length: 3\r\n"
                  b"\r\nraw"),
}


class RawHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def do_GET(self):
        raw = RESPONSES.get(self.path)
        if raw is None:
            raw = b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n"
        self.wfile.write(raw)
        self.wfile.flush()


@pytest.fixture(scope="module")
def raw_server():
    server = ThreadingHTTPServer(("127.0.0.1", 0), RawHandler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1},
                              daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


SPIDER = textwrap.dedent('''
    import json, sys
    import scrapy
    from scrapy import signals
    from scrapy.crawler import CrawlerProcess

    base, out, handler = sys.argv[1], sys.argv[2], sys.argv[3]
    seen = []

    class Probe(scrapy.Spider):
        name = "probe"
        custom_settings = {"HTTPERROR_ALLOW_ALL": True}

        @classmethod
        def from_crawler(cls, crawler, *args, **kwargs):
            spider = super().from_crawler(crawler, *args, **kwargs)
            crawler.signals.connect(spider.downloaded, signal=signals.response_downloaded)
            return spider

        def downloaded(self, response, request, spider):
            seen.append({
                "url": response.url, "status": response.status,
                "headers": {k.decode(): [v.decode("latin-1") for v in vs]
                            for k, vs in response.headers.items()},
                "body_len": len(response.body),
                "wire": request.meta.get("wire"),
            })

        async def start(self):
            for path in ("/chunked", "/gone", "/early", "/moved", "/nophrase"):
                yield scrapy.Request(base + path, dont_filter=True)

        def parse(self, response):
            pass

    settings = {
        "ROBOTSTXT_OBEY": False, "LOG_LEVEL": "WARNING", "TELNETCONSOLE_ENABLED": False,
        "REMOTE_CONTROL_ENABLED": False,
        "TWISTED_REACTOR": "twisted.internet.asyncioreactor.AsyncioSelectorReactor",
        "CONCURRENT_REQUESTS": 1, "DOWNLOAD_TIMEOUT": 10, "RETRY_ENABLED": False,
    }
    if handler:
        settings["DOWNLOAD_HANDLERS"] = {"http": handler, "https": handler}
    process = CrawlerProcess(settings)
    process.crawl(Probe)
    process.start()
    with open(out, "w") as fh:
        json.dump(seen, fh)
''')


def crawl(base: str, tmp_path: Path, handler: str) -> dict[str, dict]:
    """Path -> the last exchange seen for it; ``["hops"]`` keeps every exchange in order."""
    script = tmp_path / "probe.py"
    script.write_text(SPIDER)
    out = tmp_path / f"seen-{bool(handler)}.json"
    proc = subprocess.run([sys.executable, str(script), base, str(out), handler],
                          cwd=REPO, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    seen = json.loads(out.read_text())
    by_path = {entry["url"].removeprefix(base): entry for entry in seen}
    by_path["hops"] = [(entry["url"].removeprefix(base), entry) for entry in seen]
    return by_path


@pytest.fixture(scope="module")
def wired(raw_server, tmp_path_factory):
    return crawl(raw_server, tmp_path_factory.mktemp("wired"), HANDLER)


def test_stock_scrapy_loses_phrase_and_chunking(raw_server, tmp_path):
    """The problem this handler exists for: stock Scrapy keeps neither."""
    seen = crawl(raw_server, tmp_path, "")
    chunked = seen["/chunked"]
    assert chunked["wire"] is None
    assert chunked["body_len"] == len(CHUNKED_BODY)
    assert not any(name.lower() == "transfer-encoding" for name in chunked["headers"])


def test_chunked_response_with_nonstandard_phrase(wired):
    chunked = wired["/chunked"]
    wire = chunked["wire"]
    assert chunked["status"] == 200 and chunked["body_len"] == len(CHUNKED_BODY)
    assert wire["status"] == 200
    assert wire["reason"] == "Fine"
    assert wire["connection_headers"] == [["Transfer-Encoding", "chunked"]]
    # every header line, in wire order, names in their received case
    assert wire["headers"] == [
        ["Content-Type", "text/html; charset=utf-8"],
        ["X-Mixed-Case", "one"],
        ["Transfer-Encoding", "chunked"],
        ["x-mixed-case", "two"],
    ]
    # the body is still de-chunked, exactly as Scrapy's own handler gives it
    assert not any(name.lower() == "transfer-encoding" for name in chunked["headers"])


def test_keep_alive_headers_and_error_phrase(wired):
    gone = wired["/gone"]
    assert gone["status"] == 404
    assert gone["wire"]["reason"] == "Gone Fishing"
    assert gone["wire"]["connection_headers"] == [
        ["Connection", "keep-alive"],
        ["Keep-Alive", "timeout=5, max=100"],
        ["Content-Length", "7"],
    ]
    assert ["Content-Type", "text/plain"] in gone["wire"]["headers"]


def test_unexpected_1xx_head_is_not_mixed_into_the_final_one(wired):
    early = wired["/early"]
    assert early["status"] == 200 and early["body_len"] == 2
    assert early["wire"]["reason"] == "OK"
    assert early["wire"]["headers"] == [["Content-Length", "2"]]
    assert early["wire"]["connection_headers"] == [["Content-Length", "2"]]


def test_each_redirect_hop_has_its_own_head(wired):
    assert wired["/moved"]["wire"]["reason"] == "Moved Elsewhere"
    assert wired["/moved"]["wire"]["status"] == 301
    # the redirected request is a copy of /moved's, meta and all: it must not keep that head
    hops = [path for path, _ in wired["hops"]]
    assert hops.count("/chunked") == 2  # requested directly, and as /moved's target
    assert all(e["wire"]["reason"] == "Fine" for path, e in wired["hops"] if path == "/chunked")


def test_missing_phrase_stays_missing(wired):
    assert wired["/nophrase"]["wire"]["reason"] == ""
    assert wired["/nophrase"]["status"] == 200


def test_wire_head_renders_the_archive_record_truthfully(wired):
    """What crawler/archiving.py writes once it passes the wire head to the writer."""
    chunked = wired["/chunked"]
    wire = chunked["wire"]
    head = response_head(
        ArchivedResponse(url="http://x/chunked", status=200,
                         headers=[tuple(pair) for pair in wire["headers"]],
                         body=b"", reason=wire["reason"]),
        stored_length=chunked["body_len"])
    block = head.to_str()
    assert block.startswith("HTTP/1.1 200 Fine\r\n")
    assert "X-Archive-Orig-Transfer-Encoding: chunked\r\n" in block
    assert f"Content-Length: {len(CHUNKED_BODY)}\r\n" in block
    assert "\r\nTransfer-Encoding" not in block
