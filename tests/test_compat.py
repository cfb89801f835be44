"""stenogram.compat: every private upstream name it lists is still there, every function copied
from upstream is still the one copied, and no other module uses a private name of those
libraries (an :mod:`ast` scan of the source).

These fail loudly, naming the name and the version it was read from, when a library upgrade
(tools/newest-scrapy.sh runs them on the newest Scrapy) removes or changes what stenogram
borrowed."""
from __future__ import annotations

import ast
import sys
import types
from pathlib import Path

import pytest

from stenogram import compat

ROOT = Path(__file__).resolve().parent.parent
SCANNED = ("crawler", "archive", "extract", "corpus", "stenogram")
COMPAT = ROOT / "stenogram" / "compat.py"
#: outside libraries whose private names must go through stenogram.compat
LIBRARIES = {"scrapy", "twisted", "warcio", "cdxj_indexer", "datasette", "redis", "dask",
             "distributed", "trafilatura", "sqlite_utils", "feedparser", "surt", "w3lib", "parsel"}
#: private attributes stenogram reads, replaces or overrides: only compat may name them
PRIVATE_ATTRIBUTE_NAMES = {attr for _owner, attr, _version in compat.PRIVATE_ATTRIBUTES}


def private_uses(source: str) -> list[str]:
    """Each use in ``source`` of a private name of :data:`LIBRARIES`: an import of a private
    module or name, an access of an attribute :data:`compat.PRIVATE_ATTRIBUTES` lists (also as
    a ``getattr`` string), or a method overriding one."""
    found = []
    tree = ast.parse(source)
    methods = {id(f) for c in ast.walk(tree) if isinstance(c, ast.ClassDef) for f in c.body}
    imported = set()  # local names bound to a module or object of LIBRARIES
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported |= {(a.asname or a.name).split(".")[0] for a in node.names
                         if a.name.split(".")[0] in LIBRARIES}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module.split(".")[0] in LIBRARIES:
                imported |= {a.asname or a.name for a in node.names}
    for node in ast.walk(tree):
        if (isinstance(node, ast.Attribute) and node.attr.startswith("_")
                and not node.attr.startswith("__") and node.attr not in PRIVATE_ATTRIBUTE_NAMES):
            root = node.value
            while isinstance(root, ast.Attribute):
                root = root.value
            if isinstance(root, ast.Name) and root.id in imported:
                found.append(f"{node.lineno}: {root.id}….{node.attr}")
        if isinstance(node, ast.Import):
            for alias in node.names:
                parts = alias.name.split(".")
                if parts[0] in LIBRARIES and any(p.startswith("_") for p in parts):
                    found.append(f"{node.lineno}: import {alias.name}")
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            parts = node.module.split(".")
            if parts[0] in LIBRARIES:
                for alias in node.names:
                    if any(p.startswith("_") for p in parts) or alias.name.startswith("_"):
                        found.append(f"{node.lineno}: from {node.module} import {alias.name}")
        elif isinstance(node, ast.Attribute) and node.attr in PRIVATE_ATTRIBUTE_NAMES:
            found.append(f"{node.lineno}: .{node.attr}")
        elif (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
              and node.func.id in ("getattr", "setattr", "hasattr", "delattr") and len(node.args) > 1
              and isinstance(node.args[1], ast.Constant) and node.args[1].value in PRIVATE_ATTRIBUTE_NAMES):
            found.append(f"{node.lineno}: {node.func.id}(…, {node.args[1].value!r})")
        elif (isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and id(node) in methods
              and node.name in PRIVATE_ATTRIBUTE_NAMES):
            found.append(f"{node.lineno}: def {node.name}")
    return found


def test_every_private_upstream_name_is_still_there():
    assert compat.missing() == []


def test_every_copied_upstream_function_is_unchanged():
    assert compat.changed_copies() == []


def test_no_module_but_compat_uses_a_private_upstream_name():
    uses = {}
    for folder in SCANNED:
        for path in sorted((ROOT / folder).rglob("*.py")):
            if path == COMPAT:
                continue
            if found := private_uses(path.read_text(encoding="utf-8")):
                uses[str(path.relative_to(ROOT))] = found
    assert uses == {}


