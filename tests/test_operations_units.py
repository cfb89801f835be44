"""The pure parts of operations: recrawl policy, Retry-After parsing, interstitial rules, state."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from email.utils import format_datetime

import pytest
import scrapy

from stenogram.crawler.middlewares import backoff_delay, parse_retry_after
from stenogram.extract.interstitial import interstitial_reason
from stenogram.crawler.recrawl import RecrawlPolicy, parse_schedule
from stenogram.crawler.runner import project_settings
from stenogram.crawler.state import CrawlState, iso
from stenogram.sample_site.faults import INTERSTITIAL_PAGES

NOW = datetime(2026, 11, 23, 4, 0, tzinfo=timezone.utc)


def test_interstitial_pages_are_detected_and_real_pages_are_not():
    for page in INTERSTITIAL_PAGES:
        assert interstitial_reason(page.format(token="abc123").encode())
    assert interstitial_reason(b"<p>Data processing... Please, wait.</p>") == "data_processing"
    # a real article that embeds the F5 script and a noscript hint stays a page
    article = (b'<html><script src="/TSPD/08a3?type=7"></script><noscript>Please enable JavaScript</noscript>'
               b'<div class="text article-content">' + b"<p>Sergey Lavrov: Good afternoon.</p>" * 3000 + b"</div>")
    assert interstitial_reason(article) is None
    assert interstitial_reason(b"<p>Please enable JavaScript for the map</p>") is None  # no /TSPD/
    assert interstitial_reason(b"/TSPD/ Please enable JavaScript", "application/pdf") is None


def test_retry_after_in_seconds_and_as_http_date():
    assert parse_retry_after(b"120") == 120
    later = NOW + timedelta(seconds=90)
    assert parse_retry_after(format_datetime(later, usegmt=True), now=NOW) == pytest.approx(90)
    assert parse_retry_after(format_datetime(NOW - timedelta(hours=1), usegmt=True), now=NOW) == 0
    assert parse_retry_after("soon") is None
    assert parse_retry_after(None) is None


def test_backoff_grows_and_is_capped():
    delays = [backoff_delay(n, 2.0, 60.0) for n in range(1, 8)]
    assert delays[:5] == [2, 4, 8, 16, 32]
    assert delays[5:] == [60, 60]


def test_schedule_parsing_and_errors():
    assert parse_schedule("14:1,365:7,*:90") == ([(14, 1), (365, 7)], 90)
    with pytest.raises(ValueError, match=r"\*:<days>"):
        parse_schedule("14:1")
    with pytest.raises(ValueError, match="positive"):
        parse_schedule("14:0,*:90")


@pytest.fixture
def state(tmp_path):
    s = CrawlState(tmp_path / "state.db")
    yield s
    s.close()


def article(url="http://127.0.0.1:1/en/foreign_policy/news/1975643/", **meta):
    def parse_article(response):
        return None

    return scrapy.Request(url, callback=parse_article, meta=meta)


def test_policy_new_due_not_due_and_discovery(state):
    policy = RecrawlPolicy.from_settings(project_settings())
    req = article()
    assert policy.decide(req, state.get(req.url), NOW).why == "new"
    state.record_fetch(req.url, source="mid", status=200, fetched_at=NOW - timedelta(hours=2),
                       etag='"abc"', item_date="2026-11-20",
                       next_due=policy.next_due(req.url, NOW - timedelta(hours=2), "2026-11-20"))
    row = state.get(req.url)
    assert row.next_due == iso(NOW + timedelta(hours=22))  # 3 days old: daily
    assert policy.decide(req, row, NOW).why == "not_due"
    assert policy.decide(req, row, NOW + timedelta(hours=20)).why == "due"  # within the 3 h slack
    assert policy.decide(scrapy.Request(req.url, meta={"discovery": True}), row, NOW).why == "discovery"

    def parse_listing(response):
        return None

    assert policy.decide(scrapy.Request(req.url, callback=parse_listing), row, NOW).fetch
    assert policy.decide(scrapy.Request("http://127.0.0.1:1/robots.txt"), row, NOW).why == "discovery"


def test_intervals_follow_the_age_of_the_item():
    policy = RecrawlPolicy.from_settings(project_settings({"RECRAWL_UNDATED_INTERVAL_DAYS": 5}))
    url = "http://127.0.0.1:1/en/foreign_policy/news/1/"
    assert policy.interval(url, "2026-11-20", NOW) == timedelta(days=1)
    assert policy.interval(url, "2026-03-01", NOW) == timedelta(days=7)
    assert policy.interval(url, "2016-03-01", NOW) == timedelta(days=90)
    assert policy.interval(url, None, NOW) == timedelta(days=5)
    gs = "http://127.0.0.1:1/wmd/library/news/russia/2021/russia-210408-russia-mfa01.htm"
    assert policy.interval(gs, None, NOW) == timedelta(days=90)  # dated by its URL


def test_a_page_not_yet_ingested_is_fetched_again(state):
    policy = RecrawlPolicy.from_settings(project_settings())
    req = article()
    state.record_fetch(req.url, source="mid", status=200, fetched_at=NOW, complete=False,
                       next_due=NOW + timedelta(days=90))
    assert not state.known(req.url)
    assert policy.decide(req, state.get(req.url), NOW).why == "incomplete"
    state.mark_complete(req.url)
    assert state.known(req.url)
    assert policy.decide(req, state.get(req.url), NOW).why == "not_due"


def test_state_survives_reopening_and_counts_not_modified(tmp_path):
    path = tmp_path / "state.db"
    first = CrawlState(path)
    first.record_fetch("http://x/1", source="mid", status=200, fetched_at=NOW, etag='"e1"',
                       payload_digest="sha1:aa", next_due=NOW + timedelta(days=1))
    first.record_not_modified("http://x/1", fetched_at=NOW + timedelta(days=1), next_due=NOW + timedelta(days=2))
    # no close(): each write is already committed, as after kill -9
    second = CrawlState(path, readonly=True)
    row = second.get("http://x/1")
    assert (row.fetch_count, row.not_modified_count, row.last_status, row.etag) == (2, 1, 304, '"e1"')
    assert row.payload_digest == "sha1:aa"
    assert second.db.execute("pragma journal_mode").fetchone()[0] == "wal"
    first.close()
    second.close()


def test_spiders_reach_the_state_to_stop_listing_walks(tmp_path):
    from conftest import project_crawler
    from stenogram.crawler.recrawl import RecrawlMiddleware

    crawler = project_crawler(STENOGRAM_STATE_DB=str(tmp_path / "state.db"))
    mw = RecrawlMiddleware.from_crawler(crawler)
    spider = scrapy.Spider("listing")
    mw.spider_opened(spider)
    url = "http://127.0.0.1:1/lavrov/2815-a.html"
    assert spider.crawl_state.known(url) is False
    spider.crawl_state.record_fetch(url, source="interaffairs", status=200, fetched_at=NOW)
    assert spider.crawl_state.known(url) is True
    mw.spider_closed(spider, "finished")
