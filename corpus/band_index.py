"""``BandIndex``: the persistent MinHash LSH band index, in three levels, two of them in memory.

Why levels: band keys are random 64-bit numbers, so inserting each document's 32 keys straight
into one large B-tree dirties a different page for almost every key (at 100k documents each
500-document transaction rewrote ~13k pages). So an LSM: new versions' keys are held in memory
(``recent``) and written in key order into ``lsh_bands_middle`` every ``LSH_MERGE_ROWS`` keys,
which is merged into ``lsh_bands`` when it outgrows ``middle_level_cap`` (a merge rewrites about
every page of the level it writes into; merging every 20k documents straight into the largest
level cost 96 s of a 1M-document build, 56 s with the middle level).

Why memory: every level is one more B-tree probe per key. Probing three tables in SQL took 37%
of the writer's time at 500k documents (96 seeks per document), and inserting the keys into a
``recent`` table another 15%. ``recent`` is therefore a dict and ``middle`` is mirrored as sorted
numpy arrays (~250 MiB at a million documents); only ``lsh_bands`` is probed in SQL. Nothing is
lost in a crash: ``recent`` is exactly the band keys of the versions after the merge mark
(``corpus_meta.lsh_unmerged_after``), recomputed from their stored signatures
(``lsh_signatures``) when a ``BandIndex`` loads. It reloads when another connection has
committed (``PRAGMA data_version``) or a transaction was rolled back (``Corpus.transaction``
calls ``invalidate``), so the tables and signatures stay the truth.
"""
from __future__ import annotations

import sqlite3
from collections import Counter
from collections.abc import Iterable, Sequence

import numpy as np

from corpus import dedup

# The stored levels, smaller first (created by ``corpus.schema``).
LSH_BAND_TABLES = ("lsh_bands_middle", "lsh_bands")
# ``corpus_meta`` key: the largest version id whose band keys are in LSH_BAND_TABLES; later
# versions' keys are in memory only (and derivable from their signatures).
UNMERGED_AFTER = "lsh_unmerged_after"
# Band keys held in memory before they are merged into lsh_bands_middle (20k documents x 32
# bands): a merge touches most pages of the middle level, so it should be rare; at startup
# the keys are recomputed from up to this many signatures / 32.
LSH_MERGE_ROWS = 640_000


def middle_level_cap(total_rows: int) -> int:
    """Rows ``lsh_bands_middle`` may hold before it is merged into ``lsh_bands``.

    A merge costs about the size of the level it writes into, so with ``n`` band rows in all
    the small merges cost ~n*cap/(2*LSH_MERGE_ROWS) and the large ones ~n^2/(2*cap): the sum is
    least at cap = sqrt(n * LSH_MERGE_ROWS). The floor keeps small corpora from merging twice
    as often.
    """
    return max(4 * LSH_MERGE_ROWS, int((total_rows * LSH_MERGE_ROWS) ** 0.5))


def unmerged_after(conn: sqlite3.Connection) -> int:
    """The merge mark: versions with a larger id have their band keys in memory only."""
    row = conn.execute("SELECT value FROM corpus_meta WHERE key = ?", (UNMERGED_AFTER,)).fetchone()
    return int(row[0]) if row else 0


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
        self._recent, self._recent_rows = {}, 0
        cursor = self.conn.execute(
            "SELECT version_id, signature FROM lsh_signatures WHERE version_id > ? "
            "ORDER BY version_id", (unmerged_after(self.conn),))
        while rows := cursor.fetchmany(1000):
            keys = dedup.band_keys_of_signatures([dedup.signature_from_blob(b) for _, b in rows])
            for (version_id, _), version_keys in zip(rows, keys):
                for key in version_keys:
                    self._add_recent(key, version_id)
        pairs = np.array(self.conn.execute(
            f"SELECT key, version_id FROM {LSH_BAND_TABLES[0]} ORDER BY key, version_id"
        ).fetchall(), dtype=np.int64).reshape(-1, 2)
        self._middle_keys, self._middle_ids = pairs[:, 0].copy(), pairs[:, 1].copy()
        self._data_version, self._loaded = version, True

    # -- writes ----------------------------------------------------------------------------
    def add(self, version_id: int, keys: Iterable[int]) -> None:
        """Index ``version_id`` under its band ``keys``; its signature must already be stored
        in ``lsh_signatures`` (that is what makes the in-memory level durable)."""
        self._current()
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
        """Write the in-memory keys into ``lsh_bands_middle`` in key order, and move that into
        ``lsh_bands`` once it holds more than ``middle_level_cap`` rows (one pass over the pages
        of the level written). Runs in the caller's transaction, with the merge mark."""
        self._current()
        middle, largest = LSH_BAND_TABLES
        pairs = [(k, v) for k, ids in self._recent.items()
                 for v in ((ids,) if type(ids) is int else ids)]
        keys = np.array([k for k, _ in pairs], dtype=np.int64)
        ids = np.array([v for _, v in pairs], dtype=np.int64)
        order = np.lexsort((ids, keys))
        keys, ids = keys[order], ids[order]
        self.conn.executemany(f"INSERT OR IGNORE INTO {middle} (key, version_id) VALUES (?, ?)",
                              zip(keys.tolist(), ids.tolist()))
        # Every version so far has been add()ed: all of their keys are in the tables now.
        versions = self.conn.execute("SELECT max(version_id) FROM lsh_signatures").fetchone()[0]
        self.conn.execute("INSERT OR REPLACE INTO corpus_meta (key, value) VALUES (?, ?)",
                          (UNMERGED_AFTER, str(versions or 0)))
        keys = np.concatenate([self._middle_keys, keys])
        ids = np.concatenate([self._middle_ids, ids])
        order = np.lexsort((ids, keys))  # two sorted runs: a merge for numpy's timsort
        self._middle_keys, self._middle_ids = keys[order], ids[order]
        self._recent, self._recent_rows = {}, 0
        # Every version has BANDS keys: the rowid bound of lsh_signatures counts them all.
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
        self.conn.execute("DELETE FROM corpus_meta WHERE key = ?", (UNMERGED_AFTER,))
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
            f"SELECT version_id FROM {LSH_BAND_TABLES[1]} WHERE key IN ({marks})", tuple(keys)))
        return sorted(hits, key=lambda v: (-hits[v], v))[:limit]
