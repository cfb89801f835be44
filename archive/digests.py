"""Payload digests and the SQLite index of first captures that revisit records point to.

A payload seen before is written as a ``revisit`` record referring to its first capture,
as Heritrix does; the index (``digests.db`` beside the WARCs, WAL mode so several crawl
processes can share it) is only a cache of what the WARCs say, and
:meth:`DigestIndex.rebuild` recreates it from them.
"""
from __future__ import annotations

import base64
import hashlib
import logging
import os
import sqlite3
import time
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Iterable, Iterator

from warcio.archiveiterator import ArchiveIterator

logger = logging.getLogger(__name__)

#: hashlib's own constructors (``hashlib.new(name)`` looks the name up on every call)
_HASHES = {"sha1": hashlib.sha1, "sha256": hashlib.sha256}
DIGEST_ALGORITHMS = tuple(_HASHES)


def _hash_constructor(algorithm: str):
    try:
        return _HASHES[algorithm]
    except KeyError:
        raise ValueError(
            f"unsupported digest {algorithm!r}; use one of {DIGEST_ALGORITHMS}") from None


class PayloadDigester:
    """Incremental ``ALGO:BASE32`` digest, the form WARC-*-Digest headers and CDX use."""

    def __init__(self, algorithm: str = "sha1"):
        self._hash = _hash_constructor(algorithm)()
        self.algorithm = algorithm

    def update(self, data: bytes) -> "PayloadDigester":
        self._hash.update(data)
        return self

    def __str__(self) -> str:
        return f"{self.algorithm}:{base64.b32encode(self._hash.digest()).decode()}"


def digest_of(*chunks: bytes, algorithm: str = "sha1") -> str:
    """``ALGO:BASE32`` digest of the concatenated chunks."""
    digest = _hash_constructor(algorithm)()
    for chunk in chunks:
        digest.update(chunk)
    return f"{algorithm}:{base64.b32encode(digest.digest()).decode()}"


def is_dedup_candidate(status: int, payload_length: int) -> bool:
    """Only non-empty 2xx payloads become revisit targets (empty bodies of redirects and
    errors would all share one digest and make meaningless revisits)."""
    return 200 <= status < 300 and payload_length > 0


@dataclass(frozen=True)
class FirstCapture:
    """The capture a revisit record refers to."""

    uri: str
    date: str  # WARC-Date
    record_id: str
    warc_file: str
    offset: int
    digest: str | None = None
    length: int = 0  # record length in the WARC (0 when unknown)


_SCHEMA = """
CREATE TABLE IF NOT EXISTS first_capture (
    digest TEXT PRIMARY KEY,
    uri TEXT NOT NULL,
    date TEXT NOT NULL,
    record_id TEXT NOT NULL,
    warc_file TEXT NOT NULL,
    offset INTEGER NOT NULL,
    length INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS latest_capture (
    uri TEXT PRIMARY KEY,
    digest TEXT,
    date TEXT NOT NULL,
    record_id TEXT NOT NULL,
    warc_file TEXT NOT NULL,
    offset INTEGER NOT NULL,
    length INTEGER NOT NULL DEFAULT 0
);
"""


class _Pending:
    """Captures added but not yet committed, shared by every :class:`DigestIndex` of one
    process on the same database file (so the spiders of one crawl process see each other's
    captures at once, as they did when every add was its own commit)."""

    def __init__(self):
        self.captures: list[FirstCapture] = []  # in add order
        self.first: dict[str, FirstCapture] = {}  # digest -> first pending capture
        self.latest: dict[str, FirstCapture] = {}  # uri -> last pending capture
        self.since = 0.0  # monotonic time of the oldest pending capture
        self.users = 0

    def add(self, capture: FirstCapture) -> None:
        if not self.captures:
            self.since = time.monotonic()
        self.captures.append(capture)
        if capture.digest:  # a whole non-empty 2xx: what a 304 re-check can refer to
            self.latest[capture.uri] = capture
            self.first.setdefault(capture.digest, capture)

    def take(self) -> list[FirstCapture]:
        captures = self.captures
        self.captures, self.first, self.latest = [], {}, {}
        return captures


