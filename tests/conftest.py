"""Shared fixtures: the bundled sample site on loopback, and one real crawl of it.

The crawl runs `stenogram crawl` in a subprocess (Twisted's reactor cannot be restarted inside
the test process) against a sample site served from this process on 127.0.0.1.
"""
from __future__ import annotations

import ipaddress
import os
import socket
import subprocess
import sys
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import pytest

VENV_BIN = Path(sys.executable).parent


class LoopbackHandler(BaseHTTPRequestHandler):
    """Base of the tests' small HTTP servers: HTTP/1.1, no request log, whole answers (``_send``)."""

    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def _send(self, status: int, body: bytes = b"", headers=()) -> None:
        self.send_response(status)
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class OffLoopback(OSError):
    """A test tried to reach an address outside 127.0.0.0/8 (or ::1)."""


def _loopback_only(host, refused: list) -> None:
    name = host if isinstance(host, str) else (host.decode() if isinstance(host, bytes) else str(host))
    if name in ("localhost", "") or name.endswith(".localhost"):
        return
    try:
        if ipaddress.ip_address(name).is_loopback:
            return
    except ValueError:
        pass
    refused.append(name)
    raise OffLoopback(f"tests talk only to loopback; refused {name!r}")


@pytest.fixture(scope="session", autouse=True)
def loopback_only():
    """Every name lookup and connection made in the test process must stay on loopback.

    Subprocess crawls are the same code; tests of specific leaks (e.g. tldextract's suffix
    list) run in-process under this guard. Yields the list of refused names, since libraries
    may swallow the error and fall back quietly.
    """
    refused: list[str] = []
    real_getaddrinfo, real_connect = socket.getaddrinfo, socket.socket.connect

    def getaddrinfo(host, *args, **kwargs):
        if host is not None:
            _loopback_only(host, refused)
        return real_getaddrinfo(host, *args, **kwargs)

    def connect(self, address):
        if self.family in (socket.AF_INET, socket.AF_INET6):
            _loopback_only(address[0], refused)
        return real_connect(self, address)

    socket.getaddrinfo, socket.socket.connect = getaddrinfo, connect
    try:
        yield refused
    finally:
        socket.getaddrinfo, socket.socket.connect = real_getaddrinfo, real_connect


def skip_unless_ci(reason: str):
    """Skip a test whose outside tool (pywb, wacz, Chromium) is missing, except on CI.

    On a developer's machine a missing tool is a skip with its reason; under CI (``CI`` set, as
    ``.ci/run`` is run) the tool is installed by the project's own files, so its absence is a
    failure, never a silently green run.
    """
    if os.environ.get("CI"):
        pytest.fail(f"must run on CI: {reason}")
    pytest.skip(reason)


def project_crawler(spidercls=None, **settings):
    """A crawler as Scrapy's own tests build one (``get_crawler``, no reactor), with the project's
    settings (crawler/settings.py) plus ``settings``: a unit test sees the defaults a crawl sees."""
    from scrapy.utils.test import get_crawler

    from stenogram.crawler import settings as project

    declared = {name: getattr(project, name) for name in dir(project) if name.isupper()}
    return get_crawler(spidercls, {**declared, **settings})


def stenogram_cmd(*args: str, timeout: float = 300, **kwargs) -> subprocess.CompletedProcess:
    """Run the installed `stenogram` console script; bounded in time."""
    return subprocess.run(
        [str(VENV_BIN / "stenogram"), *args], capture_output=True, text=True, timeout=timeout, **kwargs
    )


def crawl_args(site, out: Path, *sources: str) -> list[str]:
    args = ["crawl", *sources, "--loopback", "--out", str(out)]
    for source, url in site.base_urls.items():
        args += ["--base-url", f"{source}={url}"]
    return args


@dataclass
class CrawlRun:
    site: object
    out: Path
    proc: subprocess.CompletedProcess

    @property
    def db(self) -> Path:
        return self.out / "corpus.db"

    @property
    def warc_dir(self) -> Path:
        return self.out / "warc"

    def warcs(self) -> list[Path]:
        return sorted(self.warc_dir.glob("*.warc.gz"))


@pytest.fixture(scope="session")
def sample_site():
    """A sample site for tests that only read from it."""
    from stenogram.sample_site.server import SampleSite

    with SampleSite(port=0, size=12, seed=7) as site:
        yield site


@pytest.fixture(scope="session")
def crawled(tmp_path_factory):
    """One full crawl of every source of a dedicated sample site."""
    from stenogram.sample_site.server import SampleSite

    out = tmp_path_factory.mktemp("crawl")
    with SampleSite(port=0, size=12, seed=7) as site:
        proc = stenogram_cmd(*crawl_args(site, out))
        yield CrawlRun(site=site, out=out, proc=proc)


def pytest_collection_modifyitems(items):
    """Files holding a ``slow`` test run first, in their order; the rest keep theirs after them.

    ``make test`` gives whole files to 2 processes (pytest-xdist ``--dist loadfile``): with the
    long files started first, the short ones fill in at the end, where a long file started last
    would run alone on one process while the other has finished.
    """
    slow = {item.path for item in items if item.get_closest_marker("slow")}
    items.sort(key=lambda item: item.path not in slow)  # stable: order kept within each group
