"""en.interaffairs.ru, the "International Affairs" journal (DataLife Engine).

Its ``/lavrov/`` category lists the minister's texts newest first, ``/lavrov/page/N/`` after
page 1. Print views (``print:page,1,...``) are disallowed by robots.txt and duplicate the
article, so only article pages are fetched. Pages are windows-1251 with the charset only in
``<meta>``; decoding is the extractor's job, the spider keeps the bytes.
"""
from __future__ import annotations

import re
from urllib.parse import urlsplit

import scrapy

from stenogram.crawler.spiders.base import TranscriptSpider

#: an article: the DataLife Engine form ``/lavrov/<id>-<slug>.html`` and the redesigned site's
#: ``/article/<slug>/`` (docs/SITES.md); one pattern for the live crawl and `stenogram backfill`
ARTICLE_PATH = re.compile(r"^/(?:lavrov/\d+-[^/]+\.html|article/[^/]+/?)$")
PAGE_PATH = re.compile(r"^/lavrov/page/(?P<n>\d+)/$")
BACKFILL_PATH = ARTICLE_PATH


class InterAffairsSpider(TranscriptSpider):
    """Lavrov's texts as republished by International Affairs."""

    name = "interaffairs"
    default_base_url = "https://en.interaffairs.ru"
    live_hosts = ("en.interaffairs.ru", "interaffairs.ru")
    #: `stenogram backfill` (crawler/spiders/backfill.py): prefixes to list, transcript URLs
    backfill_prefixes = ("/lavrov/", "/article/")
    backfill_path = BACKFILL_PATH

    def __init__(self, base_url=None, max_pages: str | int = 50, *a, **kw):
        super().__init__(base_url, *a, **kw)
        self.max_pages = int(max_pages)

    async def start(self):
        yield scrapy.Request(self.url("/lavrov/"), callback=self.parse_listing, meta={"discovery": True})

    def parse_listing(self, response):
        articles, pages = [], []
        for url in self.site_links(response):
            path = urlsplit(url).path
            if ARTICLE_PATH.match(path):
                articles.append(url)
            elif (m := PAGE_PATH.match(path)) and int(m["n"]) <= self.max_pages:
                pages.append(url)
        yield from self.follow_listing(articles, pages, response=response)

    def parse_article(self, response):
        yield self.page_item(response)
