"""Edits as a stream: every silent edit of the corpus since a date, newest first.

Why a module of its own: the history page shows one transcript's edits; a journalist or a cron
job wants all of them at once: ``stenogram edits --since DATE``, the Atom feed and the "recent
edits" page of ``stenogram serve`` (``corpus/web/plugins/stenogram_edits.py``) all read
:func:`recent_edits`.

An edit is what the crawl report and the history page call a silent edit: a new text at a URL
that already had another (consecutive versions with the same URL key, as ``corpus.diff``
pairs them). A mirror's variant of a text is not an edit by the publisher and is left out.
Each edit carries both sides (version id, first seen, URL, source) with the WARC record that
first archived each text (the earliest capture of that version), and a word-diff summary
from ``corpus.diff``: words removed and added, and the places that changed.
"""
from __future__ import annotations

import datetime as _dt
import sqlite3

from stenogram.corpus import diff as diff_module

#: What the stream reads of a version (``Corpus.versions``' columns, plus the title).
VERSION_COLUMNS = ("id", "document_id", "text_hash", "text", "first_seen", "last_seen", "url",
                   "url_key", "source", "is_official", "n_chars", "title")
WARC_COLUMNS = ("warc_file", "warc_offset", "warc_length", "warc_record_id", "fetched_at")


def since_bound(value: str) -> str:
    """A ``--since`` value (``YYYY-MM-DD`` or an ISO 8601 time) as the string a ``first_seen``
    is compared with, in UTC and without its ``Z`` (``seen_key``); ValueError for anything
    else."""
    value = value.strip()
    try:
        if len(value) == 10:
            return _dt.date.fromisoformat(value).isoformat()
        t = _dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"{value!r} is not a date (YYYY-MM-DD) or an ISO 8601 time") from None
    if t.tzinfo is not None:
        t = t.astimezone(_dt.timezone.utc).replace(tzinfo=None)
    return t.isoformat()  # seconds, or microseconds when it has them, as stored times


def seen_key(value: str | None) -> str:
    """A stored time (``2022-03-09T08:30:00Z``, or with microseconds: WARC-Date has either) in
    the form that sorts as time against ``since_bound``: without the ``Z``, "08:30:00" comes
    before "08:30:00.5", which it would not with the ``Z`` ("." sorts before "Z")."""
    return (value or "").removesuffix("Z")


def _words(text: str) -> int:
    return sum(1 for tok in diff_module.tokens(text) if tok[:1].isalnum())


def summary(old_text: str, new_text: str) -> dict:
    """Words removed and added, and the number of changed places (runs of changes)."""
    removed = added = places = 0
    previous = diff_module.EQUAL
    for op, text in diff_module.word_diff(old_text or "", new_text or ""):
        if op == diff_module.DELETE:
            removed += _words(text)
        elif op == diff_module.INSERT:
            added += _words(text)
        if op != diff_module.EQUAL and previous == diff_module.EQUAL:
            places += 1
        previous = op
    return {"words_removed": removed, "words_added": added, "places": places}


def summary_text(s: dict) -> str:
    return (f"-{s['words_removed']} +{s['words_added']} words in {s['places']} "
            f"place{'s' if s['places'] != 1 else ''}")


def _first_capture(conn, version_id: int) -> dict | None:
    row = conn.execute(
        f"SELECT {', '.join(WARC_COLUMNS)} FROM captures WHERE version_id = ? "
        "ORDER BY fetched_at, id LIMIT 1", (version_id,)).fetchone()
    return dict(zip(WARC_COLUMNS, row, strict=True)) if row else None


def _side(conn, v: dict) -> dict:
    return {"version_id": v["id"], "first_seen": v["first_seen"], "url": v["url"],
            "source": v["source"], "warc": _first_capture(conn, v["id"])}


def recent_edits(conn: sqlite3.Connection, since: str, limit: int | None = None,
                 with_text: bool = False) -> list[dict]:
    """Silent edits whose new text was first seen at or after ``since`` (``since_bound``),
    newest first; ``with_text``: each side's full text too (the feed's diff needs it)."""
    docs = [r[0] for r in conn.execute(
        "SELECT DISTINCT document_id FROM versions WHERE rtrim(first_seen, 'Z') >= ?", (since,))]
    out = []
    for doc_id in docs:
        rows = conn.execute(
            f"SELECT {', '.join('v.' + c for c in VERSION_COLUMNS[:-1])}, d.title, "
            "d.canonical_version_id FROM versions v JOIN documents d ON d.id = v.document_id "
            "WHERE v.document_id = ? ORDER BY v.first_seen, v.id", (doc_id,)).fetchall()
        versions = [dict(zip(VERSION_COLUMNS, r[:-1], strict=True)) for r in rows]
        canonical = rows[0][-1] if rows else None
        for old, new in diff_module.version_pairs(versions, canonical):
            if (old.get("url_key") or old["url"]) != (new.get("url_key") or new["url"]):
                continue  # a mirror's variant, not an edit
            if seen_key(new["first_seen"]) < since:
                continue
            edit = {"document_id": doc_id, "title": new["title"], "url": new["url"],
                    "seen": new["first_seen"], "summary": summary(old["text"], new["text"]),
                    "old": _side(conn, old), "new": _side(conn, new)}
            if with_text:
                edit["old"]["text"], edit["new"]["text"] = old["text"], new["text"]
                edit["old"]["id"], edit["new"]["id"] = old["id"], new["id"]
            out.append(edit)
    out.sort(key=lambda e: (e["seen"] or "", e["new"]["version_id"]), reverse=True)
    return out[:limit] if limit else out


def latest_seen(conn: sqlite3.Connection) -> str | None:
    """The newest ``first_seen`` of any version: a feed's ``updated`` when it has no entry."""
    row = conn.execute("SELECT max(first_seen) FROM versions").fetchone()
    return row[0] if row else None
