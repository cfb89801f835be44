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
numpy arrays (~250 MiB at a million documents); only ``lsh_bands`` is probed in SQL, and only
for the keys its Bloom filter (``KeyFilter``, ~50 MiB at a million documents, rebuilt from the
table on load) lets through: most documents share no key with anything. Nothing is
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

from stenogram.corpus import dedup

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


def mark_merged(conn: sqlite3.Connection) -> int:
    """Set the merge mark to the newest version (every version's keys are now in the tables);
    returns it."""
    conn.execute("INSERT OR REPLACE INTO corpus_meta (key, value) SELECT ?, "
                 "coalesce(max(version_id), 0) FROM lsh_signatures", (UNMERGED_AFTER,))
    return unmerged_after(conn)


class KeyFilter:
    """A Bloom filter over 64-bit band keys: ``maybe(keys)`` is False only for keys never added.

    Why: most documents share no band key with anything, yet each lookup probed ``lsh_bands``
    for all 32 keys (5 us a seek at a million documents, 21% of the writer's time). Band keys
    are already uniform 64-bit mixes, so the filter takes its bits from the key itself: the low
    bits choose one 64-bit word, six bit numbers from the high half are set in it (a blocked
    Bloom filter: one memory access per key; ~1% false positives at ``BITS_PER_KEY``). A
    filter past ``capacity`` is rebuilt larger by its owner.
    """

    BITS_PER_KEY = 12
    HASHES = 6
    # six 6-bit bit numbers, overlapping at 5-bit steps of the key's high half
    _SHIFTS = np.arange(0, 5 * HASHES, 5, dtype=np.uint64)[None, :]

    def __init__(self, capacity: int):
        words = 1 << max(10, int(capacity * self.BITS_PER_KEY // 64).bit_length())
        self.words = np.zeros(words, dtype=np.uint64)
        self.capacity = words * 64 // self.BITS_PER_KEY
        self.count = 0

    def _slots(self, keys) -> tuple[np.ndarray, np.ndarray]:
        k = np.asarray(keys, dtype=np.int64).view(np.uint64)
        word = (k & np.uint64(len(self.words) - 1)).astype(np.intp)
        shifts = (k >> np.uint64(32))[:, None] >> self._SHIFTS
        bits = np.bitwise_or.reduce(np.uint64(1) << (shifts & np.uint64(63)), axis=1)
        return word, bits

    def add(self, keys) -> None:
        keys = np.asarray(keys, dtype=np.int64)
        for start in range(0, len(keys), 1 << 16):  # small temporaries, cache-sized
            word, bits = self._slots(keys[start:start + (1 << 16)])
            np.bitwise_or.at(self.words, word, bits)
        self.count += len(keys)

    def maybe(self, keys) -> np.ndarray:
        word, bits = self._slots(keys)
        return (self.words[word] & bits) == bits


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
        self._largest = KeyFilter(0)  # the keys of lsh_bands

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
        cursor = self.conn.execute(
            f"SELECT key, version_id FROM {LSH_BAND_TABLES[0]} ORDER BY key, version_id")
        pairs = np.concatenate([np.empty((0, 2), dtype=np.int64)] + [
            np.array(rows, dtype=np.int64) for rows in iter(lambda: cursor.fetchmany(1 << 16), [])])
        self._middle_keys, self._middle_ids = pairs[:, 0].copy(), pairs[:, 1].copy()
        self._filter_largest()
        self._data_version, self._loaded = version, True

    def _filter_largest(self) -> None:
        """(Re)build the filter of ``lsh_bands`` from the table, with room for 4x the keys of
        every merged version (an upper bound of its rows, known without a count scan)."""
        self._largest = KeyFilter(4 * unmerged_after(self.conn) * dedup.BANDS)
        cursor = self.conn.execute(f"SELECT key FROM {LSH_BAND_TABLES[1]}")
        while chunk := cursor.fetchmany(1 << 16):
            self._largest.add(np.fromiter((k for (k,) in chunk), dtype=np.int64, count=len(chunk)))

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
        versions = mark_merged(self.conn)
        keys = np.concatenate([self._middle_keys, keys])
        ids = np.concatenate([self._middle_ids, ids])
        order = np.lexsort((ids, keys))  # two sorted runs: a merge for numpy's timsort
        self._middle_keys, self._middle_ids = keys[order], ids[order]
        self._recent, self._recent_rows = {}, 0
        # Every version has BANDS keys: the rowid bound of lsh_signatures counts them all.
        if len(self._middle_keys) >= middle_level_cap(versions * dedup.BANDS):
            self._merge_level(middle, largest)
            if self._largest.count + len(self._middle_keys) > self._largest.capacity:
                self._filter_largest()  # from the table, which now holds the middle level too
            else:
                self._largest.add(self._middle_keys)
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
        # sorted, so numpy's binary search starts each key where the last one ended
        wanted = np.sort(np.asarray(keys, dtype=np.int64))
        if len(self._middle_keys):
            lo = np.searchsorted(self._middle_keys, wanted, "left")
            hi = np.searchsorted(self._middle_keys, wanted, "right")
            for a, b in zip(lo.tolist(), hi.tolist()):
                hits.update(self._middle_ids[a:b].tolist())
        if self._largest.count:
            stored = wanted[self._largest.maybe(wanted)].tolist()
            if stored:
                hits.update(v for (v,) in self.conn.execute(
                    f"SELECT version_id FROM {LSH_BAND_TABLES[1]} WHERE key IN "
                    f"({','.join('?' * len(stored))})", stored))
        return sorted(hits, key=lambda v: (-hits[v], v))[:limit]
