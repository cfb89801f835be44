"""A hostile site: feed links and redirects that point at local files, other hosts, cloud
metadata and intranet addresses. The crawl must fetch none of them, count and log each, and
still finish with exit 0 (a refusal is not a failure).

Nothing here can leave the machine even if the scope checks were broken: the crawl runs with
``http_proxy``/``https_proxy`` set to a *refusing proxy* on 127.0.0.1 (``no_proxy`` only for the
hostile site itself), so any request to another host would reach that proxy, which records it
and answers 403; names are resolved by :class:`StubResolver` (a fake name -> a private address,
never looked up for real). The proxy and a decoy server (another port of 127.0.0.1, "another
site") must both see nothing.
"""
from __future__ import annotations

import gzip
import os
import re
import secrets
import threading
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from twisted.internet import defer

from stenogram.crawler.scope import ScopeResolver

TESTS = Path(__file__).parent

#: fake names for the crawl's resolver: nothing is ever looked up for real
STUB_DNS = {
    "intranet.stenogram.test": "10.0.0.1",
    "metadata.stenogram.test": "169.254.169.254",
    "rebind.stenogram.test": "127.0.0.1",  # a name on loopback does not make a base URL local
    "proxy.stenogram.test": "10.1.1.1",  # the operator's own proxy (only in the unit test)
}


class StubResolver(ScopeResolver):
    """The project's resolver with a fixed table in place of DNS (the address checks stay)."""

    def lookup(self, name, timeout=()):
        if name in STUB_DNS:
            return defer.succeed(STUB_DNS[name])
        return super().lookup(name, timeout)


class Recorder(ThreadingHTTPServer):
    """A loopback server that records every request it gets and serves ``routes``."""

    daemon_threads = True

    def __init__(self, routes=None):
        self.seen: list[str] = []
        self.routes = routes or {}

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *a):
                pass

            def _any(self):
                self.server.seen.append(f"{self.command} {self.path}")
                status, headers, body = self.server.routes.get(self.path, (403, {}, b"refused"))
                self.send_response(status)
                for k, v in headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(body)

            do_GET = do_POST = do_HEAD = do_CONNECT = do_PUT = _any

        super().__init__(("127.0.0.1", 0), Handler)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


@contextmanager
def serving(*servers):
    threads = [threading.Thread(target=s.serve_forever, daemon=True) for s in servers]
    for t in threads:
        t.start()
    try:
        yield servers
    finally:
        for s in servers:
            s.shutdown()
            s.server_close()


def rss(links) -> bytes:
    items = "".join(f"<item><title>t{i}</title><link>{link}</link></item>" for i, link in enumerate(links))
    return f'<?xml version="1.0"?><rss version="2.0"><channel><title>x</title>{items}</channel></rss>'.encode()


def hostile_routes(secret: Path, decoy: str) -> tuple[dict, list[tuple[str, str]]]:
    """The hostile site's pages, and the refusal each case must get (for the figures)."""
    decoy_port = decoy.rsplit(":", 1)[1]
    feed_links = {
        f"file://{secret}": "scheme",
        "ftp://127.0.0.2/x": "scheme",
        "s3://bucket/x": "scheme",
        "http://169.254.169.254/latest/meta-data/": "host",
        "http://10.0.0.1/admin": "host",
        f"http://localhost:{decoy_port}/en/foreign_policy/news/1/": "host",
        f"http://127.0.0.2:{decoy_port}/x": "host",
        f"{decoy}/another-port": "host",
        "http://metadata.stenogram.test/latest/meta-data/": "host",
    }
    redirects = {  # path on the hostile site -> (status, target, refusal)
        "/r/301-localhost": (301, f"http://localhost:{decoy_port}/r1", "host"),
        "/r/302-loopback2": (302, f"http://127.0.0.2:{decoy_port}/r2", "host"),
        "/r/307-file": (307, f"file://{secret}", "scheme"),
        "/r/302-private": (302, "http://10.0.0.1/admin/r", "host"),
        "/r/301-metadata": (301, "http://169.254.169.254/latest/meta-data/iam/", "host"),
        "/r/302-ftp": (302, "ftp://127.0.0.2/x", "scheme"),
        "/r/303-other-port": (303, f"{decoy}/r7", "host"),
        "/r/308-stub-private": (308, "http://intranet.stenogram.test/admin", "host"),
    }
    html = b"<html><head><title>ok</title></head><body><p>followed</p></body></html>"
    routes = {
        "/robots.txt": (200, {"Content-Type": "text/plain"}, b"User-agent: *\nAllow: /\n"),
        "/en/rss.php": (200, {"Content-Type": "application/rss+xml"},
                        rss([*feed_links, *redirects, "/r/301-ok"])),
        "/r/301-ok": (301, {"Location": "/en/foreign_policy/news/9000021/"}, b""),
        "/en/foreign_policy/news/9000021/": (200, {"Content-Type": "text/html"}, html),
    }
    for path, (status, target, _) in redirects.items():
        routes[path] = (status, {"Location": target}, b"")
    expected = [*feed_links.items(), *((target, why) for _, target, why in redirects.values())]
    return routes, expected


