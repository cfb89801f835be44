"""Bad input never crashes extract_page and never yields chrome as text."""
from __future__ import annotations

import os
from pathlib import Path

from hypothesis import given, settings, strategies as st

from stenogram.extract import extract_page

GOLD_PAGE = Path(__file__).parent / "gold" / "pages" / "seed-003.mid.html"


def test_empty_and_whitespace():
    for body in (b"", b"   \n", ""):
        t = extract_page(body)
        assert not t.is_transcript and t.reason == "empty input"


def test_binary_junk():
    t = extract_page(os.urandom(4096) + b"\x00" * 10)
    assert not t.is_transcript and t.reason == "binary input"


def test_plain_text_is_not_html():
    t = extract_page(b"Question: what? Sergey Lavrov: nothing.")
    assert not t.is_transcript and t.reason == "not HTML"


def test_truncated_html_keeps_what_arrived_and_no_chrome():
    body = GOLD_PAGE.read_bytes()
    t = extract_page(body[: len(body) // 2])
    assert t.is_transcript
    assert t.paragraphs[0] == "Colleagues,"
    assert not any("Contents" == p or "Back to contents" in p for p in t.paragraphs)


def test_huge_page_is_handled():
    body = GOLD_PAGE.read_bytes()
    head, tail = body.split(b"<p>Colleagues,</p>", 1)
    filler = b"<p>" + b"We discussed cooperation in many areas of mutual interest. " * 20 + b"</p>"
    big = head + b"<p>Colleagues,</p>" + filler * 3000 + tail
    assert len(big) > 3_000_000
    t = extract_page(big)
    assert t.is_transcript and len(t.paragraphs) > 3000


def test_unexpected_encoding_utf16_is_decoded_or_refused():
    html = "<html><body><div class='text article-content'>" + "<p>Ladies and gentlemen, we met today.</p>" * 20 + "</div></body></html>"
    t = extract_page(html.encode("utf-16"), content_type="text/html; charset=utf-16",
                     require_evidence=False)  # decoding under test, not the transcript gate
    assert t.is_transcript and t.paragraphs[0] == "Ladies and gentlemen, we met today."


def test_error_page_with_status_200():
    t = extract_page(b"<html><head><title>Page not found</title></head><body><h1>Page not found</h1></body></html>")
    assert not t.is_transcript and t.reason == "error page"


@settings(max_examples=60, deadline=None)
@given(st.binary(max_size=3000))
def test_arbitrary_bytes_never_crash(body):
    t = extract_page(body)
    assert isinstance(t.is_transcript, bool)
    assert t.is_transcript or t.reason


@settings(max_examples=60, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("<>/=\"' apdivbrhtml&;#\nQuestion:Вопрос")), max_size=2000))
def test_tag_soup_never_crashes(body):
    t = extract_page(body)
    assert t.is_transcript or t.reason
