"""Opening a corpus someone handed us: check it is one, and read it without changing it.

Why a module of its own: every command that reads a corpus (``diff``, ``export``, ``serve``,
``wacz --db``) used to open it with ``Corpus(path)``, which creates a missing file (``diff --db
typo.db`` left a 106 KB database behind), writes a schema into an empty or foreign one, finishes
an interrupted bulk load and runs migrations. A reader must do none of that, and a corpus file is
untrusted data (it may come from anyone), so:

* :func:`corpus_problem` says in one line why a path is not a corpus (missing, a folder, empty,
  not SQLite, SQLite without our tables), looking at the file header before SQLite does;
* :func:`open_readonly` opens it with ``mode=rw`` (never creates a file; SQLite falls back to
  read-only on a read-only file) plus ``query_only`` so nothing is written, and
  ``trusted_schema=OFF`` so views and triggers stored in the file cannot call functions with
  side effects. Not ``mode=ro``: a read-only connection to a WAL database leaves ``-wal`` and
  ``-shm`` files behind, while the last read-write connection removes them on close.
"""
from __future__ import annotations

import os
import sqlite3
from pathlib import Path

import sqlite_utils

SQLITE_MAGIC = b"SQLite format 3\x00"
#: Tables every stenogram corpus has had since its first schema.
REQUIRED_TABLES = ("documents", "captures")


def corpus_problem(path: str | Path, *, may_create: bool = False) -> str | None:
    """Why ``path`` is not a stenogram corpus, or None.

    ``may_create``: the caller writes a corpus (``reprocess``), so a missing file (in an existing
    folder) or an empty one is fine, but a file holding anything else is refused, never
    overwritten or extended with our tables.
    """
    path = Path(path)
    if path.is_dir():
        return "is a folder, not a corpus database file"
    if not path.exists():
        if may_create:
            parent = path.parent
            if not parent.is_dir():
                return f"cannot be created: folder {str(parent)!r} does not exist"
            return None
        return "no such corpus database (commands that read a corpus never create one)"
    try:
        with open(path, "rb") as fh:
            head = fh.read(len(SQLITE_MAGIC))
    except OSError as exc:
        return f"cannot be read ({exc.strerror})"
    if not head:
        return None if may_create else "is an empty file, not a corpus database"
    if head != SQLITE_MAGIC:
        return "is not an SQLite database"
    try:
        conn = open_readonly(path)
        try:
            tables = {r[0] for r in conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table'")}
        finally:
            conn.close()
    except sqlite3.DatabaseError as exc:
        return f"is a damaged SQLite database ({exc})"
    missing = [t for t in REQUIRED_TABLES if t not in tables]
    if missing and not (may_create and not tables):
        return ("is an SQLite database but not a stenogram corpus (no "
                + ", ".join(missing) + " table)")
    return None


def open_readonly(path: str | Path) -> sqlite3.Connection:
    """A connection that can read the corpus at ``path`` and cannot change or create anything.

    Raises ``sqlite3.OperationalError`` when the file does not exist (``mode=rw`` never
    creates one).
    """
    resolved = Path(path).resolve()
    uri = resolved.as_uri() + "?mode=rw"
    if resolved.exists() and not _writable(resolved):
        # A corpus on read-only media or with read-only modes: a WAL database cannot be opened
        # even with mode=ro there (SQLite must create its -shm file beside it: "attempt to write
        # a readonly database"), which read as "damaged" (issue 23). Nobody here can change the
        # file, so SQLite may read it as immutable (no locks, no -shm; sqlite.org/uri.html).
        uri = resolved.as_uri() + "?mode=ro&immutable=1"
    conn = sqlite3.connect(uri, uri=True, isolation_level=None)
    try:
        conn.execute("PRAGMA trusted_schema = OFF")
        conn.execute("PRAGMA query_only = ON")
    except BaseException:
        conn.close()
        raise
    return conn


def _writable(path: Path) -> bool:
    """Whether this process could write the database and create its journal beside it."""
    return os.access(path, os.W_OK) and os.access(path.parent, os.W_OK)


class ReadOnlyCorpus:
    """The read side of :class:`corpus.store.Corpus` (``versions``, ``diff``, ``stats``, ``db``)
    over :func:`open_readonly`: no schema created, no migration, no deferred index finished.
    Check the path with :func:`corpus_problem` first."""

    def __init__(self, path: str | Path):
        from stenogram.corpus.store import Corpus

        self.path = str(path)
        self.conn = open_readonly(path)
        self.db = sqlite_utils.Database(self.conn)
        # The same code as the writer's, so a read-only diff is the diff.
        self._read = Corpus

    def versions(self, document_id: int) -> list[dict]:
        return self._read.versions(self, document_id)

    def diff(self, document_id: int, context: int | None = 0) -> str:
        return self._read.diff(self, document_id, context)

    def stats(self) -> dict:
        return self._read.stats(self)

    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> "ReadOnlyCorpus":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
