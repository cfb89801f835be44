"""Feeds read through feedparser (crawler/feeds.py): RSS and Atom alike, and a feed that yields
nothing (empty, not a feed, malformed, an entity bomb, too large) is a counted, logged warning.

The bombs are the published shapes: the "billion laughs" of XML 1.0 entity nesting (one
declaration a line, and all on one line, which feedparser's line-anchored ``replace_doctype``
does not strip), one whose innermost value holds markup (``<``, which moves feedparser's
head/body split so nothing is stripped), and the quadratic blow-up of one large literal entity
used many times (kept by feedparser as a "safe" entity and expanded by its loose parser).
"""
from __future__ import annotations

import logging
import subprocess
import sys
import time
import xml.etree.ElementTree as ET

import pytest
from hypothesis import given, settings as hsettings, strategies as st
from scrapy.http import Request, TextResponse

from conftest import crawl_args, project_crawler, stenogram_cmd
from stenogram.crawler import feeds
from stenogram.crawler.feeds import read_feed
from stenogram.crawler.spiders.mid import MidSpider

FEED_URL = "http://127.0.0.1:8001/en/rss.php"
CAP = 8 * 1024 * 1024
ATOM_NS = "http://www.w3.org/2005/Atom"


def rss_doc(entries: list[tuple[str, str]]) -> bytes:
    rss = ET.Element("rss", version="2.0")
    channel = ET.SubElement(rss, "channel")
    ET.SubElement(channel, "title").text = "MFA"
    ET.SubElement(channel, "link").text = "http://127.0.0.1:8001/en/"
    for title, link in entries:
        item = ET.SubElement(channel, "item")
        ET.SubElement(item, "title").text = title
        ET.SubElement(item, "link").text = link
    return b'<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(rss, encoding="utf-8")


def atom_doc(entries: list[tuple[str, str]], base: str | None = None) -> bytes:
    ET.register_namespace("", ATOM_NS)
    feed = ET.Element(f"{{{ATOM_NS}}}feed")
    if base:
        feed.set("{http://www.w3.org/XML/1998/namespace}base", base)
    ET.SubElement(feed, f"{{{ATOM_NS}}}title").text = "MFA"
    ET.SubElement(feed, f"{{{ATOM_NS}}}id").text = "urn:mfa"
    ET.SubElement(feed, f"{{{ATOM_NS}}}updated").text = "2024-05-01T10:00:00Z"
    for n, (title, link) in enumerate(entries):
        entry = ET.SubElement(feed, f"{{{ATOM_NS}}}entry")
        ET.SubElement(entry, f"{{{ATOM_NS}}}title").text = title
        ET.SubElement(entry, f"{{{ATOM_NS}}}id").text = f"urn:mfa:{n}"
        ET.SubElement(entry, f"{{{ATOM_NS}}}updated").text = "2024-05-01T10:00:00Z"
        # an enclosure first: only the alternate link is the entry's page
        ET.SubElement(entry, f"{{{ATOM_NS}}}link", rel="enclosure", href="/upload/photo.jpg")
        ET.SubElement(entry, f"{{{ATOM_NS}}}link", rel="alternate", type="text/html", href=link)
    return b'<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(feed, encoding="utf-8")


ARTICLES = [("Press release on talks", "http://127.0.0.1:8001/en/foreign_policy/news/1900001/"),
            ("Брифинг официального представителя", "http://127.0.0.1:8001/ru/foreign_policy/news/1900002/")]


def _lol(nested_value: str = "lol", newline: str = "\n") -> str:
    decls = [f'<!ENTITY lol0 "{nested_value}">']
    decls += [f'<!ENTITY lol{i} "{f"&lol{i - 1};" * 10}">' for i in range(1, 10)]
    return newline.join(decls)


ITEM = "<item><title>t</title><link>http://127.0.0.1:8001/en/foreign_policy/news/1/</link></item>"
BOMBS = {
    "billion_laughs": f'<?xml version="1.0"?>\n<!DOCTYPE rss [\n{_lol()}\n]>\n'
                      f'<rss version="2.0"><channel><title>&lol9;</title>{ITEM}</channel></rss>',
    "one_line": f'<?xml version="1.0"?><!DOCTYPE rss [{_lol(newline="")}]>'
                f'<rss version="2.0"><channel><title>&lol9;</title>{ITEM}</channel></rss>',
    "markup_value": f'<?xml version="1.0"?>\n<!DOCTYPE rss [\n{_lol("<b/>lol")}\n]>\n'
                    f'<rss version="2.0"><channel><title>&lol9;</title>{ITEM}</channel></rss>',
    "quadratic": f'<?xml version="1.0"?>\n<!DOCTYPE rss [\n<!ENTITY a "{"x" * 200_000}">\n]>\n'
                 f'<rss version="2.0"><channel><title>{"&a;" * 20_000}</title>{ITEM}</channel></rss>',
}


# -- read_feed ---------------------------------------------------------------------------------

