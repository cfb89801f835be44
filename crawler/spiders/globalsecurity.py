"""globalsecurity.org's news library, which republishes the ministry's English texts.

The library is a tree of directory index pages (``/wmd/library/news/<country>/YYYY/[MM/]``);
MFA texts are the files named ``<country>-YYMMDD-russia-mfaNN.htm``. The same scheme holds
Kremlin and defence-ministry texts, which are not ours and are not fetched.
"""
from __future__ import annotations

import re
from urllib.parse import urlsplit

import scrapy

from stenogram.crawler.spiders.base import TranscriptSpider

MFA_FILE = re.compile(r"/[a-z]+-\d{6}-russia-mfa\d{2}\.htm$")
YEAR_DIR = re.compile(r"/(?P<year>\d{4})/$")
MONTH_DIR = re.compile(r"/\d{4}/\d{2}/$")


class GlobalSecuritySpider(TranscriptSpider):
    """MFA transcripts mirrored in globalsecurity.org's news library."""

    name = "globalsecurity"
    default_base_url = "https://www.globalsecurity.org"
    live_hosts = ("www.globalsecurity.org", "globalsecurity.org")
    library = "/wmd/library/news/"
    countries = ("russia", "ukraine")
    #: `stenogram backfill` (crawler/spiders/backfill.py): prefixes to list, transcript URLs
    backfill_prefixes = ("/wmd/library/news/russia/", "/wmd/library/news/ukraine/")
    backfill_path = MFA_FILE

    def __init__(self, base_url=None, since: str | int = 2014, *a, **kw):
        super().__init__(base_url, *a, **kw)
        self.since = int(since)

    async def start(self):
        for country in self.countries:
            yield scrapy.Request(self.url(f"{self.library}{country}/"), callback=self.parse_index,
                                 meta={"discovery": True})

    def parse_index(self, response):
        base = urlsplit(response.url)
        for href in response.css("a::attr(href)").getall():
            url = response.urljoin(href)
            parts = urlsplit(url)
            # stay below the directory being listed (no "Parent Directory", no sort links)
            if parts.netloc != base.netloc or parts.query or not parts.path.startswith(base.path):
                continue
            if parts.path == base.path:
                continue
            if MFA_FILE.search(parts.path):
                yield scrapy.Request(url, callback=self.parse_article)
            elif ((m := YEAR_DIR.search(parts.path)) and int(m["year"]) >= self.since) or MONTH_DIR.search(
                parts.path
            ):
                yield scrapy.Request(url, callback=self.parse_index, meta={"discovery": True})

    def parse_article(self, response):
        yield self.page_item(response)
