"""Full-text search that takes what people type: ``parse_query`` and ``search``.

Why not hand the user's text to FTS5: its query syntax turns everyday input into errors
("Lavrov's", "U.S.", "Al-Tanf", "С.В.Лавров", "Kazakhstan?" were all syntax errors) or into
operators nobody meant ("NOT", "NEAR", "-", ":"). Here only two things are syntax, the two
people expect from every search box, and a third for researchers:

* ``"double quotes"`` make a phrase (an unclosed quote runs to the end of the text);
* a trailing ``*`` makes the last word a prefix (``Лавр*``);
* ``NEAR(a b "c d", N)``, in capitals as FTS5 writes it: the words or phrases within ``N``
  words of each other (default 10), FTS5's NEAR group (https://sqlite.org/fts5.html, 3.7:
  "the number of tokens between the end of the first phrase and the beginning of the last
  phrase ... is less than or equal to N"). Without its parenthesis, NEAR is a word.

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

from stenogram.corpus.stemming import WORD_RE, fold, source_words, stem, stem_text, words

STEMMED_FTS = "documents_stemmed_fts"
PLAIN_FTS = "documents_fts"
#: bm25 column weights (title, text): a word in the title counts five times.
BM25_WEIGHTS = (5.0, 1.0)
#: Words of text shown around the hits in a snippet.
SNIPPET_WORDS = 32

_APOSTROPHES = str.maketrans("", "", "'’ʼ")
_CHUNK_RE = re.compile(r'"([^"]*)("|$)(\*?)|([^\s"]+)')
_NEAR_RE = re.compile(r"\bNEAR\(([^()]*)\)")
_NEAR_DISTANCE_RE = re.compile(r",\s*(\d{1,4})\s*$")
#: FTS5's default NEAR distance.
NEAR_DISTANCE = 10


@dataclass(frozen=True)
class Term:
    """One query term: a word, or a phrase of words; ``prefix``: its last word is a prefix."""

    words: tuple[str, ...]  # lowercased, as typed
    prefix: bool = False
    #: A NEAR group: its phrases (``words`` then holds all their words), within ``distance``.
    near: tuple["Term", ...] = ()
    distance: int = NEAR_DISTANCE

    def stems(self) -> tuple[str, ...]:
        return tuple(stem(w) for w in self.words)

    def leaves(self) -> tuple["Term", ...]:
        """The phrases of this term: itself, or a NEAR group's phrases."""
        return self.near or (self,)

    def fts(self, stemmed: bool = True) -> str:
        """This term in FTS5 syntax (stems, or the words as written when not ``stemmed``)."""
        if self.near:  # a prefix inside NEAR is one phrase: the stem's (it covers the typed form)
            phrases = [t.fts(stemmed) if not (t.prefix and stemmed) else _phrase(t.stems(), True)
                       for t in self.near]
            return f"NEAR({' '.join(phrases)}, {self.distance})"
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

    def near(m) -> str:
        inner, distance = m.group(1), NEAR_DISTANCE
        if d := _NEAR_DISTANCE_RE.search(inner):
            inner, distance = inner[:d.start()], int(d.group(1))
        group = _plain_terms(inner)
        if len(group) >= 2:
            out.append(Term(tuple(w for t in group for w in t.words), False, tuple(group), distance))
        else:
            out.extend(group)
        return " "

    rest = _NEAR_RE.sub(near, fold(text or ""))  # as the index folded the documents
    return out + _plain_terms(rest)


def _plain_terms(text: str) -> list[Term]:
    out: list[Term] = []
    for m in _CHUNK_RE.finditer(text):
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


#: The filters, by the name the web page, its JSON twin and the CLI all take them by.
FILTER_NAMES = ("speaker", "from", "to", "source", "lang", "kind")
_DATE_BOUND_RE = re.compile(r"\d{4}(-\d{2}(-\d{2})?)?")


