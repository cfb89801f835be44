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

PyStemmer is the C build of the Snowball stemmers (the pure-Python ``snowballstemmer`` gives the
same stems ~10x slower); stems are also memoised here, since words repeat (Zipf) and a bulk
reprocess stems every document once.
"""
from __future__ import annotations

import re

import Stemmer

#: The SQL function name the FTS triggers call (registered by ``register``).
SQL_FUNCTION = "stenogram_stem"

WORD_RE = re.compile(r"[^\W_]+(?:['’ʼ][^\W_]+)*")
_CYRILLIC_RE = re.compile(r"[\u0400-\u04ff]")
_APOSTROPHES = str.maketrans("", "", "'’ʼ")

_STEMMERS = {"ru": Stemmer.Stemmer("russian"), "en": Stemmer.Stemmer("english")}
_CACHE: dict[str, str] = {}
_CACHE_MAX = 500_000


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
    # cache lookup are ~40% faster than finditer + stem() per word
    get = _CACHE.get
    out = []
    for word in WORD_RE.findall(text):
        word = word.lower()
        s = get(word)
        out.append(s if s is not None else stem(word))
    return " ".join(out)


def register(conn) -> None:
    """Make ``stenogram_stem(text)`` callable from SQL on ``conn`` (the FTS triggers use it)."""
    conn.create_function(SQL_FUNCTION, 1, stem_text, deterministic=True)
