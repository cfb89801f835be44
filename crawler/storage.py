"""Stopping a crawl when its own storage fails (disk full, folder not writable, I/O error).

A crawl that keeps fetching pages it cannot store is worse than one that stops: each fetch
costs the site a request and the archive nothing. Every writer of the crawl (the WARC guard,
the corpus pipeline, the crawl state) stops it the same way, with a reason naming what failed,
logged once; ``stenogram crawl`` then exits non-zero and the next run resumes.
"""
from __future__ import annotations

import logging
import sqlite3


logger = logging.getLogger(__name__)

#: What a full disk or an unwritable folder raises: EFBIG/ENOSPC/EROFS/EACCES as OSError,
#: "database or disk is full" / "disk I/O error" as sqlite3.OperationalError.
STORAGE_ERRORS = (OSError, sqlite3.OperationalError)


from scrapy.exceptions import DropItem


class StorageDropItem(DropItem):
    """An item dropped because storage failed, not because it was unwanted: its page is not
    done, so the crawl state must not mark it complete (the next run fetches it again)."""


def stop_crawl(crawler, reason: str, message: str) -> None:
    """Close the running spider with ``reason`` (once), logging ``message`` as an error."""
    stats = crawler.stats
    stats.inc_value(f"stenogram/{reason}")
    if stats.get_value("stenogram/stopping"):
        return
    stats.set_value("stenogram/stopping", reason)
    logger.error("stopping the crawl: %s", message)
    from scrapy.utils.defer import _schedule_coro

    _schedule_coro(crawler.engine.close_spider_async(reason=reason))
