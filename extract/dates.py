"""Dates and times as these sites print them -> ISO strings.

Forms seen on the sources (docs/SITES.md): EN "12 April 2024", "April 12, 2024", RU "12.04.2024",
"12 апреля 2024 года", DLE "6-08-2014, 14:44", and text dumps that run date and time together
("8 April 202114:32"). All parsing is regex + a month table, so it never raises on junk.
published_date() reads the article's own date from a page's markup (schema.org, htmldate), never
from a reader comment.
"""
from __future__ import annotations

import datetime as _dt
import re

from lxml import etree

EN_MONTHS = ("january", "february", "march", "april", "may", "june", "july", "august",
             "september", "october", "november", "december")
RU_MONTHS_GENITIVE = ("января", "февраля", "марта", "апреля", "мая", "июня", "июля", "августа",
                      "сентября", "октября", "ноября", "декабря")
RU_MONTHS_NOMINATIVE = ("январь", "февраль", "март", "апрель", "май", "июнь", "июль", "август",
                        "сентябрь", "октябрь", "ноябрь", "декабрь")


def _month_number(name: str) -> int | None:
    low = name.lower()
    for table in (EN_MONTHS, RU_MONTHS_GENITIVE, RU_MONTHS_NOMINATIVE):
        if low in table:
            return table.index(low) + 1
    if len(low) >= 3:
        for i, m in enumerate(EN_MONTHS):
            if m.startswith(low.rstrip(".")):
                return i + 1
    return None


_MONTH_WORD = r"[A-Za-zА-Яа-яЁё]{3,9}\.?"
# Year is exactly four digits; a run-together time may follow it directly ("202114:32").
_PATTERNS = [
    # 12 April 2024 / 12 апреля 2024 года
    re.compile(rf"(?<!\d)(?P<d>\d{{1,2}})\s+(?P<m>{_MONTH_WORD})\s+(?P<y>\d{{4}})"),
    # April 12, 2024
    re.compile(rf"(?P<m>{_MONTH_WORD})\s+(?P<d>\d{{1,2}}),?\s+(?P<y>\d{{4}})"),
    # 12.04.2024 / 6-08-2014 / 12/04/2024 (day first, as on these sites)
    re.compile(r"(?<![\d.\-/])(?P<d>\d{1,2})[.\-/](?P<mn>\d{1,2})[.\-/](?P<y>\d{4})"),
    # 2024-04-12 (ISO, meta tags); not the head of a document number "1789-08-11-2004"
    # (NNNN-DD-MM-YYYY, as the Domino-era pages print it above the title)
    re.compile(r"(?<!\d)(?P<y>\d{4})-(?P<mn>\d{2})-(?P<d>\d{2})(?!-?\d)"),
]
_GLUED_TIME = re.compile(r"[\s,]*(?:в\s+)?(?P<h>[01]?\d|2[0-3]):(?P<mi>[0-5]\d)(?!\d)")
_TIME = re.compile(r"(?<![\d:])(?P<h>[01]?\d|2[0-3]):(?P<mi>[0-5]\d)(?!\d)")


def find_date(text: str | None) -> tuple[str | None, int]:
    """Return (ISO date, end offset of the match) of the first valid date in `text`."""
    if not text:
        return None, -1
    best: tuple[int, str, int] | None = None
    for pattern in _PATTERNS:
        for m in pattern.finditer(text):
            groups = m.groupdict()
            month = int(groups["mn"]) if groups.get("mn") else _month_number(groups["m"])
            if not month:
                continue
            try:
                day = _dt.date(int(groups["y"]), month, int(groups["d"]))
            except ValueError:
                continue
            if best is None or m.start() < best[0]:
                best = (m.start(), day.isoformat(), m.end())
            break
    if best is None:
        return None, -1
    return best[1], best[2]


def parse_date(text: str | None) -> str | None:
    """First date in `text` as YYYY-MM-DD, or None."""
    return find_date(text)[0]


def parse_time(text: str | None, after: int = 0) -> str | None:
    """First HH:MM in `text` at or after offset `after`, zero-padded, or None."""
    if not text:
        return None
    m = _TIME.search(text, max(after, 0))
    if not m:
        return None
    return f"{int(m['h']):02d}:{m['mi']}"


def parse_date_time(text: str | None) -> tuple[str | None, str | None]:
    """Date and the time printed after it ("8 April 202114:32" -> 2021-04-08, 14:32)."""
    date, end = find_date(text)
    if date is None:
        return None, parse_time(text)
    glued = _GLUED_TIME.match(text, end)
    if glued:
        return date, f"{int(glued['h']):02d}:{glued['mi']}"
    return date, parse_time(text, end)


