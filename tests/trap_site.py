"""A loopback site of crawler traps, shaped like the sources so their spiders walk into them.

Each trap is what issue 23 found unbounded, served on 127.0.0.1 only, generated as it is sent
(nothing is built whole in memory, so the server stays small whatever the crawler does):

* ``calendar`` (globalsecurity's directory index tree, ``/wmd/library/news/<country>/``): every
  index links two deeper year folders (``2016/``, ``2017/``) and one MFA file, so the tree never
  ends; its paths also repeat (``/2016/2016/2016/``, ``/2016/2017/2016/2017/``);
* ``links`` (mid_archive's listing, ``/en/press_service/minister_speeches``): one page of
  ``LINKS`` article links (1,000,000 by default), written in chunks as the socket takes them;
* ``cookies``: every response carries ``COOKIES`` ``Set-Cookie`` lines (1,000,000 by default);
* ``robots``: a robots.txt of ``ROBOTS_BYTES`` (5 MiB by default) of rules that never match,
  then ``Disallow: /secret/`` (past Google's 500 KiB: a bounded reader never sees it).

``TrapSite(trap, **sizes).start()`` serves on a free port; ``.seen`` counts the requests per path
kind, ``.listings_sent`` the link listings sent whole, ``.url`` is the base URL. Used by tests/test_traps.py and bench/bench_traps.py.
"""
from __future__ import annotations

import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

TRAPS = ("calendar", "links", "cookies", "robots")
ARTICLE = (b"<html><head><title>Press release %d</title></head><body><h1>Press release %d</h1>"
           b"<p>Foreign Minister Sergey Lavrov's remarks at a press conference, number %d.</p></body></html>")
MFA_FILE = re.compile(r"/[a-z]+-\d{6}-russia-mfa\d{2}\.htm$")
LISTING = "/en/press_service/minister_speeches"


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: "TrapSite"

    def log_message(self, *args):
        pass

    def do_GET(self):  # noqa: N802 - http.server's name
        site, path = self.server, self.path.split("?")[0]
        site.count(path)
        if path == "/robots.txt":
            return self._robots()
        if site.trap == "calendar" and path.startswith("/wmd/library/news/"):
            if MFA_FILE.search(path):
                return self._page(ARTICLE % ((n := site.next_id()), n, n))
            if path.endswith("/"):
                links = "".join(f'<a href="{path}{y}/">{y}/</a><br>\n' for y in (2016, 2017))
                links += f'<a href="{path}russia-160101-russia-mfa01.htm">mfa</a>\n'
                return self._page(f"<html><body><h1>Index of {path}</h1>{links}</body></html>".encode())
        if site.trap == "links" and path.startswith(LISTING):
            if "/content/id/" in path:
                return self._page(ARTICLE % ((n := site.next_id()), n, n))
            if path.rstrip("/") == LISTING and "/en/" in path:
                return self._links()
            return self._page(b"<html><body><p>empty listing</p></body></html>")
        if site.trap in ("cookies", "robots") and path.startswith("/wmd/library/news/"):
            if MFA_FILE.search(path):
                return self._page(ARTICLE % ((n := site.next_id()), n, n))
            return self._page(b'<html><body><a href="russia-160101-russia-mfa01.htm">mfa</a></body></html>')
        self._page(b"<html><body>nothing here</body></html>", status=404)

    def _head(self, status: int, length: int | None, content_type: str = "text/html; charset=utf-8") -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        if length is None:
            self.send_header("Transfer-Encoding", "chunked")
        else:
            self.send_header("Content-Length", str(length))
        if self.server.trap == "cookies" and self.path != "/robots.txt":
            self.flush_headers()  # the status line and the headers so far go first
            line = b"Set-Cookie: trap=%d; Path=/\r\n"
            batch = 10_000
            for start in range(0, self.server.cookies, batch):  # written as the socket takes them
                self.wfile.write(b"".join(line % i for i in range(start, min(start + batch, self.server.cookies))))
        self.end_headers()

    def _page(self, body: bytes, status: int = 200) -> None:
        try:
            self._head(status, len(body))
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    def _chunks(self, chunks, content_type="text/html; charset=utf-8") -> None:
        try:
            self._head(200, None, content_type)
            for chunk in chunks:
                self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
            self.wfile.write(b"0\r\n\r\n")
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    def _links(self) -> None:
        total, batch = self.server.links, 10_000

        def chunks():
            # short links (~30 bytes: a million fit under DOWNLOAD_MAXSIZE), made absolute by <base>
            yield b'<html><head><title>Speeches</title><base href="%s/-/asset_publisher/t/"></head><body>\n' % (
                LISTING.encode())
            for start in range(0, total, batch):
                yield b"".join(b"<a href=content/id/%d>%d</a>\n" % (i, i)
                               for i in range(start, min(start + batch, total)))
            yield b"</body></html>\n"

        self._chunks(chunks())
        with self.server._lock:
            self.server.listings_sent += 1

    def _robots(self) -> None:
        if self.server.trap != "robots":
            return self._page(b"User-agent: *\nAllow: /\n", status=200)
        size = self.server.robots_bytes

        def chunks():
            yield b"User-agent: *\n"
            rule, sent = b"Disallow: /never/%08d/*.php$\n", 0
            while sent < size:
                block = b"".join(rule % (sent + i) for i in range(2000))
                sent += len(block)
                yield block
            yield b"Disallow: /wmd/library/news/\n"  # past 500 KiB: a bounded reader never sees it

        self._chunks(chunks(), "text/plain")


class TrapSite(ThreadingHTTPServer):
    """The trap ``trap`` (one of :data:`TRAPS`) on 127.0.0.1 (see module docstring)."""

    daemon_threads = True

    def __init__(self, trap: str, links: int = 1_000_000, cookies: int = 1_000_000,
                 robots_bytes: int = 5 * 1024 * 1024):
        if trap not in TRAPS:
            raise ValueError(f"unknown trap {trap!r}; known: {', '.join(TRAPS)}")
        self.trap, self.links, self.cookies, self.robots_bytes = trap, links, cookies, robots_bytes
        self.seen: dict[str, int] = {}
        self.listings_sent = 0  # million-link listings written to the end
        self._lock = threading.Lock()
        self._ids = 0
        super().__init__(("127.0.0.1", 0), _Handler)
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def count(self, path: str) -> None:
        kind = "robots" if path == "/robots.txt" else "article" if (
            MFA_FILE.search(path) or "/content/id/" in path) else "index"
        with self._lock:
            self.seen[kind] = self.seen.get(kind, 0) + 1

    def next_id(self) -> int:
        with self._lock:
            self._ids += 1
            return self._ids

    def start(self) -> "TrapSite":
        self._thread = threading.Thread(target=self.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self.shutdown()
        self.server_close()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


def source_of(trap: str) -> str:
    """The source whose spider walks into ``trap``."""
    return "mid_archive" if trap == "links" else "globalsecurity"


if __name__ == "__main__":  # serve one trap by hand: python tests/trap_site.py calendar
    import sys
    import time

    with TrapSite(sys.argv[1] if len(sys.argv) > 1 else "calendar") as site:
        print(site.url, flush=True)
        while True:
            time.sleep(3600)
