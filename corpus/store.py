"""``Corpus``: one document per transcript, every capture as provenance, every text as a version.

Why this shape: WARC files are the source of truth and are re-read often (new extractor,
new crawl), so ingesting must be idempotent (``captures.warc_record_id`` is unique) and each
ingest is one SQLite transaction (a savepoint, so callers may batch many ingests into one
outer transaction with ``Corpus.transaction()``). Hot-path writes are plain SQL on the
connection (a few fixed statements an ingest; sqlite-utils' insert helpers would inspect the
table and take a savepoint per row); schema, FTS and reads go through sqlite-utils. The
connection and its WAL policy are ``corpus.wal``; the lock files beside the database,
``corpus.locks``.

The CPU work per text (normalise, hash, shingle, MinHash, band keys) is ``corpus.prepare``:
``reprocess`` does it in its worker processes and passes the result to ``ingest``; otherwise
``ingest`` prepares the text itself, before its transaction starts. Inside the transaction only
indexed lookups (all LSH bands in one query) and inserts remain; shingle sets are built only to
verify real candidates.

How a transcript capture is attached (the ``match`` column):
1. ``exact``: its normalised-text hash equals a stored version -> that version.
2. ``same-url``: its URL key already belongs to a document -> a NEW VERSION of that document
   (the ministry edited the page).
3. ``near-duplicate:0.93``: a verified candidate from the LSH index or from the same event date
   (``corpus.dedup``) -> that document, as a new version (a mirror's text); 0.93 = containment.
4. ``new``: a new document.
Non-transcripts (listings, interstitials, errors) get a capture row with NULL document_id.

Canonical version and canonical URL: one stated rule, a sort over facts of the captures and
never over ingest or fetch order, so one process, N workers (one ``reprocess`` of their WARCs),
a rebuild and a re-crawl of an unchanged site build the same documents (``canonical_key``):
1. official source over mirror: ``mid`` before ``mid_archive``/``mid_domino`` before the rest;
2. language: a text whose language was stated (``<html lang>``, the profile, the URL) before one
   whose language is unknown;
3. time, by UTC day of the capture (``archived_at`` for a page from a web archive, else the fetch):
   the canonical *version* of an official source is its latest edit (the text the ministry
   publishes now: an edit is only seen by a later re-crawl); the canonical *URL* is the earliest
   capture. Captures of the same day count as simultaneous, because the order in which one crawl
   (or each of N workers) happened to fetch a site's pages says nothing about the documents;
4. then URL (lexicographic); a version's ties also by normalised length (longer first) before
   the URL and by text hash after it (the versions of one document have distinct hashes, so
   the order is total). Without an official version there is no time step for the version:
   the longest text wins.
``canonical_reason`` says which rule chose the version. The same source rank picks which
capture's text represents a version when captures differ only in typography (same normalised
hash, ``exact`` match): source rank, then raw text length, then URL, then the sha256 of the raw
text. Known limit: a crawl running across midnight UTC may fetch two URLs of one document on
either side of it, and then the earlier day wins (docs/scale-out.md).

Write path cost: a new document's row is inserted with its title and text, so the FTS5 index
(``documents_fts``, external content) indexes it once; the index's update trigger only fires
when title or text change (``schema.FTS_UPDATE_TRIGGER``), and ``_refresh_document`` copies the
canonical version's columns only when the canonical version changed. LSH band keys go to a
three-level index whose two small levels are mirrored in memory (``corpus.band_index``).
"""
from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
import sqlite3

import sqlite_utils

from stenogram.corpus import dedup, locks
from stenogram.corpus.band_index import BandIndex
from stenogram.corpus.normalize import shingles
from stenogram.corpus.prepare import Prepared, is_ingestible, prepare_text, prepare_texts
from stenogram.corpus.schema import (CANONICAL_CAPTURE_ORDER, CAPTURE_DAY_SQL, SOURCE_RANK_SQL,
                           FTS_DEFAULT_AUTOMERGE, FTS_DEFERRED_FLAG, FTS_DEFERRED_KEY,
                           FTS_REBUILD_AUTOMERGE, LSH_VERSION, drop_fts_triggers, ensure_schema,
                           rebuild_stemmed_fts, restore_fts_triggers)
from stenogram.corpus.urls import url_key
from stenogram.corpus.wal import connect

