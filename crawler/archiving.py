"""Scrapy extension that writes every HTTP exchange of a crawl to WARC/1.1.

It listens to ``response_downloaded``, which Scrapy 2.19 sends from
``Downloader._download`` right after the download handler returns and *before* any
downloader middleware's ``process_response`` runs. So the response it sees still has the
body as it came off the wire (HttpCompressionMiddleware has not decoded it yet; Twisted
has only removed chunked framing), and every hop of a redirect chain, every retry, every
error status and robots.txt pass through it as separate exchanges.

The response head is the one on the wire: ``crawler.download_handler`` records the status
line's reason phrase and every header line in received order and case (including
``Transfer-Encoding``, which Twisted hides from Scrapy) in ``request.meta["wire"]``. With
another download handler, the records fall back to what Scrapy keeps: the standard phrase of
:class:`http.HTTPStatus` and Scrapy's headers grouped per name.

The request head is the one sent, too: the same handler keeps the bytes Twisted wrote
(request line, every header line, ``Host``/``Connection``/framing lines Twisted adds) in
``meta["wire"]["request_head"]``. With another download handler the request record is
rebuilt from ``request.headers`` as left by the downloader middlewares, plus ``Host`` (and
``Content-Length`` for a body) as Twisted adds them.

Responses flagged ``cached`` or ``replayed`` (served from HTTP cache or from a WARC) and
requests with ``meta["warc_skip"]`` are not archived again.
"""
from __future__ import annotations

import logging
import os
from contextlib import contextmanager

from scrapy import signals
from scrapy.exceptions import NotConfigured

from stenogram.archive.capture import WarcLocation
from stenogram.archive.digests import DigestIndex, FirstCapture, is_dedup_candidate
from stenogram.archive.http_blocks import ArchivedRequest, ArchivedResponse, header_pairs
from stenogram.archive.warc_writer import WarcWriter, warc_date
from stenogram.crawler.download_handler import response_refused
from stenogram.crawler.paths import data_paths
from stenogram.crawler.storage import STORAGE_ERRORS, stop_crawl, storage_failed

logger = logging.getLogger(__name__)

NOT_ARCHIVED_FLAGS = {"cached", "replayed"}


def _header_items(headers):
    """``(name, values)`` of Scrapy's headers, for the record head to flatten (once).

    Scrapy's ``Headers`` is a dict of normalised name -> list of values, and its ``items()``
    looks each name up again through ``getlist`` (normalising it anew): a third of the cost
    of flattening. Read as the dict it is, it gives the same pairs in the same order; headers
    that are not a dict (another Scrapy) go through ``items()``.
    """
    return dict.items(headers) if isinstance(headers, dict) else headers.items()


