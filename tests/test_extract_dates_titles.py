"""A page's own date and title on the open web and on Russian CMSs (issue 22): the dates the
CMSs print (DLE "6-08-2014, 14:44", Joomla's `<time itemprop="datePublished">`), never a reader
comment's date; the heading that <title> names, without the site name, whatever its level.

The small pages below follow the CMSs' own templates as tests/gold_ru/generate.py cites them
(DLE fullstory.tpl `p.binfo` "Автор: … от {date}", `#dle-ajax-comments`; Joomla com_content
`dd.published > time[itemprop=datePublished]`; WordPress comment-template.php `li.comment`).
"""
from __future__ import annotations

import datetime as dt
import importlib.util
import sys
from pathlib import Path

import lxml.html
import pytest
from hypothesis import given
from hypothesis import strategies as st

from stenogram.extract import extract_page
from stenogram.extract.dates import (format_en, format_ru, in_comment_block, is_comment_block,
                                     parse_date, parse_date_time, published_date)
from stenogram.extract.titles import title_from_head

GOLD = Path(__file__).resolve().parent / "gold_ru"

dates = st.dates(min_value=dt.date(1950, 1, 1), max_value=dt.date(2099, 12, 31))
# text around a date that holds no digit (so no other date can be read from it)
no_digits = st.text(alphabet=st.characters(categories=("Ll", "Lu", "Zs"), exclude_characters="\x85"),
                    max_size=30)


def _forms(d: dt.date) -> list[str]:
    iso = d.isoformat()
    return [format_en(iso, "dmy"), format_en(iso, "mdy"), format_ru(iso), f"{d.day:02d}.{d.month:02d}.{d.year}",
            f"{d.day}-{d.month:02d}-{d.year}", iso]


# ------------------------------------------------------------------ parsing (properties)

@given(dates, st.integers(0, 5), no_digits, no_digits)
def test_every_printed_form_reads_back_as_its_date_whatever_surrounds_it(d, form, before, after):
    text = f"{before} {_forms(d)[form]} {after}"
    assert parse_date(text) == d.isoformat()


@given(dates, st.integers(0, 23), st.integers(0, 59), no_digits)
def test_dle_date_and_time_read_together(d, hour, minute, views_label):
    # DLE fullstory.tpl: "Автор: admin от {date}, посмотрело: N" with {date} = "6-08-2014, 14:44"
    line = f"Автор: admin от {d.day}-{d.month:02d}-{d.year}, {hour}:{minute:02d}, {views_label}"
    assert parse_date_time(line) == (d.isoformat(), f"{hour:02d}:{minute:02d}")


@given(st.text(max_size=200))
def test_parsing_never_raises_and_returns_a_valid_iso_date_or_none(text):
    date, time = parse_date_time(text)
    if date is not None:
        assert dt.date.fromisoformat(date).isoformat() == date
    if time is not None:
        assert 0 <= int(time[:2]) <= 23 and 0 <= int(time[3:]) <= 59


@given(st.integers(1, 28), st.integers(13, 99), st.integers(1000, 9999))
def test_an_impossible_month_is_no_date(day, month, year):
    assert parse_date(f"{day:02d}.{month:02d}.{year}") is None


# ------------------------------------------------------------------ the page's own date

def _page(head: str, body: str) -> str:
    return f"<html><head><meta charset='utf-8'>{head}</head><body>{body}</body></html>"


_ARTICLE = "".join(f"<p>Paragraph {i} of the remarks, long enough to be running text in a body, "
                   f"about the talks and the questions from the media that followed.</p>" for i in range(8))
_DLE_COMMENTS = ("<div id='dle-ajax-comments'><div id='comment-id-58413'><div class='bcomment'>"
                 "<div class='dtop'><span class='reply'>Гость</span><ul class='reset'><li>04.04.2022 15:13</li>"
                 "</ul></div><div class='cont-text'>Спасибо за текст.</div></div></div></div>")


def _dle(binfo: str, comments: str = _DLE_COMMENTS) -> str:
    return _page("<title>Remarks by the Minister » Евразия сегодня</title>",
                 "<h1><a href='/index.php'>Евразия сегодня</a></h1>"
                 "<div id='dle-content'><div class='base fullstory'><h3 class='btl'>Remarks by the Minister</h3>"
                 f"<p class='binfo small'>{binfo}</p><div class='maincont'>{_ARTICLE}</div></div>"
                 f"{comments}</div>")


def test_dle_date_is_read_and_a_comment_date_never_wins():
    t = extract_page(_dle("Автор: admin от 6-08-2014, 14:44, посмотрело: 8242"), url="http://localhost/news/1.html",
                     require_evidence=False)
    assert t.date == "2014-08-06"
    assert t.title == "Remarks by the Minister"


def test_a_page_whose_only_dates_are_comments_has_no_date():
    t = extract_page(_dle("Автор: admin, посмотрело: 8242"), url="http://localhost/news/1.html",
                     require_evidence=False)
    assert t.date is None  # not 2022-04-04, the comment's


def test_wordpress_comment_dates_are_not_the_page_date():
    comments = ("<div id='comments' class='comments-area'><ol class='comment-list'><li id='comment-7' class='comment'>"
                "<footer class='comment-meta'><time datetime='2022-03-23T10:58:00+03:00'>23.03.2022 10:58</time>"
                "</footer><div class='comment-content'><p>Где можно найти текст?</p></div></li></ol></div>")
    html = _page("<title>Remarks – Дипломатический вестник</title>",
                 f"<article><h1 class='entry-title'>Remarks</h1><div class='entry-content'>{_ARTICLE}</div></article>"
                 + comments)
    t = extract_page(html, url="http://localhost/2022/03/remarks/", require_evidence=False)
    assert t.date is None and t.title == "Remarks"


