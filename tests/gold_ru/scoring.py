"""Scoring against tests/gold_ru: token F1 and chrome leakage (shared by the bench and the test).

- token F1: lower-cased `\\w+` tokens (Unicode, so Cyrillic words count), multiset overlap of the
  extracted text against the page's truth paragraphs; precision over the extracted tokens, recall
  over the truth's; a page with nothing extracted scores 0; figures are macro means over pages.
- chrome leakage: a page's chrome string leaks when its tokens occur, in order and contiguous, in
  the extracted tokens (so spacing, punctuation and tags splitting a line do not hide a leak).
"""
from __future__ import annotations

import json
import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

GOLD_DIR = Path(__file__).resolve().parent
TOKEN = re.compile(r"\w+")


def tokens(text: str) -> list[str]:
    return TOKEN.findall(text.lower())


def token_prf(got: str, truth: str) -> tuple[float, float, float]:
    """(precision, recall, F1) of `got` against `truth`; empty extraction (or truth) = 0."""
    g, t = Counter(tokens(got)), Counter(tokens(truth))
    if not g or not t:
        return 0.0, 0.0, 0.0
    overlap = sum((g & t).values())
    if not overlap:
        return 0.0, 0.0, 0.0
    p, r = overlap / sum(g.values()), overlap / sum(t.values())
    return p, r, 2 * p * r / (p + r)


def leaked_chrome(got: str, chrome: list[str]) -> list[str]:
    """The chrome strings whose token sequence occurs in the extracted text."""
    seq = tokens(got)
    joined = " " + " ".join(seq) + " "
    return [s for s in chrome if " " + " ".join(tokens(s)) + " " in joined]


@dataclass
class Case:
    id: str
    part: str
    cms: str
    layout: str
    language: str
    url: str
    title: str
    date: str
    paragraphs: list[str]
    chrome: list[str]
    raw: dict

    @property
    def truth(self) -> str:
        return "\n\n".join(self.paragraphs)

    def body(self) -> bytes:
        return (GOLD_DIR / "pages" / f"{self.id}.html").read_bytes()


def load_cases(gold_dir: Path = GOLD_DIR) -> list[Case]:
    raw = json.loads((gold_dir / "cases.json").read_text(encoding="utf-8"))
    return [Case(d["id"], d["part"], d["cms"], d["layout"], d["language"], d["url"], d["title"], d["date"],
                 d["paragraphs"], d["chrome"], d) for d in raw]


@dataclass
class PageScore:
    case: Case
    precision: float
    recall: float
    f1: float
    leaked: list[str]
    empty: bool


def score_page(case: Case, got: str) -> PageScore:
    p, r, f = token_prf(got, case.truth)
    return PageScore(case, p, r, f, leaked_chrome(got, case.chrome), not got.strip())


def macro(scores: list[PageScore]) -> dict[str, float]:
    n = len(scores)
    if not n:
        return {"pages": 0, "f1": 0.0, "precision": 0.0, "recall": 0.0, "leak_pages": 0, "leaked": 0, "empty": 0}
    return {"pages": n,
            "f1": sum(s.f1 for s in scores) / n,
            "precision": sum(s.precision for s in scores) / n,
            "recall": sum(s.recall for s in scores) / n,
            "leak_pages": sum(1 for s in scores if s.leaked),
            "leaked": sum(len(s.leaked) for s in scores),
            "empty": sum(1 for s in scores if s.empty)}
