"""Durable per-URL crawl state in SQLite (WAL): what was fetched, when, and what it looked like.

A daily crawl from cron must resume after ``kill -9`` and must not refetch years of archive every
night. Scrapy's JOBDIR saves its queue only on a clean shutdown, so it cannot do either. This
table is written as each final response is archived, one commit per response: a killed crawl
loses at most the exchange in flight, and the rerun rediscovers from the start (RSS, listing
page 1, directory indexes) and skips what this table says is already archived and not yet due.

The file is ``<STENOGRAM_DATA>/state.db`` unless ``STENOGRAM_STATE_DB`` says otherwise.
"""
from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from stenogram.crawler.storage import StorageUnavailable

SCHEMA = """
create table if not exists urls (
    url text primary key,
    source text,
    first_fetched text not null,
    last_fetched text not null,
    last_status integer,
    etag text,
    last_modified text,
    payload_digest text,
    item_date text,
    next_due text,
    fetch_count integer not null default 1,
    not_modified_count integer not null default 0,
    complete integer not null default 1
);
create index if not exists urls_next_due on urls(next_due);
"""


def utcnow() -> datetime:
    return datetime.now(timezone.utc).replace(microsecond=0)


def iso(when: datetime) -> str:
    return when.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_iso(text: str | None) -> datetime | None:
    if not text:
        return None
    try:
        if len(text) == 10:  # an item date, YYYY-MM-DD
            return datetime.strptime(text, "%Y-%m-%d").replace(tzinfo=timezone.utc)
        return datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)
    except ValueError:
        return None


def state_path(settings) -> Path:
    """``STENOGRAM_STATE_DB``, default ``<STENOGRAM_DATA>/state.db``."""
    from stenogram.crawler.paths import data_paths

    return data_paths(settings).state_db


class StateDamaged(StorageUnavailable):
    """``state.db`` is not a SQLite database, or a damaged one: the crawl does not start (a crawl
    that trusted half a state would refetch or skip at random). One line, naming the way out."""


def state_problem(path: Path) -> str | None:
    """Why the ``state.db`` at ``path`` cannot be used, or None (missing is fine: it is created).

    Read-only and without writing a byte (``mode=ro``): SQLite's header check ("file is not a
    database") and ``PRAGMA quick_check`` (the b-tree structure, without the slower index
    cross-checks of ``integrity_check``) find a damaged file before any request is sent."""
    if not path.exists():
        return None
    if not path.is_file():
        return "is not a file"
    try:
        db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30)
        try:
            rows = db.execute("pragma quick_check").fetchall()
        finally:
            db.close()
    except sqlite3.OperationalError as exc:  # unreadable, locked for good: said as it is
        return f"cannot be read ({exc})"
    except sqlite3.DatabaseError as exc:
        return f"is not a SQLite database or is damaged ({exc})"
    if rows != [("ok",)]:
        return f"is a damaged SQLite database ({rows[0][0]})"
    return None


