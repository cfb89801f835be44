"""``stenogram release``: a versioned, reproducible dataset folder cut from the corpus.

Why a release and not an export: a researcher cites a fixed dataset, while the corpus keeps
growing under a crawl. A release is a folder that never changes once written, named by its
snapshot date, that anyone can check (``sha256sum -c SHA256SUMS``) and open with the usual
tools (``datasets.load_dataset("parquet", ...)``, pandas), and that says what changed since
the previous one::

    README.md        dataset card: Hugging Face YAML header (one config per table), counts
    CODEBOOK.md      every column of every table, generated from ``corpus.schema``
    CHANGELOG.md     documents added, new versions, documents removed since the previous release
    release.json     the release's own facts (snapshot, counts, previous release)
    .zenodo.json     Zenodo deposit metadata
    datacite.json    DataCite metadata (kernel 4, the JSON of DataCite's REST API)
    data/{documents,versions,captures,turns}.{parquet,jsonl}
    SHA256SUMS       of every other file, in ``sha256sum`` format

The snapshot (``--snapshot DATE``): only the captures fetched up to the end of that UTC day,
the versions and documents they support, and each document's canonical text, first/last
seen and counts re-derived from those captures with the corpus's own rule
(``Corpus._refresh_document``, one piece of code), on a private copy of the database. So a
crawl or a ``reprocess`` after the snapshot date changes nothing in the release: two releases
of one snapshot are byte-identical (nothing in the folder says when it was built; the
snapshot date stands for it). Without ``--snapshot`` the snapshot is the day of the latest
capture. The limits (docs/release.md): a corpus rebuilt from its WARCs may number documents
differently, and a later capture that only changed typography may replace the representative
text of a version.
"""
from __future__ import annotations

import datetime as _dt
import hashlib
import json
import os
import shutil
import sqlite3
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import sqlite_utils

from stenogram.corpus.export import (ABOUT, COLUMN_DOCS, DATE_FIELDS, PROVENANCE, TIME_FIELDS,
                                     _date, card_front_matter, turn_record, turn_struct, typed_fields)

TABLES = ("documents", "versions", "captures", "turns")
#: Columns the corpus stores as JSON text and a release gives as lists.
LIST_COLUMNS = {"participants": "strings", "sources": "strings", "turns": "turns"}
MANIFEST = "release.json"
SUMS = "SHA256SUMS"
TITLE = "Russian Foreign Ministry transcripts (stenogram corpus)"
PUBLISHER = "stenogram"
#: The columns of the derived ``turns`` table (one row per speaker turn of a canonical text).
TURN_COLUMNS = (("document_id", "INTEGER"), ("turn", "INTEGER"), ("speaker", "TEXT"),
                ("speaker_id", "TEXT"), ("speaker_source", "TEXT"), ("text", "TEXT"))


class ReleaseError(Exception):
    """A release that cannot be made (one line for the user)."""


def schema_columns() -> dict[str, list[tuple[str, str]]]:
    """``{table: [(column, SQL type), ...]}`` as ``corpus.schema`` creates the tables today
    (on an empty in-memory database), plus the derived ``turns`` table: what a release holds
    and its codebook lists."""
    from stenogram.corpus.schema import ensure_schema

    db = sqlite_utils.Database(memory=True)
    ensure_schema(db)
    out = {t: [(c.name, c.type) for c in db[t].columns] for t in TABLES if t != "turns"}
    out["turns"] = list(TURN_COLUMNS)
    db.close()
    return out


def arrow_type(column: str, sql_type: str):
    import pyarrow as pa

    kind = LIST_COLUMNS.get(column)
    if kind == "strings":
        return pa.list_(pa.string())
    if kind == "turns":
        return pa.list_(turn_struct())
    if column in DATE_FIELDS:
        return pa.date32()
    if column in TIME_FIELDS:
        return pa.timestamp("us", tz="UTC")
    return pa.int64() if sql_type.upper() == "INTEGER" else pa.string()


def codebook_entries() -> dict[str, list[dict]]:
    """Each table's columns with their types and meaning; raises ``ReleaseError`` for a
    column without a description in ``export.COLUMN_DOCS`` (so none reaches a release
    unexplained)."""
    out = {}
    missing = []
    for table, columns in schema_columns().items():
        docs = COLUMN_DOCS.get(table, {})
        rows = []
        for name, sql_type in columns:
            if name not in docs:
                missing.append(f"{table}.{name}")
                continue
            rows.append({"column": name, "type": str(arrow_type(name, sql_type)),
                         "description": docs[name]})
        out[table] = rows
    if missing:
        raise ReleaseError("no description in corpus.export.COLUMN_DOCS for "
                           + ", ".join(missing))
    return out


