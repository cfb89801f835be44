"""Crawler traps: links that never run out, refused before they are owed, counted and logged.

A site can hand a crawler an endless supply of URLs without meaning harm: a directory calendar
whose every index links two deeper ones (``/2016/2017/2018/...``), a relative link that repeats
the path it sits in (``/a/b/a/b/a/b/...``), a listing of a million links, an article that links
fifty others which each link fifty more. Issue 23 measured what that cost before these rules:
3,310 calendar pages in 60 s with 5,625 more owed (and re-issued by every later cron run), and
3.5 GiB for one listing of 1,000,000 links.

:class:`TrapMiddleware` (a spider middleware) applies the bounds to every request a page yields,
*before* the crawl's frontier records it as owed (order it between ``ScopeSpiderMiddleware``,
960, and ``RecrawlFilterMiddleware``, 950). A request dropped later, by Scrapy's own
``DepthMiddleware`` (900) or ``UrlLengthMiddleware`` (800), would leave the page that yielded
it owed for ever, since a page is settled only once every request it led to is placed
(``crawler/recrawl.py``, ``FrontierKeeper.settle_after``); so this middleware applies Scrapy's
``DEPTH_LIMIT`` and ``URLLENGTH_LIMIT`` itself, with the same arithmetic, and Scrapy's
middlewares behind it find nothing left to drop. The rules:

* ``DEPTH_LIMIT`` (Scrapy's setting; the per-source depth budget, spiders set their own):
  a request one link deeper than the limit;
* ``URLLENGTH_LIMIT`` (Scrapy's setting): a longer URL;
* ``TRAP_MAX_PATH_SEGMENTS``: more path segments than that (Heritrix's
  ``TooManyPathSegmentsDecideRule``, default 20; ours is lower: no source's URL has more than 9);
* ``TRAP_MAX_PATH_REPEATS``: a run of one to four path segments repeated consecutively more
  than that many times (Heritrix's ``PathologicalPathDecideRule``, default 2, repeats single
  segments only; ``/a/b/a/b/a/b/`` is the same trap with a longer period);
* ``TRAP_MAX_DESCENTS``: more than that many directory descents in a row, each page a link one
  or more folders below the page that linked it (the calendar: no real index tree of our
  sources is more than three folders deep below where its spider starts);
* ``TRAP_MAX_LINKS_PER_PAGE``: requests taken from one page; the page's further output is not
  read at all (the spider's generator is closed), so a listing of a million links costs the
  links kept, not a million scheduled requests.

Every drop is counted under ``stenogram/traps/<rule>`` and the first of each rule per crawl is
logged at WARNING with its URL (the rest at DEBUG). The page budget is Scrapy's
``CLOSESPIDER_PAGECOUNT``: :class:`CrawlBudget` logs and counts its stop, which Scrapy's
CloseSpider extension makes with a single INFO line.

Owed requests from before (an earlier crawl without these rules, or with looser settings)
would be issued again by every later run: when the spider opens, :meth:`TrapMiddleware.sweep`
drops from the frontier every owed URL that a URL-only rule refuses (segments, repeats,
length), counted (``stenogram/traps/owed_dropped``) and logged once.
"""
from __future__ import annotations

import logging
from urllib.parse import urlsplit

from scrapy import Request, signals
from scrapy.exceptions import NotConfigured

from stenogram.crawler.shutdown import PageAbandoned, page_reader

logger = logging.getLogger(__name__)

STAT = "stenogram/traps"
#: meta key: how many directory descents in a row led to this request
DESCENTS = "trap_descents"
#: the longest run of path segments :func:`repeated_run` looks for (``/a/b/c/d/`` x 3)
MAX_PERIOD = 4


# -- rules on URLs alone ------------------------------------------------------------------------


def path_segments(url: str) -> list[str]:
    """The non-empty segments of ``url``'s path (``/a//b/`` -> ``["a", "b"]``)."""
    return [s for s in urlsplit(url).path.split("/") if s]


def repeated_run(segments: list[str], max_repeats: int) -> str | None:
    """The run of 1 to 4 segments that occurs more than ``max_repeats`` times in a row, as a
    path (``"a/b"``), or None. ``max_repeats`` 2 allows ``/a/a/`` and ``/a/b/a/b/``."""
    n = len(segments)
    for period in range(1, MAX_PERIOD + 1):
        needed = period * (max_repeats + 1)
        if needed > n:
            break
        for start in range(0, n - needed + 1):
            run = segments[start:start + period]
            if all(segments[start + k * period:start + (k + 1) * period] == run
                   for k in range(1, max_repeats + 1)):
                return "/".join(run)
    return None