def crawl_env(proxy: str, site: str) -> dict:
    env = dict(os.environ)
    env.update(http_proxy=proxy, https_proxy=proxy, HTTP_PROXY=proxy, HTTPS_PROXY=proxy,
               ftp_proxy=proxy, no_proxy="127.0.0.1", NO_PROXY="127.0.0.1", COLUMNS="200",
               PYTHONPATH=os.pathsep.join(filter(None, [str(TESTS), env.get("PYTHONPATH")])))
    return env


def stats_line(stdout: str, label: str) -> int:
    m = re.search(rf"{label}[^:]*: (\d+)", stdout)
    assert m, stdout
    return int(m.group(1))


def archived_bytes(out: Path) -> bytes:
    data = b""
    for path in (out / "warc").glob("*.warc.gz"):
        data += gzip.decompress(path.read_bytes())
    db = out / "corpus.db"
    return data + (db.read_bytes() if db.exists() else b"")


@pytest.fixture(scope="module")
def hostile(tmp_path_factory):
    from conftest import stenogram_cmd

    tmp = tmp_path_factory.mktemp("hostile")
    token = secrets.token_hex(16)
    secret = tmp / "secret.txt"
    secret.write_text(f"SECRET {token}\n")
    proxy, decoy = Recorder(), Recorder()
    routes, expected = hostile_routes(secret, decoy.url)
    site = Recorder(routes)
    with serving(proxy, decoy, site):
        out = tmp / "out"
        proc = stenogram_cmd("crawl", "mid", "--loopback", "--out", str(out), "--base-url", f"mid={site.url}",
                             "-s", "TWISTED_DNS_RESOLVER=test_hostile_site.StubResolver",
                             env=crawl_env(proxy.url, site.url), timeout=120)
        yield {"proc": proc, "out": out, "token": token, "proxy": proxy, "decoy": decoy, "site": site,
               "expected": expected}


def test_nothing_off_site_was_requested(hostile):
    assert hostile["proc"].returncode == 0, hostile["proc"].stdout + hostile["proc"].stderr
    assert hostile["proxy"].seen == []
    assert hostile["decoy"].seen == []


def test_secret_file_is_in_no_warc(hostile):
    assert hostile["token"].encode() not in archived_bytes(hostile["out"])
    assert list((hostile["out"] / "warc").glob("*.warc.gz")), "the crawl wrote no WARC at all"


def test_on_site_redirect_is_still_followed(hostile):
    seen = hostile["site"].seen
    assert "GET /r/301-ok" in seen and "GET /en/foreign_policy/news/9000021/" in seen
    for path in ("/r/301-localhost", "/r/307-file", "/r/302-private", "/r/308-stub-private"):
        assert f"GET {path}" in seen  # the redirect itself came from our site; its target did not


def test_refusals_leave_nothing_owed(hostile):
    """A refusal is final: the crawl's frontier keeps neither the refused URL nor the on-site
    redirect that led to it, so the next run does not ask for them again."""
    import sqlite3

    con = sqlite3.connect(f"file:{hostile['out'] / 'state.db'}?mode=ro", uri=True)
    try:
        assert con.execute("select url from frontier").fetchall() == []
    finally:
        con.close()


def test_every_refusal_is_counted_logged_and_reported(hostile):
    proc, expected = hostile["proc"], hostile["expected"]
    assert stats_line(proc.stdout, "Refused off scope") == len(expected) == 17
    assert f"host {sum(1 for _, w in expected if w == 'host')}" in proc.stdout
    assert f"scheme {sum(1 for _, w in expected if w == 'scheme')}" in proc.stdout
    assert stats_line(proc.stdout, "Errors") == 0
    logged = proc.stderr
    for target, _ in expected:
        host = re.sub(r"^[a-z0-9]+://", "", target).split("/")[0]
        assert host in logged or target.split("://")[0] + ":" in logged, target
    assert "redirect from" in logged


# -- names and base URLs that resolve where a crawl must not go --------------------------------


