"""Extraction of Domino-era pages (profile ``mid_domino``) beyond the gold set: pages the
sample-site template renders from hypothesis-drawn documents, the era's title and date forms,
and the template mutations of tests/mutate.py applied to the Domino pages only."""
from __future__ import annotations

import collections
import datetime as dt
import random
import sys
from pathlib import Path

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

sys.path.insert(0, str(Path(__file__).parent))

import mutate  # noqa: E402

from stenogram.extract import extract_page  # noqa: E402
from stenogram.extract.dates import parse_date  # noqa: E402
from stenogram.extract.evaluate import Score, score_text  # noqa: E402
from stenogram.extract.titles import split_place_date  # noqa: E402
from stenogram.extract.turns import split_turns  # noqa: E402
from stenogram.sample_site.content import MONTHS, RU_MONTHS_GEN, Catalog, Copy, Transcript  # noqa: E402
from stenogram.sample_site.domino import SOURCE, VIEWS, unid  # noqa: E402
from stenogram.sample_site.messages import Request  # noqa: E402
from stenogram.sample_site.sites.domino import DominoSite, declaration  # noqa: E402

EN_WORDS = ("we discussed bilateral cooperation and the international agenda the situation in the Middle "
            "East requires a political settlement trade between our countries is growing the ministers "
            "agreed to continue consultations at the UN Security Council and the OSCE energy security").split()
RU_WORDS = ("мы обсудили двустороннее сотрудничество и международную повестку дня ситуация на Ближнем "
            "Востоке требует политического урегулирования товарооборот растет министры договорились "
            "продолжить консультации в Совете Безопасности ООН и ОБСЕ энергетическая безопасность").split()
PLACES = {"en": ["Moscow", "Brussels", "New York", "Geneva"], "ru": ["Москва", "Брюссель", "Нью-Йорк", "Женева"]}
# keys whose pages declare their charset in the header and <meta>, in the <meta> only, nowhere
KEYS = {way: next(f"h-{i}" for i in range(99) if declaration(Transcript(
    f"h-{i}", "ru", "", "2004-01-01", None, None, None, [], SOURCE)) == way) for way in ("both", "meta", "none")}


@st.composite
def sentence(draw, words):
    chosen = draw(st.lists(st.sampled_from(words), min_size=6, max_size=20))
    text = " ".join(chosen)
    return text[0].upper() + text[1:] + draw(st.sampled_from([".", "?", "!"]))


@st.composite
def document(draw):
    language = draw(st.sampled_from(["en", "ru"]))
    words = EN_WORDS if language == "en" else RU_WORDS
    day = draw(st.dates(min_value=dt.date(2004, 3, 9), max_value=dt.date(2015, 12, 31)))
    labels = ("Question: ", "Sergey Lavrov: ") if language == "en" else ("Вопрос: ", "С.В.Лавров: ")
    paragraphs = []
    for _ in range(draw(st.integers(3, 8))):  # a transcript: at least a few hundred characters
        text = " ".join(draw(st.lists(sentence(words), min_size=2, max_size=5)))
        label = draw(st.sampled_from(["", "", *labels]))
        paragraphs.append(label + text)
    assume(len(" ".join(paragraphs)) >= 250)  # a transcript, not a stub (gate.MIN_BODY_CHARS)
    form = draw(st.integers(0, 2))  # 0: "D Month YYYY" / "г.", 1: "Month D, YYYY" / "года", 2: no place and date
    place = None if form == 2 else draw(st.sampled_from(PLACES[language]))
    head = ("Transcript of Remarks by Russian Minister of Foreign Affairs Sergey Lavrov at a Press Conference"
            if language == "en" else "Стенограмма выступления Министра иностранных дел России С.В.Лаврова")
    if form == 2:
        title = head
    elif language == "en":
        title = f"{head}, {place}, " + (f"{MONTHS[day.month - 1]} {day.day}, {day.year}" if form
                                         else f"{day.day} {MONTHS[day.month - 1]} {day.year}")
    else:
        title = f"{head}, {place}, {day.day} {RU_MONTHS_GEN[day.month - 1]} {day.year} {'года' if form else 'г.'}"
    way = "both" if language == "en" else draw(st.sampled_from(sorted(KEYS)))
    number = draw(st.integers(1, 9999))
    t = Transcript(key=KEYS[way], language=language, title=title, date=day.isoformat(), time=None, place=place,
                   doc_number=f"{number}-{day:%d-%m-%Y}", paragraphs=paragraphs, home=SOURCE, kind="domino")
    ident = unid(t.key, day, draw(st.integers(0, 86399)))
    t.copies[SOURCE] = Copy(SOURCE, [f"/brp_4.nsf/0/{ident}"], sections=tuple(VIEWS))
    return t


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(t=document())
def test_any_domino_document_extracts_exactly(t):
    response = DominoSite(Catalog([t])).handle(Request(SOURCE, "GET", t.copies[SOURCE].path, {}))
    assert response.status == 200
    got = extract_page(response.body, url="http://archive.mid.ru" + t.copies[SOURCE].path,
                       content_type=response.header("Content-Type"))
    assert got.is_transcript, got.reason
    assert (got.source, got.extraction_path) == ("mid_domino", "profile")
    assert got.paragraphs == t.paragraphs
    assert (got.title, got.date, got.place, got.doc_number, got.language) == \
        (t.title, t.date, t.place, t.doc_number, t.language)
    assert len(got.turns) == len(split_turns(t.paragraphs, t.language))


