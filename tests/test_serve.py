"""`stenogram serve` over a demo corpus (crawl, silent edit, recrawl): the pages' content over
HTTP, the queries behind them, the hidden internal tables, the sample site's --edit, and
SIGTERM stopping every process serve started. The browser view is tests/test_browser.py."""
from __future__ import annotations

import json
import re
import signal
import sqlite3
import subprocess
import time
import urllib.parse
import urllib.request

import pytest

from conftest import skip_unless_ci

try:
    from tests.serve_support import BIN, alive, children, demo_corpus, serving, wayback_bin
except ImportError:
    from serve_support import BIN, alive, children, demo_corpus, serving, wayback_bin

from stenogram.corpus.web import views

pytestmark = pytest.mark.network


def get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=30) as resp:
            return resp.status, resp.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as err:
        return err.code, err.read().decode("utf-8", "replace")


@pytest.fixture(scope="module")
def db():
    return demo_corpus()


@pytest.fixture(scope="module")
def server(db):
    with serving(db, wayback_bin()) as running:
        yield running


@pytest.fixture(scope="module")
def edited(db):
    con = sqlite3.connect(db)
    try:
        doc_id, = con.execute("SELECT document_id FROM versions GROUP BY document_id, url_key "
                              "HAVING count(*) > 1").fetchone()
        return doc_id
    finally:
        con.close()


def test_history_tells_the_silent_edit_apart_and_diffs_words(db, edited):
    con = sqlite3.connect(db)
    try:
        doc = views.history(con, edited, "http://127.0.0.1:1/corpus")
        kinds = [v["kind"] for v in doc["versions"]]
        assert kinds.count("silent edit") == 1 and kinds[0] == "first text"
        edit = doc["edits"][0]
        assert edit["url"] == edit["against"]["url"]
        html = edit["diff_html"]
        # the sample site's edit: a word changed in place ("we" -> "Russia"), one answer
        # appended: two highlighted places, the rest unchanged (corpus.diff's view or ours)
        assert re.search(r"<del>\s*we\s*</del>\s*<ins>\s*Russia\s*</ins>", html), html[:3000]
        inserted = re.findall(r"<ins>(.*?)</ins>", html, re.S)
        assert len(inserted) == 2 and sum(len(i) for i in inserted) < 120
        assert len(re.findall(r"<del>(.*?)</del>", html, re.S)) == 1
        assert "added after publication" in html.split("<ins>")[-1]
        # a mirror copy of any document is a variant, never an edit
        for other in range(1, 60):
            h = views.history(con, other)
            if h is None:
                continue
            for v in h["versions"]:
                if v["kind"] == "silent edit":
                    assert v["url"] == v["against"]["url"] and other == edited
                if v["kind"] == "mirror variant":
                    assert v["url"] != h["versions"][0]["url"]
    finally:
        con.close()


def test_coverage_counts_every_document_source_pair(db):
    con = sqlite3.connect(db)
    try:
        data = views.coverage(con)
        pairs = sum(len(json.loads(s)) for s, in con.execute("SELECT sources FROM documents WHERE date IS NOT NULL"))
        svg = views.coverage_svg(data)
    finally:
        con.close()
    assert sum(sum(c.values()) for c in data["series"].values()) == pairs
    assert data["months"] == sorted(data["months"]) and len(set(data["months"])) == len(data["months"])
    assert any(label.startswith("mid.ru · ru") for label in data["series"])
    assert svg.startswith("<svg") and svg.count('class="month"') == sum(len(c) for c in data["series"].values())


@pytest.mark.parametrize("query", ["Lavrov's", "U.S.", "Al-Tanf", "С.В.Лавров", "Kazakhstan?", '"', "*", "NEAR(",
                                   "a AND", "<script>"])
def test_search_page_takes_any_text(server, query):
    base, _replay, _proc = server
    status, body = get(f"{base}/-/search?q={urllib.parse.quote(query)}")
    assert status == 200, body[:500]
    assert "<script>" not in body.split('name="q"')[1].split(">")[0]  # the echoed query is escaped


def test_search_finds_and_links_transcripts(server, db):
    base, _replay, _proc = server
    status, body = get(f"{base}/-/search?q=Lavrov")
    assert status == 200 and body.count('class="result"') >= 5
    assert "<mark>" in body and 'href="/transcript/' in body


def test_home_hides_internal_tables_and_shows_the_chart(server):
    base, _replay, _proc = server
    status, body = get(base + "/")
    assert status == 200
    assert "coverage-chart" in body and 'action="/-/search"' in body
    assert 'class="coverage-years"' in body and "Documents per year of their date" in body
    for internal in ("lsh_signatures", "lsh_bands", "corpus_meta", "documents_fts"):
        assert f">{internal}<" not in body, internal
    for table in ("documents", "versions", "captures"):
        assert f">{table}<" in body
    status, body = get(base + "/corpus.json")
    assert status == 200
    # Datasette stays the engine: JSON API, facets
    status, body = get(base + "/corpus/documents.json?_facet=language&_shape=objects&_size=2")
    data = json.loads(body)
    assert status == 200 and data["facet_results"]["language"]["results"] and len(data["rows"]) == 2
    # and its documents table links each title to the reading view
    status, body = get(base + "/corpus/documents?_size=3")
    assert status == 200 and body.count('<a href="/transcript/') == 3


