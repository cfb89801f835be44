"""backfill: the sources' pages as web archives kept them, through the CDX API and ``id_``.

The live sites serve only what they still publish; the Wayback Machine (or any archive that
speaks the CDX server API and the ``id_`` replay modifier: a pywb, an institution's own) kept
pages since removed or rewritten. This spider is a crawl like the others, run by the same
runner with the same machinery: every exchange with the archive is written to WARC by
:mod:`stenogram.crawler.archiving`, retries and ``Retry-After`` are the middlewares', every
request is owed in the frontier of ``state.db`` until its page is archived and ingested, and
items go through the same corpus pipeline.

What is different is only what the requests are:

1. a CDX listing per source and URL prefix the source declares (``backfill_prefixes`` on its
   spider class), status 200 and HTML only, paged (``parse_cdx``); each listed capture whose
   path the source calls a transcript (``backfill_path``) and whose URL and payload digest were
   not claimed before (:class:`stenogram.crawler.cdx.CaptureLedger`) becomes
2. a fetch of its raw bytes, ``<archive>/<timestamp>id_/<original URL>`` (``parse_capture``).

Provenance: the WARC holds our exchange with the archive (its URL, our time); right beside the
response, :meth:`BackfillSpider.provenance` has the archiver write a metadata record naming the
original URL, the original capture time (``Memento-Datetime``), the archive and the source,
and the item carries the same three facts to the corpus (``url``, ``archived_at``, ``via``).
``stenogram reprocess`` reads that record back (:mod:`stenogram.archive.reader`), so a corpus
rebuilt from the WARCs has the same rows.

Resuming: a CDX page's next page is owed (in the frontier) before the page is settled, and a
walk whose page is owed is not started again; each capture request stays owed until its item
is in the corpus. An archived capture never changes, so a capture fetched once is never due
again (``RECRAWL_SCHEDULE`` of this spider); a rerun lists again and fetches only what is new.

Politeness: one request at a time, ``BACKFILL_DELAY`` seconds apart, ``Retry-After`` honoured
by :class:`~stenogram.crawler.middlewares.RetryAfterMiddleware`; when ``BACKFILL_REFUSALS_MAX``
answers in a row are refusals (429/503, each after its wait), the spider stops with reason
``archive_refused``: what was not fetched stays owed for the next run.
"""
from __future__ import annotations

import logging
import re
from urllib.parse import urlsplit

import scrapy
from stenogram.crawler import cdx
from stenogram.crawler.spiders.base import TranscriptSpider

logger = logging.getLogger(__name__)

#: closing reason when the archive keeps refusing (``stenogram backfill`` exits 69)
ARCHIVE_REFUSED = "archive_refused"
REFUSAL_STATUSES = (429, 503)


