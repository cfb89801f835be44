"""Edits as a stream: `stenogram edits --since`, the Atom feed and the "recent edits" page of
`stenogram serve`, and `crawl --exit-on-edits` for cron."""
from __future__ import annotations

import asyncio
import html
import datetime as dt
import json
import re
import sqlite3
import uuid
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import given, settings, strategies as st

from stenogram.archive.capture import Capture, WarcLocation
from stenogram.corpus import Corpus
from stenogram.corpus.cli import edits
from stenogram.corpus.edits import recent_edits, since_bound, summary

LABELLED = Path(__file__).parent / "dedup" / "labelled.jsonl"
ROWS = {r["id"]: r for r in map(json.loads, LABELLED.read_text(encoding="utf-8").splitlines())}
A, B = ROWS["seed-000/original"], ROWS["seed-003/original"]
MIRROR = ROWS["seed-003/dropped-paragraph"]  # the same text on interaffairs, a paragraph short
ATOM = "{http://www.w3.org/2005/Atom}"
# a title as pages have them: quotes, an ampersand, angle brackets (escaped in the feed)
A_TITLE = "Lavrov’s statement & answers to <media> questions"


def _capture(url, fetched_at, source="mid"):
    loc = WarcLocation(warc_file=f"stenogram-{fetched_at[:10]}.warc.gz",
                       warc_offset=int(fetched_at[11:13]) * 1000, warc_length=900,
                       warc_record_id=f"<urn:uuid:{uuid.uuid4()}>", payload_digest="sha1:A")
    return Capture(url=url, fetched_at=fetched_at, http_status=200, content_type="text/html",
                   body=b"", location=loc, source=source, crawl_id="c")


def _t(row, text=None, title=None):
    return {"title": title or row["title"], "date": row["date"], "language": row["language"],
            "source": row["source"], "text": text or row["text"], "is_transcript": True,
            "turns": [], "participants": [], "kind": "transcript", "extractor_version": "t"}


@pytest.fixture(scope="module")
def db(tmp_path_factory):
    path = tmp_path_factory.mktemp("edits") / "corpus.db"
    with Corpus(path) as c:
        c.ingest(_capture(A["url"], "2022-03-05T12:00:00Z"), _t(A, title=A_TITLE))
        c.ingest(_capture(B["url"], "2022-03-05T13:00:00Z"), _t(B))
        c.ingest(_capture(MIRROR["url"], "2022-03-07T09:00:00Z", "interaffairs"), _t(MIRROR))
        c.ingest(_capture(A["url"], "2022-03-09T08:30:00Z"), _t(
            A, A["text"].replace("30th anniversary", "thirtieth anniversary"), A_TITLE))
        edited = A["text"].replace("30th anniversary", "thirtieth anniversary")
        c.ingest(_capture(A["url"], "2022-04-01T10:00:00Z"), _t(
            A, edited.replace("Sergey Lavrov", "Sergey V. Lavrov", 1), A_TITLE))
    return path


def run(*args):
    return CliRunner().invoke(edits, list(map(str, args)))


def captures_of(db_path, version_id):
    con = sqlite3.connect(db_path)
    try:
        return con.execute("SELECT warc_record_id, warc_file, warc_offset FROM captures WHERE "
                           "version_id = ? ORDER BY fetched_at", (version_id,)).fetchall()
    finally:
        con.close()


def test_edits_since_lists_silent_edits_newest_first_with_both_warc_records(db):
    r = run("--db", db, "--since", "2022-03-01", "--json")
    assert r.exit_code == 0, r.output
    found = [json.loads(line) for line in r.output.splitlines()]
    assert [e["seen"] for e in found] == ["2022-04-01T10:00:00Z", "2022-03-09T08:30:00Z"]
    assert {e["title"] for e in found} == {A_TITLE}  # the mirror's variant is not an edit
    first = found[1]
    assert first["summary"] == {"words_removed": 1, "words_added": 1, "places": 1}
    assert found[0]["summary"] == {"words_removed": 0, "words_added": 1, "places": 1}
    assert found[0]["old"]["version_id"] == first["new"]["version_id"]
    for side in ("old", "new"):
        rid, warc_file, offset = captures_of(db, first[side]["version_id"])[0]
        assert first[side]["warc"]["warc_record_id"] == rid
        assert (first[side]["warc"]["warc_file"], first[side]["warc"]["warc_offset"]) == (
            warc_file, offset)
    assert first["url"] == A["url"] and first["old"]["first_seen"] == "2022-03-05T12:00:00Z"
    text = run("--db", db, "--since", "2022-03-09")
    assert text.exit_code == 0
    assert "-1 +1 words in 1 place; version" in text.output and "2 edit(s) since 2022-03-09" \
        in text.output
    assert first["new"]["warc"]["warc_record_id"] in text.output
    later = run("--db", db, "--since", "2022-03-09T08:30:01Z", "--json")
    assert len(later.output.splitlines()) == 1
    assert run("--db", db, "--since", "2022-04-02").output.strip() == "0 edit(s) since 2022-04-02"


