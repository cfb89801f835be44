"""The corpus tables: created once, idempotently, with sqlite-utils.

Why a module of its own: the column names are a contract with users (Datasette, exports), so
they live in one place. ``lsh_*`` tables are the persistent near-duplicate index.
"""
from __future__ import annotations

import sqlite_utils

from stenogram.corpus.band_index import mark_merged
from stenogram.corpus.stemming import register as register_stem_function

SCHEMA_VERSION = 6  # 6: captures.archived_at and captures.via (pages from web archives)
# 5: documents_stemmed_fts (the stems, for corpus.search)
# 4: the newest LSH band keys in memory, not in lsh_bands_recent
# The version from which ``lsh_signatures``/``lsh_bands`` hold datasketch (affine32) MinHashes
# keyed by ``dedup.band_keys``' 64-bit mix (version 2: blake2b band keys; version 1: a numpy
# MinHash). An older corpus has its index rebuilt on open (``Corpus.rebuild_lsh_index``), since
# keys of two families never match.
LSH_VERSION = 3


# Two full-text indexes over the documents, kept by the same triggers: ``documents_fts``
# (external content, the words as written: Datasette's search box, exact words) and
# ``documents_stemmed_fts`` (contentless, the Snowball stems of the words, computed by the SQL
# function ``stenogram_stem`` of ``corpus.stemming``: what ``corpus.search`` queries, so
# "Лавровым" finds "Лавров"). Contentless because the stems are only ever matched and ranked,
# never shown: snippets are cut from the documents' own text. A connection that inserts, deletes
# or re-texts documents must have the function registered (``Corpus`` does, via
# ``ensure_schema``); readers need nothing.
STEMMED_FTS = "documents_stemmed_fts"
_STEM = "stenogram_stem"

# sqlite-utils' update trigger re-indexes a row (FTS5 'delete' of the old text, then insert)
# on *every* UPDATE of documents, and every ingest updates its document's aggregates
# (n_captures, last_seen...). This one only fires when the indexed columns really change.
FTS_UPDATE_TRIGGER = f"""CREATE TRIGGER "documents_au" AFTER UPDATE OF "title", "text" ON "documents"
WHEN old."title" IS NOT new."title" OR old."text" IS NOT new."text" BEGIN
  INSERT INTO "documents_fts" ("documents_fts", rowid, "title", "text") VALUES('delete', old.rowid, old."title", old."text");
  INSERT INTO "documents_fts" (rowid, "title", "text") VALUES (new.rowid, new."title", new."text");
  INSERT INTO "{STEMMED_FTS}" ("{STEMMED_FTS}", rowid, "title", "text") VALUES('delete', old.rowid, {_STEM}(old."title"), {_STEM}(old."text"));
  INSERT INTO "{STEMMED_FTS}" (rowid, "title", "text") VALUES (new.rowid, {_STEM}(new."title"), {_STEM}(new."text"));
END"""


# The two other FTS triggers: sqlite-utils' ``enable_fts(create_triggers=True)`` ones, plus the
# stemmed index.
FTS_INSERT_TRIGGER = f"""CREATE TRIGGER "documents_ai" AFTER INSERT ON "documents" BEGIN
  INSERT INTO "documents_fts" (rowid, "title", "text") VALUES (new.rowid, new."title", new."text");
  INSERT INTO "{STEMMED_FTS}" (rowid, "title", "text") VALUES (new.rowid, {_STEM}(new."title"), {_STEM}(new."text"));
END"""
FTS_DELETE_TRIGGER = f"""CREATE TRIGGER "documents_ad" AFTER DELETE ON "documents" BEGIN
  INSERT INTO "documents_fts" ("documents_fts", rowid, "title", "text") VALUES('delete', old.rowid, old."title", old."text");
  INSERT INTO "{STEMMED_FTS}" ("{STEMMED_FTS}", rowid, "title", "text") VALUES('delete', old.rowid, {_STEM}(old."title"), {_STEM}(old."text"));
END"""
FTS_TRIGGERS = {"documents_ai": FTS_INSERT_TRIGGER, "documents_ad": FTS_DELETE_TRIGGER,
                "documents_au": FTS_UPDATE_TRIGGER}

