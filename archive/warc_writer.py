"""WARC/1.1 writer with Heritrix-grade fidelity, a live CDXJ index and revisit records.

One gzip member per record. Every file opens with a ``warcinfo`` record and is written as
``PREFIX-TIMESTAMP17-SERIAL-PID~HOST.warc.gz.open`` (created with O_EXCL, held with an
exclusive flock so :mod:`archive.salvage` never touches a live file), fsynced and renamed to
``.warc.gz`` on close. ``NAME.cdxj.open`` grows record by record beside it and becomes
``NAME.cdxj`` on close. Records of one exchange (request + response/revisit) always land in
the same file; rotation (by ``max_size`` bytes or ``max_age`` seconds) happens between
exchanges.

Digests are computed here over the stored bytes (``sha1`` base32 by default, the CDX
convention; ``sha256`` selectable), each once: the payload digest the crawler asks for to look
up a revisit (:meth:`WarcWriter.payload_digest`) is the one the record gets. Records are
serialised here as warcio's ``WARCWriter`` serialises them (same header order, same bytes),
each compressed into a gzip member of its own (deflate level 6 by default, see
:data:`DEFAULT_COMPRESSLEVEL`) by one long-lived deflate state (:class:`GzipMembers`), and
handed to the OS with one ``write`` per record.
"""
from __future__ import annotations

import base64
import fcntl
import io
import logging
import os
import socket
import struct
import time
import zlib
from collections import OrderedDict
from datetime import datetime, timezone
from importlib import metadata
from typing import Iterable, Mapping

from warcio.recordbuilder import RecordBuilder
from warcio.archiveiterator import ArchiveIterator
from warcio.statusandheaders import StatusAndHeaders, StatusAndHeadersParser

from archive.capture import WarcLocation
from archive.cdxj import LiveCdxjIndex, is_indexed
from archive.digests import (
    DigestIndex,
    FirstCapture,
    PayloadDigester,
    digest_of,
    is_dedup_candidate,
)
from archive.http_blocks import (
    ArchivedRequest,
    ArchivedResponse,
    RawHttpHeaders,
    request_head,
    response_head,
)
from archive.salvage import CDXJ_SUFFIX, OPEN_SUFFIX, WARC_SUFFIX, salvage_directory

logger = logging.getLogger(__name__)

WARC_VERSION = "WARC/1.1"
PROFILE_IDENTICAL_PAYLOAD = "http://netpreserve.org/warc/1.1/revisit/identical-payload-digest"
PROFILE_SERVER_NOT_MODIFIED = "http://netpreserve.org/warc/1.1/revisit/server-not-modified"
WARC_1_1_SPEC = "https://iipc.github.io/warc-specifications/specifications/warc-format/warc-1.1/"
#: WARC Content-Type of each record type when none is given (warcio's defaults)
WARC_CONTENT_TYPES = RecordBuilder.WARC_RECORDS
#: How many recent captures' WARC-Dates are kept for the metadata records about them (the
#: corpus pipeline writes one shortly after each response; 64 bytes or so each).
CAPTURE_DATES_KEPT = 4096
#: Deflate level of the records. 6 is zlib's own default and what wget and most WARC tools use;
#: warcio uses 9. On 1000 real HTML pages of 30-60 KB (35.8 KiB on average, identity-coded, each
#: with a record head), one GzipMembers compressed a record in 0.52 ms of CPU at level 6 against
#: 0.90 ms at level 9 (1.7x faster), for 8589 against 8548 bytes (+0.5%): level 9 buys almost
#: nothing on HTML and was the largest single cost of archiving a page. Small records (heads,
#: requests, pages of a few KB) cost the same at either level. ``WarcWriter(compresslevel=)``
#: (Scrapy setting ``WARC_COMPRESSLEVEL``) picks another level.
DEFAULT_COMPRESSLEVEL = 6


