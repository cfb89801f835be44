"""Read WARC files back as :class:`~archive.capture.Capture` objects.

``stenogram reprocess`` rebuilds the corpus from the WARCs alone, so this reader has to get
from a record exactly what the live pipeline got from Scrapy: the payload with transfer- and
content-coding removed, the HTTP status and headers, and where the record sits.

It is built for real archives, which are never perfect: a record that cannot be parsed, whose
digest does not match, or that stops short is logged, counted in :class:`ReadStats` and
skipped, and reading goes on — in a ``.warc.gz`` at the next gzip member header, in a plain
``.warc`` at the next ``WARC/1.x`` line. Records are streamed one at a time; a WARC is never
held in memory (only one payload at a time, plus a small index used to resolve revisits).
"""
from __future__ import annotations

import logging
import zlib
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Iterator

from warcio.archiveiterator import ArchiveIterator
from warcio.bufferedreaders import ChunkedDataReader
from warcio.statusandheaders import StatusAndHeaders

from archive.capture import Capture, WarcLocation

log = logging.getLogger(__name__)

WARC_SUFFIXES = (".warc.gz", ".warc")
GZIP_MAGIC = b"\x1f\x8b\x08"
WARC_MAGIC = b"WARC/1."
_SCAN_CHUNK = 1 << 20


class ContentDecodingError(ValueError):
    """The payload does not decode with the content-coding its headers declare."""


@dataclass
class ReadStats:
    """What a read saw: how many records, how many became captures, and why others did not."""

    files: int = 0
    records: int = 0
    captures: int = 0
    revisits_resolved: int = 0
    skipped: Counter = field(default_factory=Counter)

    def skip(self, reason: str, path: Path | str, offset: int | None, detail: object = "") -> None:
        self.skipped[reason] += 1
        log.warning("skipped record in %s at offset %s: %s %s", path, offset, reason, detail)

    @property
    def skipped_total(self) -> int:
        return sum(self.skipped.values())

    def to_dict(self) -> dict:
        return {
            "files": self.files,
            "records": self.records,
            "captures": self.captures,
            "revisits_resolved": self.revisits_resolved,
            "skipped": dict(self.skipped),
        }


@dataclass
class ArchivedRecord:
    """One WARC record read back whole: headers, payload as stored, where it sits.

    The scanner yields these while streaming a file; ``read_record_at`` returns one for
    provenance checks.
    """

    path: Path
    offset: int
    length: int
    rec_type: str
    rec_headers: StatusAndHeaders
    http_headers: StatusAndHeaders | None
    payload: bytes  # bytes after the HTTP headers, exactly as stored (still chunked/encoded)
    digest_problems: list[str]

    @classmethod
    def of(cls, record, path: Path, offset: int, length: int, payload: bytes,
           digest_problems: list[str]) -> "ArchivedRecord":
        """From a warcio record whose payload has been read."""
        return cls(path=path, offset=offset, length=length, rec_type=record.rec_type,
                   rec_headers=record.rec_headers, http_headers=record.http_headers,
                   payload=payload, digest_problems=digest_problems)

    @property
    def record_id(self) -> str | None:
        return self.rec_headers.get_header("WARC-Record-ID")

    @property
    def target_uri(self) -> str | None:
        return self.rec_headers.get_header("WARC-Target-URI")

    @property
    def date(self) -> str | None:
        return self.rec_headers.get_header("WARC-Date")

    @property
    def payload_digest(self) -> str | None:
        return self.rec_headers.get_header("WARC-Payload-Digest")

    def decoded_body(self) -> bytes:
        """The payload as a browser would parse it."""
        return decode_payload(self.payload, self.http_headers)


# --------------------------------------------------------------------------- paths


def expand_warc_paths(paths: Iterable[str | Path]) -> list[Path]:
    """Files as given, directories expanded to their ``*.warc.gz``/``*.warc`` files, sorted."""
    found: list[Path] = []
    for p in paths:
        p = Path(p)
        if p.is_dir():
            found.extend(
                sorted(c for c in p.iterdir() if c.is_file() and c.name.endswith(WARC_SUFFIXES))
            )
        elif p.is_file():
            found.append(p)
        else:
            raise FileNotFoundError(f"no such WARC file or directory: {p}")
    return found


# --------------------------------------------------------------------------- decoding