class TrapRules:
    """The URL-only rules, from settings (also used to sweep the frontier)."""

    def __init__(self, max_segments: int, max_repeats: int, max_url_length: int):
        self.max_segments = max_segments
        self.max_repeats = max_repeats
        self.max_url_length = max_url_length

    @classmethod
    def from_settings(cls, settings) -> "TrapRules":
        return cls(settings.getint("TRAP_MAX_PATH_SEGMENTS"), settings.getint("TRAP_MAX_PATH_REPEATS"),
                   settings.getint("URLLENGTH_LIMIT"))

    def refusal(self, url: str) -> tuple[str, str] | None:
        """``(rule, detail)`` when ``url`` alone is a trap, else None."""
        if self.max_url_length and len(url) > self.max_url_length:
            return "url_length", f"{len(url)} characters > URLLENGTH_LIMIT {self.max_url_length}"
        segments = path_segments(url)
        if self.max_segments and len(segments) > self.max_segments:
            return "path_segments", f"{len(segments)} path segments > TRAP_MAX_PATH_SEGMENTS {self.max_segments}"
        if self.max_repeats and (run := repeated_run(segments, self.max_repeats)):
            return "path_repeats", f"/{run}/ repeated more than TRAP_MAX_PATH_REPEATS {self.max_repeats} times"
        return None


def descends(parent_url: str, child_url: str) -> bool:
    """True when ``child_url`` is in a folder below ``parent_url``'s folder (same host)."""
    parent, child = urlsplit(parent_url), urlsplit(child_url)
    if parent.netloc != child.netloc:
        return False
    folder = parent.path if parent.path.endswith("/") else parent.path.rsplit("/", 1)[0] + "/"
    child_folder = child.path if child.path.endswith("/") else child.path.rsplit("/", 1)[0] + "/"
    return child_folder != folder and child_folder.startswith(folder)


# -- the spider middleware ------------------------------------------------------------------------


