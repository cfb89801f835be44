"""Re-checks recorded as what happened, and nothing truncated becomes text (issue 21, items 4, 5).

Real crawls of the sample site on loopback (tests/test_operations_support.py runs each in a
child process), then ``stenogram reprocess`` of the same WARCs into a fresh corpus:

* a second crawl where every article is due asks with validators; the site answers 304 Not
  Modified (``sample_site.messages.conditional``), and each 304 is a capture row that moves its
  document's ``last_seen``, live and rebuilt alike, row for row;
* in that crawl one article, which arrived whole the first time, is cut short server-side on
  every try (the sample site's fault hook serving ``TruncatedResponse``: the page's own bytes,
  its full Content-Length declared, the connection closed halfway); its last retry is a
  ``WARC-Truncated: disconnect`` record that must not become a new version, the canonical text,
  or an edit in the report;
* a crawl with ``WARC_MAX_RECORD_BODY`` smaller than every page keeps no text at all: what the
  corpus holds must be in the WARC record each row cites, so live and rebuilt both hold none.
"""
from __future__ import annotations

import sqlite3
import urllib.request

import pytest

from conftest import stenogram_cmd
from test_operations_support import run_crawl_subprocess, total

pytestmark = [pytest.mark.network, pytest.mark.slow]

from stenogram.sample_site.faults import Faults, TruncatedResponse  # noqa: E402


