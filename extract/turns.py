"""Speaker turns: split a transcript's paragraphs at the labels that start a turn.

Labels start a paragraph and end with a colon: "Question:", "Question (to both ministers):",
"Sergey Lavrov (speaking after Mukhtar Tleuberdi):", "Sergey Lebedev:", "Вопрос:",
"С.В.Лавров:". The opening before the first label is the minister's; a paragraph without a label
continues the current turn. Splitting never loses or reorders text: label + text of every
turn's first paragraph, and the remaining paragraphs, rebuild the input exactly.
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
MINISTER = {"en": "Sergey Lavrov", "ru": "С.В.Лавров"}


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


def split_turns(paragraphs: list[str], language: str | None = "en") -> list[Turn]:
    """Turns of `paragraphs` in order. Linear in the input: each turn's paragraphs are collected
    in a list and joined once at the end (appending to the turn's string per paragraph copied
    the whole turn every time, quadratic on a long speech or a big table: 14 s for 40k)."""
    turns: list[Turn] = []
    parts: list[list[str]] = []  # parts[i]: the texts of turns[i], joined at the end
    for paragraph in paragraphs:
        label, rest = split_label(paragraph)
        if label is not None:
            speaker = " ".join(label.replace("\u00a0", " ").split())  # label, spacing normalised
            turns.append(Turn(speaker=speaker, speaker_id=speaker_id(label), text=""))
            parts.append([rest] if rest else [])
        elif not turns:
            minister = MINISTER.get(language or "en", MINISTER["en"])
            turns.append(Turn(speaker=minister, speaker_id="lavrov", text=""))
            parts.append([paragraph])
        else:
            parts[-1].append(paragraph)
    for turn, texts in zip(turns, parts):
        first = next((i for i, t in enumerate(texts) if t), len(texts))  # no leading separators
        turn.text = "\n\n".join(texts[first:])
    return turns
