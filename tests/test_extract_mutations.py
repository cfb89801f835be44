"""Metamorphic test: sample-site pages re-laid-out as a redesign would do it (tests/mutate.py)
must still give their own ground truth.

Seeded: MUTATION_SEED picks the catalog's fillers and every mutation (default fixed, so CI is
reproducible); MUTATION_PAGES changes the page count. A page that misses anything is written to
a temporary folder (its HTML and a .json with the truth, what was extracted and which kinds
were applied) whose path the failing assertion prints.
"""
from __future__ import annotations

import collections
import json
import os
import random
import sys
import tempfile
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

import mutate  # noqa: E402

from stenogram.extract import extract_page  # noqa: E402
from stenogram.extract.evaluate import Score, score_text  # noqa: E402
from stenogram.extract.text import normalise_for_compare  # noqa: E402

SEED = int(os.environ.get("MUTATION_SEED", "20261129"))
PAGES = int(os.environ.get("MUTATION_PAGES", "1000"))
META = ("title", "date", "place")


@pytest.fixture(scope="module")
def pages():
    return mutate.mutated_pages(PAGES, SEED)


@pytest.fixture(scope="module")
def results(pages):
    score = Score()
    right = collections.Counter()
    refused, failing = [], []
    for m in pages:
        t = extract_page(m.body, url=m.url, content_type=m.content_type)
        page = Score()
        score_text(page, m.truth.paragraphs, t.paragraphs, m.url)
        for name in ("gold_paragraphs", "recovered", "extracted_chars", "leaked_chars"):
            setattr(score, name, getattr(score, name) + getattr(page, name))
        problems = list(page.misses)
        for name in META:
            if getattr(t, name) == getattr(m.truth, name):
                right[name] += 1
            else:
                problems.append(f"{name}: {getattr(t, name)!r} != {getattr(m.truth, name)!r}")
        if len(t.turns) == m.truth.turns:
            right["turns"] += 1
        else:
            problems.append(f"turns: {len(t.turns)} != {m.truth.turns}")
        if not t.is_transcript:
            refused.append(m)
            problems.append(f"refused: {t.reason}")
        if problems:
            failing.append((m, t, problems))
    return score, right, refused, failing


def _write_failures(failing) -> str:
    folder = Path(tempfile.mkdtemp(prefix="stenogram-mutations-"))
    for i, (m, t, problems) in enumerate(failing[:50]):
        stem = f"{i:03d}-{m.truth.source}-{'+'.join(m.kinds)}"
        (folder / f"{stem}.html").write_bytes(m.body)
        (folder / f"{stem}.json").write_text(json.dumps({
            "url": m.url, "content_type": m.content_type, "kinds": m.kinds, "problems": problems,
            "truth": m.truth.__dict__, "extracted": {k: v for k, v in t.to_dict().items() if k != "text"},
        }, ensure_ascii=False, indent=1), encoding="utf-8")
    return str(folder)


def test_registry_has_enough_kinds_and_every_kind_runs(pages):
    assert len(mutate.MUTATIONS) >= 30
    applied = collections.Counter(k for m in pages for k in m.kinds)
    never = sorted(set(mutate.MUTATIONS) - set(applied))
    assert not never, f"mutation kinds that never applied: {never}"
    assert len(pages) >= min(PAGES, 1000)
    combos = collections.Counter(len(m.kinds) for m in pages)
    assert set(combos) <= {1, 2, 3} and combos[1] and combos[2] and combos[3]
    sources = {(m.truth.source, m.truth.language) for m in pages}
    assert {("mid", "en"), ("mid", "ru"), ("mid_archive", "en"), ("globalsecurity", "en"),
            ("interaffairs", "en"), ("mid_domino", "en"), ("mid_domino", "ru")} <= sources
    assert any(b"windows-1251" in m.body[:800] for m in pages)  # the DLE pages, cp1251 bytes


def test_mutations_preserve_the_text(pages):
    """The mutator itself is honest: every ground-truth paragraph is still on the page."""
    import lxml.html

    for m in random.Random(SEED).sample(pages, 150):
        charset = mutate.page_charset(m.body, m.content_type)
        text = normalise_for_compare(lxml.html.document_fromstring(m.body.decode(charset)).text_content())
        squeezed = text.replace(" ", "")
        for p in m.truth.paragraphs:
            assert normalise_for_compare(p).replace(" ", "") in squeezed, (m.kinds, p[:60])


def test_mutated_pages_meet_the_figures(results):
    score, right, refused, failing = results
    n = PAGES
    figures = score.figures()
    summary = {"pages": n, "recall": round(figures["recall"], 5), "leaked": round(figures["leaked"], 5),
               **{k: round(right[k] / n, 4) for k in (*META, "turns")}, "refused": len(refused),
               "failing pages": len(failing)}
    print("mutation suite:", summary)
    ok = (figures["recall"] >= 0.995 and figures["leaked"] <= 0.005 and not refused
          and all(right[k] / n >= 0.99 for k in (*META, "turns")))
    if not ok:
        folder = _write_failures(failing)
        pytest.fail(f"mutation suite below target: {summary}; failing pages written to {folder}")


def test_a_missed_container_falls_back_and_says_so(pages):
    """The profile is a hint: when its container is gone the text comes from the fallback path,
    and the Transcript records which path and why."""
    base = next(b for b in mutate.base_pages(size=0) if b.truth.source == "globalsecurity")
    plain = extract_page(base.body, url=base.truth.url, content_type=base.content_type)
    assert plain.extraction_path == "profile" and plain.fallback_reason is None
    moved = mutate.mutate(base, ["title_h2"], random.Random(1))  # the body cell is found by its title
    t = extract_page(moved.body, url=moved.url, content_type=moved.content_type)
    assert t.is_transcript and t.source == "globalsecurity"
    assert t.extraction_path == "fallback" and "matched nothing" in t.fallback_reason
    assert t.paragraphs == base.truth.paragraphs and t.title == base.truth.title
    assert t.to_dict()["extraction_path"] == "fallback"


def test_a_container_holding_too_little_falls_back():
    """A container that still matches but holds a sliver of the text (a redesign reused the
    class for a lead paragraph) is not trusted."""
    base = next(b for b in mutate.base_pages(size=0) if b.truth.source == "mid" and b.truth.language == "en")
    html = base.body.decode("utf-8")
    html = html.replace('<div class="text article-content">', '<div class="article-body">', 1)
    lead = f'<div class="text article-content"><p>{base.truth.paragraphs[0]}</p></div>'
    html = html.replace('<div class="article-body">', lead + '<div class="article-body">', 1)
    t = extract_page(html.encode(), url=base.truth.url)
    assert t.extraction_path == "fallback" and "holds" in t.fallback_reason
    assert t.is_transcript and len(t.paragraphs) >= len(base.truth.paragraphs)
