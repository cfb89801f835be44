"""Scrapy's HTTP/1.1 download handler, keeping what Twisted reads off the wire but Scrapy drops.

Twisted's response parser (``HTTPClientParser``) sorts every
header line as it arrives: the connection-control ones (``Content-Length``, ``Connection``,
``Keep-Alive``, ``Transfer-Encoding``, ``TE``, ``Trailers``, ``Upgrade``,
``Proxy-Connection``) go to ``parser.connHeaders`` and never reach ``txresponse.headers``; the
rest are lower-cased and grouped per name. The status line's reason phrase is kept on
``txresponse.phrase``. Scrapy's ``_ScrapyAgent`` then builds the :class:`~scrapy.http.Response`
from ``txresponse.headers`` (plus a ``Content-Length`` rebuilt from the parsed length) and
drops the phrase. So without this handler an archived chunked response carries no trace of its
chunking, and every reason phrase is the standard one.

This module records the head as it was received, while Twisted parses it, and hands it to
whoever archives the exchange in ``request.meta["wire"]`` (a :class:`~scrapy.http.Response`
has ``__slots__``, so it cannot carry an extra attribute, and ``response.meta`` *is*
``request.meta``)::

    {"status": 200,
     "reason": "Fine",                                # txresponse.phrase, latin-1
     "status_line": "HTTP/1.1 200 Fine",              # as received
     "headers": [("Content-Type", "text/html"),       # every header line: wire order,
                 ("Transfer-Encoding", "chunked")],   #   original name case, value bytes
     "connection_headers": [("Transfer-Encoding", "chunked")],  # the ones Scrapy never sees
     "request_head": "GET / HTTP/1.1\r\nHost: ...\r\n\r\n"}  # the bytes Twisted sent

Header values are the bytes after the colon and its one space, up to the line end: trailing
whitespace (which Twisted strips) is kept, and a folded header keeps its ``CRLF`` and the
continuation line's leading whitespace, so ``f"{name}: {value}"`` is the line received. (A line
with no space after its colon is the one case that comes back with one.)

``connection_headers`` is classified with the parser's own
``isConnectionControlHeader`` (so ``Content-Length`` of a HEAD response is an entity header,
exactly as Twisted treats it). Names and values are ``str`` that encode back to the received
bytes with latin-1, the convention of :mod:`archive.http_blocks`.

Wire it with::

    DOWNLOAD_HANDLERS = {"http": "stenogram.crawler.download_handler.WireHTTP11DownloadHandler",
                         "https": "stenogram.crawler.download_handler.WireHTTP11DownloadHandler"}

``meta["wire"]`` is set for every response this handler returns and removed when a download
starts, so a request copied by a retry or redirect never carries the previous hop's head.
"""
from __future__ import annotations

import logging
from typing import Any

from scrapy import Request
from scrapy.core.downloader.handlers.http11 import HTTP11DownloadHandler
from scrapy.exceptions import DownloadCancelledError
from scrapy.http import Response

from stenogram import compat
from stenogram.compat import (
    LenientHTTP11ClientFactory,
    LenientHTTP11ClientProtocol,
    LenientHTTPClientParser,
    TwistedParseError,
)

HEADER = compat.TWISTED_PARSER_HEADER_STATE

logger = logging.getLogger(__name__)

WIRE_META_KEY = "wire"
#: Signal sent (``request``, ``wire``, ``reason``) when a response whose head arrived is refused
#: (Scrapy cancels a body over ``DOWNLOAD_MAXSIZE``, declared or received): no response reaches
#: Scrapy, so ``WarcArchiver`` writes a metadata record saying what was refused and why.
response_refused = object()
#: where the parser leaves the recorded head on Twisted's response object
_TX_ATTR = "_stenogram_wire"
#: where the recorded request head is left on Twisted's request object
_TX_REQUEST_ATTR = "_stenogram_head"


def _text(value: bytes) -> str:
    return value.decode("latin-1")


