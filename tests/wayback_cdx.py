"""A stand-in for the Wayback Machine's CDX server and ``id_`` replay, on loopback, for tests.

Built from the server's own README and source (internetarchive/wayback, ``wayback-cdx-server``:
``README.md`` and ``src/main/java/org/archive/cdxserver/CDXServer.java``), not from what our
client expects. What follows which source:

* The index is CDX lines ``urlkey timestamp original mimetype statuscode digest length``, sorted
  as text; the urlkey is the SURT form of the URL (README, "Intro and Usage"; computed with the
  ``surt`` package, the Python port pywb and cdxj-indexer use).
* ``url`` is required (``getCdx``: "url parameter is required"); ``matchType=prefix`` (or a
  ``*`` at the end of ``url``) lists the SURT range from the URL's key to that key with its last
  character incremented (``UrlSurtRangeComputer``; a trailing ``/`` of the URL is kept in the
  key as pywb's ``calc_search_range`` does); otherwise the match is exact.
* The search starts at ``resumeKey`` when one is given, *the parameter's value decoded once by
  the servlet, used verbatim* (``createBoundedCdxIterator``: ``startEndUrl[0] = searchKey =
  query.resumeKey``); else at ``<key> <from>`` when ``from`` is given; else at the key. Lines are
  read from the first one sorting at or after the search key, up to the end of the range.
* ``from``/``to`` filter each line read (``writeCdxResponse``: ``timestamp < from`` skipped,
  ``timestamp > to`` skipped unless it starts with ``to``).
* ``limit=N`` stops after N lines written; ``limit`` absent or 0 means the server's maximum
  (``queryMaxLimit``, README: "currently set to 150000 by default"; small here to test it).
  Lines read count against the maximum whether written or not (``allCount < readLimit``).
* With ``showResumeKey=true``, when N lines were written, the key is printed after them:
  ``URLEncoder.encode(<urlkey of the last line read> + " " + <its timestamp> + "!", "UTF-8")``
  (README, "Resumption Key": ``org%2Carchive%29%2F+19980109140106%21``); the current source
  writes ``incLastChar(timestamp)`` instead of ``timestamp + "!"`` (``key_style="inc"``). Both
  start the next search just after that line. The key is printed whenever the page is full,
  so the last page may carry one and the next answer is then empty, with none.
* ``output=json`` is one JSON array: a header row naming the fields, the rows, then ``[]`` and
  ``[key]`` (README, "Output Format (JSON)" and the JSON resume example); no rows at all is
  ``[]``. ``fl=`` chooses and orders the fields (README, "Field Order").
* ``id_`` replay (``/web/<ts>id_/<url>``) serves the capture's bytes unchanged with
  ``Memento-Datetime`` and a ``Link`` header whose ``rel="original"`` is the URL (RFC 7089);
  a timestamp that is not a capture of the URL redirects (302) to the closest one, as the
  Wayback Machine does. A ``warc/revisit`` line is replayed with the payload of the capture
  it revisits (same digest, a ``text/html`` line, found through the index: the URL-agnostic
  case, ``WARC-Refers-To-Target-URI``) under its own URL.

* ``filter=[~][!]<field>:<regex>`` (or a regex over the whole line), any number, all must hold
  (``FieldRegexFilter``: ``~`` tests containment instead, ``!`` inverts, a regex must match the
  *whole* value: Java's ``Matcher.matches``); a line filtered out still counts as read, and the
  resume key may name it.

Not implemented (a 400 says so, so no test relies on it silently): ``collapse``,
``page``/pagination, ``offset``, negative limits, ``closest`` sorting.

``cdx_hook(params, answer)`` and ``replay_hook(path, answer)`` may replace an answer (faults:
a server that ignores keys, empty pages with keys, 5xx storms); ``on_request(n, path)`` is
called with the count of requests served so far, before answering (a test kills a backfill
at a seeded request there, a moment defined by what was served, not by a clock).
"""
from __future__ import annotations

import base64
import hashlib
import json
import re
import threading
from dataclasses import dataclass
from datetime import datetime, timezone
from email.utils import format_datetime
from http.server import ThreadingHTTPServer
from urllib.parse import parse_qsl, quote_plus, urlsplit

import surt

from conftest import LoopbackHandler

FIELDS = ("urlkey", "timestamp", "original", "mimetype", "statuscode", "digest", "length")
#: README: "The CDX server config provides a setting for absolute maximum length returned
#: from a single query (currently set to 150000 by default)"
QUERY_MAX_LIMIT = 150000
UNSUPPORTED = ("collapse", "page", "offset", "closest", "showNumPages", "pageSize")


def url_key(url: str) -> str:
    """The SURT urlkey of a URL, as the index holds it."""
    return surt.surt(url)


def payload_digest(body: bytes) -> str:
    """``sha1`` in base 32, the CDX ``digest`` field."""
    return base64.b32encode(hashlib.sha1(body).digest()).decode()


