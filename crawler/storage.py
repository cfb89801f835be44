"""Stopping a crawl when its own storage fails (disk full, folder not writable, I/O error).

A crawl that keeps fetching pages it cannot store is worse than one that stops: each fetch
costs the site a request and the archive nothing. Every writer of the crawl (the WARC guard,
the corpus pipeline, the crawl state) stops it the same way, with a reason naming what failed,
logged once; ``stenogram crawl`` then exits non-zero and the next run resumes.

"Logged once" is per process and store (``reason``: the WARC, the corpus, the crawl state):
the spiders of one ``stenogram crawl`` share the disk, so when it fills each of them stops,
but the operator reads the error one time (the other spiders' stops are logged at INFO),
without a traceback: the message is the storage's own error (``database or disk is full``,
``[Errno 28] No space left on device``), which is all there is to know.
"""
from __future__ import annotations

import logging
import sqlite3


logger = logging.getLogger(__name__)

#: What a full disk or an unwritable folder raises: EFBIG/ENOSPC/EROFS/EACCES as OSError,
#: "database or disk is full" / "disk I/O error" as sqlite3.OperationalError.
STORAGE_ERRORS = (OSError, sqlite3.OperationalError)


from scrapy.exceptions import DropItem

_logged: set[str] = set()  # errors already logged at ERROR by this process


class StorageDropItem(DropItem):
    """An item dropped because storage failed, not because it was unwanted: its page is not
    done, so the crawl state must not mark it complete (the next run fetches it again).

    Scrapy logs a dropped item with the whole item (the page's body) at WARNING; after a
    full disk that is every item still in flight. The error was said once by
    :func:`stop_crawl`, so these drops are logged at DEBUG."""

    def __init__(self, message: str, log_level: str | None = "DEBUG"):
        super().__init__(message, log_level=log_level)


def stop_crawl(crawler, reason: str, message: str, error: BaseException | None = None) -> None:
    """Close the running spider with ``reason`` (once), logging ``message`` as an error."""
    if not storage_failed(crawler, reason, message):
        return
    from scrapy.utils.defer import deferred_from_coro

    closing = deferred_from_coro(crawler.engine.close_spider_async(reason=reason))
    closing.addErrback(lambda failure: logger.error("could not close the spider: %s", failure.value))


def storage_failed(crawler, reason: str, message: str) -> bool:
    """Count ``stenogram/<reason>`` and log ``message``, at ERROR the first time this process
    reports ``reason`` (see the module docstring); False when this spider was already
    stopping. Used alone where the spider is closing anyway (a WARC that cannot be closed)."""
    stats = crawler.stats
    stats.inc_value(f"stenogram/{reason}")
    if stats.get_value("stenogram/stopping"):
        return False
    stats.set_value("stenogram/stopping", reason)
    if reason in _logged:  # the same store, already reported by another spider of this process
        logger.info("stopping %s too: %s", getattr(crawler.spider, "name", "the spider"), message)
    else:
        _logged.add(reason)
        logger.error("stopping the crawl: %s", message)
    return True


class StorageUnavailable(RuntimeError):
    """A store of the crawl cannot be opened (disk full, folder not writable): nothing fetched."""


def preflight(settings) -> None:
    """Open, creating if needed, the crawl state before any request is sent.

    Why: the crawl state is opened while Scrapy builds its middlewares, where an error is
    an "Unhandled error in Deferred" with a traceback per spider, not a stop with one line.
    A disk that is already full when the crawl starts is said here, once, as
    :class:`StorageUnavailable` naming the store and the system's error. (The archive and
    the corpus are opened when the spiders open, where a failure stops the crawl with one
    line: ``warc_write_failed`` / ``corpus_write_failed``.)
    """
    if not settings.getbool("RECRAWL_ENABLED"):
        return
    from stenogram.crawler.paths import data_paths
    from stenogram.crawler.state import CrawlState

    path = data_paths(settings).state_db
    try:
        CrawlState(path).close()
    except STORAGE_ERRORS as exc:
        raise StorageUnavailable(f"cannot open the crawl state {path}: {exc}") from exc
