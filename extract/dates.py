"""Dates and times as these sites print them -> ISO strings.

Forms seen on the sources (docs/SITES.md): EN "12 April 2024", "April 12, 2024", RU "12.04.2024",
"12 апреля 2024 года", DLE "6-08-2014, 14:44", and text dumps that run date and time together
("8 April 202114:32"). All parsing is regex + a month table, so it never raises on junk.
"""
from __future__ import annotations

import datetime as _dt
import re

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