def warc_date(moment: datetime | None = None) -> str:
    """WARC-Date with microseconds (WARC/1.1 allows and Heritrix 3 writes sub-second dates).

    The text of warcio's ``datetime_to_iso_date(..., use_micros=True)``: ISO 8601 in UTC, the
    fraction left out when it is zero, then ``Z``.
    """
    moment = (moment or datetime.now(timezone.utc)).astimezone(timezone.utc)
    return moment.replace(tzinfo=None).isoformat() + "Z"


def _version(dist: str) -> str:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return "unknown"


def software_string() -> str:
    return (f"stenogram/{_version('stenogram')} (warcio/{_version('warcio')};"
            f" Scrapy/{_version('scrapy')})")


def _new_record_id() -> str:
    """``<urn:uuid:...>`` of a random (version 4) UUID, as ``uuid.uuid4()`` prints it.

    Formatted here from 16 random bytes: a UUID object costs twice as much, twice per page.
    """
    raw = bytearray(os.urandom(16))
    raw[6] = raw[6] & 0x0F | 0x40  # version 4
    raw[8] = raw[8] & 0x3F | 0x80  # RFC 4122 variant
    text = raw.hex()
    return f"<urn:uuid:{text[:8]}-{text[8:12]}-{text[12:16]}-{text[16:20]}-{text[20:]}>"


def gzip_xfl(level: int) -> int:
    """The gzip header's XFL byte for a deflate ``level``, as zlib's own gzip writer sets it:
    2 (slowest, best compression) at level 9, 4 (fastest) below level 2, else 0."""
    if level == zlib.Z_DEFAULT_COMPRESSION:
        level = 6
    return 2 if level == 9 else 4 if level < 2 else 0


class GzipMembers:
    """Compresses each record into a gzip member of its own (RFC 1952), reusing one deflate state.

    A fresh zlib compressor per record (what warcio does) costs ~50 us before it compresses a
    byte: its ~256 KiB of state is allocated and page-faulted in every time, more than the
    compression of a typical record. Here one raw-deflate compressor lives on; after each
    record a full flush ends its blocks on a byte boundary and *resets the dictionary* (so no
    record refers back to another and each member inflates on its own), an empty final block
    (``03 00``) ends the member's deflate stream, and the header and CRC-32/ISIZE trailer are
    written here. A member costs ~5 bytes more than a one-shot compressor would write.
    """

    _FINAL_EMPTY_BLOCK = b"\x03\x00"  # BFINAL=1, fixed Huffman, end-of-block

    def __init__(self, level: int = DEFAULT_COMPRESSLEVEL):
        zlib.compressobj(level)  # validates the level
        self.level = level
        self._header = b"\x1f\x8b\x08\x00\x00\x00\x00\x00" + bytes([gzip_xfl(level), 3])  # OS: Unix
        self._deflate = None

    def member(self, *chunks: bytes, stored: bytes = b"") -> bytes:
        """One complete gzip member holding the concatenated ``chunks`` then ``stored``.

        ``stored`` (bytes already compressed, e.g. a gzip-encoded HTTP payload, which deflate
        would only spend CPU on) goes into stored deflate blocks, after the full flush that
        ends the deflated part on a byte boundary with an empty dictionary.

        The chunks are joined first and deflated in one call: every call into the compressor
        allocates an output buffer, and copying even a large body costs far less than
        deflating it.
        """
        data = b"".join(chunks)
        deflate = self._deflate or zlib.compressobj(self.level, zlib.DEFLATED, -zlib.MAX_WBITS)
        self._deflate = None  # a state that failed half way is never reused
        parts = [self._header, deflate.compress(data), deflate.flush(zlib.Z_FULL_FLUSH)]
        crc = zlib.crc32(data)
        size = len(data)
        if stored:
            crc = zlib.crc32(stored, crc)
            size += len(stored)
            view = memoryview(stored)
            for start in range(0, len(view), 0xFFFF):
                block = view[start:start + 0xFFFF]
                final = start + 0xFFFF >= len(view)
                parts += [struct.pack("<BHH", final, len(block), 0xFFFF ^ len(block)), block]
        else:
            parts.append(self._FINAL_EMPTY_BLOCK)
        parts.append(struct.pack("<II", crc, size & 0xFFFFFFFF))
        self._deflate = deflate
        return b"".join(parts)