def dechunk(data: bytes) -> bytes:
    """Remove HTTP/1.1 chunked transfer-coding; data that is not validly chunked is returned as is."""
    reader = ChunkedDataReader(_BytesStream(data), raise_exceptions=False)
    out = []
    while True:
        block = reader.read(1 << 16)
        if not block:
            break
        out.append(block)
    return b"".join(out)


def decode_content(data: bytes, content_encoding: str | None) -> bytes:
    """Undo a Content-Encoding chain ("gzip", "br", "deflate", "gzip, br" ...)."""
    if not content_encoding:
        return data
    codings = [c.strip().lower() for c in content_encoding.split(",") if c.strip()]
    for coding in reversed(codings):  # applied left to right, so undone right to left
        if coding in ("identity", "none"):
            continue
        try:
            if coding in ("gzip", "x-gzip"):
                data = _gunzip_members(data)
            elif coding == "deflate":
                try:
                    data = zlib.decompress(data)
                except zlib.error:
                    data = zlib.decompress(data, -zlib.MAX_WBITS)  # raw deflate, as some servers send
            elif coding == "br":
                import brotli

                data = brotli.decompress(data)
            else:
                raise ContentDecodingError(f"unsupported content-encoding {coding!r}")
        except ContentDecodingError:
            raise
        except Exception as exc:  # zlib.error, brotli.error
            raise ContentDecodingError(f"{coding}: {exc}") from exc
    return data


def _gunzip_members(data: bytes) -> bytes:
    out = []
    while data:
        d = zlib.decompressobj(16 + zlib.MAX_WBITS)
        out.append(d.decompress(data))
        if not d.eof:
            raise ContentDecodingError("gzip: truncated stream")
        data = d.unused_data
        if data and not data.startswith(b"\x1f\x8b"):
            break  # trailing garbage after the last member: browsers ignore it too
    return b"".join(out)


def decode_payload(payload: bytes, http_headers: StatusAndHeaders | None) -> bytes:
    """Payload bytes as stored → body as a browser parses it (chunking and coding removed)."""
    if http_headers is None:
        return payload
    te = (http_headers.get_header("Transfer-Encoding") or "").lower()
    if "chunked" in te:
        payload = dechunk(payload)
    return decode_content(payload, http_headers.get_header("Content-Encoding"))


class _BytesStream:
    def __init__(self, data: bytes):
        self._data = memoryview(data)
        self._pos = 0

    def read(self, size: int = -1) -> bytes:
        end = len(self._data) if size is None or size < 0 else self._pos + size
        chunk = bytes(self._data[self._pos:end])
        self._pos += len(chunk)
        return chunk

    def readline(self, size: int = -1) -> bytes:
        rest = self._data[self._pos:]
        idx = bytes(rest[: size if size and size > 0 else len(rest)]).find(b"\n")
        n = (idx + 1) if idx >= 0 else (size if size and size > 0 else len(rest))
        return self.read(n)

    def close(self) -> None:
        pass


# --------------------------------------------------------------------------- records


def _find_magic(fh, start: int, magic: bytes) -> int | None:
    """Offset of the next ``magic`` at or after ``start``, or None."""
    fh.seek(start)
    pos = start
    tail = b""
    while True:
        chunk = fh.read(_SCAN_CHUNK)
        if not chunk:
            return None
        buf = tail + chunk
        idx = buf.find(magic)
        if idx >= 0:
            return pos - len(tail) + idx
        tail = buf[-(len(magic) - 1):]
        pos += len(chunk)


def _is_gzip(path: Path) -> bool:
    with open(path, "rb") as fh:
        return fh.read(3) == GZIP_MAGIC


def _read_payload(record) -> tuple[bytes, int]:
    """All the record's remaining content, and how many declared bytes never arrived."""
    parts = []
    stream = record.raw_stream
    while True:
        block = stream.read(1 << 16)
        if not block:
            break
        parts.append(block)
    missing = getattr(stream, "limit", 0)
    return b"".join(parts), missing


