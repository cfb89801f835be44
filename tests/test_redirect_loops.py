"""A redirect loop is said, once (issue 23, item 6: "redirect loops are dropped unlogged").

Scrapy's RedirectMiddleware gives the redirected request the original's ``dont_filter``, so in
A -> B -> A the second A is dropped by the scheduler's duplicate filter, which logs at most its
first duplicate, at DEBUG. RedirectTrapMiddleware (which runs just before RedirectMiddleware on
the way back) now counts and logs the loop in one warning and drops it itself. The chain is
driven through Scrapy's real RedirectMiddleware, as the downloader would.
"""
from __future__ import annotations

import logging

import pytest
import scrapy
from scrapy.downloadermiddlewares.redirect import RedirectMiddleware
from scrapy.exceptions import IgnoreRequest
from scrapy.http import Response

from conftest import project_crawler
from stenogram.crawler.middlewares import RedirectTrapMiddleware

BASE = "http://127.0.0.1:1"


def chain(hops: list[tuple[int, str]], dont_filter: bool = False):
    """Follow ``hops`` (status, Location) from ``BASE/a`` through both middlewares; return the
    trap middleware's stats and the last request, or raise what they raised."""
    crawler = project_crawler()
    crawler.spider = scrapy.Spider.from_crawler(crawler, name="unit")
    trap = RedirectTrapMiddleware.from_crawler(crawler)
    redirect = RedirectMiddleware.from_crawler(crawler)
    request = scrapy.Request(BASE + "/a", dont_filter=dont_filter)
    for status, location in hops:
        response = Response(request.url, status=status, headers={"Location": location},
                            request=request)
        out = trap.process_response(request, response)
        assert out is response  # the trap middleware never changes a redirect it lets through
        request = redirect.process_response(request, response)
        assert isinstance(request, scrapy.Request)
    return crawler.stats, request


@pytest.mark.parametrize("hops, logged", [
    ([(302, "/a")], "/a -> " + BASE + "/a"),                                    # to itself
    ([(301, "/b"), (302, BASE + "/a")], "/a -> " + BASE + "/b -> " + BASE + "/a"),
    ([(302, "/b"), (307, "//127.0.0.1:1/c"), (308, "b")], "/c -> " + BASE + "/b"),
    ([(302, "/a?x=1&y=2"), (303, "/a?y=2&x=1")], "/a?y=2&x=1"),                 # same page
])
def test_a_loop_is_counted_logged_once_and_dropped(hops, logged, caplog):
    caplog.set_level(logging.DEBUG)
    with pytest.raises(IgnoreRequest, match="redirect loop"):
        chain(hops)
    lines = [r for r in caplog.records if "redirect loop" in r.getMessage()]
    assert len(lines) == 1 and lines[0].levelno == logging.WARNING
    assert logged in lines[0].getMessage()


def test_the_loop_counter_reaches_the_report():
    from stenogram.report import GAVE_UP_KEYS

    assert "stenogram/traps/redirect_loop" in GAVE_UP_KEYS


def test_a_chain_of_new_urls_passes_untouched(caplog):
    stats, last = chain([(301, "/b"), (302, "/c"), (307, "/d")])
    assert last.url == BASE + "/d"
    assert stats.get_value("stenogram/traps/redirect_loop") is None
    assert not [r for r in caplog.records if "redirect" in r.getMessage()]


def test_a_dont_filter_request_may_come_back_to_itself():
    """A cookie check (A sets a cookie and redirects to A) is followed, as Scrapy does; an
    endless one is stopped by REDIRECT_MAX_TIMES, with its own line."""
    stats, last = chain([(302, "/a")], dont_filter=True)
    assert last.url == BASE + "/a" and last.dont_filter
    assert stats.get_value("stenogram/traps/redirect_loop") is None
