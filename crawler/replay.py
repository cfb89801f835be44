"""Serve a Scrapy crawl from WARC/WACZ files instead of the network.

Re-running a spider on an archive is how a changed parser is tested against exactly what was
fetched. :func:`replay_settings` gives the settings (``stenogram crawl --replay`` uses it)::

    REPLAY_FROM = ["data/warc", "old-crawl.wacz"]
    DOWNLOAD_HANDLERS = {"http": "stenogram.crawler.replay.WarcReplayDownloadHandler",
                         "https": "stenogram.crawler.replay.WarcReplayDownloadHandler"}

Each request is answered with the archived response for its URL (the exact URL when recorded,
else SURT-matched, so ``www.``/scheme/query-order variants find it): the recorded status and
headers, and the body still content-encoded as it came off the wire, so
HttpCompressionMiddleware decodes it exactly as in the live crawl; redirects are replayed as
recorded. Revisits are answered with the payload they refer to, with the status and headers
``stenogram reprocess`` gives them (a 304 stays a 304, see :func:`served_head`). With several captures of a
URL, the one closest to ``REPLAY_AT`` (a 14-digit timestamp) is served, else the latest.

Nothing is invented and nothing is archived again: ``request.meta["warc"]`` is the
:class:`~archive.capture.WarcLocation` of the record that was served (its WARC file's name,
offset, length, record id and payload digest; for a revisit, ``meta["warc_revisit_of"]`` is
the original's) and ``meta["warc_date"]`` its ``WARC-Date``, so the corpus points at the
original record; for a replayed 304, ``meta["replayed_capture"]`` is the capture ``stenogram
reprocess`` makes of it (:func:`replayed_capture`), which the corpus pipeline ingests.
:func:`replay_settings` turns the WARC writer off.

A crawl against other base URLs than the archive's (the live ``https://mid.ru`` defaults
replaying a crawl of the sample site on 127.0.0.1) is mapped: each WARC's ``warcinfo`` names
the spider that wrote it, and a URL not in the archive is looked up by path and query among
that spider's captures. A URL found neither way is a miss: the request fails with
:class:`ReplayMiss` (no response, so nothing downstream takes a made-up page for a real one),
logged and counted ``replay/miss``; when a spider found nothing at all in the archive it
logs an error, so the crawl exits 1.
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
from scrapy import signals
from scrapy.core.downloader.handlers.base import BaseDownloadHandler
from scrapy.exceptions import IgnoreRequest, NotConfigured
from scrapy.http import Headers, Response
from scrapy.responsetypes import responsetypes
from warcio.archiveiterator import ArchiveIterator
from warcio.timeutils import iso_date_to_timestamp

from stenogram.archive.capture import WarcLocation
from stenogram.archive.reader import WARC_SUFFIXES, dechunk

log = logging.getLogger(__name__)

HANDLER_PATH = "stenogram.crawler.replay.WarcReplayDownloadHandler"

#: What a replay changes besides the download handler: nothing is fetched, so there is nothing
#: to be polite about (no delay, no autothrottle, no backoff before a retry or after a
#: Retry-After or an interstitial), and every response already sits in the archive it came
#: from, so the WARC writer stays off (with it the archive guard, which needs it).
REPLAY_OVERRIDES = {
    "WARC_ENABLED": False,
    "DOWNLOAD_DELAY": 0,
    "DOWNLOAD_DELAY_JITTER": 0,
    "RANDOMIZE_DOWNLOAD_DELAY": False,
    "AUTOTHROTTLE_ENABLED": False,
    "CONCURRENT_REQUESTS_PER_DOMAIN": 16,
    "RETRY_BACKOFF_BASE": 0,
    "RETRY_BACKOFF_MAX": 0,
    "RETRY_AFTER_ENABLED": False,
    "INTERSTITIAL_BACKOFF_BASE": 0,
    "INTERSTITIAL_BACKOFF_MAX": 0,
}


def replay_settings(paths: Iterable[str | os.PathLike], at: str | None = None) -> dict:
    """Scrapy settings that make a crawl read from ``paths`` (WARCs, WACZs, directories)."""
    settings = {
        "REPLAY_FROM": [os.fspath(p) for p in paths],
        "DOWNLOAD_HANDLERS": {"http": HANDLER_PATH, "https": HANDLER_PATH},
        **REPLAY_OVERRIDES,
    }
    if at:
        settings["REPLAY_AT"] = at
    return settings


class ReplayMiss(IgnoreRequest):
    """The URL is not in the archive (nor, mapped by path, in its spider's captures)."""


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
    date: str  # the WARC-Date as recorded
    rec_type: str  # response | revisit
    source: _Source
    offset: int
    length: int
    record_id: str | None
    digest: str | None
    refers_to: str | None
    spider: str | None  # from the warcinfo record of the WARC it is in

    @property
    def location(self) -> WarcLocation:
        """Where this record sits in its WARC file (named as the crawl named it)."""
        return WarcLocation(os.path.basename(self.source.name or self.source.path.name),
                            self.offset, self.length, self.record_id or "", self.digest)


def url_key(url: str) -> str:
    try:
        return surt.surt(url)
    except Exception:
        return url


def path_key(key: str) -> str:
    """The path-and-query part of a SURT key (what is left when the host is mapped away)."""
    return key.partition(")")[2]


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


def _warcinfo_spider(record) -> str | None:
    """The ``spider`` field of a warcinfo record (stenogram writes one per WARC file)."""
    for line in record.content_stream().read().decode("utf-8", "replace").splitlines():
        name, sep, value = line.partition(":")
        if sep and name.strip().lower() == "spider":
            return value.strip() or None
    return None


def _closest(entries: list[_Entry], at: str | None) -> _Entry:
    if not at:
        return entries[-1]
    stamps = [e.timestamp for e in entries]
    i = bisect_left(stamps, at)
    near = entries[max(0, i - 1):i + 1]
    return min(near, key=lambda e: abs(int(e.timestamp) - int(at.ljust(14, "0"))))


class ReplayIndex:
    """URL (SURT) → captures, over WARC files and the WARCs inside WACZ files."""

    def __init__(self, paths: Iterable[str | os.PathLike]):
        self.by_key: dict[str, list[_Entry]] = {}
        #: (spider, path key) → captures, for a crawl against other base URLs
        self.by_path: dict[tuple[str, str], list[_Entry]] = {}
        self.by_id: dict[str, _Entry] = {}
        self.by_digest: dict[str, _Entry] = {}
        self.errors = 0
        for source in _sources(paths):
            self._add_source(source)
        for entries in (*self.by_key.values(), *self.by_path.values()):
            entries.sort(key=lambda e: e.timestamp)

    def __len__(self) -> int:
        return sum(len(v) for v in self.by_key.values())

    @property
    def spiders(self) -> set[str]:
        return {spider for spider, _ in self.by_path}

    def _add_source(self, source: _Source) -> None:
        size = None
        if source.base:
            with zipfile.ZipFile(source.path) as z:
                size = z.getinfo(source.name).file_size
        spider = None
        with open(source.path, "rb") as fh:
            it = ArchiveIterator(_Slice(fh, source.base, size))
            try:
                for record in it:
                    if record.rec_type == "warcinfo":
                        spider = _warcinfo_spider(record) or spider
                        continue
                    if record.rec_type not in ("response", "revisit"):
                        continue
                    h = record.rec_headers
                    offset = it.get_record_offset()
                    it.read_to_end(record)
                    entry = _Entry(
                        url=h.get_header("WARC-Target-URI"),
                        timestamp=iso_date_to_timestamp(h.get_header("WARC-Date")),
                        date=h.get_header("WARC-Date"),
                        rec_type=record.rec_type, source=source, offset=offset,
                        length=it.get_record_length(),
                        record_id=h.get_header("WARC-Record-ID"),
                        digest=h.get_header("WARC-Payload-Digest"),
                        refers_to=h.get_header("WARC-Refers-To"),
                        spider=spider,
                    )
                    key = url_key(entry.url)
                    self.by_key.setdefault(key, []).append(entry)
                    if spider:
                        self.by_path.setdefault((spider, path_key(key)), []).append(entry)
                    if record.rec_type == "response":
                        if entry.record_id:
                            self.by_id[entry.record_id] = entry
                        if entry.digest:
                            self.by_digest.setdefault(entry.digest, entry)
            except Exception as exc:
                self.errors += 1
                log.error("replay index: stopped reading %s%s: %s", source.path,
                          f"!{source.name}" if source.base else "", exc)

    def lookup(self, url: str, at: str | None = None, spider: str | None = None) -> _Entry | None:
        """The capture of ``url`` closest to ``at`` (else the latest); with ``spider``, a URL
        whose host is not in the archive is looked up by path among that spider's captures."""
        key = url_key(url)
        entries = self.by_key.get(key)
        if not entries:
            if spider is None:
                return None
            entries = self.by_path.get((spider, path_key(key)))
            if not entries:
                return None
            return _closest(entries, at)
        exact = [e for e in entries if e.url == url]
        return _closest(exact or entries, at)  # "/x" and "/x/" share a SURT key

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


def replayed_capture(revisit: _Entry, original: _Entry):
    """The :class:`~archive.capture.Capture` ``stenogram reprocess`` makes of ``revisit`` (a 304)
    and its ``original``, by its code (archive.reader's revisit capture, as
    :func:`archive.reader.revisit_capture_at`), read where the replay found them: a WARC file or
    a stored WACZ member (its records sit at the member's offset in the zip). None when either
    cannot be read (logged)."""
    from dataclasses import replace

    from stenogram.archive.reader import ReadStats, _Original, _revisit_capture, read_record_at

    stats = ReadStats()
    try:
        rec = read_record_at(revisit.source.path, revisit.source.base + revisit.offset)
    except (ValueError, OSError) as exc:
        log.warning("replay: cannot read the revisit of %s: %s", revisit.url, exc)
        return None
    where = _Original(original.source.path, original.source.base + original.offset)
    capture = _revisit_capture(rec, where, stats)
    if capture is not None:  # the record's place in its WARC, not in the WACZ holding it
        capture.location = replace(capture.location, warc_file=revisit.location.warc_file,
                                   warc_offset=revisit.location.warc_offset)
    return capture


def served_head(own, original=None) -> tuple[int, list[tuple[str, str]]]:
    """The status and header lines a replayed record is served with: its own; for a revisit
    (``original``: the head of the record it refers to), as ``stenogram reprocess`` reads it
    (:func:`archive.reader.revisit_capture_at`): the revisit's own status (a
    ``server-not-modified`` revisit stays the 304 that happened) and the original's headers with
    the ones the revisit repeats replaced by the revisit's (a 304 repeats no ``Content-Type``).
    A revisit with no HTTP head is served as its original."""
    if original is None:
        return int(own.get_statuscode()), list(own.headers)
    if own is None:
        return int(original.get_statuscode()), list(original.headers)
    repeated = {name.lower() for name, _ in own.headers}
    kept = [(name, value) for name, value in original.headers if name.lower() not in repeated]
    return int(own.get_statuscode()), kept + list(own.headers)


_INDEXES: dict[tuple, ReplayIndex] = {}


def shared_index(paths: Iterable[str | os.PathLike]) -> ReplayIndex:
    """One :class:`ReplayIndex` per set of files in a process: Scrapy builds a handler per
    scheme and per crawler (``stenogram crawl`` runs four), and each would read every WARC."""
    key = tuple(sorted(os.path.abspath(p) for p in paths))
    stamp = tuple((p, os.stat(p).st_mtime_ns) if os.path.exists(p) else (p, None) for p in key)
    index = _INDEXES.get(stamp)
    if index is None:
        index = _INDEXES[stamp] = ReplayIndex(paths)
    return index


class WarcReplayDownloadHandler(BaseDownloadHandler):
    """A download handler answering every request from the archive (see the module doc)."""

    def __init__(self, crawler):
        super().__init__(crawler)
        paths = crawler.settings.getlist("REPLAY_FROM")
        if not paths:
            raise NotConfigured("REPLAY_FROM is not set")
        self.crawler = crawler
        self.at = crawler.settings.get("REPLAY_AT")
        self.index = shared_index(paths)
        self.stats = crawler.stats
        # weak=False: Scrapy drops its download handlers before it sends spider_closed
        crawler.signals.connect(self._spider_closed, signal=signals.spider_closed, weak=False)
        log.info("replaying from %d captures of %d URLs", len(self.index), len(self.index.by_key))

    def _inc(self, key: str) -> None:
        if self.stats is not None:
            self.stats.inc_value(f"replay/{key}")

    def _spider_name(self) -> str | None:
        spider = getattr(self.crawler, "spider", None)
        return getattr(spider, "name", None)

    def _spider_closed(self, spider=None, reason=None) -> None:
        """An error (so the crawl exits 1) when the spider asked for URLs and none was there.

        Both handlers of a crawler (http, https) hear the signal; the stats are the crawler's,
        so the first one to hear it reports."""
        stats = self.stats
        if stats is None or stats.get_value("replay/nothing_found"):
            return
        misses = stats.get_value("replay/miss", 0) + stats.get_value("replay/revisit_unresolved", 0)
        if misses and not stats.get_value("replay/hit", 0):
            stats.set_value("replay/nothing_found", 1)
            log.error("replay: none of the %d URLs %s requested is in the archive (%d captures"
                      " of spiders %s)", misses, self._spider_name() or "the spider",
                      len(self.index), ", ".join(sorted(self.index.spiders)) or "unknown")

    def _miss(self, request, why: str) -> ReplayMiss:
        self._inc(why)
        log.warning("replay miss: %s is not in the archive", request.url)
        return ReplayMiss(f"not in the archive: {request.url}")

    async def download_request(self, request) -> Response:
        entry = self.index.lookup(request.url, self.at, spider=self._spider_name())
        if entry is None:
            raise self._miss(request, "miss")
        if entry.url != request.url and url_key(entry.url) != url_key(request.url):
            self._inc("mapped")
        http, payload = self.index.read(entry)
        coding_headers = http
        original = None
        if entry.rec_type == "revisit":
            original = self.index.original_of(entry)
            if original is None:
                raise self._miss(request, "revisit_unresolved")
            coding_headers, payload = self.index.read(original)
            self._inc("revisit")
        status, head = served_head(http, coding_headers if original is not None else None)
        if "chunked" in (coding_headers.get_header("Transfer-Encoding") or "").lower():
            payload = dechunk(payload)
        headers = Headers()
        for name, value in head:
            if name.lower() not in _FRAMING and name.lower() != "content-encoding":
                headers.appendlist(name, value)
        if enc := coding_headers.get_header("Content-Encoding"):
            headers[b"Content-Encoding"] = enc
        if payload:
            headers[b"Content-Length"] = str(len(payload))
        self._inc("hit")
        request.meta["warc"] = entry.location
        request.meta["warc_date"] = entry.date
        if original is not None:
            request.meta["warc_revisit_of"] = original.location
        else:
            request.meta.pop("warc_revisit_of", None)
        if original is not None and status == 304:
            request.meta["replayed_capture"] = replayed_capture(entry, original)
        else:
            request.meta.pop("replayed_capture", None)
        respcls = responsetypes.from_args(headers=headers, url=request.url, body=payload)
        return respcls(url=request.url, status=status, headers=headers, body=payload,
                       request=request, flags=["replayed"], protocol=(http or coding_headers).protocol)