def test_a_bad_since_is_one_clear_line(db):
    r = run("--db", db, "--since", "last week")
    assert r.exit_code == 2 and "'last week' is not a date" in r.output


def test_since_bound_matches_the_stored_times():
    assert since_bound("2022-03-09") == "2022-03-09"
    assert since_bound("2022-03-09T11:30:00+03:00") == "2022-03-09T08:30:00"
    assert since_bound("2022-03-09T08:30:00Z") == "2022-03-09T08:30:00"
    assert since_bound("2022-03-09T08:30:00.5Z") == "2022-03-09T08:30:00.500000"


@settings(max_examples=200, deadline=None)
@given(st.datetimes(min_value=dt.datetime(2000, 1, 1), max_value=dt.datetime(2040, 1, 1)),
       st.datetimes(min_value=dt.datetime(2000, 1, 1), max_value=dt.datetime(2040, 1, 1)),
       st.booleans(), st.booleans())
def test_a_stored_time_is_at_or_after_since_exactly_when_it_is_later(seen, since, frac_a, frac_b):
    """Stored times come with or without microseconds (WARC-Date has either), so do --since
    values: the comparison follows time, not the characters ("." sorts before "Z")."""
    from stenogram.corpus.edits import seen_key

    seen = seen if frac_a else seen.replace(microsecond=0)
    since = since if frac_b else since.replace(microsecond=0)
    stored = seen.isoformat() + "Z"  # as the WARC writer and the corpus write them
    assert (seen_key(stored) >= since_bound(since.isoformat() + "Z")) == (seen >= since)
    with pytest.raises(ValueError):
        since_bound("09/03/2022")


words = st.lists(st.sampled_from(["Lavrov", "said", "the", "30th", "Лавров", "сказал", ",",
                                  "«", "»", "\n\n"]), max_size=30).map(" ".join)


@settings(max_examples=150, deadline=None)
@given(words, words)
def test_summary_counts_what_the_word_diff_changed(a, b):
    assert summary(a, a) == {"words_removed": 0, "words_added": 0, "places": 0}
    s = summary(a, b)
    n_words = lambda text: len(re.findall(r"[^\W_]+", text))  # noqa: E731
    # the words kept are the same on both sides
    assert n_words(a) - s["words_removed"] == n_words(b) - s["words_added"] >= 0
    assert (s["places"] == 0) == (a == b)
    assert s["places"] <= max(s["words_removed"] + s["words_added"], 1) + a.count("\n") + \
        b.count("\n") + len(re.findall(r"[^\w\s]|\s+", a + b))


# -- the feed and the page, from Datasette in this process (its test client, no socket) -------
def datasette_get(db_path, path):
    from datasette.app import Datasette

    from stenogram.corpus.web import PLUGINS_DIR, TEMPLATES_DIR

    ds = Datasette([str(db_path)], plugins_dir=str(PLUGINS_DIR), template_dir=str(TEMPLATES_DIR))
    return asyncio.run(ds.client.get(path))