def inc_last_char(text: str) -> str:
    """``UrlSurtRangeComputer.incLastChar``: the string with its last character plus one."""
    return text[:-1] + chr(ord(text[-1]) + 1)


def java_url_encode(text: str) -> str:
    """``java.net.URLEncoder.encode(text, "UTF-8")``: alphanumerics and ``.-*_`` stay, space is
    ``+``, every other byte ``%XX`` (upper case)."""
    return quote_plus(text, safe="*").replace("~", "%7E")


@dataclass(frozen=True)
class CdxLine:
    urlkey: str
    timestamp: str
    original: str
    mimetype: str = "text/html"
    statuscode: str = "200"
    digest: str = "-"
    length: str = "-"

    @property
    def text(self) -> str:
        return " ".join(getattr(self, f) for f in FIELDS)

    def field(self, name: str) -> str:
        return getattr(self, name)


def capture(original: str, timestamp: str, body: bytes | None = None, *, mimetype: str = "text/html",
            status: str = "200", digest: str | None = None) -> CdxLine:
    """A CDX line for ``original`` captured at ``timestamp`` (its digest from ``body``)."""
    if digest is None:
        digest = payload_digest(body) if body is not None else "-"
    return CdxLine(url_key(original), timestamp, original, mimetype, status, digest,
                   str(len(body)) if body is not None else "-")


class _QuietServer(ThreadingHTTPServer):
    """A client killed mid-exchange (the kill tests) is not an error of the stand-in."""

    daemon_threads = True

    def handle_error(self, request, client_address):
        import sys

        if not isinstance(sys.exc_info()[1], (ConnectionError, TimeoutError)):
            super().handle_error(request, client_address)


