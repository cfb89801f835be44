"""Words and their Snowball stems, for the stemmed full-text index (``corpus.search``).

Why a module of its own: the same tokenizer and stemmer must run on the documents (inside
SQLite, through the ``stenogram_stem`` SQL function that the FTS triggers call) and on the
queries (``corpus.search.parse_query``); if the two ever differed, a word would stop finding
itself. Russian and English in one text: a word with a Cyrillic letter gets the Russian
stemmer, any other word the English one ("Лавровым" -> "лавров", "talks" -> "talk").

Words are runs of letters and digits (``[^\\W_]``) with inner apostrophes kept, so "Lavrov's"
is one word the English stemmer reduces to "lavrov", and the apostrophe is then dropped; every
other character separates words (so "U.S." is the two words "u" "s", which a query then asks for
as a phrase). "ё" is folded to "е", as Russian texts write either. A Russian word is stemmed until its stem stops changing
(``stem``), since one Snowball pass leaves "Лавровым" and "Лавров" apart.

Text is folded for search (``fold``), the documents' in ``stem_text`` (each word as written,
invisible characters and combining marks included, is folded: the index holds folded words)
and the queries' in ``corpus.search`` (the whole query, before it is cut into words): invisible
characters are removed (zero-width space and joiners, soft hyphen, word joiner, BOM, bidi
controls, tag characters: a zero-width space inside "Лав\u200bров" otherwise cut it into two
words that the plain spelling never finds), then Unicode NFKC (full-width "Ｌａｖｒｏｖ" and the
ligature in "ﬁnal" match their plain spelling; a decomposed "й" is composed). The stored text is
never changed: snippets are cut from it (``source_words``).

PyStemmer is the C build of the Snowball stemmers (the pure-Python ``snowballstemmer`` gives the
same stems ~10x slower); stems are also memoised here, since words repeat (Zipf) and a bulk
reprocess stems every document once.
"""
from __future__ import annotations

import re
import unicodedata

import Stemmer

#: The SQL function name the FTS triggers call (registered by ``register``).
SQL_FUNCTION = "stenogram_stem"

WORD_RE = re.compile(r"[^\W_]+(?:['’ʼ][^\W_]+)*")
_CYRILLIC_RE = re.compile(r"[\u0400-\u04ff]")
_APOSTROPHES = str.maketrans("", "", "'’ʼ")

#: Characters that show as nothing, so they can sit inside a word unseen: soft hyphen,
#: Mongolian vowel separator, zero-width space/non-joiner/joiner, LRM/RLM, the bidi
#: embeddings/overrides/isolates, word joiner and invisible operators, BOM, tag characters.
INVISIBLE = "\u00ad\u180e\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u206f\ufeff\U000e0000-\U000e007f"
_INVISIBLE_RE = re.compile(f"[{INVISIBLE}]+")
#: A word as written in a stored text: word characters, with the invisible characters and
#: combining marks (U+0300..U+036F) that ``fold`` removes or composes allowed inside it.
_SOURCE_WORD_RE = re.compile(rf"[^\W_](?:[^\W_]|[{INVISIBLE}\u0300-\u036f]|['’ʼ](?=[^\W_]))*")

_STEMMERS = {"ru": Stemmer.Stemmer("russian"), "en": Stemmer.Stemmer("english")}
_CACHE: dict[str, str] = {}
_WRITTEN_CACHE: dict[str, str] = {}  # a word as written in a text -> its folded words' stems
_CACHE_MAX = 500_000


def fold(text: str) -> str:
    """``text`` as search sees it: invisible characters removed, then NFKC (module docstring)."""
    return unicodedata.normalize("NFKC", _INVISIBLE_RE.sub("", text))


def source_words(text: str) -> list[tuple[int, int, list[str]]]:
    """``(start, end, folded words)`` for every word of a stored ``text`` as written: offsets in
    ``text`` itself (for snippets), and the lowercased words of that stretch once folded (a
    full-width or zero-width-split word is one stretch; "½" folds to two words)."""
    return [(m.start(), m.end(), [w.lower() for w in WORD_RE.findall(fold(m.group()))])
            for m in _SOURCE_WORD_RE.finditer(text)]


def words(text: str) -> list[tuple[int, int, str]]:
    """``(start, end, lowercased word)`` for every word of ``text``."""
    return [(m.start(), m.end(), m.group().lower()) for m in WORD_RE.finditer(text)]


def stem(word: str) -> str:
    """The stem of one lowercased word (apostrophes removed, "ё" as "е")."""
    cached = _CACHE.get(word)
    if cached is not None:
        return cached
    w = word.replace("ё", "е")
    lang = "ru" if _CYRILLIC_RE.search(w) else "en"
    stemmer = _STEMMERS[lang]
    s = stemmer.stemWord(w)
    if lang == "ru":
        # Snowball strips one ending per call: "Лавров" -> "лавр" (-ов read as an ending) but
        # "Лавровым" -> "лавров"; "Казахстан" -> "казахста" but "Казахстаном" -> "казахстан".
        # Stemming again until nothing changes makes every case meet ("лавр", "казахст"),
        # stopping before a stem gets shorter than 4 letters ("основ", not "осн").
        while len(t := stemmer.stemWord(s)) >= 4 and t != s:
            s = t
    s = s.translate(_APOSTROPHES) or w.translate(_APOSTROPHES)
    if len(_CACHE) >= _CACHE_MAX:
        _CACHE.clear()
    _CACHE[word] = s
    return s


def stem_text(text: str | None) -> str | None:
    """``text`` as its stems separated by spaces (what the stemmed index holds)."""
    if text is None:
        return None
    # the hot path of indexing (every document, inside SQLite's triggers): findall and a local
    # cache lookup are ~40% faster than finditer + stem() per word. Folding is done per word as
    # written and memoised with its stems (words repeat): folding the whole text first cost
    # +28% on the seed transcripts (NFKC and the invisible-character pass over 12 kB), this
    # costs ~2% (measured against each other in one run).
    get = _WRITTEN_CACHE.get
    out = []
    for written in _SOURCE_WORD_RE.findall(text):
        s = get(written)
        if s is None:
            s = " ".join(stem(w.lower()) for w in WORD_RE.findall(fold(written)))
            if len(_WRITTEN_CACHE) >= _CACHE_MAX:
                _WRITTEN_CACHE.clear()
            _WRITTEN_CACHE[written] = s
        if s:
            out.append(s)
    return " ".join(out)


def register(conn) -> None:
    """Make ``stenogram_stem(text)`` callable from SQL on ``conn`` (the FTS triggers use it)."""
    conn.create_function(SQL_FUNCTION, 1, stem_text, deterministic=True)
