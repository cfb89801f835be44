"""Incremental recrawls: fetch what is new or due, ask the server if it changed, skip the rest.

A daily crawl must not refetch years of archive every night, yet must notice silent edits,
which happen mostly to recent items. :class:`RecrawlPolicy` decides from the durable
:class:`~crawler.state.CrawlState`:

* discovery pages (robots.txt, RSS, listings, directory indexes) are always fetched;
* a URL never fetched is fetched;
* a URL fetched before is fetched again only when due, with ``If-None-Match`` /
  ``If-Modified-Since`` from its last capture; how often depends on the item's age
  (``RECRAWL_SCHEDULE``, default ``14:1,365:7,*:90``: items younger than 14 days daily, younger
  than a year weekly, older ones every 90 days);
* a not-due request is dropped and counted (``stenogram/recrawl/skipped_not_due``).

:class:`RecrawlMiddleware` applies the policy as a downloader middleware and records each
final response in the state table (one commit per response), which is also what makes a rerun
after a crash a resume.
"""
from __future__ import annotations

import hashlib
import logging
import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from scrapy import signals
from scrapy.exceptions import IgnoreRequest, NotConfigured
from scrapy.http import Response

from crawler.storage import STORAGE_ERRORS, StorageDropItem, stop_crawl

from crawler.state import CrawlState, UrlState, parse_iso, utcnow

logger = logging.getLogger(__name__)

#: dates in URLs, for pages whose publication date is not known yet (globalsecurity: -YYMMDD-)
URL_DATES = (re.compile(r"-(?P<y>\d{2})(?P<m>\d{2})(?P<d>\d{2})-"),)

#: flag of the stand-in response for a not-due request that reached the downloader (never archived)
SKIPPED_FLAG = "recrawl_skipped"

DISCOVERY_PATHS = re.compile(r"/robots\.txt$|/rss\.php$|/sitemap[^/]*\.xml$")


class NotModified(IgnoreRequest):
    """The server answered 304: the archived copy still holds, there is nothing for the spider."""


@dataclass(frozen=True)
class Decision:
    fetch: bool
    why: str  # discovery | new | incomplete | due | not_due | forced | retry


def parse_schedule(value) -> tuple[list[tuple[int, int]], int]:
    """``"14:1,365:7,*:90"`` (or a list of pairs) -> ([(14, 1), (365, 7)], 90)."""
    pairs = value.split(",") if isinstance(value, str) else list(value)
    bands, default = [], None
    for pair in pairs:
        age, interval = pair.split(":") if isinstance(pair, str) else pair
        age, interval = str(age).strip(), int(str(interval).strip())
        if interval <= 0:
            raise ValueError(f"RECRAWL_SCHEDULE: interval must be positive days, got {pair!r}")
        if age in ("*", "None", ""):
            default = interval
        else:
            bands.append((int(age), interval))
    if default is None:
        raise ValueError(f"RECRAWL_SCHEDULE needs a '*:<days>' band for old items, got {value!r}")
    return sorted(bands), default


class RecrawlPolicy:
    """Which requests to send, given what the state table knows. Pure: no I/O."""

    def __init__(self, schedule="14:1,365:7,*:90", undated_interval_days: int = 7,
                 slack_hours: float = 3.0, force: bool = False,
                 discovery_callbacks=("parse_listing", "parse_rss", "parse_index", "parse_sitemap")):
        self.bands, self.old_interval = parse_schedule(schedule)
        self.undated_interval = timedelta(days=undated_interval_days)
        # a daily cron job starts at about the same time each day: a page fetched 23h50m ago is due
        self.slack = timedelta(hours=slack_hours)
        self.force = force
        self.discovery_callbacks = frozenset(discovery_callbacks)

    @classmethod
    def from_settings(cls, settings) -> "RecrawlPolicy":
        return cls(
            schedule=settings.get("RECRAWL_SCHEDULE", "14:1,365:7,*:90"),
            undated_interval_days=settings.getint("RECRAWL_UNDATED_INTERVAL_DAYS", 7),
            slack_hours=settings.getfloat("RECRAWL_SLACK_HOURS", 3.0),
            force=settings.getbool("RECRAWL_FORCE", False),
            discovery_callbacks=settings.getlist(
                "RECRAWL_DISCOVERY_CALLBACKS", ["parse_listing", "parse_rss", "parse_index", "parse_sitemap"]
            ),
        )

    def is_discovery(self, request) -> bool:
        """``meta["discovery"]`` decides when set; otherwise robots/RSS/sitemaps and listing callbacks."""
        flag = request.meta.get("discovery")
        if flag is not None:
            return bool(flag)
        if DISCOVERY_PATHS.search(request.url.split("?")[0]):
            return True
        return getattr(request.callback, "__name__", None) in self.discovery_callbacks

    def interval(self, url: str, item_date: str | None, now: datetime) -> timedelta:
        published = parse_iso(item_date) or date_in_url(url)
        if published is None:
            return self.undated_interval
        age_days = (now - published).days
        for max_age, interval in self.bands:
            if age_days < max_age:
                return timedelta(days=interval)
        return timedelta(days=self.old_interval)

    def next_due(self, url: str, fetched_at: datetime, item_date: str | None) -> datetime:
        return fetched_at + self.interval(url, item_date, fetched_at)

    def decide(self, request, row: UrlState | None, now: datetime) -> Decision:
        if request.meta.get("retry_times") or request.meta.get("interstitial_times"):
            return Decision(True, "retry")
        if self.is_discovery(request):
            return Decision(True, "discovery")
        if row is None:
            return Decision(True, "new")
        if not row.complete:  # fetched, but the crawl died before the page reached the corpus
            return Decision(True, "incomplete")
        if self.force:
            return Decision(True, "forced")
        due = parse_iso(row.next_due)
        if due is None or now + self.slack >= due:
            return Decision(True, "due")
        return Decision(False, "not_due")