def format_en(iso: str, style: str = "dmy") -> str:
    """ISO date -> English print form ("12 April 2024" or "April 12, 2024"); used by tests."""
    d = _dt.date.fromisoformat(iso)
    month = EN_MONTHS[d.month - 1].capitalize()
    return f"{d.day} {month} {d.year}" if style == "dmy" else f"{month} {d.day}, {d.year}"


def format_ru(iso: str) -> str:
    d = _dt.date.fromisoformat(iso)
    return f"{d.day} {RU_MONTHS_GENITIVE[d.month - 1]} {d.year} года"


# ---------------------------------------------------------------- the page's own date
# A reader comment's date ("04.04.2022 15:13" under WordPress' `li.comment`, DLE's
# `#dle-ajax-comments` / `div.comment`, a Disqus thread) is days or years after the article's:
# it must never be taken for the page's. Class/id tokens of such blocks, as the CMSs print them
# (WordPress comment-template.php: `comment`, `comment-list`, `comment-body`, `#comments`,
# `#respond`; DLE `#dle-ajax-comments`, `comment-id-N`, `bcomment`; Disqus `#disqus_thread`).
_COMMENT_TOKEN = re.compile(
    r"^(?:\w+[-_])*b?comments?(?:[-_]\w+)*$|^commentlist$|^respond$|^disqus(?:_thread)?$", re.I)
# ...but not the counters and switches themes put on the article or the <body> itself.
_NOT_A_COMMENT_BLOCK = re.compile(r"comments?[-_](?:open|closed|count|link|number|num)$", re.I)
_COMMENT_WORDS = ("comment", "respond", "disqus")
# elements whose class or id may name such a block ("omment": either case of the first letter;
# translate() to lower-case costs ~2 ms a page)
_COMMENT_CANDIDATES = etree.XPath("//*[" + " or ".join(
    f"contains(@{a}, '{w[1:]}')" for a in ("class", "id") for w in _COMMENT_WORDS) + "]")
# schema.org's datePublished on the date element itself, and WordPress' time.entry-date.published
_PUBLISHED = etree.XPath(
    "//*[@itemprop='datePublished'][@datetime or @content]"
    " | //time[contains(concat(' ', normalize-space(@class), ' '), ' published ')][@datetime]")


def is_comment_block(el) -> bool:
    """`el` (an lxml element) is a reader-comment block by its class or id."""
    attrs = f"{el.get('class') or ''} {el.get('id') or ''}"
    low = attrs.lower()
    if not any(w in low for w in _COMMENT_WORDS):  # the usual case, without a regex
        return False
    return any(_COMMENT_TOKEN.match(t) and not _NOT_A_COMMENT_BLOCK.search(t) for t in attrs.split())


def in_comment_block(el) -> bool:
    """`el` or one of its ancestors is a reader-comment block (is_comment_block)."""
    while el is not None:
        if isinstance(el.tag, str) and is_comment_block(el):
            return True
        el = el.getparent()
    return False


def published_date(root) -> str | None:
    """The article's publication date from the page's markup, outside reader comments, or None.

    First the schema.org property the CMSs print on the date element itself (Joomla's
    `<time datetime=… itemprop="datePublished">Опубликовано: 06 августа 2014</time>`, WordPress'
    `time.entry-date.published`), read from its machine-readable attribute; then htmldate
    (pinned with trafilatura) without its extensive free-text search, on a copy of the page
    with the comment blocks removed. htmldate's extensive search is not used: on pages whose
    only dates are comments it falls back on years from the copyright line ("2012-01-01"), an
    invented date (measured on tests/gold_ru, docs/extraction-ru.md)."""
    for el in _PUBLISHED(root):
        if in_comment_block(el):
            continue
        date = parse_date(el.get("datetime") or el.get("content")) or parse_date(
            " ".join(el.itertext()))
        if date:
            return date
    return _htmldate(root)


def _htmldate(root) -> str | None:
    import copy

    import htmldate

    tree = root.getroottree().getroot()
    if any(is_comment_block(el) for el in _COMMENT_CANDIDATES(tree)):  # (htmldate copies a tree it is given)
        tree = copy.deepcopy(tree)
        for el in _COMMENT_CANDIDATES(tree):
            if is_comment_block(el) and el.getparent() is not None:
                el.getparent().remove(el)  # (one inside a block removed before goes with it: harmless)
    try:
        found = htmldate.find_date(tree, extensive_search=False, original_date=True,
                                   outputformat="%Y-%m-%d")
    except Exception:  # noqa: BLE001 - a third-party parser on any page: no date rather than a crash
        return None
    return parse_date(found) if found else None