@pytest.mark.parametrize("source, expected", [
    ("from scrapy.utils.defer import _schedule_coro", ["1: from scrapy.utils.defer import _schedule_coro"]),
    ("from scrapy.utils._download_handlers import get_dataloss_msg",
     ["1: from scrapy.utils._download_handlers import get_dataloss_msg"]),
    ("import twisted.web._newclient", ["1: import twisted.web._newclient"]),
    ("slot = getattr(engine, '_slot', None)", ["1: getattr(…, '_slot')"]),
    ("x = engine._slot.nextcall", ["1: ._slot"]),
    ("class A(B):\n    def _cb_bodyready(self, r, q):\n        pass", ["2: def _cb_bodyready"]),
    ("def _parser():\n    pass", []),  # a module's own function of the same name overrides nothing
    ("from twisted.web import client\nclient._RetryingHTTP11ClientProtocol.x = 1",
     ["2: client…._RetryingHTTP11ClientProtocol"]),
    ("import scrapy.utils.defer\nscrapy.utils.defer._schedule_coro(c)", ["2: scrapy…._schedule_coro"]),
    # one's own private names, and public names of the libraries, are not upstream private uses
    ("from scrapy.utils.defer import deferred_from_coro\nfrom ._own import _helper\nself._mine = 1", []),
])
def test_the_scan_finds_private_uses(source, expected):
    assert private_uses(source) == expected


def test_a_name_gone_upstream_is_an_error_naming_it_and_its_version(monkeypatch):
    from scrapy.core.downloader.handlers import http11

    monkeypatch.delattr(http11, "_ScrapyAgent")
    monkeypatch.setattr(compat, "_resolved", {})
    with pytest.raises(compat.CompatError, match=r"_ScrapyAgent is gone.*Scrapy 2\.19\.0"):
        _ = compat.ScrapyAgent
    assert any("ScrapyAgent" in line and "Scrapy 2.19.0" in line for line in compat.missing())


def test_an_attribute_gone_upstream_is_listed(monkeypatch):
    from twisted.web._newclient import Request

    monkeypatch.delattr(Request, "_writeHeaders")
    assert ("twisted.web._newclient:Request._writeHeaders is gone; read from Twisted 26.10.0"
            in compat.missing())


def test_a_copied_function_changed_upstream_is_listed_with_its_version(monkeypatch):
    from scrapy.core.downloader.handlers.http11 import HTTP11DownloadHandler

    async def download_request(self, request):  # what an upstream change would look like
        return None

    monkeypatch.setattr(HTTP11DownloadHandler, "download_request", download_request)
    [line] = compat.changed_copies()
    assert "HTTP11DownloadHandler.download_request changed since it was copied from Scrapy 2.19.0" in line


def test_the_process_wide_patch_refuses_loudly_when_its_target_is_gone(monkeypatch):
    monkeypatch.setitem(sys.modules, "twisted.web.client", types.ModuleType("twisted.web.client"))
    with pytest.raises(compat.CompatError, match="_RetryingHTTP11ClientProtocol"):
        compat.check_patch_targets()
    with pytest.raises(compat.CompatError, match="_RetryingHTTP11ClientProtocol"):
        compat.stop_connection_retries()


def test_the_process_wide_patch_stops_retries(monkeypatch):
    from twisted.web import client

    retrying = client._RetryingHTTP11ClientProtocol
    monkeypatch.setattr(retrying, "_shouldRetry", retrying._shouldRetry)  # undone after the test
    # Twisted retries an idempotent request lost on a reused connection before any answer
    lost = client.RequestNotSent()
    assert retrying._shouldRetry(object.__new__(retrying), b"GET", lost, None)
    compat.stop_connection_retries()
    assert not retrying._shouldRetry(object.__new__(retrying), b"GET", lost, None)


def test_shutdown_says_a_gone_patch_target_when_the_crawl_starts(monkeypatch):
    from stenogram.crawler.shutdown import Shutdown

    # a Twisted without the class (its module is a deprecation proxy: replaced, not edited)
    monkeypatch.setitem(sys.modules, "twisted.web.client", types.ModuleType("twisted.web.client"))
    with pytest.raises(compat.CompatError):
        Shutdown([], grace=1, kill_after=2).install()
