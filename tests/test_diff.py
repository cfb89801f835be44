"""corpus.diff: word-level, chronological, labelled diffs for the terminal and as HTML."""
from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import given, settings, strategies as st

from stenogram.archive.capture import Capture, WarcLocation
from stenogram.corpus import Corpus
from stenogram.corpus.diff import (DELETE, EQUAL, INSERT, diff_html, document_pairs, tokens,
                         unified_word_diff, version_pairs, word_diff)

LABELLED = Path(__file__).parent / "dedup" / "labelled.jsonl"


def seed_text() -> str:
    for line in LABELLED.read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        if row["id"] == "seed-000/original":
            return row["text"]
    raise AssertionError("seed-000/original missing")


def sides(ops):
    old = "".join(t for op, t in ops if op in (EQUAL, DELETE))
    new = "".join(t for op, t in ops if op in (EQUAL, INSERT))
    return old, new


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet="ab c.,«»\"\n", max_size=60), st.text(alphabet="ab c.,«»\"\n", max_size=60))
def test_word_diff_rebuilds_both_texts(old, new):
    ops = word_diff(old, new)
    assert sides(ops) == (old, new)
    assert all(text for _, text in ops)
    assert all(a[0] != b[0] for a, b in zip(ops, ops[1:]))


def test_tokens_are_words_spaces_and_single_punctuation():
    assert tokens("«Да», — сказал U.S.") == ["«", "Да", "»", ",", " ", "—", " ", "сказал", " ",
                                             "U", ".", "S", "."]


def test_a_quote_change_shows_as_just_the_quote():
    old = seed_text()
    i = old.index("30th anniversary")
    new = old[:i] + "“30th” anniversary" + old[i + len("30th anniversary"):]
    changes = [(op, t) for op, t in word_diff(old, new) if op != EQUAL]
    assert changes == [(INSERT, "“"), (INSERT, "”")]


def test_a_changed_figure_in_a_long_paragraph_is_one_word():
    old = seed_text()
    new = old.replace("30th anniversary", "thirtieth anniversary")
    assert [(op, t) for op, t in word_diff(old, new) if op != EQUAL] == [
        (DELETE, "30th"), (INSERT, "thirtieth")]


def v(id_, text, first_seen, url="https://mid.ru/en/foreign_policy/news/1/", source="mid"):
    return {"id": id_, "text": text, "first_seen": first_seen, "url": url, "source": source,
            "url_key": url}


def test_unified_word_diff_labels_both_sides_older_first():
    a = v(3, "Intro.\nWe signed over 150 documents.\nEnd.", "2024-04-12T16:00:00Z")
    b = v(7, "Intro.\nWe signed over 160 documents.\nEnd.", "2024-04-20T09:00:00Z",
          url="https://mid.ru/en/foreign_policy/news/1", source="mid_archive")
    out = unified_word_diff(a, b)
    lines = out.splitlines()
    assert lines[0] == ("--- version 3, first seen 2024-04-12T16:00:00Z, mid, "
                        "https://mid.ru/en/foreign_policy/news/1/")
    assert lines[1] == ("+++ version 7, first seen 2024-04-20T09:00:00Z, mid_archive, "
                        "https://mid.ru/en/foreign_policy/news/1")
    assert lines[2:] == ["@@ paragraph 2 @@", "We signed over [-150-]{+160+} documents."]
    assert unified_word_diff(a, b, context=1).splitlines()[2:] == [
        "@@ paragraph 1 @@", "Intro.", "We signed over [-150-]{+160+} documents.", "End."]


