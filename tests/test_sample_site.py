"""The bundled sample site: URL schemes, markup, transport details and content fidelity.

Every request goes to 127.0.0.1 with a timeout.
"""
from __future__ import annotations

import gzip
import http.client
import json
import re
import socket
import xml.etree.ElementTree as ET
import zlib
from urllib.parse import urlsplit

import click
import pytest
from click.testing import CliRunner
from hypothesis import given
from hypothesis import strategies as st
from parsel import Selector
from protego import Protego

from stenogram.sample_site.cli import commands
from stenogram.sample_site.content import (CONTENT_DIR, VARIANTS, apply_variant, build_catalog, slugify,
                                           straight_quotes)
from stenogram.sample_site.messages import Response
from stenogram.sample_site.server import SampleSite

pytestmark = pytest.mark.network
TIMEOUT = 5


@pytest.fixture(scope="module")
def site():
    with SampleSite(port=0, size=40, seed=3) as s:
        yield s


class Fetched:
    def __init__(self, status, headers, raw):
        self.status, self.headers, self.raw = status, headers, raw

    def header(self, name):
        values = self.all(name)
        return values[0] if values else None

    def all(self, name):
        return [v for k, v in self.headers if k.lower() == name.lower()]

    @property
    def body(self) -> bytes:
        coding = self.header("Content-Encoding")
        if coding == "gzip":
            return gzip.decompress(self.raw)
        if coding == "deflate":
            return zlib.decompress(self.raw)
        return self.raw

    def text(self, encoding="utf-8") -> str:
        return self.body.decode(encoding)

    def sel(self, encoding="utf-8") -> Selector:
        return Selector(text=self.text(encoding))


def fetch(url: str, headers: dict | None = None, method: str = "GET") -> Fetched:
    """One request, no redirect following, raw bytes kept (http.client de-chunks for us)."""
    parts = urlsplit(url)
    assert parts.hostname == "127.0.0.1"
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=TIMEOUT)
    try:
        conn.request(method, parts.path + (f"?{parts.query}" if parts.query else ""), headers=headers or {})
        resp = conn.getresponse()
        return Fetched(resp.status, resp.getheaders(), resp.read())
    finally:
        conn.close()


def norm(s: str) -> str:
    return re.sub(r"\s+", " ", s).strip()


def page_text(sel: Selector) -> str:
    return norm(" ".join(sel.xpath("//body//text()").getall()))


# ------------------------------------------------------------------ ports and catalog
def test_base_urls_are_loopback_and_distinct(site):
    urls = site.base_urls
    assert set(urls) == {"mid", "mid_archive", "globalsecurity", "interaffairs", "mid_domino"}
    ports = {urlsplit(u).port for u in urls.values()}
    assert len(ports) == 5
    assert all(urlsplit(u).hostname == "127.0.0.1" for u in urls.values())


def _free_block() -> int:
    for _ in range(20):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            base = s.getsockname()[1]
        if base > 65000:
            continue
        ok = True
        for p in range(base, base + 5):
            with socket.socket() as t:
                try:
                    t.bind(("127.0.0.1", p))
                except OSError:
                    ok = False
        if ok:
            return base
    pytest.skip("no block of 5 free ports")


def test_fixed_port_serves_consecutive_ports():
    base = _free_block()
    with SampleSite(port=base, size=0) as s:
        assert [urlsplit(s.base_urls[k]).port
                for k in ("mid", "mid_archive", "globalsecurity", "interaffairs", "mid_domino")] \
            == [base, base + 1, base + 2, base + 3, base + 4]
        assert fetch(s.base_urls["mid"] + "/robots.txt").status == 200


def test_refuses_non_loopback_host():
    with pytest.raises(ValueError):
        SampleSite(host="0.0.0.0")


def test_catalog_is_deterministic_and_seed_dependent():
    a, b = build_catalog(60, seed=7).describe(), build_catalog(60, seed=7).describe()
    assert a == b
    assert build_catalog(60, seed=8).describe() != a