class BackfillSpider(TranscriptSpider):
    """Captures of the sources' transcript pages from a web archive (CDX API + ``id_``)."""

    name = "backfill"
    default_base_url = cdx.WAYBACK_REPLAY
    live_hosts = ("web.archive.org",)
    custom_settings = {
        # one request at a time to the archive, whatever the per-domain setting says
        "CONCURRENT_REQUESTS": 1,
        "CONCURRENT_REQUESTS_PER_DOMAIN": 1,
        # robots.txt is not what governs this: the original site is never contacted (its
        # robots.txt has no say over an archive's copy), and the archive is used only through
        # the APIs it publishes for programs (CDX, id_ replay); politeness is the delay, one
        # request at a time and Retry-After. The warcinfo record says "robots: ignore".
        "ROBOTSTXT_OBEY": False,
        # an archived capture never changes: once fetched and ingested, never due again
        "RECRAWL_SCHEDULE": "*:36500",
        "RECRAWL_UNDATED_INTERVAL_DAYS": 36500,
        # the CDX listing is a chain of resume keys as long as the archive's list: bounded by the
        # page budget (CLOSESPIDER_PAGECOUNT), not by depth (crawler/traps.py)
        "DEPTH_LIMIT": 0,
    }

    @classmethod
    def update_settings(cls, settings):
        """``BACKFILL_DELAY`` is the delay between requests (``-s DOWNLOAD_DELAY`` still wins)."""
        super().update_settings(settings)
        delay = settings.getfloat("BACKFILL_DELAY")
        for key in ("DOWNLOAD_DELAY", "AUTOTHROTTLE_START_DELAY"):
            settings.set(key, delay, priority="spider")

    def __init__(self, base_url: str | None = None, sources: str = "", site_urls: str = "",
                 from_ts: str | None = None, to_ts: str | None = None, list_only: str | bool = False,
                 cdx_url: str | None = None, *args, **kwargs):
        super().__init__(base_url, *args, **kwargs)
        self.archive = self.base_url
        self.cdx_endpoint = cdx_url or cdx.cdx_endpoint(self.archive)
        cdx_host = urlsplit(self.cdx_endpoint).netloc
        if cdx_host and cdx_host not in self.allowed_hosts:
            self.allowed_hosts = (*self.allowed_hosts, cdx_host)
        self.source_names = [s.strip() for s in sources.split(",") if s.strip()]
        #: the sources' own base URLs, when not the live sites ("src=url,src=url")
        self.site_urls = dict(p.split("=", 1) for p in site_urls.split(",") if "=" in p)
        self.from_ts = cdx.normalise_bound(from_ts, "from")
        self.to_ts = cdx.normalise_bound(to_ts, "to")
        self.list_only = str(list_only).lower() in ("1", "true", "yes")
        self.refusals = 0
        self.listing: dict[str, dict] = {}  # --list: per source, what would be fetched
        self.ledger: cdx.CaptureLedger | None = None
        self.source_classes: dict = {}
        self.known = None  # --list: the crawl state of earlier runs, read-only

    @classmethod
    def from_crawler(cls, crawler, *args, **kwargs):
        spider = super().from_crawler(crawler, *args, **kwargs)
        from scrapy.spiderloader import SpiderLoader

        loader = SpiderLoader.from_settings(crawler.settings)
        for name in spider.source_names or spider.backfill_sources(loader):
            spider.source_classes[name] = loader.load(name)
        spider.page_size = crawler.settings.getint("BACKFILL_CDX_PAGE_SIZE")
        spider.refusals_max = crawler.settings.getint("BACKFILL_REFUSALS_MAX")
        spider.delay = crawler.settings.getfloat("DOWNLOAD_DELAY")
        from stenogram.crawler.state import CrawlState, state_path

        if not spider.list_only:
            spider.ledger = cdx.CaptureLedger(state_path(crawler.settings))
        elif state_path(crawler.settings).exists():  # --list: what earlier runs fetched is not owed
            spider.known = CrawlState(state_path(crawler.settings), readonly=True)
        crawler.signals.connect(spider._opened, signal=scrapy.signals.spider_opened)
        crawler.signals.connect(spider._closed, signal=scrapy.signals.spider_closed)
        crawler.signals.connect(spider.response_downloaded, signal=scrapy.signals.response_downloaded)
        return spider

    @staticmethod
    def backfill_sources(loader) -> list[str]:
        """Every source whose spider declares URL patterns for a backfill."""
        return [n for n in sorted(loader.list()) if getattr(loader.load(n), "backfill_prefixes", ())]

    def _opened(self, spider):
        self.crawler.stats.set_value("stenogram/backfill/delay", self.delay)

    def _closed(self, spider, reason):
        stats = self.crawler.stats
        for source, listing in self.listing.items():
            stats.set_value(f"stenogram/backfill/list/{source}/listed", listing["listed"])
            stats.set_value(f"stenogram/backfill/list/{source}/captures", len(listing["captures"]))
        keeper = getattr(self, "frontier", None)
        try:
            if keeper is not None and not keeper.closed:
                stats.set_value("stenogram/backfill/owed_at_close", keeper.frontier.count(self.name))
        except Exception:  # only a figure for the closing message
            logger.debug("backfill: could not count what is owed", exc_info=True)
        for db in (self.ledger, self.known):
            if db is not None:
                db.close()

    # -- the queries -----------------------------------------------------------------------
    def queries(self) -> list[tuple[str, str]]:
        """(source, URL prefix) for every listing to ask the archive for."""
        out = []
        for name, spidercls in self.source_classes.items():
            if name in self.site_urls:  # another copy of the site (the sample site)
                bases = [self.site_urls[name]]
            else:  # the live site, and hosts it had before (mid.ru's Domino documents)
                bases = [spidercls.default_base_url, *getattr(spidercls, "backfill_hosts", ())]
            for base in bases:
                for prefix in spidercls.backfill_prefixes:
                    out.append((name, base.rstrip("/") + prefix))
        return out

    def cdx_request(self, source: str, prefix: str, resume_key: str | None = None,
                    whole: bool = False) -> scrapy.Request:
        url = cdx.cdx_query(self.cdx_endpoint, prefix, limit=None if whole else self.page_size,
                            resume_key=resume_key, from_ts=self.from_ts, to_ts=self.to_ts)
        walk = cdx.cdx_query(self.cdx_endpoint, prefix, limit=self.page_size,
                             from_ts=self.from_ts, to_ts=self.to_ts)
        return scrapy.Request(url, callback=self.parse_cdx,
                              cb_kwargs={"source": source, "prefix": prefix, "whole": whole},
                              meta={"discovery": True, "walk": walk}, dont_filter=True)

    async def start(self):
        owed_walks = set()
        keeper = getattr(self, "frontier", None)
        if keeper is not None and not self.list_only:
            owed_walks = {e.meta.get("walk") for e in keeper.frontier.owed(self.name)
                          if e.callback == "parse_cdx"}
        for source, prefix in self.queries():
            request = self.cdx_request(source, prefix)
            if request.meta["walk"] in owed_walks:
                logger.info("backfill: resuming the listing of %s where it stopped", prefix)
                continue  # its next page is owed: the frontier issues it
            yield request

    def parse_cdx(self, response, source: str, prefix: str, whole: bool = False):
        try:
            page = cdx.parse_cdx(response.body)
        except cdx.CdxError as exc:
            self.crawler.stats.inc_value("stenogram/backfill/cdx_unreadable")
            logger.error("backfill: %s: the archive's CDX answer is unreadable: %s", response.url, exc)
            return
        self.crawler.stats.inc_value("stenogram/backfill/cdx_pages")
        spidercls = self.source_classes[source]
        path_re = re.compile(spidercls.backfill_path) if isinstance(spidercls.backfill_path, str) \
            else spidercls.backfill_path
        listing = self.listing.setdefault(source, {"listed": 0, "captures": set()})
        for row in page.rows:
            listing["listed"] += 1
            if not cdx.wanted(row) or not path_re.search(urlsplit(row.original).path):
                self.crawler.stats.inc_value("stenogram/backfill/not_transcript_url")
                continue
            if self.list_only:
                url = cdx.replay_url(self.archive, row.timestamp, row.original)
                if self.known is None or not self.known.known(url):
                    listing["captures"].add((row.urlkey, row.digest or row.timestamp))
                continue
            if not self.ledger.claim(self.archive, row, source):
                self.crawler.stats.inc_value("stenogram/backfill/collapsed")
                continue
            self.crawler.stats.inc_value("stenogram/backfill/captures_listed")
            yield scrapy.Request(
                cdx.replay_url(self.archive, row.timestamp, row.original),
                callback=self.parse_capture,
                cb_kwargs={"source": source, "original": row.original, "timestamp": row.timestamp})
        if page.resume_key and not whole:
            yield self.cdx_request(source, prefix, resume_key=page.resume_key)
        elif cdx.needs_unpaged(page, None if whole else self.page_size):
            logger.info("backfill: %s pages without resume keys; asking for the whole listing",
                        self.cdx_endpoint)
            yield self.cdx_request(source, prefix, whole=True)

    # -- the captures ----------------------------------------------------------------------
    def provenance(self, request, response) -> dict | None:
        """The facts the WARC's metadata record states beside an archived capture (called by
        the archiver for each response) and that the item carries to the corpus: the original
        URL and capture time as the archive says (``Link: rel=original``, ``Memento-Datetime``),
        else as we asked for them; the archive; the source."""
        if request.callback != self.parse_capture or response.status != 200:
            return None
        kwargs = request.cb_kwargs or {}
        asked = cdx.split_replay_url(response.url) or (kwargs.get("timestamp"), kwargs.get("original"))
        original = cdx.link_original(response.headers.get("Link")) or asked[1] or kwargs.get("original")
        archived_at = (cdx.memento_iso(response.headers.get("Memento-Datetime"))
                       or cdx.timestamp_iso(asked[0] or kwargs["timestamp"]))
        facts = {
            "x-stenogram-original-url": original,
            "x-stenogram-original-date": archived_at,
            "x-stenogram-archive": self.archive,
            "x-stenogram-source": kwargs.get("source"),
        }
        request.meta["backfill_provenance"] = facts
        return facts

    def parse_capture(self, response, source: str, original: str, timestamp: str):
        facts = response.meta.get("backfill_provenance") or self.provenance(response.request, response)
        item = self.page_item(response)
        item["url"] = facts["x-stenogram-original-url"]
        item["source"] = source
        item["archived_at"] = facts["x-stenogram-original-date"]
        item["via"] = self.archive
        yield item

    def response_downloaded(self, response, request, spider):
        """Every answer off the wire, retried or not: count refusals in a row, and stop when
        ``BACKFILL_REFUSALS_MAX`` follow each other. Each came after the wait the archive asked
        for (``Retry-After``, else the retry backoff): one request at a time, nothing is sent
        while a wait runs, and a retry goes behind the other queued requests, so refusals of
        different captures are what follow each other. Only a capture served ends a run of
        refusals: a CDX listing answered in between does not show the archive serves again."""
        if response.status not in REFUSAL_STATUSES:
            if response.status == 200 and request.callback == self.parse_capture:
                self.refusals = 0
            return
        self.refusals += 1
        self.crawler.stats.inc_value("stenogram/backfill/refused")
        if self.refusals >= self.refusals_max:
            from stenogram.crawler.storage import stop_crawl

            self.crawler.stats.set_value("stenogram/backfill/refused_in_a_row", self.refusals)
            stop_crawl(self.crawler, ARCHIVE_REFUSED,
                       f"the archive refused {self.refusals} requests in a row (HTTP "
                       f"{response.status}); what was not fetched stays owed for the next run")