@pytest.mark.parametrize("published", ["Опубликовано: 06 августа 2014", "Опубликовано: 06.08.2014"])
def test_joomla_time_item_prop_date_published(published):
    html = _page("<title>Remarks - Российский центр науки и культуры</title>",
                 "<div class='com-content-article item-page' itemscope itemtype='https://schema.org/Article'>"
                 "<div class='page-header'><h1 itemprop='headline'>Remarks</h1></div>"
                 "<dl class='article-info text-muted'><dd class='published'>"
                 f"<time datetime='2014-08-06T14:44:00+03:00' itemprop='datePublished'>{published}</time></dd></dl>"
                 f"<div itemprop='articleBody' class='com-content-article__body'>{_ARTICLE}</div></div>")
    t = extract_page(html, url="http://localhost/index.php/novosti/1-remarks", require_evidence=False)
    assert (t.date, t.title) == ("2014-08-06", "Remarks")


def test_a_date_published_inside_a_comment_is_skipped():
    root = lxml.html.document_fromstring(_page("", (
        "<ol class='commentlist'><li class='comment'>"
        "<time itemprop='datePublished' datetime='2022-04-04'>x</time></li></ol>"
        "<div class='post'><time itemprop='datePublished' datetime='2022-03-05'>5 марта 2022</time></div>")))
    assert published_date(root) == "2022-03-05"


@pytest.mark.parametrize("attrs, comment", [
    ("id='comments'", True), ("class='comment even thread-even depth-1'", True), ("id='dle-ajax-comments'", True),
    ("class='bcomment'", True), ("class='block story_block comments'", True), ("id='respond'", True),
    ("id='disqus_thread'", True), ("class='comment-list'", True),
    ("class='post comments-open'", False), ("class='entry-content'", False), ("class='news-detail'", False),
    ("class='comments-link'", False),
])
def test_comment_blocks_by_their_class_or_id(attrs, comment):
    el = lxml.html.fragment_fromstring(f"<div {attrs}><p>x</p></div>")
    assert is_comment_block(el) is comment
    assert in_comment_block(el[0]) is comment


# ------------------------------------------------------------------ titles

title_words = st.text(alphabet=st.characters(categories=("Ll", "Lu", "Nd")), min_size=1, max_size=10)
titles_ = st.lists(title_words, min_size=3, max_size=12).map(" ".join)
site_names = st.lists(title_words, min_size=1, max_size=4).map(" ".join)
separators = st.sampled_from([" | ", " » ", " – ", " — ", " - ", " :: "])


@given(titles_, site_names, separators, st.booleans())
def test_the_heading_named_by_title_is_the_title_without_the_site_name(title, site, sep, site_first):
    head = f"{site}{sep}{title}" if site_first else f"{title}{sep}{site}"
    if len(site) >= len(title):
        return  # a site name as long as the title is left to the caller (next test)
    # a site-name heading beside the article's, both named by <title>
    assert title_from_head(head, [site, title, "Добавить комментарий"]) == title
    assert title_from_head(head, [title]) == title


@given(titles_, site_names, separators, st.booleans())
def test_an_end_no_longer_than_the_rest_is_not_taken(title, site, sep, site_first):
    head = f"{site}{sep}{title}" if site_first else f"{title}{sep}{site}"
    if len(site) < len(title):
        return
    # in "Lavrov - Interview with TASS" a sidebar heading "Lavrov" is not the title
    assert title_from_head(head, [title]) is None


def test_a_short_heading_equal_to_one_end_of_the_title_is_not_the_title():
    html = _page("<title>Lavrov - Interview with the TASS news agency</title>",
                 "<aside><h3>Lavrov</h3><ul><li>Other news</li></ul></aside>"
                 f"<article><div class='entry'>{_ARTICLE}</div></article>")
    t = extract_page(html, url="http://localhost/interview/", require_evidence=False)
    assert t.title == "Lavrov - Interview with the TASS news agency"


@given(titles_, separators, titles_)
def test_a_title_holding_a_separator_is_kept_whole(left, sep, right):
    whole = f"{left}{sep}{right}"
    assert title_from_head(whole, [whole]) == whole
    assert title_from_head(whole + " | Site", ["Site", whole]) == whole


@given(titles_, st.lists(titles_, max_size=4))
def test_no_heading_named_means_no_answer(head, headings):
    headings = [h for h in headings if h.casefold() not in head.casefold()]
    assert title_from_head(head, headings) is None


def test_title_from_a_site_name_h1_and_an_h3_article_heading():
    html = _dle("Автор: admin от 6-08-2014, 14:44")
    t = extract_page(html, url="http://localhost/news/1.html", require_evidence=False)
    assert t.title == "Remarks by the Minister"


# ------------------------------------------------------------------ the Russian-CMS gold set

def _cases():
    spec = importlib.util.spec_from_file_location("gold_ru_scoring", GOLD / "scoring.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module.load_cases()


CASES = _cases()


@pytest.fixture(scope="module")
def metadata():
    return {c.id: extract_page(c.body(), url=c.url, require_evidence=False) for c in CASES}


@pytest.mark.parametrize("part", ["tune", "held"])
def test_gold_ru_titles_and_dates_are_the_pages(metadata, part):
    wrong = [(c.id, metadata[c.id].title, metadata[c.id].date) for c in CASES if c.part == part
             and (metadata[c.id].title, metadata[c.id].date) != (c.title, c.date)]
    assert wrong == []


def test_gold_ru_title_is_not_kept_as_the_first_paragraph(metadata):
    kept = [c.id for c in CASES if metadata[c.id].paragraphs and metadata[c.id].paragraphs[0] == c.title]
    assert kept == []
