"""Read WARC files back as :class:`~archive.capture.Capture` objects.

``stenogram reprocess`` rebuilds the corpus from the WARCs alone, so this reader has to get
from a record exactly what the live pipeline got from Scrapy: the payload with transfer- and
content-coding removed, the HTTP status and headers, and where the record sits.

It is built for real archives, which are never perfect: a record that cannot be parsed, whose
digest does not match, or that stops short is logged, counted in :class:`ReadStats` and
skipped, and reading goes on — in a ``.warc.gz`` at the next gzip member header, in a plain
``.warc`` at the next ``WARC/1.x`` line. Records are streamed one at a time; a WARC is never
held in memory (only one payload at a time, plus a small index used to resolve revisits).

Archives come from elsewhere too, so nothing read is trusted to be small: a record's payload and
its decoded body are capped (``max_decoded``, default :data:`DEFAULT_MAX_DECODED`, the crawl's
``DOWNLOAD_MAXSIZE``). A gzip member or a ``Content-Encoding`` that inflates past the cap (a
"zip bomb": 2 MB of gzip made ``reprocess`` reach 6.4 GB) is decoded in bounded steps, never
whole, and the record is skipped with reason ``too-large``. Whole files that are not WARCs
(a CSV renamed ``.warc.gz``, a whole-file gzip, an ARC file) are named by :func:`warc_problem`
before anything reads them, so a caller skips that file with its reason and goes on.
"""
from __future__ import annotations

import logging
import re
import zlib
from collections import Counter
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Iterable, Iterator

from warcio.archiveiterator import ArchiveIterator
from warcio.exceptions import ArchiveLoadFailed
from warcio.bufferedreaders import ChunkedDataReader
from warcio.statusandheaders import StatusAndHeaders

from stenogram.archive.capture import Capture, WarcLocation

log = logging.getLogger(__name__)

WARC_SUFFIXES = (".warc.gz", ".warc")
GZIP_MAGIC = b"\x1f\x8b\x08"
WARC_MAGIC = b"WARC/1."
_SCAN_CHUNK = 1 << 20
_DECODE_STEP = 1 << 20
# warcio inflates each block it reads from a .warc.gz whole: 16 KiB (its default) of a gzip
# bomb (ratio ~1000:1) is 16 MiB at once, held in several copies; 4 KiB bounds that at ~4 MiB,
# and reading ordinary pages is no slower.
_READ_BLOCK = 4096
_SNIFF_LIMIT = 1 << 20
_MAX_LINE = 1 << 20  # a WARC or HTTP header line longer than this is damage

#: Largest payload (as stored, and once decoded) a record may have; the crawl's own
#: DOWNLOAD_MAXSIZE, so everything a stenogram crawl archived reads back.
DEFAULT_MAX_DECODED = 64 * 1024 * 1024

#: Reasons for a skipped record that mean the *file* is damaged (an archive a WACZ, an index or
#: a rebuild must not trust). Others (``bad-content-encoding``, ``too-large``, ``not-http``...)
#: are records as the server sent them.
DAMAGE_REASONS = ("truncated", "corrupt", "not-a-warc")


class ContentDecodingError(ValueError):
    """The payload does not decode with the content-coding its headers declare."""


class TooLargeError(ContentDecodingError):
    """The payload, or what it decodes to, is larger than the cap (``max_decoded``)."""

    def __init__(self, what: str, limit: int):
        super().__init__(f"{what} over the {limit:,}-byte cap (max_decoded)")
        self.limit = limit


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
        if offset is None:  # the whole file
            log.warning("skipped file %s: %s: %s", path, reason, detail)
        else:
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


class _QuietStats(ReadStats):
    def skip(self, reason: str, path, offset, detail: object = "") -> None:
        self.skipped[reason] += 1


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

    def decoded_body(self, max_decoded: int = DEFAULT_MAX_DECODED) -> bytes:
        """The payload as a browser would parse it (raises :class:`TooLargeError` past the cap)."""
        return decode_payload(self.payload, self.http_headers, max_decoded)


# --------------------------------------------------------------------------- paths


