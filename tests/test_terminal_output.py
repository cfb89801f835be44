"""Output that cannot attack the reader (issue 23, item 6): ``stenogram.terminal.neutralise`` on
everything ``search``, ``diff`` and the crawl report print from pages, and search that folds
zero-width and compatibility characters (the stored text keeps its bytes).

The attacks are the ones seen: a title that sets the terminal's window title (OSC 0), clears
the screen (CSI 2J), hides text (SGR 8), a C1 CSI (U+009B), a carriage return that overwrites
the line, and the bidi overrides of "Trojan Source" (CVE-2021-42574).
"""
from __future__ import annotations

import html
import io
import json
import sqlite3
import string
from pathlib import Path
from types import SimpleNamespace

import pytest
from click.testing import CliRunner
from hypothesis import given, settings, strategies as st
from rich.console import Console

from stenogram.cli import cli
from stenogram.corpus import search as search_module
from stenogram.corpus.stemming import fold, register, source_words, stem_text
from stenogram.report import CrawlSummary, SourceLine, print_summary
from stenogram.terminal import json_line, neutralise

try:
    from tests.hostile_corpus import edited_corpus
except ImportError:
    from hostile_corpus import edited_corpus

BIDI = "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
ATTACKS = {
    "window title": "\x1b]0;pwned\x07",
    "clear screen": "\x1b[2J\x1b[H",
    "hidden text": "\x1b[8msecret\x1b[0m",
    "C1 CSI": "\x9b31m",
    "overwrite": "harmless\rREPLACED",
    "backspace": "abc\x08\x08\x08xyz",
    "bidi override": "\u202eevil\u202c",
    "isolate": "\u2067txt\u2069",
    "NUL and DEL": "a\x00b\x7fc",
    "line separator": "one\u2028two",
}


def unsafe(text: str, multiline: bool = False) -> set[str]:
    """The characters of ``text`` a terminal would act on (or that reorder the display)."""
    keep = "\n\t" if multiline else ""
    return {c for c in text if (ord(c) < 0x20 and c not in keep) or 0x7f <= ord(c) <= 0x9f
            or c in BIDI or c in "\u2028\u2029\u200e\u200f\u061c"}


# ---------------------------------------------------------------- the neutraliser
@given(st.text())
@settings(max_examples=500, deadline=None)
def test_neutralised_text_has_nothing_a_terminal_acts_on(text):
    out = neutralise(text)
    assert unsafe(out) == set()
    assert set(out) - set(text) <= set(string.printable)  # only escapes were added


@given(st.text())
@settings(max_examples=300, deadline=None)
def test_multiline_keeps_newlines_and_tabs_only(text):
    out = neutralise(text, multiline=True)
    assert unsafe(out, multiline=True) == set()
    assert out.count("\n") == text.count("\n") and out.count("\t") == text.count("\t")


@given(st.text())
@settings(max_examples=300, deadline=None)
def test_neutralise_is_idempotent_and_keeps_safe_text(text):
    once = neutralise(text)
    assert neutralise(once) == once
    if not unsafe(text):
        assert once == text  # Cyrillic, quotes, emoji, backslashes: untouched


@given(st.text())
@settings(max_examples=300, deadline=None)
def test_json_line_is_the_same_json_value_and_terminal_safe(text):
    dumped = json.dumps({"title": text}, ensure_ascii=False)
    safe = json_line(dumped)
    assert json.loads(safe) == {"title": text}
    assert unsafe(safe) == set()


@pytest.mark.parametrize("name", ATTACKS)
def test_each_seen_attack_shows_as_escapes(name):
    out = neutralise(ATTACKS[name])
    assert unsafe(out) == set()
    assert "\\x" in out or "\\u" in out  # the reader sees something was there


# ---------------------------------------------------------------- the commands
@pytest.fixture
def attacked_corpus(tmp_path):
    """A corpus whose title, source, URL and text carry every attack (as a page would)."""
    path = tmp_path / "corpus.db"
    doc_id = edited_corpus(path)
    payload = "".join(ATTACKS.values())
    conn = sqlite3.connect(path)
    register(conn)  # the corpus's FTS triggers call stenogram_stem
    with conn:
        conn.execute("UPDATE documents SET title = 'Talks ' || ?", (payload,))
        conn.execute("UPDATE versions SET url = 'https://mid.ru/' || ?, source = ?, "
                     "text = text || ' talks ' || ?", (payload, payload, payload))
    conn.close()
    return path, doc_id


def test_search_prints_hostile_titles_neutralised(attacked_corpus):
    path, _ = attacked_corpus
    result = CliRunner().invoke(cli, ["search", "--db", str(path), "talks"])
    assert result.exit_code == 0, result.output
    assert "1 hit(s)" in result.output
    assert unsafe(result.stdout, multiline=True) == set()
    assert "\\x1b]0;pwned\\x07" in result.stdout and "\\u202eevil" in result.stdout
    json_result = CliRunner().invoke(cli, ["search", "--db", str(path), "--json", "talks"])
    assert unsafe(json_result.stdout, multiline=True) == set()
    assert json.loads(json_result.stdout)["title"].startswith("Talks \x1b]0;pwned\x07")