def test_catalog_shape_and_eras():
    cat = build_catalog(400, seed=2)
    assert len([t for t in cat if t.kind.startswith("seed")]) == 7
    assert 0.1 < sum(t.language == "ru" for t in cat if t.kind == "filler") / 398 < 0.3
    for t in cat:
        if t.home == "mid":
            assert t.date >= "2021-08-01"
        elif t.home == "mid_archive":
            assert "2016-01-01" <= t.date < "2021-08-01"
        if "interaffairs" in t.copies:
            assert t.date <= "2020-07-31" and t.language == "en"
        for source, copy in t.copies.items():
            if source in ("mid", "mid_archive"):
                assert len(str(copy.id)) == 7
    mids = sorted((t.date, t.copies["mid"].id) for t in cat if "mid" in t.copies)
    assert [i for _, i in mids] == sorted(i for _, i in mids), "Bitrix ids grow with date"


def test_large_catalog_builds_and_fillers_are_not_near_duplicates():
    cat = build_catalog(5000, seed=1)
    assert len(cat) == 5007 + 36  # seeds, Russian counterparts, fillers, the Domino era's fixed 36
    fillers = [t for t in cat if t.kind == "filler" and t.language == "en"][:40]

    def shingles(t):
        words = re.findall(r"\w+", " ".join(t.paragraphs).lower())
        return {tuple(words[i:i + 5]) for i in range(len(words) - 4)}

    sets = [shingles(t) for t in fillers]
    worst = max(len(x & y) / min(len(x), len(y)) for i, x in enumerate(sets) for y in sets[i + 1:])
    assert worst < 0.3


def test_hard_negatives_share_opening_and_closing_only():
    cat = build_catalog(10, seed=5)
    a, b = [t for t in cat if t.kind == "hard_negative"]
    assert a.paragraphs[0] == b.paragraphs[0] and a.paragraphs[-1] == b.paragraphs[-1]
    assert a.paragraphs[1:-1] != b.paragraphs[1:-1]
    assert a.title != b.title and a.date != b.date


# ------------------------------------------------------------------ seed ground truth
CHROME = ["Showing 1 result", "Advanced settings", "Join the GlobalSecurity", "Category:", "Print version",
          "Фотоальбом", "UNITED24", "de-DE1", "Editor's Column", "Некорректно", "Дополнительные"]


@pytest.mark.parametrize("path", sorted((CONTENT_DIR / "seeds").glob("*.json")), ids=lambda p: p.name)
def test_seed_json_is_clean(path):
    d = json.loads(path.read_text(encoding="utf-8"))
    assert {"key", "language", "title", "date", "time", "place", "doc_number", "paragraphs"} <= set(d)
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", d["date"])
    assert d["time"] is None or re.fullmatch(r"\d{2}:\d{2}", d["time"])
    assert len(d["paragraphs"]) >= 20
    for p in d["paragraphs"]:
        assert p == p.strip() and p
        assert not any(c in p for c in CHROME), p
        assert not re.search(r"[а-яА-Я]", p)


def test_seed_facts():
    cat = build_catalog(0)
    assert cat["seed-003"].doc_number == "676-12-04-2024"
    assert [cat[f"seed-00{i}"].doc_number for i in (0, 1, 2, 4)] == [None] * 4
    assert cat["seed-001"].place is None and cat["seed-001"].time == "14:44"
    assert (cat["seed-002"].date, cat["seed-002"].time, cat["seed-002"].place) == ("2019-10-09", "10:54", "Nur-Sultan")
    assert cat["seed-004"].home == "mid_archive" and cat["seed-000"].home == "mid"
    assert "/2024/04/" in cat["seed-003"].copies["globalsecurity"].path


@pytest.mark.parametrize("key", ["seed-000", "seed-001", "seed-002", "seed-003", "seed-004"])
def test_seed_text_served_on_home_and_mirrors(site, key):
    t = site.catalog[key]
    assert len(t.copies) >= 2
    for source, urls in site.urls(key).items():
        variant = t.copies[source].variant
        expected = apply_variant(variant, t.paragraphs)
        missing = set(t.paragraphs) - set(expected) if "drop" in variant else set()
        for url in urls:
            r = fetch(url, {"Accept-Encoding": "gzip, deflate"})
            assert r.status == 200, url
            charset = "windows-1251" if source == "interaffairs" else "utf-8"
            text = page_text(r.sel(charset))
            for p in expected:
                assert norm(p) in text, (source, p[:60])
            for p in missing:
                assert norm(p) not in text
            if "straight_quotes" in variant:
                curly = [p for p in t.paragraphs if p != straight_quotes(p)]
                assert curly and not any(norm(p) in text for p in curly)


