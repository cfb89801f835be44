"""Full-text search that takes what people type: ``parse_query`` and ``search``.

Why not hand the user's text to FTS5: its query syntax turns everyday input into errors
("Lavrov's", "U.S.", "Al-Tanf", "С.В.Лавров", "Kazakhstan?" were all syntax errors) or into
operators nobody meant ("NOT", "NEAR", "-", ":"). Here only two things are syntax, the two
people expect from every search box:

* ``"double quotes"`` make a phrase (an unclosed quote runs to the end of the text);
* a trailing ``*`` makes the last word a prefix (``Лавр*``).

Everything else is literal. The text is folded as the index folded the documents
(``corpus.stemming.fold``: zero-width and other invisible characters removed, then NFKC), cut
into words by ``corpus.stemming`` (the same code that
fills the index), each word replaced by its Snowball stem, and the words of one whitespace-free
chunk ("U.S.", "Al-Tanf", "С.В.Лавров") become a phrase, since they were written together. All
terms must match (AND). The result is ranked by FTS5's bm25 over ``documents_stemmed_fts``
(title weighted x5), and each hit gets a snippet cut from the document's own text with the
matching words in ``<mark>`` and everything else HTML-escaped (the stored text is never folded:
its words are matched folded, ``corpus.stemming.source_words``, and shown as stored).

A corpus made before the stemmed index existed, opened read-only (nothing may be migrated), is
searched in ``documents_fts`` with the words as written instead.
"""
from __future__ import annotations

import html
import json
import re
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from stenogram.corpus.stemming import WORD_RE, fold, source_words, stem, words

STEMMED_FTS = "documents_stemmed_fts"
PLAIN_FTS = "documents_fts"
#: bm25 column weights (title, text): a word in the title counts five times.
BM25_WEIGHTS = (5.0, 1.0)
#: Words of text shown around the hits in a snippet.
SNIPPET_WORDS = 32

_APOSTROPHES = str.maketrans("", "", "'’ʼ")
_CHUNK_RE = re.compile(r'"([^"]*)("|$)(\*?)|([^\s"]+)')


@dataclass(frozen=True)
class Term:
    """One query term: a word, or a phrase of words; ``prefix``: its last word is a prefix."""

    words: tuple[str, ...]  # lowercased, as typed
    prefix: bool = False

    def stems(self) -> tuple[str, ...]:
        return tuple(stem(w) for w in self.words)

    def fts(self, stemmed: bool = True) -> str:
        """This term in FTS5 syntax (stems, or the words as written when not ``stemmed``)."""
        if not stemmed:  # unicode61 cuts words at apostrophes: "lavrov's" is "lavrov s"
            return _phrase(tuple(re.sub("['’ʼ]", " ", w) for w in self.words), self.prefix)
        plain = tuple(w.replace("ё", "е").translate(_APOSTROPHES) or w for w in self.words)
        stems = self.stems()
        if not self.prefix:
            return _phrase(stems, False)
        # A prefix is matched against stems: "talks*" must also find "talk" (its stem is shorter
        # than the prefix), so both the typed prefix and its stem are asked for.
        options = dict.fromkeys([_phrase(stems[:-1] + plain[-1:], True), _phrase(stems, True)])
        return options.popitem()[0] if len(options) == 1 else "(" + " OR ".join(options) + ")"


def _phrase(tokens: tuple[str, ...], prefix: bool) -> str:
    return '"' + " ".join(tokens).replace('"', '""') + '"' + ("*" if prefix else "")


def terms(text: str) -> list[Term]:
    """The terms of a user's query (see the module docstring)."""
    out: list[Term] = []
    for m in _CHUNK_RE.finditer(fold(text or "")):  # as the index folded the documents
        if m.group(4) is not None:  # a bare chunk
            chunk = m.group(4)
            prefix = chunk.endswith("*") and bool(WORD_RE.search(chunk[-2:-1] or ""))
        else:  # a quoted phrase; "…"* or "…*" is a prefix phrase
            chunk = m.group(1)
            prefix = bool(m.group(3)) or (chunk.rstrip().endswith("*") and bool(
                WORD_RE.search(chunk.rstrip()[-2:-1] or "")))
        found = tuple(w for _, _, w in words(chunk))
        if found:
            out.append(Term(found, prefix))
    return out


def parse_query(text: str, *, stemmed: bool = True) -> str:
    """Any user text as a valid FTS5 MATCH expression over the stemmed index.

    ``stemmed=False``: the words as written (for ``documents_fts``). Text without a single word
    ("?", "***", "") gives ``""``, a valid expression that matches nothing.
    """
    found = terms(text)
    if not found:
        return '""'
    return " AND ".join(t.fts(stemmed) for t in found)