def date_in_url(url: str) -> datetime | None:
    for pattern in URL_DATES:
        m = pattern.search(url)
        if m:
            try:
                return datetime.strptime(f"20{m['y']}-{m['m']}-{m['d']}", "%Y-%m-%d").replace(
                    tzinfo=utcnow().tzinfo
                )
            except ValueError:
                return None
    return None


def header(response, name: str) -> str | None:
    value = response.headers.get(name)
    return value.decode("latin-1") if value else None


class RecrawlMiddleware:
    """Downloader middleware: applies :class:`RecrawlPolicy` and keeps the state table current.

    Place it early (order ~50): its ``process_request`` then runs before anything is sent, and
    its ``process_response`` runs last, after retries, redirects and interstitial checks, so
    only final answers are recorded. Spiders reach the state through ``spider.crawl_state``
    (set when the spider opens), e.g. to stop paging a listing once its items are all known.
    """

    def __init__(self, crawler, state: CrawlState, policy: RecrawlPolicy):
        self.crawler = crawler
        self.stats = crawler.stats
        self.state = state
        self.policy = policy
        self.source = None

    @classmethod
    def from_crawler(cls, crawler):
        if not crawler.settings.getbool("RECRAWL_ENABLED", True):
            raise NotConfigured
        mw = cls(crawler, CrawlState.from_settings(crawler.settings), RecrawlPolicy.from_settings(crawler.settings))
        crawler.signals.connect(mw.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(mw.spider_closed, signal=signals.spider_closed)
        crawler.signals.connect(mw.item_scraped, signal=signals.item_scraped)
        crawler.signals.connect(mw.item_dropped, signal=signals.item_dropped)
        return mw

    def spider_opened(self, spider):
        self.source = spider.name
        if getattr(spider, "crawl_state", None) is None:
            spider.crawl_state = self.state
        logger.info("crawl state %s: %d URLs known", self.state.path, self.state.count())

    def spider_closed(self, spider, reason):
        skipped = self.stats.get_value("stenogram/recrawl/skipped_not_due", 0)
        if skipped:
            logger.info("recrawl: %d known URLs not due, not fetched", skipped)
        self.state.close()

    # -- requests
    def process_request(self, request):
        row = self.state.get(request.url)
        decision = self.policy.decide(request, row, utcnow())
        request.meta.setdefault("recrawl", decision.why)
        if not decision.fetch:
            # RecrawlFilterMiddleware drops these before the scheduler; what still gets here
            # (redirect targets) is answered without a download and dropped in process_response
            # (an IgnoreRequest raised here would be counted as a download error).
            return Response(request.url, status=304, request=request, flags=[SKIPPED_FLAG])
        if decision.why in ("due", "forced") and row is not None and row.last_status == 200:
            if row.etag and b"If-None-Match" not in request.headers:
                request.headers[b"If-None-Match"] = row.etag
            if row.last_modified and b"If-Modified-Since" not in request.headers:
                request.headers[b"If-Modified-Since"] = row.last_modified
            self.stats.inc_value("stenogram/recrawl/due")
        elif decision.why == "new":
            self.stats.inc_value("stenogram/recrawl/new")
        return None

    # -- responses
    def process_response(self, request, response):
        if SKIPPED_FLAG in response.flags:
            row = self.state.get(request.url)
            self.stats.inc_value("stenogram/recrawl/skipped_not_due")
            logger.debug("not due until %s: %s", row.next_due if row else "?", request.url)
            raise IgnoreRequest(f"not due: {request.url}")
        status = response.status
        if status >= 500 or status == 429:
            return response  # not an answer worth remembering: the next crawl tries again
        now = utcnow()
        url = response.url
        if status == 304:
            row = self.state.get(url)
            if row is not None:
                self.state.record_not_modified(url, fetched_at=now,
                                               next_due=self.policy.next_due(url, now, row.item_date),
                                               etag=header(response, "ETag"),
                                               last_modified=header(response, "Last-Modified"))
            self.stats.inc_value("stenogram/recrawl/not_modified")
            raise NotModified(f"not modified: {url}")
        if 300 <= status < 400 and header(response, "Location"):
            return response  # the redirect middleware follows it; the target is recorded
        item_date = request.meta.get("item_date")
        digest = self._digest(request, response)
        row = self.state.get(url)
        if row is not None and status == 200 and request.meta.get("recrawl") in ("due", "forced"):
            same = row.payload_digest == digest
            self.stats.inc_value("stenogram/recrawl/unchanged" if same else "stenogram/recrawl/changed")
        discovery = request.meta.get("recrawl") == "discovery"
        # a 200 page the spider turns into an item is complete once the item is through the
        # pipeline (item_scraped / item_dropped); everything else is complete now
        pending = status == 200 and not discovery and request.meta.get("recrawl_expects_item", True)
        try:
            self._record_fetch(url, response, status, now, digest, item_date, row, discovery, pending)
        except STORAGE_ERRORS as exc:
            stop_crawl(self.crawler, "state_write_failed", f"cannot write the crawl state: {exc}")
            raise IgnoreRequest(f"crawl state not written: {exc}") from exc
        return response

    def _record_fetch(self, url, response, status, now, digest, item_date, row, discovery, pending):
        self.state.record_fetch(
            url,
            source=self.source,
            status=status,
            fetched_at=now,
            etag=header(response, "ETag"),
            last_modified=header(response, "Last-Modified"),
            payload_digest=digest,
            item_date=item_date,
            next_due=None if discovery else self.policy.next_due(url, now, item_date or (row and row.item_date)),
            complete=not pending,
        )

    def item_scraped(self, item, response, spider):
        """The page is in the corpus: its state row is complete; date it if the extractor could."""
        if response is None:
            return
        try:
            self._complete(item, response)
        except STORAGE_ERRORS as exc:
            stop_crawl(self.crawler, "state_write_failed", f"cannot write the crawl state: {exc}")

    def _complete(self, item, response):
        self.state.mark_complete(response.url)
        date = item.get("date") if hasattr(item, "get") else None
        if not date:
            return
        row = self.state.get(response.url)
        if row is None:
            return
        fetched = parse_iso(row.last_fetched) or utcnow()
        self.state.set_item_date(response.url, date, self.policy.next_due(response.url, fetched, date))

    def item_dropped(self, item, response, exception, spider):
        if response is not None and not isinstance(exception, StorageDropItem):
            try:
                self.state.mark_complete(response.url)
            except STORAGE_ERRORS as exc:
                stop_crawl(self.crawler, "state_write_failed", f"cannot write the crawl state: {exc}")

    @staticmethod
    def _digest(request, response) -> str:
        """SHA-1 of the decoded body: the same whether or not the WARC payload was compressed."""
        return "sha1:" + hashlib.sha1(response.body).hexdigest()


class RecrawlFilterMiddleware:
    """Spider middleware: drops requests for known URLs that are not due, before they are queued.

    Dropping them here rather than in the downloader keeps them out of the scheduler and out of
    the downloader's exception stats (a skipped page is not a download error). Each drop is
    counted (``stenogram/recrawl/skipped_not_due``) and logged at DEBUG; the downloader
    middleware still applies the policy to anything that reaches it.
    """

    def __init__(self, crawler, state: CrawlState, policy: RecrawlPolicy):
        self.stats = crawler.stats
        self.state = state
        self.policy = policy

    @classmethod
    def from_crawler(cls, crawler):
        if not crawler.settings.getbool("RECRAWL_ENABLED", True):
            raise NotConfigured
        mw = cls(crawler, CrawlState.from_settings(crawler.settings), RecrawlPolicy.from_settings(crawler.settings))
        crawler.signals.connect(mw.spider_closed, signal=signals.spider_closed)
        return mw

    def spider_closed(self, spider, reason):
        self.state.close()

    def keep(self, request) -> bool:
        if not hasattr(request, "url") or not hasattr(request, "meta"):
            return True  # an item
        row = self.state.get(request.url)
        if row is None:
            return True
        decision = self.policy.decide(request, row, utcnow())
        if decision.fetch:
            return True
        self.stats.inc_value("stenogram/recrawl/skipped_not_due")
        logger.debug("not due until %s: %s", row.next_due, request.url)
        return False

    async def process_start(self, start):
        async for item_or_request in start:
            if self.keep(item_or_request):
                yield item_or_request

    def process_spider_output(self, response, result):
        for item_or_request in result:
            if self.keep(item_or_request):
                yield item_or_request

    async def process_spider_output_async(self, response, result):
        async for item_or_request in result:
            if self.keep(item_or_request):
                yield item_or_request
