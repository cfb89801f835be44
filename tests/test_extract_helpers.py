"""Property and example tests for the text helpers: dates, places, turns, chrome lines."""
from __future__ import annotations

import datetime as dt

from hypothesis import given, settings, strategies as st

from stenogram.extract.chrome import drop_chrome_lines, is_date_line
from stenogram.extract.dates import format_en, format_ru, parse_date, parse_date_time
from stenogram.extract.text import detect_language
from stenogram.extract.titles import kind_from_title, participants_from_title, split_place_date
from stenogram.extract.turns import split_label, split_turns

days = st.dates(min_value=dt.date(1990, 1, 1), max_value=dt.date(2039, 12, 31))
times = st.tuples(st.integers(0, 23), st.integers(0, 59))


@given(days)
def test_date_round_trips_every_printed_form(day):
    iso = day.isoformat()
    forms = [format_en(iso, "dmy"), format_en(iso, "mdy"), format_ru(iso),
             f"{day.day:02d}.{day.month:02d}.{day.year}", f"{day.day}-{day.month:02d}-{day.year}"]
    for form in forms:
        assert parse_date(form) == iso, form


@given(days, times)
def test_run_together_date_and_time(day, hm):
    h, m = hm
    text = f"{format_en(day.isoformat())}{h:02d}:{m:02d}"  # "8 April 202114:32"
    assert parse_date_time(text) == (day.isoformat(), f"{h:02d}:{m:02d}")
    assert parse_date_time(f"{day.day}-{day.month:02d}-{day.year}, {h}:{m:02d}") == (day.isoformat(), f"{h:02d}:{m:02d}")
    assert is_date_line(text)


def test_doc_number_is_not_a_date_and_junk_is_none():
    assert parse_date("676-12-04-2024") is None
    assert parse_date("31 February 2024") is None
    assert parse_date("") is None and parse_date(None) is None


place_names = st.sampled_from(["Minsk", "Moscow", "Nur-Sultan", "New York", "St Petersburg", "Ust-Kamenogorsk"])
ru_places = st.sampled_from(["Москва", "Минск", "Нью-Йорк", "Санкт-Петербург"])
heads = st.sampled_from([
    "Foreign Minister Sergey Lavrov’s remarks and answers to media questions",
    "Foreign Minister Sergey Lavrov’s interview with RIA Novosti",
])


@given(heads, place_names, days)
def test_place_and_date_from_english_title(head, place, day):
    title = f"{head}, {place}, {format_en(day.isoformat(), 'mdy')}"
    assert split_place_date(title) == (place, day.isoformat())


@given(ru_places, days)
def test_place_and_date_from_russian_title(place, day):
    title = f"Выступление Министра иностранных дел России С.В.Лаврова, {place}, {format_ru(day.isoformat())}"
    assert split_place_date(title) == (place, day.isoformat())


def test_title_without_place_gives_none():
    assert split_place_date("Speech by Sergey Lavrov, and his answers, Erlan Idrisov") == (None, None)


def test_kind_and_participants():
    assert kind_from_title("Foreign Minister Sergey Lavrov’s interview with Kommersant, Moscow, May 2, 2023") == "interview"
    assert kind_from_title("Briefing by Foreign Ministry Spokeswoman Maria Zakharova, Moscow, May 2, 2023") == "briefing"
    assert participants_from_title(
        "Foreign Minister Sergey Lavrov and CIS Secretary-General Sergey Lebedev make remarks, Minsk, April 12, 2024"
    ) == ["Sergey Lebedev"]


labels = st.sampled_from(["Question", "Question (to both ministers)", "Question (for both ministers)",
                          "Sergey Lavrov", "Sergey Lavrov (answers after Erlan Idrisov)",
                          "Sergey Lavrov (speaking after Mukhtar Tleuberdi)", "Sergey Lebedev", "Вопрос",
                          "С.В.Лавров"])
sentences = st.text(alphabet=st.sampled_from(list("abcdefgh ijklmnop,.?–«»абвгдеж")), min_size=1, max_size=80) \
    .map(lambda s: "w" + s.strip())
paragraph = st.one_of(st.tuples(labels, sentences).map(lambda ls: f"{ls[0]}: {ls[1]}"), sentences)


