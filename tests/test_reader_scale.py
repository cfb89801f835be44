"""The reader at scale: maintained aggregates equal a fresh count, Datasette configured to stay
fast, tables that show snippets (issue 26 item 3, issue 25 item 5; bench/bench_serve.py measures).
"""
from __future__ import annotations

import html
import json
import sqlite3
import urllib.request

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from stenogram.corpus import Corpus
from stenogram.corpus.coverage import n_documents, per_year
from stenogram.corpus.serve import DATASETTE_SETTINGS, datasette_command
from stenogram.corpus.web import views

try:
    from tests.serve_support import demo_corpus, serving
    from tests.test_corpus import make_capture, rows, transcript
except ImportError:
    from serve_support import demo_corpus, serving
    from test_corpus import make_capture, rows, transcript


def fresh_counts(conn) -> dict:
    """What the aggregate must say, counted from ``documents`` itself."""
    out = {}
    for date, year, language, sources in conn.execute("SELECT date, year, language, sources FROM documents"):
        key = (date[:7] if date and len(date) >= 7 else "", year or 0, language or "", sources or "")
        out[key] = out.get(key, 0) + 1
    return out


def kept_counts(conn) -> dict:
    return {tuple(r[:4]): r[4] for r in conn.execute(
        "SELECT month, year, language, sources, n FROM document_counts")}


def fresh_years(conn) -> tuple[dict, int]:
    counts = dict(conn.execute("SELECT year, count(*) FROM documents WHERE year IS NOT NULL GROUP BY year"))
    undated = conn.execute("SELECT count(*) FROM documents WHERE year IS NULL").fetchone()[0]
    if not counts:
        return {}, undated
    return {y: counts.get(y, 0) for y in range(min(counts), max(counts) + 1)}, undated


def assert_consistent(conn) -> None:
    assert kept_counts(conn) == fresh_counts(conn)
    assert n_documents(conn) == conn.execute("SELECT count(*) FROM documents").fetchone()[0]
    assert per_year(conn) == fresh_years(conn)


def test_aggregates_follow_ingest_edit_snapshot_delete_and_reopen(tmp_path):
    """Through the writer's own paths: new documents, mirrors merged into one, a silent edit
    that changes the date, a document deleted (as a release snapshot does), and a corpus from
    before the aggregate counted once on open."""
    path = tmp_path / "corpus.db"
    corpus = Corpus(path)
    labelled = rows()
    for row in labelled[:40]:
        corpus.ingest(make_capture(row["url"], source=row["source"]), transcript(row))
    assert_consistent(corpus.conn)
    docs = corpus.conn.execute("SELECT count(*) FROM documents").fetchone()[0]
    assert 1 < docs < 40  # mirrors merged: fewer documents than captures
    row = next(r for r in labelled if r["id"] == "seed-000/original")
    corpus.ingest(make_capture(row["url"], fetched_at="2024-05-01T00:00:00Z"),
                  transcript(dict(row, text=row["text"].replace("30th", "thirtieth")), date="2019-02-03"))
    assert_consistent(corpus.conn)
    assert ("2019-02", 2019) in {k[:2] for k in kept_counts(corpus.conn)}
    with corpus.transaction():  # as corpus.release cuts a snapshot: provenance, then the document
        gone = corpus.conn.execute("SELECT min(id) FROM documents").fetchone()[0]
        corpus.conn.execute("UPDATE documents SET translation_of = NULL WHERE translation_of = ?", (gone,))
        corpus.conn.execute("DELETE FROM captures WHERE document_id = ?", (gone,))
        corpus.conn.execute("DELETE FROM versions WHERE document_id = ?", (gone,))
        corpus.conn.execute("DELETE FROM documents WHERE id = ?", (gone,))
    assert_consistent(corpus.conn)
    with corpus.transaction():  # an older corpus: no aggregate
        corpus.conn.execute("DROP TABLE document_counts")
    corpus.close()
    reopened = Corpus(path)
    assert_consistent(reopened.conn)
    reopened.close()


DATES = st.one_of(st.none(), st.just(""), st.just("2020"), st.dates().map(lambda d: d.isoformat()))
ROWS = st.fixed_dictionaries({
    "date": DATES, "language": st.sampled_from([None, "ru", "en", ""]),
    "sources": st.one_of(st.none(), st.lists(st.sampled_from(["mid", "globalsecurity", "mid_archive"]),
                                             unique=True, max_size=2).map(json.dumps))})
OPS = st.lists(st.tuples(st.sampled_from(["insert", "update", "delete"]), st.integers(0, 30), ROWS),
               max_size=40)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ops=OPS)