class WaybackStandIn:
    """The CDX server and ``id_`` replay of one archive, on 127.0.0.1, over ``captures``."""

    def __init__(self, captures: dict[CdxLine, bytes | None], *, max_limit: int = QUERY_MAX_LIMIT,
                 key_style: str = "bang", serve: bool = True):
        self.bodies = {line: body for line, body in captures.items()}
        self.lines = sorted(self.bodies, key=lambda line: line.text)
        self.max_limit = max_limit
        self.key_style = key_style
        self.cdx_hook = None
        self.replay_hook = None
        self.on_request = None
        self.requests: list[tuple[str, int]] = []
        self.keys_received: list[str] = []
        self.lock = threading.Lock()
        stand_in = self

        class Handler(LoopbackHandler):
            def do_GET(self):
                with stand_in.lock:
                    served = len(stand_in.requests)
                if stand_in.on_request is not None:
                    stand_in.on_request(served, self.path)
                status, headers, body = stand_in.answer(self.path)
                with stand_in.lock:
                    stand_in.requests.append((self.path, status))
                self._send(status, body, headers)

        self.server = None
        self.base = "http://127.0.0.1:9"  # not served: answers only through fetch()
        if serve:
            self.server = _QuietServer(("127.0.0.1", 0), Handler)
            self.server.daemon_threads = True
            threading.Thread(target=self.server.serve_forever, daemon=True).start()
            self.base = f"http://127.0.0.1:{self.server.server_address[1]}"

    # -- where it is
    @property
    def archive(self) -> str:
        """The replay prefix (``--archive``)."""
        return f"{self.base}/web"

    @property
    def endpoint(self) -> str:
        """The CDX endpoint (``--cdx``), the Wayback Machine's path."""
        return f"{self.base}/cdx/search/cdx"

    def close(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()

    def fetch(self, url: str) -> bytes:
        """The answer to ``url`` without HTTP (``cdx.list_captures(fetch=...)``); an error status
        raises, as :func:`stenogram.crawler.cdx.fetch_cdx` does."""
        from stenogram.crawler.cdx import CdxUnavailable

        parts = urlsplit(url)
        path = parts.path + ("?" + parts.query if parts.query else "")
        status, _, body = self.answer(path)
        with self.lock:
            self.requests.append((path, status))
        if status != 200:
            raise CdxUnavailable(f"{url}: HTTP {status}")
        return body

    def cdx_requests(self) -> list[str]:
        with self.lock:
            return [p for p, _ in self.requests if p.startswith("/cdx/search/cdx")]

    def replay_requests(self) -> list[tuple[str, int]]:
        with self.lock:
            return [(p, s) for p, s in self.requests if p.startswith("/web/")]

    # -- answers
    def answer(self, path: str):
        if path.startswith("/cdx/search/cdx"):
            params = parse_qsl(urlsplit(path).query, keep_blank_values=True)  # decoded once
            answer = self.cdx(params)
            return self.cdx_hook(params, answer) if self.cdx_hook else answer
        if path.startswith("/web/"):
            answer = self.replay(path[len("/web/"):])
            return self.replay_hook(path, answer) if self.replay_hook else answer
        return 404, [("Content-Type", "text/plain")], b"not found"

    def search_range(self, url: str, match_type: str) -> tuple[str, str]:
        key = url_key(url)
        if match_type == "prefix":
            if url.endswith("/") and not key.endswith("/"):
                key += "/"
            return key, inc_last_char(key)
        return key + " ", key + "!"  # exact: every line of this urlkey

    def cdx(self, params: list[tuple[str, str]]):
        text = [("Content-Type", "text/plain")]
        names = {k for k, _ in params}
        if bad := sorted(names & set(UNSUPPORTED)):
            return 400, text, f"the stand-in does not implement {', '.join(bad)}".encode()
        query = dict(params)
        url = query.get("url")
        if not url:
            return 400, text, b"url parameter is required"
        match_type = query.get("matchType")
        if match_type is None:
            match_type, url = ("prefix", url[:-1]) if url.endswith("*") else ("exact", url)
        start, end = self.search_range(url, match_type)
        resume_key = query.get("resumeKey", "")
        if resume_key:
            self.keys_received.append(resume_key)
        from_ts, to_ts = query.get("from", ""), query.get("to", "")
        search = resume_key or (f"{start} {from_ts}" if from_ts else start)
        try:
            limit = int(query.get("limit", "0") or 0)
        except ValueError:
            return 400, text, b"limit must be a number"
        if limit < 0:
            return 400, text, b"the stand-in does not implement negative limits"
        write_limit = min(limit, self.max_limit) if limit else self.max_limit
        fields = query["fl"].split(",") if query.get("fl") else list(FIELDS)
        if any(f not in FIELDS for f in fields):
            return 400, text, b"unknown field in fl"
        try:
            filters = [self.line_filter(v, fields) for k, v in params if k == "filter" and v]
        except (re.error, ValueError) as exc:
            return 400, text, f"bad filter: {exc}".encode()
        rows, last_read, read = [], None, 0
        for line in self.lines:
            if line.text < search:
                continue
            if line.text >= end or len(rows) >= write_limit or read >= self.max_limit:
                break
            read += 1
            last_read = line
            ts = line.timestamp
            if from_ts and ts < from_ts:
                continue
            if to_ts and ts > to_ts and not ts.startswith(to_ts):
                continue
            if not all(keep(line) for keep in filters):
                continue
            rows.append([line.field(f) for f in fields])
        key = None
        if query.get("showResumeKey") == "true" and last_read is not None and len(rows) >= write_limit:
            stamp = last_read.timestamp + "!" if self.key_style == "bang" else inc_last_char(last_read.timestamp)
            key = java_url_encode(f"{last_read.urlkey} {stamp}")
        if query.get("output") == "json":
            data = [fields, *rows] if rows else []
            if key is not None:
                data += [[], [key]]
            return 200, [("Content-Type", "application/json")], json.dumps(data).encode()
        out = "".join(" ".join(r) + "\n" for r in rows)
        if key is not None:
            out += "\n" + key + "\n"
        return 200, text, out.encode()

    @staticmethod
    def line_filter(spec: str, fields):
        """One ``filter=`` value as ``FieldRegexFilter.RegexMatch`` reads it."""
        contains = spec.startswith("~")
        spec = spec[1:] if contains else spec
        inverted = spec.startswith("!")
        spec = spec[1:] if inverted else spec
        name, sep, pattern = spec.partition(":")
        if not sep:
            name, pattern = None, spec
        elif name not in FIELDS:
            raise ValueError(f"unknown field {name!r}")
        regex = None if contains else re.compile(pattern)

        def keep(line: CdxLine) -> bool:
            value = line.text if name is None else line.field(name)
            matched = pattern in value if contains else regex.fullmatch(value) is not None
            return matched != inverted
        return keep

    def replay(self, rest: str):
        stamp, sep, original = rest.partition("id_/")
        if not sep or not stamp.isdigit():
            return 400, [("Content-Type", "text/plain")], b"only id_ replay is served"
        same_url = [line for line in self.lines if line.original == original]
        if not same_url:
            return 404, [("Content-Type", "text/plain")], b"not in the archive"
        exact = [line for line in same_url if line.timestamp == stamp]
        if not exact:
            closest = min(same_url, key=lambda line: abs(int(line.timestamp) - int(stamp.ljust(14, "0"))))
            return 302, [("Location", f"/web/{closest.timestamp}id_/{closest.original}"),
                         ("Content-Type", "text/plain")], b""
        line = exact[0]
        body = self.bodies.get(line)
        if line.mimetype == "warc/revisit":
            referred = [other for other in self.lines
                        if other.digest == line.digest and other.mimetype != "warc/revisit"]
            if not referred:
                return 404, [("Content-Type", "text/plain")], b"revisit of nothing"
            body = self.bodies[referred[0]]
        when = datetime.strptime(line.timestamp, "%Y%m%d%H%M%S").replace(tzinfo=timezone.utc)
        headers = [("Content-Type", "text/html; charset=utf-8"),
                   ("Memento-Datetime", format_datetime(when, usegmt=True)),
                   ("Link", f'<{line.original}>; rel="original", '
                            f'<{self.archive}/{line.timestamp}id_/{line.original}>; rel="memento"')]
        return 200, headers, body or b""
