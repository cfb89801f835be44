"""Small text helpers shared by the extractor: whitespace, script shares, language.

Language is decided from the body's letters, not the URL: the share of Cyrillic letters
separates Russian from English on these sites (tests/test_extract_helpers.py), and a few stopwords
tell the Latin-script languages mid.ru also publishes (de, fr, es, pt) from English.
"""
from __future__ import annotations

import re
from collections import Counter

_ASCII_WS = re.compile(r"[ \t\r\n\f\v]+")
_EDGE_WS = " \t\r\n\f\v\u00a0\u2007\u202f\u200b\ufeff"


def clean_paragraph(text: str) -> str:
    """Collapse source-code whitespace (newlines, tabs, runs of spaces) to one space and trim.
    No-break spaces inside the text are kept as published; at the edges they are trimmed."""
    if "  " in text or "\n" in text or "\t" in text or "\r" in text or "\f" in text or "\v" in text:
        text = _ASCII_WS.sub(" ", text)  # else every whitespace run is one space already
    return text.strip(_EDGE_WS)


def normalise_for_compare(text: str) -> str:
    """Whitespace-insensitive form used to compare paragraphs (evaluation, dedup of lines)."""
    return " ".join(text.replace("\u00a0", " ").split())


# Letters are counted by deleting everything else (one C-level pass, no per-letter match
# objects): letters = [^\W\d_], so non-letters = [\W\d_]; Cyrillic = any U+0400..U+04FF
# character (combining marks included, as before).
_NOT_CYRILLIC = re.compile(r"[^\u0400-\u04ff]+")
_NOT_LETTER = re.compile(r"[\W\d_]+")


_ASCII_NON_LETTERS = bytes(b for b in range(128) if not chr(b).isalpha())
# In UTF-8 every character U+0400..U+04FF (and only those) starts with a lead byte 0xD0..0xD3
# (continuation bytes are 0x80..0xBF), so counting those bytes counts the Cyrillic characters.
_CYRILLIC_LEAD_BYTES = bytes(range(0xD0, 0xD4))


def letter_counts(text: str) -> tuple[int, int]:
    """(Cyrillic letters, all letters) in `text`: bytes.translate deletions (C speed) for an
    ASCII line; the letter count of a non-ASCII line by a regex deletion."""
    if text.isascii():
        return 0, len(text.encode("ascii").translate(None, _ASCII_NON_LETTERS))
    data = text.encode("utf-8", "surrogatepass")
    return len(data) - len(data.translate(None, _CYRILLIC_LEAD_BYTES)), len(_NOT_LETTER.sub("", text))


def cyrillic_share(text: str) -> float:
    cyr, total = letter_counts(text)
    return cyr / total if total else 0.0


_STOPWORDS = {
    "en": {"the", "and", "of", "to", "in", "is", "that", "we", "with", "for", "this", "our"},
    "de": {"der", "die", "und", "das", "ist", "nicht", "wir", "mit", "den", "zu", "auf", "ein"},
    "fr": {"le", "la", "les", "et", "des", "est", "que", "nous", "une", "pour", "dans", "du"},
    "es": {"el", "la", "los", "las", "y", "que", "es", "en", "por", "una", "con", "del"},
    "pt": {"o", "os", "as", "e", "que", "não", "uma", "com", "para", "do", "da", "em"},
}
_WORD = re.compile(r"[^\W\d_]+")
# Only words (maximal letter runs) no longer than the longest stopword can score: lower() never
# shortens a string, so longer words are skipped in C instead of lowered and looked up.
_STOPWORD_MAX = max(len(w) for stop in _STOPWORDS.values() for w in stop)
_ALL_STOPWORDS = frozenset().union(*_STOPWORDS.values())
_SHORT_WORD = re.compile(rf"(?<![^\W\d_])[^\W\d_]{{1,{_STOPWORD_MAX}}}(?![^\W\d_])")


def detect_language(text: str, counts: tuple[int, int] | None = None) -> str | None:
    """ISO 639-1 code of `text` ("ru", "en", "de", "fr", "es", "pt"), None if no letters.
    `counts`: letter_counts(text) when the caller already has it (summed per line)."""
    cyr, total = counts if counts is not None else letter_counts(text)
    if total == 0:
        return None
    if cyr / total > 0.5:
        return "ru"
    # 5,000 characters (~800 words) decide among these stopword lists as well as 20,000 did
    head = text[:5000]
    if "\u0130" in head:  # the one character whose lower() is longer ("İ" -> "i̇"): per word
        words: Counter = Counter()
        for word, n in Counter(_SHORT_WORD.findall(head)).items():
            words[word.lower()] += n
    else:  # lower() maps letters to letters one for one: lowering first finds the same words
        words = Counter()
        # words never span whitespace: split in C, and run the slow letter regex only on the
        # tokens that are not all letters ("Moscow,", "2021")
        for token in head.lower().split():
            if token.isalpha():
                if token in _ALL_STOPWORDS:
                    words[token] += 1
            else:
                for word in _WORD.findall(token):
                    if word in _ALL_STOPWORDS:
                        words[word] += 1
    scores = {lang: sum(words[w] for w in stop) for lang, stop in _STOPWORDS.items()}
    best = max(scores, key=lambda lang: scores[lang])
    return best if scores[best] > 0 else "en"
