"""The corpus does not depend on fetch or ingest order (issue 26, item 4).

One process, N workers (one ``reprocess`` of all their WARCs), a rebuild and a re-crawl of an
unchanged site see the same pages in other orders and at other moments. Each must build the same
documents *and* choose the same canonical URL and canonical version for each (before, the
canonical URL was the first capture by fetch time, so it differed for 17 of 183 documents between
one process and two workers). The captures here are real: every transcript page of a crawl of the
sample site (all sources, so official pages, the archive's copies and the mirrors), extracted
once. Each seeded trial gives them another fetch order (the same crawl's times dealt out again)
and ingests them in another order; the corpora are compared by tools/torture.py's facts,
canonical URL and version included, and by the columns a reader sees.
"""
from __future__ import annotations

import dataclasses
import random
import sys
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))

import torture  # noqa: E402  (tools/ is not a package)

from stenogram.corpus import Corpus  # noqa: E402

pytestmark = [pytest.mark.network]  # the session's crawl of the sample site (loopback)

#: one crawl's day: the moments of its fetches, dealt out again in each trial
CRAWL_START = datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc)


@pytest.fixture(scope="module")
def transcripts(crawled):
    """(capture, transcript, prepared) of every transcript page the crawl archived."""
    from stenogram.archive.reader import iter_captures
    from stenogram.corpus.prepare import prepare_transcripts
    from stenogram.corpus.reprocess import extract_chunk, not_extractable_reason

    assert crawled.proc.returncode == 0, crawled.proc.stderr[-2000:]
    captures = [c for c in iter_captures(crawled.warc_dir) if not not_extractable_reason(c)]
    extracted = [t for t, _error in extract_chunk(captures)]
    kept = [(c, t) for c, t in zip(captures, extracted) if t and t.get("is_transcript")]
    prepared = prepare_transcripts(t for _c, t in kept)
    return [(dataclasses.replace(c, body=b""), t, p) for (c, t), p in zip(kept, prepared)]


def crawl_in_order(items, rng: random.Random, day: datetime = CRAWL_START) -> list:
    """The same pages fetched in another order on ``day`` (one fetch every 2 s, as a polite crawl)
    and ingested in yet another (N workers' WARCs read one after the other)."""
    fetched = items[:]
    rng.shuffle(fetched)
    timed = [(dataclasses.replace(
                c, fetched_at=(day + timedelta(seconds=2 * i)).strftime("%Y-%m-%dT%H:%M:%SZ"),
                location=dataclasses.replace(  # another crawl's records have ids of their own
                    c.location, warc_record_id=f"<urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, day.isoformat() + c.location.warc_record_id)}>")),
              t, p) for i, (c, t, p) in enumerate(fetched)]
    rng.shuffle(timed)
    return timed


def build(*crawls) -> tuple:
    """The facts of a corpus built from ``crawls`` (lists of captures), one after the other."""
    with Corpus(":memory:") as corpus:
        for crawl in crawls:
            with corpus.transaction():
                for capture, transcript, prepared in crawl:
                    corpus.ingest(capture, transcript, prepared)
        facts = torture.facts_of(corpus.conn)
        shown = sorted(corpus.conn.execute(
            "SELECT d.canonical_url, v.text_hash, d.title, d.date, d.language, d.canonical_reason, "
            "d.n_versions, d.sources, d.text = v.text FROM documents d "
            "JOIN versions v ON v.id = d.canonical_version_id"))
    return facts, shown


def differences(reference: tuple, got: tuple) -> list[str]:
    (ref_facts, ref_shown), (facts, shown) = reference, got
    found = torture.differences(
        torture.Snapshot(*ref_facts[:4], set(), ref_facts.n_documents, [], ref_facts.canonical),
        torture.Snapshot(*facts[:4], set(), facts.n_documents, [], facts.canonical))
    if shown != ref_shown:
        found.append(f"documents as shown: {len(set(ref_shown) - set(shown))} differ, e.g. "
                     f"{sorted(set(ref_shown) - set(shown))[:2]}")
    return found


def test_the_captures_are_a_real_test(transcripts):
    """Documents with several URLs (mirrors, the archive's copies) are what a fetch order can
    change: the crawl must have them, official and not."""
    reference, _shown = build(crawl_in_order(transcripts, random.Random(0)))
    multi = [(hashes, urls) for hashes, urls in reference.documents if len(urls) > 1]
    assert len(transcripts) >= 25 and len(multi) >= 8, (len(transcripts), len(multi))
    assert any(len(hashes) > 1 for hashes, _urls in multi)  # and several versions


@pytest.mark.parametrize("seed", range(1, 7))
def test_fetch_and_ingest_order_do_not_change_the_corpus(transcripts, seed):
    reference = build(crawl_in_order(transcripts, random.Random(0)))
    got = build(crawl_in_order(transcripts, random.Random(seed)))
    assert differences(reference, got) == []


def test_a_recrawl_of_the_unchanged_site_changes_no_canonical_choice(transcripts):
    """A second crawl a day later (every page again, other order): more captures, the same
    documents, canonical URLs and versions; the earliest capture still names the URL."""
    rng = random.Random(7)
    once = build(crawl_in_order(transcripts, rng))
    twice = build(crawl_in_order(transcripts, rng), crawl_in_order(transcripts, rng, CRAWL_START + timedelta(days=1)))
    assert differences(once, twice) == []


def test_the_aggregates_kept_per_ingest_equal_a_full_recount(transcripts):
    """Each ingest updates its document's counts, first/last seen and sources from the stored
    ones (O(1)), not by recounting every capture; after three crawls, one of them read from a web
    archive (captured years earlier: first_seen moves back), they equal a full recount."""
    rng = random.Random(11)
    archived = [(dataclasses.replace(c, archived_at=f"2019-0{1 + n % 9}-1{n % 10}T08:00:00Z",
                                     via="http://127.0.0.1:9/web"), t, p)
                for n, (c, t, p) in enumerate(crawl_in_order(transcripts, rng, CRAWL_START - timedelta(days=3)))
                if n % 3 == 0]
    columns = ("id, canonical_url, canonical_reason, canonical_version_id, first_seen, last_seen, "
               "n_captures, n_versions, sources, title, text")
    with Corpus(":memory:") as corpus:
        for crawl in (crawl_in_order(transcripts, rng), archived,
                      crawl_in_order(transcripts, rng, CRAWL_START + timedelta(days=1))):
            with corpus.transaction():
                for capture, transcript, prepared in crawl:
                    corpus.ingest(capture, transcript, prepared)
        kept = corpus.conn.execute(f"SELECT {columns} FROM documents ORDER BY id").fetchall()
        assert max(row[6] for row in kept) >= 3  # documents with captures from each crawl
        with corpus.transaction():
            for (doc,) in corpus.conn.execute("SELECT id FROM documents").fetchall():
                corpus._refresh_document(doc)  # the full recount
        assert corpus.conn.execute(f"SELECT {columns} FROM documents ORDER BY id").fetchall() == kept
