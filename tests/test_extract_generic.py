"""The generic path's own rules (extract/generic.py); the benchmark figures come from
bench/bench_generic.py on real pages."""
from __future__ import annotations

import lxml.html

from stenogram.extract import extract_page
from stenogram.extract.generic import drop_reader_prompts, merge_split_body

PROSE = [f"Paragraph {i} of the article says something substantial about the matter at hand, "
         f"with enough words to count as running text for any extractor that reads it." for i in range(12)]


def _html(body: str, title: str = "A news article") -> str:
    return f"<html><head><title>{title}</title></head><body>{body}</body></html>"


def _read(html: str) -> list[str]:
    t = extract_page(html, url="https://news.example.org/2024/01/02/story", require_evidence=False)
    assert t.is_transcript, t.reason
    return t.paragraphs


def test_article_inside_a_form_is_read():
    """ASP.NET pages wrap everything in one <form runat=server>."""
    body = ("<form id='aspnetForm' method='post' action='./story.aspx'><div class='page'>"
            + "".join(f"<p>{p}</p>" for p in PROSE) + "</div></form>")
    assert _read(_html(body)) == PROSE


def test_article_inside_its_own_header_is_read():
    """Some templates put the whole story in the article's <header> element."""
    body = ("<div class='page'><header class='story'><h1>Headline</h1>"
            + "".join(f"<p>{p}</p>" for p in PROSE) + "</header></div>")
    assert _read(_html(body)) == PROSE


def test_body_split_into_same_class_chunks_is_read_whole():
    chunks = [PROSE[:4], PROSE[4:8], PROSE[8:]]
    body = "".join(
        f"<div class='grid'><div class='body article__body'>{''.join(f'<p>{p}</p>' for p in c)}</div>"
        f"<div class='ad-rail'>Advertisement</div></div>" for c in chunks)
    root = lxml.html.fromstring(_html(body))
    assert merge_split_body(root) == 2
    assert _read(_html(body)) == PROSE


def test_reader_prompts_at_the_end_are_dropped_and_prose_kept():
    lines = PROSE[:3] + ["Related: Another story about the same matter",
                         PROSE[3],
                         "Have a tip? Write to the newsroom.", "Comments",
                         "Follow the newsroom on Twitter and Facebook."]
    assert drop_reader_prompts(lines) == PROSE[:4]


def test_no_prompt_no_trailing_cut():
    lines = PROSE[:3] + ["Reporting by Jane Doe", "Editing by John Roe"]
    assert drop_reader_prompts(lines) == lines