def test_diff_prints_hostile_text_and_labels_neutralised(attacked_corpus):
    path, doc_id = attacked_corpus
    result = CliRunner().invoke(cli, ["diff", "--db", str(path), str(doc_id), "-U", "5"])
    assert result.exit_code == 0, result.output
    assert "{+" in result.stdout and "very" in result.stdout
    assert unsafe(result.stdout, multiline=True) == set()
    assert "\\x1b[2J" in result.stdout


def test_edits_prints_hostile_titles_and_urls_neutralised(attacked_corpus):
    path, _ = attacked_corpus
    result = CliRunner().invoke(cli, ["edits", "--db", str(path), "--since", "2000-01-01"])
    assert result.exit_code == 0, result.output
    assert "document 1" in result.stdout and "\\x1b]0;pwned" in result.stdout
    assert unsafe(result.stdout, multiline=True) == set()
    as_json = CliRunner().invoke(cli, ["edits", "--db", str(path), "--since", "2000-01-01", "--json"])
    assert unsafe(as_json.stdout, multiline=True) == set()
    assert json.loads(as_json.stdout)["title"].startswith("Talks \x1b]0;pwned\x07")


def test_report_edits_and_drift_are_neutralised():
    payload = "".join(ATTACKS.values())
    summary = CrawlSummary(sources=[SourceLine("mid" + payload, 1, 1, 0, 0, "finished")],
                           edited=[{"document_id": 7, "title": "T" + payload,
                                    "url": "https://mid.ru/" + payload}])
    result = SimpleNamespace(crawl_id="c1" + payload, warc_dir=Path("/data/warc"),
                             db_path=Path("/data/corpus.db"))
    buf = io.StringIO()
    print_summary(summary, result, Console(file=buf, width=100_000, color_system=None))
    out = buf.getvalue()
    assert "edited: document 7" in out and "https://mid.ru/\\x1b]0;pwned" in out
    assert unsafe(out, multiline=True) == set()


# ---------------------------------------------------------------- search folding
@pytest.mark.parametrize("stored, typed", [
    ("Неб\u200bензя", "Небензя"),         # zero-width space inside a word
    ("Zakha\u00adrova", "Zakharova"),     # soft hyphen
    ("Ry\u2060abk\ufeffov", "Ryabkov"),   # word joiner, BOM
    ("Pes\u202ekov", "Peskov"),           # a bidi override inside
    ("Ｇｒｕｓｈｋｏ", "Grushko"),           # full-width
    ("ﬁnal", "final"),                    # ligature
    ("Аи\u0306ова", "Айова"),              # decomposed й
])
def test_hidden_and_compatibility_characters_do_not_hide_a_word(tmp_path, stored, typed):
    path = tmp_path / "corpus.db"
    edited_corpus(path)
    conn = sqlite3.connect(path)
    register(conn)  # the corpus's FTS triggers index the new text with stenogram_stem
    with conn:
        conn.execute("UPDATE documents SET text = text || ? ", (f" The word {stored} here.",))
    conn.close()
    stored_text = sqlite3.connect(path).execute("SELECT text FROM documents").fetchone()[0]
    assert stored in stored_text  # the stored text keeps its characters
    for query in (typed, stored):
        hits = search_module.search(path, query)
        assert [h["document_id"] for h in hits] == [1], query
        assert "<mark>" in hits[0]["snippet_html"]
        marked = [html.unescape(m.split("</mark>")[0])
                  for m in hits[0]["snippet_html"].split("<mark>")[1:]]
        assert stored in marked, marked  # the word as stored is marked


@given(st.text())
@settings(max_examples=300, deadline=None)
def test_fold_is_idempotent_and_removes_every_invisible_character(text):
    folded = fold(text)
    assert fold(folded) == folded
    assert not set(folded) & set("\u200b\u200c\u200d\u2060\ufeff\u00ad" + BIDI)


LETTERS = st.text(alphabet="abcdefghijklmnopqrstuvwxyzабвгдежзийклмнопрстуфхцчшщъыьэюя",
                  min_size=1, max_size=12)
INVISIBLE = st.sampled_from(["\u200b", "\u200c", "\u200d", "\u2060", "\ufeff", "\u00ad",
                             "\u202e", "\u2066"])


@given(st.lists(st.tuples(LETTERS, st.lists(st.tuples(st.integers(0, 12), INVISIBLE),
                                            max_size=3)), min_size=1, max_size=8))
@settings(max_examples=300, deadline=None)
def test_words_with_invisible_characters_inside_are_found_whole(spec):
    """Index, query and snippet see one word where the text hides characters inside it."""
    plain, hidden = [], []
    for word, inserts in spec:
        chars = list(word)
        for at, ch in inserts:
            chars.insert(min(at, len(chars) - 1) + 1 if len(chars) > 1 else 1, ch)
        plain.append(word)
        hidden.append("".join(chars))
    text = " ".join(hidden)
    assert [ws for _, _, ws in source_words(text)] == [[w] for w in plain]
    assert stem_text(text) == stem_text(" ".join(plain))
    assert [t.words for t in search_module.terms(text)] == [(w,) for w in plain]