def expand_warc_paths(paths: Iterable[str | Path],
                      suffixes: tuple[str, ...] = WARC_SUFFIXES) -> list[Path]:
    """The one rule for naming WARCs on a command line (``reprocess``, ``index``, ``wacz``,
    ``salvage``; the reader itself): a file is taken as given, whatever its name; a directory
    stands for every file under it, at any depth, whose name ends in one of ``suffixes``
    (``*.warc.gz``/``*.warc``), sorted by path within that directory, so runs are reproducible.
    Recursive because a crawl's ``--out`` folder keeps its WARCs in ``warc/`` and a collection
    of workers' folders is one folder of folders. Symbolic links to directories inside are not
    followed (no loops); a link given on the command line is. Files still being written
    (``.warc.gz.open``) are not WARCs here: ``archive.salvage.salvage_paths`` finds them with
    this same rule and ``suffixes=(".warc.gz.open",)``."""
    found: list[Path] = []
    for p in paths:
        p = Path(p)
        if p.is_dir():
            found.extend(sorted(c for c in p.rglob("*") if c.name.endswith(suffixes)
                                and c.is_file()))
        elif p.is_file():
            found.append(p)
        else:
            raise FileNotFoundError(f"no such WARC file or directory: {p}")
    return found


def warc_problem(path: str | Path) -> str | None:
    """Why ``path`` is not a WARC file this reader can use, or None (it looks like one).

    Cheap: the first bytes, and for a ``.warc.gz`` the first two records. Catches what users
    hand over by mistake: an empty file, a CSV or HTML file renamed ``.warc.gz``, a whole-file
    gzip (one member for all records: warcio and pywb refuse it), an ARC file. Damage further
    in is counted per record by the scanner (:func:`warc_damage` looks at every record).
    """
    path = Path(path)
    try:
        with open(path, "rb") as fh:
            head = fh.read(4096)
    except OSError as exc:
        return f"cannot read it ({exc.strerror})"
    if not head:
        return "an empty file"
    gz = head.startswith(GZIP_MAGIC[:2])
    start = head
    if gz:
        try:
            start = zlib.decompressobj(16 + zlib.MAX_WBITS).decompress(head, 64)
        except zlib.error as exc:
            return f"a damaged gzip file ({exc})"
    if start.lstrip().startswith(b"filedesc://"):
        return "an ARC file (stenogram reads WARC files only)"
    if not start.startswith(WARC_MAGIC):
        shown = start[:24].decode("utf-8", "replace")
        return f"not a WARC file ({'gzip content' if gz else 'it'} starts with {shown!r})"
    if gz:
        with open(path, "rb") as fh:
            it = _archive_iterator(fh)
            try:
                for n, record in enumerate(it):
                    # Reaching the 2nd record means reading all of the 1st: not for a big one
                    # (a bomb); the scanner then reports a whole-file gzip as corrupt.
                    if n >= 1 or int(record.length or 0) > _SNIFF_LIMIT:
                        break
            except ArchiveLoadFailed as exc:
                if "non-chunked" in str(exc):
                    return ("a whole-file gzip, not one gzip member per record "
                            "(`warcio recompress` rewrites it)")
            except Exception:  # damage after the start: the scanner counts it per record
                pass
    return None


def warc_damage(path: str | Path, max_decoded: int = DEFAULT_MAX_DECODED) -> str | None:
    """Why the WARC at ``path`` cannot be trusted whole (not a WARC, a truncated or corrupt
    record), or None. Reads every record (memory bounded by ``max_decoded``): for commands that
    package or index a file as it is, where one bad record makes a bad WACZ or index."""
    if problem := warc_problem(path):
        return problem
    stats = _QuietStats()  # the caller reports the one-line reason
    for _ in _scan_records(Path(path), stats, max_decoded):
        pass
    damage = {k: v for k, v in stats.skipped.items() if k in DAMAGE_REASONS}
    if damage:
        return "damaged: " + ", ".join(f"{n} {reason} record(s)" for reason, n in damage.items())
    return None


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


