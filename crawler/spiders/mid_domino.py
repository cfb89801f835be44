"""mid.ru's Lotus Domino site (2004–2015): section views paged with ``Start=N``, documents by UNID.

Every transcript of Lavrov's first eleven years as minister was published here: documents at
``/brp_4.nsf/0/<UNID>`` (32 hex digits; the news feed links the same document as
``/brp_4.nsf/newsline/<UNID>``, a view as ``/bdomp/brp_4.nsf/<view>/<UNID>?OpenDocument``),
listed by section views at ``/bdomp/brp_4.nsf/<view>!OpenView&Start=N``. The database moved
from www.mid.ru to archive.mid.ru, which may no longer answer: most of it survives only in web
archives (``stenogram backfill``), so ``stenogram crawl`` runs this spider only when it is named.

Discovery walks each view (``-a views=NAME,NAME``; the defaults are the minister's views of the
bundled sample site, the live names are not known for sure, see docs/domino.md): rows in
``#content > div > div > table tr``, their links in ``td a``; the next page is the last
``#content > div > div > a`` holding ``img[alt="Вперед"]``. Every document link is fetched in
one form, ``/brp_4.nsf/0/<UNID>`` (hex upper case), so a document listed by two views (or at
its ``newsline`` address) is archived once. Pages are windows-1251, some with no charset in the
header: the spider keeps the bytes, decoding is the extractor's job.
"""
from __future__ import annotations

import re
from urllib.parse import urlsplit, urlunsplit

import scrapy

from stenogram.crawler.spiders.base import TranscriptSpider

#: a document, in any of the forms the site links it: /brp_4.nsf/0/<UNID>,
#: /brp_4.nsf/newsline/<UNID>, /bdomp/brp_4.nsf/<view UNID>/<UNID>, with or without ?OpenDocument
DOCUMENT_PATH = re.compile(
    r"^/(?:bdomp/)?brp_4\.nsf/(?:0|newsline|[0-9a-f]{32})/(?P<unid>[0-9a-f]{32})(?:[!?]OpenDocument\b.*)?$", re.I)
VIEW_PATH = re.compile(r"^/(?:bdomp/)?brp_4\.nsf/[^/!?]+[!?]OpenView\b", re.I)
#: the alt text of the "next page" arrow (Russian views; English views of the era used the same)
NEXT_ALTS = ("Вперед", "Вперёд", "Next")
#: the minister's speeches and interviews, Russian and English (the sample site's view names)
DEFAULT_VIEWS = ("d8e1e8bd51f1a1d543256a31003a8d5c", "7f2a1ff5a2c8b4c643256a310039e5a7")


def canonical_document_url(url: str) -> str | None:
    """``<scheme>://<host>/brp_4.nsf/0/<UNID>`` for any link to a Domino document, else None.

    ``?OpenDocument`` (and ``!OpenDocument``) only ask Domino to render the document, and the
    view a document is opened through does not change it, so every form is the same page."""
    parts = urlsplit(url)
    path = parts.path + ("?" + parts.query if parts.query else "")
    m = DOCUMENT_PATH.match(path)
    if not m:
        return None
    return urlunsplit((parts.scheme, parts.netloc, f"/brp_4.nsf/0/{m['unid'].upper()}", "", ""))


class MidDominoSpider(TranscriptSpider):
    """Transcripts from mid.ru's Domino-era site (2004–2015)."""

    name = "mid_domino"
    default_base_url = "http://archive.mid.ru"
    live_hosts = ("archive.mid.ru", "www.mid.ru", "mid.ru")
    custom_settings = {"DOWNLOAD_DELAY": 10.0, "AUTOTHROTTLE_START_DELAY": 10.0}  # as mid_archive: same host
    #: `stenogram backfill` (crawler/spiders/backfill.py): the documents, in every form, on both
    #: hosts the database had (a web archive folds www.); views are not needed, the CDX lists all
    backfill_prefixes = ("/brp_4.nsf/", "/bdomp/brp_4.nsf/")
    backfill_hosts = ("http://www.mid.ru",)
    backfill_path = DOCUMENT_PATH

    def __init__(self, base_url=None, views: str | None = None, count: str | int | None = None,
                 max_pages: str | int = 200, *a, **kw):
        super().__init__(base_url, *a, **kw)
        self.views = [v.strip() for v in (views.split(",") if views else DEFAULT_VIEWS) if v.strip()]
        self.count = int(count) if count else None  # rows per view page; None: the server's default
        self.max_pages = int(max_pages)

    def view_url(self, view: str, start: int = 1) -> str:
        count = f"&Count={self.count}" if self.count else ""
        return self.url(f"/bdomp/brp_4.nsf/{view}!OpenView&Start={start}{count}")

    async def start(self):
        for view in self.views:
            yield scrapy.Request(self.view_url(view), callback=self.parse_listing, cb_kwargs={"page": 1},
                                 meta={"discovery": True})

    def parse_listing(self, response, page: int = 1):
        """One page of a view: its document rows, then the "Вперед" arrow to the next page."""
        host = urlsplit(response.url).netloc
        hrefs = response.css("#content > div > div > table tr td a::attr(href)").getall()
        if not hrefs:  # another layout of the view: any document link on the page
            hrefs = response.css("a::attr(href)").getall()
        articles = []
        for href in hrefs:
            url = canonical_document_url(response.urljoin(href))
            if url and urlsplit(url).netloc == host and url not in articles:
                articles.append(url)
        pages = []
        arrows = [a for a in response.css("#content > div > div > a")
                  if any(a.css(f'img[alt="{alt}"]') for alt in NEXT_ALTS)]
        if arrows and page < self.max_pages:
            url = response.urljoin(arrows[-1].attrib.get("href", ""))
            parts = urlsplit(url)
            if parts.netloc == host and VIEW_PATH.match(parts.path + ("?" + parts.query if parts.query else "")):
                pages.append(url)
        yield from self.follow_listing(articles, pages, response=response, cb_kwargs={"page": page + 1})

    def parse_article(self, response):
        yield self.page_item(response)