def codebook_markdown(entries: dict[str, list[dict]]) -> str:
    parts = ["# Codebook\n",
             "Every column of every table of this release, generated from the corpus schema. "
             "Each table is in `data/TABLE.parquet` (typed) and `data/TABLE.jsonl` (one JSON "
             "object a line; dates and times as ISO 8601 strings, lists as JSON arrays).\n"]
    for table, rows in entries.items():
        parts.append(f"\n## {table}\n\n| column | type | meaning |\n|---|---|---|")
        parts.extend(f"| `{r['column']}` | `{r['type']}` | {r['description']} |" for r in rows)
    return "\n".join(parts) + "\n"


# -- the snapshot ------------------------------------------------------------------------------
def latest_capture_day(db_path: str | Path) -> _dt.date | None:
    from stenogram.corpus.access import open_readonly

    conn = open_readonly(db_path)
    try:
        row = conn.execute("SELECT max(fetched_at) FROM captures").fetchone()
    finally:
        conn.close()
    return _date(row[0]) if row and row[0] else None


def snapshot_copy(db_path: str | Path, copy: Path, snapshot: _dt.date) -> None:
    """Copy the corpus to ``copy`` (SQLite's backup: a consistent copy while a crawl writes)
    and cut it down to what was captured up to the end of ``snapshot`` (UTC)."""
    from stenogram.corpus.access import open_readonly
    from stenogram.corpus.schema import FTS_DEFERRED_KEY
    from stenogram.corpus.store import Corpus

    src = open_readonly(db_path)
    dst = sqlite3.connect(copy)
    try:
        src.backup(dst)
        # The copy is ours to change, but its triggers came with the file (untrusted data, and
        # the FTS ones would only cost time): none of them runs.
        for (name,) in dst.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'"
                                   ).fetchall():
            dst.execute(f'DROP TRIGGER "{name}"')
        if "corpus_meta" in {r[0] for r in dst.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table'")}:
            dst.execute("DELETE FROM corpus_meta WHERE key = ?", (FTS_DEFERRED_KEY,))
        dst.commit()
    finally:
        dst.close()
        src.close()
    cutoff = (snapshot + _dt.timedelta(days=1)).isoformat()
    with Corpus(copy) as corpus:  # migrates an older corpus to today's columns
        conn = corpus.conn
        conn.execute("BEGIN")
        conn.execute("DELETE FROM captures WHERE fetched_at >= ?", (cutoff,))
        conn.execute("DELETE FROM versions WHERE id NOT IN (SELECT version_id FROM captures "
                     "WHERE version_id IS NOT NULL)")
        conn.execute("DELETE FROM documents WHERE id NOT IN (SELECT document_id FROM captures "
                     "WHERE document_id IS NOT NULL)")
        conn.execute("UPDATE documents SET translation_of = NULL WHERE translation_of IS NOT "
                     "NULL AND translation_of NOT IN (SELECT id FROM documents)")
        seen = "coalesce(archived_at, fetched_at)"  # store.SEEN_SQL
        conn.execute(f"UPDATE versions SET first_seen = (SELECT min({seen}) FROM captures "
                     f"WHERE version_id = versions.id), last_seen = (SELECT max({seen}) FROM "
                     "captures WHERE version_id = versions.id)")
        for (doc_id,) in conn.execute("SELECT id FROM documents ORDER BY id").fetchall():
            corpus._refresh_document(doc_id)  # the corpus's canonical rule, on what is left
        conn.execute("COMMIT")


# -- writing the tables ------------------------------------------------------------------------
def _rows(conn: sqlite3.Connection, table: str, columns: list[str]):
    if table == "turns":
        for doc_id, turns in conn.execute("SELECT id, turns FROM documents ORDER BY id"):
            for i, t in enumerate(json.loads(turns) if turns else []):
                yield {"document_id": doc_id, "turn": i, **turn_record(t)}
        return
    conn.row_factory = sqlite3.Row
    try:
        for row in conn.execute(f"SELECT {', '.join(columns)} FROM {table} ORDER BY id"):
            rec = dict(row)
            for key, kind in LIST_COLUMNS.items():
                if key in rec:
                    value = json.loads(rec[key]) if rec[key] else []
                    rec[key] = value if kind == "strings" else [turn_record(t) for t in value]
            yield rec
    finally:
        conn.row_factory = None


PARQUET_BATCH = 1000


def write_table(conn, table: str, columns: list[tuple[str, str]], folder: Path) -> int:
    """``data/TABLE.jsonl`` and ``data/TABLE.parquet``; returns the number of rows."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    schema = pa.schema([(c, arrow_type(c, t)) for c, t in columns])
    names = [c for c, _ in columns]
    n = 0
    with open(folder / f"{table}.jsonl", "w", encoding="utf-8", newline="\n") as jsonl, \
            pq.ParquetWriter(folder / f"{table}.parquet", schema) as parquet:
        batch: list[dict] = []
        for rec in _rows(conn, table, names):
            jsonl.write(json.dumps(rec, ensure_ascii=False) + "\n")
            batch.append(typed_fields(rec))
            n += 1
            if len(batch) >= PARQUET_BATCH:
                parquet.write_table(pa.Table.from_pylist(batch, schema=schema))
                batch = []
        if batch or not n:
            parquet.write_table(pa.Table.from_pylist(batch, schema=schema))
    return n


# -- the changelog ----------------------------------------------------------------------------
@dataclass
class Changes:
    previous: str | None
    added: list[dict] = field(default_factory=list)
    new_versions: list[dict] = field(default_factory=list)
    removed: list[dict] = field(default_factory=list)


def _read_jsonl(path: Path, keys: tuple[str, ...]) -> list[dict]:
    out = []
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            rec = json.loads(line)
            out.append({k: rec.get(k) for k in keys})
    return out


def previous_release(parent: Path, snapshot: _dt.date, exclude: set[str]) -> Path | None:
    """The release in ``parent`` with the latest snapshot before ``snapshot`` (a folder with a
    ``release.json``), or None."""
    found = []
    if parent.is_dir():
        for child in parent.iterdir():
            manifest = child / MANIFEST
            if child.name in exclude or not manifest.is_file():
                continue
            try:
                snap = _dt.date.fromisoformat(json.loads(manifest.read_text("utf-8"))["snapshot"])
            except (ValueError, KeyError, TypeError):
                continue  # not one of ours: ignored
            if snap < snapshot:
                found.append((snap, child.name, child))
    return max(found)[2] if found else None


def _document_keys(versions: list[dict]) -> dict[int, str]:
    """document id -> the URL key of its earliest version: what names a document across
    releases (ids are the corpus's row ids, and a corpus rebuilt from the WARCs may number its
    documents differently; the page a transcript was first seen at stays the same)."""
    first: dict[int, tuple] = {}
    for v in versions:
        key = (v["first_seen"] or "", v["id"])
        if v["document_id"] not in first or key < first[v["document_id"]][0]:
            first[v["document_id"]] = (key, v["url_key"] or v["url"])
    return {doc: key for doc, (_, key) in first.items()}


def changes_since(previous: Path | None, data: Path) -> Changes:
    """Documents added and removed, and versions (a document's text, by its hash) new since
    ``previous``'s release; documents are matched by ``_document_keys``."""
    if previous is None:
        return Changes(None)
    doc_fields = ("id", "title", "date")
    version_fields = ("id", "document_id", "text_hash", "first_seen", "url", "url_key")
    old_versions = _read_jsonl(previous / "data/versions.jsonl", version_fields)
    new_versions = _read_jsonl(data / "versions.jsonl", version_fields)
    old_keys, new_keys = _document_keys(old_versions), _document_keys(new_versions)
    old_docs = {old_keys.get(d["id"]): d
                for d in _read_jsonl(previous / "data/documents.jsonl", doc_fields)}
    new_docs = {new_keys.get(d["id"]): d
                for d in _read_jsonl(data / "documents.jsonl", doc_fields)}
    old_texts = {(old_keys.get(v["document_id"]), v["text_hash"]) for v in old_versions}
    manifest = json.loads((previous / MANIFEST).read_text("utf-8"))
    changes = Changes(str(manifest.get("name") or previous.name))
    changes.added = [d for k, d in new_docs.items() if k not in old_docs]
    changes.removed = [d for k, d in old_docs.items() if k not in new_docs]
    for v in new_versions:
        key = new_keys.get(v["document_id"])
        if key in old_docs and (key, v["text_hash"]) not in old_texts:
            changes.new_versions.append({**v, "title": new_docs[key]["title"]})
    return changes


def changelog_markdown(name: str, snapshot: _dt.date, changes: Changes) -> str:
    if changes.previous is None:
        return (f"# Changelog\n\n## {name} (snapshot {snapshot})\n\nFirst release: no earlier "
                "release in the same folder to compare with.\n")
    out = [f"# Changelog\n\n## {name} (snapshot {snapshot}) since {changes.previous}\n",
           f"{len(changes.added)} document(s) added, {len(changes.new_versions)} new "
           f"version(s) of earlier documents, {len(changes.removed)} document(s) removed.\n"]
    if changes.added:
        out.append("### Documents added\n")
        out += [f"- {d['id']}: {d['date'] or 'undated'} {d['title'] or ''}".rstrip()
                for d in changes.added]
        out.append("")
    if changes.new_versions:
        out.append("### New versions (edits, mirror variants)\n")
        out += [f"- document {v['document_id']} ({v['title'] or ''}): version {v['id']}, first "
                f"seen {v['first_seen']}, {v['url']}" for v in changes.new_versions]
        out.append("")
    if changes.removed:
        out.append("### Documents removed\n")
        out += [f"- {d['id']}: {d['date'] or 'undated'} {d['title'] or ''}".rstrip()
                for d in changes.removed]
        out.append("")
    return "\n".join(out) + "\n"


# -- metadata ---------------------------------------------------------------------------------
def _facts(conn) -> dict:
    one = lambda sql: conn.execute(sql).fetchone()  # noqa: E731
    dates = one("SELECT min(date), max(date) FROM documents WHERE date IS NOT NULL AND date != ''")
    seen = one("SELECT min(fetched_at), max(fetched_at) FROM captures")
    langs = sorted(r[0] for r in conn.execute(
        "SELECT DISTINCT language FROM documents WHERE language IS NOT NULL"))
    sources = sorted({s for (v,) in conn.execute("SELECT sources FROM documents")
                      for s in (json.loads(v) if v else [])})
    return {"dates": list(dates), "fetched": list(seen), "languages": langs, "sources": sources}


def dataset_card(name: str, snapshot: _dt.date, counts: dict, facts: dict, command: str,
                 version: str) -> str:
    """README.md: the card's YAML header from ``export.card_front_matter`` (one config per
    table), then what the release holds and how to open it."""
    configs = [(t, f"data/{t}.parquet") for t in TABLES]
    tables = "\n".join(f"| `{t}` | {counts[t]} | {TABLE_ABOUT[t]} |" for t in TABLES)
    return card_front_matter(facts["languages"], counts["documents"], configs) + f"""
# Russian Foreign Ministry transcripts, release {name}

{ABOUT}

Snapshot {snapshot}: every capture fetched up to the end of that day (UTC). Publication dates
{facts["dates"][0] or "?"} to {facts["dates"][1] or "?"}; fetched {facts["fetched"][0] or "?"} to
{facts["fetched"][1] or "?"}; sources: {", ".join(facts["sources"]) or "-"}.

| table | rows | what |
|---|---|---|
{tables}

Every column is described in [CODEBOOK.md](CODEBOOK.md); what changed since the previous
release is in [CHANGELOG.md](CHANGELOG.md). Check the files with `sha256sum -c SHA256SUMS`.

```python
from datasets import load_dataset
documents = load_dataset("parquet", data_files="data/documents.parquet", split="train")
import pandas as pd
captures = pd.read_parquet("data/captures.parquet")
```

## Provenance

{PROVENANCE} The `captures` table holds them (`document_id`, `version_id` join them to the
texts); `versions` holds every distinct text of a document (silent edits by the publisher,
variants on mirrors), `documents.canonical_version_id` the one chosen as its text.

## How it was built

`{command}` with stenogram {version}; the same command on the same corpus gives the same
bytes. The texts are public statements of a government body, republished here as archived;
check the publishers' terms before reuse.
"""


TABLE_ABOUT = {
    "documents": "one row per transcript, its canonical text and metadata",
    "versions": "every distinct text of a transcript, with where and when it was seen",
    "captures": "every archived fetch with its WARC file, offset and record id",
    "turns": "one row per speaker turn of each canonical text",
}


def zenodo_metadata(name: str, snapshot: _dt.date, facts: dict, creators: list[str],
                    version: str) -> dict:
    """``.zenodo.json``: Zenodo's deposit metadata (developers.zenodo.org, "Deposit metadata":
    ``upload_type``, ``publication_date`` as YYYY-MM-DD, ``title``, ``creators`` with ``name``
    as "Family, Given", ``description`` (HTML allowed), ``access_right``, ``keywords``,
    ``version``, ``language`` as ISO 639-2/3, ``dates`` with ``type`` "Collected"; the file
    GitHub's Zenodo integration reads under that name). The license is the depositor's
    choice on Zenodo (the texts are the publishers'), so none is claimed here."""
    lang3 = {"en": "eng", "ru": "rus"}
    meta = {
        "upload_type": "dataset",
        "publication_date": snapshot.isoformat(),
        "title": f"{TITLE}, release {name}",
        "creators": [{"name": c} for c in creators],
        "description": f"<p>{' '.join(ABOUT.split())}</p><p>Snapshot {snapshot}: every capture "
                       "fetched up to the end of that day (UTC), with its WARC provenance. "
                       f"Built with stenogram {version}.</p>",
        "access_right": "open",
        "keywords": ["Russian Foreign Ministry", "diplomatic transcripts", "web archive",
                     "WARC", "corpus"],
        "version": name,
        "dates": [{"type": "Collected", "start": (facts["fetched"][0] or "")[:10],
                   "end": (facts["fetched"][1] or "")[:10]}],
    }
    if len(facts["languages"]) == 1 and facts["languages"][0] in lang3:
        meta["language"] = lang3[facts["languages"][0]]  # Zenodo takes one language
    return meta


def datacite_metadata(name: str, snapshot: _dt.date, facts: dict, creators: list[str],
                      counts: dict, files: list[str], version: str) -> dict:
    """``datacite.json``: DataCite Metadata Schema 4 as the JSON attributes of DataCite's REST
    API (support.datacite.org, "DataCite Metadata Schema" / REST API): the mandatory
    ``creators`` (``name``, ``nameType``), ``titles``, ``publisher``, ``publicationYear`` and
    ``types.resourceTypeGeneral``, plus ``dates`` (``dateType`` "Collected" as a RKMS-ISO8601
    range), ``language``, ``version``, ``subjects``, ``sizes``, ``formats``, ``descriptions``
    (``descriptionType`` "Abstract"). No DOI: one is given when the release is deposited."""
    return {
        "schemaVersion": "http://datacite.org/schema/kernel-4",
        "types": {"resourceTypeGeneral": "Dataset", "resourceType": "Text corpus"},
        "creators": [{"name": c, "nameType": "Personal" if "," in c else "Organizational"}
                     for c in creators],
        "titles": [{"title": f"{TITLE}, release {name}"}],
        "publisher": PUBLISHER,
        "publicationYear": str(snapshot.year),
        "version": name,
        "language": facts["languages"][0] if len(facts["languages"]) == 1 else None,
        "subjects": [{"subject": s} for s in ("Russian Foreign Ministry",
                                               "diplomatic transcripts", "web archive")],
        "dates": [{"date": f"{(facts['fetched'][0] or '')[:10]}/{(facts['fetched'][1] or '')[:10]}",
                   "dateType": "Collected"}, {"date": snapshot.isoformat(), "dateType": "Issued"}],
        "sizes": [f"{counts[t]} {t}" for t in TABLES],
        "formats": ["application/vnd.apache.parquet", "application/jsonl"],
        "descriptions": [{"description": " ".join(ABOUT.split()) + f" Snapshot {snapshot}; "
                          f"built with stenogram {version}. Files: {', '.join(files)}.",
                          "descriptionType": "Abstract"}],
    }


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def write_sums(folder: Path) -> None:
    """``SHA256SUMS`` of every other file, sorted by path, as ``sha256sum`` writes it (hash, two
    spaces, path relative to the folder), so ``sha256sum -c SHA256SUMS`` checks the release."""
    files = sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*")
                   if p.is_file() and p.name != SUMS)
    lines = [f"{_sha256(folder / f)}  {f}\n" for f in files]
    (folder / SUMS).write_text("".join(lines), encoding="utf-8", newline="\n")


def verify_sums(folder: str | Path) -> tuple[int, list[str]]:
    """Check a release as ``sha256sum -c SHA256SUMS`` would: (files checked, files that fail,
    missing ones included)."""
    folder = Path(folder)
    failed, checked = [], 0
    for line in (folder / SUMS).read_text(encoding="utf-8").splitlines():
        digest, _, name = line.partition("  ")
        checked += 1
        path = folder / name
        if not path.is_file() or _sha256(path) != digest:
            failed.append(name)
    return checked, failed


def _dump(path: Path, obj) -> None:
    path.write_text(json.dumps(obj, ensure_ascii=False, indent=2) + "\n", encoding="utf-8",
                    newline="\n")


# -- the release ------------------------------------------------------------------------------
@dataclass
class Release:
    folder: Path
    name: str
    snapshot: _dt.date
    counts: dict
    changes: Changes


def make_release(db_path: str | Path, out: str | Path, snapshot: _dt.date | None = None,
                 creators: list[str] | tuple[str, ...] = (), command: str = "stenogram release"
                 ) -> Release:
    """Write the release folder ``out`` (must not exist, or be an empty folder) from the corpus
    at ``db_path``; built beside it as ``.NAME.part`` and renamed when complete."""
    from stenogram import __version__

    out = Path(out)
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise ReleaseError(f"{out}: exists and is not an empty folder (a release is written "
                           "once and never changed: choose a new folder)")
    codebook = codebook_entries()  # before any work: an undocumented column stops here
    snapshot = snapshot or latest_capture_day(db_path)
    if snapshot is None:
        raise ReleaseError(f"{db_path}: the corpus has no captures to release")
    name = snapshot.isoformat()  # the release's version: not the folder's name, so the bytes
    # depend only on the corpus and the snapshot
    creators = list(creators) or [PUBLISHER]
    out.parent.mkdir(parents=True, exist_ok=True)
    part = out.with_name(f".{out.name}.part")
    if part.exists():
        shutil.rmtree(part)
    (part / "data").mkdir(parents=True)
    try:
        with tempfile.TemporaryDirectory(dir=out.parent, prefix=f".{out.name}.snapshot-") as tmp:
            copy = Path(tmp) / "snapshot.db"
            snapshot_copy(db_path, copy, snapshot)
            conn = sqlite3.connect(copy)
            try:
                columns = schema_columns()
                if not conn.execute("SELECT count(*) FROM captures").fetchone()[0]:
                    raise ReleaseError(f"{db_path}: nothing was captured up to {snapshot} "
                                       "(the end of that day, UTC): no release to make")
                counts = {t: write_table(conn, t, columns[t], part / "data") for t in TABLES}
                facts = _facts(conn)
            finally:
                conn.close()
        previous = previous_release(out.parent, snapshot, exclude={out.name, part.name})
        changes = changes_since(previous, part / "data")
        files = sorted(p.relative_to(part).as_posix() for p in (part / "data").iterdir())
        (part / "README.md").write_text(dataset_card(name, snapshot, counts, facts, command,
                                                     __version__), encoding="utf-8", newline="\n")
        (part / "CODEBOOK.md").write_text(codebook_markdown(codebook), encoding="utf-8",
                                          newline="\n")
        (part / "CHANGELOG.md").write_text(changelog_markdown(name, snapshot, changes),
                                           encoding="utf-8", newline="\n")
        _dump(part / MANIFEST, {
            "name": name, "snapshot": snapshot.isoformat(), "stenogram_version": __version__,
            "counts": counts, "previous_release": changes.previous,
            "changes": {"documents_added": len(changes.added),
                        "new_versions": len(changes.new_versions),
                        "documents_removed": len(changes.removed)},
            "files": files})
        _dump(part / ".zenodo.json", zenodo_metadata(name, snapshot, facts, creators, __version__))
        _dump(part / "datacite.json", datacite_metadata(name, snapshot, facts, creators, counts,
                                                        files, __version__))
        write_sums(part)
        if out.is_dir():
            out.rmdir()  # empty (checked above)
        os.replace(part, out)
    except BaseException:
        shutil.rmtree(part, ignore_errors=True)
        raise
    return Release(out, name, snapshot, counts, changes)
