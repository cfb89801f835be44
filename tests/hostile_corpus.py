"""A corpus file as an attacker would hand it over (shared by test_hostile_corpus.py and
test_browser.py).

It starts as a real corpus (``Corpus.ingest`` of one transcript, then a silent edit of it at
the same URL, so it has a reading view, a history and a diff), and is then edited with plain
``sqlite3``, as anyone holding the file can:

* every URL of the document (``documents.canonical_url``, ``captures.url``, ``versions.url``)
  becomes ``HOSTILE_URL``, the ``javascript:`` URL of issue 23, whose path test passes;
* ``hostile_schema`` adds FTS3/FTS4/FTS5 tables with the built-in tokenizers, a view that
  calls ``fts3_tokenizer``, a view that never ends, triggers that would re-register a
  tokenizer, a table with odd characters in its name and a 32 MiB row;
* ``forge_schema`` adds what only a hand-written ``sqlite_master`` row can declare: an FTS3
  table with a tokenizer, and a virtual table with a module, that this SQLite does not have.
"""
from __future__ import annotations

import sqlite3
from pathlib import Path

HOSTILE_URL = "javascript:alert(1)//archive.mid.ru/-/asset_publisher/a/content/id/1"
HUGE_ROW_BYTES = 32 * 1024 * 1024

_TEXT = ("Foreign Minister Sergey Lavrov's remarks and answers to media questions. "
         "Question: Thank you. Sergey Lavrov: The talks were useful. ") * 12


def _capture(url: str, body: bytes, record_id: str, fetched_at: str):
    from stenogram.archive.capture import Capture, WarcLocation

    return Capture(url=url, fetched_at=fetched_at, http_status=200, content_type="text/html",
                   body=body, source="mid",
                   location=WarcLocation("x.warc.gz", 0, 1, record_id, None))


def _transcript(text: str) -> dict:
    return {"title": "Remarks, Minsk", "date": "2024-04-12", "language": "en", "text": text,
            "paragraphs": text.split("\n"), "turns": [], "participants": [],
            "is_transcript": True, "source": "mid", "kind": "transcript", "place": "Minsk"}


def edited_corpus(path: Path, url: str = "https://mid.ru/en/foreign_policy/news/1/") -> int:
    """A corpus with one document seen twice at ``url``, its text silently edited; its id."""
    from stenogram.corpus.store import Corpus

    first = _TEXT + "\nThe talks were useful."
    second = _TEXT + "\nThe talks were very useful, added after publication."
    with Corpus(path) as corpus:
        a = corpus.ingest(_capture(url, b"<html>1</html>", "<urn:uuid:1>", "2024-04-12T15:38:00Z"),
                          _transcript(first))
        corpus.ingest(_capture(url, b"<html>2</html>", "<urn:uuid:2>", "2024-04-20T09:00:00Z"),
                      _transcript(second))
    return a.document_id


def poison_urls(path: Path, url: str = HOSTILE_URL) -> None:
    """Every URL of every document, capture and version becomes ``url``."""
    conn = sqlite3.connect(path)
    with conn:
        conn.execute("UPDATE documents SET canonical_url = ?", (url,))
        conn.execute("UPDATE captures SET url = ?", (url,))
        conn.execute("UPDATE versions SET url = ?", (url,))
    conn.close()


HOSTILE_SCHEMA = [
    "CREATE VIRTUAL TABLE f3 USING fts3(body, tokenize=simple)",
    "CREATE VIRTUAL TABLE f3_porter USING fts3(body, tokenize=porter)",
    "CREATE VIRTUAL TABLE f4 USING fts4(body, tokenize=unicode61 \"remove_diacritics=2\")",
    "CREATE VIRTUAL TABLE f5 USING fts5(body, tokenize='trigram')",
    "CREATE VIRTUAL TABLE f5_porter USING fts5(body, tokenize='porter ascii')",
    "INSERT INTO f3 VALUES ('the talks were useful')",
    "INSERT INTO f3_porter VALUES ('the talks were useful')",
    "INSERT INTO f4 VALUES ('the talks were useful')",
    "INSERT INTO f5 VALUES ('the talks were useful')",
    "INSERT INTO f5_porter VALUES ('the talks were useful')",
    "CREATE VIEW leak AS SELECT hex(fts3_tokenizer('simple')) AS address",
    "CREATE VIEW endless AS WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) "
    "SELECT x FROM c",
    "CREATE TRIGGER rearm AFTER INSERT ON captures BEGIN "
    "SELECT fts3_tokenizer('simple', x'4141414141414141'); END",
    "CREATE TRIGGER rearm_documents AFTER UPDATE ON documents BEGIN "
    "SELECT fts3_tokenizer('porter', x'4141414141414141'); END",
    'CREATE TABLE "odd <b>name</b> \' "" ;" (x)',
    "CREATE TABLE huge (id INTEGER PRIMARY KEY, body TEXT)",
]
# What only a hand-written schema row can declare: a tokenizer and a module this SQLite lacks.
FORGED_SCHEMA = [
    ("ghost_fts", "CREATE VIRTUAL TABLE ghost_fts USING fts3(body, tokenize=evil)"),
    ("alien", "CREATE VIRTUAL TABLE alien USING no_such_module(x)"),
]


def hostile_schema(path: Path) -> None:
    conn = sqlite3.connect(path)
    with conn:
        for sql in HOSTILE_SCHEMA:
            conn.execute(sql)
        conn.execute("INSERT INTO huge VALUES (1, ?)", ("x" * HUGE_ROW_BYTES,))
    conn.close()


def forge_schema(path: Path) -> None:
    """``FORGED_SCHEMA`` written into ``sqlite_master`` (Datasette will not open the file)."""
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA writable_schema = ON")
    with conn:
        for name, sql in FORGED_SCHEMA:
            conn.execute("INSERT INTO sqlite_master (type, name, tbl_name, rootpage, sql) "
                         "VALUES ('table', ?, ?, 0, ?)", (name, name, sql))
    conn.close()


def hostile_corpus(path: Path) -> int:
    """``edited_corpus`` + ``poison_urls`` + ``hostile_schema``: the document id."""
    doc_id = edited_corpus(path)
    poison_urls(path)
    hostile_schema(path)
    return doc_id
