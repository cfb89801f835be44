"""What a transcript's title tells: place, event date, kind of text, participants.

Titles on mid.ru and its mirrors end in "…, Place, Month D, YYYY" (EN) or
"…, Место, D месяца YYYY года" (RU); they name the kind of text ("remarks and answers to
media questions", "interview", "briefing") and the other people on the podium.
"""
from __future__ import annotations

import re

from extract.dates import find_date

# ", Minsk, April 12, 2024" / ", Москва, 12 апреля 2024 года" / ", Moscow, 3 April 2014"
_PLACE_DATE_TAIL = re.compile(
    r",\s*(?P<place>[^,]{2,60}?),\s*(?P<date>(?:[A-Za-z]{3,9}\.?\s+\d{1,2},?\s+\d{4})"
    r"|(?:\d{1,2}\s+[A-Za-zА-Яа-яЁё]{3,9}\s+\d{4}(?:\s+(?:года|г\.))?))\s*\.?\s*$"
)
_SITE_SUFFIXES = re.compile(
    r"\s*(?:[|»—–-]\s*)(?:The Ministry of Foreign Affairs of the Russian Federation|"
    r"Министерство иностранных дел Российской Федерации|International Affairs|"
    r"GlobalSecurity\.org|Международная жизнь)\s*$",
    re.I,
)


def strip_site_suffix(title: str) -> str:
    """Drop a site name appended to <title> ("… | The Ministry of Foreign Affairs …")."""
    previous = None
    while previous != title:
        previous, title = title, _SITE_SUFFIXES.sub("", title).strip()
    return title


def split_place_date(title: str | None) -> tuple[str | None, str | None]:
    """(place, ISO date) from a title's "…, Place, Date" tail, or (None, None)."""
    if not title:
        return None, None
    m = _PLACE_DATE_TAIL.search(title.strip())
    if not m:
        return None, None
    date, _ = find_date(m["date"])
    if not date:
        return None, None
    place = m["place"].strip()
    if not place or not place[0].isupper():
        return None, date
    return place, date


_KINDS = [  # first match wins; order goes from the most to the least specific
    ("remarks_and_answers", r"answers?\b|questions|reply to|ответы? на вопрос|вопросы"),
    ("interview", r"interview|интервью"),
    ("briefing", r"briefing|брифинг"),
    ("article", r"\barticle\b|статья"),
    ("speech", r"speech|address|remarks|opening|выступлени|речь|слово"),
    ("statement", r"statement|заявлени|комментари|comment"),
    ("message", r"message|greeting|послани|приветстви"),
]


def kind_from_title(title: str | None) -> str | None:
    if not title:
        return None
    low = title.lower()
    for kind, pattern in _KINDS:
        if re.search(pattern, low):
            return kind
    return "other"


# Words that are capitalised in titles but are not personal names.
_NOT_NAME = {
    "foreign", "minister", "ministers", "ministry", "affairs", "deputy", "prime", "president",
    "secretary", "secretary-general", "general", "republic", "federation", "council", "state",
    "kingdom", "united", "nations", "union", "security", "cis", "csto", "sco", "eaeu", "un",
    "brics", "osce", "nato", "eu", "mr", "mrs", "ms", "dr", "his", "her", "excellency",
    "russian", "russia", "joint", "news", "conference", "talks", "meeting", "commonwealth",
    "independent", "states", "economic", "forum", "international", "national", "organisation",
    "organization", "high", "representative", "special", "envoy", "chairman", "chair", "head",
    "executive", "committee", "the", "of", "and", "with", "at", "in", "on", "for", "following",
    "federal", "assembly", "government", "parliament", "kyrgyz", "kazakh", "arab", "islamic",
    "people's", "democratic", "media", "press",
}
_NAME_TOKEN = re.compile(r"^[A-Z][a-z’'\-]+$|^[A-Z]\.$")
_RU_INITIALS_NAME = re.compile(r"\b([А-ЯЁ]\.\s?(?:[А-ЯЁ]\.\s?)?[А-ЯЁ][а-яё]+)")


def participants_from_title(title: str | None, minister: str = "Lavrov") -> list[str]:
    """People named in the title other than the minister: the last two words of each run of
    capitalised words that look like a given name + surname."""
    if not title:
        return []
    m = _PLACE_DATE_TAIL.search(title)
    head = title[: m.start()] if m else title
    found: list[str] = []
    for chunk in re.split(r"[,;:()«»“”\"]|\s[–—-]\s|\band\b|\bи\b", head):
        tokens = chunk.split()
        run: list[str] = []
        for token in tokens + [""]:
            if token and _NAME_TOKEN.match(token):
                run.append(token)
                continue
            if len(run) >= 2:
                first, last = run[-2], run[-1]
                if first.lower() not in _NOT_NAME and last.lower() not in _NOT_NAME \
                        and minister.lower() not in last.lower():
                    name = f"{first} {last}"
                    if name not in found:
                        found.append(name)
            run = []
    for ru in _RU_INITIALS_NAME.findall(head):
        name = re.sub(r"\s+", "", ru)
        if "Лавров" not in name and name not in found:
            found.append(name)
    return found
