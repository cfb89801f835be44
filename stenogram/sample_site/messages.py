"""Request/Response values shared by the per-source renderers and the server.

Renderers are plain functions of a `Request` returning a `Response`; the server owns sockets,
transfer encodings and compression, so a renderer only says *what* a source serves and *how*
that source likes to encode it (gzip, deflate, chunked).
"""
from __future__ import annotations

import gzip
import hashlib
import zlib
from dataclasses import dataclass, field
from datetime import timezone
from email.utils import format_datetime, parsedate_to_datetime
from urllib.parse import parse_qs, urlsplit


@dataclass
class Request:
    source: str
    method: str
    target: str                       # raw request target: path + query
    headers: dict[str, str]           # lower-cased names

    @property
    def path(self) -> str:
        return urlsplit(self.target).path

    @property
    def query(self) -> dict[str, list[str]]:
        return parse_qs(urlsplit(self.target).query, keep_blank_values=True)

    def accepts(self, coding: str) -> bool:
        return coding in self.headers.get("accept-encoding", "").lower()


@dataclass
class Response:
    status: int = 200
    body: bytes = b""
    headers: list[tuple[str, str]] = field(default_factory=list)
    compress: str | None = None       # "gzip" | "deflate": applied if the request accepts it
    chunked: bool = False             # send Transfer-Encoding: chunked, no Content-Length

    def header(self, name: str) -> str | None:
        for k, v in self.headers:
            if k.lower() == name.lower():
                return v
        return None


def html(body: str, status: int = 200, charset: str = "utf-8", content_type: str | None = None,
         **kw) -> Response:
    ctype = content_type or f"text/html; charset={charset}"
    return Response(status, body.encode(charset, errors="xmlcharrefreplace"),
                    [("Content-Type", ctype)], **kw)


def text(body: str, content_type: str = "text/plain; charset=utf-8", **kw) -> Response:
    return Response(200, body.encode("utf-8"), [("Content-Type", content_type)], **kw)


def redirect(location: str, status: int = 301) -> Response:
    return Response(status, b"", [("Location", location), ("Content-Type", "text/html; charset=utf-8")])


def not_found(charset: str = "utf-8") -> Response:
    return html("<html><head><title>404 Not Found</title></head><body><h1>Not Found</h1></body></html>",
                status=404, charset=charset)


def etag_for(body: bytes) -> str:
    return '"' + hashlib.sha1(body).hexdigest()[:20] + '"'


def conditional(request: Request, response: Response, last_modified) -> Response:
    """Add ETag/Last-Modified and answer If-None-Match / If-Modified-Since with 304."""
    last_modified = last_modified.astimezone(timezone.utc)
    etag = etag_for(response.body)
    response.headers += [("ETag", etag), ("Last-Modified", format_datetime(last_modified, usegmt=True))]
    inm = request.headers.get("if-none-match")
    ims = request.headers.get("if-modified-since")
    fresh = False
    if inm is not None:
        fresh = etag in [t.strip() for t in inm.split(",")] or inm.strip() == "*"
    elif ims:
        try:
            fresh = parsedate_to_datetime(ims) >= last_modified.replace(microsecond=0)
        except (TypeError, ValueError):
            fresh = False
    if fresh:
        return Response(304, b"", [h for h in response.headers if h[0].lower() != "content-type"])
    return response


def encode_body(request: Request, response: Response) -> tuple[bytes, list[tuple[str, str]]]:
    """Apply the response's content coding when the client accepts it."""
    body, headers = response.body, list(response.headers)
    if response.compress and body and response.status != 304 and request.accepts(response.compress):
        if response.compress == "gzip":
            body = gzip.compress(body, mtime=0)
        elif response.compress == "deflate":
            body = zlib.compress(body)
        else:
            raise ValueError(f"unsupported content coding {response.compress!r}")
        headers.append(("Content-Encoding", response.compress))
        headers.append(("Vary", "Accept-Encoding"))
    return body, headers
