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
from dataclasses import dataclass
from typing import Iterable

from warcio.archiveiterator import ArchiveIterator

logger = logging.getLogger(__name__)

DIGEST_ALGORITHMS = ("sha1", "sha256")


class PayloadDigester:
    """Incremental ``ALGO:BASE32`` digest, the form WARC-*-Digest headers and CDX use."""

    def __init__(self, algorithm: str = "sha1"):
        if algorithm not in DIGEST_ALGORITHMS:
            raise ValueError(f"unsupported digest {algorithm!r}; use one of {DIGEST_ALGORITHMS}")
        self.algorithm = algorithm
        self._hash = hashlib.new(algorithm)

    def update(self, data: bytes) -> "PayloadDigester":
        self._hash.update(data)
        return self

    def __str__(self) -> str:
        return f"{self.algorithm}:{base64.b32encode(self._hash.digest()).decode('ascii')}"


def digest_of(*chunks: bytes, algorithm: str = "sha1") -> str:
    """``ALGO:BASE32`` digest of the concatenated chunks."""
    digester = PayloadDigester(algorithm)
    for chunk in chunks:
        digester.update(chunk)
    return str(digester)


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


class DigestIndex:
    """payload digest -> first capture; URI -> latest full capture (for 304 revisits)."""

    FILENAME = "digests.db"

    def __init__(self, path: str | os.PathLike):
        self.path = os.fspath(path)
        self._db = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(_SCHEMA)

    @classmethod
    def in_directory(cls, warc_dir: str | os.PathLike) -> "DigestIndex":
        return cls(os.path.join(os.fspath(warc_dir), cls.FILENAME))

    def lookup(self, digest: str) -> FirstCapture | None:
        row = self._db.execute(
            "SELECT uri, date, record_id, warc_file, offset, digest, length FROM first_capture"
            " WHERE digest = ?",
            (digest,),
        ).fetchone()
        return FirstCapture(*row) if row else None

    def latest_for_uri(self, uri: str) -> FirstCapture | None:
        row = self._db.execute(
            "SELECT uri, date, record_id, warc_file, offset, digest, length FROM latest_capture"
            " WHERE uri = ?",
            (uri,),
        ).fetchone()
        return FirstCapture(*row) if row else None

    def add(self, capture: FirstCapture) -> bool:
        """Remember a full capture; returns True when its digest was new."""
        with self._db:
            self._db.execute(
                "INSERT OR REPLACE INTO latest_capture (uri, digest, date, record_id, warc_file,"
                " offset, length) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (capture.uri, capture.digest, capture.date, capture.record_id,
                 capture.warc_file, capture.offset, capture.length),
            )
            if not capture.digest:
                return False
            cur = self._db.execute(
                "INSERT OR IGNORE INTO first_capture (digest, uri, date, record_id, warc_file,"
                " offset, length) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (capture.digest, capture.uri, capture.date, capture.record_id,
                 capture.warc_file, capture.offset, capture.length),
            )
            return cur.rowcount == 1

    def forget_beyond(self, warc_file: str, length: int) -> int:
        """Drop entries pointing past ``length`` bytes of ``warc_file`` (after a salvage)."""
        with self._db:
            n = 0
            for table in ("first_capture", "latest_capture"):
                n += self._db.execute(
                    f"DELETE FROM {table} WHERE warc_file = ? AND offset >= ?",
                    (warc_file, length)).rowcount
        return n

    def rebuild(self, warc_paths: Iterable[str | os.PathLike]) -> int:
        """Empty the index and refill it from ``response`` records; returns records indexed.

        Files are read in name order (names start with a timestamp), so the first capture
        of each digest wins, as it did during the crawl. Truncated records are skipped.
        """
        with self._db:
            self._db.execute("DELETE FROM first_capture")
            self._db.execute("DELETE FROM latest_capture")
        count = 0
        for path in sorted(map(os.fspath, warc_paths), key=os.path.basename):
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
                    self.add(FirstCapture(
                        uri=headers.get_header("WARC-Target-URI"),
                        date=headers.get_header("WARC-Date"),
                        record_id=headers.get_header("WARC-Record-ID"),
                        warc_file=name,
                        offset=offset,
                        digest=digest if is_dedup_candidate(status, record.payload_length)
                        else None,
                        length=it.get_record_length(),
                    ))
                    count += 1
        logger.info("digest index %s rebuilt from %d response records", self.path, count)
        return count

    def close(self) -> None:
        self._db.close()
