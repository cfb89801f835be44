"""Serve a Scrapy crawl from WARC/WACZ files instead of the network.

Re-running a spider on an archive is how a changed parser is tested against exactly what was
fetched. Wire it with settings::

    REPLAY_FROM = ["data/warc", "old-crawl.wacz"]
    DOWNLOAD_HANDLERS = {"http": "archive.replay.WarcReplayDownloadHandler",
                         "https": "archive.replay.WarcReplayDownloadHandler"}

(:func:`replay_settings` returns both). Each request is answered with the archived response
for its URL (the exact URL when recorded, else SURT-matched, so ``www.``/scheme/query-order
variants find it): the recorded
status and headers, and the body still content-encoded as it came off the wire, so
HttpCompressionMiddleware decodes it exactly as in the live crawl; redirects are replayed as
recorded. Revisits are answered with the payload they refer to. A URL not in the archive gets
a 404 flagged ``replay-miss``. With several captures of a URL, the one closest to
``REPLAY_AT`` (a 14-digit timestamp) is served, else the latest.
"""
from __future__ import annotations

import logging
import os
import zipfile
from bisect import bisect_left
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

import surt
from scrapy.core.downloader.handlers.base import BaseDownloadHandler
from scrapy.exceptions import NotConfigured
from scrapy.http import Headers, HtmlResponse, Response
from scrapy.responsetypes import responsetypes
from warcio.archiveiterator import ArchiveIterator
from warcio.timeutils import iso_date_to_timestamp

from archive.reader import WARC_SUFFIXES, dechunk

log = logging.getLogger(__name__)

HANDLER_PATH = "archive.replay.WarcReplayDownloadHandler"


def replay_settings(paths: Iterable[str | os.PathLike], at: str | None = None) -> dict:
    """Scrapy settings that make a crawl read from ``paths`` (WARCs, WACZs, directories)."""
    settings = {
        "REPLAY_FROM": [os.fspath(p) for p in paths],
        "DOWNLOAD_HANDLERS": {"http": HANDLER_PATH, "https": HANDLER_PATH},
    }
    if at:
        settings["REPLAY_AT"] = at
    return settings


@dataclass(frozen=True)
class _Source:
    """A WARC stream: a plain file, or a stored member of a WACZ starting at ``base``."""

    path: Path
    base: int = 0
    name: str = ""


@dataclass(frozen=True)
class _Entry:
    url: str
    timestamp: str
    rec_type: str  # response | revisit
    source: _Source
    offset: int
    record_id: str | None
    digest: str | None
    refers_to: str | None


def url_key(url: str) -> str:
    try:
        return surt.surt(url)
    except Exception:
        return url


def _stored_member_start(path: Path, info: zipfile.ZipInfo) -> int:
    """Offset of a ZIP_STORED member's bytes in the zip (after its local header)."""
    with open(path, "rb") as fh:
        fh.seek(info.header_offset)
        header = fh.read(30)
        if header[:4] != b"PK\x03\x04":
            raise ValueError(f"{path}: bad local header for {info.filename}")
        name_len = int.from_bytes(header[26:28], "little")
        extra_len = int.from_bytes(header[28:30], "little")
    return info.header_offset + 30 + name_len + extra_len


def _sources(paths: Iterable[str | os.PathLike]) -> list[_Source]:
    sources: list[_Source] = []
    for p in map(Path, paths):
        if p.is_dir():
            children = sorted(c for c in p.iterdir()
                              if c.is_file() and c.name.endswith(WARC_SUFFIXES + (".wacz",)))
            sources.extend(_sources(children))
        elif p.name.endswith(".wacz"):
            with zipfile.ZipFile(p) as z:
                for info in z.infolist():
                    if info.filename.startswith("archive/") and info.filename.endswith(WARC_SUFFIXES):
                        if info.compress_type != zipfile.ZIP_STORED:
                            raise ValueError(f"{p}: {info.filename} is compressed in the zip; "
                                             "WACZ requires WARCs to be stored")
                        sources.append(_Source(p, _stored_member_start(p, info), info.filename))
        elif p.is_file():
            sources.append(_Source(p, 0, p.name))
        else:
            raise FileNotFoundError(f"REPLAY_FROM: no such file or directory: {p}")
    return sources


class _Slice:
    """A read-only window [base, base+size) of a file, so warcio sees a WACZ member as a WARC."""

    def __init__(self, fh, base: int, size: int | None):
        self.fh, self.base, self.end = fh, base, (base + size if size is not None else None)
        fh.seek(base)

    def tell(self) -> int:
        return self.fh.tell() - self.base

    def read(self, n: int = -1) -> bytes:
        if self.end is not None:
            left = self.end - self.fh.tell()
            n = left if n is None or n < 0 else min(n, left)
        return self.fh.read(n)


