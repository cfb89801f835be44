"""Each downloader middleware's decision on one request, in Scrapy's own test style: a crawler from
``get_crawler`` with the project's settings, no reactor, no crawl (the crawls of
tests/test_operations_faults.py test them together against a misbehaving site)."""
from __future__ import annotations

import asyncio

import pytest
import scrapy
from scrapy.exceptions import IgnoreRequest, NotConfigured
from scrapy.http import HtmlResponse, Response

from conftest import project_crawler
from stenogram.crawler.middlewares import (
    ArchiveGuardMiddleware,
    BackoffRetryMiddleware,
    InterstitialMiddleware,
    RedirectTrapMiddleware,
    RetryAfterMiddleware,
)
from stenogram.sample_site.faults import INTERSTITIAL_PAGES

URL = "http://127.0.0.1:1/en/foreign_policy/news/1975643/"
NO_WAITS = {"RETRY_BACKOFF_BASE": 0, "INTERSTITIAL_BACKOFF_BASE": 0}


def middleware(cls, **settings):
    crawler = project_crawler(**{**NO_WAITS, **settings})
    crawler.spider = scrapy.Spider.from_crawler(crawler, name="unit")
    return cls.from_crawler(crawler), crawler.stats


def answer(status=200, body=b"<html><p>Sergey Lavrov: Good afternoon.</p></html>", **headers):
    request = scrapy.Request(URL)
    return request, HtmlResponse(URL, status=status, body=body, headers=headers, request=request)


def test_retry_after_is_honoured_within_its_bound_and_given_up_beyond():
    mw, stats = middleware(RetryAfterMiddleware)
    request, response = answer(503, **{"Retry-After": "0"})
    retry = asyncio.run(mw.process_response(request, response))
    assert retry.url == URL and retry.meta["retry_times"] == 1
    assert stats.get_value("stenogram/retry_after") == 1
    request, response = answer(429, **{"Retry-After": "3600"})  # above RETRY_AFTER_MAX
    assert asyncio.run(mw.process_response(request, response)) is response
    assert request.meta["dont_retry"]  # the server said when: no backoff retry either
    assert stats.get_value("stenogram/retry_after/gave_up/too_long") == 1
    request, response = answer(503)  # no Retry-After: left to BackoffRetryMiddleware
    assert asyncio.run(mw.process_response(request, response)) is response


def test_an_interstitial_is_retried_then_given_up():
    mw, stats = middleware(InterstitialMiddleware, INTERSTITIAL_RETRY_TIMES=2)
    page = INTERSTITIAL_PAGES[0].format(token="abc123").encode()
    request, response = answer(body=page)
    for attempt in (1, 2):
        request = asyncio.run(mw.process_response(request, response))
        assert request.meta["interstitial_times"] == attempt and request.dont_filter
    with pytest.raises(IgnoreRequest):
        asyncio.run(mw.process_response(request, response))
    assert stats.get_value("stenogram/interstitial/retried") == 2
    assert stats.get_value("stenogram/interstitial/gave_up") == 1
    request, response = answer()  # a real page passes untouched
    assert asyncio.run(mw.process_response(request, response)) is response


def test_a_body_cut_short_is_retried():
    mw, stats = middleware(BackoffRetryMiddleware)
    request = scrapy.Request(URL)
    cut = Response(URL, body=b"<html><p>Sergey", flags=["dataloss"], request=request)
    retry = asyncio.run(mw.process_response(request, cut))
    assert retry.url == URL and retry.meta["retry_times"] == 1
    assert stats.get_value("stenogram/retry/dataloss") == 1


def test_a_redirect_chain_at_its_limit_is_counted_not_changed():
    mw, stats = middleware(RedirectTrapMiddleware, REDIRECT_MAX_TIMES=3)
    request = scrapy.Request(URL, meta={"redirect_times": 3, "redirect_urls": [URL + "?a", URL + "?b"]})
    moved = Response(URL, status=302, headers={"Location": URL + "?c"}, request=request)
    assert mw.process_response(request, moved) is moved
    assert stats.get_value("stenogram/traps/redirect_max_reached") == 1
    request.meta["redirect_times"] = 1
    assert mw.process_response(request, moved) is moved
    assert stats.get_value("stenogram/traps/redirect_max_reached") == 1


def test_archive_guard_stands_down_when_archiving_is_off_on_purpose():
    """WARC_ENABLED=False (benchmarks, dry runs) must not look like a failed archive."""
    assert isinstance(middleware(ArchiveGuardMiddleware)[0], ArchiveGuardMiddleware)
    with pytest.raises(NotConfigured):
        middleware(ArchiveGuardMiddleware, WARC_ENABLED=False)
