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
import sqlite3
from urllib.parse import urljoin, urlsplit

import scrapy
from scrapy.spidermiddlewares.base import BaseSpiderMiddleware
from w3lib.html import get_base_url

from stenogram.corpus.urls import url_key
from stenogram.crawler import cdx
from stenogram.crawler.paths import data_paths
from stenogram.crawler.scope import origin, source_url_refusal
from stenogram.crawler.spiders.base import TranscriptSpider

logger = logging.getLogger(__name__)

#: closing reason when the archive keeps refusing (``stenogram backfill`` exits 69)
ARCHIVE_REFUSED = "archive_refused"
#: closing reason when a CDX listing cannot be read at all (refused connection, no answer,
#: an HTTP error after the retries): nothing can be listed (``stenogram backfill`` exits 69)
ARCHIVE_UNAVAILABLE = "archive_unavailable"
#: answers that count as a refusal: rate limiting and every server error (a 5xx storm)
REFUSAL_STATUSES = frozenset({429, *range(500, 600)})
#: redirects from the archive followed for one capture (the closest capture is one hop away)
MEMENTO_HOPS = 3
REDIRECTS = [301, 302, 303, 307, 308]


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
        # every request of this spider, the frontier's re-issued ones included, gets the
        # spider's errback (BackfillErrbacks): a listing that cannot be read is a clean stop
        middlewares = dict(settings.getdict("SPIDER_MIDDLEWARES"))
        middlewares[f"{__name__}.BackfillErrbacks"] = 100
        settings.set("SPIDER_MIDDLEWARES", middlewares, priority="spider")

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
        self.walks: dict[tuple[str, str], cdx.CdxWalk] = {}  # (source, prefix) -> its listing
        self.hosts: dict[str, tuple[str, ...]] = {}  # source -> hosts its archived URLs may have
        self.corpus_db: sqlite3.Connection | None = None  # read-only, opened at the first capture

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
        for db in (self.ledger, self.known, self.corpus_db):
            if db is not None:
                db.close()

    # -- the queries -----------------------------------------------------------------------
    def bases(self, name: str, spidercls) -> list[str]:
        """The site roots whose captures are listed for a source: another copy of the site when
        given (the sample site), else the live site and the hosts it had before."""
        if name in self.site_urls:
            return [self.site_urls[name]]
        return [spidercls.default_base_url, *getattr(spidercls, "backfill_hosts", ())]

    def source_hosts(self, name: str) -> tuple[str, ...]:
        """The hosts an archived URL of the source may have (scope.source_url_refusal): those
        of the roots listed, and for each its form with and without ``www.``, since a CDX
        server's URL key drops ``www.`` (SURT) and lists both under one prefix."""
        if name not in self.hosts:
            spidercls = self.source_classes[name]
            hosts = [origin(base) for base in self.bases(name, spidercls)]
            if name not in self.site_urls:
                hosts += list(getattr(spidercls, "live_hosts", ()))
            hosts += [h.removeprefix("www.") if h.startswith("www.") else f"www.{h}" for h in hosts]
            self.hosts[name] = tuple(dict.fromkeys(hosts))
        return self.hosts[name]

    def source_path(self, name: str):
        pattern = self.source_classes[name].backfill_path
        return re.compile(pattern) if isinstance(pattern, str) else pattern

    def queries(self) -> list[tuple[str, str]]:
        """(sources, URL prefix) for every listing to ask the archive for: ``sources`` is the
        comma-joined names of the sources whose pages the listing may hold. Prefixes the CDX
        server reads as one (the same SURT key: ``https://mid.ru/ru/...`` and
        ``https://www.mid.ru/ru/...``, where Bitrix and Liferay pages live) are listed once."""
        listings: dict[str, tuple[list[str], str]] = {}
        for name, spidercls in self.source_classes.items():
            for base in self.bases(name, spidercls):
                for prefix in spidercls.backfill_prefixes:
                    url = base.rstrip("/") + prefix
                    names, _ = listings.setdefault(cdx.prefix_key(url), ([], url))
                    if name not in names:
                        names.append(name)
        return [(",".join(names), url) for names, url in listings.values()]

    def walk(self, source: str, prefix: str) -> cdx.CdxWalk:
        """The listing of ``prefix`` (one per source and prefix, kept across its pages)."""
        key = (source, prefix)
        if key not in self.walks:
            self.walks[key] = cdx.CdxWalk(self.cdx_endpoint, prefix, limit=self.page_size,
                                          from_ts=self.from_ts, to_ts=self.to_ts)
        return self.walks[key]

    def cdx_request(self, source: str, prefix: str, resume_key: str | None = None,
                    whole: bool = False) -> scrapy.Request:
        walk = self.walk(source, prefix)
        kwargs = {"source": source, "prefix": prefix, "whole": whole}
        if resume_key:
            kwargs["resume_key"] = resume_key
        return scrapy.Request(walk.query(resume_key, whole), callback=self.parse_cdx, cb_kwargs=kwargs,
                              meta={"discovery": True, "walk": walk.first}, dont_filter=True)

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

    def parse_cdx(self, response, source: str, prefix: str, whole: bool = False,
                  resume_key: str | None = None):
        stats = self.crawler.stats
        try:
            page = cdx.parse_cdx(response.body)
        except cdx.CdxError as exc:
            stats.inc_value("stenogram/backfill/cdx_unreadable")
            self.listing_stopped("unreadable", prefix, f"the answer is not a CDX listing: {exc}")
            return
        walk = self.walk(source, prefix)
        try:
            step = walk.advance(page, resume_key, whole)
        except cdx.ListingBroken as exc:
            self.listing_stopped(exc.reason, prefix, str(exc))
            return
        stats.inc_value("stenogram/backfill/cdx_pages")
        names = source.split(",")
        for row in page.rows:
            owner, refusal = self.owner(names, row.original)
            self.listing.setdefault(owner or names[0], {"listed": 0, "captures": set()})["listed"] += 1
            if refusal not in (None, "path"):
                self.refuse_url("cdx", row.original, refusal)
                continue
            if refusal == "path" or not cdx.wanted(row):
                stats.inc_value("stenogram/backfill/not_transcript_url")
                continue
            listing = self.listing[owner or names[0]]
            if cdx.mimetype_of(row) == "warc/revisit":
                stats.inc_value("stenogram/backfill/revisits_listed")
            if self.list_only:
                url = cdx.replay_url(self.archive, row.timestamp, row.original)
                if self.known is None or not self.known.known(url):
                    listing["captures"].add((row.urlkey, row.digest or row.timestamp))
                continue
            assert self.ledger is not None  # opened with the spider (_opened)
            if not self.ledger.claim(self.archive, row, owner or names[0]):
                stats.inc_value("stenogram/backfill/collapsed")
                continue
            stats.inc_value("stenogram/backfill/captures_listed")
            yield scrapy.Request(
                cdx.replay_url(self.archive, row.timestamp, row.original),
                callback=self.parse_capture,
                cb_kwargs={"source": owner, "original": row.original, "timestamp": row.timestamp})
        if step is None:
            return
        if step.whole:
            logger.info("backfill: %s pages without resume keys; asking for the whole listing",
                        self.cdx_endpoint)
        yield self.cdx_request(source, prefix, resume_key=step.resume_key, whole=step.whole)

    def owner(self, names: list[str], url) -> tuple[str | None, str | None]:
        """The source whose page ``url`` is, checked by :func:`scope.source_url_refusal`; else
        None and why: ``path`` (a URL of the source, not a transcript) unless some source
        refused it for more than its path (scheme, host, characters: not a URL of the site)."""
        refusals = []
        for name in names:
            refusal = source_url_refusal(url, self.source_hosts(name), self.source_path(name))
            if refusal is None:
                return name, None
            refusals.append(refusal)
        return None, next((r for r in refusals if r != "path"), "path")

    def listing_stopped(self, reason: str, prefix: str, message: str) -> None:
        """A listing the archive broke: stopped here, counted, said once; the rest goes on.

        What its pages listed before is fetched; a rerun lists it again from its start (the
        ledger keeps the captures already claimed), so nothing is lost by stopping."""
        stats = self.crawler.stats
        stats.inc_value("stenogram/backfill/cdx_broken")
        stats.inc_value(f"stenogram/backfill/cdx_broken/{reason}")
        line = f"the archive's listing of {prefix} stopped: {message}"
        if not stats.get_value("stenogram/backfill/cdx_broken_message"):
            stats.set_value("stenogram/backfill/cdx_broken_message", line)
        logger.error("backfill: %s", line)

    def refuse_url(self, where: str, url, reason: str) -> None:
        """A URL from the archive that is not one of the source's pages: skipped, counted, logged."""
        self.crawler.stats.inc_value("stenogram/backfill/refused_url")
        self.crawler.stats.inc_value(f"stenogram/backfill/refused_url/{reason}")
        logger.warning("backfill: refused a URL from the archive's %s (%s): %.200r", where, reason, url)

    # -- the captures ----------------------------------------------------------------------
    def provenance(self, request, response) -> dict | None:
        """The facts the WARC's metadata record states beside an archived capture (called by
        the archiver for each response) and that the item carries to the corpus: the original
        URL (the CDX row's, which the capture stands for: a URL-agnostic revisit replays the
        payload of another URL under this one), the capture time as the archive says
        (``Memento-Datetime``, else as we asked for it), the archive, the source.

        Every URL the archive names for the capture (the row's, ``Link: rel="original"``, the
        original inside the replay URL it redirected to) must be one of the source's pages
        (:func:`stenogram.crawler.scope.source_url_refusal`); a capture where one is not gets
        no record and no item (``backfill_refused``), counted and logged."""
        if request.callback != self.parse_capture or response.status != 200:
            return None
        kwargs = request.cb_kwargs or {}
        source = kwargs["source"]  # both requests to parse_capture name it
        asked = cdx.split_replay_url(response.url) or (kwargs.get("timestamp"), kwargs.get("original"))
        hosts, path_re = self.source_hosts(source), self.source_path(source)
        named = [("cdx", kwargs.get("original")), ("replay URL", asked[1]),
                 ("Link header", cdx.link_original(response.headers.get("Link")))]
        for where, url in named:
            if url is None and where == "Link header":
                continue
            refusal = source_url_refusal(url, hosts, path_re)
            if refusal is not None:
                request.meta["backfill_refused"] = True
                self.refuse_url(where, url, refusal)
                return None
        original = kwargs.get("original") or asked[1]
        archived_at = (cdx.memento_iso(response.headers.get("Memento-Datetime"))
                       or cdx.timestamp_iso(asked[0] or kwargs["timestamp"]))
        if original is not None and self.in_corpus(original, archived_at):
            request.meta["backfill_refused"] = True  # no record, no item: the corpus has it
            self.crawler.stats.inc_value("stenogram/backfill/already_in_corpus")
            return None
        facts = {
            "x-stenogram-original-url": original,
            "x-stenogram-original-date": archived_at,
            "x-stenogram-archive": self.archive,
            "x-stenogram-source": source,
        }
        request.meta["backfill_provenance"] = facts
        return facts

    def parse_capture(self, response, source: str, original: str, timestamp: str):
        if 300 <= response.status < 400:
            yield from self.follow_memento(response, source, original)
            return
        if response.meta.get("backfill_refused"):
            return
        facts = response.meta.get("backfill_provenance") or self.provenance(response.request, response)
        if facts is None:
            return
        item = self.page_item(response)
        item["url"] = facts["x-stenogram-original-url"]
        # links on the page as the original site had them: an id_ replay is not rewritten, so a
        # root-relative link means the original host, not the archive's
        base = get_base_url(response.text, item["url"]) if hasattr(response, "text") else item["url"]
        item["outlinks"] = sorted({urljoin(base, h) for h in response.css("a::attr(href)").getall()})
        item["source"] = source
        item["archived_at"] = facts["x-stenogram-original-date"]
        item["via"] = self.archive
        yield item

    def in_corpus(self, original: str, archived_at: str) -> bool:
        """Does the corpus hold this capture from this archive already? A run killed after its
        item was committed and before its request was settled fetches it again on the rerun;
        without a metadata record and an item it stays one capture, live and rebuilt alike
        (``reprocess`` skips a backfill response with no provenance)."""
        if self.corpus_db is None:
            path = data_paths(self.crawler.settings).db
            if not path.exists():
                return False
            from stenogram.corpus.access import open_readonly

            self.corpus_db = open_readonly(path)
        try:
            found = self.corpus_db.execute(
                "SELECT 1 FROM captures WHERE url_key = ? AND url = ? AND archived_at = ? AND via = ? LIMIT 1",
                (url_key(original), original, archived_at, self.archive)).fetchone()
        except sqlite3.Error:  # a corpus older than archived_at/via, or busy: fetch as usual
            return False
        return found is not None

    def follow_memento(self, response, source: str, original: str):
        """A redirect from the archive (to the closest capture, RFC 7089's Memento redirect):
        followed only to a replay URL of the same archive whose original URL is a page of the
        source (:func:`scope.source_url_refusal`), and at most ``MEMENTO_HOPS`` times; anything
        else is refused before it is requested, counted and logged."""
        hops = response.meta.get("memento_hops", 0)
        location = response.headers.get("Location")
        target = urljoin(response.url, location.decode("latin-1")) if location else None
        replayed = cdx.split_replay_url(target) if target else None
        if (target is None or replayed is None or hops >= MEMENTO_HOPS
                or urlsplit(target).netloc != urlsplit(response.url).netloc):
            self.refuse_url("Memento redirect", target, "not_a_replay" if hops < MEMENTO_HOPS else "hops")
            return
        refusal = source_url_refusal(replayed[1], self.source_hosts(source), self.source_path(source))
        if refusal is not None:
            self.refuse_url("Memento redirect", replayed[1], refusal)
            return
        self.crawler.stats.inc_value("stenogram/backfill/memento_redirects")
        yield scrapy.Request(target, callback=self.parse_capture, dont_filter=True,
                             cb_kwargs={"source": source, "original": original, "timestamp": replayed[0]},
                             meta={"memento_hops": hops + 1})

    def response_downloaded(self, response, request, spider):
        """Every answer off the wire, retried or not: count refusals in a row (429 and every 5xx),
        and stop when ``BACKFILL_REFUSALS_MAX`` follow each other. Each came after the wait the
        archive asked for (``Retry-After``, else the retry backoff): one request at a time,
        nothing is sent while a wait runs, and a retry goes behind the other queued requests, so
        refusals of different captures are what follow each other. Only a capture served ends a
        run of refusals: a CDX listing answered in between does not show the archive serves again."""
        if response.status not in REFUSAL_STATUSES:
            if response.status == 200 and request.callback == self.parse_capture:
                self.refusals = 0
            return
        self.refused(f"HTTP {response.status}")

    def refused(self, what: str) -> None:
        """One more refusal in a row (an error status, or a connection the archive refused)."""
        self.refusals += 1
        self.crawler.stats.inc_value("stenogram/backfill/refused")
        if self.refusals >= self.refusals_max:
            from stenogram.crawler.storage import stop_crawl

            self.crawler.stats.set_value("stenogram/backfill/refused_in_a_row", self.refusals)
            stop_crawl(self.crawler, ARCHIVE_REFUSED,
                       f"the archive refused {self.refusals} requests in a row ({what}); "
                       f"what was not fetched stays owed for the next run")

    def request_failed(self, failure):
        """The errback of every request (:class:`BackfillErrbacks`): what the retries gave up on.

        A listing that cannot be read (an HTTP error, a refused connection, no answer) stops
        the run (``archive_unavailable``): nothing more can be listed, and a rerun starts the
        listing again (or resumes it: a page that never came is still owed). A capture that
        did not come for want of a connection is one more refusal in a row; one the archive
        answered with an error status was counted as it came (:meth:`response_downloaded`)."""
        from scrapy.spidermiddlewares.httperror import HttpError

        request = failure.request
        if failure.check(HttpError):
            status = failure.value.response.status
            what = f"HTTP {status}"
        else:
            status, what = None, failure.getErrorMessage() or failure.type.__name__
        if request.callback == self.parse_cdx:
            from stenogram.crawler.storage import stop_crawl

            self.crawler.stats.inc_value("stenogram/backfill/cdx_failed")
            message = (f"the archive's CDX server {self.cdx_endpoint} could not be read "
                       f"({what.rstrip('.')}); run the same command later to resume")
            if not self.crawler.stats.get_value("stenogram/backfill/stopped_because"):
                self.crawler.stats.set_value("stenogram/backfill/stopped_because", message)
            stop_crawl(self.crawler, ARCHIVE_UNAVAILABLE, message)
            return
        self.crawler.stats.inc_value("stenogram/backfill/capture_failed")
        if status is None:
            self.refused(what)
        else:
            logger.info("backfill: the archive answered %s for %s", what, request.url)


class BackfillErrbacks(BaseSpiderMiddleware):
    """A spider middleware of the backfill spider only: every request it yields or the frontier
    issues again for it gets the spider's errback (:meth:`BackfillSpider.request_failed`), so a
    download the retries gave up on reaches the spider instead of Scrapy's log alone; and a
    capture's redirects come back to the spider (:meth:`BackfillSpider.follow_memento`)."""

    def get_processed_request(self, request, response):
        spider = self.crawler.spider
        if not isinstance(spider, BackfillSpider):
            return request
        if request.errback is None:
            request.errback = spider.request_failed
        if request.callback == spider.parse_capture:
            # the archive's redirects come to the spider, which checks where they lead first
            request.meta.setdefault("dont_redirect", True)
            request.meta.setdefault("handle_httpstatus_list", REDIRECTS)
        return request
