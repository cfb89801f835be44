"""archive.mid.ru: the ministry's Liferay site (2016 to August 2021), kept as an archive.

Discovery walks each section's asset-publisher list (paging is allowed there) and takes the
``/-/asset_publisher/<instance>/content/id/<n>`` article links.
"""
from __future__ import annotations

import re
from urllib.parse import urlsplit

import scrapy

from stenogram.crawler.spiders.base import TranscriptSpider

ARTICLE_PATH = re.compile(r"/-/asset_publisher/[A-Za-z0-9]+/content/id/\d+")
#: `stenogram backfill`: a Liferay article's whole path, ``/{lang}/<section>/-/asset_publisher/
#: <instance>/content/id/<n>`` (on www.mid.ru 2016-2021, then on archive.mid.ru), matched in the
#: path alone (scope.source_url_refusal), never as a substring of the URL
BACKFILL_PATH = re.compile(
    r"^(?:/[a-z]{2}(?:_[A-Z]{2})?)?(?:/[\w.-]+)*/-/asset_publisher/[A-Za-z0-9]+/content/id/\d+/?$")
PAGING_PARAM = re.compile(r"_cur=\d+")


class MidArchiveSpider(TranscriptSpider):
    """Transcripts from the Liferay-era archive of mid.ru."""

    name = "mid_archive"
    default_base_url = "https://archive.mid.ru"
    live_hosts = ("archive.mid.ru",)
    sections = ("press_service/minister_speeches", "foreign_policy/news")
    #: `stenogram backfill` (crawler/spiders/backfill.py): prefixes to list, transcript URLs, and
    #: the host the portal had before archive.mid.ru: www.mid.ru itself (2016 to August 2021;
    #: its Liferay URLs are listed under the same prefixes as today's Bitrix ones, and the
    #: backfill reads that listing once for both sources)
    backfill_prefixes = ("/en/press_service/minister_speeches/", "/ru/press_service/minister_speeches/",
                         "/en/foreign_policy/news/", "/ru/foreign_policy/news/")
    backfill_hosts = ("https://www.mid.ru",)
    backfill_path = BACKFILL_PATH
    custom_settings = {"DOWNLOAD_DELAY": 10.0, "AUTOTHROTTLE_START_DELAY": 10.0}

    def __init__(self, base_url=None, languages: str = "en,ru", max_pages: str | int = 50, *a, **kw):
        super().__init__(base_url, *a, **kw)
        self.languages = [lang.strip() for lang in languages.split(",") if lang.strip()]
        self.max_pages = int(max_pages)

    async def start(self):
        for lang in self.languages:
            for section in self.sections:
                yield scrapy.Request(
                    self.url(f"/{lang}/{section}"), callback=self.parse_listing, cb_kwargs={"page": 1},
                    meta={"discovery": True},
                )

    def parse_listing(self, response, page: int):
        articles, pages = [], []
        for url in self.site_links(response):
            if ARTICLE_PATH.search(urlsplit(url).path):
                articles.append(url.split("?")[0].split("#")[0])
            elif PAGING_PARAM.search(url) and page < self.max_pages:
                pages.append(url)
        yield from self.follow_listing(articles, pages, response=response, cb_kwargs={"page": page + 1})

    def parse_article(self, response):
        yield self.page_item(response)
