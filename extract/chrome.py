"""Drop chrome lines that survive node pruning: a language-aware, position-aware line filter.

Signals, combined (never a language guess alone):
- known chrome lines: the profile's patterns plus ones common to these platforms (counters,
  "Showing 1 result.", locale-code lists, TOC headings and back-links, print/category lines);
- the page's own metadata repeated in the body (title, date/time line, document number);
- script against the body's language, only at the edges of the body (leading/trailing runs), or
  in the middle when the whole foreign-script run is short label-like lines (no sentences).
"""
from __future__ import annotations

import bisect
import functools
import re
from collections.abc import Callable, Sequence
from itertools import groupby

from stenogram.extract.dates import find_date
from stenogram.extract.text import cyrillic_share, letter_counts, normalise_for_compare

COMMON_CHROME_LINES = tuple(re.compile(rf"^\s*(?:{p})\s*$", re.I) for p in (
    r"(?:•\s*)?Views?:\s*[\d\s ,.]+\|?", r"Просмотров:\s*[\d\s ]+", r"Showing \d+ results?\.?",
    r"Показано \d+ результат\w*\.?", r"Advanced settings", r"Asset Publisher",
    r"(?:[a-z]{2}[-_][A-Z]{2}\d*\s*){2,}", r"Back to contents", r"Назад к оглавлению",
    r"Contents", r"Table of contents", r"Содержание", r"Оглавление", r"(?:•\s*)?Print version\s*\|?",
    r"Версия для печати", r"Please enable JavaScript.*", r"Data processing\.\.\. Please, wait\.",
    r"Share(?: this)?:?", r"Поделиться:?", r"(?:©|\(c\)|Copyright\b).{0,200}",
    r".{0,200}\bAll rights reserved\.?", r".{0,100}\bВсе права защищены\.?", r"Tags?:.*", r"Теги:.*",
    # photo-album blocks, ad slots and banners any of these templates may put inside a body
    r"Дополнительные материалы", r"Additional materials", r"Фото(?:альбом)?", r"Видео", r"Аудио",
    r"Photo(?: album)?", r"Video", r"\d+ из \d+ фотографий в альбоме", r"\d+ of \d+ photos in album",
    r"Advertisement", r"Реклама", r"UNITED24 - Make a charitable donation in support of Ukraine!",
))
DOC_NUMBER = re.compile(r"^\s*(\d{1,5}-\d{2}-\d{2}-\d{4})\s*$")
_TIME_ONLY = re.compile(r"^\s*(?:[01]?\d|2[0-3]):[0-5]\d\s*$")


def is_date_line(line: str) -> bool:
    """A line that is only a date and/or time ("8 April 202114:32", "6-08-2014, 14:44")."""
    if _TIME_ONLY.match(line):
        return True
    if len(line) > 40:  # the answer below needs len(line) <= 40: skip the date search
        return False
    date, end = find_date(line)
    if not date:
        return False
    rest = re.sub(r"(?:[01]?\d|2[0-3]):[0-5]\d", "", line)
    rest = re.sub(r"\b(?:года|г\.|year)\b", "", rest)
    letters = [c for c in rest if c.isalpha()]
    # what remains besides the date itself: at most the month word
    return len(letters) <= 12 and len(line) <= 40


def _is_sentence(line: str) -> bool:
    return len(line.split()) > 8 or bool(re.search(r"[.!?…»”\"]\s*$", line))


def _foreign(line: str, body_is_cyrillic: bool, share: float | None = None) -> bool:
    if share is None:
        share = cyrillic_share(line)
    if share == 0.0 and not any(c.isalpha() for c in line):
        return False
    return (share > 0.5) != body_is_cyrillic


LineMatcher = Callable[[str], bool]


_FULL_LINE_OPEN, _FULL_LINE_CLOSE = r"^\s*(?:", r")\s*$"


@functools.lru_cache(maxsize=1024)  # the common patterns recur in every profile
def _max_width(pattern: re.Pattern) -> int | None:
    r"""The most characters the part inside a full-line pattern's `^\s*(?:…)\s*$` can match
    (None: unbounded, or not of that form). Read from the regex parser's own width
    computation (re._parser: a private module; any failure just means "unbounded")."""
    text = pattern.pattern
    if not (isinstance(text, str) and text.startswith(_FULL_LINE_OPEN) and text.endswith(_FULL_LINE_CLOSE)):
        return None
    try:
        import _sre
        from re import _parser

        width = _parser.parse(text[len(_FULL_LINE_OPEN):-len(_FULL_LINE_CLOSE)], pattern.flags).getwidth()[1]
    except Exception:  # noqa: BLE001 - a private API: fall back to the plain matcher
        return None
    return width if width < _sre.MAXREPEAT else None


