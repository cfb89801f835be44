"""Every private name of an outside library that stenogram relies on, in one module.

Why one module: a private name (a leading underscore) may change in any release of its library
without notice. Kept here, each has a comment saying why no public API serves and which upstream
version it was read from, and ``tests/test_compat.py`` fails, naming it, when it disappears or
(for a copied upstream function) when the upstream original's source changes. The rest of the
code imports these names from here only (the same test scans it with :mod:`ast`).

Classes are resolved lazily (module ``__getattr__``, PEP 562): the archive layer imports this
module for its warcio and cdxj-indexer helpers without importing Scrapy or Twisted.

A process-wide patch (:func:`stop_connection_retries`) raises :class:`CompatError` when its
target is gone, and :func:`check_patch_targets` lets a command say so at start-up.
"""
from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any, Callable


class CompatError(RuntimeError):
    """A private upstream name stenogram relies on is gone (a library upgrade): one line saying
    which, and which version it was read from."""


@dataclass(frozen=True)
class Borrowed:
    """A private class or function of an outside library, imported by its public alias here."""

    module: str
    name: str
    read_from: str  # the upstream version this use was read from
    why: str  # why no public API serves


#: public alias -> the private upstream name it stands for
BORROWED: dict[str, Borrowed] = {
    "LenientHTTPClientParser": Borrowed(
        "scrapy.core.downloader.handlers.http11", "_LenientHTTPClientParser", "Scrapy 2.19.0",
        "the response parser Scrapy installs; the wire-head recorder extends it, and Scrapy has "
        "no hook on header lines"),
    "LenientHTTP11ClientProtocol": Borrowed(
        "scrapy.core.downloader.handlers.http11", "_LenientHTTP11ClientProtocol", "Scrapy 2.19.0",
        "builds the parser per request; subclassed to build the recording parser"),
    "LenientHTTP11ClientFactory": Borrowed(
        "scrapy.core.downloader.handlers.http11", "_LenientHTTP11ClientFactory", "Scrapy 2.19.0",
        "the connection pool's protocol factory; subclassed to build the protocol above"),
    "ScrapyAgent": Borrowed(
        "scrapy.core.downloader.handlers.http11", "_ScrapyAgent", "Scrapy 2.19.0",
        "the only place where the Twisted response and the Scrapy request meet (_cb_bodyready)"),
    "get_dataloss_msg": Borrowed(
        "scrapy.utils._download_handlers", "get_dataloss_msg", "Scrapy 2.19.0",
        "used by the copied download_request (below), to warn in Scrapy's own words"),
    "wrap_twisted_exceptions": Borrowed(
        "scrapy.utils._download_handlers", "wrap_twisted_exceptions", "Scrapy 2.19.0",
        "used by the copied download_request: turns Twisted errors into Scrapy's download errors"),
    "TWISTED_PARSER_HEADER_STATE": Borrowed(
        "twisted.web._newclient", "HEADER", "Twisted 26.10.0",
        "the parser state while header lines arrive; HTTPParser exposes no public name for it"),
    "TwistedParseError": Borrowed(
        "twisted.web._newclient", "ParseError", "Twisted 26.10.0",
        "the error the HTTP parser raises; a head too large is one, failing the download as "
        "Twisted fails any unparseable response"),
}