def test_atom_feed_is_valid_atom_with_one_entry_per_edit(db):
    feedparser = pytest.importorskip("feedparser")
    response = datasette_get(db, "/-/edits.atom")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/atom+xml")
    parsed = feedparser.parse(response.content)
    assert not parsed.bozo, parsed.get("bozo_exception")
    assert parsed.version == "atom10"
    assert len(parsed.entries) == 2
    newest, first = parsed.entries
    assert first.title == f"Edited: {A_TITLE}"
    listed = [json.loads(x) for x in run("--db", db, "--since", "2022-03-01", "--json")
              .output.splitlines()]
    assert first.link.endswith(f"/transcript/{listed[1]['document_id']}/history"
                               f"#version-{listed[1]['new']['version_id']}")
    assert dt.datetime(*first.updated_parsed[:6]) == dt.datetime(2022, 3, 9, 8, 30)
    content = html.unescape(first.content[0].value)
    assert "<del>30th</del>" in content and "<ins>thirtieth</ins>" in content
    assert re.search(r"before: version \d+, first seen 2022-03-05T12:00:00Z, mid; WARC "
                     r"stenogram-2022-03-05\.warc\.gz offset 12000 record <urn:uuid:", content)
    assert "-1 +1 words in 1 place" in first.summary
    assert re.search(r"Sergey<ins> V\.</ins> Lavrov", html.unescape(newest.content[0].value))
    # RFC 4287 4.1.1/4.1.2: the feed and each entry have exactly one id, title and updated;
    # an author on the feed; ids are IRIs that stay the same from one fetch to the next
    root = ET.fromstring(response.content)
    assert root.tag == f"{ATOM}feed"
    for element in [root, *root.findall(f"{ATOM}entry")]:
        for tag in ("id", "title", "updated"):
            assert len(element.findall(f"{ATOM}{tag}")) == 1, tag
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ",
                            element.find(f"{ATOM}updated").text)
    assert root.find(f"{ATOM}author/{ATOM}name").text
    assert root.find(f"{ATOM}link[@rel='self']") is not None
    ids = [e.find(f"{ATOM}id").text for e in root.findall(f"{ATOM}entry")]
    assert all(i.startswith("urn:uuid:") for i in ids) and len(set(ids)) == 2
    again = ET.fromstring(datasette_get(db, "/-/edits.atom").content)
    assert [e.find(f"{ATOM}id").text for e in again.findall(f"{ATOM}entry")] == ids
    since = feedparser.parse(datasette_get(db, "/-/edits.atom?since=2022-03-10").content)
    assert len(since.entries) == 1 and not since.bozo


def test_recent_edits_page(db):
    response = datasette_get(db, "/-/edits?since=2022-03-01")
    assert response.status_code == 200
    page = response.text
    assert page.count('class="edit"') == 2
    assert "Lavrov’s statement &amp; answers to &lt;media&gt; questions" in page
    assert re.search(r'href="/transcript/\d+/history#version-\d+"', page)
    assert 'type="application/atom+xml"' in page and "-1 +1 words in 1 place" in page
    assert "No edits since 2022-05-01" in datasette_get(db, "/-/edits?since=2022-05-01").text
    assert 'href="/-/edits"' in datasette_get(db, "/").text  # linked from the home page


def test_an_empty_corpus_has_a_valid_empty_feed(tmp_path):
    feedparser = pytest.importorskip("feedparser")
    path = tmp_path / "empty.db"
    with Corpus(path):
        pass
    parsed = feedparser.parse(datasette_get(path, "/-/edits.atom").content)
    assert not parsed.bozo and parsed.version == "atom10" and parsed.entries == []
    assert recent_edits(sqlite3.connect(path), "0000") == []


# -- cron: a crawl that found edits exits 4 ------------------------------------------------------
@pytest.mark.network
def test_crawl_exit_on_edits_exits_4_only_when_a_crawl_found_edits(tmp_path):
    from stenogram.sample_site.server import SampleSite

    from conftest import stenogram_cmd
    from test_operations_support import crawl_args

    data = tmp_path / "data"
    with SampleSite(port=0, size=4, seed=2) as site:
        args = crawl_args(site, data, "mid")
        first = stenogram_cmd(*args[:1], "--exit-on-edits", *args[1:], timeout=300)
        assert first.returncode == 0, (first.stdout + first.stderr)[-3000:]
        edited = site.silent_edits(1)
        again = stenogram_cmd(*args[:1], "--exit-on-edits", *args[1:], "-s", "RECRAWL_FORCE=True",
                              timeout=300)
    # the report says when the known pages will be re-checked (a sample-site transcript is
    # years old: re-checked every 90 days by default)
    assert re.search(r"Re-check schedule: \d+ known pages; due now 0, ", first.stdout), first.stdout
    assert "RECRAWL_SCHEDULE sets how often" in first.stdout
    out = again.stdout + again.stderr
    assert again.returncode == 4, out[-3000:]
    assert "edited: document" in out
    listed = stenogram_cmd("edits", "--db", str(data / "corpus.db"), "--since", "2000-01-01",
                           "--json")
    assert listed.returncode == 0, listed.stderr
    found = [json.loads(line) for line in listed.stdout.splitlines()]
    assert len(found) == len(edited) == 1
    assert found[0]["old"]["warc"]["warc_file"] != found[0]["new"]["warc"]["warc_file"]