class _OpenWarc:
    """One WARC file being written, with its lock and live index."""

    def __init__(self, directory: str, stem: str, fd: int):
        self.stem = stem
        self.final_name = stem + WARC_SUFFIX
        self.final_path = os.path.join(directory, self.final_name)
        self.open_path = self.final_path + OPEN_SUFFIX
        self.fh = os.fdopen(fd, "wb", buffering=0)  # every append goes straight to the OS
        fcntl.flock(self.fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        self.cdxj_final = os.path.join(directory, stem + CDXJ_SUFFIX)
        self.index = LiveCdxjIndex(self.cdxj_final + OPEN_SUFFIX, self.final_name)
        self.opened_at = time.monotonic()
        self.warcinfo_id: str | None = None
        self.size = 0  # bytes written (the file is new: O_EXCL)

    def append(self, data: bytes) -> int:
        """Write ``data`` at the end and hand it to the OS; returns its offset.

        If the write fails (disk full...), the file is cut back to where it was, so a partial
        record never sits between complete ones.
        """
        offset = self.size
        view = memoryview(data)
        try:
            while view:
                view = view[self.fh.write(view):]
        except BaseException:
            try:
                os.ftruncate(self.fh.fileno(), offset)
                os.lseek(self.fh.fileno(), offset, os.SEEK_SET)
            except OSError:
                logger.exception("could not cut %s back to %d bytes", self.open_path, offset)
            raise
        self.size = offset + len(data)
        return offset

    def close(self) -> None:
        self.fh.flush()
        os.fsync(self.fh.fileno())
        os.replace(self.open_path, self.final_path)
        self.index.close(self.cdxj_final)
        self.fh.close()  # releases the lock after the rename
        dir_fd = os.open(os.path.dirname(self.final_path) or ".", os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)


class WarcWriter:
    """Writes exchanges, revisits and metadata to rotating WARC/1.1 files.

    ``warcinfo`` is a dict of fields for the warcinfo record (operator, robots policy, user
    agent, throttling, spider, job id...). With ``digest_index``, every complete response is
    registered there so later identical payloads can be written as revisits.
    """

    def __init__(
        self,
        directory: str | os.PathLike,
        prefix: str = "stenogram",
        *,
        max_size: int = 1_000_000_000,
        max_age: float | None = None,
        max_record_body: int = 20 * 1024 * 1024,
        digest: str = "sha1",
        warcinfo: Mapping[str, object] | None = None,
        digest_index: DigestIndex | None = None,
        salvage: bool = True,
        hostname: str | None = None,
        compresslevel: int = DEFAULT_COMPRESSLEVEL,
    ):
        self.directory = os.fspath(directory)
        self.prefix = prefix
        self.max_size = max_size
        self.max_age = max_age
        self.max_record_body = max_record_body
        self.digest_algorithm = digest
        PayloadDigester(digest)  # validates the name early
        self.warcinfo_fields = dict(warcinfo or {})
        self.digest_index = digest_index
        self.hostname = (hostname or socket.gethostname()).replace("-", "_").replace("/", "_")
        self._serial = 0
        self._current: _OpenWarc | None = None
        self.compresslevel = compresslevel
        self._gzip = GzipMembers(compresslevel)
        self._memo: tuple[bytes, str] | None = None  # (payload, its digest), see payload_digest
        #: WARC-Date of the latest responses/revisits written, for their metadata records
        self._capture_dates: OrderedDict[str, str] = OrderedDict()
        self._empty_digest = digest_of(b"", algorithm=digest)
        self.files_written: list[str] = []  # final paths of closed files
        self.files_opened = 0
        self.records_written = 0
        self.bytes_written = 0
        os.makedirs(self.directory, exist_ok=True)
        self.salvaged = salvage_directory(self.directory) if salvage else []
        if self.digest_index is not None:
            for result in self.salvaged:
                if result.path:
                    self.digest_index.forget_beyond(os.path.basename(result.path),
                                                    result.bytes_kept)
                    # adds not yet committed when the crawl died pointed into this file
                    self.digest_index.reindex(result.path)

    # ---------------------------------------------------------------- files
    @property
    def current_file(self) -> str | None:
        """Final name of the file being written, if any."""
        return self._current.final_name if self._current else None

    def _file_stem(self) -> str:
        now = datetime.now(timezone.utc)
        ts17 = now.strftime("%Y%m%d%H%M%S") + f"{now.microsecond // 1000:03d}"
        return f"{self.prefix}-{ts17}-{self._serial:05d}-{os.getpid()}~{self.hostname}"

    def _open_new_file(self) -> _OpenWarc:
        while True:
            stem = self._file_stem()
            path = os.path.join(self.directory, stem + WARC_SUFFIX + OPEN_SUFFIX)
            if os.path.exists(path[: -len(OPEN_SUFFIX)]):
                time.sleep(0.002)
                continue
            try:
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
            except FileExistsError:
                time.sleep(0.002)
                continue
            break
        self._serial += 1
        self.files_opened += 1
        current = _OpenWarc(self.directory, stem, fd)
        self._current = current
        current.warcinfo_id = self._write_warcinfo(current)
        logger.info("opened WARC %s", current.open_path)
        return current

    def _file_for_next_exchange(self) -> _OpenWarc:
        current = self._current
        if current is not None:
            too_big = current.size >= self.max_size
            too_old = self.max_age is not None and (
                time.monotonic() - current.opened_at >= self.max_age)
            if too_big or too_old:
                self.close()
                current = None
        return current or self._open_new_file()

    def close(self) -> None:
        """Close (fsync, rename) the current file; the next write opens a new one.

        The digest index's pending adds are committed first, so a crash can only lose adds
        that point into a file still ``.open`` (which salvage re-registers).
        """
        if self.digest_index is not None:
            self.digest_index.flush()
        if self._current is None:
            return
        current, self._current = self._current, None
        current.close()
        self.files_written.append(current.final_path)
        logger.info("closed WARC %s (%d bytes)", current.final_path,
                    os.path.getsize(current.final_path))

    # -------------------------------------------------------------- records
    def _write(self, current: _OpenWarc, *, rec_type: str, uri: str | None, date: str,
               http_headers: StatusAndHeaders | None, payload: bytes,
               extra: Iterable[tuple[str, str]] = (), warc_content_type: str | None = None,
               record_id: str | None = None, payload_digest: bool | str = True) -> WarcLocation:
        """Append one record; ``payload_digest`` is True (compute it), False (none) or the
        digest itself (a revisit's, of the payload it does not store)."""
        record_id = record_id or _new_record_id()
        if http_headers is not None:
            http_headers.compute_headers_buffer()
            block_head = http_headers.headers_buff
        else:
            block_head = b""
        stored_payload = b"" if rec_type == "revisit" else payload
        digest = None
        if payload_digest and rec_type != "warcinfo":
            digest = (payload_digest if isinstance(payload_digest, str)
                      else self._payload_digest_of(stored_payload))
        content_type = warc_content_type or WARC_CONTENT_TYPES.get(rec_type,
                                                                   "application/warc-record")
        head = self._warc_head(
            current, rec_type, record_id, date, uri, extra, digest,
            block_digest=digest_of(block_head, stored_payload, algorithm=self.digest_algorithm),
            content_type=content_type, length=len(block_head) + len(stored_payload))
        if stored_payload and http_headers is not None and _is_compressed(http_headers):
            member = self._gzip.member(head, block_head, stored=stored_payload + b"\r\n\r\n")
        else:
            member = self._gzip.member(head, block_head, stored_payload, b"\r\n\r\n")
        offset = current.append(member)
        length = len(member)
        self.records_written += 1
        self.bytes_written += length
        if is_indexed(rec_type, content_type):
            current.index.add(
                url=uri or "", warc_date=date, offset=offset, length=length,
                record_type=rec_type,
                content_type=(http_headers.get_header("Content-Type") if http_headers is not None
                              else content_type),
                status=(http_headers.get_statuscode() if http_headers is not None
                        and rec_type in ("response", "revisit") else None),
                digest=digest,
            )
        return WarcLocation(current.final_name, offset, length, record_id, digest)

    @staticmethod
    def _warc_head(current: _OpenWarc, rec_type: str, record_id: str, date: str,
                   uri: str | None, extra: Iterable[tuple[str, str]], digest: str | None, *,
                   block_digest: str, content_type: str, length: int) -> bytes:
        """The WARC header block, fields in warcio's order, ``extra`` before the digests."""
        lines = [f"{WARC_VERSION}\r\nWARC-Type: {rec_type}\r\nWARC-Record-ID: {record_id}\r\n"
                 f"WARC-Date: {date}\r\n"]
        if uri is not None:
            lines.append(f"WARC-Target-URI: {uri}\r\n")
        if current.warcinfo_id and rec_type != "warcinfo":
            lines.append(f"WARC-Warcinfo-ID: {current.warcinfo_id}\r\n")
        lines += [f"{name}: {value}\r\n" for name, value in extra]
        if digest is not None:
            lines.append(f"WARC-Payload-Digest: {digest}\r\n")
        lines.append(f"WARC-Block-Digest: {block_digest}\r\nContent-Type: {content_type}\r\n"
                     f"Content-Length: {length}\r\n\r\n")
        return "".join(lines).encode("utf-8")

    def _write_warcinfo(self, current: _OpenWarc) -> str:
        fields: dict[str, object] = {
            "software": software_string(),
            "format": "WARC File Format 1.1",
            "conformsTo": WARC_1_1_SPEC,
            "hostname": socket.gethostname(),
        }
        fields.update(self.warcinfo_fields)
        body = "".join(f"{name}: {_field_text(value)}\r\n"
                       for name, value in fields.items() if value not in (None, ""))
        location = self._write(
            current, rec_type="warcinfo", uri=None, date=warc_date(), http_headers=None,
            payload=body.encode("utf-8"), extra=[("WARC-Filename", current.final_name)],
            warc_content_type="application/warc-fields", payload_digest=False,
        )
        return location.warc_record_id

    def payload_digest(self, body: bytes) -> str:
        """Digest a response body would get in this writer (after any truncation).

        The digest of the last body asked for is remembered, so the record written for that
        very body next does not hash it again.
        """
        if len(body) > self.max_record_body:
            body = body[: self.max_record_body]
        return self._payload_digest_of(body)

    def _payload_digest_of(self, payload: bytes) -> str:
        if not payload:
            return self._empty_digest
        memo = self._memo
        if memo is not None and memo[0] is payload:  # the same (immutable) object
            return memo[1]
        digest = digest_of(payload, algorithm=self.digest_algorithm)
        self._memo = (payload, digest)
        return digest

    def _stored_body(self, response: ArchivedResponse) -> tuple[bytes, str | None]:
        body = response.body
        if len(body) > self.max_record_body:
            return body[: self.max_record_body], "length"
        return body, ("disconnect" if response.disconnected else None)

    def _write_request(self, current: _OpenWarc, request: ArchivedRequest, date: str,
                       concurrent_to: str) -> WarcLocation:
        return self._write(
            current, rec_type="request", uri=request.url, date=date,
            http_headers=request_head(request), payload=request.body,
            extra=[("WARC-Concurrent-To", concurrent_to)],
        )

    def write_exchange(self, request: ArchivedRequest, response: ArchivedResponse, *,
                       date: str | None = None) -> WarcLocation:
        """Write ``response`` then its ``request``; returns where the response record is."""
        current = self._file_for_next_exchange()
        date = date or warc_date()
        body, truncated = self._stored_body(response)
        extra: list[tuple[str, str]] = []
        if response.ip_address:
            extra.append(("WARC-IP-Address", str(response.ip_address)))
        if truncated:
            extra.append(("WARC-Truncated", truncated))
        head = response_head(response, len(body), method=request.method)
        location = self._write(current, rec_type="response", uri=response.url, date=date,
                               http_headers=head, payload=body, extra=extra)
        self._remember_date(location.warc_record_id, date)
        self._write_request(current, request, date, location.warc_record_id)
        if self.digest_index is not None and not truncated:
            self.digest_index.add(FirstCapture(
                uri=response.url, date=date, record_id=location.warc_record_id,
                warc_file=location.warc_file, offset=location.warc_offset,
                length=location.warc_length,
                digest=(location.payload_digest
                        if is_dedup_candidate(response.status, len(body)) else None),
            ))
        self._memo = None  # do not keep the body alive
        return location

    def write_revisit(self, request: ArchivedRequest, response: ArchivedResponse,
                      refers_to: FirstCapture | None = None, *,
                      date: str | None = None) -> WarcLocation:
        """Write a revisit (HTTP head only) and its request.

        A response whose payload was seen before is an ``identical-payload-digest`` revisit of
        ``refers_to``, with its own head. A 304 is a revisit of the latest capture of its URL
        (``refers_to``): when that record can be read here and is a 2xx, the revisit is the
        ``identical-payload-digest`` revisit of it that replays as it (its HTTP head, its
        payload digest, ``WARC-Refers-To-*``; pywb replays a revisit with its own head, so a
        revisit holding the 304 head replays as an empty 304), and the 304 head exactly as
        received goes into a metadata record beside it (:meth:`_not_modified_metadata`).
        Otherwise the 304 is a ``server-not-modified`` revisit holding the 304 head.
        """
        current = self._file_for_next_exchange()
        date = date or warc_date()
        not_modified = response.status == 304
        if not not_modified and refers_to is None:
            raise ValueError("an identical-payload-digest revisit needs the capture it refers to")
        original = self.original_head(refers_to) if not_modified and refers_to else None
        extra: list[tuple[str, str]] = [
            ("WARC-Profile", PROFILE_SERVER_NOT_MODIFIED if not_modified and original is None
             else PROFILE_IDENTICAL_PAYLOAD)]
        if response.ip_address:
            extra.append(("WARC-IP-Address", str(response.ip_address)))
        if refers_to is not None:
            extra += [("WARC-Refers-To", refers_to.record_id),
                      ("WARC-Refers-To-Target-URI", refers_to.uri),
                      ("WARC-Refers-To-Date", refers_to.date)]
        received = None
        if original is not None:
            head, digest = original
            received = response_head(response, 0, method=request.method)
        elif not_modified:
            digest = None
            head = response_head(response, 0, method=request.method)
        else:
            body, _ = self._stored_body(response)
            digest = self._payload_digest_of(body)
            head = response_head(response, len(body), method=request.method)
        location = self._write(current, rec_type="revisit", uri=response.url, date=date,
                               http_headers=head, payload=b"", extra=extra,
                               payload_digest=digest or False)
        self._remember_date(location.warc_record_id, date)
        self._write_request(current, request, date, location.warc_record_id)
        if received is not None:
            self._not_modified_metadata(current, location, response.url, received, date)
        self._memo = None
        return location

    def original_head(self, capture: FirstCapture) -> tuple[StatusAndHeaders, str] | None:
        """(HTTP head exactly as stored, payload digest) of a 2xx response record written in
        this directory (closed or still open), or None when it cannot be read or is not 2xx."""
        for name in (capture.warc_file, capture.warc_file + OPEN_SUFFIX):
            try:
                fh = open(os.path.join(self.directory, name), "rb")
            except OSError:
                continue
            try:
                with fh:
                    fh.seek(capture.offset)
                    record = next(iter(ArchiveIterator(fh, no_record_parse=True)))
                    if (record.rec_type != "response"
                            or record.rec_headers.get_header("WARC-Record-ID") != capture.record_id):
                        return None
                    digest = record.rec_headers.get_header("WARC-Payload-Digest")
                    head = _read_head(record.raw_stream)
            except Exception:
                logger.warning("could not read %s at %d for a 304 revisit", name, capture.offset,
                               exc_info=True)
                return None
            if head is None or digest is None or head.get_statuscode()[:1] != "2":
                return None
            return head, digest
        return None

    def _not_modified_metadata(self, current: _OpenWarc, revisit: WarcLocation, url: str,
                               received: RawHttpHeaders, date: str) -> WarcLocation:
        """The 304 head as it came off the wire, beside the revisit that replays the original:
        its status line in words, and its exact bytes in base64 (a warc-fields line cannot hold
        CR/LF)."""
        received.compute_headers_buffer()
        raw = received.headers_buff
        fields = [("x-stenogram-server-not-modified", raw.split(b"\r\n", 1)[0].decode("latin-1")),
                  ("x-stenogram-http-head-base64", base64.b64encode(raw).decode("ascii"))]
        return self._write(
            current, rec_type="metadata", uri=url, date=date, http_headers=None,
            payload="".join(f"{n}: {v}\r\n" for n, v in fields).encode("utf-8"),
            extra=[("WARC-Concurrent-To", revisit.warc_record_id)],
            warc_content_type="application/warc-fields", payload_digest=False,
        )

    def write_metadata(self, concurrent_to: str, url: str,
                       fields: Mapping[str, object] | Iterable[tuple[str, object]], *,
                       date: str | None = None) -> WarcLocation:
        """A ``metadata`` record (application/warc-fields) about the record ``concurrent_to``.

        A list value (outlinks) becomes one line per item. The record belongs to the capture
        event of the record it describes, so it takes that record's ``WARC-Date`` (WARC 1.1,
        section 5.4; ``date`` when given, else the one this writer wrote it with, else now),
        and it carries no ``WARC-Payload-Digest``: a warc-fields block has no HTTP payload
        (FastWARC and warcat flag one).
        """
        current = self._current or self._open_new_file()
        items = fields.items() if isinstance(fields, Mapping) else fields
        lines = []
        for name, value in items:
            values = value if isinstance(value, (list, tuple)) else [value]
            lines += [f"{name}: {_field_text(v)}\r\n" for v in values if v is not None]
        date = date or self._capture_dates.get(concurrent_to) or warc_date()
        return self._write(
            current, rec_type="metadata", uri=url, date=date, http_headers=None,
            payload="".join(lines).encode("utf-8"),
            extra=[("WARC-Concurrent-To", concurrent_to)],
            warc_content_type="application/warc-fields", payload_digest=False,
        )

    def _remember_date(self, record_id: str, date: str) -> None:
        dates = self._capture_dates
        dates[record_id] = date
        if len(dates) > CAPTURE_DATES_KEPT:
            dates.popitem(last=False)


def _read_head(stream, limit: int = 1 << 20) -> StatusAndHeaders | None:
    """The HTTP head at the start of a record block, kept as its exact bytes."""
    data = b""
    while b"\r\n\r\n" not in data and len(data) < limit:
        chunk = stream.read(65536)
        if not chunk:
            break
        data += chunk
    end = data.find(b"\r\n\r\n")
    if end < 0:
        return None
    return StoredHead(data[:end + 4])


class StoredHead(StatusAndHeaders):
    """An HTTP head read back from a record, written again byte for byte (warcio would
    re-encode it): parsed by warcio only for its status and headers."""

    def __init__(self, raw: bytes):
        parsed = StatusAndHeadersParser([], verify=False).parse(io.BytesIO(raw))
        super().__init__(parsed.statusline, parsed.headers, protocol=parsed.protocol)
        self.raw = raw

    def compute_headers_buffer(self, header_filter=None):
        self.headers_buff = self.raw


_IDENTITY_CODINGS = ("", "identity")


def _is_compressed(http_headers: StatusAndHeaders) -> bool:
    """Whether the HTTP payload carries a content-coding (gzip, br, deflate, zstd...): such
    bytes are stored in the record's gzip member as they are, not deflated again."""
    coding = http_headers.get_header("Content-Encoding")
    return coding is not None and coding.strip().lower() not in _IDENTITY_CODINGS


def _field_text(value: object) -> str:
    """A warc-fields value on one line (CR/LF would start a new field)."""
    return str(value).replace("\r", " ").replace("\n", " ")
