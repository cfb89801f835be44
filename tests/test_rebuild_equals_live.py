"""A corpus rebuilt from a crawl's own WARCs equals the corpus the crawl built live.

Live, only pages the spiders take for articles reach the extractor and anti-bot interstitials are
retried and dropped by a downloader middleware; `stenogram reprocess` sees every archived 200
(listings, directory indexes, interstitials, RSS). Equality therefore rests on the extractor's
gate refusing, on its own, everything the crawl never ingests: the same verdict on the same
bytes. Before the gate asked for positive evidence, directory pages ("Index of
/wmd/library/news/russia/2021") became documents on rebuild only (issue #11).

One crawl of every source of the sample site (80 fillers, seeded) with interstitials served on
some article pages (retried live, so each such URL holds an interstitial and the real page in the
WARC), then a rebuild; documents compared by URL and text hash.
"""
from __future__ import annotations

import hashlib
import sqlite3

import pytest

from conftest import crawl_args, stenogram_cmd


def _documents(db) -> set[tuple[str, str]]:
    """(canonical URL, sha1 of the text) of every document."""
    with sqlite3.connect(db) as conn:
        rows = conn.execute("SELECT canonical_url, text FROM documents").fetchall()
    return {(url, hashlib.sha1(text.encode("utf-8")).hexdigest()) for url, text in rows}


def _versions(db) -> set[tuple[str, str]]:
    with sqlite3.connect(db) as conn:
        return set(conn.execute("SELECT url, text_hash FROM versions").fetchall())


@pytest.fixture(scope="module")
def live_and_rebuilt(tmp_path_factory):
    from stenogram.sample_site.faults import Faults
    from stenogram.sample_site.server import SampleSite

    out = tmp_path_factory.mktemp("live")
    # every 7th-ish article path answers an interstitial once (both kinds of challenge page)
    faults = Faults().add("interstitial", r"/(?:\d*[07]/|\d*[07]-[^/]*\.html)$", times=1, variant=0) \
                     .add("interstitial", r"/\d*3\.htm$", times=1, variant=1)
    with SampleSite(port=0, size=80, seed=11, faults=faults) as site:
        proc = stenogram_cmd(*crawl_args(site, out), "-s", "INTERSTITIAL_BACKOFF_BASE=0.01",
                             "-s", "INTERSTITIAL_BACKOFF_MAX=0.05", timeout=600)
        served = [f for f in faults.applied if f[2] == "interstitial"]
    assert proc.returncode == 0, proc.stderr[-2000:]
    rebuilt = out / "rebuilt.db"
    re_proc = stenogram_cmd("reprocess", "--db", str(rebuilt), "-j", "1", str(out / "warc"))
    assert re_proc.returncode == 0, re_proc.stderr[-2000:]
    return out / "corpus.db", rebuilt, served


def test_rebuild_has_the_live_documents_exactly(live_and_rebuilt):
    live, rebuilt, _ = live_and_rebuilt
    live_docs, rebuilt_docs = _documents(live), _documents(rebuilt)
    assert len(live_docs) >= 80
    assert rebuilt_docs - live_docs == set(), "documents only in the rebuild"
    assert live_docs - rebuilt_docs == set(), "documents only in the live corpus"
    assert _versions(rebuilt) == _versions(live)


def test_rebuild_refuses_what_the_crawl_never_ingests(live_and_rebuilt):
    _, rebuilt, served = live_and_rebuilt
    assert served, "the sample site served no interstitial: the fault patterns match nothing"
    with sqlite3.connect(rebuilt) as conn:
        reasons = dict(conn.execute(
            "SELECT reason, count(*) FROM captures WHERE is_transcript = 0 GROUP BY reason"))
        titles = [t for (t,) in conn.execute("SELECT title FROM documents")]
    assert reasons.get("directory index", 0) >= 1
    assert reasons.get("listing page", 0) >= 1
    assert reasons.get("anti-bot interstitial", 0) == len(served)
    assert not any(t and t.startswith("Index of") for t in titles)


def _transcript_captures(db) -> set[tuple]:
    """What each capture that holds a text says: record, URL, time, status, version's text."""
    with sqlite3.connect(db) as conn:
        return set(conn.execute(
            "SELECT c.warc_record_id, c.url, c.fetched_at, c.http_status, v.text_hash "
            "FROM captures c JOIN versions v ON v.id = c.version_id WHERE c.is_transcript = 1"))


def test_rebuild_has_the_live_transcript_captures_and_sightings(live_and_rebuilt):
    """Row for row: each capture that holds a text, and each document's first and last sighting
    (the rebuild also records listings and interstitials, which hold none)."""
    live, rebuilt, _ = live_and_rebuilt
    assert _transcript_captures(rebuilt) == _transcript_captures(live)
    seen = "SELECT canonical_url, first_seen, last_seen, n_captures FROM documents"
    with sqlite3.connect(live) as a, sqlite3.connect(rebuilt) as b:
        assert sorted(b.execute(seen)) == sorted(a.execute(seen))