# -- the re-check schedule the operator sees ---------------------------------------------------
def test_recheck_schedule_counts_known_pages_by_when_they_are_due(tmp_path):
    from rich.console import Console

    from stenogram.crawler.state import CrawlState
    from stenogram.report import CrawlSummary, print_summary, recheck_schedule

    now = dt.datetime(2024, 6, 1, 4, 0, tzinfo=dt.timezone.utc)
    state = CrawlState(tmp_path / "state.db")
    due_in = {"a": -1, "b": 0.5, "c": 3, "d": 20, "e": 89, "f": 90}
    for name, days in due_in.items():
        state.record_fetch(f"https://mid.ru/en/{name}/", source="mid", status=200,
                           fetched_at=now - dt.timedelta(days=1),
                           next_due=now + dt.timedelta(days=days))
    # a listing (discovery: no next due) and a page the crawl has not ingested yet
    state.record_fetch("https://mid.ru/en/news/", source="mid", status=200, fetched_at=now)
    state.record_fetch("https://mid.ru/en/g/", source="mid", status=200, fetched_at=now,
                       next_due=now + dt.timedelta(days=2), complete=False)
    state.close()
    recheck = recheck_schedule(tmp_path / "state.db", now)
    assert recheck == {"pages": 6, "due_now": 1, "within": {1: 2, 7: 3, 30: 4}, "later": 2,
                       "last": "2024-08-30T04:00:00Z"}
    assert recheck_schedule(tmp_path / "missing.db", now) == {}
    assert recheck_schedule(None, now) == {}

    class Result:
        crawl_id, warc_dir, db_path = "c1", tmp_path / "warc", tmp_path / "corpus.db"

    console = Console(width=80, record=True)
    print_summary(CrawlSummary(recheck=recheck), Result(), console)
    text = console.export_text()
    assert ("Re-check schedule: 6 known pages; due now 1, within 1 day 2,\n"
            "  within 7 days 3, within 30 days 4, later 2 (last 2024-08-30)") in text
    assert all(len(line) <= 80 for line in text.splitlines())


# -- the recent-edits page in a real browser (headless Chromium, as tests/test_browser.py) -----
@pytest.mark.network
def test_recent_edits_page_in_chromium(db, tmp_path):
    import os
    import shutil as _shutil

    from conftest import skip_unless_ci

    chromium = os.environ.get("STENOGRAM_CHROMIUM", "/usr/bin/chromium")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        skip_unless_ci("browser test: playwright is not installed (make install)")
    if not Path(chromium).exists():
        skip_unless_ci(f"browser test: no Chromium at {chromium}")
    try:
        from tests.serve_support import serving
    except ImportError:
        from serve_support import serving

    served = tmp_path / "corpus.db"
    _shutil.copy(db, served)
    with serving(served, None) as (base, _replay, _proc), sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
        try:
            context = browser.new_context(viewport={"width": 1280, "height": 900})
            context.route(lambda url: not url.startswith(("http://127.0.0.1", "http://localhost")),
                          lambda route: route.abort())
            page = context.new_page()
            page.goto(base + "/")
            page.click("text=Recent edits")
            page.wait_for_url("**/-/edits")
            items = page.locator("li.edit")
            assert items.count() == 2
            assert "-1 +1 words in 1 place" in items.nth(1).inner_text()
            feed_href = page.get_attribute("link[rel=alternate][type='application/atom+xml']",
                                           "href")
            feed = page.request.get(base + feed_href)
            assert feed.ok and b"<feed" in feed.body()
            items.nth(1).locator("a.title").click()
            page.wait_for_url("**/history#version-*")
            anchor = page.url.rsplit("#", 1)[1]
            section = page.locator(f"section#{anchor}")
            assert section.is_visible()
            assert section.locator(".diff-text ins").first.inner_text().strip() == "thirtieth"
            page.goto(base + "/-/edits?since=2022-03-10")
            assert page.locator("li.edit").count() == 1
            assert page.input_value("input[name=since]") == "2022-03-10"
        finally:
            browser.close()
