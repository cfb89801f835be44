"""archive.mid.ru on Liferay 6.2 (2016–Aug 2021): asset-publisher lists and articles, gzip + chunked."""
from __future__ import annotations

import re
from html import escape

from stenogram.sample_site.content import LIFERAY_INSTANCES, Catalog, Transcript, en_date, ru_date
from stenogram.sample_site.messages import Request, Response, html, not_found, text

PAGE_SIZE = 10
ROBOTS = "User-agent: *\nDisallow: /c/\nDisallow: /group/\n"
LISTING_RE = re.compile(r"^/(en|ru)/(foreign_policy/news|press_service/minister_speeches)/?$")
ARTICLE_RE = re.compile(r"^/(en|ru)/(foreign_policy/news|press_service/minister_speeches)"
                        r"/-/asset_publisher/(\w+)/content/id/(\d+)$")


def cur_param(instance: str) -> str:
    """Liferay 6.2's paging parameter of the asset publisher portlet instance."""
    return f"_101_INSTANCE_{instance}_cur"


class LiferaySite:
    source = "mid_archive"

    def __init__(self, catalog: Catalog):
        self.catalog = catalog

    def handle(self, request: Request) -> Response:
        path = request.path
        if path == "/robots.txt":
            return text(ROBOTS)
        m = LISTING_RE.match(path)
        if m:
            return self._encoded(self._listing(request, *m.groups()))
        m = ARTICLE_RE.match(path)
        if m:
            lang, section, instance, ident = m.groups()
            if LIFERAY_INSTANCES[section] != instance:
                return not_found()
            t = self.catalog.lookup(self.source, path)
            if t is not None:
                return self._encoded(html(self._page(lang, t.title, self._article(t, lang))))
        return not_found()

    @staticmethod
    def _encoded(response: Response) -> Response:
        response.compress, response.chunked = "gzip", True
        response.headers.append(("Liferay-Portal", "Liferay Portal Community Edition 6.2 CE GA6"))
        return response

    def _page(self, lang: str, title: str, portlet: str) -> str:
        return f"""<!DOCTYPE html>
<html class="ltr" dir="ltr" lang="{'ru-RU' if lang == 'ru' else 'en-US'}"><head><title>{escape(title)} - The Ministry of Foreign Affairs of the Russian Federation</title>
<meta content="text/html; charset=UTF-8" http-equiv="content-type"></head>
<body class="yui3-skin-sam controls-visible guest-site signed-out public-page site">
<div id="wrapper"><header id="banner"><a class="logo" href="/{lang}/">МИД России</a>
<ul class="language-list"><li><a href="/ru/">RU</a></li><li><a href="/en/">EN</a></li></ul></header>
<div id="content"><div class="portlet-boundary portlet-boundary_101_ portlet-asset-publisher">
<span class="portlet-title-text">Asset Publisher</span>
<div class="portlet-body">{portlet}</div></div>
<div class="portlet-boundary portlet-boundary_3_ portlet-search"><div class="portlet-body">
<div class="search-results">Showing 1 result.</div>
<a class="toggle-advanced" href="javascript:;">Advanced settings</a></div></div></div>
<footer id="footer"><p>© 2004–2021 The Ministry of Foreign Affairs of the Russian Federation</p></footer></div>
</body></html>"""

    def _article(self, t: Transcript, lang: str) -> str:
        date = en_date(t.day) if lang == "en" else ru_date(t.day)
        time = f'<span class="time">{t.time}</span>' if t.time else ""
        locales = "".join(f'<li><a href="#" lang="{c}">{c}</a><span class="count">1</span></li>'
                          for c in ("de-DE", "en-GB", "es-ES", "ru-RU", "fr-FR"))
        body = "\n".join(f"<p>{escape(p)}</p>" for p in t.text_on(self.source))
        return f"""<div class="asset-full-content default-asset-publisher">
<div class="article article-part article-country  "><div class="article-info"><span class="date">{date}</span>{time}</div>
<h1 class="article-title">{escape(t.title)}</h1>
<ul class="taglib-language-list">{locales}</ul>
<div class="text article-content"><div class="journal-content-article">{body}</div></div></div>
<div class="asset-links"><a href="/{lang}/press_service/minister_speeches">{"Назад" if lang == "ru" else "Back"}</a></div></div>"""

    def _listing(self, request: Request, lang: str, section: str) -> Response:
        instance = LIFERAY_INSTANCES[section]
        try:
            page = int(request.query.get(cur_param(instance), ["1"])[0])
        except ValueError:
            page = 1
        items = [t for t in self.catalog.on(self.source, lang) if section in t.copies[self.source].sections]
        chunk = items[(page - 1) * PAGE_SIZE: page * PAGE_SIZE] if page >= 1 else []
        rows = []
        for t in chunk:
            date = en_date(t.day) if lang == "en" else ru_date(t.day)
            href = f"/{lang}/{section}/-/asset_publisher/{instance}/content/id/{t.copies[self.source].id}"
            rows.append(f"""<div class="asset-abstract"><span class="asset-date">{date}</span>
<h3 class="asset-title"><a href="{href}">{escape(t.title)}</a></h3>
<div class="asset-summary">{escape(t.paragraphs[0][:150])}</div></div>""")
        if not rows:
            rows.append('<div class="alert alert-info">No results were found.</div>')
        nav = ""
        if page * PAGE_SIZE < len(items):
            nav = (f'<div class="taglib-page-iterator"><ul class="pager lfr-pagination-buttons">'
                   f'<li><a href="/{lang}/{section}?p_p_id=101_INSTANCE_{instance}&amp;p_p_lifecycle=0'
                   f'&amp;p_p_state=normal&amp;p_p_mode=view&amp;{cur_param(instance)}={page + 1}">Next</a></li></ul></div>')
        return html(self._page(lang, section, "".join(rows) + nav))
