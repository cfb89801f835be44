"""Speaker turns: split a transcript's paragraphs at the labels that start a turn.

Labels start a paragraph and end with a colon: "Question:", "Question (to both ministers):",
"Sergey Lavrov (speaking after Mukhtar Tleuberdi):", "Sergey Lebedev:", "Вопрос:",
"С.В.Лавров:". A paragraph without a label continues the current turn. Splitting never loses or
reorders text: label + text of every turn's first paragraph, and the remaining paragraphs,
rebuild the input exactly.

Speakers only from evidence (an archive that promises "nothing invented" must never put a quote
in the wrong mouth): a turn's speaker is its label (`speaker_source="label"`); the unlabelled
opening before the first label belongs to the one principal speaker the title names
(`speaker_source="title"`, `principal_speaker`: "Foreign Minister Sergey Lavrov’s remarks…",
"Briefing by Foreign Ministry Spokeswoman Maria Zakharova", "Брифинг официального представителя
МИД России М.В.Захаровой", "Deputy Foreign Minister Sergey Ryabkov’s interview…"); with no
such title (none, or two officials named) it has no speaker (`None`), never a default.
"""
from __future__ import annotations

import re

from stenogram.extract.transcript import Turn

_SP = r"[ \u00a0]"
_QUESTION = r"(?:Question|Questions|Вопрос|Вопросы|Реплика|Remark)"
_NAME_WORD = r"[A-ZА-ЯЁ][a-zа-яё’'\-]+"
_INITIALS_NAME = r"(?:[А-ЯЁA-Z]\.[ \u00a0]?){1,2}[А-ЯЁA-Z][а-яёa-z\-]+"
_LABEL = re.compile(
    rf"^(?P<label>(?:{_QUESTION}|{_INITIALS_NAME}|{_NAME_WORD}(?:{_SP}{_NAME_WORD}){{1,2}})"
    rf"(?:{_SP}*\([^()]{{1,80}}\))?){_SP}*:(?:{_SP}+|$)"
)
_TRANSLIT = str.maketrans({
    "а": "a", "б": "b", "в": "v", "г": "g", "д": "d", "е": "e", "ё": "e", "ж": "zh", "з": "z",
    "и": "i", "й": "y", "к": "k", "л": "l", "м": "m", "н": "n", "о": "o", "п": "p", "р": "r",
    "с": "s", "т": "t", "у": "u", "ф": "f", "х": "kh", "ц": "ts", "ч": "ch", "ш": "sh",
    "щ": "shch", "ъ": "", "ы": "y", "ь": "", "э": "e", "ю": "yu", "я": "ya",
})

# --- the principal speaker a title names --------------------------------------------------
# The ministry's own posts (docs/SITES.md: the ministry's title patterns). A name right after
# one of them is the ministry's official; another country's minister is written "Foreign
# Minister of X Name" or comes after "with"/"following", which end the title's head.
_EN_POST = (r"(?:Russian\s+)?(?:(?:First\s+)?Deputy\s+)?(?:Foreign\s+Minister|Minister\s+of\s+Foreign\s+"
            r"Affairs(?:\s+of\s+(?:the\s+)?Russia(?:n\s+Federation)?)?)|(?:Russian\s+)?(?:Foreign\s+"
            r"Ministry\s+)?(?:Official\s+)?Spokes(?:wo)?(?:man|person)")
_EN_NAME = r"[A-Z][a-z’'\-]+(?:\s[A-Z][a-z’'\-]+){1,2}"
# a whole name: no word cut short, no capitalised word right after it
_EN_NAME_AT = rf"(?P<name>{_EN_NAME})(?![\w’'\-])(?!\s+[A-Z])"
_EN_PRINCIPAL = (  # post + name; "by"/"of" + name ("Speech by Sergey Lavrov"); a possessive first
    re.compile(rf"\b(?:{_EN_POST})\s+(?:(?:of|for)\s+the\s+(?:Russian\s+)?(?:Foreign\s+Ministry|Ministry\s+of\s+"
               rf"Foreign\s+Affairs)\s+)?{_EN_NAME_AT}"),
    re.compile(rf"\b(?:by|of)\s+{_EN_NAME_AT}"),
    re.compile(rf"^\W*(?P<name>{_EN_NAME})(?<=[’']s)(?![\w’'\-])"),  # "Sergey Lavrov’s remarks…"
)
_POSSESSIVE = re.compile(r"[’']s$")
# Where the head of an English title ends: what follows names the occasion and the others.
_EN_HEAD_END = re.compile(r"\s(?:with|following|Following|after|during|together)\s|,\s|\s[–—-]\s")
_RU_INITIALS = r"(?:[А-ЯЁ]\.\s?){1,2}"
_RU_POST = (r"(?:(?:Перв\w+\s+)?[Зз]аместител\w+\s+)?Министр\w*\s+иностранных\s+дел|"
            r"[Оо]фициальн\w+\s+представител\w+")
