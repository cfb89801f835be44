"""The whole pipeline on the sample site: spider -> WARC -> extraction -> SQLite.

Every figure checked here comes from a real crawl over loopback; nothing is mocked.
"""
from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from warcio.archiveiterator import ArchiveIterator

pytestmark = pytest.mark.network

SEED_KEYS = ("seed-000", "seed-001", "seed-002", "seed-003", "seed-004")


def rows(db: Path, sql: str, *params):
    con = sqlite3.connect(db)
    con.row_factory = sqlite3.Row
    try:
        return [dict(r) for r in con.execute(sql, params)]
    finally:
        con.close()


def test_crawl_exits_cleanly_and_reports(crawled):
    assert crawled.proc.returncode == 0, crawled.proc.stdout[-3000:] + crawled.proc.stderr[-3000:]
    out = crawled.proc.stdout
    assert "WARC files:" in out and "documents" in out
    for source in ("mid", "mid_archive", "globalsecurity", "interaffairs"):
        assert source in out


def test_each_seed_is_one_document_with_title_date_and_text(crawled):
    catalog = crawled.site.catalog
    docs = rows(crawled.db, "select id, title, date, text from documents")
    for key in SEED_KEYS:
        seed = catalog[key]
        matching = [d for d in docs if d["title"] == seed.title]
        assert len(matching) == 1, f"seed {key}: {len(matching)} documents titled {seed.title!r}"
        doc = matching[0]
        assert doc["date"] == seed.date
        # the body's first and last paragraphs as published are in the canonical text
        assert seed.paragraphs[0] in doc["text"]
        assert seed.paragraphs[-2] in doc["text"]


def test_seed_mirrors_merge_into_their_document(crawled):
    catalog = crawled.site.catalog
    for key in SEED_KEYS:
        seed = catalog[key]
        urls = {u for us in seed.urls(crawled.site.base_urls).values() for u in us}
        got = rows(
            crawled.db,
            "select c.url from captures c join documents d on d.id = c.document_id where d.title = ?",
            seed.title,
        )
        sources_seen = {u["url"].split("/")[2] for u in got}
        expected_hosts = {u.split("/")[2] for u in urls}
        assert expected_hosts <= sources_seen, f"seed {key}: mirrors missing from {sources_seen}"


def test_every_capture_points_at_a_real_warc_record(crawled):
    captures = rows(crawled.db, "select * from captures")
    assert captures
    for cap in captures:
        path = crawled.warc_dir / cap["warc_file"]
        assert path.exists(), cap["warc_file"]
        with open(path, "rb") as fh:
            fh.seek(cap["warc_offset"])
            record = next(iter(ArchiveIterator(fh)))
            assert record.rec_headers.get_header("WARC-Record-ID") == cap["warc_record_id"]
            assert record.rec_headers.get_header("WARC-Target-URI") == cap["url"]
            assert record.rec_type in ("response", "revisit")


def test_warcio_check_passes_on_every_file(crawled):
    warcs = crawled.warcs()
    assert warcs, "no WARC files written"
    warcio = Path(sys.executable).parent / "warcio"
    for warc in warcs:
        proc = subprocess.run([str(warcio), "check", str(warc)], capture_output=True, text=True, timeout=120)
        assert proc.returncode == 0, proc.stdout + proc.stderr


def test_robots_txt_obeyed_no_listing_pagination_on_mid(crawled):
    mid_paths = [path for source, method, path, headers in crawled.site.requests if source == "mid"]
    assert "/robots.txt" in mid_paths
    assert not [p for p in mid_paths if "PAGEN" in p]


def test_corpus_rebuilt_from_warcs_equals_the_live_corpus(crawled, tmp_path):
    """The WARCs are the source of truth: reprocessing them gives the corpus the crawl built."""
    from conftest import stenogram_cmd

    rebuilt = tmp_path / "rebuilt.db"
    proc = stenogram_cmd("reprocess", "--db", str(rebuilt), str(crawled.warc_dir))
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]

    def documents(db):
        return sorted(
            (d["title"], d["date"], d["place"], d["language"], d["text"], d["canonical_url"])
            for d in rows(db, "select * from documents")
        )

    def captures(db):
        # The live pipeline sees the pages its spider took for transcripts; reprocess sees every
        # response and records the rest (listings, robots.txt) as non-transcript captures.
        return sorted(
            (c["url"], c["warc_file"], c["warc_offset"], c["warc_record_id"], c["source"], c["crawl_id"])
            for c in rows(db, "select * from captures where document_id is not null")
        )

    assert documents(rebuilt) == documents(crawled.db)
    assert captures(rebuilt) == captures(crawled.db)


def test_spiders_rerun_on_the_archive_without_the_network(crawled, tmp_path):
    """`stenogram crawl --replay` answers every request from the WARCs: same pages, no fetches."""
    import re

    from conftest import crawl_args, stenogram_cmd

    before = len(crawled.site.requests)
    proc = stenogram_cmd(*crawl_args(crawled.site, tmp_path / "replayed"), "--replay", str(crawled.warc_dir))
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert len(crawled.site.requests) == before, "replay reached the live (sample) site"

    def fetched(stdout):
        # a report row: the source, then pages fetched (the table has no vertical rules: 80 columns)
        return {m[0]: int(m[1]) for m in re.findall(r"(?m)^\s*(mid|mid_archive|globalsecurity|interaffairs)\s+(\d+)\s",
                                                    stdout)}

    original, replayed = fetched(crawled.proc.stdout), fetched(proc.stdout)
    assert set(original) == {"mid", "mid_archive", "globalsecurity", "interaffairs"}
    assert replayed == original


def test_metadata_records_say_what_stenogram_learned(crawled):
    """Beside each transcript page's response: the extractor's verdict, text digest, outlinks."""
    metadata = {}
    for warc in crawled.warcs():
        with open(warc, "rb") as fh:
            for record in ArchiveIterator(fh):
                if record.rec_type == "metadata":
                    fields = record.content_stream().read().decode("utf-8")
                    metadata[record.rec_headers.get_header("WARC-Concurrent-To")] = fields
    transcript_captures = rows(crawled.db, "select warc_record_id, url from captures where document_id is not null")
    assert transcript_captures
    for cap in transcript_captures:
        fields = metadata.get(cap["warc_record_id"])
        assert fields is not None, f"no metadata record for {cap['url']}"
        assert "x-stenogram-is-transcript: true" in fields
        assert "x-stenogram-text-digest: sha1:" in fields
        assert "outlink: http://127.0.0.1:" in fields
