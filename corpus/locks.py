"""Advisory file locks (``flock``) beside a corpus database, for the processes that share it.

Why files and not SQLite: these say which *processes* are alive, and the kernel drops a flock
when its process dies, however it dies; a row in the database would outlive a ``kill -9``.

- ``<db>-writers.lock``: every ``Corpus`` that has written holds a shared lock on it
  (``Corpus.transaction``), so a bulk writer can learn that it shares the file
  (``Corpus.others_writing``) and keep its transactions short.
- ``<db>-bulk.lock``: held exclusively by the process whose bulk load deferred the full-text
  index (``Corpus.defer_fts``); found free while the index is still deferred, it means that
  process died and the index is to be completed.
"""
from __future__ import annotations

import fcntl
import logging
import os

log = logging.getLogger(__name__)


def hold_shared(path: str) -> int | None:
    """The fd of a shared lock on ``path`` (created if missing); None where the file cannot be
    made (best effort: the lock only informs others)."""
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as exc:
        log.debug("%s: no lock: %s", path, exc)
        return None
    fcntl.flock(fd, fcntl.LOCK_SH)
    return fd


def try_exclusive(path: str) -> int | None:
    """The fd of an exclusive lock on ``path`` (created if missing), or None while another
    open file holds a lock on it. Closing the fd releases the lock."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return None
    return fd


def held_by_others(path: str) -> bool:
    """True while some other open file holds a lock on ``path`` (never creates it)."""
    try:
        fd = os.open(path, os.O_RDWR)
    except FileNotFoundError:  # nobody has ever locked it
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)  # also drops the exclusive lock when it was taken
    return False


def release(fd: int | None) -> None:
    """Close ``fd`` (which drops its lock); None is nothing to release."""
    if fd is not None:
        os.close(fd)