# ``corpus_meta.fts_deferred``: present while a bulk load has the FTS triggers off. Its value is
# a flag, never SQL: a corpus file is data anyone can hand over, and resuming used to execute
# the trigger SQL stored there (a crafted corpus made `stenogram diff` ATTACH and write a file).
# The triggers are always rebuilt from FTS_TRIGGERS above; a value from an older version (JSON of
# trigger name -> SQL) reads as the same flag and its SQL is ignored.
FTS_DEFERRED_KEY = "fts_deferred"
FTS_DEFERRED_FLAG = "triggers-off"


def drop_fts_triggers(conn) -> None:
    """Drop the FTS triggers named in code (never names or SQL read from the file)."""
    for name in FTS_TRIGGERS:
        conn.execute(f'DROP TRIGGER IF EXISTS "{name}"')


def restore_fts_triggers(conn) -> None:
    """Put the FTS triggers back, from code."""
    drop_fts_triggers(conn)
    for sql in FTS_TRIGGERS.values():
        conn.execute(sql)


def _current_fts_triggers(db: sqlite_utils.Database) -> None:
    """Replace FTS triggers that differ from ``FTS_TRIGGERS`` (sqlite-utils' unconditional
    update trigger, and older corpora's triggers that do not keep the stemmed index)."""
    for name, sql in FTS_TRIGGERS.items():
        row = db.execute("SELECT sql FROM sqlite_master WHERE type = 'trigger' AND "
                         "name = ?", [name]).fetchone()
        if row and row[0] != sql:
            db.execute(f'DROP TRIGGER "{name}"')
            db.execute(sql)


def rebuild_stemmed_fts(conn) -> None:
    """Re-index every document's stems (a bulk load's deferred index, a migration).

    ``stenogram_stem`` must be registered on ``conn``; runs inside the caller's transaction.
    """
    conn.execute(f"INSERT INTO {STEMMED_FTS} ({STEMMED_FTS}, rank) VALUES ('automerge', ?)",
                 (FTS_REBUILD_AUTOMERGE,))
    conn.execute(f"INSERT INTO {STEMMED_FTS} ({STEMMED_FTS}) VALUES ('delete-all')")
    conn.execute(f"INSERT INTO {STEMMED_FTS} (rowid, title, text) "
                 f"SELECT id, {_STEM}(title), {_STEM}(text) FROM documents ORDER BY id")
    conn.execute(f"INSERT INTO {STEMMED_FTS} ({STEMMED_FTS}, rank) VALUES ('automerge', ?)",
                 (FTS_DEFAULT_AUTOMERGE,))


def _ensure_stemmed_fts(db: sqlite_utils.Database) -> None:
    """Create the stemmed index; in a corpus from before it (schema < 5), fill it and put the
    triggers that keep it. While a bulk load has FTS deferred, only the table is created: the
    load's ``resume_fts`` fills both indexes and restores the triggers."""
    if STEMMED_FTS in db.table_names():
        return
    conn = db.conn
    with db.atomic():
        conn.execute(f"CREATE VIRTUAL TABLE {STEMMED_FTS} USING fts5(title, text, content='')")
        conn.execute(f"INSERT INTO {STEMMED_FTS} ({STEMMED_FTS}, rank) VALUES ('hashsize', ?)",
                     (FTS_HASHSIZE,))
        deferred = conn.execute("SELECT 1 FROM corpus_meta WHERE key = ?",
                                (FTS_DEFERRED_KEY,)).fetchone()
        if not deferred:
            rebuild_stemmed_fts(conn)
            _current_fts_triggers(db)


# FTS5 buffers new terms in memory up to 'hashsize' bytes (default 1 MiB) before writing a
# segment. 16 MiB means ~16x fewer segments to merge in a bulk load or a rebuild: rebuilding
# the index of 200k bench documents took 19.5 s instead of 23.7 s, of 100k in a full
# reprocess 10.3 s instead of 16.1 s. The memory is only taken while a transaction writes.
FTS_HASHSIZE = 16 * 1024 * 1024


# FTS5 merges segments of one level once ``automerge`` of them exist (default 4). In a full
# ``rebuild`` that means rewriting the index log4(segments) times; 16 rebuilt 1M bench
# documents in 100 s instead of 112 s. Only the rebuild uses it (``Corpus.resume_fts``): row by
# row indexing keeps the default, so searches read few segments.
FTS_REBUILD_AUTOMERGE = 16
FTS_DEFAULT_AUTOMERGE = 4


