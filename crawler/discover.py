"""``stenogram crawl --discover-from ARCHIVE``: a web archive's index as a live crawl's frontier.

robots.txt forbids listing pagination on mid.ru, so a live crawl sees page 1 of each listing,
the feeds and the links inside articles: never the back catalogue. A web archive's CDX index
lists the URLs it captured under a source's article prefixes; public collectors of the same
site enumerate older article URLs that way and then fetch each page *live*. This component does
the same, inside an ordinary crawl:

1. after the spider's own start requests, one CDX listing per URL prefix the source declares
   for backfills (``backfill_prefixes``; the query, the JSON answer in either server's form and
   the paging are :mod:`stenogram.crawler.cdx`'s), on the spider's own site;
2. every listed capture whose path the source calls an article (``backfill_path``, status 200,
   HTML) becomes a request for the **live** URL on the spider's own site
   (``parse_discovered``): it goes through the same scope, robots.txt, recrawl schedule,
   throttling and host budget as any other page of the site, and is archived in our own WARC
   with today's text;
3. a page the live site refuses (a ``DISCOVER_FALLBACK_STATUSES`` answer: 403/451 refused,
   404/410 gone; or an anti-bot wall that :class:`~stenogram.crawler.middlewares.
   InterstitialMiddleware` gave up on) is then fetched from the archive's copy,
   ``<archive>/<timestamp>id_/<original URL>`` (the newest capture the listing named), and
   carries ``via`` provenance exactly as a ``stenogram backfill`` capture does: the spider's
   ``provenance`` hook makes the archiver write the metadata record beside the response
   (``x-stenogram-original-url``, ``-original-date``, ``-archive``, ``-source``), and the item
   carries ``url`` (the original), ``archived_at`` and ``via``.

Requests to the archive (CDX listings, ``id_`` copies) do not ask the archive's robots.txt,
as ``stenogram backfill`` does not: they use the interfaces the archive publishes for programs,
at the spider's delay, one slot for the archive host. The CDX listing pages are discovery
(fetched on every crawl) and start again at depth 0 (``depth_reset``), so ``DEPTH_LIMIT``
bounds the links followed from an article, not how long the archive's listing is.

A source that declares no backfill patterns discovers nothing (one log line).
"""
from __future__ import annotations

import logging
import re
from urllib.parse import urlsplit, urlunsplit

from scrapy import Request, signals
from scrapy.exceptions import IgnoreRequest, NotConfigured

from stenogram.crawler import cdx
from stenogram.crawler.scope import origin

logger = logging.getLogger(__name__)

#: the spider callbacks this component's requests use (crawler/spiders/base.py)
LIVE_CALLBACK, ARCHIVED_CALLBACK, INDEX_CALLBACK = "parse_discovered", "parse_archived_copy", "parse_archive_index"
#: what InterstitialMiddleware's give-up says (``IgnoreRequest("interstitial <reason>: ...")``)
WALL_PREFIX = "interstitial"


def check_archive(archive: str, cdx_url: str | None, loopback_only: bool) -> None:
    """ValueError, in one line, for a bad ``--discover-from``/``--discover-cdx`` URL."""
    cdx.check_archive_urls({"--discover-from": archive, "--discover-cdx": cdx_url}, loopback_only,
                           "discovers")


def live_url(base_url: str, original: str) -> str:
    """The archived ``original`` URL on the spider's own site: its scheme and host, the
    original's path and query (the archive may list ``www.`` or an older scheme)."""
    base, parts = urlsplit(base_url), urlsplit(original)
    return urlunsplit((base.scheme, base.netloc, parts.path or "/", parts.query, ""))