def test_diff_html_escapes_and_marks():
    a = v(1, "<b>Remarks</b> & \"answers\"\nSame.", "2024-01-01T00:00:00Z",
          url="https://x.test/?a=1&b=<2>")
    b = v(2, "<b>Remarks</b> & «answers»\nSame.", "2024-02-01T00:00:00Z")
    out = diff_html(a, b, context=None)
    assert "<b>" not in out and "&lt;b&gt;Remarks&lt;/b&gt; &amp; " in out
    assert "<del>&quot;</del><ins>«</ins>answers<del>&quot;</del><ins>»</ins>" in out
    assert 'href="https://x.test/?a=1&amp;b=&lt;2&gt;"' in out
    assert out.index("diff-old") < out.index("diff-new")
    assert "version 1" in out and "2024-01-01T00:00:00Z" in out and ">mid<" not in out


def test_pairs_are_chronological_edits_else_mirrors_against_canonical():
    u1, u2 = "https://mid.ru/a/", "https://globalsecurity.org/a.htm"
    versions = [v(1, "x", "2024-01-01", u1), v(2, "y", "2024-01-02", u2),
                v(3, "z", "2024-01-03", u1)]
    assert [(a["id"], b["id"]) for a, b in version_pairs(versions, 3)] == [(1, 3)]
    mirrors = [v(1, "x", "2024-01-01", u2), v(5, "y", "2024-01-02", u1)]
    # canonical (5) is newer than the mirror: the older side still comes first
    assert [(a["id"], b["id"]) for a, b in version_pairs(mirrors, 5)] == [(1, 5)]
    assert version_pairs(versions[:1], 1) == []


def _capture(url, fetched_at):
    loc = WarcLocation(warc_file="s.warc.gz", warc_offset=0, warc_length=10,
                       warc_record_id=f"<urn:uuid:{uuid.uuid4()}>", payload_digest="sha1:A")
    return Capture(url=url, fetched_at=fetched_at, http_status=200, content_type="text/html",
                   body=b"", location=loc, source="mid", crawl_id="c")


def _t(text):
    return {"title": "Remarks", "date": "2022-03-05", "language": "en", "source": "mid",
            "text": text, "turns": [], "participants": [], "is_transcript": True, "kind": "transcript",
            "extractor_version": "t"}


@pytest.fixture
def edited(tmp_path):
    text = seed_text()
    path = tmp_path / "c.db"
    with Corpus(path) as c:
        url = "https://mid.ru/en/foreign_policy/news/1900000/"
        # the later capture is ingested first: the diff must still put the older one first
        first = c.ingest(_capture(url, "2022-03-09T12:00:00Z"),
                         _t(text.replace("30th anniversary", "thirtieth anniversary")))
        c.ingest(_capture(url, "2022-03-05T12:00:00Z"), _t(text))
    return path, first.document_id


def test_corpus_diff_is_chronological(edited):
    path, doc = edited
    with Corpus(path) as c:
        pairs = document_pairs(c, doc)
        assert [(a["first_seen"], b["first_seen"]) for a, b in pairs] == [
            ("2022-03-05T12:00:00Z", "2022-03-09T12:00:00Z")]
        out = c.diff(doc)
    assert out.startswith("--- version ") and "first seen 2022-03-05T12:00:00Z" in out.splitlines()[0]
    assert "[-30th-]{+thirtieth+}" in out


def test_diff_command_with_html_page(edited, tmp_path):
    from stenogram.corpus.cli import diff as diff_cmd

    path, doc = edited
    page = tmp_path / "edit.html"
    r = CliRunner().invoke(diff_cmd, ["--db", str(path), str(doc), "--html", str(page)])
    assert r.exit_code == 0, r.output
    assert r.output.splitlines()[0].startswith("--- version ")
    assert "[-30th-]{+thirtieth+}" in r.output
    html_ = page.read_text(encoding="utf-8")
    assert html_.startswith("<!doctype html>") and "<del>30th</del><ins>thirtieth</ins>" in html_
    assert "first seen <time>2022-03-05T12:00:00Z</time>" in html_
    missing = CliRunner().invoke(diff_cmd, ["--db", str(path), "999"])
    assert missing.exit_code != 0 and "no document 999" in missing.output
