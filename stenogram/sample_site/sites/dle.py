"""en.interaffairs.ru on DataLife Engine: windows-1251 with a meta-only charset, chunked, <br><br> bodies."""
from __future__ import annotations

import re
from html import escape

from stenogram.sample_site.content import Catalog, Transcript
from stenogram.sample_site.messages import Request, Response, html, not_found, text

PAGE_SIZE = 10
CHARSET = "windows-1251"
ROBOTS = "User-agent: *\nDisallow: /*print:\nDisallow: /index.php?do=search\nDisallow: /engine/\n"
PAGE_RE = re.compile(r"^/lavrov/page/(\d+)/?$")
PRINT_RE = re.compile(r"^/lavrov/print:page,1,(\d+-[\w-]+\.html)$")
ARCHIVE = [("July 2020", 7), ("June 2020", 27), ("May 2020", 19), ("April 2020", 20), ("March 2020", 23),
           ("February 2020", 21)]


def dle_date(t: Transcript) -> str:
    y, m, d = t.date.split("-")
    return f"{int(d)}-{m}-{y}, {t.time or '00:00'}"


KNOWN_VIEWS = {"seed-001": 2133}  # as in the stored copy of that page


def views(t: Transcript, ident: int) -> str:
    count = KNOWN_VIEWS.get(t.key, (ident * 7919) % 9000 + 120)
    return f"{count:,}".replace(",", " ")


class DleSite:
    source = "interaffairs"

    def __init__(self, catalog: Catalog):
        self.catalog = catalog

    def handle(self, request: Request) -> Response:
        path = request.path
        if path == "/robots.txt":
            return text(ROBOTS)
        if path in ("/lavrov/", "/lavrov"):
            return self._listing(1)
        m = PAGE_RE.match(path)
        if m:
            return self._listing(int(m.group(1)))
        m = PRINT_RE.match(path)
        if m:
            t = self.catalog.lookup(self.source, "/lavrov/" + m.group(1))
            return self._print(t) if t else self._404()
        t = self.catalog.lookup(self.source, path)
        if t is not None:
            return self._full(t)
        return self._404()

    @staticmethod
    def _cp1251(body: str, status: int = 200) -> Response:
        # the charset is only in the <meta>; the header says plain text/html, as many DLE hosts do
        return html(body, status=status, charset=CHARSET, content_type="text/html", chunked=True)

    def _404(self) -> Response:
        return self._cp1251(self._page("Page not found", "<div class='berrors'>Page not found</div>"), 404)

    def _page(self, title: str, main: str) -> str:
        archive = "".join(f'<li><a href="/{m.split()[1]}/{i:02d}/">{m} ({n})</a></li>'
                          for i, (m, n) in zip(range(7, 1, -1), ARCHIVE))
        return f"""<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Transitional//EN" "http://www.w3.org/TR/xhtml1/DTD/xhtml1-transitional.dtd">
<html xmlns="http://www.w3.org/1999/xhtml"><head>
<meta http-equiv="Content-Type" content="text/html; charset=windows-1251" />
<title>{escape(title)} &raquo; International Affairs</title>
<meta name="generator" content="DataLife Engine (http://dle-news.ru)" /></head>
<body><div id="header"><a href="/"><img src="/templates/ia/images/logo.png" alt="International Affairs" /></a></div>
<div id="sidebar">
<div class="block"><h4><a href="/editors-column/">Editor's Column</a></h4></div>
<div class="block"><h4><a href="/golden-collection/">Golden Collection</a></h4></div>
<div class="block"><h4><a href="/mfa-news/">MFA Russia News</a></h4></div>
<div class="block"><h4><a href="/tags/">All Tags</a></h4></div>
<div class="block"><h4>Archive material</h4><ul class="archives">{archive}</ul></div>
</div>
<div id="dle-content">{main}</div>
<div id="footer">© International Affairs</div></body></html>"""

    def _items(self) -> list[Transcript]:
        return self.catalog.on(self.source)

    def _listing(self, page: int) -> Response:
        items = self._items()
        chunk = items[(page - 1) * PAGE_SIZE: page * PAGE_SIZE] if page >= 1 else []
        if not chunk and page != 1:
            return self._404()
        stories = []
        for t in chunk:
            paras = t.text_on(self.source)
            stories.append(f"""<div class="shortstory"><h2><a href="{t.copies[self.source].path}">{escape(t.title_on(self.source))}</a></h2>
<div class="date">{dle_date(t)}</div><div class="story">{escape(paras[0])}<br /><br />{escape(paras[1] if len(paras) > 1 else "")}</div>
<div class="more"><a href="{t.copies[self.source].path}">Read more</a></div></div>""")
        nav = ""
        if page * PAGE_SIZE < len(items):
            nav = f'<div class="navigation"><a href="/lavrov/page/{page + 1}/">Next</a></div>'
        return self._cp1251(self._page("Minister Sergey Lavrov", "".join(stories) + nav))

    def _full(self, t: Transcript) -> Response:
        copy = t.copies[self.source]
        body = "<br /><br />".join(escape(p) for p in t.text_on(self.source))
        slug = copy.path.rsplit("/", 1)[1]
        items = self._items()
        idx = items.index(t)
        related = "".join(f'<li><a href="{r.copies[self.source].path}">{escape(r.title_on(self.source))}</a></li>'
                          for r in items[idx + 1: idx + 6])
        main = f"""<div class="fullstory"><h1 class="title">{escape(t.title_on(self.source))}</h1>
<div class="date">{dle_date(t)}</div>
<div class="full-story" id="news-id-{copy.id}">{body}</div>
<ul class="info"><li>Category: <a href="/lavrov/">Minister S.Lavrov</a></li>
<li>&bull; Views: {views(t, copy.id)} |</li>
<li>&bull; <a href="/lavrov/print:page,1,{slug}" rel="nofollow">Print version</a> |</li></ul>
<div class="related"><ul>{related}</ul></div></div>"""
        return self._cp1251(self._page(t.title_on(self.source), main))

    def _print(self, t: Transcript) -> Response:
        body = "<br /><br />".join(escape(p) for p in t.text_on(self.source))
        return self._cp1251(f"""<html><head><meta http-equiv="Content-Type" content="text/html; charset=windows-1251" />
<title>{escape(t.title_on(self.source))} &raquo; International Affairs</title></head><body onload="window.print()">
<h1>{escape(t.title_on(self.source))}</h1><div class="date">{dle_date(t)}</div><div class="full-story">{body}</div></body></html>""")
