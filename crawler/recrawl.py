"""Incremental recrawls: fetch what is new or due, ask the server if it changed, skip the rest.

A daily crawl must not refetch years of archive every night, yet must notice silent edits,
which happen mostly to recent items. :class:`RecrawlPolicy` decides from the durable
:class:`~crawler.state.CrawlState`:

* discovery pages (robots.txt, RSS, listings, directory indexes) are always fetched;
* a URL never fetched is fetched;
* a URL fetched before is fetched again only when due, with ``If-None-Match`` /
  ``If-Modified-Since`` from its last capture; how often depends on the item's age
  (``RECRAWL_SCHEDULE`` in crawler/settings.py: recent items often, old ones rarely);
* a not-due request is dropped and counted (``stenogram/recrawl/skipped_not_due``).

:class:`RecrawlMiddleware` applies the policy as a downloader middleware and records each
final response in the state table (one commit per response).

:class:`FrontierKeeper` is what makes a rerun after a crash a resume: every request the engine
schedules is written to the frontier (:class:`~crawler.state.SqliteFrontier`) before it is
queued, and leaves it only once its page was archived and, when it makes an item, the item was
committed to the corpus. A spider that starts re-issues what is still owed, besides its own
discovery, so a URL found by a killed crawl is never forgotten.
"""
from __future__ import annotations

import hashlib
import logging
import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from scrapy import signals
from scrapy.exceptions import IgnoreRequest, NotConfigured
from scrapy.http import Request, Response
from scrapy.utils.misc import load_object

from stenogram.crawler.storage import STORAGE_ERRORS, StorageDropItem, stop_crawl

from stenogram.crawler.state import FrontierEntry, UrlState, parse_iso, utcnow

logger = logging.getLogger(__name__)

#: dates in URLs, for pages whose publication date is not known yet (globalsecurity: -YYMMDD-)
URL_DATES = (re.compile(r"-(?P<y>\d{2})(?P<m>\d{2})(?P<d>\d{2})-"),)

#: flag of the stand-in response for a not-due request that reached the downloader (never archived)
SKIPPED_FLAG = "recrawl_skipped"

DISCOVERY_PATHS = re.compile(r"/robots\.txt$|/rss\.php$|/sitemap[^/]*\.xml$")


class NotModified(IgnoreRequest):
    """The server answered 304: the archived copy still holds, there is nothing for the spider."""


