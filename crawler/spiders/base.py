"""What every stenogram spider shares: a base URL, URL normalisation and the page item."""
from __future__ import annotations

import logging
from datetime import datetime, timezone
from urllib.parse import urljoin, urlsplit

import scrapy

from stenogram.crawler.items import TranscriptPage
from stenogram.crawler.scope import origin

logger = logging.getLogger(__name__)


class TranscriptSpider(scrapy.Spider):
    """Base class: the live site by default, any other base URL with ``-a base_url=...``.

    Spiders are the same code for the live site and the bundled sample site; only
    ``base_url`` differs, so every URL a spider builds is joined onto it.
    """

    #: live site root; subclasses set it
    default_base_url: str = ""
    #: the live site's hosts (``host`` or ``host:port``); nothing else is fetched
    #: (crawler/scope.py). A ``base_url`` given replaces them with its own host.
    live_hosts: tuple[str, ...] = ()

    def __init__(self, base_url: str | None = None, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.base_url = (base_url or self.default_base_url).rstrip("/")
        own = origin(self.base_url)  # ScopeError (a ValueError) for a malformed base URL
        self.allowed_hosts = (own,) if base_url else tuple(dict.fromkeys((own, *self.live_hosts)))

    #: ``stenogram crawl --discover-from``: the crawler/discover.py component, when it runs
    discovery = None

    def url(self, path: str) -> str:
        """An absolute URL on this spider's site for a root-relative ``path``."""
        return urljoin(self.base_url + "/", path.lstrip("/"))

    def site_links(self, response):
        """Absolute URLs of the page's links that stay on this site (no ads, no other hosts)."""
        host = urlsplit(response.url).netloc
        for href in response.css("a::attr(href)").getall():
            url = response.urljoin(href)
            if urlsplit(url).netloc == host:
                yield url

    def canonical_url(self, url: str) -> str | None:
        """The one form of an article URL of this site (None: not an article URL). Spiders
        whose articles have several URL forms override it."""
        return url

    # -- pages found in a web archive's index (crawler/discover.py) ---------------------------
    def parse_archive_index(self, response, prefix: str, whole: bool = False):
        """A page of the archive's CDX listing: the article URLs it names, to fetch live."""
        if self.discovery is None:  # owed by a --discover-from crawl, re-issued by one without
            return
        yield from self.discovery.read_index(response, prefix, whole)

    def parse_discovered(self, response, original: str, timestamp: str):
        """An article URL found in the archive's index, as the live site answers it today: the
        article, or (refused, gone) the archive's copy."""
        if self.discovery is not None and self.discovery.refused(response):
            yield self.discovery.archived_request(response.request.url, original, timestamp,
                                                  f"http_{response.status}")
            return
        if response.status != 200:  # a refusal, re-issued by a crawl without --discover-from
            return
        yield from self.parse_article(response)

    def discovered_failed(self, failure):
        """The live page stayed an anti-bot wall: the archive's copy instead."""
        request = failure.request
        if self.discovery is not None and self.discovery.walled(failure):
            yield self.discovery.archived_request(request.url, request.cb_kwargs["original"],
                                                  request.cb_kwargs["timestamp"], "wall")

    def parse_archived_copy(self, response, url: str, timestamp: str):
        """The archive's copy of a page the live site refused, with ``via`` provenance."""
        facts = response.meta.get("discover_provenance") or self.provenance(response.request, response)
        item = self.page_item(response)
        item["url"] = facts["x-stenogram-original-url"]
        item["archived_at"] = facts["x-stenogram-original-date"]
        item["via"] = facts["x-stenogram-archive"]
        # the page's links as they were on the original site, not on the archive's host
        item["outlinks"] = sorted({urljoin(url, h) for h in response.css("a::attr(href)").getall()})
        yield item

    def provenance(self, request, response) -> dict | None:
        """What the WARC's metadata record says beside an archive's copy (the archiver asks
        for every response); None for the site's own pages."""
        return self.discovery.provenance(request, response) if self.discovery is not None else None

    def feed_links(self, response) -> list[str]:
        """The entries' links of an RSS or Atom feed (crawler/feeds.py), absolute.

        Every feed read is counted (``stenogram/feed/read``, ``.../entries``); one that yields
        nothing or reads doubtfully (too large, declaring entities, not a feed, not well-formed,
        no entries) is also counted as ``stenogram/feed/<problem>`` and logged in one warning
        line: an empty feed must not pass for a quiet day.
        """
        from stenogram.crawler.feeds import read_feed

        stats = self.crawler.stats
        content_type = response.headers.get("Content-Type", b"").decode("latin-1") or None
        reading = read_feed(response.body, response.url, content_type,
                            self.crawler.settings.getint("FEED_MAX_BYTES"))
        stats.inc_value("stenogram/feed/read")
        stats.inc_value("stenogram/feed/entries", reading.entries)
        if reading.problem is not None:
            stats.inc_value(f"stenogram/feed/{reading.problem}")
            logger.warning("feed %s: %s: %s; %d link(s) followed", response.url, reading.problem,
                           reading.detail, len(reading.links))
        return [response.urljoin(link) for link in reading.links]

    def follow_listing(self, articles: list[str], next_pages: list[str], response=None, **next_page_kwargs):
        """Requests for a listing page's articles, then its next pages unless all were known.

        ``next_page_kwargs`` (e.g. ``cb_kwargs``) go to the next pages' requests, which are
        discovery requests: always fetched, never subject to the recrawl schedule. ``response``
        (the listing page) names the walk: its first page's URL, carried in ``meta["walk"]``.
        """
        walk = self.walk_of(response)
        for url in articles:
            yield scrapy.Request(url, callback=self.parse_article)
        if self.all_known(articles, walk):
            return
        meta = {"discovery": True} if walk is None else {"discovery": True, "walk": walk}
        for url in next_pages:
            yield scrapy.Request(url, callback=self.parse_listing, meta=dict(meta), **next_page_kwargs)

    def walk_of(self, response) -> str | None:
        """The walk a listing page belongs to (its first page's URL); noted for the frontier."""
        if response is None:
            return None
        walk = response.meta.get("walk") or response.url
        frontier = getattr(self, "frontier", None)
        if frontier is not None:
            frontier.walk_seen(walk)
        return walk

    def page_item(self, response: scrapy.http.Response) -> TranscriptPage:
        """The item for a page the spider takes to be a transcript (the extractor decides)."""
        # repeated headers are joined with ","; the WARC keeps each value on its own line
        headers = {k.lower(): v for k, v in response.headers.to_unicode_dict().items()}
        return TranscriptPage(
            url=response.url,
            source=self.name,
            http_status=response.status,
            content_type=headers.get("content-type"),
            headers=headers,
            body=response.body,
            warc=response.meta.get("warc"),
            outlinks=sorted({response.urljoin(h) for h in response.css("a::attr(href)").getall()}),
            fetched_at=response.meta.get("warc_date")
            or datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        )

    def all_known(self, urls: list[str], walk: str | None = None) -> bool:
        """True when a listing walk can stop here: every URL is known and the walk went past them.

        Listings are newest first, so a page whose items were all archived before means the
        rest of the walk would only find old items; their recrawl schedule brings them back.
        But "known" only means the walk went further before when an earlier crawl *finished*
        the walk (``walks`` in state.db): a crawl killed mid-walk leaves known items at the
        top and unwalked pages below them, and stopping there would lose those pages.
        """
        state = getattr(self, "crawl_state", None)
        if state is None or not urls or not all(state.known(u) for u in urls):
            return False
        frontier = getattr(self, "frontier", None)
        if frontier is not None and (walk is None or not frontier.walk_completed(walk)):
            self.crawler.stats.inc_value("stenogram/listing/walked_past_known")
            return False
        self.crawler.stats.inc_value("stenogram/listing/stopped_at_known")
        return True