def decode_content(data: bytes, content_encoding: str | None,
                   max_decoded: int = DEFAULT_MAX_DECODED) -> bytes:
    """Undo a Content-Encoding chain ("gzip", "br", "deflate", "gzip, br" ...).

    Each step stops as soon as its output passes ``max_decoded`` bytes (:class:`TooLargeError`),
    so a bomb costs at most the cap in memory, never its inflated size.
    """
    if not content_encoding:
        return data
    codings = [c.strip().lower() for c in content_encoding.split(",") if c.strip()]
    for coding in reversed(codings):  # applied left to right, so undone right to left
        if coding in ("identity", "none"):
            continue
        try:
            if coding in ("gzip", "x-gzip"):
                data = _gunzip_members(data, max_decoded)
            elif coding == "deflate":
                try:
                    data = _inflate_whole(zlib.MAX_WBITS, data, max_decoded)
                except zlib.error:  # raw deflate, as some servers send
                    data = _inflate_whole(-zlib.MAX_WBITS, data, max_decoded)
            elif coding == "br":
                data = _unbrotli(data, max_decoded)
            else:
                raise ContentDecodingError(f"unsupported content-encoding {coding!r}")
        except ContentDecodingError:
            raise
        except Exception as exc:  # zlib.error, brotli.error
            raise ContentDecodingError(f"{coding}: {exc}") from exc
    return data


def _inflate(d, data: bytes, max_decoded: int) -> bytes:
    """One zlib stream, in bounded steps; ``d.unused_data`` holds what follows it."""
    out, size = [], 0
    while True:
        block = d.decompress(data, _DECODE_STEP)
        data = d.unconsumed_tail
        size += len(block)
        if size > max_decoded:
            raise TooLargeError("decoded body", max_decoded)
        out.append(block)
        if d.eof or (not data and not block):
            return b"".join(out)


def _inflate_whole(wbits: int, data: bytes, max_decoded: int) -> bytes:
    d = zlib.decompressobj(wbits)
    out = _inflate(d, data, max_decoded)
    if not d.eof:
        raise zlib.error("incomplete or truncated stream")
    return out


def _gunzip_members(data: bytes, max_decoded: int = DEFAULT_MAX_DECODED) -> bytes:
    out, size = [], 0
    while data:
        d = zlib.decompressobj(16 + zlib.MAX_WBITS)
        block = _inflate(d, data, max_decoded - size)
        size += len(block)
        out.append(block)
        if not d.eof:
            raise ContentDecodingError("gzip: truncated stream")
        data = d.unused_data
        if data and not data.startswith(b"\x1f\x8b"):
            break  # trailing garbage after the last member: browsers ignore it too
    return b"".join(out)


def _unbrotli(data: bytes, max_decoded: int) -> bytes:
    import brotli

    d = brotli.Decompressor()
    out, size = [], 0
    block = d.process(data, output_buffer_limit=_DECODE_STEP)
    while True:
        size += len(block)
        if size > max_decoded:
            raise TooLargeError("decoded body", max_decoded)
        out.append(block)
        if d.is_finished() or (d.can_accept_more_data() and not block):
            break
        block = d.process(b"", output_buffer_limit=_DECODE_STEP)
    if not d.is_finished():
        raise ContentDecodingError("br: truncated stream")
    return b"".join(out)


def decode_payload(payload: bytes, http_headers: StatusAndHeaders | None,
                   max_decoded: int = DEFAULT_MAX_DECODED) -> bytes:
    """Payload bytes as stored → body as a browser parses it (chunking and coding removed)."""
    if http_headers is None:
        return payload
    te = (http_headers.get_header("Transfer-Encoding") or "").lower()
    if "chunked" in te:
        payload = dechunk(payload)
    return decode_content(payload, http_headers.get_header("Content-Encoding"), max_decoded)


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


def _archive_iterator(fh, **kwargs) -> ArchiveIterator:
    """warcio's iterator with a bounded read block and bounded lines.

    warcio reads header lines with ``readline()`` and no limit: a gzip member inflating to a
    gigabyte without a newline would be one line held whole. Lines are cut at
    ``_MAX_LINE``; a header that long is damage, and the scanner skips it as ``corrupt``.
    """
    it = ArchiveIterator(fh, block_size=_READ_BLOCK, **kwargs)
    readline = it.reader.readline

    def bounded_readline(length=None):
        return readline(_MAX_LINE if length is None else min(length, _MAX_LINE))

    it.reader.readline = bounded_readline
    return it


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


