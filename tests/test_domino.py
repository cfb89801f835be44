"""The Domino-era source (issue 14 part 1): the sample site's copy of mid.ru 2004–2015, the
``mid_domino`` spider, and a crawl of it end to end (archive + extract + corpus)."""
from __future__ import annotations

import datetime as dt
import re
import sqlite3
import time
from collections import Counter

import pytest
from parsel import Selector

from stenogram.sample_site import domino
from stenogram.sample_site.content import build_catalog
from stenogram.sample_site.messages import Request
from stenogram.sample_site.server import SampleSite
from stenogram.sample_site.sites.domino import DominoSite, declaration

from conftest import stenogram_cmd

RU_VIEW, EN_VIEW = (v for v, (lang, _l) in domino.VIEWS.items() if v != domino.NEWSLINE)


def get(site_or_renderer, target: str, headers: dict | None = None):
    renderer = site_or_renderer.renderers["mid_domino"] if isinstance(site_or_renderer, SampleSite) else site_or_renderer
    return renderer.handle(Request("mid_domino", "GET", target, headers or {}))


def page(response) -> Selector:
    return Selector(text=response.body.decode("cp1251"))


@pytest.fixture(scope="module")
def catalog():
    return build_catalog(size=0)


@pytest.fixture(scope="module")
def renderer(catalog):
    return DominoSite(catalog)


# ------------------------------------------------------------------ the catalog
def test_domino_documents_are_fixed_and_cover_every_year_2004_2015(catalog):
    docs = catalog.on("mid_domino")
    other = build_catalog(size=30, seed=9).on("mid_domino")
    assert [(t.key, t.title, t.paragraphs, t.copies["mid_domino"].paths) for t in docs] == \
        [(t.key, t.title, t.paragraphs, t.copies["mid_domino"].paths) for t in other]
    years = Counter(t.date[:4] for t in docs)
    assert sorted(years) == [str(y) for y in range(2004, 2016)] and min(years.values()) >= 3
    assert {t.language for t in docs} == {"en", "ru"}
    assert all(t.home == "mid_domino" and set(t.copies) == {"mid_domino"} for t in docs)
    unids = [t.copies["mid_domino"].path.rsplit("/", 1)[1] for t in docs]
    assert len(set(unids)) == len(unids) and all(re.fullmatch(r"[0-9A-F]{32}", u) for u in unids)
    for t, u in zip(docs, unids):  # the note's TIMEDATE: Julian day in the low 24 bits
        assert int(u[16:24], 16) & 0xFFFFFF == dt.date.fromisoformat(t.date).toordinal() + 1721425
        assert re.fullmatch(r"\d{2,4}-" + re.escape(dt.date.fromisoformat(t.date).strftime("%d-%m-%Y")), t.doc_number)
    assert domino.EDITED_KEY in catalog.transcripts and domino.REMOVED_KEY in catalog.transcripts


# ------------------------------------------------------------------ views
def _rows(sel: Selector) -> list[tuple[str, str]]:
    out = []
    for tr in sel.css("#content > div > div > table tr"):
        date, href = tr.css("td > font::text").get(), tr.css("td a::attr(href)").get()
        if href:
            out.append((date, href))
    return out


def _next(sel: Selector) -> str | None:
    arrows = [a for a in sel.css("#content > div > div > a") if a.css('img[alt="Вперед"]')]
    return arrows[-1].attrib["href"] if arrows else None