class WarcArchiver:
    """Wires Scrapy's signals to one :class:`archive.warc_writer.WarcWriter` per spider."""

    def __init__(self, crawler):
        settings = crawler.settings
        if not settings.getbool("WARC_ENABLED"):
            raise NotConfigured("WARC_ENABLED is off")
        self.crawler = crawler
        self.stats = crawler.stats
        self.warc_dir = str(data_paths(settings).warc_dir)
        self.prefix = settings.get("WARC_PREFIX")
        self.max_size = settings.getint("WARC_MAX_SIZE")
        self.max_age = settings.getfloat("WARC_MAX_AGE") or None
        self.max_record_body = settings.getint("WARC_MAX_RECORD_BODY")
        self.digest = settings.get("WARC_DIGEST")
        if self.digest not in ("sha1", "sha256"):
            raise ValueError(f"WARC_DIGEST must be sha1 or sha256, not {self.digest!r}")
        self.crawl_id = settings.get("STENOGRAM_CRAWL_ID")
        self.operator = settings.get("STENOGRAM_OPERATOR")
        self.compresslevel = settings.getint("WARC_COMPRESSLEVEL")
        self.writer: WarcWriter | None = None
        self.digest_index: DigestIndex | None = None

    @classmethod
    def from_crawler(cls, crawler):
        ext = cls(crawler)
        crawler.signals.connect(ext.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(ext.response_downloaded, signal=signals.response_downloaded)
        crawler.signals.connect(ext.spider_closed, signal=signals.spider_closed)
        crawler.signals.connect(ext.response_refused, signal=response_refused)
        return ext

    # ------------------------------------------------------------ lifecycle
    def _warcinfo_fields(self, spider) -> dict:
        settings = self.crawler.settings
        return {
            "operator": self.operator,
            "isPartOf": self.crawl_id,
            "jobId": self.crawl_id,
            "spider": spider.name,
            "robots": "obey" if settings.getbool("ROBOTSTXT_OBEY") else "ignore",
            "http-header-user-agent": settings.get("USER_AGENT"),
            "download-delay": settings.getfloat("DOWNLOAD_DELAY"),
            "autothrottle": settings.getbool("AUTOTHROTTLE_ENABLED"),
            "concurrent-requests-per-domain": settings.getint("CONCURRENT_REQUESTS_PER_DOMAIN"),
            "warc-max-record-body": self.max_record_body,
            "payload-digest": self.digest,
        }

    def spider_opened(self, spider):
        try:
            os.makedirs(self.warc_dir, exist_ok=True)
            self.digest_index = DigestIndex.in_directory(self.warc_dir)
            self.writer = WarcWriter(
                self.warc_dir, self.prefix, max_size=self.max_size, max_age=self.max_age,
                max_record_body=self.max_record_body, digest=self.digest,
                warcinfo=self._warcinfo_fields(spider), digest_index=self.digest_index,
                compresslevel=self.compresslevel,
            )
        except STORAGE_ERRORS as exc:  # no writer: ArchiveGuardMiddleware drops every response
            stop_crawl(self.crawler, "warc_write_failed",
                       f"cannot open the archive in {self.warc_dir}: {exc} (pages fetched now "
                       "could not be written to the WARC)")
            return
        if self.writer.salvaged:
            self.stats.inc_value("warc/salvaged_files", len(self.writer.salvaged))
        logger.info("archiving to %s", self.warc_dir)

    def spider_closed(self, spider, reason=None):
        try:
            if self.writer is not None:
                writer, self.writer = self.writer, None
                writer.close()
        except STORAGE_ERRORS as exc:  # left .open: the next run salvages it
            storage_failed(self.crawler, "warc_write_failed",
                           f"cannot close the WARC in {self.warc_dir}: {exc}")
        finally:
            if self.digest_index is not None:
                index, self.digest_index = self.digest_index, None
                try:
                    index.close()
                except STORAGE_ERRORS as exc:  # a cache of the WARCs: rebuilt on salvage
                    storage_failed(self.crawler, "warc_write_failed",
                                   f"cannot write the digest index {index.path}: {exc}")

    # ------------------------------------------------------------ exchanges
    @staticmethod
    def archived_request(request, response=None) -> ArchivedRequest:
        """The request as sent. Scrapy's headers are handed over as they are: the record's
        head flattens them (:func:`archive.http_blocks.request_head`), once."""
        wire = request.meta.get("wire")
        if wire and wire.get("request_head"):
            return ArchivedRequest(url=request.url, method=request.method,
                                   body=request.body or b"", head=wire["request_head"])
        headers = _header_items(request.headers)
        if (request.method.upper() == "POST" and not request.body
                and "Content-Length" not in request.headers):  # Scrapy's headers ignore case
            headers = [("Content-Length", "0"), *header_pairs(headers)]
        return ArchivedRequest(url=request.url, method=request.method, headers=headers,
                               body=request.body or b"", protocol="HTTP/1.1")

    @staticmethod
    def archived_response(response, request=None) -> ArchivedResponse:
        wire = request.meta.get("wire") if request is not None else None
        status_line = None
        if wire and wire.get("status") == response.status:
            headers, reason = wire["headers"], wire["reason"]
            status_line = wire.get("status_line")
        else:  # another download handler: Scrapy's grouped headers, the standard phrase
            headers, reason = _header_items(response.headers), None
        return ArchivedResponse(
            url=response.url, status=response.status, reason=reason,
            headers=headers, body=response.body,
            protocol=getattr(response, "protocol", None) or "HTTP/1.1",
            ip_address=str(response.ip_address) if response.ip_address else None,
            disconnected="dataloss" in (response.flags or ()),
            status_line=status_line,
        )

    def response_downloaded(self, response, request, spider):
        if self.writer is None or request.meta.get("warc_skip"):
            return
        if NOT_ARCHIVED_FLAGS.intersection(response.flags or ()):
            return
        try:
            self._archive(request, response)
        except STORAGE_ERRORS as exc:
            # a full disk or an unwritable folder: one line with the real error, and stop
            # (ArchiveGuardMiddleware drops the unarchived response)
            self.stats.inc_value("warc/errors")
            stop_crawl(self.crawler, "warc_write_failed",
                       f"cannot write the WARC in {self.warc_dir}: {exc}")
        except Exception:
            self.stats.inc_value("warc/errors")
            logger.exception("could not archive %s", response.url)

    @contextmanager
    def _counting(self):
        """Add whatever the writer wrote inside the block to the crawl's stats."""
        writer = self.writer
        before = (writer.records_written, writer.bytes_written, writer.files_opened)
        yield writer
        self.stats.inc_value("warc/records", writer.records_written - before[0])
        self.stats.inc_value("warc/bytes", writer.bytes_written - before[1])
        if writer.files_opened > before[2]:
            self.stats.inc_value("warc/files", writer.files_opened - before[2])

    def _archive(self, request, response):
        arequest = self.archived_request(request, response)
        aresponse = self.archived_response(response, request)
        date = warc_date()
        refers_to: FirstCapture | None = None
        with self._counting() as writer:
            if response.status == 304:
                refers_to = self.digest_index.latest_for_uri(response.url)
                location = writer.write_revisit(arequest, aresponse, refers_to, date=date)
                self.stats.inc_value("warc/revisits")
            else:
                if (is_dedup_candidate(response.status, len(response.body))
                        and len(response.body) <= writer.max_record_body
                        and not aresponse.disconnected):
                    refers_to = self.digest_index.lookup(writer.payload_digest(response.body))
                if refers_to is not None:
                    location = writer.write_revisit(arequest, aresponse, refers_to, date=date)
                    self.stats.inc_value("warc/revisits")
                else:
                    location = writer.write_exchange(arequest, aresponse, date=date)
                # a page re-fetched from a web archive: what it stands for, beside it and in
                # the same file (the spider's ``provenance``; crawler/spiders/backfill.py)
                provenance = getattr(self.crawler.spider, "provenance", None)
                facts = provenance(request, response) if provenance is not None else None
                if facts:
                    writer.write_metadata(location.warc_record_id, response.url, facts, date=date)
        request.meta["warc"] = location
        request.meta["warc_date"] = date
        if refers_to is not None:
            request.meta["warc_revisit_of"] = WarcLocation(
                refers_to.warc_file, refers_to.offset, refers_to.length,
                refers_to.record_id, refers_to.digest)

    def response_refused(self, request, wire, reason, spider=None):
        """A response whose body Scrapy refused (over ``DOWNLOAD_MAXSIZE``): a metadata record
        saying what was refused and why, with the head that did arrive, so the WARC shows the
        page was there (``crawler.download_handler.response_refused``)."""
        if self.writer is None or request.meta.get("warc_skip"):
            return
        fields = [("x-stenogram-refused", reason),
                  ("x-stenogram-http-status-line", wire.get("status_line") or str(wire["status"])),
                  ("x-stenogram-http-header", [f"{n}: {v}" for n, v in wire.get("headers") or ()])]
        try:
            with self._counting() as writer:
                writer.write_refused(request.url, fields)
            self.stats.inc_value("warc/refused")
        except STORAGE_ERRORS as exc:
            self.stats.inc_value("warc/errors")
            stop_crawl(self.crawler, "warc_write_failed",
                       f"cannot write the WARC in {self.warc_dir}: {exc}")

    def write_metadata(self, location: WarcLocation, url: str, fields) -> WarcLocation | None:
        """A metadata record about the record at ``location`` (for the corpus pipeline)."""
        if self.writer is None or location is None:
            return None
        with self._counting() as writer:
            return writer.write_metadata(location.warc_record_id, url, fields)