_RU_PRINCIPAL = re.compile(
    rf"(?:(?:{_RU_POST})(?:\s+(?:России|Российской\s+Федерации|МИД\s+России|МИД\s+РФ|МИД))?\s+)"
    rf"(?P<initials>{_RU_INITIALS})(?P<surname>[А-ЯЁ][а-яё\-]+)")
# Where the head of a Russian title ends ("… в ходе пресс-конференции", "… с Министром …").
_RU_HEAD_END = re.compile(r"\s(?:в\s+ходе|по\s+итогам|с|со|перед|после)\s|,\s|\s[–—-]\s")


def split_label(paragraph: str) -> tuple[str | None, str]:
    """("Sergey Lavrov", "rest") if the paragraph opens with a speaker label, else (None, p)."""
    m = _LABEL.match(paragraph)
    if not m:
        return None, paragraph
    return m["label"], paragraph[m.end():]


def speaker_id(label: str) -> str:
    """"Question (to both ministers)" -> "question"; "С.В.Лавров" -> "lavrov"."""
    base = re.sub(r"\(.*\)", "", label).strip(" \u00a0")
    if re.match(_QUESTION, base):
        return "question"
    surname = re.split(r"[ \u00a0.]", base)[-1] or base
    return re.sub(r"[^a-z0-9]+", "_", surname.lower().translate(_TRANSLIT)).strip("_")


def _ru_principals(head: str) -> list[str]:
    from stenogram.extract.titles import _nominative  # pymorphy3: only for a Russian title

    found = []
    for m in _RU_PRINCIPAL.finditer(head):
        initials = re.sub(r"\s", "", m["initials"])
        found.append(initials + _nominative(m["surname"], "gent"))  # "Министра … С.В.Лаврова"
    return found


def principal_speaker(title: str | None) -> str | None:
    """The one principal speaker the title's head names, as the page's labels write them
    ("Sergey Lavrov", "С.В.Лавров"); None when it names none or more than one."""
    if not title:
        return None
    if re.search(r"[А-ЯЁа-яё]", title):
        head = _RU_HEAD_END.split(title, maxsplit=1)[0]
        names = _ru_principals(head)
    else:
        head = _EN_HEAD_END.split(title, maxsplit=1)[0]
        from stenogram.extract.titles import _NOT_NAME

        names = [_POSSESSIVE.sub("", m["name"]) for rx in _EN_PRINCIPAL for m in rx.finditer(head)]
        names = [n for n in names if not any(w.lower() in _NOT_NAME for w in n.split())]
    distinct = {speaker_id(n): n for n in names}
    return next(iter(distinct.values())) if len(distinct) == 1 else None


def split_turns(paragraphs: list[str], language: str | None = "en", title: str | None = None) -> list[Turn]:
    """Turns of `paragraphs` in order; the unlabelled opening is `principal_speaker(title)`'s
    (None without one). `language` is kept for callers; speakers come from the text and title.
    Linear in the input: each turn's paragraphs are collected in a list and joined once at the
    end (appending to the turn's string per paragraph copied the whole turn every time,
    quadratic on a long speech or a big table: 14 s for 40k)."""
    turns: list[Turn] = []
    parts: list[list[str]] = []  # parts[i]: the texts of turns[i], joined at the end
    for paragraph in paragraphs:
        label, rest = split_label(paragraph)
        if label is not None:
            speaker = " ".join(label.replace("\u00a0", " ").split())  # label, spacing normalised
            turns.append(Turn(speaker=speaker, speaker_id=speaker_id(label), text="", speaker_source="label"))
            parts.append([rest] if rest else [])
        elif not turns:
            principal = principal_speaker(title)
            turns.append(Turn(speaker=principal, speaker_id=speaker_id(principal) if principal else None,
                              text="", speaker_source="title" if principal else None))
            parts.append([paragraph])
        else:
            parts[-1].append(paragraph)
    for turn, texts in zip(turns, parts):
        first = next((i for i, t in enumerate(texts) if t), len(texts))  # no leading separators
        turn.text = "\n\n".join(texts[first:])
    return turns