@pytest.mark.parametrize("view", [RU_VIEW, EN_VIEW, domino.NEWSLINE])
def test_views_page_with_start_and_the_next_arrow(renderer, catalog, view):
    lang = domino.VIEWS[view][0]
    expected = [t for t in catalog.on("mid_domino", lang) if view in t.copies["mid_domino"].sections]
    seen, target, pages = [], f"/bdomp/brp_4.nsf/{view}!OpenView", 0
    while target:
        response = get(renderer, target.replace("&amp;", "&"))
        assert response.status == 200 and response.header("Content-Type") == "text/html; charset=windows-1251"
        sel = page(response)
        rows = _rows(sel)
        assert 0 < len(rows) <= 10
        for date, href in rows:
            assert re.fullmatch(r"\d{2}\.\d{2}\.(200[4-9]|201[0-5])", date)
            folder = "newsline" if view == domino.NEWSLINE else "0"
            assert re.fullmatch(rf"/brp_4\.nsf/{folder}/[0-9A-F]{{32}}", href)
        seen += rows
        target, pages = _next(sel), pages + 1
        assert target is None or re.search(r"!OpenView&Start=\d+&Count=10$", target)
    assert pages == -(-len(expected) // 10) >= 2
    assert [h.rsplit("/", 1)[1] for _, h in seen] == [t.copies["mid_domino"].path.rsplit("/", 1)[1] for t in expected]
    dates = [dt.datetime.strptime(d, "%d.%m.%Y").date() for d, _ in seen]
    assert dates == sorted(dates, reverse=True)  # newest first


def test_view_arguments_count_expand_and_query_form(renderer):
    every = _rows(page(get(renderer, f"/bdomp/brp_4.nsf/{RU_VIEW}!OpenView&Start=1&Count=30&Expand=2")))
    assert len(every) == 18 and _next(page(get(renderer, f"/bdomp/brp_4.nsf/{RU_VIEW}?OpenView&Count=30"))) is None
    assert _rows(page(get(renderer, f"/bdomp/brp_4.nsf/{RU_VIEW}?OpenView&Start=11"))) == every[10:20]
    assert _rows(page(get(renderer, f"/bdomp/brp_4.nsf/{RU_VIEW}!OpenView&Start=500"))) == []
    assert get(renderer, "/bdomp/brp_4.nsf/nosuchview!OpenView").status == 404
    assert b"Disallow: /*?SearchView" in get(renderer, "/robots.txt").body


# ------------------------------------------------------------------ documents
def test_documents_at_both_addresses_in_windows_1251(renderer, catalog):
    ways = Counter()
    for t in catalog.on("mid_domino"):
        paths = t.copies["mid_domino"].paths
        r = get(renderer, paths[0])
        assert r.status == 200 and r.header("Last-Modified") and r.header("ETag")
        for other in paths[1:] + [paths[0] + "?OpenDocument", paths[0].replace("/0/", f"/{RU_VIEW}/")]:
            assert get(renderer, other).body == r.body, other
        text = r.body.decode("cp1251")  # every byte is windows-1251
        with pytest.raises(UnicodeDecodeError):
            r.body.decode("utf-8")
        assert t.paragraphs[-1].split(" ")[-1] in text and t.title.split(",")[0] in text
        where = declaration(t)
        ways[where] += 1
        assert ("charset=windows-1251" in r.header("Content-Type")) == (where == "both")
        assert ("charset=windows-1251" in text) == (where in ("both", "meta"))
        sel = Selector(text=text)
        assert sel.css("form[name=_DominoForm]") and sel.css("#content td[align=right] font::text").get() == \
            dt.date.fromisoformat(t.date).strftime("%d.%m.%Y")
    assert ways["both"] and ways["meta"] and ways["none"]
    assert get(renderer, "/brp_4.nsf/0/" + "0" * 32).status == 404


def test_conditional_get_answers_304(renderer, catalog):
    t = catalog.on("mid_domino")[0]
    r = get(renderer, t.copies["mid_domino"].path)
    again = get(renderer, t.copies["mid_domino"].path, {"if-none-match": r.header("ETag")})
    assert again.status == 304 and again.body == b""


def test_domino_changes_edit_one_document_and_remove_another():
    site = SampleSite(size=0)  # not started: the renderers answer directly
    edited, removed = site.catalog[domino.EDITED_KEY], site.catalog[domino.REMOVED_KEY]
    old_text = list(edited.paragraphs)
    before = get(site, edited.copies["mid_domino"].path)
    removed_path = removed.copies["mid_domino"].path
    assert get(site, removed_path).status == 200
    in_views = lambda: any(removed_path.rsplit("/", 1)[1] in h for v in (RU_VIEW, domino.NEWSLINE)  # noqa: E731
                           for _, h in _rows(page(get(site, f"/bdomp/brp_4.nsf/{v}!OpenView&Count=100"))))
    assert in_views()

    changed = site.domino_changes()
    assert changed == {"edited": edited, "removed": removed}
    after = get(site, edited.copies["mid_domino"].path)
    assert after.status == 200 and after.header("ETag") != before.header("ETag")
    assert after.header("Last-Modified") != before.header("Last-Modified")
    assert edited.paragraphs != old_text and edited.revision == 1
    assert edited.paragraphs[-1] in after.body.decode("cp1251") and old_text[-1] in after.body.decode("cp1251")
    for path in removed.copies["mid_domino"].paths:
        assert get(site, path).status == 404
    assert not in_views()
    site.domino_changes()  # idempotent
    assert edited.revision == 1

    later = SampleSite(size=0, domino_later=True)
    assert later.catalog[domino.EDITED_KEY].paragraphs == edited.paragraphs
    assert get(later, removed_path).status == 404


def _status(url: str) -> int:
    import urllib.error
    import urllib.request

    try:
        with urllib.request.urlopen(url, timeout=10) as r:
            return r.status
    except urllib.error.HTTPError as e:
        return e.code


@pytest.mark.parametrize("later", [False, True])
def test_the_sample_site_command_serves_either_state_and_usr2_switches(later):
    """`stenogram sample-site [--domino-later]`, and `kill -USR2 PID` for the later state."""
    import json
    import signal
    import subprocess

    from conftest import VENV_BIN

    path = build_catalog(0)[domino.REMOVED_KEY].copies["mid_domino"].path
    args = [str(VENV_BIN / "stenogram"), "sample-site", "--size", "0"] + (["--domino-later"] if later else [])
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        lines = []
        while not lines or lines[-1].strip() != "}":
            lines.append(proc.stdout.readline())
            assert lines[-1], proc.stderr.read()
        base = json.loads("".join(lines))["mid_domino"]
        assert _status(base + path) == (404 if later else 200)
        proc.send_signal(signal.SIGUSR2)
        for _ in range(100):
            if _status(base + path) == 404:
                break
            time.sleep(0.05)
        assert _status(base + path) == 404
    finally:
        proc.terminate()
        proc.wait(timeout=10)


# ------------------------------------------------------------------ the spider
def test_canonical_document_url():
    from stenogram.crawler.spiders.mid_domino import canonical_document_url

    unid = "28BF39A9DFD8DDE544257D77005CCE7B"
    canonical = f"http://archive.mid.ru/brp_4.nsf/0/{unid}"
    for form in (f"/brp_4.nsf/0/{unid}", f"/brp_4.nsf/newsline/{unid}", f"/brp_4.nsf/0/{unid.lower()}",
                 f"/brp_4.nsf/0/{unid}?OpenDocument", f"/bdomp/brp_4.nsf/{RU_VIEW}/{unid}?OpenDocument",
                 f"/brp_4.nsf/0/{unid}!OpenDocument&Seq=1", f"/brp_4.nsf/0/{unid}#top"):
        assert canonical_document_url("http://archive.mid.ru" + form) == canonical, form
    for other in (f"/bdomp/brp_4.nsf/{RU_VIEW}!OpenView&Start=11", "/brp_4.nsf/main_rus",
                  f"/brp_4.nsf/0/{unid[:-1]}", f"/brp_4.nsf/0/{unid}/extra", f"/brp_5.nsf/0/{unid}"):
        assert canonical_document_url("http://archive.mid.ru" + other) is None, other


def test_spider_reads_a_view_page(renderer):
    from scrapy.http import HtmlResponse, Request as ScrapyRequest

    from stenogram.crawler.spiders.mid_domino import MidDominoSpider

    spider = MidDominoSpider(base_url="http://127.0.0.1:9")
    assert spider.allowed_hosts == ("127.0.0.1:9",)
    assert MidDominoSpider().allowed_hosts == ("archive.mid.ru", "www.mid.ru", "mid.ru")
    url = f"http://127.0.0.1:9/bdomp/brp_4.nsf/{domino.NEWSLINE}!OpenView&Start=1"
    body = get(renderer, f"/bdomp/brp_4.nsf/{domino.NEWSLINE}!OpenView&Start=1").body
    response = HtmlResponse(url, body=body, request=ScrapyRequest(url))  # no charset said: the bytes decide
    out = list(spider.parse_listing(response, page=1))
    docs = [r.url for r in out if r.callback == spider.parse_article]
    pages = [r.url for r in out if r.callback == spider.parse_listing]
    assert len(docs) == 10 and all(re.fullmatch(r"http://127\.0\.0\.1:9/brp_4\.nsf/0/[0-9A-F]{32}", u) for u in docs)
    assert pages == [f"http://127.0.0.1:9/bdomp/brp_4.nsf/{domino.NEWSLINE}!OpenView&Start=11&Count=10"]
    assert all(r.meta.get("discovery") for r in out if r.callback == spider.parse_listing)
    capped = MidDominoSpider(base_url="http://127.0.0.1:9", max_pages=1)
    assert [r.url for r in capped.parse_listing(response, page=1)] == docs  # max_pages reached: no next page


# ------------------------------------------------------------------ a crawl, end to end
def _crawl(site, out, *extra):
    args = ["crawl", "mid_domino", "--loopback", "--out", str(out), *extra]
    for source, url in site.base_urls.items():
        args += ["--base-url", f"{source}={url}"]
    return stenogram_cmd(*args, timeout=180)


@pytest.fixture(scope="module")
def domino_crawl(tmp_path_factory):
    out = tmp_path_factory.mktemp("domino")
    with SampleSite(port=0, size=0) as site:
        proc = _crawl(site, out)
        first = site.requested("mid_domino")
        changed = site.domino_changes()
        again = _crawl(site, out, "-s", "RECRAWL_FORCE=True")
        yield {"site": site, "out": out, "proc": proc, "requested": first, "again": again, "changed": changed}


def _documents(db) -> dict[str, dict]:
    """Each captured URL's path -> its document (as the corpus holds it)."""
    con = sqlite3.connect(db)
    con.row_factory = sqlite3.Row
    try:
        rows = con.execute("SELECT c.url AS url, d.* FROM captures c JOIN documents d ON d.id = c.document_id")
        return {re.sub(r"^https?://[^/]+", "", r["url"]): dict(r) for r in rows}
    finally:
        con.close()


def test_a_crawl_archives_and_extracts_every_document_once(domino_crawl):
    proc, site = domino_crawl["proc"], domino_crawl["site"]
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    expected = site.catalog.on("mid_domino")
    by_path = _documents(domino_crawl["out"] / "corpus.db")
    # each catalog document once, with its date, title and text; Russian pages decoded from
    # windows-1251 (with or without a declared charset). The second crawl (after the edit)
    # only adds a version: the edited document is checked by the next test.
    assert len({d["id"] for d in by_path.values()}) == len(expected) == 36
    for t in expected:
        d = by_path[t.copies["mid_domino"].path]
        assert (d["title"], d["date"], d["language"], d["place"]) == (t.title, t.date, t.language, t.place)
        if t.key != domino.EDITED_KEY:
            assert d["text"] == "\n\n".join(t.paragraphs), t.key
    assert {d["date"][:4] for d in by_path.values()} == {str(y) for y in range(2004, 2016)}
    assert any("С.В.Лавров" in d["text"] for d in by_path.values())
    # every document fetched once, at its canonical address; views paged; newsline never fetched
    requested = Counter(domino_crawl["requested"])
    documents = [t for t in requested if t.startswith("/brp_4.nsf/0/")]
    assert sorted(documents) == sorted(t.copies["mid_domino"].path for t in expected)
    assert all(requested[t] == 1 for t in documents)
    assert not any("/newsline/" in t for t in requested)
    assert any("Start=11" in t for t in requested)
    assert "Extraction: mid_domino: 36 by profile, 0 by fallback" in proc.stdout


def test_a_recrawl_after_the_changes_keeps_the_removed_page_and_versions_the_edit(domino_crawl):
    again = domino_crawl["again"]
    assert again.returncode == 0, again.stdout[-3000:] + again.stderr[-3000:]
    db = domino_crawl["out"] / "corpus.db"
    edited, removed = domino_crawl["changed"]["edited"], domino_crawl["changed"]["removed"]
    by_path = _documents(db)
    con = sqlite3.connect(db)
    try:
        versions = [text for (text,) in con.execute("SELECT text FROM versions WHERE document_id = ? ORDER BY id",
                                                   (by_path[edited.copies["mid_domino"].path]["id"],))]
        total = con.execute("SELECT count(*) FROM documents").fetchone()[0]
    finally:
        con.close()
    assert len(versions) == 2 and versions[1] == "\n\n".join(edited.paragraphs) != versions[0]
    assert by_path[removed.copies["mid_domino"].path]["text"] == "\n\n".join(removed.paragraphs)
    assert total == 36
