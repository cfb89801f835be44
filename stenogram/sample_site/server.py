"""SampleSite: the four sources served on 127.0.0.1, one listener thread per source.

Every request goes through `SampleSite.dispatch`, the single hook point where a later issue
adds faults (500s, resets, interstitials, Retry-After, slow responses); `faults` is accepted
now and consulted there. Pages are rendered lazily per request from the `Catalog`.
"""
from __future__ import annotations

import logging
import socket
import struct
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from stenogram.sample_site.content import SOURCES, Catalog, Transcript, build_catalog
from stenogram.sample_site.messages import Request, Response, encode_body
from stenogram.sample_site.sites import RENDERERS

log = logging.getLogger(__name__)


def edited_paragraphs(paragraphs: list[str], revision: int) -> list[str]:
    """A silent edit of a transcript's text: from the middle on, the first "we" becomes
    "Russia" (a word changed in place; else "now" is added after the first word of the middle
    paragraph) and one answer is added at the end."""
    out = list(paragraphs)
    middle = len(out) // 2
    for n in list(range(middle, len(out))) + list(range(middle)):
        words = out[n].split(" ")
        hit = next((i for i, w in enumerate(words) if w in ("we", "We", "мы", "Мы")), None)
        if hit is not None:
            words[hit] = "Russia" if words[hit].isascii() else "Россия"
            out[n] = " ".join(words)
            break
    else:
        if out:
            words = out[middle].split(" ")
            out[middle] = " ".join(words[:1] + ["now"] + words[1:])
    out.append(f"Sergey Lavrov: One more thing, added after publication (revision {revision}).")
    return out


class SampleHTTPServer(ThreadingHTTPServer):
    """One listener for one source; knows which source it serves and the site it belongs to."""

    allow_reuse_address = True
    daemon_threads = True

    def __init__(self, address, site: "SampleSite", source: str):
        self.site = site
        self.source = source
        super().__init__(address, SampleRequestHandler)

    def handle_error(self, request, client_address):
        """Resets and broken pipes are what the fault knobs and impatient clients cause: debug."""
        import sys

        exc = sys.exc_info()[1]
        if isinstance(exc, ConnectionError):
            log.debug("%s: connection from %s ended early: %s", self.source, client_address, exc)
            return
        super().handle_error(request, client_address)


class SampleRequestHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "nginx"
    sys_version = ""
    timeout = 30

    def log_message(self, format, *args):  # quiet: tests and the CLI do not want access logs
        log.debug("%s %s", self.server.source, format % args)

    def _serve(self) -> None:
        server: SampleHTTPServer = self.server
        request = Request(server.source, self.command, self.path,
                          {k.lower(): v for k, v in self.headers.items()})
        response = server.site.dispatch(request)
        if response is None:  # a fault hook chose to reset the connection: RST, no answer
            self.close_connection = True
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            return
        declared = getattr(response, "declared_length", None)  # a truncated body: promise more, then close
        body, headers = encode_body(request, response)
        self.send_response(response.status)
        for name, value in headers:
            self.send_header(name, value)
        chunked = response.chunked and response.status not in (204, 304) and self.command != "HEAD"
        if chunked:
            self.send_header("Transfer-Encoding", "chunked")
        elif declared is not None:
            self.send_header("Content-Length", str(declared))
            self.close_connection = True
        elif response.status != 304:
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command == "HEAD" or response.status == 304:
            return
        if chunked:
            for i in range(0, len(body), 4096):
                piece = body[i:i + 4096]
                self.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece))
            self.wfile.write(b"0\r\n\r\n")
        else:
            self.wfile.write(body)

    do_GET = _serve
    do_HEAD = _serve