log = logging.getLogger(__name__)

OFFICIAL_SOURCES = ("mid", "mid_archive", "mid_domino")
SOURCE_RANK = {"mid": 2, "mid_archive": 1, "mid_domino": 1}  # any other source: 0
_RANK_SQL = SOURCE_RANK_SQL  # over ``versions`` or ``captures`` (both have ``source``)
#: Seconds a write waits for another writer of the same corpus before "database is locked".
#: A crawl and ``stenogram reprocess`` may write one corpus at once (README, "Operations"):
#: a crawl's ingest is one short transaction; a ``reprocess`` that sees a crawl on the file
#: commits at least every ``reprocess.SHARED_COMMIT_SECONDS`` and leaves the lock free
#: after each commit, but its end-of-run full-text rebuild (when it deferred the index
#: before the crawl started) is one transaction of up to ~3 minutes at a million documents.
#: The timeout is longer than that: a crawl waits, it does not fail.
BUSY_TIMEOUT = 600.0


#: When a capture saw its text: the archive's capture time for a page from a web archive
#: (``stenogram backfill``; a transcript first captured in 2012 says 2012), else our fetch.
SEEN_SQL = "coalesce(archived_at, fetched_at)"

# The canonical rule of the module docstring, as ORDER BY clauses (the first row wins).
#: versions: official rank, stated language, an official source's latest edit by UTC day,
#: longer text, URL, text hash
CANONICAL_VERSION_ORDER = (
    f"{_RANK_SQL} DESC, language IS NULL, "
    f"CASE WHEN is_official THEN substr(first_seen, 1, 10) END DESC, n_chars DESC, url, text_hash")
#: captures: ``schema.CANONICAL_CAPTURE_ORDER`` (official rank, earliest day, URL) within one
#: version, whose language all its captures share; across versions the stated language comes
#: after the rank (``Corpus._canonical_capture``). The same URL's captures of one day are
#: interchangeable: any of them gives the URL.


def seen_at(capture) -> str:
    """The capture's moment in ``first_seen``/``last_seen`` (see ``SEEN_SQL``)."""
    return getattr(capture, "archived_at", None) or capture.fetched_at


def representative_key(source: str | None, text: str, url: str) -> tuple:
    """Sort key of a capture's text as representative of its version (smallest wins)."""
    return (-SOURCE_RANK.get(source, 0), -len(text), url,
            hashlib.sha256(text.encode("utf-8")).hexdigest())


@dataclass(frozen=True)
class IngestResult:
    """What one ``Corpus.ingest`` did (``already_ingested``: the WARC record was known)."""

    document_id: int | None
    version_id: int | None
    capture_id: int
    match: str | None
    new_document: bool
    new_version: bool
    already_ingested: bool = False


def canonical_reason(official: bool, source: str | None, n_versions: int) -> str:
    """The ``documents.canonical_reason`` text: which rule chose the canonical version."""
    if official:
        return f"latest version from the official source ({source})"
    return f"no official capture; longest of {n_versions} version(s); url of the earliest capture"


def _json(value) -> str | None:
    return None if value is None else json.dumps(value, ensure_ascii=False)