def _read_payload(record, max_decoded: int = DEFAULT_MAX_DECODED) -> tuple[bytes | None, int]:
    """All the record's remaining content, and how many declared bytes never arrived.

    The content is None when it is longer than ``max_decoded``: the rest is read and dropped
    block by block (the iterator must pass it to reach the next record), never held.
    """
    parts, size = [], 0
    stream = record.raw_stream
    while True:
        block = stream.read(1 << 16)
        if not block:
            break
        size += len(block)
        if size > max_decoded:
            parts = None
            while stream.read(1 << 16):
                pass
            break
        parts.append(block)
    missing = getattr(stream, "limit", 0)
    return (None if parts is None else b"".join(parts)), missing


def _scan_records(path: Path, stats: ReadStats,
                  max_decoded: int = DEFAULT_MAX_DECODED) -> Iterator[ArchivedRecord]:
    """Every readable record in one file, resyncing after damage."""
    stats.files += 1
    magic = GZIP_MAGIC if _is_gzip(path) else WARC_MAGIC
    with open(path, "rb") as fh:
        start = 0
        while start is not None:
            fh.seek(start)
            it = _archive_iterator(fh, check_digests=True)
            offset = start
            try:
                for record in it:
                    offset = it.offset
                    payload, missing = _read_payload(record, max_decoded)
                    length = it.get_record_length()
                    if payload is None and not missing:
                        stats.skip("too-large", path, offset,
                                   f"record payload over the {max_decoded:,}-byte cap (max_decoded)")
                        offset = None
                        continue
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


def read_record_at(path: str | Path, offset: int, max_decoded: int = DEFAULT_MAX_DECODED,
                   check_digests: bool = True) -> ArchivedRecord:
    """Read the one record at ``offset`` of ``path`` (as given by a :class:`WarcLocation`).

    ``check_digests=False``: for a caller that has verified this record already (a cluster
    worker reading what the writer's scan planned); the check is a fifth of a record's read."""
    path = Path(path)
    with open(path, "rb") as fh:
        fh.seek(offset)
        it = _archive_iterator(fh, check_digests=check_digests)
        try:
            record = next(it)
        except StopIteration:
            raise ValueError(f"no WARC record at {path}:{offset}") from None
        payload, missing = _read_payload(record, max_decoded)
        if missing:
            raise ValueError(f"truncated WARC record at {path}:{offset} ({missing} bytes missing)")
        if payload is None:
            raise TooLargeError(f"WARC record at {path}:{offset}", max_decoded)
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
        truncated=rec.rec_headers.get_header("WARC-Truncated") or None,
    )


def _response_capture(rec: ArchivedRecord, stats: ReadStats,
                      max_decoded: int = DEFAULT_MAX_DECODED) -> Capture | None:
    if rec.http_headers is None or (status := _status(rec.http_headers)) is None:
        stats.skip("not-http", rec.path, rec.offset)
        return None
    try:
        body = decode_payload(rec.payload, rec.http_headers, max_decoded)
    except TooLargeError as exc:
        stats.skip("too-large", rec.path, rec.offset, exc)
        return None
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


def _revisit_capture(rec: ArchivedRecord, original: _Original, stats: ReadStats,
                     max_decoded: int = DEFAULT_MAX_DECODED) -> Capture | None:
    """A revisit as a capture: its own URL, date, status and headers; the body of the record
    it refers to (the text seen again).

    A ``server-not-modified`` revisit keeps its own status, 304: that is what happened, and the
    corpus records the fetch as a 304 whose text is the original's. Headers the 304 does not
    repeat (``Content-Type``) are the original's.
    """
    try:
        orig = read_record_at(original.path, original.offset, max_decoded)
        body = orig.decoded_body(max_decoded)
    except TooLargeError as exc:
        stats.skip("too-large", rec.path, rec.offset, exc)
        return None
    except (ValueError, OSError) as exc:  # ContentDecodingError is a ValueError
        stats.skip("revisit-original-unreadable", rec.path, rec.offset, exc)
        return None
    http = rec.http_headers if rec.http_headers is not None else orig.http_headers
    status = _status(http) if http is not None else None
    if status is None and orig.http_headers is not None:  # a revisit with no HTTP head
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
        # a revisit of a cut record stands for a cut page: it gives no text either
        location=replace(_location(rec), truncated=orig.rec_headers.get_header("WARC-Truncated")
                         or None),
        headers=headers,
    )