#: private attributes read or replaced (owner, attribute, version read from); each is used by
#: one function below. An instance attribute is checked in the owner's source.
PRIVATE_ATTRIBUTES: list[tuple[str, str, str]] = [
    ("scrapy.core.downloader.handlers.http11:_ScrapyAgent", "_cb_bodyready", "Scrapy 2.19.0"),
    ("scrapy.core.downloader.handlers.http11:HTTP11DownloadHandler", "_pool", "Scrapy 2.19.0"),
    ("twisted.web.client:HTTPConnectionPool", "_factory", "Twisted 26.10.0"),
    ("twisted.web._newclient:HTTP11ClientProtocol", "_parser", "Twisted 26.10.0"),
    ("twisted.web.client:_HTTP11ClientFactory", "_quiescentCallback", "Twisted 26.10.0"),
    ("twisted.web._newclient:Request", "_writeHeaders", "Twisted 26.10.0"),
    ("twisted.web.client:_RetryingHTTP11ClientProtocol", "_shouldRetry", "Twisted 26.10.0"),
    ("scrapy.core.engine:ExecutionEngine", "_slot", "Scrapy 2.19.0"),
    ("scrapy.core.downloader.handlers.http11:HTTP11DownloadHandler", "_crawler", "Scrapy 2.19.0"),
    ("scrapy.core.downloader.handlers.http11:HTTP11DownloadHandler", "_default_maxsize",
     "Scrapy 2.19.0"),
    ("warcio.warcwriter:BaseWARCWriter", "_write_warc_record", "warcio 1.8.1"),
    ("warcio.recordbuilder:RecordBuilder", "_create_digester", "warcio 1.8.1"),
    ("cdxj_indexer.main:CDXJIndexer", "_do_write", "cdxj-indexer 1.5.0"),
]

#: upstream functions copied (with a change) into stenogram: "module:qualname" -> (sha256 of
#: ``inspect.getsource`` of the original when it was copied, the version). See
#: :func:`scrapy_download_request`.
COPIED: dict[str, tuple[str, str]] = {
    "scrapy.core.downloader.handlers.http11:HTTP11DownloadHandler.download_request": (
        "ad8db3068e7983cfc6bc235bf3fe8a8b2cae743d51299e3ca94760de7e8573c6", "Scrapy 2.19.0"),
}


def resolve(module: str, qualname: str) -> Any:
    """``module:qualname`` imported, or :class:`CompatError` naming it."""
    try:
        obj: Any = importlib.import_module(module)
        for part in qualname.split("."):
            obj = getattr(obj, part)
    except (ImportError, AttributeError) as exc:
        raise CompatError(f"{module}.{qualname} is gone from the installed library ({exc})") from exc
    return obj


def _has_attribute(owner: type, attr: str) -> bool:
    """``attr`` is on ``owner`` (a class attribute or method) or set as ``self.attr`` by one of
    the classes it inherits from (an instance attribute, read from the source)."""
    import inspect

    if hasattr(owner, attr):
        return True
    for klass in owner.__mro__:
        try:
            if f"self.{attr} =" in inspect.getsource(klass) or f"self.{attr}:" in inspect.getsource(klass):
                return True
        except (OSError, TypeError):  # a builtin (object): no source
            continue
    return False


def missing() -> list[str]:
    """One line per private upstream name of this module that the installed libraries lack."""
    gone = []
    for alias, b in BORROWED.items():
        try:
            resolve(b.module, b.name)
        except CompatError as exc:
            gone.append(f"{alias}: {exc}; read from {b.read_from}")
    for owner, attr, version in PRIVATE_ATTRIBUTES:
        module, qualname = owner.split(":")
        try:
            found = _has_attribute(resolve(module, qualname), attr)
        except CompatError as exc:
            gone.append(f"{owner}.{attr}: {exc}; read from {version}")
            continue
        if not found:
            gone.append(f"{owner}.{attr} is gone; read from {version}")
    return gone


def changed_copies() -> list[str]:
    """One line per upstream function copied here whose installed source no longer has the
    sha256 recorded when it was copied (review the copy against the new source, then record
    the new hash and version in :data:`COPIED`)."""
    import hashlib
    import inspect

    changed = []
    for where, (recorded, version) in COPIED.items():
        module, qualname = where.split(":")
        try:
            source = inspect.getsource(resolve(module, qualname))
        except CompatError as exc:
            changed.append(f"{where}: {exc}; copied from {version}")
            continue
        now = hashlib.sha256(source.encode()).hexdigest()
        if now != recorded:
            changed.append(f"{where} changed since it was copied from {version} "
                           f"(sha256 {recorded[:12]}… is now {now[:12]}…)")
    return changed


