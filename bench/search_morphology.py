"""Snowball stems against pymorphy3 dictionary forms on the 40 real-world queries of
tests/test_search.py (QUERIES), over that test's corpus (the sample-site transcripts in English
and Russian and three hand-made ones). Both readings match a document when each word of the
query has a form in it that reads the same (a stem, or one of the word's dictionary forms, any
of pymorphy3's parses); phrases and prefixes are read as their words, the same for both, so
only the morphology differs. English words keep their stem in both (pymorphy3 is Russian).

    .venv/bin/python bench/search_morphology.py

Prints, per query, the documents each finds and the difference, and the totals: this is the
measurement issue 25 asks for before a lemma index is built (docs/search.md).
"""
from __future__ import annotations

import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

import pymorphy3  # noqa: E402

from stenogram.corpus.search import terms  # noqa: E402
from stenogram.corpus.stemming import WORD_RE, fold, stem  # noqa: E402
from test_search import QUERIES, documents  # noqa: E402

_CYRILLIC = re.compile(r"[\u0400-\u04ff]")
MORPH = pymorphy3.MorphAnalyzer()
_LEMMAS: dict[str, frozenset] = {}


def lemmas(word: str) -> frozenset:
    if word not in _LEMMAS:
        w = word.replace("ё", "е")
        _LEMMAS[word] = (frozenset(p.normal_form.replace("ё", "е") for p in MORPH.parse(w))
                         if _CYRILLIC.search(w) else frozenset([stem(w)]))
    return _LEMMAS[word]


def main() -> None:
    docs = documents()
    doc_words = {k: [w.lower() for w in WORD_RE.findall(fold(d["title"] + "\n" + d["text"]))]
                 for k, d in docs.items()}
    doc_stems = {k: {stem(w) for w in ws} for k, ws in doc_words.items()}
    doc_lemmas = {k: set().union(*(lemmas(w) for w in ws)) for k, ws in doc_words.items()}
    more = fewer = same = 0
    print(f"{'query':32} snowball  pymorphy3  only-snowball / only-pymorphy3")
    for query, _, _ in QUERIES:
        qwords = [w for t in terms(query) for w in t.words]
        prefix = any(t.prefix for t in terms(query))
        by_stem = {k for k in docs if all(stem(w) in doc_stems[k] for w in qwords)}
        by_lemma = {k for k in docs if all(lemmas(w) & doc_lemmas[k] for w in qwords)}
        if prefix:  # the same prefix reading for both
            by_lemma = by_stem
        more += len(by_lemma) > len(by_stem)
        fewer += len(by_lemma) < len(by_stem)
        same += by_lemma == by_stem
        print(f"{query[:32]:32} {len(by_stem):8} {len(by_lemma):10}  "
              f"{sorted(by_stem - by_lemma)} / {sorted(by_lemma - by_stem)}")
    print(f"\n{len(QUERIES)} queries over {len(docs)} documents: pymorphy3 finds the same "
          f"documents for {same}, more for {more}, fewer for {fewer}")
    # Every distinct Russian word of the corpus as a one-word query: where do the readings part?
    ru = sorted({w for ws in doc_words.values() for w in ws if _CYRILLIC.search(w)})
    more_words, fewer_words = [], []
    for w in ru:
        by_stem = {k for k in docs if stem(w) in doc_stems[k]}
        by_lemma = {k for k in docs if lemmas(w) & doc_lemmas[k]}
        if len(by_lemma) > len(by_stem):
            more_words.append(w)
        elif len(by_lemma) < len(by_stem):
            fewer_words.append(w)
    print(f"{len(ru)} distinct Russian words as queries: pymorphy3 finds more documents for "
          f"{len(more_words)} {more_words[:12]}, fewer for {len(fewer_words)} {fewer_words[:12]}")


if __name__ == "__main__":
    main()