@dataclass(frozen=True)
class Filters:
    """What narrows a search besides its words; each ``None`` when not given.

    ``speaker``: only what that speaker said: the words must occur in that speaker's turns (as
    ``extract.turns.speaker_id`` names them, so "Lavrov", "Лавров" and "С.В.Лавров" are one
    speaker); without words, every transcript where the speaker has a turn. ``date_from`` /
    ``date_to``: ``YYYY``, ``YYYY-MM`` or ``YYYY-MM-DD``, both ends included ("to 2023-05" takes
    all of May); an undated transcript is left out once either is given. ``source``: a source
    the transcript was seen on (a mirror's copy counts); ``lang``, ``kind``: the document's.
    """

    speaker: str | None = None
    date_from: str | None = None
    date_to: str | None = None
    source: str | None = None
    lang: str | None = None
    kind: str | None = None

    @classmethod
    def from_args(cls, args) -> "Filters":
        """From a mapping of ``FILTER_NAMES`` to strings (a query string, CLI options); blank
        values are no filter. A date that is not ``YYYY[-MM[-DD]]`` is a ``ValueError``."""
        def get(name):
            value = args.get(name)
            value = value.strip() if isinstance(value, str) else None
            return value or None

        for name in ("from", "to"):
            value = get(name)
            if value is not None and not _DATE_BOUND_RE.fullmatch(value):
                raise ValueError(f"{name}: {value!r} is not a date (YYYY, YYYY-MM or YYYY-MM-DD)")
        return cls(speaker=get("speaker"), date_from=get("from"), date_to=get("to"),
                   source=get("source"), lang=get("lang"), kind=get("kind"))

    def as_args(self) -> dict[str, str]:
        """The filters given, by their ``FILTER_NAMES`` (for links and the JSON answer)."""
        values = (self.speaker, self.date_from, self.date_to, self.source, self.lang, self.kind)
        return {k: v for k, v in zip(FILTER_NAMES, values, strict=True) if v is not None}

    def speaker_key(self) -> str | None:
        if self.speaker is None:
            return None
        from stenogram.extract.turns import speaker_id

        return speaker_id(fold(self.speaker)) or self.speaker.lower()

    def sql(self) -> tuple[str, list]:
        """``(condition over documents d, parameters)``; ``"1"`` when nothing is filtered."""
        where, params = [], []
        if self.date_from is not None:
            where.append("substr(d.date, 1, ?) >= ?")
            params += [len(self.date_from), self.date_from]
        if self.date_to is not None:
            where.append("substr(d.date, 1, ?) <= ?")
            params += [len(self.date_to), self.date_to]
        if self.lang is not None:
            where.append("d.language = ?")
            params.append(self.lang)
        if self.kind is not None:
            where.append("d.kind = ?")
            params.append(self.kind)
        if self.source is not None:
            where.append("EXISTS (SELECT 1 FROM json_each(CASE WHEN json_valid(d.sources) "
                         "THEN d.sources ELSE '[]' END) WHERE value = ?)")
            params.append(self.source)
        if self.speaker is not None:
            where.append("EXISTS (SELECT 1 FROM json_each(CASE WHEN json_valid(d.turns) "
                         "THEN d.turns ELSE '[]' END) WHERE json_extract(value, '$.speaker_id') = ?)")
            params.append(self.speaker_key())
        return (" AND ".join(where) or "1"), params


@dataclass
class Results:
    """One page of a search: ``total`` transcripts match (all of them, not the page's),
    ``hits`` the page, best first; ``counts`` of all matches by ``year``, ``month`` (``YYYY-MM``;
    undated ones under ``"undated"``) and ``source``, when asked for."""

    total: int
    hits: list[dict]
    counts: dict[str, dict[str, int]] | None = None

    def as_json(self) -> dict:
        return {"total": self.total, "hits": self.hits, "counts": self.counts}


def search(conn_or_db, text: str, limit: int = 20, offset: int = 0,
           filters: Filters | None = None) -> list[dict]:
    """One page of hits for ``text`` and ``filters`` (``run``'s ``hits``)."""
    return run(conn_or_db, text, filters, limit=limit, offset=offset, counts=False).hits


def run(conn_or_db, text: str, filters: Filters | None = None, *, limit: int = 20,
        offset: int = 0, counts: bool = True) -> Results:
    """Documents matching ``text`` (see ``parse_query``) and ``filters``, best first.

    Each hit: ``document_id, title, date, place, source`` (the canonical version's source),
    ``sources, language, kind, url`` (the canonical URL), ``snippet_html`` (escaped, hits in
    ``<mark>``; with a speaker filter cut from that speaker's turns) and ``rank`` (bm25: lower
    is better; ``None`` without words, where the newest come first).

    Why in two steps: the matching ids are ranked first (bm25 and the filters read no text),
    then the full rows of the page alone are read and cut into snippets: ordering the joined
    rows sorted every matching document's text before the page was taken (issue 26).
    """
    filters = filters or Filters()
    found = terms(text)
    if not found and not filters.as_args():
        return Results(0, [], _empty_counts() if counts else None)
    conn, opened = _connection(conn_or_db)
    try:
        return _run(conn, found, filters, int(limit), int(offset), counts)
    finally:
        if opened:
            conn.close()