class TrapMiddleware:
    """Drops requests that a trap rule refuses before they are owed (see the module docstring)."""

    def __init__(self, crawler):
        settings = crawler.settings
        if not settings.getbool("TRAP_ENABLED"):
            raise NotConfigured
        self.crawler = crawler
        self.stats = crawler.stats
        self.rules = TrapRules.from_settings(settings)
        self.max_depth = settings.getint("DEPTH_LIMIT")
        self.max_descents = settings.getint("TRAP_MAX_DESCENTS")
        self.max_links = settings.getint("TRAP_MAX_LINKS_PER_PAGE")
        self._logged: set[str] = set()

    @classmethod
    def from_crawler(cls, crawler):
        mw = cls(crawler)
        crawler.signals.connect(mw.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(mw.spider_closed, signal=signals.spider_closed)
        return mw

    # -- the rules on one request
    def refusal(self, response, request) -> tuple[str, str] | None:
        if why := self.rules.refusal(request.url):
            return why
        depth = (response.meta.get("depth", 0) if response is not None else 0) + 1
        if self.max_depth and depth > self.max_depth:
            return "depth", f"depth {depth} > DEPTH_LIMIT {self.max_depth}"
        if response is not None and self.max_descents:
            descents = response.meta.get(DESCENTS, 0) + 1 if descends(response.url, request.url) else 0
            if descents > self.max_descents:
                return "descents", f"{descents} folder descents in a row > TRAP_MAX_DESCENTS {self.max_descents}"
            if descents:
                request.meta[DESCENTS] = descents
        return None

    def drop(self, rule: str, detail: str, url: str, page: str | None) -> None:
        self.stats.inc_value(STAT)
        self.stats.inc_value(f"{STAT}/{rule}")
        via = f" (linked from {page})" if page else ""
        if rule not in self._logged:
            self._logged.add(rule)
            logger.warning("crawler trap, not followed (%s): %s%s; further drops by this rule are counted "
                           "as %s/%s", detail, url, via, STAT, rule)
        else:
            logger.debug("crawler trap, not followed (%s): %s%s", detail, url, via)

    # -- spider output
    def _take(self, response, taken: int, item) -> tuple[bool, bool]:
        """(keep it, stop reading the page)."""
        if not isinstance(item, Request):
            return True, False
        if self.max_links and taken >= self.max_links:
            self.stats.inc_value(f"{STAT}/links_per_page")
            if "links_per_page" not in self._logged:
                self._logged.add("links_per_page")
                logger.warning("crawler trap: %s yields more than TRAP_MAX_LINKS_PER_PAGE %d requests; the rest "
                               "of the page is not read (counted as %s/links_per_page per page)",
                               response.url if response is not None else "?", self.max_links, STAT)
            else:
                logger.debug("more than %d links on %s: the rest not read", self.max_links, response.url)
            return False, True
        if why := self.refusal(response, item):
            self.drop(*why, item.url, response.url if response is not None else None)
            return False, False
        return True, False

    @page_reader
    def process_spider_output(self, response, result):
        """The page's requests up to the cap, each through the rules. A :func:`page_reader`:
        Ctrl-C stops a long parse at once (crawler/shutdown.py); what the page yielded until then
        is kept, and its unread links are found again by the next crawl's discovery."""
        taken, items = 0, iter(result)
        try:
            for item in items:
                keep, stop = self._take(response, taken, item)
                if stop:
                    break
                if keep:
                    taken += isinstance(item, Request)
                    yield item
        except PageAbandoned:
            self._abandoned(response)
        _close(items)

    @page_reader
    async def process_spider_output_async(self, response, result):
        taken = 0
        try:
            async for item in result:
                keep, stop = self._take(response, taken, item)
                if stop:
                    break
                if keep:
                    taken += isinstance(item, Request)
                    yield item
        except PageAbandoned:
            self._abandoned(response)
        aclose = getattr(result, "aclose", None)
        if aclose is not None:
            try:
                await aclose()
            except Exception:  # noqa: BLE001 - the spider's own clean-up; one page, not the crawl
                logger.debug("closing the output of a page raised", exc_info=True)

    def _abandoned(self, response) -> None:
        self.stats.inc_value("stenogram/shutdown/pages_abandoned")
        logger.warning("interrupted while reading %s: the rest of the page is not read",
                       response.url if response is not None else "?")

    # -- the frontier: owed URLs that are traps
    def spider_opened(self, spider):
        self.sweep(spider)

    def sweep(self, spider) -> int:
        """Drop from the frontier the owed URLs of ``spider`` that a URL-only rule refuses (an
        earlier crawl owed them before these rules, or under looser settings): they are settled
        (``Frontier.done``), so no later run issues them again. Counted and logged once."""
        keeper = getattr(self.crawler, "_stenogram_frontier", None)
        if keeper is None:
            return 0
        traps, rules = [], {}
        for entry in keeper.frontier.owed(spider.name):
            if why := self.rules.refusal(entry.url):
                traps.append(entry.url)
                rules[why[0]] = rules.get(why[0], 0) + 1
        if not traps:
            return 0
        keeper.frontier.done(spider.name, traps)
        self.stats.set_value(f"{STAT}/owed_dropped", len(traps))
        logger.warning("frontier: dropped %d owed URL(s) of %s that are crawler traps (%s), e.g. %s",
                       len(traps), spider.name, ", ".join(f"{r}: {n}" for r, n in sorted(rules.items())), traps[0])
        return len(traps)

    def spider_closed(self, spider, reason):
        dropped = self.stats.get_value(STAT, 0) + self.stats.get_value(f"{STAT}/links_per_page", 0)
        if dropped:
            rules = {k[len(STAT) + 1:]: v for k, v in self.stats.get_stats().items()
                     if k.startswith(f"{STAT}/") and k != f"{STAT}/owed_dropped"}
            logger.warning("%s: %d link(s) not followed as crawler traps (%s)", spider.name, dropped,
                           ", ".join(f"{r}: {n}" for r, n in sorted(rules.items())))


def _close(items) -> None:
    """Close the spider's generator (its ``finally`` blocks run); a page that raises while
    closing is one page lost, logged, not a crawl stopped."""
    close = getattr(items, "close", None)
    if close is not None:
        try:
            close()
        except Exception:  # noqa: BLE001 - the spider's own code, run to clean up
            logger.debug("closing the output of a page raised", exc_info=True)


# -- the page budget ---------------------------------------------------------------------------


class CrawlBudget:
    """Says so, loudly, when a source's page budget (Scrapy's ``CLOSESPIDER_PAGECOUNT``) stopped
    its crawl: Scrapy's CloseSpider extension closes the spider with reason
    ``closespider_pagecount`` and one INFO line. This extension adds a WARNING naming the budget
    and what stays owed, and the stat ``stenogram/budget/pages_reached``; the requests not
    fetched stay owed in the frontier, so the next crawl goes on from there."""

    REASON = "closespider_pagecount"

    def __init__(self, crawler):
        self.crawler = crawler
        self.budget = crawler.settings.getint("CLOSESPIDER_PAGECOUNT")
        if not self.budget:
            raise NotConfigured

    @classmethod
    def from_crawler(cls, crawler):
        ext = cls(crawler)
        crawler.signals.connect(ext.spider_closed, signal=signals.spider_closed)
        return ext

    def spider_closed(self, spider, reason):
        if reason != self.REASON:
            return
        self.crawler.stats.set_value("stenogram/budget/pages_reached", self.budget)
        keeper = getattr(self.crawler, "_stenogram_frontier", None)
        owed = ""
        if keeper is not None:
            try:
                owed = f"; {keeper.frontier.count(spider.name)} URL(s) stay owed for the next crawl"
            except Exception:  # noqa: BLE001 - the frontier may be closed already; the count is a courtesy
                owed = ""
        logger.warning("%s stopped at its page budget: CLOSESPIDER_PAGECOUNT %d pages%s", spider.name,
                       self.budget, owed)