def _scan_records(path: Path, stats: ReadStats) -> Iterator[ArchivedRecord]:
    """Every readable record in one file, resyncing after damage."""
    stats.files += 1
    magic = GZIP_MAGIC if _is_gzip(path) else WARC_MAGIC
    with open(path, "rb") as fh:
        start = 0
        while start is not None:
            fh.seek(start)
            it = ArchiveIterator(fh, check_digests=True)
            offset = start
            try:
                for record in it:
                    offset = it.offset
                    payload, missing = _read_payload(record)
                    length = it.get_record_length()
                    if missing:
                        stats.skip("truncated", path, offset, f"{missing} bytes missing")
                        offset = None
                        continue
                    problems = list(record.digest_checker.problems)
                    if problems:
                        stats.skip("digest-mismatch", path, offset, "; ".join(problems))
                        offset = None
                        continue
                    stats.records += 1
                    yield ArchivedRecord.of(record, path, offset, length, payload, problems)
                    offset = None  # this record is done; damage from here on is the next one's
                return
            except GeneratorExit:
                raise
            except Exception as exc:  # warcio raises many kinds on bad input
                bad = it.offset if offset is None else offset
                stats.skip("corrupt", path, bad, f"{type(exc).__name__}: {exc}")
                start = _find_magic(fh, max(bad, start) + 1, magic)
                if start is not None:
                    log.info("resyncing %s at offset %d", path, start)


def read_record_at(path: str | Path, offset: int) -> ArchivedRecord:
    """Read the one record at ``offset`` of ``path`` (as given by a :class:`WarcLocation`)."""
    path = Path(path)
    with open(path, "rb") as fh:
        fh.seek(offset)
        it = ArchiveIterator(fh, check_digests=True)
        try:
            record = next(it)
        except StopIteration:
            raise ValueError(f"no WARC record at {path}:{offset}") from None
        payload, missing = _read_payload(record)
        if missing:
            raise ValueError(f"truncated WARC record at {path}:{offset} ({missing} bytes missing)")
        length = it.get_record_length()
        return ArchivedRecord.of(record, path, offset, length, payload,
                                 list(record.digest_checker.problems))


# --------------------------------------------------------------------------- captures


def _lower_headers(http_headers: StatusAndHeaders | None) -> dict[str, str]:
    if http_headers is None:
        return {}
    return {name.lower(): value for name, value in http_headers.headers}


def _status(http_headers: StatusAndHeaders) -> int | None:
    try:
        return int(http_headers.get_statuscode())
    except (TypeError, ValueError):
        return None


@dataclass(frozen=True)
class _Original:
    path: Path
    offset: int


class _RevisitIndex:
    """Where each response's payload can be found again: by record id, digest and URL+date."""

    def __init__(self) -> None:
        self.by_id: dict[str, _Original] = {}
        self.by_digest: dict[str, _Original] = {}
        self.by_url_date: dict[tuple[str, str], _Original] = {}

    def add(self, rec: ArchivedRecord) -> None:
        where = _Original(rec.path, rec.offset)
        h = rec.rec_headers
        if rid := h.get_header("WARC-Record-ID"):
            self.by_id[rid] = where
        if digest := h.get_header("WARC-Payload-Digest"):
            self.by_digest.setdefault(digest, where)
        uri, date = h.get_header("WARC-Target-URI"), h.get_header("WARC-Date")
        if uri and date:
            self.by_url_date[(uri, date)] = where

    def find(self, revisit: ArchivedRecord) -> _Original | None:
        h = revisit.rec_headers
        if (rid := h.get_header("WARC-Refers-To")) and rid in self.by_id:
            return self.by_id[rid]
        if (digest := h.get_header("WARC-Payload-Digest")) and digest in self.by_digest:
            return self.by_digest[digest]
        uri = h.get_header("WARC-Refers-To-Target-URI") or h.get_header("WARC-Target-URI")
        date = h.get_header("WARC-Refers-To-Date")
        if uri and date:
            return self.by_url_date.get((uri, date))
        return None


def _location(rec: ArchivedRecord) -> WarcLocation:
    return WarcLocation(
        warc_file=rec.path.name,
        warc_offset=rec.offset,
        warc_length=rec.length,
        warc_record_id=rec.rec_headers.get_header("WARC-Record-ID") or "",
        payload_digest=rec.rec_headers.get_header("WARC-Payload-Digest"),
    )


def _response_capture(rec: ArchivedRecord, stats: ReadStats) -> Capture | None:
    if rec.http_headers is None or (status := _status(rec.http_headers)) is None:
        stats.skip("not-http", rec.path, rec.offset)
        return None
    try:
        body = decode_payload(rec.payload, rec.http_headers)
    except ContentDecodingError as exc:
        stats.skip("bad-content-encoding", rec.path, rec.offset, exc)
        return None
    return Capture(
        url=rec.rec_headers.get_header("WARC-Target-URI"),
        fetched_at=rec.rec_headers.get_header("WARC-Date"),
        http_status=status,
        content_type=rec.http_headers.get_header("Content-Type"),
        body=body,
        location=_location(rec),
        headers=_lower_headers(rec.http_headers),
    )