def open_state_db(path: Path, schema: str) -> sqlite3.Connection:
    """``state.db`` (or a table set beside it) for writing, its ``schema`` made sure of.

    Autocommit, WAL and ``synchronous=NORMAL``: a committed row survives a process crash and a
    commit costs no fsync; shareable across threads (Scrapy's callbacks and the shutdown's).
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    db = sqlite3.connect(path, timeout=30, isolation_level=None, check_same_thread=False)
    db.execute("pragma journal_mode=wal")
    db.execute("pragma synchronous=normal")
    db.executescript(schema)
    return db


@dataclass(frozen=True)
class UrlState:
    """One row of the state table."""

    url: str
    source: str | None
    first_fetched: str
    last_fetched: str
    last_status: int | None
    etag: str | None
    last_modified: str | None
    payload_digest: str | None
    item_date: str | None
    next_due: str | None
    fetch_count: int
    not_modified_count: int
    complete: int = 1


class CrawlState:
    """The state table; one instance per crawl process, one connection per instance.

    Writes commit immediately (WAL, ``synchronous=NORMAL``: a committed row survives a process
    crash; only a power loss can drop the last transactions, which the next crawl refetches).
    """

    def __init__(self, path: Path | str, readonly: bool = False):
        self.path = Path(path)
        if readonly:
            self.db = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True, timeout=30,
                                      check_same_thread=False)
        else:
            self.db = open_state_db(self.path, SCHEMA)
        self.db.row_factory = sqlite3.Row

    @classmethod
    def from_settings(cls, settings, readonly: bool = False) -> "CrawlState":
        return cls(state_path(settings), readonly=readonly)

    def close(self) -> None:
        self.db.close()

    # -- reading
    def get(self, url: str) -> UrlState | None:
        row = self.db.execute("select * from urls where url = ?", (url,)).fetchone()
        return UrlState(**dict(row)) if row else None

    def known(self, url: str) -> bool:
        """True when ``url`` has been fetched, archived and processed before (any final status).

        Spiders use it to stop walking a listing once they reach items already archived.
        """
        return self.db.execute("select 1 from urls where url = ? and complete = 1", (url,)).fetchone() is not None

    def count(self) -> int:
        return self.db.execute("select count(*) from urls").fetchone()[0]

    # -- writing (one commit per call)
    def record_fetch(self, url: str, *, source: str | None, status: int, fetched_at: datetime,
                     etag: str | None = None, last_modified: str | None = None,
                     payload_digest: str | None = None, item_date: str | None = None,
                     next_due: datetime | None = None, complete: bool = True) -> None:
        """A response with a body was archived for ``url``.

        ``complete=False`` when the page still has to reach the corpus: :meth:`mark_complete`
        follows once it has, and until then the URL counts as not fetched (a crash in between
        makes the next crawl fetch it again rather than lose the document).
        """
        now = iso(fetched_at)
        self.db.execute(
            """insert into urls (url, source, first_fetched, last_fetched, last_status, etag,
                                 last_modified, payload_digest, item_date, next_due, complete)
               values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
               on conflict(url) do update set
                 source = coalesce(excluded.source, source),
                 last_fetched = excluded.last_fetched,
                 last_status = excluded.last_status,
                 etag = excluded.etag,
                 last_modified = excluded.last_modified,
                 payload_digest = coalesce(excluded.payload_digest, payload_digest),
                 item_date = coalesce(excluded.item_date, item_date),
                 next_due = excluded.next_due,
                 complete = excluded.complete,
                 fetch_count = fetch_count + 1""",
            (url, source, now, now, status, etag, last_modified, payload_digest, item_date,
             iso(next_due) if next_due else None, int(complete)),
        )

    def mark_complete(self, url: str) -> None:
        """The page fetched for ``url`` has been processed (ingested or deliberately dropped)."""
        self.db.execute("update urls set complete = 1 where url = ?", (url,))

    def record_not_modified(self, url: str, *, fetched_at: datetime, next_due: datetime | None,
                            etag: str | None = None, last_modified: str | None = None) -> None:
        """A 304 for ``url``: the stored validators still hold; only times move on."""
        self.db.execute(
            """update urls set last_fetched = ?, last_status = 304, next_due = ?,
                 etag = coalesce(?, etag), last_modified = coalesce(?, last_modified),
                 fetch_count = fetch_count + 1, not_modified_count = not_modified_count + 1
               where url = ?""",
            (iso(fetched_at), iso(next_due) if next_due else None, etag, last_modified, url),
        )

    def set_item_date(self, url: str, item_date: str, next_due: datetime | None = None) -> None:
        """The extracted publication date of ``url`` (it sets how often the page is rechecked)."""
        if next_due is None:
            self.db.execute("update urls set item_date = ? where url = ?", (item_date, url))
        else:
            self.db.execute("update urls set item_date = ?, next_due = ? where url = ?",
                            (item_date, iso(next_due), url))


# -- the frontier: every URL discovered and not yet archived *and* ingested ---------------------

FRONTIER_SCHEMA = """
create table if not exists frontier (
    source text not null,
    url text not null,
    callback text not null,
    cb_kwargs text not null default '{}',
    meta text not null default '{}',
    priority integer not null default 0,
    discovered text not null,
    primary key (source, url)
);
create table if not exists walks (
    source text not null,
    walk text not null,
    completed text not null,
    primary key (source, walk)
);
"""


@dataclass(frozen=True)
class FrontierEntry:
    """A request owed: enough to issue it again in a later process (callback by name)."""

    url: str
    source: str
    callback: str
    cb_kwargs: dict
    meta: dict
    priority: int = 0


class Frontier:
    """What a frontier backend offers; :class:`SqliteFrontier` is the one in ``state.db``.

    The contract, which a shared (e.g. Redis) backend must keep too: :meth:`enqueue` is durable
    when it returns and is idempotent per (source, url); :meth:`done` is called only after the
    page is archived and its item committed to the corpus (or the page needs no item); whatever
    is still :meth:`owed` when a spider starts is issued again. Walks (listing chains) are
    recorded as completed only when a crawl of the source finished; listing pages may stop at
    known items only on a walk completed before.
    """

    def enqueue(self, entry: FrontierEntry) -> None:
        raise NotImplementedError

    def done(self, source: str, urls) -> None:
        raise NotImplementedError

    def owed(self, source: str) -> list[FrontierEntry]:
        raise NotImplementedError

    def count(self, source: str | None = None) -> int:
        raise NotImplementedError

    def walk_completed(self, source: str, walk: str) -> bool:
        raise NotImplementedError

    def complete_walks(self, source: str, walks) -> None:
        raise NotImplementedError

    def close(self) -> None:
        pass


class SqliteFrontier(Frontier):
    """The frontier as two tables of ``state.db``; one commit per call (WAL, like the urls table).

    A commit in WAL mode with ``synchronous=NORMAL`` costs no fsync, so committing each
    discovered request keeps up with a loopback crawl of hundreds of pages a second.
    """

    def __init__(self, path: Path | str):
        self.path = Path(path)
        self.db = open_state_db(self.path, FRONTIER_SCHEMA)

    @classmethod
    def from_settings(cls, settings) -> "SqliteFrontier":
        return cls(state_path(settings))

    def close(self) -> None:
        self.db.close()

    def enqueue(self, entry: FrontierEntry) -> None:
        import json

        self.db.execute(
            "insert or ignore into frontier (source, url, callback, cb_kwargs, meta, priority, discovered) "
            "values (?, ?, ?, ?, ?, ?, ?)",
            (entry.source, entry.url, entry.callback, json.dumps(entry.cb_kwargs, sort_keys=True),
             json.dumps(entry.meta, sort_keys=True), entry.priority, iso(utcnow())),
        )

    def done(self, source: str, urls) -> None:
        urls = list(urls)
        if len(urls) == 1:
            self.db.execute("delete from frontier where source = ? and url = ?", (source, urls[0]))
        elif urls:
            self.db.execute("begin")
            try:
                self.db.executemany("delete from frontier where source = ? and url = ?",
                                    [(source, u) for u in urls])
            except BaseException:
                self.db.execute("rollback")
                raise
            self.db.execute("commit")

    def owed(self, source: str) -> list[FrontierEntry]:
        import json

        rows = self.db.execute(
            "select url, source, callback, cb_kwargs, meta, priority from frontier where source = ? "
            "order by discovered, url", (source,)).fetchall()
        return [FrontierEntry(url, src, callback, json.loads(cb_kwargs), json.loads(meta), priority)
                for url, src, callback, cb_kwargs, meta, priority in rows]

    def count(self, source: str | None = None) -> int:
        if source is None:
            return self.db.execute("select count(*) from frontier").fetchone()[0]
        return self.db.execute("select count(*) from frontier where source = ?", (source,)).fetchone()[0]

    def walk_completed(self, source: str, walk: str) -> bool:
        return self.db.execute("select 1 from walks where source = ? and walk = ?",
                               (source, walk)).fetchone() is not None

    def complete_walks(self, source: str, walks) -> None:
        now = iso(utcnow())
        self.db.execute("begin")
        try:
            self.db.executemany(
                "insert into walks (source, walk, completed) values (?, ?, ?) "
                "on conflict(source, walk) do update set completed = excluded.completed",
                [(source, w, now) for w in walks])
        except BaseException:
            self.db.execute("rollback")
            raise
        self.db.execute("commit")
