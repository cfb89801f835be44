"""globalsecurity.org's news library: Apache directory indexes and old table-layout pages, deflate."""
from __future__ import annotations

import datetime as dt
from html import escape

from stenogram.sample_site.content import Catalog, en_date
from stenogram.sample_site.messages import Request, Response, html, not_found, redirect, text

ROBOTS = "User-agent: *\nDisallow: /cgi-bin/\n"
ROOT = "/wmd/library/news/"


class GlobalSecuritySite:
    source = "globalsecurity"

    def __init__(self, catalog: Catalog):
        self.catalog = catalog

    def _files(self) -> dict[str, tuple[str, object]]:
        """path -> ("mfa", transcript) | ("other", neighbour)."""
        files = {}
        for t in self.catalog.on(self.source):
            files[t.copies[self.source].path] = ("mfa", t)
        for n in self.catalog.neighbours:
            files[n.path] = ("other", n)
        return files

    def handle(self, request: Request) -> Response:
        path = request.path
        if path == "/robots.txt":
            return self._deflate(text(ROBOTS))
        files = self._files()
        if path in files:
            kind, item = files[path]
            return self._deflate(self._mfa(item) if kind == "mfa" else self._other(item))
        if path.startswith(ROOT) or path + "/" == ROOT:
            prefix = path if path.endswith("/") else path + "/"
            children = sorted({rest.split("/")[0] + ("/" if "/" in rest else "")
                               for p in files if p.startswith(prefix) for rest in [p[len(prefix):]]})
            if children and not path.endswith("/"):
                return redirect(prefix)
            if children:
                return self._deflate(self._index(path, children))
        return not_found("iso-8859-1")

    @staticmethod
    def _deflate(response: Response) -> Response:
        response.compress = "deflate"
        response.headers.append(("Server", "Apache"))
        return response

    @staticmethod
    def _index(path: str, children: list[str]) -> Response:
        rows = "".join(f'<tr><td valign="top"><img src="/icons/{"folder" if c.endswith("/") else "text"}.gif" alt="[   ]"></td>'
                       f'<td><a href="{escape(c)}">{escape(c)}</a></td><td align="right">2024-06-01 10:00  </td>'
                       f'<td align="right">{"  - " if c.endswith("/") else " 24K"}</td></tr>\n' for c in children)
        return html(f"""<!DOCTYPE HTML PUBLIC "-//W3C//DTD HTML 3.2 Final//EN">
<html><head><title>Index of {escape(path.rstrip('/'))}</title></head><body>
<h1>Index of {escape(path.rstrip('/'))}</h1>
<table><tr><th valign="top"><img src="/icons/blank.gif" alt="[ICO]"></th><th><a href="?C=N;O=D">Name</a></th><th><a href="?C=M;O=A">Last modified</a></th><th><a href="?C=S;O=A">Size</a></th></tr>
<tr><th colspan="4"><hr></th></tr>
<tr><td valign="top"><img src="/icons/back.gif" alt="[PARENTDIR]"></td><td><a href="../">Parent Directory</a></td><td>&nbsp;</td><td align="right">  - </td></tr>
{rows}<tr><th colspan="4"><hr></th></tr></table></body></html>""")

    @staticmethod
    def _layout(title: str, logo: str, dateline: str, body: str) -> Response:
        return html(f"""<!DOCTYPE HTML PUBLIC "-//W3C//DTD HTML 4.01 Transitional//EN">
<html><head><meta http-equiv="Content-Type" content="text/html; charset=utf-8"><title>{escape(title)}</title></head>
<body bgcolor="#FFFFFF" topmargin="0" leftmargin="0">
<table width="100%" border="0" cellspacing="0" cellpadding="0">
<tr><td align="center" class="ad"><script src="/js/ads.js"></script><div id="ad-leaderboard"></div></td></tr>
<tr><td align="center" bgcolor="#FFDD00"><a href="https://u24.gov.ua/"><b>UNITED24 - Make a charitable donation in support of Ukraine!</b></a></td></tr>
</table>
<table width="100%" border="0" cellspacing="0" cellpadding="4">
<tr><td valign="top" width="160" bgcolor="#E6E6E6"><a href="/wmd/index.html"><b>Weapons of Mass Destruction (WMD)</b></a></td>
<td valign="top">
<p><img src="/wmd/library/news/russia/images/mid-logo.gif" alt="{escape(logo)}" width="400" height="60"></p>
<p><font size="+1"><b>{escape(title)}</b></font></p>
<p><font size="-1">{dateline}</font></p>
{body}
</td></tr></table>
<table width="100%" border="0"><tr><td align="center" bgcolor="#E6E6E6">
<form action="/cgi-bin/mailinglist.cgi" method="post"><b>Join the GlobalSecurity.org mailing list</b>
<input type="text" name="email" size="20"><input type="submit" value="Sign Up"></form>
</td></tr></table></body></html>""")

    def _mfa(self, t) -> Response:
        day = dt.date.fromisoformat(t.date)
        dateline = f'{en_date(day)}<span class="time">{t.time or ""}</span>'
        body = "\n".join(f"<p>{escape(p)}</p>" for p in t.text_on(self.source))
        return self._layout(t.title_on(self.source), "The Ministry of Foreign Affairs of the Russian Federation", dateline, body)

    def _other(self, n) -> Response:
        body = "\n".join(f"<p>{escape(p)}</p>" for p in n.paragraphs)
        return self._layout(n.title, n.logo, en_date(dt.date.fromisoformat(n.date)), body)
