"""The one shape an archived fetch takes on its way from the archive to the corpus.

Both the live crawl (a Scrapy item pipeline) and ``stenogram reprocess`` (reading WARC files)
hand the extractor and the corpus a :class:`Capture`, so the two paths cannot drift apart.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field


@dataclass(frozen=True)
class WarcLocation:
    """Where a record sits: enough to read it back with warcio (seek to offset, read length)."""

    warc_file: str  # file name relative to the WARC directory, final (closed) name
    warc_offset: int
    warc_length: int
    warc_record_id: str  # "<urn:uuid:...>"
    payload_digest: str | None = None  # "sha1:BASE32" as written in WARC-Payload-Digest
    #: the record's ``WARC-Truncated`` reason (length, time, disconnect...): its payload is not
    #: the whole page, so no text is taken from it (docs/archive-records.md); None when whole
    truncated: str | None = None

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class Capture:
    """An archived HTTP response, as the corpus sees it.

    ``body`` is the payload with content-coding removed (what a browser would parse);
    the WARC keeps the bytes as they came off the wire.
    """

    url: str
    fetched_at: str  # ISO 8601 UTC, "2024-04-12T15:38:00Z" (the WARC-Date)
    http_status: int
    content_type: str | None
    body: bytes
    location: WarcLocation
    source: str | None = None  # spider / site profile name, when known
    crawl_id: str | None = None
    headers: dict[str, str] = field(default_factory=dict)  # lower-cased names, last value wins
    #: a capture fetched from a web archive (``stenogram backfill``): the time the archive
    #: captured the page (``url`` is then the original URL, ``fetched_at`` our fetch from the
    #: archive) and the archive's replay prefix; None for a page fetched from its own site
    archived_at: str | None = None
    via: str | None = None