def test_rss_and_atom_give_the_same_links():
    rss = read_feed(rss_doc(ARTICLES), FEED_URL, "application/rss+xml; charset=UTF-8", CAP)
    atom = read_feed(atom_doc(ARTICLES), FEED_URL, "application/atom+xml", CAP)
    assert (rss.version, rss.problem) == ("rss20", None)
    assert (atom.version, atom.problem) == ("atom10", None)
    assert rss.links == atom.links == [link for _, link in ARTICLES]


def test_atom_relative_links_resolve_against_xml_base_and_the_feed_url():
    entries = [("a", "/en/foreign_policy/news/1/"), ("b", "foreign_policy/news/2/")]
    based = read_feed(atom_doc(entries, base="http://127.0.0.1:9/en/"), FEED_URL, "application/atom+xml", CAP)
    assert based.links == ["http://127.0.0.1:9/en/foreign_policy/news/1/",
                           "http://127.0.0.1:9/en/foreign_policy/news/2/"]
    plain = read_feed(atom_doc(entries), FEED_URL, "application/atom+xml", CAP)
    assert plain.links == ["http://127.0.0.1:8001/en/foreign_policy/news/1/",
                           "http://127.0.0.1:8001/en/foreign_policy/news/2/"]


def test_rss_served_as_html_is_still_a_feed():
    """feedparser flags a wrong media type (NonXMLContentType); the feed itself is fine."""
    reading = read_feed(rss_doc(ARTICLES), FEED_URL, "text/html; charset=UTF-8", CAP)
    assert reading.problem is None and len(reading.links) == 2


@pytest.mark.parametrize("body, problem", [
    (rss_doc([]), feeds.EMPTY),
    (atom_doc([]), feeds.EMPTY),
    (b'<rss version="2.0"><channel><title>x</title><item><title>no link</title></item></channel></rss>',
     feeds.EMPTY),
    (b"<html><head><title>Data processing</title></head><body><p>Please wait</p></body></html>",
     feeds.NOT_A_FEED),
    (b"", feeds.NOT_A_FEED),
    (b"\x00\xff garbage \xfe", feeds.NOT_A_FEED),
])
def test_a_feed_that_gives_nothing_says_why(body, problem):
    reading = read_feed(body, FEED_URL, "application/rss+xml", CAP)
    assert reading.links == []
    assert reading.problem == problem
    assert reading.detail and "\n" not in reading.detail


def test_a_malformed_feed_keeps_what_it_could_read_and_says_so():
    cut = rss_doc(ARTICLES)[:-len(b"</item></channel></rss>")]  # the download stopped there
    reading = read_feed(cut, FEED_URL, "application/rss+xml", CAP)
    assert reading.problem == feeds.MALFORMED
    assert "SAXParseException" in reading.detail
    assert reading.links == [link for _, link in ARTICLES]


@pytest.mark.parametrize("name", sorted(BOMBS))
def test_entity_bombs_are_refused_unparsed(name):
    started = time.process_time()
    reading = read_feed(BOMBS[name].encode(), FEED_URL, "application/rss+xml", CAP)
    assert reading.problem == feeds.ENTITIES and reading.links == []
    # refused on sight: a scan of the bytes, not an expansion (the quadratic one is 280 KB)
    assert time.process_time() - started < 1.0


def test_what_feedparser_alone_does_with_the_quadratic_bomb():
    """Why the refusal exists: feedparser alone keeps the literal entity and its loose parser
    expands it past any sane bound. Run in a child limited to 1 GiB of address space."""
    code = ("import resource, sys, feedparser\n"
            "resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30))\n"
            "data = sys.stdin.buffer.read()\n"
            "try:\n    feedparser.parse(data)\nexcept MemoryError:\n    print('MemoryError')\n")
    proc = subprocess.run([sys.executable, "-c", code], input=BOMBS["quadratic"].encode(),
                          capture_output=True, timeout=120)
    assert b"MemoryError" in proc.stdout + proc.stderr


def test_a_feed_over_the_cap_is_not_parsed():
    body = rss_doc(ARTICLES * 200)
    reading = read_feed(body, FEED_URL, "application/rss+xml", len(body) - 1)
    assert reading.problem == feeds.TOO_LARGE and reading.links == []
    assert read_feed(body, FEED_URL, "application/rss+xml", len(body)).problem is None


xml_text = st.text(st.characters(blacklist_categories=("Cs", "Cc")), max_size=40)
paths = st.builds(lambda lang, n: f"/{lang}/foreign_policy/news/{n}/",
                  st.sampled_from(["en", "ru"]), st.integers(1, 10**9))


@hsettings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(xml_text, paths), max_size=12), st.sampled_from(["rss", "atom"]))
def test_property_every_entry_link_comes_back_in_order(entries, form):
    entries = [(title, "http://127.0.0.1:8001" + path) for title, path in entries]
    body = rss_doc(entries) if form == "rss" else atom_doc(entries)
    reading = read_feed(body, FEED_URL, f"application/{form}+xml", CAP)
    assert reading.links == [link for _, link in entries]
    assert reading.entries == len(entries)
    assert reading.problem == (None if entries else feeds.EMPTY)