_resolved: dict[str, Any] = {}


def __getattr__(alias: str) -> Any:
    if alias not in BORROWED:
        raise AttributeError(f"module {__name__!r} has no attribute {alias!r}")
    if alias not in _resolved:
        b = BORROWED[alias]
        try:
            _resolved[alias] = resolve(b.module, b.name)
        except CompatError as exc:
            raise CompatError(f"{exc}; stenogram read it from {b.read_from}") from None
    return _resolved[alias]


# -- Scrapy's HTTP/1.1 download handler (crawler/download_handler.py)

def agent_noting_heads(note: Callable[[Any, Any], None]) -> type:
    """A ``_ScrapyAgent`` subclass calling ``note(txresponse, request)`` before its own
    ``_cb_bodyready``: the first point where the Twisted response and the Scrapy request are both
    at hand, for every response with or without a body (Scrapy 2.19.0). Scrapy has no public
    signal carrying the Twisted response."""
    agent: type = __getattr__("ScrapyAgent")

    def _cb_bodyready(self, txresponse, request):
        note(txresponse, request)
        return agent._cb_bodyready(self, txresponse, request)

    return type("HeadNotingAgent", (agent,), {"_cb_bodyready": _cb_bodyready})


def set_pool_protocol_factory(handler, factory: type) -> None:
    """Make ``handler``'s connection pool build its protocols with ``factory``, as Scrapy 2.19.0's
    ``HTTP11DownloadHandler.__init__`` does with its lenient factory (``self._pool._factory``;
    Twisted's ``HTTPConnectionPool`` takes no factory argument)."""
    handler._pool._factory = factory


def protocol_parser(protocol):
    """The response parser of a Twisted ``HTTP11ClientProtocol`` request (``_parser``, set by
    ``HTTP11ClientProtocol.request``, Twisted 26.10.0): no public accessor."""
    return protocol._parser


def quiescent_callback(factory):
    """What Twisted's pool factory passes to each protocol it builds (``_quiescentCallback``,
    Twisted 26.10.0): a protocol factory subclass must pass it on."""
    return factory._quiescentCallback


def wrap_write_headers(txrequest, wrap: Callable[[Callable], Callable]) -> None:
    """Replace, on one Twisted ``Request``, the method writing its head (``_writeHeaders``,
    Twisted 26.10.0) by ``wrap(original)``: Twisted writes the request line and header lines
    there and nowhere public."""
    txrequest._writeHeaders = wrap(txrequest._writeHeaders)


async def scrapy_download_request(handler, request, agent_class: type, logger):
    """Scrapy 2.19.0's ``HTTP11DownloadHandler.download_request`` with ``agent_class`` in place of
    the ``_ScrapyAgent`` it hard-codes, warning on ``logger``. Copied: the agent class is not a setting; the sha256 of
    the original's source is in :data:`COPIED`, checked by tests/test_compat.py."""
    from scrapy.exceptions import ResponseDataLossError
    from scrapy.utils.defer import maybe_deferred_to_future
    from scrapy.utils.deprecate import warn_on_deprecated_spider_attribute

    crawler = handler._crawler
    if hasattr(crawler.spider, "download_maxsize"):  # pragma: no cover
        warn_on_deprecated_spider_attribute("download_maxsize", "DOWNLOAD_MAXSIZE")
    if hasattr(crawler.spider, "download_warnsize"):  # pragma: no cover
        warn_on_deprecated_spider_attribute("download_warnsize", "DOWNLOAD_WARNSIZE")
    agent = agent_class(
        contextFactory=handler._contextFactory,
        bindAddress=handler._bind_address,
        pool=handler._pool,
        maxsize=getattr(crawler.spider, "download_maxsize", handler._default_maxsize),
        warnsize=getattr(crawler.spider, "download_warnsize", handler._default_warnsize),
        fail_on_dataloss=handler._fail_on_dataloss,
        crawler=crawler,
        tls_verbose_logging=handler._tls_verbose_logging,
    )
    try:
        with __getattr__("wrap_twisted_exceptions")():
            return await maybe_deferred_to_future(agent.download_request(request))
    except ResponseDataLossError:
        if not handler._fail_on_dataloss_warned:
            logger.warning(__getattr__("get_dataloss_msg")(request.url))
            handler._fail_on_dataloss_warned = True
        raise


