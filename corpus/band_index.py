"""``BandIndex``: the persistent MinHash LSH band index, three SQLite levels, two mirrored in memory.

Why three levels: band keys are random 64-bit numbers, so inserting each document's 32 keys
straight into one large B-tree dirties a different page for almost every key (at 100k documents
each 500-document transaction rewrote ~13k pages). Keys go to the small ``lsh_bands_recent``
instead, which is merged in key order into ``lsh_bands_middle`` every ``LSH_MERGE_ROWS`` keys,
which is merged into ``lsh_bands`` when it outgrows ``middle_level_cap`` (a merge rewrites
about every page of the level it writes into; merging every 20k documents straight into the
largest level cost 96 s of a 1M-document build, 56 s with the middle level).

Why the memory mirror: every level is one more B-tree probe per key. Probing all three tables
in SQL took 37% of the writer's time at 500k documents (96 seeks per document); the two small
levels are therefore also kept in memory (a dict for ``recent``, sorted numpy arrays for
``middle``: ~250 MiB at a million documents) and only ``lsh_bands`` is probed in SQL. The tables
stay the truth: the mirror is reloaded from them when another connection has committed (``PRAGMA
data_version``) or when a transaction was rolled back (``Corpus.transaction`` calls
``invalidate``).
"""
from __future__ import annotations

import sqlite3
from collections import Counter
from collections.abc import Iterable, Sequence

import numpy as np

from corpus import dedup

# The levels, smallest first (created by ``corpus.schema``).
LSH_BAND_TABLES = ("lsh_bands_recent", "lsh_bands_middle", "lsh_bands")
# Band keys in lsh_bands_recent before they are merged into lsh_bands_middle (20k documents x
# 32 bands): small enough that a transaction's random inserts touch few pages, large enough that
# a merge (which touches most pages of the level below) is rare.
LSH_MERGE_ROWS = 640_000


def middle_level_cap(total_rows: int) -> int:
    """Rows ``lsh_bands_middle`` may hold before it is merged into ``lsh_bands``.

    A merge costs about the size of the level it writes into, so with ``n`` band rows in all
    the small merges cost ~n*cap/(2*LSH_MERGE_ROWS) and the large ones ~n^2/(2*cap): the sum is
    least at cap = sqrt(n * LSH_MERGE_ROWS). The floor keeps small corpora from merging twice
    as often.
    """
    return max(4 * LSH_MERGE_ROWS, int((total_rows * LSH_MERGE_ROWS) ** 0.5))


