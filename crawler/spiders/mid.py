"""mid.ru, the current (Bitrix) site of the Russian Foreign Ministry.

robots.txt forbids listing pagination (``Disallow: /*?PAGEN``), so a polite crawl reads page 1
of each section's listing, the RSS feeds, and the article links found inside articles
(language switchers, "see also" links). That is also what makes a daily crawl incremental:
new items always appear on page 1 and in the feed.
"""
from __future__ import annotations

import re
from urllib.parse import urlsplit, urlunsplit

import scrapy

from stenogram.crawler.spiders.base import TranscriptSpider

#: Bitrix article URLs: /{lang}/{section}/{id}/
ARTICLE_PATH = re.compile(
    r"^/(?P<lang>en|ru|de|fr|es|pt)/(?P<section>foreign_policy/news|press_service/minister_speeches)/(?P<id>\d+)/?$"
)


def canonical_article_url(url: str) -> str | None:
    """The one form of a Bitrix article URL: no ``www.``, trailing slash, no query.

    Returns None when ``url`` is not an article URL. ``?lang=ru`` on an /en/ URL serves the
    same English page, so the query is dropped.
    """
    parts = urlsplit(url)
    m = ARTICLE_PATH.match(parts.path)
    if not m:
        return None
    host = parts.netloc[4:] if parts.netloc.startswith("www.") else parts.netloc
    path = f"/{m['lang']}/{m['section']}/{m['id']}/"
    return urlunsplit((parts.scheme, host, path, "", ""))


class MidSpider(TranscriptSpider):
    """Transcripts from mid.ru (Bitrix, August 2021 onwards)."""

    name = "mid"
    default_base_url = "https://mid.ru"
    live_hosts = ("mid.ru", "www.mid.ru")
    sections = ("foreign_policy/news", "press_service/minister_speeches")
    #: `stenogram backfill`: the URL prefixes a web archive is asked about, and which of the
    #: archived URLs are transcripts (crawler/spiders/backfill.py)
    backfill_prefixes = ("/en/foreign_policy/news/", "/ru/foreign_policy/news/",
                         "/en/press_service/minister_speeches/", "/ru/press_service/minister_speeches/")
    backfill_path = ARTICLE_PATH
    custom_settings = {
        "DOWNLOAD_DELAY": 10.0,  # slower than this and mid.ru answers with resets and blocks
        "AUTOTHROTTLE_START_DELAY": 10.0,
        # article -> article links (language switchers, "see also") are otherwise unbounded
        "DEPTH_LIMIT": 4,
        "DEPTH_STATS_VERBOSE": True,
    }

    def __init__(self, base_url: str | None = None, languages: str = "en,ru", *args, **kwargs):
        super().__init__(base_url, *args, **kwargs)
        self.languages = [lang.strip() for lang in languages.split(",") if lang.strip()]

    async def start(self):
        for lang in self.languages:
            yield scrapy.Request(self.url(f"/{lang}/rss.php"), callback=self.parse_rss,
                                 meta={"discovery": True})
            for section in self.sections:
                yield scrapy.Request(self.url(f"/{lang}/{section}/"), callback=self.parse_listing,
                                     meta={"discovery": True})

    def canonical_url(self, url: str) -> str | None:
        return canonical_article_url(url)

    def parse_listing(self, response):
        """Page 1 of a section: ``li.announce__item a.announce__link`` per item."""
        hrefs = response.css("ul.announce.announce_articles li.announce__item a.announce__link::attr(href)")
        host = urlsplit(response.url).netloc
        urls = (response.urljoin(h) for h in hrefs.getall())
        yield from self._follow_articles(u for u in urls if urlsplit(u).netloc == host)

    def parse_rss(self, response):
        """The feed (RSS 2.0 on mid.ru; Atom read alike): title and a short description only,
        so every entry's page is fetched. A feed that yields nothing is a logged, counted
        warning (``TranscriptSpider.feed_links``)."""
        for url in self.feed_links(response):
            canonical = canonical_article_url(url)
            # Feed links that are not in the article form (short links, redirects) are fetched
            # as they are; the redirect middleware takes them to the article.
            yield scrapy.Request(canonical or url, callback=self.parse_article)

    def parse_article(self, response):
        yield self.page_item(response)
        yield from self._follow_articles(self.site_links(response))

    def _follow_articles(self, urls):
        for url in urls:
            if canonical := canonical_article_url(url):
                yield scrapy.Request(canonical, callback=self.parse_article)