@settings(max_examples=150)
@given(st.lists(paragraph, max_size=12))
def test_turn_splitting_preserves_all_text_in_order(paragraphs):
    turns = split_turns(paragraphs)
    rebuilt: list[str] = []
    for turn in turns:
        parts = turn.text.split("\n\n")
        rebuilt.extend(parts)
    stripped = [split_label(p)[1] for p in paragraphs]
    assert rebuilt == stripped
    assert all(t.speaker_id in {"question", "lavrov", "lebedev"} and t.speaker_source == "label"
               for t in turns[1:])
    if paragraphs and split_label(paragraphs[0])[0] is None:  # no title: no evidence, no speaker
        assert (turns[0].speaker, turns[0].speaker_id, turns[0].speaker_source) == (None, None, None)


def test_turn_labels_and_continuations():
    turns = split_turns(["Colleagues,", "We met.", "Question (for both ministers): Why?", "And how?",
                         "Sergey Lavrov (speaking after Mukhtar Tleuberdi): Because.",
                         "Russia plans to host the following events in 2024: the EAEU summit."],
                        title="Foreign Minister Sergey Lavrov’s remarks and answers to media questions")
    assert [(t.speaker, t.speaker_id, t.speaker_source) for t in turns] == [
        ("Sergey Lavrov", "lavrov", "title"), ("Question (for both ministers)", "question", "label"),
        ("Sergey Lavrov (speaking after Mukhtar Tleuberdi)", "lavrov", "label")]
    assert turns[1].text == "Why?\n\nAnd how?"
    assert turns[2].text.endswith("the EAEU summit.")


def test_chrome_filter_keeps_foreign_sentences_and_drops_edge_labels():
    english = "We discussed the situation in the region and our cooperation in international organisations. " * 2
    body = ["Ladies and gentlemen,", english,
            "He quoted: «Мы будем добиваться выполнения всех договорённостей, которые были достигнуты».",
            "Views: 2 133", "Showing 1 result.", "de-DE1 en-GB1 es-ES1 ru-RU1 fr-FR1",
            "Thank you.", "Дополнительные материалы", "Фото", "1 из 1 фотографий в альбоме"]
    kept = drop_chrome_lines(body)
    assert kept == ["Ladies and gentlemen,", english, body[2], "Thank you."]


def test_language_from_letters():
    assert detect_language("Мы провели переговоры с коллегой.") == "ru"
    assert detect_language("We held talks with our colleague and the minister.") == "en"
    assert detect_language("Wir haben mit dem Minister gesprochen und die Lage ist nicht einfach.") == "de"
    assert detect_language("12 345") is None


def test_shipped_country_words_equal_babels():
    """extract/country_words.py (shipped so start-up skips Babel's locale data) is exactly what
    Babel's CLDR country names give; regenerate it with titles.write_country_words()."""
    from stenogram.extract import titles

    shipped = titles._country_words()
    assert shipped == titles.country_words_from_babel()
    assert {"qatar", "saudi", "arabia", "армения"} <= shipped and "and" not in shipped


_LINE_PIECES = ["Photo", "Фото", " ", "  ", "\t", "\u00a0", "Views: 12 345", "Showing 3 results.", "© 2021 MFA",
                "All rights reserved.", "x" * 60, "Сергей Лавров: спасибо. ", "GlobalSecurity.org", "Tags: a",
                "en-US ru-RU ", "April 2021 (12)", "Category: News", "\n", "•", "Print version |"]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(_LINE_PIECES), max_size=14))
def test_line_matcher_equals_trying_every_pattern(pieces):
    """The length-tiered chrome-line matcher answers exactly any(p.match(line)) for every
    profile's patterns (it only skips patterns that cannot match a line that long)."""
    from stenogram.extract.chrome import COMMON_CHROME_LINES
    from stenogram.extract.profiles import default_profiles

    line = "".join(pieces)
    profiles = default_profiles()
    for profile in (*profiles.profiles, profiles.generic):
        patterns = (*profile.chrome_lines, *COMMON_CHROME_LINES)
        assert profile.chrome_line_match(line) == any(p.match(line) for p in patterns)
