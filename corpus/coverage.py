"""How far back the corpus reaches: documents per year, by the date of the text.

One module for the figure the crawl report prints and the web home page shows, so both count
the same way: by ``documents.year`` (the event date: a 2005 transcript archived today counts in
2005), every year from the first to the last one shown, a year without documents as 0 (a gap
is the point of the figure), undated documents counted apart.
"""
from __future__ import annotations

import sqlite3


def has_counts(conn: sqlite3.Connection) -> bool:
    """Whether the corpus keeps ``schema.DOCUMENT_COUNTS`` (a corpus written by a version before
    it, opened read-only and so never migrated, does not: its figures come from a scan)."""
    return conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'document_counts'"
                        ).fetchone() is not None


def n_documents(conn: sqlite3.Connection) -> int:
    """How many documents: the maintained aggregate's sum, not ``count(*)`` over full-text rows."""
    if has_counts(conn):
        return conn.execute("SELECT coalesce(sum(n), 0) FROM document_counts").fetchone()[0]
    return conn.execute("SELECT count(*) FROM documents").fetchone()[0]


def per_year(conn: sqlite3.Connection) -> tuple[dict[int, int], int]:
    """({year: documents} for every year from the earliest to the latest, undated documents)."""
    if has_counts(conn):  # year 0 is the aggregate's key for "undated" (schema._COUNT_KEY)
        rows = dict(conn.execute("SELECT year, sum(n) FROM document_counts GROUP BY year"))
        undated = rows.pop(0, 0)
        counts = rows
    else:
        counts = dict(conn.execute("SELECT year, count(*) FROM documents WHERE year IS NOT NULL GROUP BY year"))
        undated = conn.execute("SELECT count(*) FROM documents WHERE year IS NULL").fetchone()[0]
    years = [int(y) for y in counts]
    if not years:
        return {}, undated
    return {y: counts.get(y, 0) for y in range(min(years), max(years) + 1)}, undated


def per_year_lines(counts: dict[int, int], undated: int = 0, width: int = 80,
                   label: str = "Documents per year:") -> list[str]:
    """The figure as text lines no wider than ``width``: "Documents per year: 2004 3, 2005 3, …",
    broken between years, never inside one."""
    items = [f"{year} {n}" for year, n in counts.items()] + ([f"undated {undated}"] if undated else [])
    if not items:
        return [f"{label} none"]
    lines, line = [], label
    for i, item in enumerate(items):
        piece = item + ("," if i < len(items) - 1 else "")
        if len(line) + 1 + len(piece) > width and line.strip():
            lines.append(line)
            line = " "
        line += " " + piece
    lines.append(line)
    return lines