def _empty_counts() -> dict:
    return {"year": {}, "month": {}, "source": {}}


def _run(conn, found, filters: Filters, limit: int, offset: int, counts: bool) -> Results:
    where, params = filters.sql()
    if found:
        stemmed = _has_table(conn, STEMMED_FTS)
        table = STEMMED_FTS if stemmed else PLAIN_FTS
        query = " AND ".join(t.fts(stemmed) for t in found)
        matched = (f"SELECT d.id, m.rank FROM (SELECT rowid AS id, bm25({table}, ?, ?) AS rank "
                   f"FROM {table} WHERE {table} MATCH ?) m JOIN documents d ON d.id = m.id "
                   f"WHERE {where}")
        mparams = [*BM25_WEIGHTS, query, *params]
        # counted without ranking (bm25 is computed per row; a count needs none)
        counted = (f"SELECT count(*) FROM {table} WHERE {table} MATCH ?" if where == "1" else
                   f"SELECT count(*) FROM documents d WHERE d.id IN (SELECT rowid FROM {table} "
                   f"WHERE {table} MATCH ?) AND {where}")
        cparams = [query, *params]
        order = "rank, id"
    else:
        matched = f"SELECT d.id, NULL AS rank, d.date FROM documents d WHERE {where}"
        mparams = params
        order = "date IS NULL, date DESC, id"
        counted, cparams = f"SELECT count(*) FROM ({matched})", mparams
    speaker = filters.speaker_key() if found else None
    if speaker is None:
        # One pass ranks the matches and counts them (a window over all of them); a page past
        # the end has no row to carry the count, so it is counted apart, without ranking.
        rows = conn.execute(f"SELECT id, rank, count(*) OVER () FROM ({matched}) ORDER BY {order} "
                            f"LIMIT ? OFFSET ?", [*mparams, limit, offset]).fetchall()
        total = rows[0][2] if rows else conn.execute(counted, cparams).fetchone()[0]
        page = [(doc_id, rank) for doc_id, rank, _ in rows]
        tally = _counts(conn, matched, mparams) if counts else None
    else:
        # The words must be in the speaker's own turns: the index holds whole texts, so each
        # candidate's turns are read and matched here, in rank order, all of them (the total).
        ids, tally = [], _empty_counts() if counts else None
        for doc_id, rank, turns, date, sources in conn.execute(
                f"SELECT m.id, m.rank, d.turns, d.date, d.sources FROM ({matched}) m "
                f"JOIN documents d ON d.id = m.id ORDER BY m.rank, m.id", mparams):
            if _words_match(speaker_text(turns, speaker), found):
                ids.append((doc_id, rank))
                if tally is not None:
                    _tally(tally, date, sources)
        total, page = len(ids), ids[offset:offset + limit]
        if tally is not None:
            tally = {k: dict(sorted(v.items())) for k, v in tally.items()}
    return Results(total, _page_rows(conn, page, found, speaker if filters.speaker else None), tally)


def _counts(conn, matched: str, params: list) -> dict:
    """All matches counted by month, year and source (SQL over the matched ids only)."""
    out = _empty_counts()
    for month, n in conn.execute(
            f"SELECT CASE WHEN d.date GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]*' THEN substr(d.date, 1, 7) "
            f"ELSE 'undated' END AS month, count(*) FROM ({matched}) m JOIN documents d "
            f"ON d.id = m.id GROUP BY month ORDER BY month", params):
        out["month"][month] = n
        year = month[:4] if month != "undated" else month
        out["year"][year] = out["year"].get(year, 0) + n
    for source, n in conn.execute(
            f"SELECT j.value, count(DISTINCT d.id) FROM ({matched}) m JOIN documents d ON d.id = m.id, "
            f"json_each(CASE WHEN json_valid(d.sources) THEN d.sources ELSE '[]' END) j "
            f"GROUP BY j.value ORDER BY j.value", params):
        out["source"][str(source)] = n
    return out


