"""Text normalisation and shingling: the one definition of "the same text" the corpus uses.

Why one module: the exact-duplicate hash, the MinHash signatures and the containment check must
all see the same text, or a mirror that only differs in typography would hash differently from
the shingles that were compared. Decisions (documented because they decide what merges):

* ``normalise_text``: Unicode NFKC (folds no-break spaces, ligatures, full-width forms), then the
  typographic characters mirrors change — curly and angle quotes ’‘‚‛“”„«» to straight ``'``/``"``,
  dashes ‒–—―− to ``-``, soft hyphen and zero-width characters removed — then every run of
  whitespace folded to one space and the ends stripped. Case is KEPT: the exact hash should
  change if the ministry edits the text, even a capital letter.
* ``shingles``: word 5-grams over the normalised text, case-folded, words = ``\\w+`` runs (so
  punctuation such as "Mr." vs "Mr" never matters). A text shorter than 5 words is one shingle.
"""
from __future__ import annotations

import hashlib
import re
import unicodedata

SHINGLE_SIZE = 5

_TYPOGRAPHY = str.maketrans(
    {
        "\u2019": "'", "\u2018": "'", "\u201a": "'", "\u201b": "'", "\u2032": "'",
        "\u201c": '"', "\u201d": '"', "\u201e": '"', "\u00ab": '"', "\u00bb": '"', "\u2033": '"',
        "\u2012": "-", "\u2013": "-", "\u2014": "-", "\u2015": "-", "\u2212": "-", "\u2010": "-",
        "\u2011": "-",
        "\u00ad": None, "\u200b": None, "\u200c": None, "\u200d": None, "\ufeff": None,
    }
)
# The same mapping as one regex: ``str.translate`` looks up every character (~90 us on a 2.5 kB
# text), the regex only visits the few typographic ones (~9 us); the result is identical.
_TYPOGRAPHY_RE = re.compile("[" + "".join(map(chr, _TYPOGRAPHY)) + "]")
_WORD = re.compile(r"\w+")


def _fold_typography(match: re.Match) -> str:
    return _TYPOGRAPHY[ord(match.group())] or ""


def normalise_text(text: str) -> str:
    """Return ``text`` with typography and whitespace folded (see module docstring)."""
    if not isinstance(text, str):
        raise TypeError(f"normalise_text expects str, got {type(text).__name__}")
    text = _TYPOGRAPHY_RE.sub(_fold_typography, unicodedata.normalize("NFKC", text))
    # str.split() and the regex \s split on the same characters (Py_UNICODE_ISSPACE).
    return " ".join(text.split())


def text_hash(text: str) -> str:
    """SHA-256 (hex) of the normalised text: the exact-duplicate key."""
    return hash_normalised(normalise_text(text))


def hash_normalised(normalised: str) -> str:
    """``text_hash`` of text that is already normalised (so callers normalise only once)."""
    return hashlib.sha256(normalised.encode("utf-8")).hexdigest()


def words(text: str) -> list[str]:
    """Case-folded words of the normalised text."""
    return words_of_normalised(normalise_text(text))


def words_of_normalised(normalised: str) -> list[str]:
    return _WORD.findall(normalised.casefold())


def shingles(text: str, size: int = SHINGLE_SIZE) -> set[str]:
    """The set of word ``size``-grams of ``text`` (empty text -> empty set)."""
    return shingles_of_words(words(text), size)


def shingles_of_words(tokens: list[str], size: int = SHINGLE_SIZE) -> set[str]:
    """``shingles`` from the words of a text (``words``/``words_of_normalised``)."""
    return _joined_ngrams(tokens, " ", size)


def shingle_bytes_of_words(tokens: list[str], size: int = SHINGLE_SIZE) -> set[bytes]:
    """``shingles_of_words`` as UTF-8 bytes, the form MinHash hashes.

    Each word is encoded once and the n-grams joined as bytes (UTF-8 of a join is the join of
    the UTF-8s, so the values are the same): encoding every 5-gram string instead cost as much
    as building the set itself.
    """
    return _joined_ngrams([t.encode("utf-8") for t in tokens], b" ", size)


def _joined_ngrams(tokens: list, sep, size: int) -> set:
    if not tokens:
        return set()
    if len(tokens) < size:
        return {sep.join(tokens)}
    join = sep.join
    return {join(tokens[i : i + size]) for i in range(len(tokens) - size + 1)}
