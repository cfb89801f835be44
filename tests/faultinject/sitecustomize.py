"""A seeded full-disk injector for subprocess crawls (tests/test_full_disk.py).

Put this folder first on ``PYTHONPATH`` and name the stores to fill in ``STENOGRAM_FAULTS``,
e.g. ``corpus@5,warc@40``: from the Nth write of that store on, every write fails the way a
full disk fails it (the disk stays full until the process ends, i.e. until "space is freed"
for the rerun):

* ``corpus`` / ``state`` / ``digests`` (``corpus.db``, ``state.db``, ``digests.db``): a
  writing statement (or the commit of a ``with conn`` block) raises
  ``sqlite3.OperationalError("database or disk is full")``. With ``STENOGRAM_FAULT_SEED``
  set, a seeded coin decides at each failure whether SQLite also rolled the whole
  transaction back first, as it may after SQLITE_FULL (https://sqlite.org/lang_transaction.html).
* ``warc`` (``*.warc.gz.open`` and ``*.cdxj.open``): a write stores a seeded part of its
  bytes, then raises ``OSError(ENOSPC)``, as ``write(2)`` does on a full disk.

Each failure is noted on stderr as ``FAULT store n`` so a test can tell that it fired.
"""
from __future__ import annotations

import builtins
import errno
import os
import random
import sqlite3
import sys

_PLAN: dict[str, int] = {}
for _part in filter(None, os.environ.get("STENOGRAM_FAULTS", "").split(",")):
    _store, _, _n = _part.partition("@")
    _PLAN[_store.strip()] = int(_n or 1)
_RNG = random.Random(os.environ.get("STENOGRAM_FAULT_SEED", "0"))
_COUNT: dict[str, int] = {}
_DB_STORES = {"corpus.db": "corpus", "state.db": "state", "digests.db": "digests"}
_WRITES = ("INSERT", "UPDATE", "DELETE", "REPLACE", "CREATE", "DROP", "COMMIT", "RELEASE",
           "END", "PRAGMA USER_VERSION =")


def _full(store: str) -> bool:
    """Count one write of ``store``; True once the disk is full for it."""
    if store not in _PLAN:
        return False
    _COUNT[store] = _COUNT.get(store, 0) + 1
    if _COUNT[store] < _PLAN[store]:
        return False
    print(f"FAULT {store} {_COUNT[store]}", file=sys.stderr, flush=True)
    return True


class _FullDiskConnection(sqlite3.Connection):
    store = ""

    def _check(self, sql: str) -> None:
        head = " ".join(sql.split()).upper()
        if head.startswith(_WRITES) and _full(self.store):
            if self.in_transaction and os.environ.get("STENOGRAM_FAULT_SEED") and _RNG.random() < 0.5:
                sqlite3.Connection.execute(self, "ROLLBACK")  # SQLite's automatic rollback
            raise sqlite3.OperationalError("database or disk is full")

    def execute(self, sql, *args):
        self._check(sql)
        return super().execute(sql, *args)

    def executemany(self, sql, *args):
        self._check(sql)
        return super().executemany(sql, *args)

    def executescript(self, sql):
        self._check(sql)
        return super().executescript(sql)

    def commit(self):
        if self.in_transaction:
            self._check("COMMIT")
        return super().commit()

    def __exit__(self, exc_type, exc, tb):
        if exc_type is None and self.in_transaction and _full(self.store):
            # what CPython does when the COMMIT of a ``with conn`` block fails: roll back, raise
            error = sqlite3.OperationalError("database or disk is full")
            super().__exit__(type(error), error, None)
            raise error
        return super().__exit__(exc_type, exc, tb)


_real_connect = sqlite3.connect


def _connect(database, *args, **kwargs):
    name = os.path.basename(str(database).split("?")[0])
    store = _DB_STORES.get(name)
    if store in _PLAN and "factory" not in kwargs and len(args) < 5:
        kwargs["factory"] = type(f"Full_{store}", (_FullDiskConnection,), {"store": store})
    return _real_connect(database, *args, **kwargs)


class _FullFile:
    """A binary or text file whose writes hit a full disk once the store is full."""

    def __init__(self, fh, store):
        self._fh, self._store = fh, store

    def write(self, data):
        if _full(self._store):
            part = _RNG.randrange(len(data)) if len(data) > 1 else 0
            if part:
                self._fh.write(data[:part])
                self._fh.flush()
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return self._fh.write(data)

    def __getattr__(self, name):
        return getattr(self._fh, name)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return self._fh.__exit__(*exc)


def _warc_file(name: str) -> bool:
    return name.endswith((".warc.gz.open", ".cdxj.open"))


_real_fdopen, _real_open = os.fdopen, builtins.open


def _fdopen(fd, *args, **kwargs):
    fh = _real_fdopen(fd, *args, **kwargs)
    try:
        name = os.readlink(f"/proc/self/fd/{fd}")
    except OSError:
        return fh
    return _FullFile(fh, "warc") if _warc_file(name) else fh


def _open(file, mode="r", *args, **kwargs):
    fh = _real_open(file, mode, *args, **kwargs)
    if isinstance(file, (str, os.PathLike)) and _warc_file(os.fspath(file)) and set(mode) & set("wa"):
        return _FullFile(fh, "warc")
    return fh


if _PLAN:
    sqlite3.connect = _connect
    if "warc" in _PLAN:
        os.fdopen = _fdopen
        builtins.open = _open