class ReplayIndex:
    """URL (SURT) → captures, over WARC files and the WARCs inside WACZ files."""

    def __init__(self, paths: Iterable[str | os.PathLike]):
        self.by_key: dict[str, list[_Entry]] = {}
        self.by_id: dict[str, _Entry] = {}
        self.by_digest: dict[str, _Entry] = {}
        self.errors = 0
        for source in _sources(paths):
            self._add_source(source)
        for entries in self.by_key.values():
            entries.sort(key=lambda e: e.timestamp)

    def __len__(self) -> int:
        return sum(len(v) for v in self.by_key.values())

    def _add_source(self, source: _Source) -> None:
        size = None
        if source.base:
            with zipfile.ZipFile(source.path) as z:
                size = z.getinfo(source.name).file_size
        with open(source.path, "rb") as fh:
            it = ArchiveIterator(_Slice(fh, source.base, size))
            try:
                for record in it:
                    if record.rec_type not in ("response", "revisit"):
                        continue
                    h = record.rec_headers
                    entry = _Entry(
                        url=h.get_header("WARC-Target-URI"),
                        timestamp=iso_date_to_timestamp(h.get_header("WARC-Date")),
                        rec_type=record.rec_type, source=source, offset=it.get_record_offset(),
                        record_id=h.get_header("WARC-Record-ID"),
                        digest=h.get_header("WARC-Payload-Digest"),
                        refers_to=h.get_header("WARC-Refers-To"),
                    )
                    self.by_key.setdefault(url_key(h.get_header("WARC-Target-URI")), []).append(entry)
                    if record.rec_type == "response":
                        if entry.record_id:
                            self.by_id[entry.record_id] = entry
                        if entry.digest:
                            self.by_digest.setdefault(entry.digest, entry)
            except Exception as exc:
                self.errors += 1
                log.error("replay index: stopped reading %s%s: %s", source.path,
                          f"!{source.name}" if source.base else "", exc)

    def lookup(self, url: str, at: str | None = None) -> _Entry | None:
        entries = self.by_key.get(url_key(url))
        if not entries:
            return None
        exact = [e for e in entries if e.url == url]
        entries = exact or entries  # "/x" and "/x/" share a SURT key; the recorded one wins
        if not at:
            return entries[-1]
        stamps = [e.timestamp for e in entries]
        i = bisect_left(stamps, at)
        near = [e for e in entries[max(0, i - 1):i + 1]]
        return min(near, key=lambda e: abs(int(e.timestamp) - int(at.ljust(14, "0"))))

    def original_of(self, revisit: _Entry) -> _Entry | None:
        if revisit.refers_to and revisit.refers_to in self.by_id:
            return self.by_id[revisit.refers_to]
        if revisit.digest:
            return self.by_digest.get(revisit.digest)
        return None

    @staticmethod
    def read(entry: _Entry):
        """(http_headers, payload bytes as stored) of the record behind ``entry``."""
        with open(entry.source.path, "rb") as fh:
            fh.seek(entry.source.base + entry.offset)
            record = next(iter(ArchiveIterator(fh)))
            payload = record.raw_stream.read()
            return record.http_headers, payload


_FRAMING = {"transfer-encoding", "content-length"}


class WarcReplayDownloadHandler(BaseDownloadHandler):
    """A download handler answering every request from the archive (see the module doc)."""

    def __init__(self, crawler):
        super().__init__(crawler)
        paths = crawler.settings.getlist("REPLAY_FROM")
        if not paths:
            raise NotConfigured("REPLAY_FROM is not set")
        self.at = crawler.settings.get("REPLAY_AT")
        self.index = ReplayIndex(paths)
        self.stats = crawler.stats
        log.info("replaying from %d captures of %d URLs", len(self.index), len(self.index.by_key))

    def _inc(self, key: str) -> None:
        if self.stats is not None:
            self.stats.inc_value(f"replay/{key}")

    @staticmethod
    def _miss(request) -> Response:
        """pywb-style: a small HTML 404 page, so spiders that parse error pages still can."""
        body = b"<html><body><h1>404 Not Found</h1><p>Not in the archive.</p></body></html>"
        return HtmlResponse(request.url, status=404, request=request, flags=["replay-miss"],
                            headers={"Content-Type": "text/html; charset=utf-8"}, body=body)

    async def download_request(self, request) -> Response:
        entry = self.index.lookup(request.url, self.at)
        if entry is None:
            self._inc("miss")
            return self._miss(request)
        http, payload = self.index.read(entry)
        status = int(http.get_statuscode())
        coding_headers = http
        if entry.rec_type == "revisit":
            original = self.index.original_of(entry)
            if original is None:
                self._inc("revisit_unresolved")
                return self._miss(request)
            coding_headers, payload = self.index.read(original)
            if status == 304:
                status = int(coding_headers.get_statuscode())
            self._inc("revisit")
        if "chunked" in (coding_headers.get_header("Transfer-Encoding") or "").lower():
            payload = dechunk(payload)
        headers = Headers()
        for name, value in http.headers:
            if name.lower() not in _FRAMING and name.lower() != "content-encoding":
                headers.appendlist(name, value)
        if enc := coding_headers.get_header("Content-Encoding"):
            headers[b"Content-Encoding"] = enc
        if payload:
            headers[b"Content-Length"] = str(len(payload))
        self._inc("hit")
        respcls = responsetypes.from_args(headers=headers, url=request.url, body=payload)
        return respcls(url=request.url, status=status, headers=headers, body=payload,
                       request=request, flags=["replayed"], protocol=http.protocol)