def _record_path(warc_dir: Path, name: str) -> Path:
    """Where the file a :class:`WarcLocation` names is now: its final name, or the ``.open``
    name while its writer still appends to it (records are written whole, one ``write`` each)."""
    from stenogram.archive.salvage import OPEN_SUFFIX

    final = warc_dir / name
    if final.exists():
        return final
    open_path = warc_dir / (name + OPEN_SUFFIX)
    return open_path if open_path.exists() else final  # closed in between: the final name


def revisit_capture_at(warc_dir: str | Path, revisit: WarcLocation, original: WarcLocation,
                       stats: ReadStats | None = None,
                       max_decoded: int = DEFAULT_MAX_DECODED) -> Capture | None:
    """The :class:`Capture` that :func:`iter_captures` makes of the revisit record at
    ``revisit`` whose original is the record at ``original`` (both in ``warc_dir``), or None
    when either cannot be read (counted in ``stats``, logged).

    For the live pipeline: a re-check the crawl records (a 304 Not Modified) becomes the very
    capture a rebuild from the same WARCs makes, by the same code (status, date, headers, the
    original's body), so rebuild = live on captures and ``last_seen``.
    """
    stats = stats if stats is not None else ReadStats()
    warc_dir = Path(warc_dir)
    path = _record_path(warc_dir, revisit.warc_file)
    try:
        rec = read_record_at(path, revisit.warc_offset, max_decoded)
    except (ValueError, OSError) as exc:
        stats.skip("revisit-unreadable", path, revisit.warc_offset, exc)
        return None
    if rec.record_id != revisit.warc_record_id or rec.rec_type != "revisit":
        stats.skip("revisit-unreadable", path, revisit.warc_offset,
                   f"not the revisit {revisit.warc_record_id}")
        return None
    where = _Original(_record_path(warc_dir, original.warc_file), original.warc_offset)
    capture = _revisit_capture(rec, where, stats, max_decoded)
    if capture is not None:  # the file's final name, even while it is still ``.open``
        capture.location = replace(capture.location, warc_file=revisit.warc_file)
    return capture


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

    def spider_of(self, rec: ArchivedRecord) -> str | None:
        return self.by_warcinfo.get(rec.rec_headers.get_header("WARC-Warcinfo-ID") or "", (None, None))[0]

    def attribute(self, capture: Capture, rec: ArchivedRecord) -> Capture:
        spider, job = self.by_warcinfo.get(rec.rec_headers.get_header("WARC-Warcinfo-ID") or "", (None, None))
        capture.source = capture.source or spider
        capture.crawl_id = capture.crawl_id or job
        return capture


def iter_captures(
    paths: Iterable[str | Path] | str | Path, stats: ReadStats | None = None,
    max_decoded: int = DEFAULT_MAX_DECODED,
) -> Iterator[Capture]:
    """Yield a :class:`Capture` per ``response`` record and per resolvable ``revisit`` record.

    ``paths`` are WARC files and/or directories (their ``*.warc.gz``/``*.warc``, sorted).
    Revisits whose original comes later in the given files are yielded at the end; revisits
    whose original is not in the files at all are counted as ``revisit-unresolved``.
    A file that is not a WARC at all (:func:`warc_problem`) is skipped whole, counted as
    ``not-a-warc``; a record larger than ``max_decoded`` (stored or decoded) as ``too-large``.

    A page a backfill fetched from a web archive is followed, in the same file, by a metadata
    record naming the original URL, capture time, archive and source (:class:`_Provenance`):
    each capture is held until the next response or revisit so that record can reach it, and
    the capture takes the original's URL, ``archived_at``, ``via`` and source, as the live
    pipeline's did. A backfill's capture without one (a kill between the two records) is
    skipped, counted ``no-provenance``: the backfill still owed it and fetched it again.
    """
    if isinstance(paths, (str, Path)):
        paths = [paths]
    stats = stats if stats is not None else ReadStats()
    crawls = _CrawlOfRecords()
    provenance = _Provenance()

    def build(rec: ArchivedRecord, original: _Original | None):
        if original is None:
            capture = _response_capture(rec, stats, max_decoded)
        else:
            capture = _revisit_capture(rec, original, stats, max_decoded)
        return (capture, rec) if capture is not None else None

    def release(item):
        capture, rec = item
        if not provenance.apply(capture, rec, crawls):
            stats.skip("no-provenance", rec.path, rec.offset, "a backfill's capture without its metadata record")
            return None
        stats.captures += 1
        return crawls.attribute(capture, rec)

    yield from _walk_captures(paths, stats, max_decoded, crawls, provenance, build, release)


