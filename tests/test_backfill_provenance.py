"""The WARC side of a backfill's provenance: the metadata record beside a capture fetched from a
web archive gives the reprocessed capture its original URL, capture time, archive and source;
a backfill's capture without one (a kill between the two records) is not taken for a page of
the archive's own site, and the backfill's other exchanges (CDX listings) read as usual."""
from __future__ import annotations

from stenogram.archive.http_blocks import ArchivedRequest, ArchivedResponse
from stenogram.archive.reader import ReadStats, iter_captures
from stenogram.archive.warc_writer import WarcWriter
from stenogram.crawler import cdx

from test_reader import EN_TEXT, html_page

ARCHIVE = "https://web.archive.org/web"
ORIGINAL = "https://mid.ru/en/foreign_policy/news/1234567/"
OTHER = "https://mid.ru/en/foreign_policy/news/7654321/"
HTML = [("Content-Type", "text/html; charset=UTF-8")]


def exchange(writer, url, body: bytes, date: str):
    return writer.write_exchange(ArchivedRequest(url), ArchivedResponse(
        url, 200, HTML + [("Content-Length", str(len(body)))], body), date=date)


def facts(original: str, when: str, source: str = "mid") -> dict:
    return {"x-stenogram-original-url": original, "x-stenogram-original-date": when,
            "x-stenogram-archive": ARCHIVE, "x-stenogram-source": source}


def test_reprocessed_backfill_captures_carry_the_original(tmp_path):
    writer = WarcWriter(tmp_path, "bf", warcinfo={"spider": "backfill", "jobId": "J"}, salvage=False)
    listing = cdx.cdx_query(cdx.WAYBACK_CDX, "https://mid.ru/en/", limit=1000)
    exchange(writer, listing, b'[["urlkey","timestamp","original"]]', "2026-11-29T10:00:00.000001Z")
    page = html_page("Remarks", EN_TEXT).encode()
    first = exchange(writer, cdx.replay_url(ARCHIVE, "20120305101500", ORIGINAL), page,
                     "2026-11-29T10:00:05.000001Z")
    writer.write_metadata(first.warc_record_id, cdx.replay_url(ARCHIVE, "20120305101500", ORIGINAL),
                          facts(ORIGINAL, "2012-03-05T10:15:00Z"))
    # a kill between a capture and its metadata record: the next capture follows at once
    exchange(writer, cdx.replay_url(ARCHIVE, "20130101000000", OTHER), page + b" ", "2026-11-29T10:00:09.000001Z")
    # the same payload again at another URL: a revisit, with its own provenance
    again = cdx.replay_url(ARCHIVE, "20140101000000", OTHER)
    revisit = writer.write_revisit(ArchivedRequest(again), ArchivedResponse(again, 200, HTML, page),
                                   _first(first, cdx.replay_url(ARCHIVE, "20120305101500", ORIGINAL)),
                                   date="2026-11-29T10:00:12.000001Z")
    writer.write_metadata(revisit.warc_record_id, again, facts(OTHER, "2014-01-01T00:00:00Z", "mid"))
    writer.close()

    stats = ReadStats()
    got = {c.url: c for c in iter_captures(tmp_path, stats)}
    assert set(got) == {listing, ORIGINAL, OTHER}
    assert got[listing].archived_at is None and got[listing].via is None
    assert got[listing].source == "backfill"
    one = got[ORIGINAL]
    assert (one.archived_at, one.via, one.source, one.crawl_id) == ("2012-03-05T10:15:00Z", ARCHIVE, "mid", "J")
    assert one.fetched_at == "2026-11-29T10:00:05.000001Z" and EN_TEXT.encode() in one.body
    other = got[OTHER]  # the revisit: the unannotated capture of OTHER was skipped
    assert other.archived_at == "2014-01-01T00:00:00Z" and other.body == one.body
    assert stats.skipped["no-provenance"] == 1


def _first(location, url):
    from stenogram.archive.digests import FirstCapture

    return FirstCapture(uri=url, date="2026-11-29T10:00:05.000001Z", record_id=location.warc_record_id,
                        warc_file=location.warc_file, offset=location.warc_offset,
                        length=location.warc_length, digest=location.payload_digest)
