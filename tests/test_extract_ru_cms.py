"""stenogram's text on pages of Russian CMSs (tests/gold_ru): 1C-Bitrix, DataLife Engine,
WordPress and Joomla layouts holding the seed transcripts, in utf-8 and windows-1251, with and
without a declared charset (tests/gold_ru/README.md says where each layout comes from).

What is held here: the committed pages are what the generator makes; the truth is on each page
and no chrome string is part of the truth; no page raises or comes back empty; stenogram's token
F1 on each part (tuning / held back) stays at least what it was measured at minus a small margin
(docs/extraction-ru.md); no line of the seeds' own chrome leaks into the text, except on the
pages listed in KNOWN_SEED_CHROME_LEAKS (strict xfail: a fix makes them pass, and then the
entry must go). The scorer itself has property tests.
"""
from __future__ import annotations

import importlib.util
import re
import sys
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from lxml import html as lxml_html

from stenogram.extract import extract_page

GOLD = Path(__file__).resolve().parent / "gold_ru"


def _module(name: str):
    spec = importlib.util.spec_from_file_location(f"gold_ru_{name}", GOLD / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up by name
    spec.loader.exec_module(module)
    return module


scoring = _module("scoring")
generate = _module("generate")
CASES = scoring.load_cases()
BY_ID = {c.id: c for c in CASES}

# Measured with bench/bench_ru_cms.py (stenogram: tuning 0.995, held back 0.999, once the title
# is read right and its line dropped from the body: docs/extraction-ru.md), minus 0.01.
F1_FLOOR = {"tune": 0.985, "held": 0.989}
# Pages where some chrome string leaks into stenogram's text, as measured (tuning 11 of 58,
# held back 4 of 22): more than this is a regression.
MAX_PAGES_LEAKING_CHROME = {"tune": 11, "held": 4}
_TABLE = "the layout table's row and the blocks under the article, in the body's cell: "
_GS = "the page falls to the globalsecurity profile (fingerprint form[action*='mailinglist']): "
# Seed chrome lines stenogram lets through today (docs/extraction-ru.md, "What leaks").
KNOWN_SEED_CHROME_LEAKS = {
    "bitrix-classic-001": _TABLE + "the photo album, 'Archive material'",
    "bitrix-classic-002": _TABLE + "the photo album, 'Archive material'",
    "bitrix-classic-003": _TABLE + "the photo album, 'Archive material', the globalsecurity section titles",
    "bitrix-classic-001-p1of2": _TABLE + "the photo album, 'Archive material'",
    "bitrix-classic-003-p1of3": _TABLE + "the photo album, 'Archive material'",
    "dle-classic-004-p3of3": _GS + "'Category: Minister S.Lavrov', the hidden search-form messages",
    "dle-modern-004": _GS + "'Category: Minister S.Lavrov'",
}


@pytest.fixture(scope="module")
def extracted() -> dict[str, object]:
    return {c.id: extract_page(c.body(), url=c.url, require_evidence=False) for c in CASES}


def _text(transcript) -> str:
    return transcript.text if transcript.is_transcript else ""


def _norm(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


# ------------------------------------------------------------------ the gold set itself

def test_committed_pages_are_what_the_generator_makes():
    pages, cases = generate.build()
    assert generate.differences(pages, cases) == []


def test_gold_set_covers_cms_languages_encodings_and_both_parts():
    assert len(CASES) >= 40
    assert {c.cms for c in CASES} == {"bitrix", "dle", "wordpress", "joomla"}
    assert {c.language for c in CASES} == {"en", "ru"}
    assert {(c.raw["encoding"], c.raw["charset_declared"]) for c in CASES} == {
        ("utf-8", True), ("utf-8", False), ("windows-1251", True), ("windows-1251", False)}
    for part in ("tune", "held"):
        assert {c.cms for c in CASES if c.part == part} == {"bitrix", "dle", "wordpress", "joomla"}
    assert all(c.part == generate.part_of(c.id) for c in CASES)
    assert sum((GOLD / "pages" / f"{c.id}.html").stat().st_size for c in CASES) < 3_000_000


@pytest.mark.parametrize("case_id", sorted(BY_ID))
def test_truth_and_chrome_are_on_the_page_and_apart(case_id):
    case = BY_ID[case_id]
    body = case.body()
    if not case.raw["charset_declared"]:
        assert b"charset" not in body.lower()
    if case.raw["encoding"] == "windows-1251":
        with pytest.raises(UnicodeDecodeError):
            body.decode("utf-8")
    root = lxml_html.document_fromstring(body.decode(case.raw["encoding"]))
    # two readings of the page's text: elements run together (inline markup) or apart (blocks)
    readings = [root.text_content(), " ".join(root.itertext())]
    for paragraph in case.paragraphs:
        assert any(_norm(paragraph) in _norm(text) for text in readings), paragraph
    page_tokens = "|".join(" " + " ".join(scoring.tokens(text)) + " " for text in readings)
    truth_tokens = " " + " ".join(scoring.tokens(case.truth)) + " "
    assert case.chrome and set(case.raw["seed_chrome"]) <= set(case.chrome)
    for chrome in case.chrome:
        needle = " " + " ".join(scoring.tokens(chrome)) + " "
        assert needle in page_tokens, chrome
        assert needle not in truth_tokens, chrome


# ------------------------------------------------------------------ stenogram on it

def test_no_page_raises_or_comes_back_empty(extracted):
    # the fixture would have raised; each page is a long transcript and must give text
    empty = [cid for cid, t in extracted.items() if not _text(t).strip()]
    assert empty == []


@pytest.mark.parametrize("part", ["tune", "held"])
def test_token_f1_stays_at_its_measured_level(extracted, part):
    scores = [scoring.score_page(c, _text(extracted[c.id])) for c in CASES if c.part == part]
    figures = scoring.macro(scores)
    assert figures["f1"] >= F1_FLOOR[part], figures
    assert figures["leak_pages"] <= MAX_PAGES_LEAKING_CHROME[part], [
        (s.case.id, s.leaked[:3]) for s in scores if s.leaked]


@pytest.mark.parametrize("case_id", [
    pytest.param(cid, marks=pytest.mark.xfail(strict=True, reason=KNOWN_SEED_CHROME_LEAKS[cid]))
    if cid in KNOWN_SEED_CHROME_LEAKS else cid for cid in sorted(BY_ID)])
def test_no_seed_chrome_line_leaks(extracted, case_id):
    case = BY_ID[case_id]
    assert scoring.leaked_chrome(_text(extracted[case_id]), case.raw["seed_chrome"]) == []


# ------------------------------------------------------------------ the scorer

words = st.text(alphabet=st.characters(categories=("Ll", "Lu", "Nd")), min_size=1, max_size=8)
separators = st.sampled_from([" ", "  ", "\n", ", ", " – ", "\xa0", ": ", " | "])


@given(st.lists(words, min_size=1, max_size=30))
def test_identical_text_scores_one_whatever_the_case(ws):
    text = " ".join(ws)
    p, r, f = scoring.token_prf(text.lower(), text)
    assert (p, r, f) == (1.0, 1.0, 1.0)


@given(st.lists(words, max_size=30), st.lists(words, max_size=30))
def test_f1_is_bounded_symmetric_and_zero_when_empty(a, b):
    x, y = " ".join(a), " ".join(b)
    p, r, f = scoring.token_prf(x, y)
    assert 0.0 <= p <= 1.0 and 0.0 <= r <= 1.0 and 0.0 <= f <= 1.0
    assert scoring.token_prf(y, x)[2] == pytest.approx(f)
    if not a or not b:
        assert f == 0.0


@given(st.lists(words, max_size=20), st.lists(words, min_size=1, max_size=5), st.lists(words, max_size=20),
       separators)
def test_a_chrome_line_inside_the_text_is_found_whatever_separates_its_words(before, line, after, sep):
    text = " ".join(before) + "\n" + sep.join(line) + "\n" + " ".join(after)
    assert scoring.leaked_chrome(text, [" ".join(line)]) == [" ".join(line)]


letters = st.text(alphabet=st.characters(categories=("Ll", "Lu")), min_size=1, max_size=8)


@given(st.lists(letters, max_size=30), st.lists(letters, max_size=4), st.integers(0, 10 ** 6))
def test_a_chrome_line_is_not_found_when_one_of_its_words_is_missing(text_words, line_words, number):
    # the text has no digits, the line has a number: it can never be inside the text
    line = " ".join(line_words + [str(number)])
    assert scoring.leaked_chrome(" ".join(text_words + line_words), [line]) == []
