"""Incremental crawls: a rerun fetches discovery pages and due URLs only, asks with validators,
archives revisits, adds no documents, and turns a silent edit into a new version.
"""
from __future__ import annotations

import sqlite3

import pytest

from conftest import stenogram_cmd
from test_operations_support import crawl_args, run_crawl_subprocess, total, transcript_targets, warc_responses

pytestmark = [pytest.mark.network, pytest.mark.slow]
SOURCES = ("mid", "mid_archive", "globalsecurity", "interaffairs")


def counts(db):
    con = sqlite3.connect(db)
    try:
        return {t: con.execute(f"select count(*) from {t}").fetchone()[0] for t in ("documents", "versions", "captures")}
    finally:
        con.close()


@pytest.fixture(scope="module")
def three_crawls(tmp_path_factory):
    from stenogram.sample_site.server import SampleSite

    out = tmp_path_factory.mktemp("incremental")
    with SampleSite(port=0, size=12, seed=7) as site:
        runs = []
        marks = [0]
        stats1, _ = run_crawl_subprocess(site, out, SOURCES)
        runs.append(stats1)
        marks.append(len(site.requests))
        after1 = counts(out / "corpus.db")
        stats2, _ = run_crawl_subprocess(site, out, SOURCES)
        runs.append(stats2)
        marks.append(len(site.requests))
        after2 = counts(out / "corpus.db")
        # a silent edit at home, then a crawl where everything is due (as on its recheck day)
        edited = next(t for t in site.catalog if t.home == "mid" and t.language == "en")
        site.edit(edited.key, edited.paragraphs + ["Sergey Lavrov: One more answer, added after publication."])
        args = crawl_args(site, out, settings={"RECRAWL_FORCE": "True"})
        proc = stenogram_cmd(*args, timeout=90)
        marks.append(len(site.requests))
        after3 = counts(out / "corpus.db")
        yield {"site": site, "out": out, "runs": runs, "marks": marks, "proc": proc, "edited": edited,
               "counts": (after1, after2, after3)}


def requests_of(crawls, n):
    site, marks = crawls["site"], crawls["marks"]
    return site.requests[marks[n - 1]:marks[n]]


def test_second_crawl_fetches_only_discovery_pages(three_crawls):
    site = three_crawls["site"]
    transcripts = {s: transcript_targets(site, s) for s in SOURCES}
    first = [(s, t) for s, _m, t, _h in requests_of(three_crawls, 1) if t in transcripts[s]]
    second = [(s, t) for s, _m, t, _h in requests_of(three_crawls, 2) if t in transcripts[s]]
    assert len(first) >= 20
    assert second == []
    stats2 = three_crawls["runs"][1]
    assert total(stats2, "stenogram/recrawl/skipped_not_due") >= len(set(first))
    assert total(stats2, "stenogram/documents_new") == 0
    assert three_crawls["counts"][1] == three_crawls["counts"][0]
    # discovery was fetched again: listings, feeds, robots.txt
    assert any(t.endswith("robots.txt") for _s, _m, t, _h in requests_of(three_crawls, 2))
    assert any("rss" in t for _s, _m, t, _h in requests_of(three_crawls, 2))


def test_due_crawl_asks_with_validators_and_gets_revisits(three_crawls):
    proc = three_crawls["proc"]
    assert "warc_write_failed" not in proc.stdout + proc.stderr
    third = requests_of(three_crawls, 3)
    mid_pages = transcript_targets(three_crawls["site"], "mid")
    conditional = [t for s, _m, t, h in third if s == "mid" and t in mid_pages and "if-none-match" in h]
    assert len(conditional) >= 5
    # 304s and unchanged 200s are archived as revisits, not as new documents
    warc = warc_responses(three_crawls["out"] / "warc")
    # (a 304 is a WARC 1.1 server-not-modified revisit holding the 304 head, naming the
    # earlier 200; see archive.warc_writer.WarcWriter.write_revisit)
    revisit_304 = sum(1 for typ, _u, status, _b in warc if typ == "revisit" and status == 304)
    assert revisit_304 >= len(conditional) - 1
    docs1, _docs2, docs3 = (c["documents"] for c in three_crawls["counts"])
    assert docs3 == docs1
    assert "0 new documents" in proc.stdout


def test_silent_edit_becomes_a_new_version_in_the_report(three_crawls):
    after1, after2, after3 = three_crawls["counts"]
    assert after3["versions"] == after2["versions"] + 1
    assert "1 new versions" in three_crawls["proc"].stdout
    con = sqlite3.connect(three_crawls["out"] / "corpus.db")
    texts = [r[0] for r in con.execute("select text from versions where text like '%added after publication%'")]
    assert len(texts) == 1
    state = sqlite3.connect(three_crawls["out"] / "state.db")
    edited_path = three_crawls["edited"].copies["mid"].path
    row = state.execute("select fetch_count, last_status from urls where url like ?", (f"%{edited_path}",)).fetchone()
    assert row == (2, 200)


def test_finished_crawls_leave_nothing_owed_and_walks_completed(three_crawls):
    state = sqlite3.connect(three_crawls["out"] / "state.db")
    try:
        assert state.execute("select count(*) from frontier").fetchone()[0] == 0
        walks = {w for (w,) in state.execute("select walk from walks where source = 'mid_archive'")}
    finally:
        state.close()
    site = three_crawls["site"]
    assert {w.removeprefix(site.base_urls["mid_archive"]) for w in walks} >= {"/en/foreign_policy/news"}
    # the walk was completed by crawl 1, so crawl 2 could stop at its known items
    assert total(three_crawls["runs"][1], "stenogram/listing/stopped_at_known") >= 1


def test_a_walk_never_finished_goes_past_known_items(tmp_path):
    """A crawl killed mid-walk leaves known items on page 1 and pages below never walked.

    Simulated exactly: a finished crawl, then its record of completed walks removed (as if the
    walk had been interrupted): the next crawl must walk past the known items, not stop there.
    """
    from stenogram.sample_site.server import SampleSite

    sources = ("mid_archive", "interaffairs")
    with SampleSite(port=0, size=30, seed=3) as site:
        run_crawl_subprocess(site, tmp_path, sources)
        state = sqlite3.connect(tmp_path / "state.db")
        with state:
            state.execute("delete from walks")
        state.close()
        mark = len(site.requests)
        stats, _ = run_crawl_subprocess(site, tmp_path, sources)
        listings = [t for _s, _m, t, _h in site.requests[mark:] if "/page/" in t or "_cur=" in t]
    assert total(stats, "stenogram/listing/stopped_at_known") == 0
    assert total(stats, "stenogram/listing/walked_past_known") >= 2
    assert listings  # page 2 onwards fetched again
    assert total(stats, "stenogram/documents_new") == 0