@settings(max_examples=200, deadline=None)
@given(day=st.dates(min_value=dt.date(2004, 1, 1), max_value=dt.date(2015, 12, 31)),
       number=st.integers(1, 99999), place=st.sampled_from(PLACES["en"] + PLACES["ru"]))
def test_the_eras_date_forms(day, number, place):
    iso = day.isoformat()
    forms = [f"{MONTHS[day.month - 1]} {day.day}, {day.year}", f"{day.day} {MONTHS[day.month - 1]} {day.year}",
             f"{day.day} {RU_MONTHS_GEN[day.month - 1]} {day.year} года",
             f"{day.day} {RU_MONTHS_GEN[day.month - 1]} {day.year} г."]
    for form in forms:
        assert split_place_date(f"Remarks by Sergey Lavrov, {place}, {form}") == (place, iso), form
        assert parse_date(form) == iso
    assert parse_date(day.strftime("%d.%m.%Y")) == iso
    # a document number NNNN-DD-MM-YYYY is never read as another date (1789-08-11-2004 is not 1789)
    assert parse_date(f"{number}-{day:%d-%m-%Y}") in (None, iso)


def test_domino_pages_survive_template_mutations():
    """The mutation suite (tests/mutate.py, every kind) on the 36 Domino pages only, so the
    profile is tried on markup it was not written for: same targets as the whole suite."""
    rng = random.Random(20261129)
    bases = [b for b in mutate.base_pages(size=0) if b.truth.source == "mid_domino"]
    assert len(bases) == 36 and {b.charset for b in bases} == {"windows-1251"}
    names = sorted(mutate.MUTATIONS)
    score, right, failing, applied = Score(), collections.Counter(), [], collections.Counter()
    n = 2 * len(names) + 60
    for i in range(n):
        kinds = list(dict.fromkeys([names[i % len(names)]] + rng.sample(names, k=rng.randint(0, 2))))
        m = mutate.mutate(bases[i % len(bases)], kinds, random.Random(f"domino:{i}"))
        applied.update(m.kinds)
        t = extract_page(m.body, url=m.url, content_type=m.content_type)
        page = Score()
        score_text(page, m.truth.paragraphs, t.paragraphs, m.url)
        for name in ("gold_paragraphs", "recovered", "extracted_chars", "leaked_chars"):
            setattr(score, name, getattr(score, name) + getattr(page, name))
        ok = t.is_transcript and not page.misses
        for name in ("title", "date", "place"):
            good = getattr(t, name) == getattr(m.truth, name)
            right[name] += good
            ok = ok and good
        right["turns"] += len(t.turns) == m.truth.turns
        if not ok:
            failing.append((m.kinds, m.url, t.reason, page.misses[:2]))
    figures = score.figures()
    assert len(applied) >= len(names) * 0.8, sorted(set(names) - set(applied))
    assert figures["recall"] >= 0.995 and figures["leaked"] <= 0.005, (figures, failing[:5])
    assert all(right[k] / n >= 0.99 for k in ("title", "date", "place", "turns")), (right, failing[:5])