class ResponseHeadTooLarge(TwistedParseError):
    """A response head past ``HTTP_MAX_RESPONSE_HEADERS`` lines or ``HTTP_MAX_RESPONSE_HEAD_BYTES``.

    Raised inside the parser, where Twisted's ``HTTP11ClientProtocol.dataReceived`` turns any
    exception into the request's failure and drops the connection (``_giveUp``): the download
    fails with this reason, logged and counted by Scrapy like any download error, before a
    million ``Set-Cookie`` lines (1.7 GiB, issue 23) are held. Twisted bounds one line
    (``LineReceiver.MAX_LENGTH``, 16 KiB) but neither their number nor a header folded over
    endless continuation lines."""

    def __init__(self, message: str):
        super().__init__(message, b"")  # ParseError(reason, data): no data worth keeping

    def __str__(self) -> str:
        return self.args[0]


class WireRecordingParser(LenientHTTPClientParser):
    """Scrapy's lenient response parser, also noting each header line in arrival order.

    Installed by swapping the class of the parser object (as Scrapy itself does), so it
    defines no ``__init__``; :meth:`start_recording` sets its state. ``head_limits``:
    (header lines, head bytes), set by :class:`WireHTTP11ClientProtocol`; 0 is no limit.
    """

    _wire_headers: list[tuple[bytes, bytes]]
    head_limits: tuple[int, int] = (0, 0)

    def start_recording(self) -> None:
        self._head_bytes = 0
        self._wire_headers = []
        self._wire_status = b""
        self._raw_lines: list[bytes] | None = None  # the header line being received, folds too
        self._raw_header: bytes | None = None  # the one headerReceived is about to get

    def statusReceived(self, status: bytes) -> None:
        self._wire_status = status
        super().statusReceived(status)

    def lineReceived(self, line: bytes) -> None:
        # Twisted joins a header's lines and strips its value before ``headerReceived``; the
        # raw lines are kept here, the way the parent splits them (a header ends when a line
        # does not start with whitespace).
        if self.state == HEADER:
            self._head_bytes += len(line) + 1
            if self.head_limits[1] and self._head_bytes > self.head_limits[1]:
                raise ResponseHeadTooLarge(f"response head over HTTP_MAX_RESPONSE_HEAD_BYTES "
                                           f"{self.head_limits[1]} bytes")
            text = line.removesuffix(b"\r")
            if not text or text[:1] not in b" \t":
                self._raw_header = b"\r\n".join(self._raw_lines) if self._raw_lines else None
                self._raw_lines = [text] if text else None
            elif self._raw_lines is not None:
                self._raw_lines.append(text)
        super().lineReceived(line)

    def connectionMade(self) -> None:
        # Twisted calls this again to reset the parser after an unexpected 1xx response:
        # the 1xx's headers are not the final response's.
        super().connectionMade()
        self.start_recording()

    def headerReceived(self, name: bytes, value: bytes) -> None:
        # ``name`` is still in its received case here; HTTPParser lower-cases it.
        raw, self._raw_header = self._raw_header, None
        kept = value
        if raw is not None and raw.startswith(name + b":"):
            kept = raw[len(name) + 1:]
            if kept[:1] == b" ":
                kept = kept[1:]
        self._wire_headers.append((name, kept))
        if self.head_limits[0] and len(self._wire_headers) > self.head_limits[0]:
            raise ResponseHeadTooLarge(f"more than HTTP_MAX_RESPONSE_HEADERS {self.head_limits[0]} "
                                       "response header lines")
        super().headerReceived(name, value)

    def allHeadersReceived(self) -> None:
        # Must run before the parent: it fires the response Deferred (and, for a 1xx,
        # resets the parser and forgets the response).
        response = getattr(self, "response", None)
        if response is not None:
            setattr(response, _TX_ATTR, self.wire_head(response))
        super().allHeadersReceived()

    def wire_head(self, response) -> dict[str, Any]:
        headers = [(_text(n), _text(v)) for n, v in self._wire_headers]
        sent = getattr(self.request, _TX_REQUEST_ATTR, None)
        return {
            "status": int(response.code),
            "reason": _text(response.phrase or b""),
            "status_line": _text(self._wire_status),
            "request_head": _text(sent) if sent is not None else None,
            "headers": headers,
            "connection_headers": [
                (n, v) for (n, v), (raw, _) in zip(headers, self._wire_headers)
                if self.isConnectionControlHeader(raw.lower())
            ],
        }


