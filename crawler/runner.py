"""Run several stenogram spiders in one process, as `stenogram crawl` and `stenogram demo` do.

Scrapy's reactor cannot be restarted inside one process, so one call runs every requested
spider side by side in a single :class:`~scrapy.crawler.CrawlerProcess` and returns each
crawler's final stats for the report.
"""
from __future__ import annotations

import fcntl
import logging
import os
import sys
import threading
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from urllib.parse import urlsplit

from scrapy.settings import Settings

#: the sources `stenogram crawl` crawls when none is named: the live sites
SOURCES = ("mid", "mid_archive", "globalsecurity", "interaffairs")
#: sources crawled only when named: mid.ru's Domino-era site (2004-2015) survives mostly in web
#: archives (`stenogram backfill`) and its live host may no longer answer
NAMED_ONLY_SOURCES = ("mid_domino",)
KNOWN_SOURCES = SOURCES + NAMED_ONLY_SOURCES

#: Settings for crawling the bundled sample site on loopback: no politeness delays.
LOOPBACK_SETTINGS = {
    "DOWNLOAD_DELAY": 0,
    "AUTOTHROTTLE_ENABLED": False,
    "DOWNLOAD_DELAY_JITTER": 0,
    "CONCURRENT_REQUESTS_PER_DOMAIN": 8,
    "RETRY_TIMES": 3,
    "DOWNLOAD_TIMEOUT": 20,
    "LOG_LEVEL": "WARNING",
    "RETRY_BACKOFF_BASE": 0.05,
    "RETRY_BACKOFF_MAX": 0.5,
    "INTERSTITIAL_BACKOFF_BASE": 0.1,
    "INTERSTITIAL_BACKOFF_MAX": 1.0,
    "RETRY_AFTER_MAX": 30,
    # and nothing but loopback: --loopback must never crawl a live site without its delays
    "SCOPE_LOOPBACK_ONLY": True,
}


class CrawlLocked(RuntimeError):
    """Another crawl holds the output folder's lock."""


class SpiderNotStarted(RuntimeError):
    """A spider's crawl failed before it ran (its spider, an extension or a middleware raised
    while Scrapy built them): one line per spider, the traceback in the crawl's log (at INFO, kept off the terminal).
    ``result``: the crawl's :class:`CrawlResult` (the other sources did run)."""

    def __init__(self, message: str, result: "CrawlResult"):
        super().__init__(message)
        self.result = result