@pytest.fixture(scope="module")
def private_bases(tmp_path_factory):
    """Sources whose own base URL is a private or link-local address, or a name resolving to
    one (stub) or to loopback: every request refused, nothing sent (the proxy sees nothing)."""
    from conftest import stenogram_cmd

    tmp = tmp_path_factory.mktemp("private")
    proxy = Recorder()
    with serving(proxy):
        proc = stenogram_cmd(
            "crawl", "mid", "mid_archive", "globalsecurity", "interaffairs", "--out", str(tmp / "out"),
            "--base-url", "mid=http://10.0.0.1/",
            "--base-url", "mid_archive=http://169.254.169.254/",
            "--base-url", f"globalsecurity=http://rebind.stenogram.test:{proxy.server_address[1]}",
            "--base-url", "interaffairs=http://intranet.stenogram.test/",
            "-s", "TWISTED_DNS_RESOLVER=test_hostile_site.StubResolver",
            "-s", "DOWNLOAD_DELAY=0", "-s", "AUTOTHROTTLE_ENABLED=false", "-s", "RETRY_TIMES=0",
            "-s", "LOG_LEVEL=WARNING",
            env=crawl_env(proxy.url, "none"), timeout=120)
        yield proc, proxy


def test_private_addresses_are_refused_even_as_base_url(private_bases):
    proc, proxy = private_bases
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proxy.seen == []
    out = proc.stdout
    # mid: 2 feeds + 4 listings at 10.0.0.1; interaffairs: /lavrov/ at a name -> 10.0.0.1
    assert "private 7" in out
    assert "link local 4" in out  # mid_archive: 2 languages x 2 sections at 169.254.169.254
    assert "loopback 2" in out  # globalsecurity: 2 countries at a name -> 127.0.0.1
    assert stats_line(out, "Refused off scope") == 13
    assert "intranet.stenogram.test (10.0.0.1)" in proc.stderr
    assert stats_line(out, "Errors") == 0


def test_resolver_refuses_at_connect_time_without_the_middleware(tmp_path):
    """DNS rebinding: with ScopeMiddleware switched off, the resolver alone still refuses a name
    that resolves to loopback for a source whose base URL is not on loopback. The stub maps the
    name to 127.0.0.1, so even a broken check could only reach the decoy server here."""
    import json

    from conftest import stenogram_cmd

    decoy = Recorder({"/robots.txt": (200, {}, b"User-agent: *\nAllow: /\n")})
    with serving(decoy):
        env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(TESTS), os.environ.get("PYTHONPATH")])),
                   COLUMNS="200")
        for var in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY"):
            env.pop(var, None)
        middlewares = json.dumps({"stenogram.crawler.scope.ScopeMiddleware": None, **_project_middlewares()})
        proc = stenogram_cmd(
            "crawl", "interaffairs", "--out", str(tmp_path / "out"),
            "--base-url", f"interaffairs=http://rebind.stenogram.test:{decoy.server_address[1]}",
            "-s", "TWISTED_DNS_RESOLVER=test_hostile_site.StubResolver", "-s", f"DOWNLOADER_MIDDLEWARES={middlewares}",
            "-s", "DOWNLOAD_DELAY=0", "-s", "AUTOTHROTTLE_ENABLED=false", "-s", "RETRY_TIMES=0",
            env=env, timeout=120)
    assert decoy.seen == []
    logged = proc.stderr + "".join(p.read_text() for p in (tmp_path / "out" / "logs").glob("*.log"))  # INFO: the log file
    assert "resolver refused rebind.stenogram.test: resolves to 127.0.0.1 (loopback)" in logged, logged[-3000:]
    assert proc.returncode == 1  # without the middleware it is a failed download, not a counted refusal


def _project_middlewares() -> dict:
    from stenogram.crawler.runner import project_settings

    mws = dict(project_settings().getdict("DOWNLOADER_MIDDLEWARES"))
    mws.pop("stenogram.crawler.scope.ScopeMiddleware", None)
    return mws


# -- the rules, one by one (in-process, no network) --------------------------------------------

import asyncio  # noqa: E402
import ipaddress  # noqa: E402

from hypothesis import given  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from scrapy.exceptions import IgnoreRequest  # noqa: E402

from stenogram.crawler.scope import address_refusal, host_allowed, is_loopback_host, origin  # noqa: E402


@given(st.ip_addresses())
def test_only_public_addresses_pass(ip):
    reason = address_refusal(str(ip))
    if reason is None:
        assert ip.is_global and not ip.is_multicast
    elif not (isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped):
        assert not ip.is_global or ip.is_multicast or ip.is_reserved  # stricter than is_global
    if ip.is_loopback:
        assert reason == "loopback" and address_refusal(str(ip), allow_loopback=True) is None


@pytest.mark.parametrize("address,reason", [
    ("169.254.169.254", "link_local"), ("10.0.0.1", "private"), ("192.168.1.1", "private"),
    ("172.16.0.1", "private"), ("127.0.0.1", "loopback"), ("::1", "loopback"), ("0.0.0.0", "reserved"),
    ("224.0.0.1", "multicast"), ("100.64.0.1", "reserved"), ("::ffff:10.0.0.1", "private"),
    ("fe80::1", "link_local"), ("fd00::1", "private"), ("240.0.0.1", "reserved"), ("95.167.1.1", None),
])
def test_address_classes(address, reason):
    assert address_refusal(address) == reason