class BandIndex:
    """Adds and looks up band keys on ``conn``; the caller owns the transactions."""

    def __init__(self, conn: sqlite3.Connection):
        self.conn = conn
        self._loaded = False
        self._data_version: int | None = None
        self._recent: dict[int, int | tuple[int, ...]] = {}
        self._recent_rows = 0
        self._middle_keys = np.empty(0, dtype=np.int64)
        self._middle_ids = np.empty(0, dtype=np.int64)

    # -- the memory mirror ---------------------------------------------------------------
    def invalidate(self) -> None:
        """Forget the mirror (the tables changed under it: a rollback); reloaded when needed."""
        self._loaded = False

    def _current(self) -> None:
        version = self.conn.execute("PRAGMA data_version").fetchone()[0]
        if self._loaded and version == self._data_version:
            return
        recent, middle = LSH_BAND_TABLES[:2]
        self._recent, self._recent_rows = {}, 0
        for key, version_id in self.conn.execute(f"SELECT key, version_id FROM {recent}"):
            self._add_recent(key, version_id)
        pairs = np.array(self.conn.execute(
            f"SELECT key, version_id FROM {middle} ORDER BY key, version_id").fetchall(),
            dtype=np.int64).reshape(-1, 2)
        self._middle_keys, self._middle_ids = pairs[:, 0].copy(), pairs[:, 1].copy()
        self._data_version, self._loaded = version, True

    # -- writes ----------------------------------------------------------------------------
    def add(self, version_id: int, keys: Iterable[int]) -> None:
        """Index ``version_id`` under its band ``keys`` (merging levels when one is full)."""
        self._current()
        keys = list(keys)
        self.conn.executemany(
            f"INSERT OR IGNORE INTO {LSH_BAND_TABLES[0]} (key, version_id) VALUES (?, ?)",
            [(k, version_id) for k in keys])
        for key in keys:
            self._add_recent(key, version_id)
        if self._recent_rows >= LSH_MERGE_ROWS:
            self.merge()

    def _add_recent(self, key: int, version_id: int) -> None:
        # One int per key, a tuple for the rare shared key (a mirror's band): ints and tuples
        # of ints are not tracked by the cyclic GC, lists are (with a list per key, collecting
        # 640k of them took 7% of the writer's time).
        ids = self._recent.get(key)
        if ids is None:
            self._recent[key] = version_id
        elif ids == version_id or (type(ids) is tuple and version_id in ids):
            return
        else:
            self._recent[key] = (ids, version_id) if type(ids) is int else (*ids, version_id)
        self._recent_rows += 1

    def merge(self) -> None:
        """Move ``lsh_bands_recent`` into ``lsh_bands_middle``, and that into ``lsh_bands`` once
        it holds more than ``middle_level_cap`` rows; each in key order (one pass over the
        pages of the level written). Runs in the caller's transaction."""
        self._current()
        recent, middle, largest = LSH_BAND_TABLES
        self._merge_level(recent, middle)
        pairs = [(k, v) for k, ids in self._recent.items()
                 for v in ((ids,) if type(ids) is int else ids)]
        keys = np.concatenate([self._middle_keys, np.array([k for k, _ in pairs], dtype=np.int64)])
        ids = np.concatenate([self._middle_ids, np.array([v for _, v in pairs], dtype=np.int64)])
        order = np.lexsort((ids, keys))
        self._middle_keys, self._middle_ids = keys[order], ids[order]
        self._recent, self._recent_rows = {}, 0
        # Every version has BANDS keys: the rowid bound of lsh_signatures counts them all.
        versions = self.conn.execute("SELECT max(version_id) FROM lsh_signatures").fetchone()[0]
        if len(self._middle_keys) >= middle_level_cap((versions or 0) * dedup.BANDS):
            self._merge_level(middle, largest)
            self._middle_keys = self._middle_ids = np.empty(0, dtype=np.int64)

    def _merge_level(self, source: str, target: str) -> None:
        self.conn.execute(f"INSERT OR IGNORE INTO {target} (key, version_id) "
                          f"SELECT key, version_id FROM {source} ORDER BY key, version_id")
        self.conn.execute(f"DELETE FROM {source}")

    def clear(self) -> None:
        """Empty every level (the index is about to be rebuilt)."""
        for table in LSH_BAND_TABLES:
            self.conn.execute(f"DELETE FROM {table}")
        self.invalidate()

    # -- lookups ---------------------------------------------------------------------------
    def candidates(self, keys: Sequence[int], limit: int) -> list[int]:
        """Version ids sharing a band key with ``keys``: most shared keys first, then by id."""
        self._current()
        hits: Counter[int] = Counter()
        for key in keys:
            ids = self._recent.get(key)
            if ids is not None:
                hits.update((ids,) if type(ids) is int else ids)
        if len(self._middle_keys):
            # sorted, so numpy's binary search starts each key where the last one ended
            wanted = np.sort(np.asarray(keys, dtype=np.int64))
            lo = np.searchsorted(self._middle_keys, wanted, "left")
            hi = np.searchsorted(self._middle_keys, wanted, "right")
            for a, b in zip(lo.tolist(), hi.tolist()):
                hits.update(self._middle_ids[a:b].tolist())
        marks = ",".join("?" * len(keys))
        hits.update(v for (v,) in self.conn.execute(
            f"SELECT version_id FROM {LSH_BAND_TABLES[2]} WHERE key IN ({marks})", tuple(keys)))
        return sorted(hits, key=lambda v: (-hits[v], v))[:limit]