# ------------------------------------------------------------------ mid (Bitrix)
def test_mid_listing_paging_and_empty_page(site):
    base = site.base_urls["mid"]
    first = fetch(base + "/en/foreign_policy/news/")
    assert first.status == 200
    items = first.sel().css("ul.announce.announce_articles > li.announce__item")
    expected = [t for t in site.catalog.on("mid", "en") if "foreign_policy/news" in t.copies["mid"].sections]
    assert len(items) == min(10, len(expected))
    for li, t in zip(items, expected):
        assert li.css("a.announce__link::attr(href)").get() == f"/en/foreign_policy/news/{t.copies['mid'].id}/"
        assert norm(li.css("a.announce__link::text").get()) == norm(t.title)
        assert re.fullmatch(r"\d{1,2} [A-Z][a-z]+ \d{4}", li.css("span.announce__date::text").get())
        assert li.css(".announce__meta-tags")
    pages = -(-len(expected) // 10)
    past = fetch(base + f"/en/foreign_policy/news/?PAGEN_1={pages + 1}")
    assert past.status == 200
    assert past.sel().css("ul.announce.announce_articles")
    assert not past.sel().css("li.announce__item")
    ru = fetch(base + "/ru/foreign_policy/news/").sel()
    assert all(re.fullmatch(r"\d{2}\.\d{2}\.\d{4}", d) for d in ru.css("span.announce__date::text").getall())


def test_mid_article_markup(site):
    t = site.catalog["seed-003"]
    base = site.base_urls["mid"]
    r = fetch(base + t.copies["mid"].path)
    s = r.sel()
    assert norm(s.css("div.photo-content h1.photo-content__title::text").get()) == t.title
    assert s.css(".photo-content__date::text").get() == "12 April 2024"
    assert s.css(".photo-content__time::text").get() == "15:38"
    assert s.css("p.article-line__note.article-line__note_small::text").get() == "676-12-04-2024"
    body = s.css("div.text.article-content")
    assert len(body) == 1
    assert body.css("h2::text").get() == "Contents"
    assert body.css("a[href^='#']::text").getall().count("Back to contents") >= 2
    assert "1 из 1 фотографий в альбоме" in " ".join(body.xpath(".//text()").getall())  # nested in body
    rest = page_text(s)
    for chrome in ("Некорректно указаны даты", "Дополнительные инструменты поиска", "Международная безопасность"):
        assert chrome in rest
    assert all(p.xpath("ancestor::div[2]") for p in body.css("p"))  # nested divs
    # same id in the second section
    assert fetch(base + f"/en/press_service/minister_speeches/{t.copies['mid'].id}/").status == 200
    # language switcher both ways
    ru = site.catalog[t.counterpart]
    assert s.css(".lang-switcher a:contains('RU')::attr(href)").get() == ru.copies["mid"].path
    rs = fetch(base + ru.copies["mid"].path).sel()
    assert rs.css(".lang-switcher a:contains('EN')::attr(href)").get() == t.copies["mid"].path
    assert rs.css(".photo-content__date::text").get() == "12.04.2024"
    assert rs.css("div.text.article-content h2::text").get() == "Содержание"
    assert any(p.startswith("С.В.Лавров:") for p in rs.css("div.text.article-content p::text").getall())
    assert fetch(base + "/en/foreign_policy/news/9999999/").status == 404


def test_mid_transport_headers_gzip_cookies_and_304(site):
    url = site.base_urls["mid"] + site.catalog["seed-000"].copies["mid"].path
    r = fetch(url, {"Accept-Encoding": "gzip"})
    assert r.header("Content-Encoding") == "gzip"
    assert b"photo-content__title" in r.body
    assert len(r.all("Set-Cookie")) >= 2
    assert any(c.startswith("PHPSESSID=") for c in r.all("Set-Cookie"))
    etag, modified = r.header("ETag"), r.header("Last-Modified")
    assert etag and modified
    assert fetch(url, {"If-None-Match": etag}).status == 304
    assert fetch(url, {"If-Modified-Since": modified}).status == 304
    assert fetch(url, {"If-None-Match": '"other"'}).status == 200
    assert fetch(url).header("Content-Encoding") is None


def test_mid_redirects_and_lang_param(site):
    base = site.base_urls["mid"]
    path = site.catalog["seed-000"].copies["mid"].path
    r = fetch(base + path.rstrip("/"))
    assert r.status == 301 and r.header("Location") == path
    same = fetch(base + path + "?lang=ru")
    assert same.status == 200 and same.sel().css("html::attr(lang)").get() == "en"
    # RSS: parses, newest first, one item goes through a 2-hop redirect chain
    rss = ET.fromstring(fetch(base + "/en/rss.php").body)
    items = rss.findall("./channel/item")
    assert 0 < len(items) <= 20
    assert all(i.findtext("title") and i.findtext("pubDate") and i.findtext("description") for i in items)
    links = [i.findtext("link") for i in items]
    legacy = [u for u in links if "/en/news/" in u]
    assert len(legacy) == 1
    hops, url = 0, legacy[0]
    while True:
        r = fetch(url)
        if r.status != 301:
            break
        hops += 1
        url = base + r.header("Location")
    assert r.status == 200 and hops >= 2
    assert r.sel().css("h1.photo-content__title")


def test_mid_robots_with_protego(site):
    base = site.base_urls["mid"]
    rp = Protego.parse(fetch(base + "/robots.txt").text())
    assert not rp.can_fetch(base + "/en/foreign_policy/news/?PAGEN_1=2", "stenogram")
    assert rp.can_fetch(base + "/en/foreign_policy/news/", "stenogram")
    assert rp.can_fetch(base + site.catalog["seed-003"].copies["mid"].path, "stenogram")
    assert not rp.can_fetch(base + "/en/press_service/minister_speeches/-/asset_publisher/x/content/id/1", "x")
    assert not rp.can_fetch(base + "/search/?q=lavrov", "stenogram")


def test_request_log_records_what_was_fetched(site):
    base = site.base_urls["mid"]
    fetch(base + "/ru/press_service/minister_speeches/", {"User-Agent": "probe/1"})
    source, method, target, headers = site.requests[-1]
    assert (source, method, target) == ("mid", "GET", "/ru/press_service/minister_speeches/")
    assert headers["user-agent"] == "probe/1"
    assert "/ru/press_service/minister_speeches/" in site.requested("mid")
    assert not any("PAGEN" in p for p in site.requested("interaffairs"))


# ------------------------------------------------------------------ mid_archive (Liferay)
def test_liferay_article_and_transport(site):
    t = site.catalog["seed-002"]
    r = fetch(site.base_urls["mid_archive"] + t.copies["mid_archive"].path, {"Accept-Encoding": "gzip"})
    assert r.status == 200 and r.header("Content-Encoding") == "gzip"
    assert r.header("Content-Length") is None and r.header("Transfer-Encoding") == "chunked"
    s = r.sel()
    assert 'class="article article-part article-country  "' in r.text()
    assert norm(s.css("div.article.article-part.article-country h1::text").get()) == t.title
    assert s.css(".portlet-title-text::text").get() == "Asset Publisher"
    text = page_text(s)
    assert "9 October 2019 10:54" in text or "9 October 201910:54" in "".join(s.xpath("//body//text()").getall())
    assert "de-DE 1 en-GB 1 es-ES 1 ru-RU 1 fr-FR 1" in text
    assert "Showing 1 result." in text and "Advanced settings" in text
    assert len(s.css("div.text.article-content p")) == len(t.paragraphs)


def test_liferay_listing_paging(site):
    base = site.base_urls["mid_archive"]
    items = [t for t in site.catalog.on("mid_archive", "en")
             if "press_service/minister_speeches" in t.copies["mid_archive"].sections]
    s = fetch(base + "/en/press_service/minister_speeches").sel()
    hrefs = s.css("div.asset-abstract h3.asset-title a::attr(href)").getall()
    assert hrefs == [p for t in items[:10] for p in t.copies["mid_archive"].paths if "minister_speeches" in p]
    param = "_101_INSTANCE_7OvQR5KJWVmR_cur"
    if len(items) > 10:
        assert param in s.css(".taglib-page-iterator a::attr(href)").get()
    past = fetch(base + f"/en/press_service/minister_speeches?{param}={len(items) // 10 + 2}").sel()
    assert not past.css("div.asset-abstract")
    rp = Protego.parse(fetch(base + "/robots.txt").text())
    assert rp.can_fetch(base + hrefs[0], "x") and not rp.can_fetch(base + "/c/portal/login", "x")


# ------------------------------------------------------------------ globalsecurity
def test_globalsecurity_pages_indexes_and_deflate(site):
    base = site.base_urls["globalsecurity"]
    t = site.catalog["seed-004"]
    assert t.copies["globalsecurity"].path == "/wmd/library/news/russia/2021/russia-210408-russia-mfa01.htm"
    r = fetch(base + t.copies["globalsecurity"].path, {"Accept-Encoding": "deflate"})
    assert r.header("Content-Encoding") == "deflate" and "charset=utf-8" in r.header("Content-Type")
    s = r.sel()
    assert not s.css("div.text.article-content")
    raw_text = "".join(s.xpath("//body//text()").getall())
    assert "8 April 202114:32" in raw_text
    order = [page_text(s).index(x) for x in ("UNITED24 - Make a charitable donation in support of Ukraine!",
                                              "Weapons of Mass Destruction (WMD)", "Ladies and gentlemen,",
                                              "Join the GlobalSecurity.org mailing list")]
    assert order == sorted(order)
    assert s.css("img::attr(alt)").getall().count("The Ministry of Foreign Affairs of the Russian Federation") == 1
    root = fetch(base + "/wmd/library/news/russia/").sel()
    assert "Index of" in root.css("title::text").get()
    assert "2021/" in root.css("a::attr(href)").getall()
    year = fetch(base + "/wmd/library/news/russia/2021/").sel().css("a::attr(href)").getall()
    assert "russia-210408-russia-mfa01.htm" in year and "russia-210408-russia-mod01.htm" in year
    assert "04/" in fetch(base + "/wmd/library/news/russia/2024/").sel().css("a::attr(href)").getall()
    month = fetch(base + "/wmd/library/news/russia/2024/04/").sel().css("a::attr(href)").getall()
    assert "russia-240412-russia-mfa01.htm" in month
    ukraine = fetch(base + "/wmd/library/news/ukraine/2022/").sel().css("a::attr(href)").getall()
    assert "russia-220305-russia-mfa01.htm" in ukraine
    assert fetch(base + "/wmd/library/news/russia/2021").status == 301
    kremlin = fetch(base + "/wmd/library/news/russia/2022/russia-220305-russia-kremlin01.htm").sel()
    assert "Foreign Affairs" not in " ".join(kremlin.css("img::attr(alt)").getall())
    assert Protego.parse(fetch(base + "/robots.txt").body.decode()).can_fetch(base + "/wmd/", "x")


def test_globalsecurity_nn_counts_per_day():
    cat = build_catalog(3000, seed=4)
    by_day = {}
    for t in cat:
        if "globalsecurity" in t.copies:
            name = t.copies["globalsecurity"].path.rsplit("/", 1)[1]
            by_day.setdefault(name.split("-")[1], []).append(int(name[-6:-4]))
    assert all(sorted(v) == list(range(1, len(v) + 1)) for v in by_day.values())
    assert any(len(v) > 1 for v in by_day.values())


# ------------------------------------------------------------------ interaffairs (DLE)
def test_interaffairs_windows_1251_meta_only_chunked(site):
    base = site.base_urls["interaffairs"]
    t = site.catalog["seed-001"]
    assert re.fullmatch(r"/lavrov/\d+-[a-z0-9-]+\.html", t.copies["interaffairs"].path)
    r = fetch(base + t.copies["interaffairs"].path)
    assert r.header("Content-Type") == "text/html"
    assert r.header("Content-Length") is None and r.header("Transfer-Encoding") == "chunked"
    assert b'<meta http-equiv="Content-Type" content="text/html; charset=windows-1251" />' in r.body
    assert "’".encode("cp1251") in r.body
    with pytest.raises(UnicodeDecodeError):
        r.body.decode("utf-8")
    s = r.sel("windows-1251")
    text = page_text(s)
    assert "6-08-2014, 14:44" in text
    assert "Category: Minister S.Lavrov" in text and "Views: 2" in text and "Print version" in text
    assert "July 2020 (7)" in text and "Editor's Column" in text
    assert s.css("div.full-story br") and not s.css("div.full-story p")
    assert len(s.css("div.related li")) >= 1
    printed = s.css("a:contains('Print version')::attr(href)").get()
    assert printed.startswith("/lavrov/print:page,1,")
    assert fetch(base + printed).status == 200
    rp = Protego.parse(fetch(base + "/robots.txt").text())
    assert not rp.can_fetch(base + printed, "x") and rp.can_fetch(base + t.copies["interaffairs"].path, "x")


def test_interaffairs_listing_paging():
    with SampleSite(size=120, seed=9) as s:
        base = s.base_urls["interaffairs"]
        items = s.catalog.on("interaffairs")
        assert len(items) > 10
        first = fetch(base + "/lavrov/").sel("windows-1251")
        assert first.css("div.shortstory h2 a::attr(href)").getall() == [t.copies["interaffairs"].path
                                                                         for t in items[:10]]
        assert first.css(".navigation a::attr(href)").get() == "/lavrov/page/2/"
        second = fetch(base + "/lavrov/page/2/").sel("windows-1251")
        assert second.css("div.shortstory h2 a::attr(href)").get() == items[10].copies["interaffairs"].path
        assert fetch(base + f"/lavrov/page/{len(items) // 10 + 2}/").status == 404


# ------------------------------------------------------------------ silent edits
def test_edit_changes_home_in_place_and_mirrors_keep_old_text():
    with SampleSite(size=0) as s:
        t = s.catalog["seed-000"]
        home = s.base_urls["mid"] + t.copies["mid"].path
        mirror = s.base_urls["globalsecurity"] + t.copies["globalsecurity"].path
        before = fetch(home)
        new = t.paragraphs + ["Sergey Lavrov: To be continued, as we always say."]
        s.edit("seed-000", new)
        after = fetch(home, {"If-None-Match": before.header("ETag")})
        assert after.status == 200 and after.header("ETag") != before.header("ETag")
        assert "To be continued" in after.text()
        assert "To be continued" not in fetch(mirror).text()
        assert s.catalog["seed-000"].revision == 1


# ------------------------------------------------------------------ properties of the codecs
@given(st.lists(st.text(alphabet=st.sampled_from("ab ’‘“”x\n"), min_size=1), min_size=3, max_size=20),
       st.sampled_from(VARIANTS))
def test_apply_variant_properties(paragraphs, variant):
    out = apply_variant(variant, paragraphs)
    assert len(out) == len(paragraphs) - ("drop" in variant)
    if "straight_quotes" in variant:
        assert not any(c in p for p in out for c in "’‘“”")
        source = [straight_quotes(p) for p in paragraphs]
    else:
        source = paragraphs
    it = iter(source)
    assert all(any(o == s for s in it) for o in out), "a variant keeps order and drops, never rewrites"


@given(st.text())
def test_slugify_is_url_safe(title):
    slug = slugify(title)
    assert re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", slug)


def test_unknown_variant_is_an_error():
    with pytest.raises(ValueError):
        apply_variant("rot13", ["a", "b"])


# ------------------------------------------------------------------ CLI
def test_cli_command_is_exported():
    group = click.Group(commands={c.name: c for c in commands})
    result = CliRunner().invoke(group, ["sample-site", "--help"])
    assert result.exit_code == 0
    assert "--port" in result.output and "--size" in result.output and "--seed" in result.output


# ------------------------------------------------------------------ the fault hook
class _Hook:
    """A minimal fault object: answers one path with 503, resets another, serves the rest."""

    def intercept(self, request):
        if request.path == "/busy":
            return Response(503, b"busy", [("Retry-After", "7"), ("Content-Type", "text/plain")])
        if request.path == "/reset":
            return None
        return False


def test_dispatcher_consults_the_fault_hook():
    with SampleSite(size=0, faults=_Hook()) as s:
        base = s.base_urls["mid"]
        busy = fetch(base + "/busy")
        assert busy.status == 503 and busy.header("Retry-After") == "7"
        with pytest.raises((http.client.RemoteDisconnected, ConnectionError)):
            fetch(base + "/reset")
        assert fetch(base + "/robots.txt").status == 200
        assert [t for _s, _m, t, _h in s.requests] == ["/busy", "/reset", "/robots.txt"]