_PENDING: dict[str, _Pending] = {}


class DigestIndex:
    """payload digest -> first capture; URI -> latest whole non-empty 2xx capture (what a 304
    re-check refers to: a 503 or a redirect answered since is not the page the 304 vouches for).

    Adds are committed in batches (every ``batch_size`` adds, after ``batch_seconds``, and on
    :meth:`flush`/:meth:`close`; :class:`archive.warc_writer.WarcWriter` flushes before it
    closes each WARC file), one transaction per batch; lookups see pending adds. A crash
    loses only uncommitted adds, and those all point into the WARC file that was open then:
    the next writer salvages that file and re-registers its records (:meth:`reindex`), and
    :meth:`rebuild` recreates the whole index from the WARCs in any case.
    """

    FILENAME = "digests.db"
    BATCH_SIZE = 256
    BATCH_SECONDS = 2.0

    def __init__(self, path: str | os.PathLike, *, batch_size: int | None = None,
                 batch_seconds: float | None = None):
        self.path = os.fspath(path)
        self.batch_size = self.BATCH_SIZE if batch_size is None else batch_size
        self.batch_seconds = self.BATCH_SECONDS if batch_seconds is None else batch_seconds
        self._db = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(_SCHEMA)
        self._key = os.path.realpath(self.path)
        self._pending = _PENDING.setdefault(self._key, _Pending())
        self._pending.users += 1
        self._last_miss: str | None = None  # the digest the last lookup did not find
        self._closed = False

    @classmethod
    def in_directory(cls, warc_dir: str | os.PathLike) -> "DigestIndex":
        return cls(os.path.join(os.fspath(warc_dir), cls.FILENAME))

    def lookup(self, digest: str) -> FirstCapture | None:
        row = self._db.execute(
            "SELECT uri, date, record_id, warc_file, offset, digest, length FROM first_capture"
            " WHERE digest = ?",
            (digest,),
        ).fetchone()
        if row:
            self._last_miss = None
            return FirstCapture(*row)
        found = self._pending.first.get(digest)
        self._last_miss = digest if found is None else None
        return found

    def latest_for_uri(self, uri: str) -> FirstCapture | None:
        pending = self._pending.latest.get(uri)
        if pending is not None:
            return pending
        row = self._db.execute(
            "SELECT uri, date, record_id, warc_file, offset, digest, length FROM latest_capture"
            " WHERE uri = ?",
            (uri,),
        ).fetchone()
        return FirstCapture(*row) if row else None

    def add(self, capture: FirstCapture) -> bool:
        """Remember a full capture; returns True when its digest was new."""
        digest = capture.digest
        new = bool(digest) and digest not in self._pending.first and (
            digest == self._last_miss or self._db.execute(
                "SELECT 1 FROM first_capture WHERE digest = ?", (digest,)).fetchone() is None)
        self._last_miss = None
        self._pending.add(capture)
        if (len(self._pending.captures) >= self.batch_size
                or time.monotonic() - self._pending.since >= self.batch_seconds):
            self.flush()
        return new

    def flush(self) -> int:
        """Commit every pending add (of this process, for this file) in one transaction."""
        captures = self._pending.take()
        if not captures:
            return 0
        try:
            self._write(captures)
        except BaseException:
            for capture in captures:  # keep them for the next try (and for lookups)
                self._pending.add(capture)
            raise
        return len(captures)

    def _write(self, captures: list[FirstCapture], *, keep_newer: bool = False) -> None:
        latest_sql = (
            "INSERT INTO latest_capture (uri, digest, date, record_id, warc_file, offset, length)"
            " VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (uri) DO UPDATE SET"
            " digest = excluded.digest, date = excluded.date, record_id = excluded.record_id,"
            " warc_file = excluded.warc_file, offset = excluded.offset, length = excluded.length"
            " WHERE excluded.date >= latest_capture.date"
            if keep_newer else
            "INSERT OR REPLACE INTO latest_capture (uri, digest, date, record_id, warc_file,"
            " offset, length) VALUES (?, ?, ?, ?, ?, ?, ?)")
        with self._transaction():
            self._db.executemany(latest_sql, [
                (c.uri, c.digest, c.date, c.record_id, c.warc_file, c.offset, c.length)
                for c in captures if c.digest])
            self._db.executemany(
                "INSERT OR IGNORE INTO first_capture (digest, uri, date, record_id, warc_file,"
                " offset, length) VALUES (?, ?, ?, ?, ?, ?, ?)",
                [(c.digest, c.uri, c.date, c.record_id, c.warc_file, c.offset, c.length)
                 for c in captures if c.digest])

    @contextmanager
    def _transaction(self) -> Iterator[None]:
        """``BEGIN IMMEDIATE`` .. ``COMMIT``, through the connection's own context manager.

        Why not a hand-written ``ROLLBACK`` on error: after "database or disk is full" SQLite
        may already have rolled the transaction back, and a second ``ROLLBACK`` then raised
        "cannot rollback - no transaction is active", hiding the full disk. ``with conn``
        rolls back only an open transaction, and also after a failed ``COMMIT``.
        """
        self._db.execute("BEGIN IMMEDIATE")
        with self._db:
            yield

    def forget_beyond(self, warc_file: str, length: int) -> int:
        """Drop entries pointing past ``length`` bytes of ``warc_file`` (after a salvage)."""
        self.flush()
        n = 0
        with self._transaction():
            for table in ("first_capture", "latest_capture"):
                n += self._db.execute(
                    f"DELETE FROM {table} WHERE warc_file = ? AND offset >= ?",
                    (warc_file, length)).rowcount
        return n

    def reindex(self, warc_path: str | os.PathLike) -> int:
        """Register the ``response`` records of one WARC (a salvaged file: adds of its last
        records may not have been committed before the crash). A first capture already known
        is kept, and a URI's latest capture is only replaced by a later-dated one."""
        self.flush()
        captures = list(_captures_in(warc_path))
        if captures:
            self._write(captures, keep_newer=True)
        return len(captures)

    def rebuild(self, warc_paths: Iterable[str | os.PathLike]) -> int:
        """Empty the index and refill it from ``response`` records; returns records indexed.

        Files are read in name order (names start with a timestamp), so the first capture
        of each digest wins, as it did during the crawl. Truncated records are skipped.
        """
        self._pending.take()
        with self._transaction():
            self._db.execute("DELETE FROM first_capture")
            self._db.execute("DELETE FROM latest_capture")
        count = 0
        for path in sorted(map(os.fspath, warc_paths), key=os.path.basename):
            for capture in _captures_in(path):
                self.add(capture)
                count += 1
        self.flush()
        logger.info("digest index %s rebuilt from %d response records", self.path, count)
        return count

    def close(self) -> None:
        if self._closed:
            return
        try:
            self.flush()
        finally:
            self._closed = True
            self._pending.users -= 1
            if self._pending.users <= 0 and not self._pending.captures:
                _PENDING.pop(self._key, None)
            self._db.close()


def _captures_in(path: str | os.PathLike) -> Iterator[FirstCapture]:
    """A :class:`FirstCapture` per untruncated ``response`` record of one WARC file."""
    path = os.fspath(path)
    name = os.path.basename(path)
    if name.endswith(".open"):
        name = name[: -len(".open")]
    with open(path, "rb") as fh:
        it = ArchiveIterator(fh)
        for record in it:
            headers = record.rec_headers
            if record.rec_type != "response" or headers.get_header("WARC-Truncated"):
                continue
            offset = it.get_record_offset()
            status = int(record.http_headers.get_statuscode() or 0)
            digest = headers.get_header("WARC-Payload-Digest")
            it.read_to_end(record)
            yield FirstCapture(
                uri=headers.get_header("WARC-Target-URI"),
                date=headers.get_header("WARC-Date"),
                record_id=headers.get_header("WARC-Record-ID"),
                warc_file=name,
                offset=offset,
                digest=digest if is_dedup_candidate(status, record.payload_length) else None,
                length=it.get_record_length(),
            )