def test_transcript_page_has_dialogue_provenance_and_cite_line(server, db, edited):
    base, replay, _proc = server
    con = sqlite3.connect(db)
    try:
        doc_id, title, url = con.execute(
            "SELECT d.id, d.title, d.canonical_url FROM documents d WHERE json_array_length(d.sources) > 1 "
            "ORDER BY d.id LIMIT 1").fetchone()
        urls = {u for u, in con.execute("SELECT DISTINCT url FROM captures WHERE document_id = ?", (doc_id,))}
    finally:
        con.close()
    status, body = get(f"{base}/transcript/{doc_id}")
    assert status == 200
    assert 'class="turn lavrov"' in body and 'class="speaker"' in body
    assert "Cite:" in body and "Retrieved " in body and url in body
    for u in urls:
        assert u.replace("&", "&amp;") in body
    if replay:
        assert f'href="{replay}/' in body
    status, body = get(f"{base}/transcript/{edited}/history")
    assert status == 200 and "Silent edit" in body and "<ins>" in body
    assert get(f"{base}/transcript/999999")[0] == 404


def test_archived_copy_replays_from_the_warc(server, db, edited):
    base, replay, _proc = server
    if replay is None:
        skip_unless_ci("pywb (.venv-tools) could not be built")
    con = sqlite3.connect(db)
    try:
        caps = con.execute("SELECT c.url, c.fetched_at, v.text FROM captures c JOIN versions v ON v.id = c.version_id "
                           "WHERE c.document_id = ? ORDER BY c.fetched_at", (edited,)).fetchall()
    finally:
        con.close()
    first, last = caps[0], caps[-1]
    for cap, must, must_not in ((first, None, "added after publication"), (last, "added after publication", None)):
        status, body = get(views.replay_url(replay, {"url": cap[0], "fetched_at": cap[1]}))
        assert status == 200
        assert cap[2].split("\n")[0][:40] in body.replace("&#x27;", "'").replace("&#39;", "'")
        if must:
            assert must in body
        if must_not:
            assert must_not not in body  # the first capture replays as it was, before the edit


def test_replay_indexes_warcs_that_have_no_cdxj(db, edited, tmp_path):
    """A folder of bare WARCs (no .cdxj beside them, e.g. copied from elsewhere): serve indexes
    them in its own temporary folder, replays from them, and writes nothing into the folder."""
    import shutil

    wayback = wayback_bin()
    if wayback is None:
        skip_unless_ci("pywb (.venv-tools) could not be built")
    bare = tmp_path / "bare"
    bare.mkdir()
    for warc in (db.parent / "warc").glob("*.warc.gz"):
        shutil.copy(warc, bare)
    before = sorted(p.name for p in bare.iterdir())
    con = sqlite3.connect(db)
    try:
        url, fetched_at, text = con.execute(
            "SELECT c.url, c.fetched_at, v.text FROM captures c JOIN versions v ON v.id = c.version_id "
            "WHERE c.document_id = ? ORDER BY c.fetched_at DESC", (edited,)).fetchone()
    finally:
        con.close()
    with serving(db, wayback, ("--warc", str(bare))) as (_base, replay, _proc):
        assert replay
        status, body = get(views.replay_url(replay, {"url": url, "fetched_at": fetched_at}))
        assert status == 200 and "added after publication" in body
    assert sorted(p.name for p in bare.iterdir()) == before


def test_sigterm_stops_every_process_serve_started(db):
    with serving(db, wayback_bin()) as (_base, replay, proc):
        kids = children(proc.pid)
        assert len(kids) >= (2 if replay else 1), kids
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0
        deadline = time.monotonic() + 10
        while any(alive(k) for k in kids) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not [k for k in kids if alive(k)]


def test_sample_site_edit_from_the_cli():
    proc = subprocess.Popen([str(BIN / "stenogram"), "sample-site", "--size", "0", "--edit", "1"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        lines = []
        while not lines or lines[-1].strip() != "}":
            lines.append(proc.stdout.readline())
        bases = json.loads("".join(lines))
        assert "kill -USR1" in proc.stderr.readline() + proc.stderr.readline()
        from stenogram.sample_site.content import build_catalog

        newest = build_catalog(size=0).on("mid", "en")[0]
        url = bases["mid"] + newest.copies["mid"].path
        mirror = bases["globalsecurity"] + newest.copies["globalsecurity"].path if "globalsecurity" in newest.copies else None
        before = urllib.request.urlopen(url, timeout=10).read().decode()
        mirror_before = urllib.request.urlopen(mirror, timeout=10).read() if mirror else None
        proc.send_signal(signal.SIGUSR1)
        assert "edited " + newest.key in proc.stderr.readline()
        after = urllib.request.urlopen(url, timeout=10).read().decode()
        assert "added after publication" in after and "added after publication" not in before
        if mirror:
            assert urllib.request.urlopen(mirror, timeout=10).read() == mirror_before
    finally:
        proc.terminate()
        proc.wait(timeout=10)