class SampleSite:
    """The bundled local copy of mid.ru, archive.mid.ru, globalsecurity.org, interaffairs.ru and
    mid.ru's Domino-era site (``mid_domino``)."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0, size: int = 0, seed: int = 1, faults=None,
                 domino_later: bool = False, feed_format: str = "rss"):
        if host not in ("127.0.0.1", "localhost"):
            raise ValueError("the sample site only listens on the loopback interface")
        self.host, self.port, self.size, self.seed = host, port, size, seed
        self.faults = faults
        self.catalog: Catalog = build_catalog(size=size, seed=seed)
        self.renderers = {name: RENDERERS[name](self.catalog) for name in SOURCES}
        if feed_format not in ("rss", "atom"):
            raise ValueError(f"feed_format: 'rss' or 'atom', not {feed_format!r}")
        self.renderers["mid"].feed_format = feed_format  # mid.ru's /{lang}/rss.php as RSS 2.0 or Atom
        self.requests: list[tuple[str, str, str, dict[str, str]]] = []
        #: (time.monotonic() when the request reached the site, source, method, target), in order:
        #: the access log the politeness tests measure gaps on
        self.access_log: list[tuple[float, str, str, str]] = []
        self._lock = threading.Lock()
        self._servers: dict[str, SampleHTTPServer] = {}
        self._threads: list[threading.Thread] = []
        self.domino_later = False
        if domino_later:
            self.domino_changes()

    # -- lifecycle
    def start(self) -> "SampleSite":
        if self._servers:
            return self
        for offset, source in enumerate(SOURCES):
            port = self.port + offset if self.port else 0
            server = SampleHTTPServer((self.host, port), self, source)
            self._servers[source] = server
            thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1},
                                      name=f"sample-site-{source}", daemon=True)
            thread.start()
            self._threads.append(thread)
        return self

    def stop(self) -> None:
        for server in self._servers.values():
            server.shutdown()
            server.server_close()
        for thread in self._threads:
            thread.join(timeout=5)
        self._servers.clear()
        self._threads.clear()

    def __enter__(self) -> "SampleSite":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    @property
    def base_urls(self) -> dict[str, str]:
        return {s: f"http://{self.host}:{srv.server_address[1]}" for s, srv in self._servers.items()}

    # -- content
    def edit(self, key: str, paragraphs: list[str]):
        """A silent edit: the home page's text changes in place (new ETag), mirrors keep theirs."""
        with self._lock:
            return self.catalog.edit(key, paragraphs)

    def silent_edits(self, n: int = 1) -> list["Transcript"]:
        """Edit the ``n`` newest English transcripts published on mid.ru, as the ministry does:
        a word changed in place and a sentence added, same URL, no notice (the mirrors keep
        the text they had copied). Deterministic, so a demo or a test knows what changed."""
        edited = []
        with self._lock:
            for t in self.catalog.on("mid", "en")[:max(0, n)]:
                edited.append(self.catalog.edit(t.key, edited_paragraphs(t.paragraphs, t.revision + 1)))
        return edited

    def domino_changes(self) -> dict[str, "Transcript"]:
        """Move the Domino-era copy from the state web archives captured to the state the live
        copy serves today: ``domino.EDITED_KEY``'s text is silently edited (same URLs, new text,
        ETag and Last-Modified) and ``domino.REMOVED_KEY`` is no longer served (404, gone from
        every view). Idempotent; ``SampleSite(domino_later=True)`` starts in that state.
        Returns ``{"edited": Transcript, "removed": Transcript}`` (both stay in the catalog:
        a backfill from an archive must still find them)."""
        from stenogram.sample_site.domino import EDITED_KEY, REMOVED_KEY

        with self._lock:
            edited, removed = self.catalog[EDITED_KEY], self.catalog[REMOVED_KEY]
            if not self.domino_later:
                self.catalog.edit(EDITED_KEY, edited_paragraphs(edited.paragraphs, edited.revision + 1))
                self.renderers["mid_domino"].removed.add(REMOVED_KEY)
                self.domino_later = True
            return {"edited": edited, "removed": removed}

    def urls(self, key: str) -> dict[str, list[str]]:
        return self.catalog[key].urls(self.base_urls)

    def requested(self, source: str | None = None) -> list[str]:
        """Request targets seen so far (optionally for one source)."""
        with self._lock:
            return [target for s, _m, target, _h in self.requests if source in (None, s)]

    # -- the one dispatcher
    def dispatch(self, request: Request) -> Response | None:
        with self._lock:
            self.access_log.append((time.monotonic(), request.source, request.method, request.target))
            self.requests.append((request.source, request.method, request.target, dict(request.headers)))
        intercept = getattr(self.faults, "intercept", None)
        if intercept is not None:
            faulty = intercept(request)
            if faulty is not False:
                return faulty
        try:
            return self.renderers[request.source].handle(request)
        except Exception:  # a renderer bug must show up as a 500, not a hung client
            log.exception("sample site failed on %s %s", request.source, request.target)
            return Response(500, b"internal error", [("Content-Type", "text/plain")])