def _walk_captures(paths, stats: ReadStats, max_decoded: int, crawls: "_CrawlOfRecords",
                   provenance: "_Provenance", build, release, absolute: bool = False) -> Iterator:
    """The record walk :func:`iter_captures` and ``archive.ranges.plan_captures`` share.

    Every ``response`` and resolvable ``revisit`` record goes, as it is read, to
    ``build(record, its revisit original or None)``; what that returns (None: nothing) is held
    until the next response or revisit or the end of its file, so that the metadata record of a
    backfill's page (``provenance``) reaches it, then ``release(item)`` is yielded unless None.
    Revisits whose original comes later are built and released at the end; those whose
    original never comes are counted ``revisit-unresolved``. warcinfo records go to ``crawls``.
    ``absolute``: paths made absolute (a cluster's workers open them as given).
    """
    index = _RevisitIndex()
    deferred: list[ArchivedRecord] = []
    for path in expand_warc_paths(paths):
        if absolute:
            path = path.absolute()
        if problem := warc_problem(path):
            stats.skip("not-a-warc", path, None, problem)
            continue
        held = None
        for rec in _scan_records(path, stats, max_decoded):
            if rec.rec_type == "warcinfo":
                crawls.add(rec)
                continue
            if rec.rec_type == "metadata":
                provenance.add(rec)
                continue
            if rec.rec_type == "response":
                index.add(rec)
                original = None
            elif rec.rec_type == "revisit":
                original = index.find(rec)
                if original is None:
                    rec.payload = b""  # keep only headers while waiting
                    deferred.append(rec)
                    continue
            else:
                continue
            item = build(rec, original)
            if held is not None and (done := release(held)) is not None:
                yield done
            held = item
        if held is not None and (done := release(held)) is not None:
            yield done
    for rec in deferred:
        original = index.find(rec)
        if original is None:
            stats.skip("revisit-unresolved", rec.path, rec.offset,
                       rec.rec_headers.get_header("WARC-Refers-To") or "")
            continue
        item = build(rec, original)
        if item is not None and (done := release(item)) is not None:
            yield done


#: the spider whose captures come from a web archive and carry a provenance record
BACKFILL_SPIDER = "backfill"
_REPLAY_PATH = re.compile(r"/\d{4,14}id_/")
_PROVENANCE_FIELDS = {"x-stenogram-original-url": "url", "x-stenogram-original-date": "archived_at",
                      "x-stenogram-archive": "via", "x-stenogram-source": "source"}


class _Provenance:
    """What each page fetched from a web archive stands for, from the metadata record the
    backfill writes beside it (``WARC-Concurrent-To`` its response or revisit)."""

    def __init__(self):
        self.by_record: dict[str, dict[str, str]] = {}

    def add(self, rec: ArchivedRecord) -> None:
        about = rec.rec_headers.get_header("WARC-Concurrent-To")
        payload = rec.payload or b""
        if not about or b"x-stenogram-original-url:" not in payload:
            return
        facts = {}
        for line in payload.decode("utf-8", "replace").splitlines():
            key, sep, value = line.partition(":")
            if sep and key.strip() in _PROVENANCE_FIELDS:
                facts[_PROVENANCE_FIELDS[key.strip()]] = value.strip()
        if facts.get("url"):
            self.by_record[about] = facts

    def apply(self, capture: Capture, rec: ArchivedRecord, crawls: "_CrawlOfRecords") -> bool:
        """Give ``capture`` its original's facts; False for a backfill's capture without them."""
        facts = self.by_record.pop(rec.record_id or "", None)
        if facts is None:  # a capture a backfill fetched needs them; its CDX listings do not
            return not (crawls.spider_of(rec) == BACKFILL_SPIDER
                        and _REPLAY_PATH.search(rec.target_uri or ""))
        capture.url = facts["url"]
        capture.archived_at = facts.get("archived_at") or None
        capture.via = facts.get("via") or None
        capture.source = facts.get("source") or capture.source
        return True
