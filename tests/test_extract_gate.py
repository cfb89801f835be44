"""The transcript gate: recall on every known transcript, precision on a set of look-alikes.

Positives: every transcript page the sample site serves (all four sources, English and Russian,
cp1251 included; fetched over loopback with the server's Content-Type) and the gold set's
transcripts. Negatives: tests/negatives/ (articles about the minister, listings, directory
indexes, interstitials with big footers, error pages, search and login pages, a JS app shell,
CSV/JSON/PDF/PNG/gzip/docx/log/RSS files served as .html), the gold set's negatives, and the
sample site's own non-transcript pages (directory indexes, listings, Kremlin/MoD pages on the
globalsecurity mirror). bench/bench_gate.py prints the same figures.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from stenogram.extract import extract_page, gate

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE / "negatives"))
import generate  # noqa: E402  (tests/negatives/generate.py)

GOLD = HERE / "gold"


def _gold(kind: str) -> list[tuple[str, bytes, str | None, str | None]]:
    cases = json.loads((GOLD / "cases.json").read_text(encoding="utf-8"))
    return [(c["page"], (GOLD / "pages" / c["page"]).read_bytes(), c.get("url"), None)
            for c in cases if c["page"].startswith(kind)]


@pytest.fixture(scope="module")
def site_pages():
    """(positives, negatives) fetched from a sample site: (name, body, url, content type)."""
    return generate.sample_site_pages(size=60, seed=5)


@pytest.fixture(scope="module")
def verdicts(site_pages):
    site_pos, site_neg = site_pages
    positives = site_pos + _gold("seed-") + _gold("variant-")
    negatives = site_neg + _gold("negative-") + [
        (name, body, None, ctype) for name, (body, ctype) in generate.load().items()]
    pos = {name: extract_page(body, url, ctype) for name, body, url, ctype in positives}
    neg = {name: extract_page(body, url, ctype) for name, body, url, ctype in negatives}
    return pos, neg


def test_gate_recall_is_total_on_transcripts(verdicts):
    pos, _ = verdicts
    assert len(pos) >= 100
    missed = {n: t.reason for n, t in pos.items() if not t.is_transcript}
    assert missed == {}
    print(f"gate recall {sum(t.is_transcript for t in pos.values())}/{len(pos)}")


def test_gate_precision_is_total_on_lookalikes(verdicts):
    _, neg = verdicts
    assert len(neg) >= 40
    accepted = {n: t.title for n, t in neg.items() if t.is_transcript}
    assert accepted == {}


def test_transcripts_carry_evidence_besides_the_profile(verdicts):
    """The fallback path (no container) must still recognise every known transcript."""
    pos, _ = verdicts
    without = [n for n, t in pos.items() if not gate.transcript_evidence(t.title, t.paragraphs, False)]
    assert without == []


def test_negatives_are_refused_for_the_right_reason(verdicts):
    _, neg = verdicts
    reasons = {n: t.reason for n, t in neg.items()}
    for name in ("dirindex-apache.html", "dirindex-nginx.html", "dirindex-python.html", "dirindex-iis.html"):
        assert reasons[name] == "directory index", name
    for name in ("interstitial-tspd-footer.mid.html", "interstitial-data-processing-footer.mid.html",
                 "interstitial-checking-browser.html"):
        assert reasons[name] == "anti-bot interstitial", name
    for name in ("document.pdf.html", "photo.png.html", "page.gz.html", "report.docx.html"):
        assert reasons[name] == "binary input", name
    assert reasons["api.json.html"] == "not HTML: JSON"
    assert reasons["cms-export.json.html"] == "not HTML: JSON"
    assert reasons["export.csv.html"] == "not HTML"
    assert reasons["access.log.html"] == "not HTML"
    for name in ("wiki-lavrov.en.html", "wiki-lavrov.ru.html", "news-lavrov.en.html",
                 "news-lavrov.ru.html"):
        assert reasons[name] == "no transcript evidence", name
    assert reasons["error-500.html"] == "error page"


# -- the rules one by one

def _page(title: str, paragraphs: list[str]) -> str:
    return (f"<html><head><title>{title}</title></head><body><div class='content'>"
            + "".join(f"<p>{p}</p>" for p in paragraphs) + "</div></body></html>")


SHORT_DIALOGUE = ["Question: Will the talks continue next week in Geneva?",
                  "Sergey Lavrov: Yes, they will. We have agreed on the dates with our partners.",
                  "Question: And the agenda?", "Sergey Lavrov: It is being prepared by the experts."]


@pytest.mark.parametrize("title", [
    "404", "Error 404", "Remarks on UN Security Council resolution 2404", "500 days of the talks",
    "Foreign Minister Sergey Lavrov’s answers to questions on Resolution 403",
])
def test_short_transcript_with_a_number_in_the_title_is_kept(title):
    t = extract_page(_page(title, SHORT_DIALOGUE))
    assert t.is_transcript, t.reason


@pytest.mark.parametrize("title", ["404 Not Found", "Error 404 - Page not found", "403 Forbidden",
                                   "Страница не найдена", "Ошибка 404", "503 Service Unavailable"])
def test_error_page_needs_an_error_phrase(title):
    t = extract_page(_page(title, ["The requested URL was not found on this server. "
                                   "Please check the address or use the search form."] * 3))
    assert not t.is_transcript and t.reason == "error page"


def test_short_statement_embedding_the_antibot_script_is_kept():
    """mid.ru pages embed the TSPD script and a <noscript> "enable JavaScript" line; a short
    text with evidence is a page, not a challenge."""
    html = _page("Foreign Minister Sergey Lavrov’s answers to media questions", SHORT_DIALOGUE).replace(
        "</head>", '<script src="/TSPD/08a3fb1a0bab2000?type=7"></script></head>').replace(
        "<body>", "<body><noscript>Please enable JavaScript to view the page content.</noscript>")
    t = extract_page(html.encode() + b" " * 70_000)  # above the crawler's 64 KB challenge size
    assert t.is_transcript, t.reason


def test_article_about_the_minister_is_not_a_transcript():
    paragraphs = [f"Russian Foreign Minister Sergey Lavrov said on Friday that Moscow was open to talks, "
                  f"speaking after meeting number {i} with his counterpart in Moscow." for i in range(4)]
    t = extract_page(_page("Lavrov says Moscow open to talks", paragraphs))
    assert not t.is_transcript and t.reason == "no transcript evidence"
    assert t.turns == [] and t.text == ""


@pytest.mark.parametrize("title,paragraphs", [
    ("Foreign Minister Sergey Lavrov’s interview with RT, Moscow, March 3, 2024",
     [f"Sergey Lavrov answered at length about the situation in region {i} and relations." for i in range(4)]),
    ("Интервью Министра иностранных дел России С.В.Лаврова газете «Известия», 5 марта 2024 года",
     [f"Министр подробно ответил на вопрос {i} о ситуации в регионе и отношениях с партнёрами." for i in range(4)]),
    ("Talks in Minsk", ["Unofficial translation from Russian"]
     + [f"We discussed item {i} of the agenda in detail." for i in range(8)]),
    ("Meeting", SHORT_DIALOGUE * 2),
])
def test_each_kind_of_evidence_alone_is_enough(title, paragraphs):
    t = extract_page(_page(title, paragraphs))
    assert t.is_transcript, t.reason


def test_title_is_capped_with_a_word_boundary():
    title = "Foreign Minister Sergey Lavrov’s remarks " + "and answers to questions " * 20000
    t = extract_page(_page(title, SHORT_DIALOGUE))
    assert t.is_transcript
    assert len(t.title) <= gate.MAX_TITLE_CHARS + 1 and t.title.endswith("…")
    assert not t.title[:-1].endswith(" ")


def test_text_above_the_cap_is_refused_with_a_reason(monkeypatch):
    monkeypatch.setattr(gate, "MAX_TEXT_CHARS", 2000)
    t = extract_page(_page("Foreign Minister Sergey Lavrov’s remarks", SHORT_DIALOGUE * 20))
    assert not t.is_transcript and t.reason.startswith("text too long")


@pytest.mark.parametrize("name,url,reason", [
    ("gold/pages/negative-listing.mid.html", "http://127.0.0.1:8000/en/foreign_policy/news/", "listing page"),
    ("negatives/dirindex-apache.html", None, "directory index"),
    ("negatives/dirindex-nginx.html", None, "directory index"),
    ("negatives/dirindex-python.html", None, "directory index"),
])
def test_listing_and_directory_verdicts_come_before_trafilatura(monkeypatch, name, url, reason):
    """Issue 26: the tree decides these verdicts; the body is never read (trafilatura would
    cost several ms a page for nothing). Same reason as when the body was read."""
    from stenogram.extract import generic, page

    def no_body(*args, **kwargs):
        raise AssertionError("the body was read")

    monkeypatch.setattr(generic, "paragraphs", no_body)
    monkeypatch.setattr(page, "_body_paragraphs", no_body)
    t = extract_page((HERE / name).read_bytes(), url=url)
    assert (t.is_transcript, t.reason) == (False, reason)
