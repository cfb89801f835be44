"""Score extract_page against the gold set, side by side with plain trafilatura.extract.

Figures (paragraph text compared whitespace-normalised):
- recall: share of gold paragraphs found whole inside one extracted paragraph;
- leaked: share of extracted characters that belong to no gold paragraph (chrome);
- metadata: share of correct fields among title, date, time, place, language, doc_number,
  kind, participants (plain trafilatura gives title, date, language at best);
- turns: share of gold turns with the right speaker and first words at the right position;
- refused: share of non-transcript pages (listings, interstitials, errors) refused.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import trafilatura

from stenogram.extract.page import extract_page
from stenogram.extract.text import normalise_for_compare

META_FIELDS = ("title", "date", "time", "place", "language", "doc_number", "kind", "participants")


@dataclass
class Score:
    gold_paragraphs: int = 0
    recovered: int = 0
    extracted_chars: int = 0
    leaked_chars: int = 0
    meta_total: int = 0
    meta_right: int = 0
    turns_total: int = 0
    turns_right: int = 0
    negatives: int = 0
    refused: int = 0
    misses: list[str] = field(default_factory=list)

    def figures(self) -> dict[str, float]:
        def share(a, b):
            return a / b if b else 0.0
        return {"recall": share(self.recovered, self.gold_paragraphs),
                "leaked": share(self.leaked_chars, self.extracted_chars),
                "metadata": share(self.meta_right, self.meta_total),
                "turns": share(self.turns_right, self.turns_total),
                "refused": share(self.refused, self.negatives)}


def load_cases(gold_dir: Path) -> list[dict]:
    return json.loads((gold_dir / "cases.json").read_text(encoding="utf-8"))


def score_text(score: Score, gold: list[str], got: list[str], page: str) -> None:
    gold_n = [normalise_for_compare(p) for p in gold]
    got_n = [normalise_for_compare(p) for p in got if normalise_for_compare(p)]
    for g in gold_n:
        score.gold_paragraphs += 1
        if any(g == p or g in p for p in got_n):
            score.recovered += 1
        else:
            score.misses.append(f"{page}: missing {g[:60]!r}")
    gold_set = set(gold_n)
    for p in got_n:
        score.extracted_chars += len(p)
        if p in gold_set or any(p in g for g in gold_n):
            continue
        rest = p
        for g in gold_n:
            if g in rest:
                rest = rest.replace(g, "")
        leaked = len(rest.replace(" ", ""))
        if leaked:
            score.leaked_chars += leaked
            score.misses.append(f"{page}: leaked {rest.strip()[:60]!r}")


def _score_meta(score: Score, case: dict, got: dict, page: str) -> None:
    for name in META_FIELDS:
        if case.get(name, "absent") == "absent":
            continue
        score.meta_total += 1
        if got.get(name) == case[name]:
            score.meta_right += 1
        else:
            score.misses.append(f"{page}: {name} {got.get(name)!r} != {case[name]!r}")


def _score_turns(score: Score, gold: list, got: list[list[str]]) -> None:
    for i, (speaker, first_words) in enumerate(gold):
        score.turns_total += 1
        if i < len(got) and got[i][0] == speaker and got[i][1] == first_words:
            score.turns_right += 1


def _stenogram(body: bytes, url: str) -> tuple[bool, list[str], dict, list]:
    t = extract_page(body, url=url)
    turns = [[x.speaker, " ".join(x.text.split()[:4])] for x in t.turns]
    return t.is_transcript, t.paragraphs, t.to_dict(), turns


def _plain_trafilatura(body: bytes, url: str) -> tuple[bool, list[str], dict, list]:
    text = trafilatura.extract(body, url=url, deduplicate=False) or ""
    meta = trafilatura.extract_metadata(body, default_url=url)
    got = {}
    if meta is not None:
        got = {"title": meta.title, "date": meta.date}
    lines = [line for line in text.splitlines() if line.strip()]
    return bool(lines), lines, got, []


EXTRACTORS = {"stenogram": _stenogram, "trafilatura": _plain_trafilatura}


def evaluate(gold_dir: Path) -> dict[str, Score]:
    cases = load_cases(gold_dir)
    scores = {name: Score() for name in EXTRACTORS}
    for case in cases:
        body = (gold_dir / "pages" / case["page"]).read_bytes()
        for name, run in EXTRACTORS.items():
            score = scores[name]
            ok, paragraphs, meta, turns = run(body, case["url"])
            if case.get("is_transcript") is False:
                score.negatives += 1
                score.refused += int(not ok)
                continue
            score_text(score, case["paragraphs"], paragraphs, case["page"])
            _score_meta(score, case, meta, case["page"])
            if case.get("turns"):
                _score_turns(score, case["turns"], turns)
    return scores


def report(scores: dict[str, Score]) -> str:
    names = list(scores)
    lines = [f"{'':10}" + "".join(f"{n:>14}" for n in names)]
    for metric in ("recall", "leaked", "metadata", "turns", "refused"):
        lines.append(f"{metric:10}" + "".join(f"{scores[n].figures()[metric]:>13.2%} " for n in names))
    return "\n".join(lines)