def handler_crawler(handler):
    """The crawler of a Scrapy download handler (``_crawler``, Scrapy 2.19.0: no public one)."""
    return handler._crawler


def default_maxsize(handler) -> int:
    """``DOWNLOAD_MAXSIZE`` as the handler read it (``_default_maxsize``, Scrapy 2.19.0)."""
    return handler._default_maxsize


# -- Twisted's connection pool (crawler/shutdown.py)

def check_patch_targets() -> None:
    """Raise :class:`CompatError` now if a process-wide patch of this module could not be made
    later (called when a crawl starts, so an upgrade is said at once, not at Ctrl-C)."""
    retrying = resolve("twisted.web.client", "_RetryingHTTP11ClientProtocol")
    if not callable(getattr(retrying, "_shouldRetry", None)):
        raise CompatError("twisted.web.client._RetryingHTTP11ClientProtocol._shouldRetry is "
                          "gone; stenogram read it from Twisted 26.10.0")


def stop_connection_retries() -> None:
    """Process-wide: Twisted's pool no longer sends a request again on a new connection when a
    reused one is lost before the answer. ``HTTPConnectionPool.retryAutomatically`` (public)
    decides only when a connection is taken from the pool, not for a request already in flight
    on a wrapped one, so the wrapper's ``_shouldRetry`` (Twisted 26.10.0) is replaced. Raises
    :class:`CompatError` when it is gone."""
    check_patch_targets()
    retrying = resolve("twisted.web.client", "_RetryingHTTP11ClientProtocol")
    retrying._shouldRetry = lambda self, method, exception, body_producer: False


# -- Scrapy's engine (crawler/redis_frontier.py)

def wake_engine(engine) -> None:
    """Ask Scrapy's engine to look at its scheduler again now (``engine._slot.nextcall``,
    Scrapy 2.19.0); no public call does (``ExecutionEngine.scheduler`` is public since 2.19, its
    wake-up is not). Nothing happens before the spider opened or after it closed."""
    slot = getattr(engine, "_slot", None)
    nextcall = getattr(slot, "nextcall", None)
    if nextcall is not None:
        nextcall.schedule()


# -- warcio (archive/warc_writer.py) and cdxj-indexer (archive/wacz.py)

def write_warc_record(writer, out, record) -> None:
    """warcio's ``BaseWARCWriter._write_warc_record`` (warcio 1.8.1): writes one record to
    ``out``; the public ``write_record`` writes to the writer's own stream only."""
    writer._write_warc_record(out, record)


def use_digest(writer, make_digester: Callable[[], Any]) -> None:
    """Make a warcio record builder compute block and payload digests with ``make_digester()``
    instead of its hard-coded SHA-1 (``RecordBuilder._create_digester``, warcio 1.8.1: no
    parameter selects the algorithm)."""
    writer._create_digester = make_digester


def write_cdxj_line(indexer, urlkey: str, ts: str, fields: dict, out) -> None:
    """Write one CDXJ line exactly as cdxj-indexer writes it (``CDXJIndexer._do_write``,
    cdxj-indexer 1.5.0), for a record the live index describes as it is written; cdxj-indexer's
    public entry points index whole WARC files only."""
    indexer._do_write(urlkey, ts, fields, out)


def on_cdxj_line(indexer, note: Callable[[dict], None]) -> None:
    """Call ``note(index)`` with each entry cdxj-indexer writes (``CDXJIndexer._do_write``,
    cdxj-indexer 1.5.0, the one place every index line goes through; it has no callback)."""
    write = indexer._do_write

    def noting(urlkey, ts, index, out):
        note(index)
        write(urlkey, ts, index, out)

    indexer._do_write = noting