def _revisit_capture(rec: ArchivedRecord, original: _Original, stats: ReadStats) -> Capture | None:
    """A revisit as a capture: its own URL, date and headers; the body of the record it refers to.

    A ``304 Not Modified`` revisit takes the original's status, since the body it stands for is
    the original's.
    """
    try:
        orig = read_record_at(original.path, original.offset)
        body = orig.decoded_body()
    except (ValueError, OSError) as exc:  # ContentDecodingError is a ValueError
        stats.skip("revisit-original-unreadable", rec.path, rec.offset, exc)
        return None
    http = rec.http_headers if rec.http_headers is not None else orig.http_headers
    status = _status(http) if http is not None else None
    if status in (None, 304) and orig.http_headers is not None:
        status = _status(orig.http_headers)
    if status is None:
        stats.skip("not-http", rec.path, rec.offset)
        return None
    headers = _lower_headers(orig.http_headers)
    headers.update(_lower_headers(rec.http_headers))
    content_type = headers.get("content-type")
    stats.revisits_resolved += 1
    return Capture(
        url=rec.rec_headers.get_header("WARC-Target-URI"),
        fetched_at=rec.rec_headers.get_header("WARC-Date"),
        http_status=status,
        content_type=content_type,
        body=body,
        location=_location(rec),
        headers=headers,
    )


class _CrawlOfRecords:
    """Which spider and crawl wrote a record, from the warcinfo record it names.

    stenogram's writer puts ``spider`` and ``jobId`` in each file's warcinfo, and every record
    carries ``WARC-Warcinfo-ID``; so a corpus rebuilt from WARCs knows each capture's source and
    crawl exactly as the live crawl did.
    """

    def __init__(self):
        self.by_warcinfo: dict[str, tuple[str | None, str | None]] = {}

    def add(self, rec: ArchivedRecord) -> None:
        fields = {}
        for line in (rec.payload or b"").decode("utf-8", "replace").splitlines():
            key, sep, value = line.partition(":")
            if sep:
                fields[key.strip()] = value.strip()
        record_id = rec.rec_headers.get_header("WARC-Record-ID")
        if record_id:
            self.by_warcinfo[record_id] = (fields.get("spider"), fields.get("jobId"))

    def attribute(self, capture: Capture, rec: ArchivedRecord) -> Capture:
        spider, job = self.by_warcinfo.get(rec.rec_headers.get_header("WARC-Warcinfo-ID") or "", (None, None))
        capture.source = capture.source or spider
        capture.crawl_id = capture.crawl_id or job
        return capture


def iter_captures(
    paths: Iterable[str | Path] | str | Path, stats: ReadStats | None = None
) -> Iterator[Capture]:
    """Yield a :class:`Capture` per ``response`` record and per resolvable ``revisit`` record.

    ``paths`` are WARC files and/or directories (their ``*.warc.gz``/``*.warc``, sorted).
    Revisits whose original comes later in the given files are yielded at the end; revisits
    whose original is not in the files at all are counted as ``revisit-unresolved``.
    """
    if isinstance(paths, (str, Path)):
        paths = [paths]
    stats = stats if stats is not None else ReadStats()
    index = _RevisitIndex()
    crawls = _CrawlOfRecords()
    deferred: list[ArchivedRecord] = []
    for path in expand_warc_paths(paths):
        for rec in _scan_records(path, stats):
            if rec.rec_type == "warcinfo":
                crawls.add(rec)
                continue
            if rec.rec_type == "response":
                index.add(rec)
                capture = _response_capture(rec, stats)
            elif rec.rec_type == "revisit":
                original = index.find(rec)
                if original is None:
                    rec.payload = b""  # keep only headers while waiting
                    deferred.append(rec)
                    continue
                capture = _revisit_capture(rec, original, stats)
            else:
                continue
            if capture is not None:
                stats.captures += 1
                yield crawls.attribute(capture, rec)
    for rec in deferred:
        original = index.find(rec)
        if original is None:
            stats.skip("revisit-unresolved", rec.path, rec.offset,
                       rec.rec_headers.get_header("WARC-Refers-To") or "")
            continue
        capture = _revisit_capture(rec, original, stats)
        if capture is not None:
            stats.captures += 1
            yield crawls.attribute(capture, rec)
