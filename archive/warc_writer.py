"""WARC/1.1 writer with Heritrix-grade fidelity, a live CDXJ index and revisit records.

One gzip member per record. Every file opens with a ``warcinfo`` record and is written as
``PREFIX-TIMESTAMP17-SERIAL-PID~HOST.warc.gz.open`` (created with O_EXCL, held with an
exclusive flock so :mod:`archive.salvage` never touches a live file), fsynced and renamed to
``.warc.gz`` on close. ``NAME.cdxj.open`` grows record by record beside it and becomes
``NAME.cdxj`` on close. Records of one exchange (request + response/revisit) always land in
the same file; rotation (by ``max_size`` bytes or ``max_age`` seconds) happens between
exchanges.

Digests are computed over the stored bytes (``sha1`` base32 by default, the CDX convention;
``sha256`` selectable), each once: the payload digest the crawler asks for to look up a revisit
(:meth:`WarcWriter.payload_digest`) is the one the record gets. warcio serialises every record
(:class:`RecordSerialiser`), each into a gzip member of its own at deflate level 6 by default
(:data:`DEFAULT_COMPRESSLEVEL`), handed to the OS with one ``write``.
"""
from __future__ import annotations

import fcntl
import io
import logging
import os
import socket
import time
import zlib
from collections import OrderedDict
from datetime import datetime, timezone
from importlib import metadata
from typing import Iterable, Mapping

from warcio.recordbuilder import RecordBuilder
from warcio.recordloader import ArcWarcRecord
from warcio.statusandheaders import StatusAndHeaders, StatusAndHeadersParser
from warcio.timeutils import datetime_to_iso_date
from warcio.utils import Digester
from warcio.warcwriter import GzippingWrapper, WARCWriter

from stenogram.archive import (
    DEFAULT_COMPRESSLEVEL,
    DEFAULT_DIGEST,
    DEFAULT_MAX_RECORD_BODY,
    DEFAULT_MAX_SIZE,
    DEFAULT_PREFIX,
)
from stenogram.archive.capture import WarcLocation
from stenogram.archive.cdxj import LiveCdxjIndex, is_indexed
from stenogram.archive.digests import (
    DigestIndex,
    FirstCapture,
    PayloadDigester,
    digest_of,
    is_dedup_candidate,
)
from stenogram.archive.http_blocks import (
    ArchivedRequest,
    ArchivedResponse,
    request_head,
    response_head,
)
from stenogram.archive.salvage import CDXJ_SUFFIX, OPEN_SUFFIX, WARC_SUFFIX, salvage_directory
from stenogram.compat import use_digest, write_warc_record

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


def warc_date(moment: datetime | None = None) -> str:
    """WARC-Date with microseconds (WARC/1.1 allows and Heritrix 3 writes sub-second dates)."""
    moment = (moment or datetime.now(timezone.utc)).astimezone(timezone.utc)
    return datetime_to_iso_date(moment.replace(tzinfo=None), use_micros=True)


def _version(dist: str) -> str:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return "unknown"


def software_string() -> str:
    return (f"stenogram/{_version('stenogram')} (warcio/{_version('warcio')};"
            f" Scrapy/{_version('scrapy')})")


def _new_record_id() -> str:
    """``<urn:uuid:...>`` of a random UUID, as warcio makes it."""
    return StatusAndHeadersParser.make_warc_id()


class _GzipMember(GzippingWrapper):
    """warcio's gzip wrapper (one gzip member per record) at a deflate level of our choice."""

    def __init__(self, out, level: int):
        self.compressor = zlib.compressobj(level, zlib.DEFLATED, zlib.MAX_WBITS + 16)
        self.out = out


