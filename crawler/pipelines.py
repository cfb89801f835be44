"""The item pipeline: archived page -> extractor -> corpus, the same path `reprocess` takes."""
from __future__ import annotations

import hashlib
import logging
import sqlite3

from stenogram.archive.capture import Capture
from stenogram.crawler.paths import data_paths
from stenogram.crawler.storage import STORAGE_ERRORS, StorageDropItem, stop_crawl

logger = logging.getLogger(__name__)


class CorpusPipeline:
    """Extracts each archived transcript page and ingests it into the SQLite corpus.

    The page is read from the item as the WARC stored it (location, fetch time), wrapped in the
    same :class:`~archive.capture.Capture` that ``stenogram reprocess`` builds from WARC files,
    so a corpus rebuilt from the archive equals the one built live.
    """

    def __init__(self, crawler):
        self.db_path = data_paths(crawler.settings).db
        self.cache_mib = crawler.settings.getint("STENOGRAM_DB_CACHE_MIB")
        self.crawler = crawler
        self.stats = crawler.stats
        self.corpus = None
        self.archiver = None

    @classmethod
    def from_crawler(cls, crawler):
        from stenogram.crawler.recrawl import page_not_modified

        pipeline = cls(crawler)
        crawler.signals.connect(pipeline.not_modified, signal=page_not_modified)
        return pipeline

    def open_spider(self, spider=None):
        from stenogram.corpus import Corpus

        self.db_path.parent.mkdir(parents=True, exist_ok=True)
        # A crawl ingests a page every few seconds (live) or a few hundred a second (loopback):
        # a small page cache per spider keeps a long crawl's memory flat; reprocess uses more.
        try:
            self.corpus = Corpus(self.db_path, cache_mib=self.cache_mib)
        except STORAGE_ERRORS as exc:  # e.g. the disk was full before the crawl started
            stop_crawl(self.crawler, "corpus_write_failed",
                       f"cannot open the corpus {self.db_path}: {exc}")
        from stenogram.crawler.archiving import WarcArchiver

        self.archiver = self.crawler.get_extension(WarcArchiver)  # None when archiving is off

    def close_spider(self, spider=None):
        if self.corpus is not None:
            self.corpus.close()

    def process_item(self, item, spider=None):
        if item.get("warc") is None:
            # Without a WARC record there is no provenance to point at: count, don't ingest.
            self.stats.inc_value("stenogram/pages_not_archived")
            logger.warning("not ingesting %s: no WARC record (archiving disabled?)", item["url"])
            return item
        capture = Capture(
            url=item["url"],
            fetched_at=item["fetched_at"],
            http_status=item["http_status"],
            content_type=item.get("content_type"),
            body=item["body"],
            location=item["warc"],
            source=item.get("source"),
            crawl_id=self.crawler.settings.get("STENOGRAM_CRAWL_ID"),
            headers=item.get("headers") or {},
            archived_at=item.get("archived_at"),
            via=item.get("via"),
        )
        record = self._ingest(capture)
        item["date"] = record.get("date")
        self._annotate_warc(item["warc"], item["url"], record, item.get("outlinks"))
        return item

    def not_modified(self, request, response, spider=None):
        """A 304 Not Modified: the page's text was seen again, so the fetch is a capture and
        moves the document's ``last_seen``, as a rebuild from the WARCs records it.

        The capture is the one ``stenogram reprocess`` makes of the same records, by the same
        code (:func:`archive.reader.revisit_capture_at`: the ``server-not-modified`` revisit's
        date and status, the body of the 200 it refers to), then extracted and ingested here.
        A 304 with nothing to refer to (no earlier full capture in this archive) is counted.
        """
        revisit, original = request.meta.get("warc"), request.meta.get("warc_revisit_of")
        if revisit is None or original is None:
            self.stats.inc_value("stenogram/not_modified/unresolved")
            logger.warning("not recording the 304 of %s: no earlier capture in the archive",
                           response.url)
            return
        from stenogram.archive.reader import revisit_capture_at

        capture = request.meta.get("replayed_capture")  # made by crawl --replay, by the same code
        if capture is None:
            capture = revisit_capture_at(data_paths(self.crawler.settings).warc_dir, revisit,
                                         original)
        if capture is None:
            self.stats.inc_value("stenogram/not_modified/unreadable")
            return
        capture.source = getattr(spider, "name", None)
        capture.crawl_id = self.crawler.settings.get("STENOGRAM_CRAWL_ID")
        try:
            record = self._ingest(capture)
        except StorageDropItem:
            return  # the crawl is stopping; the record is in the WARC for reprocess
        self.stats.inc_value("stenogram/not_modified/captures")
        self._annotate_warc(revisit, capture.url, record, None)

    def _ingest(self, capture) -> dict:
        """Extract (unless ``not_extractable_reason`` says why not) and ingest one capture."""
        from stenogram.corpus.reprocess import not_extractable_reason
        from stenogram.extract import extract_page

        reason = not_extractable_reason(capture)
        if reason:  # a truncated record, a non-HTML page: recorded as is, as reprocess does
            record = {"is_transcript": False, "reason": reason, "text": ""}
        else:
            record = extract_page(capture.body, url=capture.url,
                                  content_type=capture.content_type).to_dict()
        try:
            if self.corpus is None:
                raise sqlite3.OperationalError("the corpus could not be opened")
            result = self.corpus.ingest(capture, record)
        except STORAGE_ERRORS as exc:
            # The page is safe in the WARC; `stenogram reprocess` or the next run ingests it.
            stop_crawl(self.crawler, "corpus_write_failed",
                       f"cannot write the corpus {self.db_path}: {exc}")
            raise StorageDropItem(f"corpus write failed: {exc}") from exc
        self._count(result, record)
        return record

    def _count(self, result, record) -> None:
        inc = self.stats.inc_value
        if not record.get("is_transcript"):
            inc("stenogram/not_transcript")
            inc(f"stenogram/not_transcript/{record.get('reason') or 'unknown'}")
            return
        inc("stenogram/transcript_pages")
        if result.new_document:
            inc("stenogram/documents_new")
        elif result.new_version and result.match == "same-url":
            # the text at a URL we knew has changed: a silent edit by the publisher
            inc("stenogram/versions_new")
        elif result.new_version:
            inc("stenogram/mirror_variants")  # a mirror's own wording of a known text
        else:
            inc("stenogram/captures_merged")

    def _annotate_warc(self, location, url, record, outlinks) -> None:
        """A metadata record beside the response: the extractor's verdict and the text's digest.

        An archivist reading the WARC alone can then tell which captures became corpus text,
        with which extractor, and why the others did not.
        """
        archiver = self.archiver
        if archiver is None:
            return
        text = record.get("text") or ""
        fields = {
            "x-stenogram-is-transcript": "true" if record.get("is_transcript") else "false",
            "x-stenogram-extractor": f"{record.get('extractor_version')} {record.get('settings_hash')}",
            "x-stenogram-text-digest": "sha1:" + hashlib.sha1(text.encode("utf-8")).hexdigest(),
        }
        if record.get("reason"):
            fields["x-stenogram-reason"] = record["reason"]
        if record.get("extraction_path"):  # profile | fallback (why) | generic: template drift
            why = record.get("fallback_reason")
            fields["x-stenogram-extraction-path"] = record["extraction_path"] + (f" ({why})" if why else "")
        if outlinks:
            fields["outlink"] = outlinks  # one line per link, as Heritrix's metadata
        archiver.write_metadata(location, url, fields)