def _set_fts_hashsize(db: sqlite_utils.Database) -> None:
    row = db.execute("SELECT v FROM documents_fts_config WHERE k = 'hashsize'").fetchone()
    if not row or row[0] != FTS_HASHSIZE:
        db.execute("INSERT INTO documents_fts (documents_fts, rank) VALUES ('hashsize', ?)",
                   [FTS_HASHSIZE])


def _fold_recent_band_table(db: sqlite_utils.Database) -> None:
    """Schema 3 kept the newest band keys in a table ``lsh_bands_recent``; schema 4 keeps them
    in memory (``corpus.band_index``). Move its rows into ``lsh_bands_middle``, once."""
    if "lsh_bands_recent" not in db.table_names():
        return
    conn = db.conn
    conn.execute("BEGIN IMMEDIATE")
    try:
        conn.execute("INSERT OR IGNORE INTO lsh_bands_middle (key, version_id) "
                     "SELECT key, version_id FROM lsh_bands_recent ORDER BY key, version_id")
        mark_merged(conn)
        conn.execute("DROP TABLE lsh_bands_recent")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


def _ensure_documents(db: sqlite_utils.Database) -> None:
    """One row per transcript (the canonical version's columns), and its full-text index."""
    if "documents" not in db.table_names():
        db.table("documents").create(
            {
                "id": int, "title": str, "date": str, "year": int, "place": str,
                "language": str, "text": str, "turns": str, "participants": str, "kind": str,
                "canonical_url": str, "canonical_reason": str, "canonical_version_id": int,
                "sources": str, "first_seen": str, "last_seen": str, "translation_of": int,
                "n_captures": int, "n_versions": int,
            },
            pk="id",
        )
    db.table("documents").create_index(["date", "language"], if_not_exists=True)
    # Datasette's default facets on the documents table (``corpus.serve.metadata``) group by
    # these: from an index they read a few MB, from the table every full text (issue 26).
    db.table("documents").create_index(["year"], if_not_exists=True)
    db.table("documents").create_index(["kind"], if_not_exists=True)
    register_stem_function(db.conn)
    if "documents_fts" not in db.table_names():
        db.table("documents").enable_fts(["title", "text"], fts_version="FTS5", create_triggers=True)
    _set_fts_hashsize(db)


def _ensure_versions(db: sqlite_utils.Database) -> None:
    """Each distinct (normalised) text of a document."""
    if "versions" in db.table_names():
        return
    db.table("versions").create(
        {
            "id": int, "document_id": int, "text_hash": str, "text": str,
            "first_seen": str, "last_seen": str, "url": str, "url_key": str,
            "source": str, "is_official": int, "n_chars": int, "title": str, "date": str,
            "place": str, "language": str, "turns": str, "participants": str, "kind": str,
            "extractor_version": str,
        },
        pk="id",
        foreign_keys=[("document_id", "documents", "id")],
    )
    db.table("versions").create_index(["text_hash"])
    db.table("versions").create_index(["document_id", "text_hash"], unique=True)
    db.table("versions").create_index(["url_key"])


#: The canonical URL's order over the captures of one version (``corpus.store``'s rule: official
#: source rank, the earliest UTC day, the URL), as SQL over ``captures`` and as the columns of
#: the index ``captures_canonical``. ``substr(.., 1, 10)`` is the UTC day of an ISO 8601 time
#: (WARC-Date is UTC, WARC 1.1 section 5.4; ``archived_at`` is stored as UTC ISO too).
SOURCE_RANK_SQL = "CASE source WHEN 'mid' THEN 2 WHEN 'mid_archive' THEN 1 WHEN 'mid_domino' THEN 1 ELSE 0 END"
CAPTURE_DAY_SQL = "substr(coalesce(archived_at, fetched_at), 1, 10)"
CANONICAL_CAPTURE_ORDER = f"{SOURCE_RANK_SQL} DESC, {CAPTURE_DAY_SQL}, url"