class _HeadRecorder:
    """A transport stand-in for Twisted's request head writer: keeps the head it writes."""

    def __init__(self, transport, request):
        self._transport, self._request = transport, request

    def writeSequence(self, data) -> None:
        data = list(data)
        setattr(self._request, _TX_REQUEST_ATTR, b"".join(data))
        self._transport.writeSequence(data)

    def __getattr__(self, name):
        return getattr(self._transport, name)


def _record_request_head(request) -> None:
    """Make Twisted's ``request`` keep the bytes of the head it writes (request line, every
    header line as sent, including the ``Host``, ``Connection`` and framing lines Twisted adds)."""
    def recording(write_headers):
        return lambda transport, te_or_cl: write_headers(_HeadRecorder(transport, request), te_or_cl)

    compat.wrap_write_headers(request, recording)


class WireHTTP11ClientProtocol(LenientHTTP11ClientProtocol):
    """Builds each request's parser as a :class:`WireRecordingParser` (with the factory's
    ``head_limits``)."""

    head_limits: tuple[int, int] = (0, 0)

    def request(self, request):
        _record_request_head(request)
        d = super().request(request)
        # The parent has just created the parser and swapped its class to Scrapy's lenient
        # one; no response byte can have arrived yet (that needs the reactor), so swapping
        # again to the recording subclass loses nothing.
        parser = compat.protocol_parser(self)
        parser.__class__ = WireRecordingParser
        parser.head_limits = self.head_limits
        parser.start_recording()
        return d


class WireHTTP11ClientFactory(LenientHTTP11ClientFactory):
    """Connection-pool factory building :class:`WireHTTP11ClientProtocol`."""

    head_limits: tuple[int, int] = (0, 0)

    def buildProtocol(self, addr):
        protocol = WireHTTP11ClientProtocol(compat.quiescent_callback(self))
        protocol.head_limits = self.head_limits
        return protocol


def _note_wire(txresponse, request: Request) -> None:
    """Copy the recorded head into ``request.meta["wire"]`` once the headers are in."""
    wire = getattr(txresponse, _TX_ATTR, None)
    if wire is not None:
        request.meta[WIRE_META_KEY] = wire


#: Scrapy's agent, calling :func:`_note_wire` for every response, with or without a body
WireAgent = compat.agent_noting_heads(_note_wire)


class WireHTTP11DownloadHandler(HTTP11DownloadHandler):
    """``HTTP11DownloadHandler`` whose responses come with their wire head in ``meta["wire"]``."""

    agent_class = WireAgent

    def __init__(self, crawler):
        super().__init__(crawler)
        limits = (crawler.settings.getint("HTTP_MAX_RESPONSE_HEADERS"),
                  crawler.settings.getint("HTTP_MAX_RESPONSE_HEAD_BYTES"))
        # the pool calls its factory class itself: a subclass carries this crawler's limits
        compat.set_pool_protocol_factory(self, type("BoundedWireHTTP11ClientFactory", (WireHTTP11ClientFactory,),
                                                    {"head_limits": limits}))

    async def download_request(self, request: Request) -> Response:
        # Scrapy's own, with this handler's agent class (see compat.scrapy_download_request)
        request.meta.pop(WIRE_META_KEY, None)
        try:
            return await compat.scrapy_download_request(self, request, self.agent_class, logger)
        except DownloadCancelledError as exc:
            self._refused(request, exc)
            raise

    def _refused(self, request: Request, exc: DownloadCancelledError) -> None:
        """Tell the archive about a response Scrapy cancelled once its head had arrived.

        Scrapy 2.19's ``_ScrapyAgent`` cancels with a message when the declared
        ``Content-Length`` is over ``DOWNLOAD_MAXSIZE`` (``get_maxsize_msg``, "Expected to
        receive N bytes which is larger than download max size"), and with none when the body
        grows past it while arriving (``_ResponseReader.dataReceived`` cancels its Deferred).
        Without a head there was no response (a timeout, a shutdown): nothing to record.
        """
        wire = request.meta.get(WIRE_META_KEY)
        if wire is None:
            return
        limit = request.meta.get("download_maxsize", compat.default_maxsize(self))
        reason = str(exc) or (f"download cancelled while the body arrived (over DOWNLOAD_MAXSIZE,"
                              f" {limit} bytes, or the crawl stopping)")
        crawler = compat.handler_crawler(self)
        crawler.signals.send_catch_log(response_refused, request=request, wire=wire,
                                       reason=reason, spider=crawler.spider)