@hsettings(max_examples=60, deadline=None)
@given(st.binary(max_size=400))
def test_property_any_bytes_give_a_reading_never_an_exception(body):
    reading = read_feed(body, FEED_URL, "application/rss+xml", CAP)
    assert reading.links or reading.problem is not None


# -- the spider's feed callback: counted, logged, followed ---------------------------------------

def feed_response(body: bytes, content_type: str) -> TextResponse:
    return TextResponse(FEED_URL, body=body, headers={"Content-Type": content_type},
                        request=Request(FEED_URL))


def spider_with_stats():
    crawler = project_crawler(MidSpider)
    spider = MidSpider.from_crawler(crawler, base_url="http://127.0.0.1:8001")
    crawler.stats.open_spider()
    return spider, crawler.stats


def test_mid_follows_an_atom_feed():
    spider, stats = spider_with_stats()
    requests = list(spider.parse_rss(feed_response(atom_doc(ARTICLES), "application/atom+xml")))
    assert [r.url for r in requests] == [link for _, link in ARTICLES]
    assert all(r.callback == spider.parse_article for r in requests)
    assert stats.get_value("stenogram/feed/read") == 1
    assert stats.get_value("stenogram/feed/entries") == 2


@pytest.mark.parametrize("body, problem", [
    (BOMBS["billion_laughs"].encode(), "entities"),
    (rss_doc([]), "empty"),
    (b"<html><body>Please enable JavaScript</body></html>", "not_a_feed"),
])
def test_mid_warns_once_when_a_feed_gives_nothing(body, problem, caplog):
    spider, stats = spider_with_stats()
    with caplog.at_level(logging.WARNING):
        requests = list(spider.parse_rss(feed_response(body, "application/rss+xml")))
    assert requests == []
    assert stats.get_value(f"stenogram/feed/{problem}") == 1
    lines = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(lines) == 1
    assert FEED_URL in lines[0].getMessage() and problem in lines[0].getMessage()


# -- a crawl of the sample site serving Atom ----------------------------------------------------

@pytest.mark.network
def test_crawl_reads_the_sample_sites_atom_feed(tmp_path):
    from stenogram.sample_site.server import SampleSite

    with SampleSite(port=0, size=12, seed=7, feed_format="atom") as site:
        proc = stenogram_cmd(*crawl_args(site, tmp_path, "mid"))
        assert proc.returncode == 0, proc.stdout + proc.stderr
        requested = site.requested("mid")
    # the feed was Atom, and its entries were followed: one entry links through the legacy
    # short URL /en/news/<id>/, which nothing but the feed links to
    assert any(t.startswith("/en/news/") for t in requested), requested
    assert any(t.startswith("/ru/news/") for t in requested), requested
    log = "".join(p.read_text() for p in (tmp_path / "logs").glob("*.log"))
    assert "feed http" not in log  # no feed warning (the log keeps warnings): both read whole


@pytest.mark.network
def test_crawl_of_a_site_whose_feeds_give_nothing_says_so(tmp_path):
    """The issue's case end to end: mid.ru's English feed a billion-laughs bomb, the Russian
    one an empty Atom feed. The crawl ends by itself, and its log names each feed and why."""
    import threading
    from http.server import ThreadingHTTPServer

    from conftest import LoopbackHandler

    routes = {
        "/robots.txt": (b"User-agent: *\nDisallow: /*?PAGEN\n", "text/plain"),
        "/en/rss.php": (BOMBS["one_line"].encode(), "application/rss+xml"),
        "/ru/rss.php": (atom_doc([]), "application/atom+xml"),
    }

    class Handler(LoopbackHandler):
        def do_GET(self):
            body, ctype = routes.get(self.path, (b"<html><body><ul class='announce'></ul></body></html>",
                                                 "text/html; charset=utf-8"))
            self._send(200, body, [("Content-Type", ctype)])

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        base = f"http://127.0.0.1:{server.server_address[1]}"
        proc = stenogram_cmd("crawl", "mid", "--loopback", "--out", str(tmp_path), "--base-url", f"mid={base}")
    finally:
        server.shutdown()
        server.server_close()
    assert proc.returncode == 0, proc.stdout + proc.stderr
    log = "".join(p.read_text() for p in (tmp_path / "logs").glob("*.log"))
    feed_lines = [line for line in log.splitlines() if "WARNING" in line and "feed http" in line]
    assert len(feed_lines) == 2, log
    assert any(f"{base}/en/rss.php: entities:" in line for line in feed_lines)
    assert any(f"{base}/ru/rss.php: empty: atom10: no entries" in line for line in feed_lines)
    # and on the terminal: the crawl shows warnings
    assert "entities" in proc.stderr and "empty" in proc.stderr