def _combined(patterns: tuple) -> LineMatcher:
    """`any(p.match(line) for p in patterns)`: a single alternation regex when that is provably
    the same (same flags, no capturing groups that a numbered backreference could renumber),
    else the loop."""
    if not patterns:
        return lambda line: False
    flags = {p.flags for p in patterns}
    if len(flags) == 1 and not any(p.groups for p in patterns):
        try:
            combined = re.compile("|".join(f"(?:{p.pattern})" for p in patterns), flags.pop())
        except re.error:
            combined = None
        if combined is not None:
            return lambda line: combined.match(line) is not None
    return lambda line: any(p.match(line) for p in patterns)


def any_line_matcher(patterns: Sequence[re.Pattern]) -> LineMatcher:
    r"""One callable answering `any(p.match(line) for p in patterns)`. A line matching
    `^\s*(?:A)\s*$` is whitespace + a match of A + whitespace, so its stripped length is at
    most A's widest match: a line longer than every bounded pattern's width (most of a body's
    paragraphs; ".{0,200}…All rights reserved" alone is slow on a long line) is tried only against
    the patterns that can match that much."""
    patterns = tuple(patterns)
    widths = [_max_width(p) for p in patterns]
    bounded = [w for w in widths if w is not None]
    every = _combined(patterns)
    if not bounded:
        return every
    # tiers: a line whose stripped length exceeds `cut` is tried only against the patterns that
    # can match more than `cut` characters (built on first use, so loading profiles stays cheap)
    cuts = sorted({c for c in (16, 32, 64, 128) if c < max(bounded)} | {max(bounded)})
    tiers: dict[int, LineMatcher] = {}

    def match(line: str) -> bool:
        if len(line) > cuts[0]:
            i = bisect.bisect_left(cuts, len(line.strip())) - 1  # the largest cut below it
            if i >= 0:
                cut = cuts[i]
                tier = tiers.get(cut)
                if tier is None:
                    tier = tiers[cut] = _combined(tuple(
                        p for p, w in zip(patterns, widths) if w is None or w > cut))
                return tier(line)
        return every(line)

    return match


_COMMON_MATCH = any_line_matcher(COMMON_CHROME_LINES)


def drop_chrome_lines(
    paragraphs: Sequence[str],
    patterns: Sequence[re.Pattern] = (),
    metadata_lines: Sequence[str] = (),
) -> list[str]:
    return drop_chrome_lines_counted(paragraphs, any_line_matcher((*patterns, *COMMON_CHROME_LINES)),
                                     metadata_lines)[0]


def drop_chrome_lines_counted(
    paragraphs: Sequence[str],
    is_chrome_line: LineMatcher = _COMMON_MATCH,
    metadata_lines: Sequence[str] = (),
) -> tuple[list[str], tuple[int, int]]:
    """drop_chrome_lines with the chrome patterns (the profile's and the common ones) as one
    precompiled matcher; also returns (Cyrillic, all) letter counts of the kept lines, which
    equal letter_counts() of the lines joined (the counts are per character)."""
    meta = {normalise_for_compare(m) for m in metadata_lines if m}
    kept: list[str] = []
    for line in paragraphs:
        norm = normalise_for_compare(line)
        if not norm or norm in meta:
            continue
        if is_chrome_line(norm):
            continue
        if DOC_NUMBER.match(norm) or is_date_line(norm):
            continue
        kept.append(line)
    return _drop_foreign_edges_counted(kept)


def _drop_foreign_edges_counted(paragraphs: Sequence[str]) -> tuple[list[str], tuple[int, int]]:
    """Drop lines in the other script at the body's edges, and short label-like runs inside;
    with the kept lines' (Cyrillic, all) letter counts."""
    lines = list(paragraphs)
    counts = [letter_counts(p) for p in lines]  # once per line, shared by every use below
    shares = [cyr / total if total else 0.0 for cyr, total in counts]
    body_is_cyrillic = _weighted_share(shares, lines) > 0.5
    foreign = [_foreign(p, body_is_cyrillic, share) for p, share in zip(lines, shares)]
    kept = _kept_runs(lines, foreign)
    return [lines[k] for k in kept], (sum(counts[k][0] for k in kept), sum(counts[k][1] for k in kept))


def _weighted_share(shares: list[float], lines: list[str]) -> float:
    """The body's Cyrillic share: the lines' shares weighted by their length."""
    total = sum(len(p) for p in lines) or 1
    return sum(s * len(p) for s, p in zip(shares, lines)) / total


def _kept_runs(lines: list[str], foreign: list[bool]) -> list[int]:
    """Indexes of the lines kept: runs in the other script go at the body's edges, and inside
    it unless one of their lines is a sentence (real text in the other language: a quotation)."""
    start, end = 0, len(lines)
    while start < end and foreign[start]:
        start += 1
    while end > start and foreign[end - 1]:
        end -= 1
    kept: list[int] = []
    for is_foreign, run in groupby(range(start, end), key=foreign.__getitem__):
        run = list(run)
        if not is_foreign or any(_is_sentence(lines[k]) for k in run):
            kept.extend(run)
    return kept