def test_hosts_and_ports():
    assert origin("https://MID.ru/en/") == "mid.ru" and origin("http://127.0.0.1:8001/x") == "127.0.0.1:8001"
    assert origin("http://[::1]:80/") == "[::1]"
    assert host_allowed("http://mid.ru/x", ["mid.ru"]) and host_allowed("https://www.mid.ru/", ["www.mid.ru"])
    assert not host_allowed("http://mid.ru:8080/", ["mid.ru"])  # a bare host means the default ports
    assert not host_allowed("http://evil.mid.ru/", ["mid.ru"])  # hosts, not domains
    assert not host_allowed("http://127.0.0.1:8002/", ["127.0.0.1:8001"])
    assert not host_allowed("file:///etc/hostname", ["127.0.0.1:8001"])
    assert is_loopback_host("localhost") and is_loopback_host("127.9.9.9") and is_loopback_host("[::1]")
    assert not is_loopback_host("rebind.stenogram.test") and not is_loopback_host("10.0.0.1")


def _middleware(base_url, **settings):
    from conftest import project_crawler
    from stenogram.crawler.scope import ScopeMiddleware
    from stenogram.crawler.spiders.mid import MidSpider

    crawler = project_crawler(MidSpider, **settings)
    crawler.spider = MidSpider(base_url=base_url)
    return ScopeMiddleware.from_crawler(crawler), crawler.stats


@pytest.mark.parametrize("url,reason", [
    ("file:///etc/hostname", "scheme"), ("ftp://127.0.0.1/x", "scheme"), ("s3://bucket/x", "scheme"),
    ("data:text/plain,secret", "scheme"), ("http://127.0.0.2:8001/", "host"), ("http://localhost:8001/", "host"),
    ("http://10.0.0.1/admin", "host"), ("http://127.0.0.1:8002/", "host"),
])
def test_middleware_refuses_and_counts(url, reason):
    import scrapy

    mw, stats = _middleware("http://127.0.0.1:8001")
    with pytest.raises(IgnoreRequest):
        asyncio.run(mw.process_request(scrapy.Request(url)))
    assert stats.get_value("stenogram/offsite/refused") == 1
    assert stats.get_value(f"stenogram/offsite/refused/{reason}") == 1


def test_middleware_lets_its_own_site_through_and_counts_dropped_redirects():
    import scrapy
    from scrapy.http import Response

    mw, stats = _middleware("http://127.0.0.1:8001")
    request = scrapy.Request("http://127.0.0.1:8001/en/rss.php")
    assert asyncio.run(mw.process_request(request)) is None
    moved = Response(request.url, status=302, headers={"Location": "file:///etc/passwd"}, request=request)
    assert mw.process_response(request, moved) is moved  # RedirectMiddleware already dropped it
    assert stats.get_value("stenogram/offsite/refused/scheme") == 1
    assert stats.get_value("stenogram/offsite/refused_redirects") == 1
    mw, stats = _middleware("http://10.0.0.1:8001")  # its own host, but a private address
    with pytest.raises(IgnoreRequest):
        asyncio.run(mw.process_request(scrapy.Request("http://10.0.0.1:8001/en/rss.php")))
    assert stats.get_value("stenogram/offsite/refused/private") == 1


def test_loopback_only_refuses_a_public_address():
    import scrapy

    mw, stats = _middleware("http://95.167.1.1", SCOPE_LOOPBACK_ONLY=True)
    with pytest.raises(IgnoreRequest):
        asyncio.run(mw.process_request(scrapy.Request("http://95.167.1.1/en/rss.php")))
    assert stats.get_value("stenogram/offsite/refused/not_loopback") == 1


def test_resolver_checks_every_answer_but_the_operators_proxy(monkeypatch):
    """Names as the connect path passes them (IDNA bytes) are checked too; only the proxies named
    in the environment are exempt, not the no_proxy list."""
    from stenogram.crawler.scope import AddressRefused

    monkeypatch.setenv("http_proxy", "http://proxy.stenogram.test:3128")
    monkeypatch.setenv("no_proxy", "intranet.stenogram.test")
    resolver = StubResolver(None, 0, 1.0)

    def answer(name):
        out = []
        resolver.getHostByName(name).addBoth(out.append)
        return out[0].value if hasattr(out[0], "value") else out[0]

    refused = answer(b"intranet.stenogram.test")
    assert isinstance(refused, AddressRefused) and refused.reason == "private"
    assert answer("proxy.stenogram.test") == "10.1.1.1"
    assert answer("rebind.stenogram.test") == "127.0.0.1"  # SCOPE_RESOLVER_LOOPBACK defaults on
    resolver.allow_loopback = False
    assert answer(b"rebind.stenogram.test").reason == "loopback"