def _tally(tally: dict, date, sources) -> None:
    """Add one match to ``counts`` (as ``_counts`` counts in SQL)."""
    month = date[:7] if isinstance(date, str) and re.match(r"\d{4}-\d\d", date) else "undated"
    year = month[:4] if month != "undated" else month
    tally["month"][month] = tally["month"].get(month, 0) + 1
    tally["year"][year] = tally["year"].get(year, 0) + 1
    for source in dict.fromkeys(_json_list(sources)):
        tally["source"][str(source)] = tally["source"].get(str(source), 0) + 1


def _json_list(value) -> list:
    try:
        out = json.loads(value) if value else []
    except (TypeError, ValueError):
        return []
    return out if isinstance(out, list) else []


def _page_rows(conn, page, found, speaker) -> list[dict]:
    """The full rows of the page's ids only, in the page's order, with their snippets."""
    if not page:
        return []
    ranks = dict(page)
    marks = ",".join("?" * len(page))
    rows = {r[0]: r for r in conn.execute(
        f"SELECT d.id, d.title, d.date, d.place, v.source, d.sources, d.language, d.kind, "
        f"d.canonical_url, d.text, d.turns FROM documents d "
        f"LEFT JOIN versions v ON v.id = d.canonical_version_id WHERE d.id IN ({marks})",
        list(ranks))}
    hits = []
    for doc_id, _ in page:
        (_, title, date, place, source, sources, language, kind, url, body, turns) = rows[doc_id]
        sources = _json_list(sources)
        if source is None and sources:
            source = sources[0]
        shown = speaker_text(turns, speaker) if speaker else (body or "")
        hits.append({"document_id": doc_id, "title": title, "date": date, "place": place,
                     "source": source, "sources": sources, "language": language, "kind": kind,
                     "url": url, "snippet_html": snippet_html(shown or body or "", found),
                     "rank": ranks[doc_id]})
    return hits


def speaker_text(turns_json, speaker: str) -> str:
    """The text of every turn of ``speaker`` (a ``speaker_id``), paragraphs apart."""
    try:
        turns = json.loads(turns_json or "[]")
    except ValueError:
        return ""
    if not isinstance(turns, list):
        return ""
    return "\n\n".join(str(t.get("text") or "") for t in turns
                        if isinstance(t, dict) and t.get("speaker_id") == speaker)


def _words_match(text: str, found: list[Term]) -> bool:
    """Whether every term occurs in ``text`` as the index would match it: stems, phrases as
    consecutive words, a prefix on a phrase's last word (``Term.fts``'s two readings), NEAR
    groups within their distance."""
    if not text:
        return False
    stems = (stem_text(text) or "").split()  # the words as the index holds them (the same function)
    present = set(stems)
    for term in found:
        if not term.near and not term.prefix and len(term.words) == 1:
            if term.stems()[0] not in present:  # one word: a set lookup, no scan
                return False
            continue
        spans = [_phrase_spans(stems, leaf) for leaf in term.leaves()]
        if not all(spans):
            return False
        if term.near and not _near(spans, term.distance):
            return False
    return True


def _phrase_spans(stems: list[str], term: Term) -> list[tuple[int, int]]:
    """``(start, end)`` word positions where the phrase ``term`` occurs (FTS5's matching: the
    stems in a row; a prefix last word against the stem or the typed form)."""
    want = term.stems()
    last = len(want) - 1
    plain_last = term.words[-1].replace("ё", "е").translate(_APOSTROPHES)

    def at(i: int) -> bool:
        for k, s in enumerate(want):
            j = i + k
            if k == last and term.prefix:
                if not (stems[j].startswith(s) or stems[j].startswith(plain_last)):
                    return False
            elif stems[j] != s:
                return False
        return True

    return [(i, i + len(want)) for i in range(len(stems) - len(want) + 1) if at(i)]


def _near(spans: list[list[tuple[int, int]]], distance: int) -> bool:
    """Whether one occurrence of each phrase lies within ``distance`` words: FTS5's rule, the
    words between the end of the first phrase and the start of the last, sorted by position."""
    import itertools

    for combo in itertools.product(*spans):
        ordered = sorted(combo)
        if ordered[-1][0] - ordered[0][1] <= distance:
            return True
    return False


def _matcher(found: list[Term]):
    """A function word -> index of the query word it matches (stem or prefix), or None."""
    exact: dict[str, int] = {}
    prefixes: list[tuple[str, str, int]] = []
    n = 0
    for term in (leaf for t in found for leaf in t.leaves()):
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
        assert best is not None  # hits is not empty here
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
