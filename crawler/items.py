"""What a spider hands to the pipeline: one fetched page that may be a transcript."""
from __future__ import annotations

import scrapy


class TranscriptPage(scrapy.Item):
    """A page the spider believes holds a transcript, with where its bytes sit in the WARC.

    The pipeline turns it into an :class:`archive.capture.Capture`, extracts it and ingests it,
    exactly as ``stenogram reprocess`` does from the WARC files.
    """

    url = scrapy.Field()
    source = scrapy.Field()
    http_status = scrapy.Field()
    content_type = scrapy.Field()
    headers = scrapy.Field()
    body = scrapy.Field()  # content-decoded payload (after HttpCompressionMiddleware)
    warc = scrapy.Field()  # archive.capture.WarcLocation or None when archiving is off
    fetched_at = scrapy.Field()
    date = scrapy.Field()
    archived_at = scrapy.Field()  # a web archive's capture: its original capture time (backfill)
    via = scrapy.Field()  # ... and the archive it came from (its replay prefix)
    outlinks = scrapy.Field()  # every link on the page, absolute (for the WARC metadata record)  # the transcript's date once extracted (drives its recrawl interval)