@contextmanager
def crawl_lock(out_dir: Path):
    """An exclusive, non-blocking lock on ``out_dir/crawl.lock`` so two cron runs never overlap.

    The kernel releases a flock when its holder dies, so a crawl killed with SIGKILL never
    leaves a stale lock behind.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / "crawl.lock"
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = Path(path).read_text().strip() or "another process"
            raise CrawlLocked(f"{out_dir} is being crawled by {holder}") from None
        os.ftruncate(fd, 0)
        os.write(fd, f"pid {os.getpid()}\n".encode())
        yield
    finally:
        os.close(fd)


@dataclass
class CrawlResult:
    """Final stats per spider, and where the crawl wrote."""

    crawl_id: str
    warc_dir: Path
    db_path: Path
    stats: dict[str, dict] = field(default_factory=dict)
    log_file: Path | None = None  # where Scrapy's log went, when not to the terminal
    interrupted: str | None = None  # the signal (SIGINT, SIGTERM) that stopped the crawl
    state_db: Path | None = None  # the recrawl state (None when it is in Redis): the re-check schedule

    def stat(self, source: str, key: str, default=0):
        return self.stats.get(source, {}).get(key, default)


def project_settings(overrides: dict | None = None) -> Settings:
    """crawler.settings, plus overrides (the `-s` of `scrapy crawl`)."""
    settings = Settings()
    settings.setmodule("stenogram.crawler.settings", priority="project")
    for key, value in (overrides or {}).items():
        settings.set(key, value, priority="cmdline")
    return settings


def check_crawl(sources, base_urls: dict[str, str] | None = None, settings: dict | None = None,
                known: tuple[str, ...] = KNOWN_SOURCES) -> None:
    """Raise ValueError, with one line saying what is wrong, for a crawl that must not start.

    Source names not in KNOWN_SOURCES (as sources or in --base-url), a base URL that is not an http(s) URL,
    a source without a loopback base URL under ``SCOPE_LOOPBACK_ONLY`` (``--loopback``: no
    delays, so never a live site), a ``-s`` value the setting's type cannot take.
    """
    from stenogram.crawler.scope import ScopeError, is_loopback_host, origin

    base_urls, settings = base_urls or {}, settings or {}
    names = ", ".join(known)
    unknown = set(sources) - set(known)
    if unknown:
        raise ValueError(f"unknown source(s): {', '.join(sorted(unknown))}; known: {names}")
    unknown = set(base_urls) - set(known)
    if unknown:
        raise ValueError(f"--base-url for unknown source(s): {', '.join(sorted(unknown))}; known: {names}")
    for source, url in base_urls.items():
        try:
            origin(url)
        except ScopeError as exc:
            raise ValueError(f"--base-url {source}: {exc}") from None
    check_settings(settings)
    if project_settings(settings).getbool("SCOPE_LOOPBACK_ONLY"):
        for source in sources:
            url = base_urls.get(source)
            if url is None or not is_loopback_host(urlsplit(url).hostname):
                raise ValueError(f"--loopback crawls only loopback sites, and {source} has "
                                 + (f"--base-url {url}" if url else "no --base-url (it would be the live site)"))


def check_settings(overrides: dict) -> None:
    """A ``-s NAME=VALUE`` whose default is a number or a flag must parse as one: Scrapy would
    otherwise fail with a traceback deep inside the crawl."""
    defaults = project_settings()
    for key, value in overrides.items():
        default = defaults.get(key)
        if not isinstance(value, str) or default is None:
            continue
        try:
            if isinstance(default, bool):
                Settings({key: value}).getbool(key)
            elif isinstance(default, (int, float)):
                float(value)
        except ValueError:
            kind = "true/false" if isinstance(default, bool) else "a number"
            raise ValueError(f"-s {key}={value}: expected {kind} (default {default!r})") from None


class _TerminalHandler(logging.StreamHandler):
    """Log records to whatever ``sys.stderr`` is now (rich's Live swaps it while it draws)."""

    @property
    def stream(self):
        return sys.stderr

    @stream.setter
    def stream(self, _value):
        pass


def _log_to_file(overrides: dict, out_dir: Path, crawl_id: str) -> Path:
    """``LOG_FILE`` for the crawl (``<data>/logs/<crawl id>.log`` unless ``-s LOG_FILE`` says)."""
    log_file = Path(overrides.get("LOG_FILE") or out_dir / "logs" / f"{crawl_id}.log")
    log_file.parent.mkdir(parents=True, exist_ok=True)
    overrides["LOG_FILE"] = str(log_file)
    return log_file


def run_crawl(
    sources: list[str] | tuple[str, ...] = SOURCES,
    out_dir: Path | str = "data",
    base_urls: dict[str, str] | None = None,
    settings: dict | None = None,
    spider_args: dict[str, dict] | None = None,
    log_file: bool = False,
    verbose: bool = True,
    progress: bool = False,
    known_sources: tuple[str, ...] = KNOWN_SOURCES,
) -> CrawlResult:
    """Crawl ``sources`` into ``out_dir`` (WARCs in ``out_dir/warc``, corpus in ``out_dir/corpus.db``).

    ``log_file``: Scrapy's log goes to ``out_dir/logs/<crawl id>.log`` (or ``-s LOG_FILE``); the
    terminal then gets warnings and errors only, or everything too with ``verbose``.
    ``progress``: the live display of crawler/progress.py. Ctrl-C is handled by
    crawler/shutdown.py: the result says ``interrupted``.
    """
    from scrapy.crawler import CrawlerProcess

    from stenogram.crawler.progress import ProgressBoard
    from stenogram.crawler.shutdown import Shutdown, restore_default_handlers

    out_dir = Path(out_dir)
    check_crawl(sources, base_urls, settings, known=known_sources)
    crawl_id = (settings or {}).get("STENOGRAM_CRAWL_ID") or datetime.now(timezone.utc).strftime(
        "%Y%m%dT%H%M%SZ"
    )
    from stenogram.crawler.scope import is_loopback_host

    overrides = {
        # connect-time check (crawler/scope.py): loopback only if a source crawled is on loopback
        "SCOPE_RESOLVER_LOOPBACK": any(is_loopback_host(urlsplit((base_urls or {}).get(s, "")).hostname)
                                       for s in sources),
        "STENOGRAM_DATA": str(out_dir),
        "STENOGRAM_CRAWL_ID": crawl_id,
        **({"STENOGRAM_PROGRESS": True} if progress else {}),
        **(settings or {}),
    }
    from stenogram.crawler.paths import data_paths
    from stenogram.crawler.storage import STORAGE_ERRORS, StorageUnavailable, preflight

    paths = data_paths(project_settings(overrides))
    from stenogram.crawler.state import StateDamaged, state_problem

    if problem := state_problem(paths.state_db):  # before anything opens it for writing
        raise StateDamaged(f"{paths.state_db} {problem}; move it aside to start afresh (the next crawl then "
                           "fetches everything once)")
    preflight(project_settings(overrides))  # a full disk before the start: one line (StorageUnavailable)
    try:
        log_path = _log_to_file(overrides, out_dir, crawl_id) if log_file else None
    except STORAGE_ERRORS as exc:
        raise StorageUnavailable(f"cannot open the crawl log in {out_dir / 'logs'}: {exc}") from exc
    conf = project_settings(overrides)
    warc_dir, db_path = paths.warc_dir, paths.db
    process = CrawlerProcess(conf)
    terminal, raise_exceptions = None, logging.raiseExceptions
    if log_path is not None:  # the file has everything; the terminal warnings (or all: --verbose)
        terminal = _TerminalHandler()
        terminal.setLevel(conf.get("LOG_LEVEL") if verbose else max(logging.WARNING, _level(conf)))
        terminal.setFormatter(logging.Formatter(conf.get("LOG_FORMAT"), conf.get("LOG_DATEFORMAT")))
        logging.getLogger().addHandler(terminal)
        # a full disk also fills the log file: its handler then drops lines quietly instead of
        # printing a "--- Logging error ---" traceback per line (the store's own error is shown)
        logging.raiseExceptions = False
    crawlers, not_started = {}, {}
    for source in sources:
        crawler = process.create_crawler(source)
        kwargs = dict((spider_args or {}).get(source, {}))
        if base_urls and source in base_urls:
            kwargs["base_url"] = base_urls[source]
        process.crawl(crawler, **kwargs).addErrback(_not_started, source, not_started)
        crawlers[source] = crawler
    shutdown = Shutdown(crawlers.values(), grace=conf.getfloat("STENOGRAM_SHUTDOWN_GRACE"),
                        kill_after=conf.getfloat("STENOGRAM_SHUTDOWN_KILL_AFTER"),
                        board=ProgressBoard.shared() if progress else None)
    from twisted.internet import reactor

    in_main = threading.current_thread() is threading.main_thread()
    if in_main:
        reactor.callWhenRunning(shutdown.install)  # instead of Scrapy's handler (see crawler/shutdown.py)
    try:
        process.start(install_signal_handlers=False)
    finally:
        shutdown.crawl_ended()
        ProgressBoard.close_shared()
        if in_main:
            restore_default_handlers()
        if terminal is not None:
            logging.getLogger().removeHandler(terminal)
            logging.raiseExceptions = raise_exceptions
    result = CrawlResult(crawl_id=crawl_id, warc_dir=warc_dir, db_path=db_path, log_file=log_path,
                         interrupted=shutdown.signame,
                         state_db=None if conf.get("STENOGRAM_REDIS_URL") else paths.state_db)
    for source, crawler in crawlers.items():
        try:
            stats = crawler.stats
        except RuntimeError:  # Scrapy sets it when the crawl starts: this one never did
            stats = None
        result.stats[source] = dict(stats.get_stats()) if stats else {}
    if not_started:
        raise SpiderNotStarted("; ".join(f"{source} did not start: {why}" for source, why in not_started.items()),
                               result)
    return result


def _not_started(failure, source: str, not_started: dict[str, str]) -> None:
    """Errback of a crawl's Deferred: an exception that escapes ``Crawler.crawl`` (Scrapy catches
    what the spider's callbacks raise) means the crawl never ran; kept for one line, not the
    "Unhandled error in Deferred" traceback Twisted would print."""
    logging.getLogger(__name__).info("%s did not start", source,  # INFO: the log file, not the terminal
                                      exc_info=(failure.type, failure.value, failure.getTracebackObject()))
    not_started[source] = f"{failure.type.__name__}: {failure.getErrorMessage()}"


def _level(conf) -> int:
    level = conf.get("LOG_LEVEL")
    return level if isinstance(level, int) else logging.getLevelName(str(level).upper())