class RecordSerialiser(WARCWriter):
    """warcio's ``WARCWriter`` turning one record into the bytes of its gzip member.

    warcio writes the header block, digests what is missing (with ``digest``, not only sha1),
    sets ``Content-Type``/``Content-Length`` and appends the ``CRLF CRLF``; the member is
    returned rather than written, so :class:`_OpenWarc` hands each record to the OS in one
    ``write`` it can cut back. Metadata records get no payload digest (a warc-fields block
    has no HTTP payload; FastWARC and warcat flag one).
    """

    NO_PAYLOAD_DIGEST_TYPES = ("warcinfo", "revisit", "metadata")

    def __init__(self, digest: str = DEFAULT_DIGEST, compresslevel: int = DEFAULT_COMPRESSLEVEL):
        zlib.compressobj(compresslevel)  # validates the level
        super().__init__(None, gzip=False, warc_version=WARC_VERSION)
        self.digest = digest
        self.compresslevel = compresslevel
        use_digest(self, lambda: Digester(self.digest))

    def serialise(self, record: ArcWarcRecord) -> bytes:
        buffer = io.BytesIO()
        write_warc_record(self, _GzipMember(buffer, self.compresslevel), record)
        return buffer.getvalue()


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
        prefix: str = DEFAULT_PREFIX,
        *,
        max_size: int = DEFAULT_MAX_SIZE,
        max_age: float | None = None,
        max_record_body: int = DEFAULT_MAX_RECORD_BODY,
        digest: str = DEFAULT_DIGEST,
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
        self._serialiser = RecordSerialiser(digest, compresslevel)
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
               record_id: str | None = None, payload_digest: str | None = None) -> WarcLocation:
        """Append one record, serialised by warcio (:class:`RecordSerialiser`).

        ``payload_digest`` is a revisit's (of the payload it does not store); a response's is
        the one :meth:`payload_digest` gave, a request's warcio's, other records have none.
        """
        record_id = record_id or _new_record_id()
        if rec_type == "revisit":
            payload = b""
        fields = [("WARC-Type", rec_type), ("WARC-Record-ID", record_id), ("WARC-Date", date)]
        if uri is not None:
            fields.append(("WARC-Target-URI", uri))
        if current.warcinfo_id and rec_type != "warcinfo":
            fields.append(("WARC-Warcinfo-ID", current.warcinfo_id))
        fields += extra
        if payload_digest is None and rec_type == "response":
            payload_digest = self._payload_digest_of(payload)  # asked for before: remembered
        if payload_digest:
            fields.append(("WARC-Payload-Digest", payload_digest))
        content_type = warc_content_type or WARC_CONTENT_TYPES.get(rec_type,
                                                                   "application/warc-record")
        record = ArcWarcRecord("warc", rec_type, StatusAndHeaders("", fields, protocol=WARC_VERSION),
                               io.BytesIO(payload), http_headers, content_type, len(payload),
                               payload_length=len(payload))
        member = self._serialiser.serialise(record)
        digest = record.rec_headers.get_header("WARC-Payload-Digest")
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
        truncated = next((value for name, value in extra if name == "WARC-Truncated"), None)
        return WarcLocation(current.final_name, offset, length, record_id, digest, truncated)

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
            warc_content_type="application/warc-fields",
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
        """Write a revisit (HTTP head only) and its request: what happened, in the record
        WARC 1.1 (section 6.7.2) defines for it.

        * A 200 whose payload was seen before is an ``identical-payload-digest`` revisit of
          ``refers_to``: its own head, the payload digest (required by that profile).
        * A 304 Not Modified is a ``server-not-modified`` revisit whose block is the 304's own
          head as received (never a copy of the earlier 200's), with ``WARC-Refers-To-*``
          naming ``refers_to``, the latest full capture of the URL, when there is one. It has
          no ``WARC-Payload-Digest``: no payload came, and the profile does not ask for one.
          cdxj-indexer indexes it with status 304 (its ``http:status``); pywb 2.10 serves it at
          its own time as the 304 it was, with no body (``WARCPathLoader.load_resource`` takes
          the revisit's own HTTP head when it has one; ``WbResponse`` sends no body for 304),
          and the page itself from the 200 record it refers to (docs/archive-records.md).
        """
        current = self._file_for_next_exchange()
        date = date or warc_date()
        not_modified = response.status == 304
        if not not_modified and refers_to is None:
            raise ValueError("an identical-payload-digest revisit needs the capture it refers to")
        extra: list[tuple[str, str]] = [
            ("WARC-Profile", PROFILE_SERVER_NOT_MODIFIED if not_modified
             else PROFILE_IDENTICAL_PAYLOAD)]
        if response.ip_address:
            extra.append(("WARC-IP-Address", str(response.ip_address)))
        if refers_to is not None:
            extra += [("WARC-Refers-To", refers_to.record_id),
                      ("WARC-Refers-To-Target-URI", refers_to.uri),
                      ("WARC-Refers-To-Date", refers_to.date)]
        if not_modified:
            digest = None
            head = response_head(response, 0, method=request.method)
        else:
            body, _ = self._stored_body(response)
            digest = self._payload_digest_of(body)
            head = response_head(response, len(body), method=request.method)
        location = self._write(current, rec_type="revisit", uri=response.url, date=date,
                               http_headers=head, payload=b"", extra=extra,
                               payload_digest=digest)
        self._remember_date(location.warc_record_id, date)
        self._write_request(current, request, date, location.warc_record_id)
        self._memo = None
        return location

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
            warc_content_type="application/warc-fields",
        )

    def write_refused(self, url: str, fields: Iterable[tuple[str, object]], *,
                      date: str | None = None) -> WarcLocation:
        """A ``metadata`` record about a response that was not archived because it was refused
        (a body over the crawl's ``DOWNLOAD_MAXSIZE``): there is no record to be concurrent
        to, so it stands alone, at the moment of the refusal, with what did arrive (the head)
        and why the rest was refused (docs/archive-records.md)."""
        current = self._file_for_next_exchange()
        lines = []
        for name, value in fields:
            values = value if isinstance(value, (list, tuple)) else [value]
            lines += [f"{name}: {_field_text(v)}\r\n" for v in values if v is not None]
        return self._write(
            current, rec_type="metadata", uri=url, date=date or warc_date(), http_headers=None,
            payload="".join(lines).encode("utf-8"), warc_content_type="application/warc-fields",
        )

    def _remember_date(self, record_id: str, date: str) -> None:
        dates = self._capture_dates
        dates[record_id] = date
        if len(dates) > CAPTURE_DATES_KEPT:
            dates.popitem(last=False)


def _field_text(value: object) -> str:
    """A warc-fields value on one line (CR/LF would start a new field)."""
    return str(value).replace("\r", " ").replace("\n", " ")