class CutOnEveryTry(Faults):
    """The sample site's fault hook, cutting the pages in ``cut`` (target -> the page's whole
    body) short on every fetch: the first half of the real page, its whole length declared; and
    answering the pages in ``unconditional`` whole whatever validators the request carries (as
    servers that ignore If-None-Match do), so an unchanged page comes back as the same 200."""

    def __post_init__(self):
        super().__post_init__()
        self.cut: dict[str, bytes] = {}
        self.unconditional: set[str] = set()

    def intercept(self, request):
        if request.source == "mid" and request.target in self.unconditional:
            request.headers.pop("if-none-match", None)
            request.headers.pop("if-modified-since", None)
        body = self.cut.get(request.target) if request.source == "mid" else None
        if body is None:
            return super().intercept(request)
        with self._lock:
            self.applied.append((request.source, request.target, "truncate"))
        return TruncatedResponse(body[: len(body) // 2], declared_length=len(body))


def _rows(db, sql: str, *args) -> list[tuple]:
    con = sqlite3.connect(db)
    try:
        return con.execute(sql, args).fetchall()
    finally:
        con.close()


#: what a capture row says about a fetch, and the text it attached (by the version's hash)
CAPTURE_ROW = ("SELECT c.warc_record_id, c.url, c.fetched_at, c.http_status, c.is_transcript, "
               "c.reason, v.text_hash, d.canonical_url FROM captures c "
               "LEFT JOIN versions v ON v.id = c.version_id "
               "LEFT JOIN documents d ON d.id = c.document_id")
DOCUMENT_ROW = ("SELECT canonical_url, first_seen, last_seen, n_captures, n_versions, "
                "length(text) FROM documents ORDER BY canonical_url")


def _reprocess(warc_dir, db):
    proc = stenogram_cmd("reprocess", "--db", str(db), "-j", "1", str(warc_dir), timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]


@pytest.fixture(scope="module")
def rechecked(tmp_path_factory):
    from stenogram.sample_site.server import SampleSite

    out = tmp_path_factory.mktemp("rechecks")
    faults = CutOnEveryTry()
    with SampleSite(port=0, size=8, seed=21, faults=faults) as site:
        first, _ = run_crawl_subprocess(site, out, ("mid",), timeout=240)
        first_docs = _rows(out / "corpus.db", DOCUMENT_ROW)
        first_versions = _rows(out / "corpus.db", "SELECT count(*) FROM versions")[0][0]
        cut, same = site.catalog.on("mid", "en")[:2]
        path = cut.copies["mid"].path
        url = site.base_urls["mid"] + path
        with urllib.request.urlopen(url, timeout=30) as resp:  # the page as it is served whole
            faults.cut[path] = resp.read()
        faults.unconditional.add(same.copies["mid"].path)
        same_url = site.base_urls["mid"] + same.copies["mid"].path
        second, _ = run_crawl_subprocess(site, out, ("mid",), settings={"RECRAWL_FORCE": True},
                                         timeout=240)
    rebuilt = out / "rebuilt.db"
    _reprocess(out / "warc", rebuilt)
    return {"out": out, "live": out / "corpus.db", "rebuilt": rebuilt, "first": first,
            "second": second, "first_docs": first_docs, "first_versions": first_versions,
            "cut_url": url, "cut_served": faults.count("truncate"),
            "same_url": same_url}


def test_each_304_is_a_capture_that_moves_last_seen(rechecked):
    second, live = rechecked["second"], rechecked["live"]
    not_modified = total(second, "stenogram/recrawl/not_modified")
    assert not_modified >= 5, second
    assert _rows(live, "SELECT count(*) FROM captures WHERE http_status = 304")[0][0] \
        == not_modified == total(second, "stenogram/not_modified/captures")
    rows = _rows(live, "SELECT c.url, c.fetched_at, d.canonical_url, d.last_seen FROM captures c "
                       "JOIN documents d ON d.id = c.document_id WHERE c.http_status = 304")
    assert len(rows) >= 5
    before = {r[0]: r for r in rechecked["first_docs"]}
    after = {r[0]: r for r in _rows(live, DOCUMENT_ROW)}
    assert set(after) == set(before)  # no document appeared or vanished by being re-checked
    for url, fetched_at, document, last_seen in rows:  # each re-check moved its document on
        assert last_seen >= fetched_at > before[document][2], url


def test_the_same_200_again_is_a_revisit_capture_that_moves_last_seen(rechecked):
    from stenogram.archive.reader import read_record_at

    live, url = rechecked["live"], rechecked["same_url"]
    rows = _rows(live, "SELECT warc_file, warc_offset, fetched_at, http_status, is_transcript, "
                       "version_id FROM captures WHERE url = ? ORDER BY id", url)
    assert len(rows) == 2, rows
    first, again = rows
    assert again[3] == 200 and again[4] == 1 and again[5] == first[5]  # the same version
    record = read_record_at(rechecked["out"] / "warc" / again[0], again[1])
    assert record.rec_type == "revisit" and record.rec_headers.get_header(
        "WARC-Profile").endswith("/identical-payload-digest")
    (last_seen,) = _rows(live, "SELECT d.last_seen FROM documents d JOIN captures c ON "
                               "c.document_id = d.id WHERE c.url = ? LIMIT 1", url)[0]
    assert last_seen >= again[2] > first[2]


def test_rebuild_equals_live_on_captures_and_last_seen(rechecked):
    live, rebuilt = rechecked["live"], rechecked["rebuilt"]
    live_rows = set(_rows(live, CAPTURE_ROW))
    rebuilt_rows = set(_rows(rebuilt, CAPTURE_ROW))
    # every fetch the crawl recorded is the same row in the rebuild ...
    assert live_rows - rebuilt_rows == set()
    # ... and every capture that holds a text in the rebuild was recorded live (the rebuild
    # also records listings and retried attempts, which the live crawl never ingests)
    assert {r for r in rebuilt_rows if r[4]} == {r for r in live_rows if r[4]}
    assert len({r for r in live_rows if r[4] and r[3] == 304}) >= 5
    assert _rows(rebuilt, DOCUMENT_ROW) == _rows(live, DOCUMENT_ROW)


def test_a_page_cut_on_every_retry_is_no_silent_edit(rechecked):
    live, second = rechecked["live"], rechecked["second"]
    assert rechecked["cut_served"] >= 2  # the first try and at least one retry were cut
    assert total(second, "stenogram/retry/dataloss") >= 1
    cut_url = rechecked["cut_url"]
    rows = _rows(live, "SELECT is_transcript, reason, document_id FROM captures WHERE url = ? "
                       "AND http_status = 200 ORDER BY id", cut_url)
    assert rows[0][0] == 1 and rows[-1][0] == 0, rows  # whole the first time, cut the last
    assert rows[-1][1] == "truncated record (WARC-Truncated: disconnect)" and rows[-1][2] is None
    assert _rows(live, "SELECT count(*) FROM versions")[0][0] == rechecked["first_versions"]
    assert total(second, "stenogram/versions_new") == 0
    before = {r[0]: r for r in rechecked["first_docs"]}
    (now,) = [r for r in _rows(live, DOCUMENT_ROW) if r[0] == cut_url]
    assert now[5] == before[cut_url][5]  # the canonical text is still the whole page's
    # and the rebuild, which reads every cut attempt, does not take any of them for text
    cut = _rows(rechecked["rebuilt"], "SELECT is_transcript, reason FROM captures WHERE url = ? "
                                      "AND reason LIKE 'truncated%'", cut_url)
    assert len(cut) >= 2 and all(r == (0, "truncated record (WARC-Truncated: disconnect)")
                                 for r in cut)


def test_records_cut_by_warc_max_record_body_give_no_text(tmp_path):
    from stenogram.sample_site.server import SampleSite

    out = tmp_path / "small"
    with SampleSite(port=0, size=4, seed=3) as site:
        stats, _ = run_crawl_subprocess(site, out, ("mid",),
                                        settings={"WARC_MAX_RECORD_BODY": 1024}, timeout=240)
    assert total(stats, "stenogram/transcript_pages") == 0
    live = _rows(out / "corpus.db", "SELECT count(*) FROM documents")[0][0]
    cut = _rows(out / "corpus.db", "SELECT count(*) FROM captures WHERE "
                                   "reason = 'truncated record (WARC-Truncated: length)'")[0][0]
    assert live == 0 and cut >= 4
    _reprocess(out / "warc", tmp_path / "rebuilt.db")
    assert _rows(tmp_path / "rebuilt.db", "SELECT count(*) FROM documents")[0][0] == live