class Corpus:
    """A corpus database at ``path`` (created if missing). ``Corpus(":memory:")`` works too."""

    def __init__(self, path: str | Path, settings: dedup.DedupSettings | None = None, *,
                 cache_mib: int = 256, busy_timeout: float | None = None):
        """``cache_mib``: SQLite page cache. Each ingest touches ~32 random pages of the LSH
        band index (about 560 MiB per million documents), so a bulk build of a large corpus
        wants a cache that holds it; the memory is only taken as pages are read.

        ``busy_timeout`` (seconds, default ``BUSY_TIMEOUT``): how long a write waits for
        another process writing the same file (see ``BUSY_TIMEOUT``)."""
        self.path = str(path)
        self.settings = settings or dedup.DedupSettings()
        conn = connect(self.path, cache_mib=cache_mib,
                       busy_timeout=BUSY_TIMEOUT if busy_timeout is None else busy_timeout)
        self.db = sqlite_utils.Database(conn)
        self.conn = conn
        self._presence: int | None = None  # fd of our shared lock on <db>-writers.lock
        self._bulk_writer = False  # set by others_writing: never announces itself
        self._recopy: set[int] = set()  # versions whose text was replaced in this ingest
        self.bands = BandIndex(conn)
        if ensure_schema(self.db) < LSH_VERSION:
            self.rebuild_lsh_index()
        self._bulk_lock: int | None = None  # fd of the lock held while FTS is deferred
        self._complete_abandoned_fts()

    def close(self) -> None:
        locks.release(self._presence)
        locks.release(self._bulk_lock)  # a bulk load that did not call resume_fts
        self._presence = self._bulk_lock = None
        self.conn.close()

    def __enter__(self) -> "Corpus":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- transactions -------------------------------------------------------------------
    @contextmanager
    def transaction(self) -> Iterator[None]:
        """All-or-nothing block; blocks nest (inner ones are sqlite-utils' ``atomic()``
        savepoints).

        An ``ingest`` outside any block is its own transaction; inside one it has no savepoint
        of its own and is atomic with the block (a savepoint each cost a tenth of the writer's CPU
        per document in ``bench/bench_corpus.py``). A caller that catches an
        ingest's exception inside a block must therefore roll the block back.

        The outermost block is not ``atomic()``, whose ``BEGIN`` is deferred: a read-then-write
        transaction then fails at once at its first write with "database is locked" when
        another connection (a crawl and a ``reprocess`` sharing the corpus) committed in
        between, busy timeout or not. ``BEGIN IMMEDIATE`` waits (``busy_timeout``) for the
        other writer instead. The block ends through the connection's own context manager
        (``with conn``), which commits, and rolls back when the block raised *or the commit
        failed*. So after a full disk ("database or disk is full", at any statement or at the
        commit) the connection is never left inside an open transaction that later ingests
        would join and never commit; the error raised is SQLite's own, never a failed
        rollback's.
        """
        try:
            if self.conn.in_transaction:
                with self.db.atomic():
                    yield
                return
            if self._presence is None and not self._bulk_writer and self.path != ":memory:":
                # from the first write on (a reader or a bulk writer creates no lock file);
                # best effort: without it a reprocess only keeps its transactions long
                self._presence = locks.hold_shared(f"{self.path}-writers.lock")
            self.conn.execute("BEGIN IMMEDIATE")
            with self.conn:  # COMMIT; ROLLBACK on an exception or a failed COMMIT
                yield
                if not self.conn.in_transaction:
                    # SQLite rolled the whole transaction back after an error that a caller
                    # inside the block caught: committing now would claim work that is gone.
                    raise sqlite3.OperationalError(
                        "the transaction was rolled back by SQLite after an earlier error")
        except BaseException:
            self.bands.invalidate()  # its memory mirror may hold keys of rolled-back rows
            raise

    # -- sharing the file with other writers ---------------------------------------------
    def others_writing(self) -> bool:
        """True while another ``Corpus`` (another process, e.g. a crawl's pipeline) has this
        database open (``corpus.locks``: every ``Corpus`` that has written holds a shared lock
        on ``<db>-writers.lock``).

        A bulk writer (``reprocess``) calls this to learn that it shares the file, and then
        keeps its transactions short and leaves the write lock free after each
        (``corpus.reprocess``): SQLite's busy wait is a poll, not a queue, so a writer that
        commits and at once begins again would starve the other one. Asking makes this object
        a bulk writer: it gives up (and never takes) the shared lock, since it must not count
        itself.
        """
        self._bulk_writer = True
        locks.release(self._presence)
        self._presence = None
        return self.path != ":memory:" and locks.held_by_others(f"{self.path}-writers.lock")

    # -- bulk loads: full-text index built once at the end ---------------------------------
    @property
    def fts_deferred(self) -> bool:
        """True while a bulk load has row-by-row FTS indexing off (``defer_fts``)."""
        return self._meta("fts_deferred") is not None

    def defer_fts(self) -> bool:
        """Stop indexing documents in ``documents_fts`` row by row, until ``resume_fts``.

        Why: FTS5 indexing is the largest single cost of ingesting a new document (~40% of the
        writer's time on 400-word texts), and FTS5 builds an index much faster in one
        ``rebuild`` pass than in thousands of small per-transaction segments it then merges.
        ``reprocess`` defers it when a run adds many documents. The FTS triggers are dropped
        and a flag kept in ``corpus_meta`` (in the current transaction, so the state is
        durable with the rows it concerns); an exclusive lock on ``<db>-bulk.lock`` says that
        a live process owns the deferral. If that process dies, the next ``Corpus`` opened on
        the database finds the lock free and completes the index (``resume_fts``). Returns
        False (and changes nothing) when FTS is already deferred.
        """
        if self.fts_deferred:
            return False
        if self.path != ":memory:":
            self._bulk_lock = locks.try_exclusive(f"{self.path}-bulk.lock")
            if self._bulk_lock is None:
                return False
        with self.transaction():  # a flag, never SQL: see schema.FTS_DEFERRED_FLAG
            self.conn.execute("INSERT INTO corpus_meta (key, value) VALUES (?, ?)",
                              (FTS_DEFERRED_KEY, FTS_DEFERRED_FLAG))
            drop_fts_triggers(self.conn)
        return True

    def resume_fts(self) -> bool:
        """Rebuild ``documents_fts`` from the documents table and put its triggers back.

        One transaction: a crash leaves either the deferred state (completed on next open) or
        the finished index. Returns False when FTS was not deferred.
        """
        triggers = self._meta("fts_deferred")
        if triggers is None:
            return False
        with self.transaction():
            set_automerge = ("INSERT INTO documents_fts (documents_fts, rank) "
                             "VALUES ('automerge', ?)")
            self.conn.execute(set_automerge, (FTS_REBUILD_AUTOMERGE,))
            self.conn.execute("INSERT INTO documents_fts (documents_fts) VALUES ('rebuild')")
            self.conn.execute(set_automerge, (FTS_DEFAULT_AUTOMERGE,))
            rebuild_stemmed_fts(self.conn)
            restore_fts_triggers(self.conn)  # from code, whatever the stored value says
            self.conn.execute("DELETE FROM corpus_meta WHERE key = 'fts_deferred'")
        locks.release(self._bulk_lock)
        self._bulk_lock = None
        return True

    def _complete_abandoned_fts(self) -> None:
        """On open: finish the FTS index of a bulk load whose process is gone (``defer_fts``)."""
        if not self.fts_deferred:
            return
        self._bulk_lock = locks.try_exclusive(f"{self.path}-bulk.lock")
        if self._bulk_lock is None:  # a live bulk load owns it and will rebuild when it ends
            log.info("%s: full-text index deferred by a running bulk load", self.path)
            return
        n = self.conn.execute("SELECT count(*) FROM documents").fetchone()[0]
        log.warning("%s: an interrupted bulk load left the full-text index deferred; "
                    "rebuilding it (%d documents)", self.path, n)
        self.resume_fts()

    def _meta(self, key: str) -> str | None:
        row = self.conn.execute("SELECT value FROM corpus_meta WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None

    # -- ingest -------------------------------------------------------------------------
    def ingest(self, capture, transcript: dict | None,
               prepared: Prepared | None = None) -> IngestResult:
        """Record ``capture`` and attach ``transcript`` (a ``Transcript.to_dict()``) to a document.

        ``prepared``: ``corpus.prepare`` output for this transcript's text, when the caller
        computed it elsewhere (``reprocess`` does, in its worker processes); else it is computed
        here, before the transaction starts.
        """
        location = capture.location
        row = self.conn.execute(
            "SELECT id, document_id, version_id, match FROM captures WHERE warc_record_id = ?",
            (location.warc_record_id,),
        ).fetchone()
        if row:
            return IngestResult(row[1], row[2], row[0], row[3], False, False, True)
        if prepared is None and is_ingestible(transcript):
            prepared = prepare_text(transcript["text"])
        if self.conn.in_transaction:  # atomic with the caller's block, no savepoint of its own
            return self._ingest(capture, transcript, prepared)
        with self.transaction():
            return self._ingest(capture, transcript, prepared)

    def _insert_capture(self, capture, transcript, document_id, version_id, match, is_transcript,
                        reason, key=None) -> int:
        loc = capture.location
        source = capture.source or (transcript or {}).get("source")
        cur = self.conn.execute(
            "INSERT INTO captures (url, url_key, fetched_at, http_status, content_type, warc_file, "
            "warc_offset, warc_length, warc_record_id, payload_digest, source, crawl_id, "
            "extractor_version, document_id, version_id, match, is_transcript, reason, "
            "extraction_path, fallback_reason, archived_at, via) "
            "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
            (capture.url, key or url_key(capture.url), capture.fetched_at, capture.http_status,
             capture.content_type, loc.warc_file, loc.warc_offset, loc.warc_length,
             loc.warc_record_id, loc.payload_digest, source, capture.crawl_id,
             (transcript or {}).get("extractor_version"), document_id, version_id, match,
             int(is_transcript), reason, (transcript or {}).get("extraction_path"),
             (transcript or {}).get("fallback_reason"), getattr(capture, "archived_at", None),
             getattr(capture, "via", None)),
        )
        return cur.lastrowid

    def _ingest(self, capture, transcript: dict | None, prepared: Prepared | None) -> IngestResult:
        text = (transcript or {}).get("text") or ""
        if truncated := getattr(capture.location, "truncated", None):
            # a cut record is never a version: the corpus holds only text its WARC record holds
            transcript = {**(transcript or {}), "is_transcript": False, "text": "",
                          "reason": f"truncated record (WARC-Truncated: {truncated})"}
        if not is_ingestible(transcript):
            reason = (transcript or {}).get("reason") or (
                "no extraction" if not transcript else "empty text")
            cid = self._insert_capture(capture, transcript, None, None, None, False, reason)
            return IngestResult(None, None, cid, None, False, False)

        source = capture.source or transcript.get("source")
        key = url_key(capture.url)
        thash = prepared.text_hash
        seen = seen_at(capture)
        language, date = transcript.get("language"), transcript.get("date")

        # 1. exact
        self._recopy.clear()
        row = self.conn.execute(
            "SELECT id, document_id, source, text, url FROM versions WHERE text_hash = ? "
            "ORDER BY id LIMIT 1", (thash,)
        ).fetchone()
        if row:
            version_id, document_id = row[:2]
            match, new_document, new_version = "exact", False, False
            self.conn.execute(
                "UPDATE versions SET first_seen = min(first_seen, ?), last_seen = max(last_seen, ?)"
                " WHERE id = ?", (seen, seen, version_id))
            if representative_key(source, text, capture.url) < representative_key(*row[2:]):
                # Same normalised text, different typography or metadata: the version keeps the
                # best-ranked capture's (the ministry's own over a mirror's, the current site's
                # over the archive's, then deterministic tie-breaks), whatever the ingest order.
                self.conn.execute(
                    "UPDATE versions SET is_official = ?, text = ?, url = ?, url_key = ?, "
                    "source = ?, title = ?, date = ?, place = ?, language = ?, turns = ?, "
                    "participants = ?, kind = ?, extractor_version = ? WHERE id = ?",
                    (int(source in OFFICIAL_SOURCES), text, capture.url, key, source,
                     transcript.get("title"), date, transcript.get("place"), language,
                     _json(transcript.get("turns") or []),
                     _json(transcript.get("participants") or []), transcript.get("kind"),
                     transcript.get("extractor_version"), version_id))
                self._recopy.add(version_id)
        else:
            document_id, match = self._find_document(key, text, prepared, language, date)
            new_document = document_id is None
            if new_document:
                document_id = self._insert_document(capture, transcript, source)
                match = "new"
            version_id = self._insert_version(document_id, prepared, text, capture, transcript,
                                              key, source)
            new_version = True

        cid = self._insert_capture(capture, transcript, document_id, version_id, match, True, None,
                                   key)
        self._link_translations(document_id, key, transcript.get("translation_urls") or [])
        if new_document:
            # One version, one capture: _insert_document already wrote what _refresh_document
            # would derive (tests/test_corpus.py checks they agree); only the id was missing.
            self.conn.execute("UPDATE documents SET canonical_version_id = ? WHERE id = ?",
                              (version_id, document_id))
        else:
            self._refresh_document(document_id, added=(seen, source))
        return IngestResult(document_id, version_id, cid, match, new_document, new_version)

    def _insert_document(self, capture, t: dict, source: str | None) -> int:
        """A new document whose only version and capture are this one, every column final.

        Inserted complete (not as a stub that ``_refresh_document`` fills in), so the FTS
        insert trigger indexes its title and text once and no second statement rewrites it;
        this is the common case of a bulk load, where most captures start a document.
        """
        official = source in OFFICIAL_SOURCES
        date, seen = t.get("date"), seen_at(capture)
        return self.conn.execute(
            "INSERT INTO documents (title, date, year, place, language, text, turns, "
            "participants, kind, canonical_url, canonical_reason, first_seen, last_seen, "
            "n_captures, n_versions, sources) "
            "VALUES (?, ?, CAST(substr(?, 1, 4) AS INTEGER), ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1, 1, ?)",
            (t.get("title"), date, date, t.get("place"), t.get("language"), t.get("text"),
             _json(t.get("turns") or []), _json(t.get("participants") or []), t.get("kind"),
             capture.url, canonical_reason(official, source, 1), seen, seen,
             json.dumps([source] if source else [])),
        ).lastrowid

    def _find_document(self, key: str, text: str, prepared: Prepared, language,
                       date) -> tuple[int | None, str | None]:
        row = self.conn.execute(
            "SELECT document_id FROM captures WHERE url_key = ? AND document_id IS NOT NULL "
            "ORDER BY id DESC LIMIT 1", (key,)).fetchone()
        if row:
            return row[0], "same-url"
        best = self.near_duplicate(text, language, date, band_keys=prepared.band_keys,
                                   signature=prepared.signature)
        if best:
            document_id, sim = best
            return document_id, f"near-duplicate:{sim.containment:.2f}"
        return None, None

    def near_duplicate(self, text: str, language=None, date=None, *, band_keys=None,
                       signature: bytes | None = None):
        """Best verified ``(document_id, Similarity)`` for ``text``, or None.

        ``band_keys``, ``signature``: the text's LSH keys and MinHash signature when already
        prepared. All bands are looked up in one query; each candidate's stored signature is
        compared with the text's first (``DedupSettings.min_estimated_jaccard``), and shingle
        sets are built only for the candidates that could pass verification.
        """
        if band_keys is None or signature is None:
            prepared = prepare_text(text)
            band_keys, signature = prepared.band_keys, prepared.signature
        candidate_ids = set(self.bands.candidates(list(band_keys), self.settings.max_candidates))
        if date:
            candidate_ids.update(r[0] for r in self.conn.execute(
                "SELECT v.id FROM versions v JOIN documents d ON d.id = v.document_id "
                "WHERE d.date = ? AND (? IS NULL OR d.language IS NULL OR d.language = ?) LIMIT ?",
                (date, language, language, self.settings.max_candidates)))
        if not candidate_ids:
            return None
        marks = ",".join("?" * len(candidate_ids))
        stored = dict(self.conn.execute(
            f"SELECT version_id, signature FROM lsh_signatures WHERE version_id IN ({marks})",
            tuple(candidate_ids)))
        ids = sorted(stored)
        close = dedup.estimated_jaccards(signature, [stored[v] for v in ids])
        candidate_ids = ({v for v, e in zip(ids, close, strict=True)
                          if e >= self.settings.min_estimated_jaccard}
                         | (candidate_ids - stored.keys()))  # no signature: verify from the text
        if not candidate_ids:
            return None
        mine = shingles(text)
        best = None
        marks = ",".join("?" * len(candidate_ids))
        for vid, doc_id, vtext, d_lang, d_date in self.conn.execute(
            f"SELECT v.id, v.document_id, v.text, d.language, d.date FROM versions v "
            f"JOIN documents d ON d.id = v.document_id WHERE v.id IN ({marks})",
            tuple(candidate_ids)):
            if not dedup.compatible(language, date, d_lang, d_date, self.settings):
                continue
            sim = dedup.similarity(mine, shingles(vtext))
            if sim.passes(self.settings) and (
                best is None or (sim.containment, sim.jaccard) > (best[1].containment, best[1].jaccard)
            ):
                best = (doc_id, sim)
        return best

    def _insert_version(self, document_id, prepared: Prepared, text, capture, t, key,
                        source) -> int:
        vid = self.conn.execute(
            "INSERT INTO versions (document_id, text_hash, text, first_seen, last_seen, url, "
            "url_key, source, is_official, n_chars, title, date, place, language, turns, "
            "participants, kind, extractor_version) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
            (document_id, prepared.text_hash, text, seen_at(capture), seen_at(capture), capture.url, key,
             source, int(source in OFFICIAL_SOURCES), prepared.n_chars, t.get("title"),
             t.get("date"), t.get("place"), t.get("language"), _json(t.get("turns") or []),
             _json(t.get("participants") or []), t.get("kind"), t.get("extractor_version")),
        ).lastrowid
        self._index_version(vid, prepared)
        return vid

    def _index_version(self, version_id: int, prepared: Prepared) -> None:
        self.conn.execute("INSERT INTO lsh_signatures (version_id, signature) VALUES (?, ?)",
                          (version_id, prepared.signature))
        self.bands.add(version_id, prepared.band_keys)

    def rebuild_lsh_index(self, batch: int = 1000) -> int:
        """Recompute every version's signature and bands (after the MinHash family changed).

        Run on open when the stored index predates ``schema.LSH_VERSION``; returns the number
        of versions indexed.
        """
        n = 0
        with self.transaction():
            self.bands.clear()
            self.conn.execute("DELETE FROM lsh_signatures")
            cursor = self.conn.execute("SELECT id, text FROM versions ORDER BY id")
            while rows := cursor.fetchmany(batch):
                for (vid, _), prepared in zip(rows, prepare_texts(t for _, t in rows)):
                    self._index_version(vid, prepared)
                n += len(rows)
            self.conn.execute(f"PRAGMA user_version = {LSH_VERSION}")
        return n

    def _link_translations(self, document_id: int, key: str, translation_urls: list[str]) -> None:
        for url in translation_urls:
            other_key = url_key(url)
            self.conn.execute("INSERT OR IGNORE INTO translation_links VALUES (?, ?)",
                              (document_id, other_key))
            row = self.conn.execute(
                "SELECT document_id FROM captures WHERE url_key = ? AND document_id IS NOT NULL "
                "AND document_id != ? LIMIT 1", (other_key, document_id)).fetchone()
            if row:
                self._set_translation(document_id, row[0])
        row = self.conn.execute(
            "SELECT document_id FROM translation_links WHERE url_key = ? AND document_id != ? "
            "LIMIT 1", (key, document_id)).fetchone()
        if row:
            self._set_translation(document_id, row[0])

    def _set_translation(self, a: int, b: int) -> None:
        self.conn.execute("UPDATE documents SET translation_of = ? WHERE id = ?", (b, a))
        self.conn.execute("UPDATE documents SET translation_of = ? WHERE id = ?", (a, b))

    def _refresh_document(self, document_id: int, added: tuple | None = None) -> None:
        """Re-derive the canonical version, the canonical URL and the aggregates of one document.

        Both by the rule of the module docstring (official source, language, day, URL):
        ``CANONICAL_VERSION_ORDER`` over the document's versions (a few: edits and mirrors'
        texts), ``_canonical_capture`` over one index entry per version. ``added``: ``(seen,
        source)`` of the one capture this ingest added; the counts, first/last seen and sources
        are then updated from the stored ones instead of recounted over every capture of the
        document, so an ingest costs the same at the 1,000th daily re-check of a page as at the
        second (``bench/bench_corpus.py --recaptures``). Without it everything is recounted
        (tests check that both agree). The version's columns (title, text...) are copied only
        when the canonical version changed (or its text was replaced by this ingest), so the FTS
        index is not rewritten for nothing.
        """
        vid, is_official, n_versions = self.conn.execute(
            f"SELECT id, is_official, count(*) OVER () FROM versions WHERE document_id = ? "
            f"ORDER BY {CANONICAL_VERSION_ORDER} LIMIT 1", (document_id,)).fetchone()
        canonical_url, capture_source = self._canonical_capture(document_id, vid, is_official)
        current, first, last, n_captures, sources = self.conn.execute(
            "SELECT canonical_version_id, first_seen, last_seen, n_captures, sources FROM documents "
            "WHERE id = ?", (document_id,)).fetchone()
        if added is not None:
            seen, source = added
            first, last, n_captures = min(first, seen), max(last, seen), n_captures + 1
            sources = json.loads(sources or "[]")
            if source and source not in sources:
                sources = sorted([*sources, source])
        else:
            first, last, n_captures, sources = self.conn.execute(
                f"SELECT min({SEEN_SQL}), max({SEEN_SQL}), count(*), "
                "json_group_array(DISTINCT source) FROM captures WHERE document_id = ?",
                (document_id,)).fetchone()
            sources = sorted(s for s in json.loads(sources) if s)
        reason = canonical_reason(bool(is_official), capture_source if is_official else None,
                                  n_versions)
        aggregates = (canonical_url, reason, vid, first, last, n_captures, n_versions,
                      json.dumps(sources), document_id)
        if vid != current or vid in self._recopy:
            self.conn.execute(
                "UPDATE documents SET (title, date, year, place, language, text, turns, "
                "participants, kind) = (SELECT title, date, CAST(substr(date, 1, 4) AS INTEGER), "
                "place, language, text, turns, participants, kind FROM versions WHERE id = ?), "
                "canonical_url = ?, canonical_reason = ?, canonical_version_id = ?, "
                "first_seen = ?, last_seen = ?, n_captures = ?, n_versions = ?, sources = ? "
                "WHERE id = ?", (vid, *aggregates))
        else:
            self.conn.execute(
                "UPDATE documents SET canonical_url = ?, canonical_reason = ?, "
                "canonical_version_id = ?, first_seen = ?, last_seen = ?, n_captures = ?, "
                "n_versions = ?, sources = ? WHERE id = ?", aggregates)

    def _canonical_capture(self, document_id: int, version_id: int,
                           is_official: bool) -> tuple[str, str | None]:
        """``(url, source)`` of the capture that names the document (module docstring's rule).

        An official canonical version: its best official capture. Otherwise the best capture of
        any version, a version with a stated language before one without. Each version's best is
        the first entry of the index ``captures_canonical`` (``schema``), never a sort of all its
        captures.
        """
        best_of = (f"SELECT {SOURCE_RANK_SQL}, {CAPTURE_DAY_SQL}, url, source FROM captures "
                   f"WHERE version_id = ? {{}}ORDER BY {CANONICAL_CAPTURE_ORDER} LIMIT 1")
        if is_official:
            row = self.conn.execute(
                best_of.format(f"AND source IN ({','.join('?' * len(OFFICIAL_SOURCES))}) "),
                (version_id, *OFFICIAL_SOURCES)).fetchone()
            return row[2], row[3]
        best = None
        for vid, language in self.conn.execute(
                "SELECT id, language FROM versions WHERE document_id = ?", (document_id,)).fetchall():
            row = self.conn.execute(best_of.format(""), (vid,)).fetchone()
            if row is not None:
                key = (-row[0], language is None, row[1], row[2])
                if best is None or key < best[0]:
                    best = (key, row[2], row[3])
        if best is None:  # a document always has a capture: its first made it
            raise LookupError(f"document {document_id} has no capture")
        return best[1], best[2]

    # -- reading ------------------------------------------------------------------------
    def stats(self) -> dict:
        """Counts users ask for first."""
        one = lambda sql: self.conn.execute(sql).fetchone()[0]  # noqa: E731
        captures = one("SELECT count(*) FROM captures")
        return {
            "documents": one("SELECT count(*) FROM documents"),
            "captures": captures,
            "versions": one("SELECT count(*) FROM versions"),
            "transcript_captures": one("SELECT count(*) FROM captures WHERE is_transcript = 1"),
            "non_transcript_captures": one("SELECT count(*) FROM captures WHERE is_transcript = 0"),
            "merged_captures": one(
                "SELECT count(*) FROM captures WHERE is_transcript = 1 AND match != 'new'"),
            "near_duplicate_captures": one(
                "SELECT count(*) FROM captures WHERE match LIKE 'near-duplicate:%'"),
            "edited_documents": one(
                "SELECT count(*) FROM (SELECT document_id FROM versions GROUP BY document_id, "
                "url_key HAVING count(*) > 1)"),
            "translation_links": one(
                "SELECT count(*) FROM documents WHERE translation_of IS NOT NULL"),
        }

    def versions(self, document_id: int) -> list[dict]:
        """The versions of a document, oldest first."""
        return list(self.db.query(
            "SELECT id, document_id, text_hash, text, first_seen, last_seen, url, url_key, source, "
            "is_official, n_chars FROM versions WHERE document_id = ? ORDER BY first_seen, id",
            [document_id]))

    def diff(self, document_id: int, context: int | None = 0) -> str:
        """Word-level diff of the document's versions, older first (``corpus.diff``)."""
        from stenogram.corpus.diff import document_diff

        return document_diff(self, document_id, context)
