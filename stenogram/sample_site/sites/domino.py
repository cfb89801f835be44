"""mid.ru on Lotus Domino (2004–2015): section views paged with ``Start=N``, documents by UNID,
windows-1251 pages in the era's table-and-font layout.

Views: ``/bdomp/brp_4.nsf/<view>!OpenView`` (also ``?OpenView``), ``&Start=N`` (1-based row),
``&Count=N`` (rows per page, ``PAGE_SIZE`` by default), ``&Expand=…`` (accepted, ignored: the
views are flat). Rows sit in ``#content > div > div > table tr``, the date in ``td > font`` as
``dd.mm.YYYY``, the link in ``td a``; the next page is the last ``#content > div > div > a``
holding ``img[alt="Вперед"]``. Documents: ``/brp_4.nsf/0/<UNID>`` and, for the news feed,
``/brp_4.nsf/newsline/<UNID>`` (same page). Charset: every page is windows-1251; documents
declare it in the header and the ``<meta>``, in the ``<meta>`` only, or (a few Russian pages)
nowhere, as pages of that age do. ``Last-Modified``/``ETag`` for conditional re-crawls; no gzip.
"""
from __future__ import annotations

import datetime as dt
import re
from html import escape

from stenogram.sample_site.content import Catalog, Transcript
from stenogram.sample_site.domino import NEWSLINE, SOURCE, VIEWS
from stenogram.sample_site.messages import Request, Response, conditional, html, text

PAGE_SIZE = 10
CHARSET = "windows-1251"
MSK = dt.timezone(dt.timedelta(hours=3))
ROBOTS = """User-agent: *
Disallow: /*?SearchView
Disallow: /*!SearchView
Disallow: /*$SearchForm
Disallow: /*?OpenAgent
"""
VIEW_RE = re.compile(r"^/bdomp/brp_4\.nsf/(?P<view>[\w$]+)[!?]OpenView(?P<args>(?:&[^&]*)*)$", re.I)
DOC_RE = re.compile(r"^/(?:bdomp/)?brp_4\.nsf/(?P<view>0|newsline|[0-9a-f]{32})/(?P<unid>[0-9A-Fa-f]{32})"
                    r"(?:[!?]OpenDocument(?:&[^&]*)*)?$")
MENU = {
    "ru": [("/bdomp/brp_4.nsf/newsline!OpenView", "Новостная лента")] + [
        (f"/bdomp/brp_4.nsf/{v}!OpenView", label) for v, (lang, label) in VIEWS.items() if lang == "ru" and v != NEWSLINE
    ] + [("/bdomp/brp_4.nsf/brief!OpenView", "Брифинги официального представителя"),
         ("/bdomp/brp_4.nsf/docs!OpenView", "Документы"), ("/brp_4.nsf/main_eng", "English")],
    "en": [(f"/bdomp/brp_4.nsf/{v}!OpenView", label) for v, (lang, label) in VIEWS.items() if lang == "en"] + [
        ("/bdomp/brp_4.nsf/briefeng!OpenView", "Spokesman's briefings"),
        ("/bdomp/brp_4.nsf/docseng!OpenView", "Documents"), ("/brp_4.nsf/main_rus", "Русский")],
}


def published(t: Transcript) -> dt.datetime:
    return dt.datetime.fromisoformat(t.date).replace(hour=12, tzinfo=MSK)


def dotted(t: Transcript) -> str:
    """The view and document date form: dd.mm.YYYY."""
    return dt.date.fromisoformat(t.date).strftime("%d.%m.%Y")


def _view_args(args: str) -> dict[str, str]:
    out = {}
    for part in args.split("&"):
        if part:
            name, _, value = part.partition("=")
            out[name.lower()] = value
    return out


def declaration(t: Transcript) -> str:
    """Where a document declares its charset: "both", "meta" or "none" (a few Russian pages)."""
    n = sum(map(ord, t.key))
    if t.language == "en":
        return "both"
    return ("both", "meta", "none")[n % 3]


