"""mid.ru on 1C-Bitrix (Aug 2021–): listings, articles, RSS, robots, redirects, cookies, 304s.

The feed at ``/{lang}/rss.php`` is RSS 2.0, as mid.ru serves it; ``feed_format = "atom"``
(``SampleSite(feed_format="atom")``) serves the same entries as an Atom 1.0 feed (RFC 4287),
with root-relative links under ``xml:base``, as a site that moved its feed to Atom would.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import re
from email.utils import format_datetime
from html import escape

from stenogram.sample_site.content import SECTIONS, Catalog, Transcript, en_date, ru_date
from stenogram.sample_site.messages import Request, Response, conditional, html, not_found, redirect, text

PAGE_SIZE = 10
RSS_SIZE = 20
MSK = dt.timezone(dt.timedelta(hours=3))
ROBOTS = """User-agent: *
Disallow: /*?PAGEN
Disallow: /*asset_publisher
Disallow: /search/
Disallow: /bitrix/
"""
SECTION_TITLES = {("en", "foreign_policy/news"): "News", ("en", "press_service/minister_speeches"): "Minister's speeches",
                  ("ru", "foreign_policy/news"): "Новости", ("ru", "press_service/minister_speeches"): "Выступления Министра"}
ARTICLE_RE = re.compile(r"^/(en|ru)/(foreign_policy/news|press_service/minister_speeches)/(\d+)(/?)$")
LISTING_RE = re.compile(r"^/(en|ru)/(foreign_policy/news|press_service/minister_speeches)/?$")
SHORT_RE = re.compile(r"^/(en|ru)/news/(\d+)/?$")
TURN_RE = re.compile(r"^(Question|Вопрос)\b[^:]{0,40}:")


def published(t: Transcript) -> dt.datetime:
    hh, mm = (t.time or "12:00").split(":")
    return dt.datetime.fromisoformat(t.date).replace(hour=int(hh), minute=int(mm), tzinfo=MSK)


class BitrixSite:
    """Renders mid.ru pages for the items whose copy lives on source "mid"."""

    source = "mid"
    #: "rss" (RSS 2.0, as live) or "atom" (Atom 1.0 at the same URL)
    feed_format = "rss"

    def __init__(self, catalog: Catalog):
        self.catalog = catalog

    # -- routing
    def handle(self, request: Request) -> Response:
        path = request.path
        if path == "/robots.txt":
            return text(ROBOTS)
        if path in ("/", "/en/", "/ru/"):
            return self._cookies(html(self._page(path.strip("/") or "en", "Ministry of Foreign Affairs", "")))
        if path in ("/en/rss.php", "/ru/rss.php"):
            return self._rss(request, path[1:3])
        m = LISTING_RE.match(path)
        if m:
            if not path.endswith("/"):
                return redirect(path + "/")
            return self._listing(request, m.group(1), m.group(2))
        m = SHORT_RE.match(path)
        if m:
            item = self._item(m.group(1), None, int(m.group(2)))
            if item is None:
                return not_found()
            section = item.copies["mid"].sections[0]
            return redirect(f"/{m.group(1)}/{section}/{m.group(2)}")
        m = ARTICLE_RE.match(path)
        if m:
            lang, section, ident, slash = m.groups()
            item = self._item(lang, section, int(ident))
            if item is None:
                return not_found()
            if not slash:
                return redirect(path + "/" + (("?" + request.target.split("?", 1)[1]) if "?" in request.target else ""))
            return self._article(request, item, lang)
        return not_found()

    def _item(self, lang: str, section: str | None, ident: int) -> Transcript | None:
        for s in ((section,) if section else SECTIONS):
            t = self.catalog.lookup(self.source, f"/{lang}/{s}/{ident}/")
            if t is not None:
                return t
        return None

    # -- chrome
    @staticmethod
    def _cookies(response: Response) -> Response:
        response.compress = "gzip"
        response.headers += [
            ("Set-Cookie", "PHPSESSID=5b1f0c3e9a7d4c2b8e6f1a0d3c5b7e9f; path=/; HttpOnly"),
            ("Set-Cookie", "BITRIX_SM_GUEST_ID=20472311; expires=Fri, 01 Jan 2038 00:00:00 GMT; path=/"),
            ("Set-Cookie", "BITRIX_SM_LAST_VISIT=01.01.2025%2012%3A00%3A00; expires=Fri, 01 Jan 2038 00:00:00 GMT; path=/"),
        ]
        return response

    def _page(self, lang: str, title: str, main: str, switch_ru: str = "/ru/", switch_en: str = "/en/") -> str:
        nav = "".join(f'<li class="menu__item"><a href="/{lang}/{s}/">{escape(SECTION_TITLES[(lang, s)])}</a></li>'
                      for s in SECTIONS)
        langs = (f'<a class="lang-switcher__link" href="{switch_ru}">RU</a>'
                 f'<a class="lang-switcher__link" href="{switch_en}">EN</a>'
                 + "".join(f'<a class="lang-switcher__link" href="/{c}/">{c.upper()}</a>' for c in ("de", "fr", "es", "pt")))
        return f"""<!DOCTYPE html>
<html lang="{lang}"><head><meta charset="UTF-8"><title>{escape(title)}</title>
<script src="/bitrix/js/main/core/core.min.js"></script></head>
<body><header class="header"><div class="header__logo"><a href="/{lang}/">{"Министерство иностранных дел Российской Федерации" if lang == "ru" else "The Ministry of Foreign Affairs of the Russian Federation"}</a></div>
<div class="lang-switcher">{langs}</div>
<nav class="menu"><ul class="menu__list">{nav}</ul></nav></header>
<main class="main">{main}</main>
<footer class="footer"><p>{"© Министерство иностранных дел Российской Федерации" if lang == "ru" else "© The Ministry of Foreign Affairs of the Russian Federation"}</p></footer>
</body></html>"""

    # -- listings
    def _listing(self, request: Request, lang: str, section: str) -> Response:
        try:
            page = int(request.query.get("PAGEN_1", ["1"])[0])
        except ValueError:
            page = 1
        items = [t for t in self.catalog.on(self.source, lang) if section in t.copies[self.source].sections]
        chunk = items[(page - 1) * PAGE_SIZE: page * PAGE_SIZE] if page >= 1 else []
        lis = []
        for t in chunk:
            date = en_date(t.day) if lang == "en" else ru_date(t.day)
            time = f'<span class="announce__time">{t.time}</span>' if t.time else ""
            lis.append(f"""<li class="announce__item"><div class="announce__meta"><span class="announce__date">{date}</span>{time}</div>
<a class="announce__link" href="/{lang}/{section}/{t.copies[self.source].id}/">{escape(t.title)}</a>
<div class="announce__meta-tags"><a href="/{lang}/foreign_policy/news/?tags=lavrov">{"С.В.Лавров" if lang == "ru" else "Sergey Lavrov"}</a></div></li>""")
        pager = ""
        if page * PAGE_SIZE < len(items):
            pager = f'<div class="pagination"><a class="pagination__next" href="/{lang}/{section}/?PAGEN_1={page + 1}">{"Далее" if lang == "ru" else "Next"}</a></div>'
        main = (f'<h1 class="page-title">{escape(SECTION_TITLES[(lang, section)])}</h1>'
                f'<ul class="announce announce_articles">{"".join(lis)}</ul>{pager}')
        return self._cookies(html(self._page(lang, SECTION_TITLES[(lang, section)], main)))

    # -- articles
    def _body(self, t: Transcript, lang: str) -> str:
        paras = t.text_on(self.source)
        questions = [i for i, p in enumerate(paras) if TURN_RE.match(p)]
        parts, toc = [], ""
        if questions and len(paras) >= 8:
            label, back = ("Содержание", "Назад к оглавлению") if lang == "ru" else ("Contents", "Back to contents")
            entries = "".join(f'<li><a href="#{n}">{escape(paras[i][:70].rstrip())}…</a></li>'
                              for n, i in enumerate(questions, 1))
            toc = f'<div class="article-contents"><a name="contents"></a><h2>{label}</h2><ul>{entries}</ul></div>'
            for i, p in enumerate(paras):
                if i in questions:
                    n = questions.index(i) + 1
                    if n > 1:
                        parts.append(f'<p><a href="#contents">{back}</a></p>')
                    parts.append(f'<a name="{n}"></a>')
                parts.append(f"<p>{escape(p)}</p>")
            parts.append(f'<p><a href="#contents">{back}</a></p>')
        else:
            parts = [f"<p>{escape(p)}</p>" for p in paras]
        gallery = """<div class="article-gallery"><div class="article-gallery__title">Дополнительные материалы</div>
<ul class="tabs"><li class="tabs__item tabs__item_active">Фото</li></ul>
<div class="gallery"><div class="gallery__title">Фотоальбом</div>
<div class="gallery__slide"><img src="/upload/iblock/a1b/photo_1.jpg" alt=""></div>
<div class="gallery__counter">1 из 1 фотографий в альбоме</div></div></div>"""
        return (f'<div class="text article-content">{toc}<div class="article-content__inner"><div>'
                f'{"".join(parts)}</div></div>{gallery}</div>')

    def _article(self, request: Request, t: Transcript, lang: str) -> Response:
        copy = t.copies[self.source]
        here = request.path
        other = self.catalog[t.counterpart] if t.counterpart else None
        other_path = other.copies[self.source].path if other is not None else None
        switch_ru = here if lang == "ru" else (other_path or "/ru/")
        switch_en = here if lang == "en" else (other_path or "/en/")
        date = en_date(t.day) if lang == "en" else ru_date(t.day)
        time = f'<div class="photo-content__time">{t.time}</div>' if t.time else ""
        doc = (f'<p class="article-line__note article-line__note_small">{escape(t.doc_number)}</p>'
               if t.doc_number else "")
        search = ("""<div class="search-form"><form action="/search/" method="get"><input type="text" name="q">
<div class="search-form__error">Некорректно указаны даты</div>
<a class="search-form__more" href="#">Дополнительные инструменты поиска</a></form></div>""")
        main = f"""<div class="photo-content"><div class="photo-content__head">
<div class="photo-content__meta"><div class="photo-content__date">{date}</div>{time}</div>
<h1 class="photo-content__title">{escape(t.title)}</h1>{doc}</div>
{self._body(t, lang)}
{search}
<div class="article-tags"><a class="article-tags__link" href="/ru/tags/?tags=mezhdunarodnaya-bezopasnost">Международная безопасность</a></div>
</div>"""
        response = self._cookies(html(self._page(lang, t.title, main, switch_ru, switch_en)))
        modified = published(t) + dt.timedelta(hours=t.revision)
        return conditional(request, response, modified)

    # -- RSS
    def _rss(self, request: Request, lang: str) -> Response:
        if self.feed_format == "atom":
            return self._atom(request, lang)
        host = request.headers.get("host", "127.0.0.1")
        items = self.catalog.on(self.source, lang)[:RSS_SIZE]
        out = []
        for n, t in enumerate(items):
            copy = t.copies[self.source]
            # one item links through the legacy short URL: a 2-hop redirect chain, as live
            link = f"/{lang}/news/{copy.id}/" if n == 1 else copy.path
            desc = t.paragraphs[1] if len(t.paragraphs) > 1 else t.paragraphs[0]
            out.append(f"""<item><title>{escape(t.title)}</title><link>http://{host}{link}</link>
<description>{escape(desc[:200])}</description><pubDate>{format_datetime(published(t))}</pubDate>
<guid isPermaLink="false">{hashlib.md5(copy.path.encode()).hexdigest()}</guid></item>""")
        title = "МИД России" if lang == "ru" else "The Ministry of Foreign Affairs of the Russian Federation"
        body = f"""<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0"><channel><title>{title}</title><link>http://{host}/{lang}/</link>
<description>{title}</description><language>{lang}</language>
{"".join(out)}
</channel></rss>"""
        return self._cookies(text(body, "application/rss+xml; charset=UTF-8"))

    def _atom(self, request: Request, lang: str) -> Response:
        """The same entries as Atom 1.0 (RFC 4287): ``<link rel="alternate" href>`` root-relative
        under the feed's ``xml:base``, ``<updated>`` in RFC 3339, the same legacy short link."""
        host = request.headers.get("host", "127.0.0.1")
        items = self.catalog.on(self.source, lang)[:RSS_SIZE]
        entries = []
        for n, t in enumerate(items):
            copy = t.copies[self.source]
            link = f"/{lang}/news/{copy.id}/" if n == 1 else copy.path
            desc = t.paragraphs[1] if len(t.paragraphs) > 1 else t.paragraphs[0]
            entries.append(f"""<entry><title>{escape(t.title)}</title>
<link rel="alternate" type="text/html" href="{escape(link)}"/>
<id>urn:md5:{hashlib.md5(copy.path.encode()).hexdigest()}</id>
<updated>{published(t).isoformat()}</updated><summary>{escape(desc[:200])}</summary></entry>""")
        title = "МИД России" if lang == "ru" else "The Ministry of Foreign Affairs of the Russian Federation"
        updated = published(items[0]).isoformat() if items else "2021-08-01T00:00:00+03:00"
        body = f"""<?xml version="1.0" encoding="UTF-8"?>
<feed xmlns="http://www.w3.org/2005/Atom" xml:lang="{lang}" xml:base="http://{host}/">
<title>{title}</title><id>http://{host}/{lang}/rss.php</id><updated>{updated}</updated>
<link rel="self" href="/{lang}/rss.php"/><link rel="alternate" type="text/html" href="/{lang}/"/>
{"".join(entries)}
</feed>"""
        return self._cookies(text(body, "application/atom+xml; charset=UTF-8"))
