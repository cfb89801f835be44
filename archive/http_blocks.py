"""HTTP message heads as they go into WARC records, byte for byte.

A WARC ``request``/``response`` block is an HTTP message. The crawler hands us what the
network layer kept (Scrapy: protocol, status, header lists, the body with content-coding
intact but chunking already removed); this module turns that into header blocks that say
the truth about the stored bytes:

* every header value is kept, repeated headers stay repeated, in the order received;
* header bytes are kept as-is (latin-1 round trip), never %-encoded as warcio would, and
  never stripped: a value is written ``f"{name}: {value}"`` with whatever whitespace (or
  folded continuation line) it came with;
* when the network layer kept the exact status line (``ArchivedResponse.status_line``) or the
  exact request head as sent (``ArchivedRequest.head``), those are written as they are;
* ``Transfer-Encoding`` is renamed ``X-Archive-Orig-Transfer-Encoding`` (the stored body is
  de-chunked) and ``Content-Length`` is set to the stored body length, keeping a differing
  original as ``X-Archive-Orig-Content-Length`` (the wget/Heritrix-compatible convention
  pywb understands).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from http import HTTPStatus
from urllib.parse import SplitResult, urlsplit

from warcio.statusandheaders import StatusAndHeaders

HeaderPairs = list[tuple[str, str]]

ORIG_TRANSFER_ENCODING = "X-Archive-Orig-Transfer-Encoding"
ORIG_CONTENT_LENGTH = "X-Archive-Orig-Content-Length"
_DEFAULT_PORTS = {"http": 80, "https": 443}


def header_pairs(headers) -> HeaderPairs:
    """Flatten a header container into ``(name, value)`` pairs, one per value, order kept.

    Accepts Scrapy/Twisted-style mappings of name -> list of values, plain mappings, or an
    iterable of pairs. Runs twice per HTTP message archived (the crawler's flattening, then
    the head's), so it does the least work per header: no call per name or value.
    """
    if headers is None:
        return []
    items = headers.items() if hasattr(headers, "items") else headers
    pairs: HeaderPairs = []
    for name, values in items:
        if isinstance(name, bytes):
            name = name.decode("latin-1")
        if isinstance(values, (bytes, str)):
            values = (values,)
        for value in values:
            pairs.append((name, value.decode("latin-1") if isinstance(value, bytes) else value))
    return pairs


def reason_phrase(status: int) -> str:
    """The standard reason phrase (Scrapy does not keep the server's; see module docs)."""
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return ""


def request_target(url: str) -> str:
    """The origin-form request target Twisted sends: path plus query, never the fragment."""
    return _target_of(urlsplit(url), url)


def _target_of(parts: SplitResult, url: str) -> str:
    target = parts.path or "/"
    if parts.query or url.split("#", 1)[0].endswith("?"):
        target += "?" + parts.query
    return target


def _host_of(parts: SplitResult) -> str:
    host = parts.hostname or ""
    if ":" in host:  # IPv6 literal
        host = f"[{host}]"
    port = parts.port
    if port and port != _DEFAULT_PORTS.get(parts.scheme):
        host = f"{host}:{port}"
    return host


class RawHttpHeaders(StatusAndHeaders):
    """StatusAndHeaders whose block is the original bytes (latin-1), not %-encoded ASCII.

    Built from pairs :func:`header_pairs` already made ``str``, so warcio's conversion pass
    over them is skipped; the block is joined in one go rather than grown line by line.
    """

    def __init__(self, statusline: str, headers: HeaderPairs, protocol: str = ""):
        super().__init__(statusline, [], protocol=protocol)
        self.headers = headers

    def compute_headers_buffer(self, header_filter=None):
        if header_filter is not None:
            self.headers_buff = self.to_str(header_filter).encode("latin-1") + b"\r\n"
            return
        protocol, statusline = self.protocol, self.statusline
        first = f"{protocol} {statusline}" if protocol and statusline else protocol or statusline
        lines = "".join([f"{name}: {value}\r\n" for name, value in self.headers])
        self.headers_buff = (f"{first}\r\n{lines}\r\n" if first else lines + "\r\n").encode(
            "latin-1")


@dataclass
class ArchivedRequest:
    """An HTTP request as it went on the wire."""

    url: str
    method: str = "GET"
    headers: HeaderPairs = field(default_factory=list)  # or anything header_pairs takes
    body: bytes = b""
    protocol: str = "HTTP/1.1"
    #: the head exactly as sent (request line to blank line, latin-1 text), when known: it
    #: then replaces ``method``/``headers``/``protocol`` in the record
    head: str | None = None


@dataclass
class ArchivedResponse:
    """An HTTP response as it came off the wire (content-coding kept, chunking removed)."""

    url: str
    status: int
    headers: HeaderPairs = field(default_factory=list)  # or anything header_pairs takes
    body: bytes = b""
    protocol: str = "HTTP/1.1"
    reason: str | None = None
    ip_address: str | None = None
    disconnected: bool = False  # the server cut the body short (Scrapy's "dataloss" flag)
    status_line: str | None = None  # "HTTP/1.1 200 OK" as received, when known


def request_head(request: ArchivedRequest) -> RawHttpHeaders:
    """``METHOD target PROTOCOL`` plus the headers sent, ``Host`` added when missing; or the
    head as sent, line for line, when ``request.head`` has it."""
    if request.head:
        return _parsed_head(request.head)
    headers = header_pairs(request.headers)
    names = {name.lower() for name, _ in headers}
    parts = urlsplit(request.url)
    if "host" not in names:
        headers.append(("Host", _host_of(parts)))
    if request.body and "content-length" not in names and "transfer-encoding" not in names:
        headers.insert(0, ("Content-Length", str(len(request.body))))
    statusline = f"{_target_of(parts, request.url)} {request.protocol}"
    return RawHttpHeaders(statusline, headers, protocol=request.method.upper())


def _parsed_head(head: str) -> RawHttpHeaders:
    """A head's text as RawHttpHeaders that serialise back to the same text: every header line
    split at its first ``": "`` (how Twisted writes them), a line without one kept whole."""
    first, *lines = head.removesuffix("\r\n\r\n").split("\r\n")
    method, _, rest = first.partition(" ")
    headers: HeaderPairs = []
    for line in lines:
        name, sep, value = line.partition(": ")
        if not sep:  # not a line Twisted writes; kept as a name with an empty value
            name, value = line.removesuffix(":"), ""
        headers.append((name, value))
    return RawHttpHeaders(rest, headers, protocol=method)


def _body_is_framed(status: int, method: str) -> bool:
    return not (method.upper() == "HEAD" or 100 <= status < 200 or status in (204, 304))


def response_head(
    response: ArchivedResponse, stored_length: int, method: str = "GET"
) -> RawHttpHeaders:
    """Status line and every header, with framing headers describing the stored body."""
    reason = response.reason if response.reason is not None else reason_phrase(response.status)
    headers: HeaderPairs = []
    fix_length = _body_is_framed(response.status, method)
    had_length = False
    for name, value in header_pairs(response.headers):
        lname = name.lower()
        if lname == "transfer-encoding":
            headers.append((ORIG_TRANSFER_ENCODING, value))
            continue
        if lname == "content-length" and fix_length:
            if had_length or value.strip() != str(stored_length):
                headers.append((ORIG_CONTENT_LENGTH, value))
                continue
            had_length = True
        headers.append((name, value))
    if fix_length and not had_length:
        headers.append(("Content-Length", str(stored_length)))
    if response.status_line:
        protocol, _, statusline = response.status_line.partition(" ")
        return RawHttpHeaders(statusline, headers, protocol=protocol)
    statusline = f"{response.status} {reason}".rstrip()
    return RawHttpHeaders(statusline, headers, protocol=_protocol(response.protocol))


def _protocol(protocol: str | None) -> str:
    """Scrapy reports ``HTTP/1.1``; its H2 handler reports ``h2`` — written ``HTTP/2``."""
    if not protocol:
        return "HTTP/1.1"
    if protocol.lower() in ("h2", "http/2", "http/2.0"):
        return "HTTP/2"
    return protocol