class DominoSite:
    """Renders the Domino-era pages for the items whose copy lives on source "mid_domino"."""

    source = SOURCE

    def __init__(self, catalog: Catalog):
        self.catalog = catalog
        self.removed: set[str] = set()  # keys the live copy no longer serves (SampleSite.domino_changes)

    def handle(self, request: Request) -> Response:
        target = request.target
        if target == "/robots.txt":
            return text(ROBOTS)
        path = target.split("#", 1)[0]
        m = VIEW_RE.match(path.replace("?OpenView", "!OpenView", 1) if "?OpenView" in path else path)
        if m:
            return self._view(m["view"], _view_args(m["args"]))
        m = DOC_RE.match(path)
        if m:
            unid = m["unid"].upper()
            t = self.catalog.lookup(self.source, f"/brp_4.nsf/0/{unid}")
            if t is not None and t.key not in self.removed and (m["view"] in ("0", NEWSLINE) or m["view"] in VIEWS):
                return self._document(request, t)
        return self._404()

    # -- chrome
    def _cp1251(self, body: str, status: int = 200, where: str = "both") -> Response:
        ctype = f"text/html; charset={CHARSET}" if where == "both" else "text/html"
        if where == "none":
            body = body.replace(f'<meta http-equiv="Content-Type" content="text/html; charset={CHARSET}">\n', "")
        return html(body, status=status, charset=CHARSET, content_type=ctype)

    def _404(self) -> Response:
        return self._cp1251(self._page("ru", "Ошибка", "<h2>Error 404</h2><p>HTTP Web Server: Lotus Notes "
                                                     "Exception - Entry not found in index</p>"), status=404)

    def _page(self, lang: str, title: str, main: str, form_action: str = "") -> str:
        menu = "".join(f'<tr><td><img src="/icons/ecblank.gif" width="8" height="1" border="0">'
                       f'<a href="{href}"><font size="2" color="#003366">{escape(label)}</font></a></td></tr>'
                       for href, label in MENU[lang])
        logo = ("Министерство иностранных дел Российской Федерации" if lang == "ru"
                else "The Ministry of Foreign Affairs of the Russian Federation")
        copyright_ = ("© 2004–2015 Министерство иностранных дел Российской Федерации" if lang == "ru"
                      else "© 2004–2015 The Ministry of Foreign Affairs of the Russian Federation")
        search = "Поиск" if lang == "ru" else "Search"
        home = "/brp_4.nsf/main_rus" if lang == "ru" else "/brp_4.nsf/main_eng"
        return f"""<!DOCTYPE HTML PUBLIC "-//W3C//DTD HTML 4.01 Transitional//EN">
<html><head>
<meta http-equiv="Content-Type" content="text/html; charset={CHARSET}">
<title>{escape(title)}</title>
<script language="JavaScript" type="text/javascript">
<!--
document._domino_target = "_self";
function _doClick(v, o, t) {{ return false; }}
// -->
</script>
</head>
<body text="#000000" bgcolor="#FFFFFF" leftmargin="0" topmargin="0" marginwidth="0" marginheight="0">
<form method="post" action="{form_action}" name="_DominoForm">
<table width="100%" border="0" cellspacing="0" cellpadding="0"><tr>
<td width="200" bgcolor="#003366"><a href="{home}"><img src="/brp_4.nsf/logo_{lang}.gif" width="200" height="80" border="0" alt="{logo}"></a></td>
<td bgcolor="#003366" align="right" valign="bottom"><font size="1" color="#FFFFFF"><a href="/brp_4.nsf/sps?SearchView"><font color="#FFFFFF">{search}</font></a> | <a href="/brp_4.nsf/sitemap"><font color="#FFFFFF">{"Карта сайта" if lang == "ru" else "Site map"}</font></a></font></td>
</tr></table>
<table width="100%" border="0" cellspacing="0" cellpadding="6"><tr>
<td width="200" valign="top" bgcolor="#E8EEF4"><table border="0" cellspacing="0" cellpadding="2">{menu}</table></td>
<td valign="top"><div id="content">{main}</div></td>
</tr></table>
<table width="100%" border="0" cellspacing="0" cellpadding="4"><tr><td align="center" bgcolor="#E8EEF4"><font size="1">{copyright_}</font></td></tr></table>
</form>
</body></html>
"""

    # -- views
    def _items(self, view: str) -> list[Transcript]:
        return [t for t in self.catalog.on(self.source) if view in t.copies[self.source].sections
                and t.key not in self.removed]

    def _view(self, view: str, args: dict[str, str]) -> Response:
        if view not in VIEWS:
            return self._404()
        lang, label = VIEWS[view]
        try:
            start = max(1, int(args.get("start", "1")))
            count = max(1, min(1000, int(args.get("count", str(PAGE_SIZE)))))
        except ValueError:
            start, count = 1, PAGE_SIZE
        items = self._items(view)
        chunk = items[start - 1: start - 1 + count]
        rows, year = [], None
        for t in chunk:
            if t.date[:4] != year:  # a category row per year, as the era's views had (no link)
                year = t.date[:4]
                rows.append(f'<tr><td colspan="2"><b><font size="2">{year}</font></b></td></tr>')
            folder = NEWSLINE if view == NEWSLINE else "0"
            unid = t.copies[self.source].path.rsplit("/", 1)[1]
            rows.append(f'<tr valign="top"><td width="80"><font size="2" color="#808080">{dotted(t)}</font></td>'
                        f'<td><a href="/brp_4.nsf/{folder}/{unid}"><font size="2">{escape(t.title)}</font></a></td></tr>')
        nav = []
        base = f"/bdomp/brp_4.nsf/{view}!OpenView"
        if start > 1:
            nav.append(f'<a href="{base}&amp;Start={max(1, start - count)}&amp;Count={count}">'
                       f'<img src="/icons/prevview.gif" border="0" alt="Назад"></a>')
        if start - 1 + count < len(items):
            nav.append(f'<a href="{base}&amp;Start={start + count}&amp;Count={count}">'
                       f'<img src="/icons/nextview.gif" border="0" alt="Вперед"></a>')
        main = (f'<div><div><h3><font color="#003366">{escape(label)}</font></h3>'
                f'<table border="0" cellspacing="0" cellpadding="3" width="100%">{"".join(rows)}</table>'
                f'{"".join(nav)}</div></div>')
        return self._cp1251(self._page(lang, label, main, f"{base}&amp;Start={start}"))

    # -- documents
    def _body(self, t: Transcript) -> str:
        """Rich text as Domino wrote it: English documents in one <font> with <br><br> between
        paragraphs, Russian ones as <p> paragraphs. (Bold speaker labels, which some pages of
        the era have, are one of the template mutations of tests/mutate.py.)"""
        paras = [escape(p) for p in t.text_on(self.source)]
        if t.language == "en":
            return f'<font face="Arial" size="2">{"<br><br>".join(paras)}</font>'
        return "".join(f'<p><font face="Arial" size="2">{p}</font></p>' for p in paras)

    def _document(self, request: Request, t: Transcript) -> Response:
        unid = t.copies[self.source].path.rsplit("/", 1)[1]
        printable = "Версия для печати" if t.language == "ru" else "Printable version"
        main = f"""<div><div>
<table width="100%" border="0" cellspacing="0" cellpadding="0"><tr>
<td><font size="2" color="#808080">{escape(t.doc_number or "")}</font></td>
<td align="right"><font size="2" color="#808080">{dotted(t)}</font></td></tr></table>
<p align="center"><b><font size="3" color="#003366">{escape(t.title)}</font></b></p>
<div align="justify">{self._body(t)}</div>
<br><a href="javascript:window.print()"><font size="1">{printable}</font></a>
</div></div>"""
        response = self._cp1251(self._page(t.language, t.title, main, f"/brp_4.nsf/0/{unid}?OpenDocument&amp;Seq=1"),
                                where=declaration(t))
        modified = published(t) + dt.timedelta(hours=t.revision)
        return conditional(request, response, modified)