def _ensure_captures(db: sqlite_utils.Database) -> None:
    """Every WARC response read, transcript or not: the provenance."""
    if "captures" not in db.table_names():
        db.table("captures").create(
            {
                "id": int, "url": str, "url_key": str, "fetched_at": str, "http_status": int,
                "content_type": str, "warc_file": str, "warc_offset": int, "warc_length": int,
                "warc_record_id": str, "payload_digest": str, "source": str, "crawl_id": str,
                "extractor_version": str, "document_id": int, "version_id": int, "match": str,
                "is_transcript": int, "reason": str, "extraction_path": str, "fallback_reason": str,
                "archived_at": str, "via": str,
            },
            pk="id",
            foreign_keys=[("document_id", "documents", "id"), ("version_id", "versions", "id")],
        )
        db.table("captures").create_index(["warc_record_id"], unique=True)
        db.table("captures").create_index(["url_key"])
        db.table("captures").create_index(["document_id"])
    # Which extraction path read each capture (profile | fallback | generic, and why the
    # profile's container was not used): added in place to older databases, NULL there.
    capture_columns = db.table("captures").columns_dict
    for column in ("extraction_path", "fallback_reason"):
        if column not in capture_columns:
            db.table("captures").add_column(column, str)
    # A page fetched from a web archive (``stenogram backfill``, schema 6): ``archived_at`` is when
    # the archive captured it (``fetched_at`` stays our fetch from the archive), ``via`` the
    # archive; NULL for pages fetched from their own site, and in older corpora.
    for column in ("archived_at", "via"):
        if column not in capture_columns:
            db.table("captures").add_column(column, str)
    # The canonical-URL rule looks captures up by version (a full scan per ingest without it).
    db.table("captures").create_index(["version_id"], if_not_exists=True)
    # ... in the rule's order (corpus.store), so that the best capture of a version is one index
    # entry, not a sort of all its captures: a daily re-check adds a capture a day.
    db.execute(f"CREATE INDEX IF NOT EXISTS captures_canonical ON captures "
                f"(version_id, {CANONICAL_CAPTURE_ORDER})")


def _ensure_lsh_index(db: sqlite_utils.Database) -> None:
    """The persistent near-duplicate index: MinHash signatures, and the LSH band index in
    three levels, smallest first: recent (in memory) -> middle -> lsh_bands, merged in key
    order (why: ``corpus.band_index``)."""
    if "lsh_signatures" not in db.table_names():
        db.table("lsh_signatures").create({"version_id": int, "signature": bytes}, pk="version_id")
    for table in ("lsh_bands", "lsh_bands_middle"):
        if table not in db.table_names():
            db.execute(
                f"CREATE TABLE {table} (key INTEGER NOT NULL, version_id INTEGER NOT NULL, "
                "PRIMARY KEY (key, version_id)) WITHOUT ROWID"
            )


def _ensure_translation_links(db: sqlite_utils.Database) -> None:
    """A document's links to its other-language versions, by URL key (either may come first)."""
    if "translation_links" not in db.table_names():
        db.execute(
            "CREATE TABLE translation_links (document_id INTEGER NOT NULL, url_key TEXT NOT NULL, "
            "PRIMARY KEY (document_id, url_key))"
        )
        db.table("translation_links").create_index(["url_key"])


# ---------------------------------------------------------------- maintained aggregates
#: ``document_counts``: how many documents there are per (month of the date, year, language,
#: sources), kept by triggers on ``documents`` in the same transaction as each insert, delete or
#: change of those columns. Why: the home page (its count, the coverage strip and the per-year
#: table, ``corpus.web.views``, ``corpus.coverage``) read it in a few hundred rows instead of
#: scanning ``documents`` - whose rows carry full texts, so a scan reads the whole file (0.9 s at
#: 100k documents, issue 26). Triggers rather than code in ``corpus.store``: every writer (ingest,
#: reprocess, merges, a release's snapshot) keeps it without knowing of it. The keys are never
#: NULL (a NULL would make every row its own group under the primary key): ``month`` is '' for
#: a date shorter than a month, ``year`` 0 for an undated document, ``language``/``sources`` ''
#: when missing.
DOCUMENT_COUNTS = "document_counts"
_COUNT_KEY = {
    "month": "CASE WHEN length({r}.date) >= 7 THEN substr({r}.date, 1, 7) ELSE '' END",
    "year": "coalesce({r}.year, 0)",
    "language": "coalesce({r}.language, '')",
    "sources": "coalesce({r}.sources, '')",
}