#: Signal sent (``request``, ``response``, ``spider``) for each final 304 Not Modified, after
#: the WARC has its ``server-not-modified`` revisit and before the URL is settled: the text
#: was seen again, so the corpus pipeline records the fetch (``CorpusPipeline.not_modified``).
page_not_modified = object()


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

    def __init__(self, schedule, undated_interval_days: int, slack_hours: float, force: bool,
                 discovery_callbacks):
        self.bands, self.old_interval = parse_schedule(schedule)
        self.undated_interval = timedelta(days=undated_interval_days)
        # a daily cron job starts at about the same time each day: a page fetched 23h50m ago is due
        self.slack = timedelta(hours=slack_hours)
        self.force = force
        self.discovery_callbacks = frozenset(discovery_callbacks)

    @classmethod
    def from_settings(cls, settings) -> "RecrawlPolicy":
        return cls(
            schedule=settings.get("RECRAWL_SCHEDULE"),
            undated_interval_days=settings.getint("RECRAWL_UNDATED_INTERVAL_DAYS"),
            slack_hours=settings.getfloat("RECRAWL_SLACK_HOURS"),
            force=settings.getbool("RECRAWL_FORCE"),
            discovery_callbacks=settings.getlist("RECRAWL_DISCOVERY_CALLBACKS"),
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


#: request meta a re-issued request needs to behave as the original (depth limits, walks, policy)
FRONTIER_META_KEYS = ("discovery", "depth", "walk", "item_date", "recrawl_expects_item")


def request_urls(request) -> list[str]:
    """The request's URL and those it was redirected from: one fetch settles them all."""
    return [request.url, *request.meta.get("redirect_urls", ())]


class FrontierKeeper:
    """The crawl's frontier, kept durable: one per crawler, shared by the recrawl middlewares.

    * ``request_scheduled`` (after every spider middleware, before the scheduler's duplicate
      filter): the request is owed; it is written before it is queued.
    * done: a 200 page that makes an item once the item is through the pipeline (``item_scraped``
      fires after ``Corpus.ingest`` committed); a page that makes no item once the spider's
      output for it has been scheduled (so the links it led to are owed first); a final 4xx, a
      304 and a not-due skip at once. 5xx, 429, download errors and give-ups stay owed: the next
      crawl tries them again.
    * a starting spider re-issues what is owed on its own site (:meth:`owed_requests`).
    * a listing walk ("walk": its first page) is recorded as completed when the spider
      finishes (reason ``finished``); only then may a later walk stop at known items.

    The backend is ``FRONTIER_BACKEND`` (default :class:`crawler.state.SqliteFrontier`), any
    class with the :class:`crawler.state.Frontier` methods and ``from_settings``.
    """

    def __init__(self, crawler, frontier):
        self.crawler = crawler
        self.stats = crawler.stats
        self.frontier = frontier
        self.source = None
        self.spider = None
        #: URLs this process enqueued or settled: no second write for them
        self.tracked: set[str] = set()
        #: listing walks seen in this run, recorded as completed if the spider finishes
        self.walks: set[str] = set()
        self.closed = False
        #: pages waiting to be settled until every request they yielded is placed (see settle_after)
        self._waiting: dict[int, tuple[object, list]] = {}
        #: True when the scheduler reports placement itself, after its own enqueue (Redis)
        self.placed_by_scheduler = False

    @classmethod
    def for_crawler(cls, crawler) -> "FrontierKeeper":
        keeper = getattr(crawler, "_stenogram_frontier", None)
        if keeper is None:
            backend = load_object(crawler.settings.get("FRONTIER_BACKEND"))
            keeper = cls(crawler, backend.from_settings(crawler.settings))
            crawler.signals.connect(keeper.spider_opened, signal=signals.spider_opened)
            crawler.signals.connect(keeper.request_scheduled, signal=signals.request_scheduled)
            crawler.signals.connect(keeper.request_dropped, signal=signals.request_dropped)
            crawler.signals.connect(keeper.spider_closed, signal=signals.spider_closed)
            crawler._stenogram_frontier = keeper
        return keeper

    def spider_opened(self, spider):
        self.source, self.spider = spider.name, spider
        spider.frontier = self
        owed = self.frontier.count(spider.name)
        if owed:
            logger.info("frontier: %d URLs owed by earlier crawls of %s", owed, spider.name)

    def spider_closed(self, spider, reason):
        if self.closed:
            return
        self.closed = True
        try:
            if reason == "finished" and self.walks:
                self.frontier.complete_walks(spider.name, sorted(self.walks))
        except STORAGE_ERRORS as exc:
            logger.error("cannot record the completed listing walks: %s", exc)
        finally:
            self.frontier.close()

    # -- owed
    def request_scheduled(self, request, spider):
        try:
            self._request_scheduled(request, spider)
        finally:
            if not self.placed_by_scheduler:
                self.placed(request)

    def _request_scheduled(self, request, spider):
        if request.url in self.tracked or self.closed:
            return
        callback = request.callback
        name = "parse" if callback is None else getattr(callback, "__name__", None)
        if name is None or getattr(spider, name, None) is None:
            return  # not a spider method: cannot be issued again by name
        meta = {k: request.meta[k] for k in FRONTIER_META_KEYS if k in request.meta}
        entry = FrontierEntry(request.url, spider.name, name, dict(request.cb_kwargs or {}), meta,
                              request.priority)
        try:
            self.frontier.enqueue(entry)
        except TypeError:  # cb_kwargs that are not JSON: the request still runs, unrecorded
            self.stats.inc_value("stenogram/frontier/not_recorded")
            return
        except STORAGE_ERRORS as exc:
            stop_crawl(self.crawler, "state_write_failed", f"cannot write the crawl frontier: {exc}")
            raise IgnoreRequest(f"frontier not written: {exc}") from exc
        self.tracked.add(request.url)

    def request_dropped(self, request, spider):
        """A duplicate of a request already scheduled: the hops that led to it are settled."""
        hops = [u for u in request.meta.get("redirect_urls", ()) if u != request.url]
        if hops:
            self._done(hops)
        self.placed(request)

    # -- settling a page only once what it led to is owed
    def settle_after(self, request, children) -> None:
        """Settle ``request``'s page once each of ``children`` (the requests its callback
        yielded) has been placed: owed and scheduled, or dropped as a duplicate.

        Scrapy drains a callback's whole output before it schedules any of it (the scraper's
        ``_parallel_asyncio`` fills a queue first), so settling at the end of the output would
        mark a listing done while the links it led to are owed nowhere: a crash (or a worker's
        ``kill -9``) in that window lost the whole subtree. A child dropped on its way (by a
        later spider middleware) leaves the page owed: fetched again, never lost."""
        children = list(children)
        if not children:
            self.done(request)
            return
        entry = (request, children)
        for child in children:
            self._waiting[id(child)] = entry

    def placed(self, request) -> None:
        entry = self._waiting.pop(id(request), None)
        if entry is None:
            return
        page, children = entry
        children[:] = [c for c in children if c is not request]
        if not children:
            self.done(page)

    # -- done
    def done(self, request) -> None:
        self._done(request_urls(request))

    def _done(self, urls) -> None:
        if self.closed:
            return
        try:
            self.frontier.done(self.source, urls)
        except STORAGE_ERRORS as exc:
            stop_crawl(self.crawler, "state_write_failed", f"cannot write the crawl frontier: {exc}")
            return
        self.tracked.update(urls)

    # -- resume
    def owed_requests(self, spider):
        """Requests for what earlier crawls of this spider's site discovered and did not finish."""
        from urllib.parse import urlsplit

        base = getattr(spider, "base_url", None)
        home = urlsplit(base).netloc.removeprefix("www.") if base else None
        issued = elsewhere = 0
        for entry in self.frontier.owed(spider.name):
            if home is not None and urlsplit(entry.url).netloc.removeprefix("www.") != home:
                elsewhere += 1  # owed to another copy of the site (another --base-url): kept
                continue
            callback = getattr(spider, entry.callback, None)
            if callback is None:
                self.stats.inc_value("stenogram/frontier/unknown_callback")
                logger.warning("frontier: %s has no callback %r for %s; left owed", spider.name,
                               entry.callback, entry.url)
                continue
            issued += 1
            yield Request(entry.url, callback=callback, cb_kwargs=entry.cb_kwargs, meta=dict(entry.meta),
                          priority=entry.priority)
        if issued:
            self.stats.set_value("stenogram/frontier/reissued", issued)
            logger.info("frontier: %d owed URLs issued again", issued)
        if elsewhere:
            self.stats.set_value("stenogram/frontier/owed_elsewhere", elsewhere)

    # -- walks
    def walk_seen(self, walk: str) -> None:
        self.walks.add(walk)

    def walk_completed(self, walk: str) -> bool:
        return self.frontier.walk_completed(self.source, walk)


class _RecrawlComponent:
    """What both recrawl middlewares hold: the state table, the policy and the frontier of one
    crawler (``NotConfigured`` with ``RECRAWL_ENABLED = False``)."""

    def __init__(self, crawler):
        if not crawler.settings.getbool("RECRAWL_ENABLED"):
            raise NotConfigured
        self.crawler = crawler
        self.stats = crawler.stats
        self.state = crawl_state(crawler.settings)
        self.policy = RecrawlPolicy.from_settings(crawler.settings)
        self.frontier = frontier_keeper(crawler)


class RecrawlMiddleware(_RecrawlComponent):
    """Downloader middleware: applies :class:`RecrawlPolicy` and keeps the state table current.

    Place it early (order ~50): its ``process_request`` then runs before anything is sent, and
    its ``process_response`` runs last, after retries, redirects and interstitial checks, so
    only final answers are recorded. Spiders reach the state through ``spider.crawl_state``
    (set when the spider opens), e.g. to stop paging a listing once its items are all known.
    """

    def __init__(self, crawler):
        super().__init__(crawler)
        self.source = None

    @classmethod
    def from_crawler(cls, crawler):
        mw = cls(crawler)
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
            self._settled(request)
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
            self.crawler.signals.send_catch_log(page_not_modified, request=request,
                                                response=response, spider=self.crawler.spider)
            self._settled(request)
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
        if not 200 <= status < 300:
            self._settled(request)  # a final 4xx: archived, no callback will see it
        return response

    def _settled(self, request) -> None:
        if self.frontier is not None:
            self.frontier.done(request)

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
        # after the state row: a crash in between leaves the URL owed, and the rerun's filter
        # settles it (complete and not due) without fetching it
        self._settled(response.request or Request(response.url))
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
                self._settled(response.request or Request(response.url))
            except STORAGE_ERRORS as exc:
                stop_crawl(self.crawler, "state_write_failed", f"cannot write the crawl state: {exc}")

    @staticmethod
    def _digest(request, response) -> str:
        """SHA-1 of the decoded body: the same whether or not the WARC payload was compressed."""
        return "sha1:" + hashlib.sha1(response.body).hexdigest()


def crawl_state(settings):
    """The recrawl state: ``CRAWL_STATE_BACKEND`` (default :class:`CrawlState`, ``state.db``;
    ``stenogram crawl --redis`` shares one in Redis), any class with its methods."""
    backend = settings.get("CRAWL_STATE_BACKEND")
    return load_object(backend).from_settings(settings)


def frontier_keeper(crawler) -> FrontierKeeper | None:
    """The crawler's :class:`FrontierKeeper`, or None with ``FRONTIER_ENABLED = False``."""
    if not crawler.settings.getbool("FRONTIER_ENABLED"):
        return None
    return FrontierKeeper.for_crawler(crawler)


class RecrawlFilterMiddleware(_RecrawlComponent):
    """Spider middleware: drops requests for known URLs that are not due, before they are queued.

    Dropping them here rather than in the downloader keeps them out of the scheduler and out of
    the downloader's exception stats (a skipped page is not a download error). Each drop is
    counted (``stenogram/recrawl/skipped_not_due``) and logged at DEBUG; the downloader
    middleware still applies the policy to anything that reaches it.
    """

    @classmethod
    def from_crawler(cls, crawler):
        mw = cls(crawler)
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
        if self.frontier is not None:
            self.frontier.done(request)  # owed by a crawl that died after completing it
        return False

    async def process_start(self, start):
        """What earlier crawls left owed first, then the spider's own discovery."""
        try:
            if self.frontier is not None and self.crawler.spider is not None:
                for request in self.frontier.owed_requests(self.crawler.spider):
                    if self.keep(request):
                        yield request
            async for item_or_request in start:
                if self.keep(item_or_request):
                    yield item_or_request
        except STORAGE_ERRORS as exc:  # e.g. a shared Redis gone for good: one line, not a traceback
            stop_crawl(self.crawler, "state_write_failed", f"cannot read the crawl state: {exc}")

    # A page's items go out after its requests: the links it led to are owed (written to the
    # frontier) before the item can reach the corpus and settle the page. A page with no item
    # is settled once all it led to is scheduled.
    def process_spider_output(self, response, result):
        items, children = [], []
        try:
            for item_or_request in result:
                if not isinstance(item_or_request, Request):
                    items.append(item_or_request)
                elif self.keep(item_or_request):
                    children.append(item_or_request)
                    yield item_or_request
        except Exception:
            yield from items
            raise
        yield from items
        self._settle(response, items, children)

    async def process_spider_output_async(self, response, result):
        items, children = [], []
        try:
            async for item_or_request in result:
                if not isinstance(item_or_request, Request):
                    items.append(item_or_request)
                elif self.keep(item_or_request):
                    children.append(item_or_request)
                    yield item_or_request
        except Exception:
            for item in items:
                yield item
            raise
        for item in items:
            yield item
        self._settle(response, items, children)

    def _settle(self, response, items, children=()) -> None:
        if not items and self.frontier is not None and response is not None:
            # once what it led to is owed (FrontierKeeper.settle_after), not before
            self.frontier.settle_after(response.request or Request(response.url), children)