def _connection(conn_or_db) -> tuple[sqlite3.Connection, bool]:
    """``(connection, opened_here)`` from a connection, a sqlite-utils Database, a ``Corpus``
    or ``ReadOnlyCorpus``, or a path (opened read-only)."""
    if isinstance(conn_or_db, (str, Path)):
        from stenogram.corpus.access import open_readonly

        return open_readonly(conn_or_db), True
    conn = getattr(conn_or_db, "conn", conn_or_db)
    return conn, False


def _has_table(conn, name: str) -> bool:
    return conn.execute("SELECT 1 FROM sqlite_master WHERE name = ?", (name,)).fetchone() is not None


def search(conn_or_db, text: str, limit: int = 20, offset: int = 0) -> list[dict]:
    """Documents matching ``text`` (see ``parse_query``), best first.

    Each hit: ``document_id, title, date, place, source`` (the canonical version's source),
    ``language, snippet_html`` (escaped, hits in ``<mark>``) and ``rank`` (bm25: lower is
    better).
    """
    found = terms(text)
    if not found:
        return []
    conn, opened = _connection(conn_or_db)
    try:
        stemmed = _has_table(conn, STEMMED_FTS)
        table = STEMMED_FTS if stemmed else PLAIN_FTS
        query = " AND ".join(t.fts(stemmed) for t in found)
        rows = conn.execute(
            f"SELECT d.id, d.title, d.date, d.place, v.source, d.sources, d.language, d.text, "
            f"bm25({table}, ?, ?) AS rank FROM {table} JOIN documents d ON d.id = {table}.rowid "
            f"LEFT JOIN versions v ON v.id = d.canonical_version_id "
            f"WHERE {table} MATCH ? ORDER BY rank, d.id LIMIT ? OFFSET ?",
            (*BM25_WEIGHTS, query, int(limit), int(offset))).fetchall()
    finally:
        if opened:
            conn.close()
    hits = []
    for doc_id, title, date, place, source, sources, language, body, rank in rows:
        if source is None and sources:
            try:
                source = (json.loads(sources) or [None])[0]
            except ValueError:
                source = None
        hits.append({"document_id": doc_id, "title": title, "date": date, "place": place,
                     "source": source, "language": language,
                     "snippet_html": snippet_html(body or "", found), "rank": rank})
    return hits


def _matcher(found: list[Term]):
    """A function word -> index of the query word it matches (stem or prefix), or None."""
    exact: dict[str, int] = {}
    prefixes: list[tuple[str, str, int]] = []
    n = 0
    for term in found:
        stems = term.stems()
        for i, (w, s) in enumerate(zip(term.words, stems)):
            if term.prefix and i == len(term.words) - 1:
                prefixes.append((w.replace("ё", "е").translate(_APOSTROPHES), s, n))
            else:
                exact.setdefault(s, n)
            n += 1

    def match(word: str) -> int | None:
        s = stem(word)
        if s in exact:
            return exact[s]
        plain = word.replace("ё", "е").translate(_APOSTROPHES)
        for p, ps, k in prefixes:
            if plain.startswith(p) or s.startswith(ps):
                return k
        return None

    return match


def snippet_html(text: str, found: list[Term], size: int = SNIPPET_WORDS) -> str:
    """About ``size`` words of ``text`` around the most varied hits, as HTML: matching words in
    ``<mark>``, everything else escaped, "…" where the text was cut."""
    tokens = source_words(text)  # the stored text's own words, folded only to be matched
    if not tokens:
        return html.escape(text[:200])
    match = _matcher(found)
    hits = [(i, k) for i, (_, _, ws) in enumerate(tokens)
            if (k := next((k for k in map(match, ws) if k is not None), None)) is not None]
    start = 0
    if hits:
        best = None
        for j, (i, _) in enumerate(hits):
            lo = max(0, i - size // 4)
            inside = [k for ii, k in hits[j:] if ii < lo + size]
            score = (len(set(inside)), len(inside))
            if best is None or score > best[0]:
                best = (score, lo)
        start = best[1]
    end = min(len(tokens), start + size)
    marked = {i for i, _ in hits if start <= i < end}
    out = ["…"] if start > 0 else []
    pos = tokens[start][0]
    for i in range(start, end):
        a, b, _ = tokens[i]
        out.append(html.escape(text[pos:a]))
        piece = html.escape(text[a:b])
        out.append(f"<mark>{piece}</mark>" if i in marked else piece)
        pos = b
    if end < len(tokens):
        out.append(" …")
    else:
        out.append(html.escape(text[pos:]))
    return "".join(out).strip()
