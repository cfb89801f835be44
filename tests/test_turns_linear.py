"""Large pages: every step of extract_page must be linear in the page (issue 12, point 7).

Not timing-based (the machine is shared): these tests run the steps that used to be quadratic
on inputs large enough that the old code took many seconds, and check the RESULT is exact.
Time against page size is printed by bench/bench_pagesize.py (growth per doubling ~2).
"""
from __future__ import annotations

import random

from stenogram.extract import blocks, chrome
from stenogram.extract.turns import split_label, split_turns

import lxml.html

N = 40_000
SENTENCES = ["We discussed the situation in the region and our cooperation.",
             "The talks were friendly, trust-based and substantive.",
             "Мы обсудили ситуацию в регионе и наше сотрудничество.",
             "Russia is ready to continue this work with all our partners."]


def _paragraphs(n: int, seed: int = 12, label_every: int | None = None) -> list[str]:
    rng = random.Random(seed)
    out = []
    for i in range(n):
        text = " ".join(rng.sample(SENTENCES, 2)) + f" ({i})"
        if label_every and i and i % label_every == 0:
            text = rng.choice(["Question: ", "Sergey Lavrov: ", "Вопрос: ", "С.В.Лавров: "]) + text
        out.append(text)
    return out


def test_one_turn_of_40k_paragraphs_is_exact():
    """A 40k-paragraph speech is one turn (old code: 13.7 s, rebuilding the turn's string per
    paragraph); its text is every paragraph, in order, joined by blank lines."""
    paragraphs = _paragraphs(N)
    turns = split_turns(paragraphs, "en", "Speech by Sergey Lavrov at the General Assembly")
    assert len(turns) == 1
    assert (turns[0].speaker_id, turns[0].speaker_source) == ("lavrov", "title")
    assert turns[0].text == "\n\n".join(paragraphs)


def test_40k_paragraphs_with_labels_rebuild_the_input():
    paragraphs = _paragraphs(N, seed=3, label_every=997)
    turns = split_turns(paragraphs, "en")
    assert len(turns) == 1 + (N - 1) // 997
    rebuilt = [part for t in turns for part in t.text.split("\n\n")]
    assert rebuilt == [split_label(p)[1] for p in paragraphs]
    assert {t.speaker_id for t in turns} == {None, "lavrov", "question"}  # no title: opening unnamed


def test_chrome_filter_on_40k_lines_keeps_every_body_line():
    paragraphs = _paragraphs(N, seed=5)
    lines = ["Print version", "12 April 2024", *paragraphs, "Share:", "© 2024 MFA"]
    kept = chrome.drop_chrome_lines(lines, metadata_lines=["A title"])
    assert kept == paragraphs


def test_in_page_navigation_on_a_table_with_an_anchor_in_every_row():
    """A long table whose every row holds a footnote anchor: the TOC test used to read the whole
    table's text once per anchor (rows x table size). Footnote anchors in text are kept."""
    rows = "".join(f"<tr><td>Row {i} text<a href='#n{i}'>[{i}]</a></td></tr>" for i in range(5000))
    toc = "<h2>Contents</h2><ul>" + "".join(f"<li><a href='#s{i}'>Part {i}</a></li>" for i in range(50)) + "</ul>"
    root = lxml.html.document_fromstring(f"<html><body><div id='c'>{toc}<table>{rows}</table></div></body></html>")
    container = root.get_element_by_id("c")
    assert blocks.drop_in_page_navigation(container)
    paragraphs = blocks.paragraphs_from(container)
    assert paragraphs == [f"Row {i} text[{i}]" for i in range(5000)]


def test_paragraphs_from_a_body_nested_1500_deep():
    """libxml2 keeps 2,048 levels with huge_tree; the reader walks them without recursion."""
    depth = 1500
    html = ("<html><body><div id='c'>" + "<div>" * depth + "<p>First paragraph.</p>Loose line<br>next"
            + "</div>" * depth + "<p>Last.</p></div></body></html>")
    root = lxml.html.document_fromstring(html, parser=lxml.html.HTMLParser(huge_tree=True))
    assert blocks.paragraphs_from(root.get_element_by_id("c")) == ["First paragraph.", "Loose line", "next", "Last."]