class ArchiveDiscovery:
    """Spider middleware: the archive's article URLs join the crawl (see the module doc).

    On when ``DISCOVER_FROM`` names an archive's replay prefix. It starts the CDX listings
    after the spider's start requests, gives the spider's discovery callbacks what they need
    (``spider.discovery`` is this object) and re-arms the requests the frontier re-issues
    (their errback and accepted statuses are not part of a frontier entry).
    """

    def __init__(self, crawler):
        settings = crawler.settings
        archive = settings.get("DISCOVER_FROM")
        if not archive:
            raise NotConfigured
        self.crawler = crawler
        self.stats = crawler.stats
        self.archive = archive.rstrip("/")
        self.cdx_endpoint = settings.get("DISCOVER_CDX") or cdx.cdx_endpoint(self.archive)
        self.page_size = settings.getint("DISCOVER_CDX_PAGE_SIZE")
        self.fallback_statuses = [int(s) for s in settings.getlist("DISCOVER_FALLBACK_STATUSES")]
        self.spider = None
        #: per listing (prefix): the captures its pages named so far, to see a listing that
        #: does not advance (a page repeated, or empty, under ever-new resume keys)
        self.seen: dict[str, set[tuple[str, str]]] = {}

    @classmethod
    def from_crawler(cls, crawler):
        mw = cls(crawler)
        crawler.signals.connect(mw.spider_opened, signal=signals.spider_opened)
        return mw

    def spider_opened(self, spider):
        if not getattr(spider, "backfill_prefixes", ()) or not getattr(spider, "backfill_path", None):
            logger.info("discover: %s declares no archived URL patterns; nothing to discover in %s",
                        spider.name, self.archive)
            return
        self.spider = spider
        spider.discovery = self
        hosts = [origin(self.archive), origin(self.cdx_endpoint)]
        spider.allowed_hosts = tuple(dict.fromkeys((*spider.allowed_hosts, *hosts)))
        logger.info("discover: %s lists %s for article URLs of %s", spider.name, self.cdx_endpoint,
                    spider.base_url)

    # -- the start: the spider's own, then the archive's listings ---------------------------
    async def process_start(self, start):
        async for item_or_request in start:
            yield self.rearm(item_or_request)
        if self.spider is None:
            return
        for request in self.owed_copies():
            yield request
        for prefix in self.spider.backfill_prefixes:
            yield self.index_request(prefix)

    def owed_copies(self):
        """The archive's copies an earlier crawl owed (killed after the live page was refused,
        before the copy was in): the frontier re-issues only what is owed on the source's own
        host, and the live page, refused, is settled."""
        keeper = getattr(self.spider, "frontier", None)
        if keeper is None:
            return
        archive_host = origin(self.archive)
        for entry in keeper.frontier.owed(self.spider.name):
            if entry.callback != ARCHIVED_CALLBACK or origin(entry.url) != archive_host:
                continue
            self.stats.inc_value("stenogram/discover/owed_copies")
            yield Request(entry.url, callback=self.spider.parse_archived_copy, cb_kwargs=entry.cb_kwargs,
                          meta={**entry.meta, "dont_obey_robotstxt": True}, priority=entry.priority)

    def rearm(self, request):
        """A re-issued owed request of this component, given back its errback and meta."""
        if not isinstance(request, Request) or self.spider is None:
            return request
        name = getattr(request.callback, "__name__", None)
        if name == LIVE_CALLBACK:
            request.meta.setdefault("handle_httpstatus_list", list(self.fallback_statuses))
            if request.errback is None:
                request = request.replace(errback=self.spider.discovered_failed)
        elif name in (ARCHIVED_CALLBACK, INDEX_CALLBACK):
            request.meta.setdefault("dont_obey_robotstxt", True)
        return request

    # -- requests ---------------------------------------------------------------------------
    def index_request(self, prefix: str, resume_key: str | None = None, whole: bool = False) -> Request:
        """One page of the CDX listing of the spider's site under ``prefix``."""
        url = cdx.cdx_query(self.cdx_endpoint, self.spider.url(prefix),
                            limit=None if whole else self.page_size, resume_key=resume_key)
        return Request(url, callback=self.spider.parse_archive_index,
                       cb_kwargs={"prefix": prefix, "whole": whole},
                       meta={"discovery": True, "depth_reset": True, "dont_obey_robotstxt": True})

    def live_request(self, url: str, original: str, timestamp: str) -> Request:
        return Request(url, callback=self.spider.parse_discovered, errback=self.spider.discovered_failed,
                       cb_kwargs={"original": original, "timestamp": timestamp},
                       meta={"depth_reset": True, "handle_httpstatus_list": list(self.fallback_statuses)})

    def archived_request(self, url: str, original: str, timestamp: str, why: str) -> Request:
        """The archive's copy of the live ``url`` (listed as ``original`` at ``timestamp``)."""
        self.stats.inc_value("stenogram/discover/from_archive")
        self.stats.inc_value(f"stenogram/discover/from_archive/{why}")
        logger.info("discover: %s refused live (%s); taking the archive's copy of %s", url, why, timestamp)
        return Request(cdx.replay_url(self.archive, timestamp, original), callback=self.spider.parse_archived_copy,
                       cb_kwargs={"url": url, "timestamp": timestamp},
                       meta={"dont_obey_robotstxt": True})

    # -- what the spider's callbacks hand over ----------------------------------------------
    def read_index(self, response, prefix: str, whole: bool = False):
        """A CDX page: a live request per article URL it lists (the newest capture of each on
        this page names the archive's copy), then the next page."""
        try:
            page = cdx.parse_cdx(response.body)
        except cdx.CdxError as exc:
            self.stats.inc_value("stenogram/discover/cdx_unreadable")
            logger.error("discover: %s: the archive's CDX answer is unreadable: %s", response.url, exc)
            return
        self.stats.inc_value("stenogram/discover/cdx_pages")
        path_re = self.spider.backfill_path
        path_re = re.compile(path_re) if isinstance(path_re, str) else path_re
        newest: dict[str, cdx.CdxRow] = {}
        for row in page.rows:
            self.stats.inc_value("stenogram/discover/listed")
            if not self.of_the_site(row.original):
                self.stats.inc_value("stenogram/discover/off_site")
                logger.debug("discover: %s lists %r, not a URL of %s", response.url, row.original, self.spider.name)
                continue
            if not cdx.wanted(row) or not path_re.search(urlsplit(row.original).path):
                self.stats.inc_value("stenogram/discover/not_article")
                continue
            url = self.spider.canonical_url(live_url(self.spider.base_url, row.original))
            if url is None:
                self.stats.inc_value("stenogram/discover/not_article")
                continue
            if url not in newest or row.timestamp > newest[url].timestamp:
                newest[url] = row
        for url, row in newest.items():
            self.stats.inc_value("stenogram/discover/urls")
            yield self.live_request(url, row.original, row.timestamp)
        seen = self.seen.setdefault(prefix, set())
        fresh = {(row.urlkey, row.timestamp) for row in page.rows} - seen
        seen |= fresh
        if page.resume_key and not whole and not fresh:
            # the same key twice is dropped by the duplicate filter; new keys naming nothing new
            # would page for ever: stop, counted, one line
            self.stats.inc_value("stenogram/discover/cdx_stalled")
            logger.warning("discover: %s: a CDX page with a resume key named no capture not seen before "
                           "in this listing; not paging further", response.url)
        elif page.resume_key and not whole:
            yield self.index_request(prefix, resume_key=page.resume_key)
        elif cdx.needs_unpaged(page, None if whole else self.page_size):
            logger.info("discover: %s pages without resume keys; asking for the whole listing", self.cdx_endpoint)
            yield self.index_request(prefix, whole=True)

    def of_the_site(self, original: str) -> bool:
        """Is the archive's ``original`` an http(s) URL of this source (its own host or one of
        its live hosts, with or without ``www.``)? Parsed, not matched as a substring: a hostile
        index may list ``javascript:...//mid.ru/en/...`` or another site's URLs."""
        try:
            host = origin(original).removeprefix("www.")  # ScopeError (a ValueError): not http(s)
        except ValueError:
            return False
        own = {h.lower().removeprefix("www.") for h in (*self.spider.live_hosts, origin(self.spider.base_url))}
        return host in own

    def refused(self, response) -> bool:
        return response.status in self.fallback_statuses

    @staticmethod
    def walled(failure) -> bool:
        """The live page was an anti-bot wall to the end (InterstitialMiddleware gave up)."""
        exc = failure.value
        return type(exc) is IgnoreRequest and str(exc).startswith(WALL_PREFIX)

    def provenance(self, request, response) -> dict | None:
        """The facts of an archive's copy, in the fields ``BackfillSpider.provenance`` writes:
        the page it stands for (the live URL that was refused: on the source's own site by
        construction, whatever the archive's ``Link`` header says), the capture time as the
        archive says (``Memento-Datetime``) else as its listing named it, the archive, the
        source."""
        if getattr(request.callback, "__name__", None) != ARCHIVED_CALLBACK or response.status != 200:
            return None
        kwargs = request.cb_kwargs or {}
        original = kwargs.get("url")
        archived_at = (cdx.memento_iso(response.headers.get("Memento-Datetime"))
                       or cdx.timestamp_iso(kwargs.get("timestamp") or "0"))
        facts = {
            "x-stenogram-original-url": original,
            "x-stenogram-original-date": archived_at,
            "x-stenogram-archive": self.archive,
            "x-stenogram-source": self.spider.name,
        }
        request.meta["discover_provenance"] = facts
        return facts