def _count_add(row: str) -> str:
    values = ", ".join(expr.format(r=row) for expr in _COUNT_KEY.values())
    return (f"INSERT INTO {DOCUMENT_COUNTS} (month, year, language, sources, n) VALUES ({values}, 1) "
            "ON CONFLICT (month, year, language, sources) DO UPDATE SET n = n + 1;")


def _count_remove(row: str) -> str:
    where = " AND ".join(f"{col} = {expr.format(r=row)}" for col, expr in _COUNT_KEY.items())
    return (f"UPDATE {DOCUMENT_COUNTS} SET n = n - 1 WHERE {where};\n"
            f"  DELETE FROM {DOCUMENT_COUNTS} WHERE n <= 0 AND {where};")


COUNT_TRIGGERS = {
    "document_counts_ai": f"CREATE TRIGGER document_counts_ai AFTER INSERT ON documents BEGIN\n"
                          f"  {_count_add('new')}\nEND",
    "document_counts_ad": f"CREATE TRIGGER document_counts_ad AFTER DELETE ON documents BEGIN\n"
                          f"  {_count_remove('old')}\nEND",
    "document_counts_au": f"CREATE TRIGGER document_counts_au AFTER UPDATE OF date, year, language, "
                          f"sources ON documents BEGIN\n  {_count_remove('old')}\n  {_count_add('new')}\nEND",
}


def _ensure_document_counts(db: sqlite_utils.Database) -> None:
    """Create ``document_counts`` and its triggers; a corpus from before it is counted once,
    in the same transaction as the triggers start keeping it."""
    conn = db.conn
    if DOCUMENT_COUNTS in db.table_names() and all(
            conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'trigger' AND name = ?", (name,)).fetchone()
            for name in COUNT_TRIGGERS):
        return
    conn.execute("BEGIN IMMEDIATE")
    try:
        conn.execute(f"DROP TABLE IF EXISTS {DOCUMENT_COUNTS}")
        conn.execute(f"CREATE TABLE {DOCUMENT_COUNTS} (month TEXT NOT NULL, year INTEGER NOT NULL, "
                     "language TEXT NOT NULL, sources TEXT NOT NULL, n INTEGER NOT NULL, "
                     "PRIMARY KEY (month, year, language, sources)) WITHOUT ROWID")
        keys = ", ".join(expr.format(r="documents") for expr in _COUNT_KEY.values())
        conn.execute(f"INSERT INTO {DOCUMENT_COUNTS} (month, year, language, sources, n) "
                     f"SELECT {keys}, count(*) FROM documents GROUP BY 1, 2, 3, 4")
        for name, sql in COUNT_TRIGGERS.items():
            conn.execute(f"DROP TRIGGER IF EXISTS {name}")
            conn.execute(sql)
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


def ensure_schema(db: sqlite_utils.Database) -> int:
    """Create every table, index and the FTS5 index if missing (safe to call on every open).

    Returns the version the database had before (``PRAGMA user_version``): ``SCHEMA_VERSION``
    for a new database, so callers migrate only what existed.
    """
    fresh = "documents" not in db.table_names()
    previous = SCHEMA_VERSION if fresh else db.execute("PRAGMA user_version").fetchone()[0]
    # Each step on its own: a first open cut short (a full disk) left a part of them.
    _ensure_documents(db)
    _ensure_versions(db)
    _ensure_captures(db)
    _ensure_lsh_index(db)
    _ensure_translation_links(db)
    _ensure_document_counts(db)
    # Small durable facts about the corpus itself (e.g. ``fts_deferred``: a bulk load has the
    # FTS triggers off, see ``Corpus.defer_fts``).
    db.execute("CREATE TABLE IF NOT EXISTS corpus_meta (key TEXT PRIMARY KEY, value TEXT)")
    _ensure_stemmed_fts(db)
    _current_fts_triggers(db)
    _fold_recent_band_table(db)
    if previous >= LSH_VERSION:  # else Corpus.rebuild_lsh_index sets it once the index is redone
        db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
    return previous