def test_aggregates_equal_a_fresh_count_after_any_writes(ops):
    """Any sequence of inserts, updates of the counted columns (to and from NULL) and deletes."""
    corpus = Corpus(":memory:")
    conn = corpus.conn
    try:
        for op, pick, row in ops:
            year = int(row["date"][:4]) if row["date"] and len(row["date"]) >= 4 else None
            ids = [r[0] for r in conn.execute("SELECT id FROM documents ORDER BY id")]
            if op == "insert" or not ids:
                conn.execute("INSERT INTO documents (title, text, date, year, language, sources) "
                             "VALUES ('t', 'x', ?, ?, ?, ?)", (row["date"], year, row["language"], row["sources"]))
            elif op == "update":
                conn.execute("UPDATE documents SET date = ?, year = ?, language = ?, sources = ? WHERE id = ?",
                             (row["date"], year, row["language"], row["sources"], ids[pick % len(ids)]))
            else:
                conn.execute("DELETE FROM documents WHERE id = ?", (ids[pick % len(ids)],))
        assert_consistent(conn)
        assert all(n > 0 for n in kept_counts(conn).values())  # no zero rows left behind
    finally:
        corpus.close()


def test_coverage_from_the_aggregate_equals_the_scan(tmp_path):
    corpus = Corpus(tmp_path / "c.db")
    for row in rows()[:40]:
        corpus.ingest(make_capture(row["url"], source=row["source"]), transcript(row))
    from_aggregate = views.coverage(corpus.conn)
    with corpus.transaction():
        corpus.conn.execute("DROP TABLE document_counts")
    assert views.coverage(corpus.conn) == from_aggregate
    assert from_aggregate["series"]
    corpus.close()


def test_datasette_is_told_the_settings():
    cmd = datasette_command("c.db", 8000, "m.json")
    given_settings = {cmd[i + 1]: cmd[i + 2] for i, a in enumerate(cmd) if a == "--setting"}
    assert given_settings["suggest_facets"] == "off"
    assert int(given_settings["truncate_cells_html"]) <= 200
    assert {k: given_settings[k] for k in DATASETTE_SETTINGS} == DATASETTE_SETTINGS


@pytest.fixture(scope="module")
def served():
    db = demo_corpus()
    with serving(db, None) as (base, _replay, _proc):
        yield db, base


def get(url: str) -> str:
    with urllib.request.urlopen(url, timeout=60) as resp:
        return resp.read().decode("utf-8")


@pytest.mark.network
def test_served_settings_are_as_intended(served):
    _db, base = served
    live = json.loads(get(base + "/-/settings.json"))
    assert live["suggest_facets"] is False
    for name, value in DATASETTE_SETTINGS.items():
        assert str(live[name]).lower() in (value, {"off": "false", "on": "true"}.get(value, value))


@pytest.mark.network
def test_documents_table_shows_snippets_not_full_texts(served):
    db, base = served
    page = html.unescape(get(base + "/corpus/documents?_size=max"))
    con = sqlite3.connect(db)
    texts = [t for (t,) in con.execute("SELECT text FROM documents")]
    con.close()
    limit = int(DATASETTE_SETTINGS["truncate_cells_html"])
    assert texts and all(len(t) > limit for t in texts)
    for text in texts:
        assert text not in page
        assert text[:limit] in page  # the snippet is there: the row is still recognisable
    assert "suggested facets" not in page.lower()


@pytest.mark.network
def test_provenance_tables_count_on_request_only(served):
    """captures/versions carry several rows per document: no facet runs on a plain page load,
    one asked for still counts."""
    _db, base = served
    plain = json.loads(get(base + "/corpus/captures.json?_size=1"))
    assert plain["facet_results"] == {} and plain["suggested_facets"] == []
    asked = json.loads(get(base + "/corpus/captures.json?_size=1&_facet=source"))
    assert asked["facet_results"]["source"]["results"]


@pytest.mark.network
def test_home_page_figures_equal_a_fresh_count(served):
    db, base = served
    page = get(base + "/")
    con = sqlite3.connect(db)
    n = con.execute("SELECT count(*) FROM documents").fetchone()[0]
    years, undated = fresh_years(con)
    con.close()
    assert f"Search {n:,} transcripts" in page
    row = page.split('<tr><th>documents</th>', 1)[1].split("</tr>", 1)[0]
    assert [int(c.rsplit(">", 1)[1]) for c in row.split("</td>") if "<td" in c] == list(years.values())
