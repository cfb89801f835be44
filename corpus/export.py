"""Export: one record per document with its provenance, as JSONL, CSV, Parquet or a Hugging
Face dataset folder.

Why fixed types per key: ``datasets.load_dataset("json", ...)`` infers one Arrow schema from
the file and fails when a key is sometimes a string and sometimes a list; so lists are always
lists (possibly empty), numbers always numbers or null, and nested captures always carry the
same keys. CSV flattens nested values to JSON strings. Parquet types dates as ``date32`` and
times (first/last seen, fetched at) as UTC timestamps, so tools filter and plot them without
parsing; JSON and CSV keep the ISO strings.

The shape of a record (``with_history`` adds what is marked +history)::

    {id, title, date, year, place, language, kind, participants[], turns[{speaker, speaker_id,
     speaker_source, text}], text, canonical_url, canonical_reason, sources[], first_seen, last_seen,
     translation_of, n_captures, n_versions,
     captures[{url, fetched_at, source, match, warc_file, warc_offset, warc_length,
               warc_record_id, payload_digest, archived_at, via,
               +history: id, version_id, http_status, content_type, crawl_id,
               extractor_version, extraction_path}],
     +history: canonical_version_id,
     +history: versions[{id, text_hash, first_seen, last_seen, url, source, is_official,
               n_chars, title, date, place, language, kind, extractor_version, text}]}

Nested, not extra tables: one file stays one self-contained record per transcript, with every
text it was seen with and every fetch, which is what a reader of one transcript's history
needs; ``versions`` is ordered by first seen, ``captures`` by fetch time (for a page fetched from
a web archive, ``archived_at``: when the archive captured it; ``via``: the archive).
"""
from __future__ import annotations

import csv
import datetime as _dt
import json
from collections.abc import Iterator
from typing import IO

import sqlite_utils

from stenogram.corpus.web.links import web_url

CAPTURE_FIELDS = ("url", "fetched_at", "source", "match", "warc_file", "warc_offset",
                  "warc_length", "warc_record_id", "payload_digest", "archived_at", "via")
DOCUMENT_FIELDS = ("id", "title", "date", "year", "place", "language", "kind", "participants",
                   "turns", "text", "canonical_url", "canonical_reason", "sources", "first_seen",
                   "last_seen", "translation_of", "n_captures", "n_versions")
HISTORY_CAPTURE_FIELDS = ("id", "version_id", "http_status", "content_type", "crawl_id",
                          "extractor_version", "extraction_path")
VERSION_FIELDS = ("id", "text_hash", "first_seen", "last_seen", "url", "source", "is_official",
                  "n_chars", "title", "date", "place", "language", "kind", "extractor_version",
                  "text")
FORMATS = ("jsonl", "csv", "parquet", "hf")
#: The keys of a speaker turn, always all of them (``speaker_source``: label | title | None);
#: the export's nested turns and a release's ``turns`` (``corpus.release``) share them.
TURN_FIELDS = ("speaker", "speaker_id", "speaker_source", "text")


def turn_record(turn: dict) -> dict:
    return {k: turn.get(k) for k in TURN_FIELDS}


def turn_struct():
    import pyarrow as pa

    return pa.struct([(k, pa.string()) for k in TURN_FIELDS])


def _web_urls_only(record: dict, left_out: list | None) -> None:
    """Set every URL field of ``record`` that is not an http(s) URL (``corpus.web.links``) to
    None, in place, noting ``(document id, field)`` in ``left_out``.

    Why: an export is read by tools that turn URL fields into links (dataset viewers,
    notebooks, spreadsheets); a ``javascript:`` URL from a hostile corpus must not become one
    there. Nothing is lost: the corpus and the WARCs keep what was stored."""
    def check(holder: dict, key: str, where: str) -> None:
        value = holder.get(key)
        if value is not None and web_url(value) is None:
            holder[key] = None
            if left_out is not None:
                left_out.append((record.get("id"), where))

    check(record, "canonical_url", "canonical_url")
    for capture in record.get("captures") or []:
        check(capture, "url", "captures.url")
        check(capture, "via", "captures.via")
    for version in record.get("versions") or []:
        check(version, "url", "versions.url")


def iter_documents(db: sqlite_utils.Database, where: str | None = None,
                   params: dict | list | None = None, with_history: bool = False,
                   left_out: list | None = None) -> Iterator[dict]:
    """Document records (``where`` is an SQL condition on the documents table);
    ``with_history``: every version's text and more about each capture (module docstring).
    URL fields hold http(s) URLs or null: any other value is nulled and noted as
    ``(document id, field)`` in ``left_out`` (``_web_urls_only``)."""
    fields = DOCUMENT_FIELDS + (("canonical_version_id",) if with_history else ())
    capture_fields = CAPTURE_FIELDS + (HISTORY_CAPTURE_FIELDS if with_history else ())
    sql = f"SELECT {', '.join(fields)} FROM documents"
    if where:
        sql += f" WHERE {where}"
    sql += " ORDER BY id"
    for doc in db.query(sql, params or []):
        for key in ("participants", "turns", "sources"):
            doc[key] = json.loads(doc[key]) if doc[key] else []
        doc["turns"] = [turn_record(t) for t in doc["turns"]]
        doc["captures"] = list(db.query(
            f"SELECT {', '.join(capture_fields)} FROM captures WHERE document_id = ? "
            "ORDER BY fetched_at, id", [doc["id"]]))
        if with_history:
            doc["versions"] = list(db.query(
                f"SELECT {', '.join(VERSION_FIELDS)} FROM versions WHERE document_id = ? "
                "ORDER BY first_seen, id", [doc["id"]]))
        _web_urls_only(doc, left_out)
        yield doc


def write_jsonl(records, out: IO[str]) -> int:
    n = 0
    for n, rec in enumerate(records, 1):
        out.write(json.dumps(rec, ensure_ascii=False) + "\n")
    return n


def write_csv(records, out: IO[str], with_history: bool = False) -> int:
    fields = list(DOCUMENT_FIELDS) + ["captures"]
    if with_history:
        fields += ["canonical_version_id", "versions"]
    writer = csv.DictWriter(out, fieldnames=fields)
    writer.writeheader()
    n = 0
    for n, rec in enumerate(records, 1):
        writer.writerow({k: json.dumps(v, ensure_ascii=False) if isinstance(v, list) else v
                         for k, v in rec.items()})
    return n


DATE_FIELDS = ("date",)
TIME_FIELDS = ("first_seen", "last_seen", "fetched_at", "archived_at")


def parquet_schema(with_history: bool = False):
    import pyarrow as pa

    ts = pa.timestamp("us", tz="UTC")
    ints = {"id", "year", "translation_of", "n_captures", "n_versions", "warc_offset",
            "warc_length", "version_id", "http_status", "canonical_version_id", "is_official",
            "n_chars"}

    def typ(name):
        if name in DATE_FIELDS:
            return pa.date32()
        if name in TIME_FIELDS:
            return ts
        return pa.int64() if name in ints else pa.string()

    capture_fields = CAPTURE_FIELDS + (HISTORY_CAPTURE_FIELDS if with_history else ())
    capture = pa.struct([(f, typ(f)) for f in capture_fields])
    turn = turn_struct()
    lists = {"participants": pa.list_(pa.string()), "sources": pa.list_(pa.string()),
             "turns": pa.list_(turn)}
    fields = [(f, lists.get(f, typ(f))) for f in DOCUMENT_FIELDS]
    fields.append(("captures", pa.list_(capture)))
    if with_history:
        fields.append(("canonical_version_id", pa.int64()))
        fields.append(("versions", pa.list_(pa.struct([(f, typ(f)) for f in VERSION_FIELDS]))))
    return pa.schema(fields)


def _date(value):
    """``YYYY-MM-DD`` (or a longer ISO string) as a date; anything else None (``year`` and the
    JSON export keep what was there)."""
    if not value:
        return None
    try:
        return _dt.date.fromisoformat(str(value)[:10])
    except ValueError:
        return None


def _time(value):
    """An ISO 8601 time as an aware UTC datetime (naive ones are taken as UTC), else None."""
    if not value:
        return None
    try:
        t = _dt.datetime.fromisoformat(str(value))
    except ValueError:
        return None
    return t.replace(tzinfo=_dt.timezone.utc) if t.tzinfo is None else t.astimezone(_dt.timezone.utc)


def typed_fields(row: dict) -> dict:
    """``row`` with its date and time fields as Python objects (for Parquet)."""
    out = dict(row)
    for k in DATE_FIELDS:
        if k in out:
            out[k] = _date(out[k])
    for k in TIME_FIELDS:
        if k in out:
            out[k] = _time(out[k])
    return out


def typed(record: dict) -> dict:
    """``record`` with dates and times as Python objects (for Parquet), nested rows too."""
    conv = typed_fields
    rec = conv(record)
    rec["captures"] = [conv(c) for c in record.get("captures") or []]
    if "versions" in record:
        rec["versions"] = [conv(v) for v in record["versions"]]
    return rec


PARQUET_BATCH = 500


def write_parquet(records, path: str, with_history: bool = False, stats: dict | None = None
                  ) -> int:
    """Write Parquet in row groups of ``PARQUET_BATCH`` documents (needs pyarrow; raises a
    clear error without it). ``stats``: filled with what a dataset card says (``card_stats``)."""
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise RuntimeError("parquet export needs pyarrow: pip install pyarrow==26.0.1") from exc
    schema = parquet_schema(with_history)
    n = 0
    with pq.ParquetWriter(path, schema) as writer:
        batch = []
        for rec in records:
            if stats is not None:
                _count(stats, rec)
            batch.append(typed(rec))
            if len(batch) >= PARQUET_BATCH:
                writer.write_table(pa.Table.from_pylist(batch, schema=schema))
                n += len(batch)
                batch = []
        if batch or not n:
            writer.write_table(pa.Table.from_pylist(batch, schema=schema))
            n += len(batch)
    return n


# -- Hugging Face dataset folder ---------------------------------------------------------------
HF_DATA_FILE = "data/train-00000-of-00001.parquet"


def _count(stats: dict, rec: dict) -> None:
    stats["documents"] = stats.get("documents", 0) + 1
    stats["captures"] = stats.get("captures", 0) + len(rec.get("captures") or [])
    stats["versions"] = stats.get("versions", 0) + (rec.get("n_versions") or 0)
    for key, value in (("languages", rec.get("language")),):
        if value:
            stats.setdefault(key, set()).add(value)
    stats.setdefault("sources", set()).update(rec.get("sources") or [])
    for key, value in (("date", rec.get("date")), ("seen", rec.get("first_seen")),
                       ("seen", rec.get("last_seen"))):
        if value:
            lo, hi = stats.get(key, (value, value))
            stats[key] = (min(lo, value), max(hi, value))


# What every column of the corpus tables means: the one description of each, used by the
# export's dataset card (``FIELD_DOCS``) and by a release's codebook (``corpus.release``), which
# lists the tables' columns as ``corpus.schema`` creates them and refuses a column missing here
# (tests/test_release.py), so a new column cannot reach a release undocumented.
COLUMN_DOCS: dict[str, dict[str, str]] = {
    "documents": {
        "id": "document id in the stenogram corpus",
        "title": "title as published",
        "date": "date of the event/publication (date32)",
        "year": "year of `date`",
        "place": "place, when the page states it",
        "language": "`en` or `ru`",
        "text": "the canonical text (latest official version, else the longest)",
        "turns": "speaker turns: speaker, speaker_id, speaker_source (label, title or null: where "
                 "the speaker came from), text",
        "participants": "named participants",
        "kind": "transcript kind (statement, interview, remarks…) as extracted",
        "canonical_url": "URL of the canonical text",
        "canonical_reason": "which rule chose the canonical text",
        "canonical_version_id": "which version (`versions.id`) is the canonical text",
        "sources": "every source the text was seen on (mid, mid_archive, globalsecurity, "
                   "interaffairs)",
        "first_seen": "first capture time (UTC timestamp; for a page from a web archive, when "
                      "the archive captured it)",
        "last_seen": "last capture time (UTC timestamp)",
        "translation_of": "id of the same transcript in the other language, if linked",
        "n_captures": "number of archived fetches of this text",
        "n_versions": "number of distinct texts (silent edits, mirror variants)",
    },
    "versions": {
        "id": "version id: one distinct (normalised) text of a document",
        "document_id": "the document (`documents.id`) this text belongs to",
        "text_hash": "sha256 of the normalised text (what makes two texts the same version)",
        "text": "the text of this version",
        "first_seen": "first capture of this text (UTC timestamp)",
        "last_seen": "last capture of this text (UTC timestamp)",
        "url": "URL this text was first seen at",
        "url_key": "`url` normalised (scheme, www, trailing slash and query order ignored)",
        "source": "source (spider) that first saw this text",
        "is_official": "1 when `source` is the ministry itself (mid, mid_archive, mid_domino)",
        "n_chars": "length of the normalised text",
        "title": "title as published with this text",
        "date": "date of the event/publication (date32)",
        "place": "place, when the page states it",
        "language": "`en` or `ru`",
        "turns": "speaker turns of this text: speaker, speaker_id, speaker_source, text",
        "participants": "named participants",
        "kind": "transcript kind as extracted",
        "extractor_version": "stenogram extractor version that read this text",
    },
    "captures": {
        "id": "capture id: one HTTP response read from the WARC files",
        "url": "URL fetched (for a page from a web archive, the original URL)",
        "url_key": "`url` normalised (scheme, www, trailing slash and query order ignored)",
        "fetched_at": "when stenogram fetched it (UTC timestamp, the WARC-Date)",
        "http_status": "HTTP status of the response",
        "content_type": "Content-Type of the response",
        "warc_file": "WARC file holding the response record",
        "warc_offset": "byte offset of the record in `warc_file`",
        "warc_length": "length in bytes of the (compressed) record",
        "warc_record_id": "WARC-Record-ID of the response record",
        "payload_digest": "WARC-Payload-Digest of the response",
        "source": "source (spider) that fetched it",
        "crawl_id": "the crawl that fetched it",
        "extractor_version": "stenogram extractor version that read it",
        "document_id": "the document (`documents.id`) it is a capture of; null for a page that "
                       "is not a transcript",
        "version_id": "the version (`versions.id`) of its text",
        "match": "how it was attached: exact, same-url, near-duplicate:SCORE or new",
        "is_transcript": "1 when the page was read as a transcript",
        "reason": "why a page was not read as a transcript",
        "extraction_path": "profile, fallback or generic: how the text was found in the page",
        "fallback_reason": "why the site profile's container was not used",
        "archived_at": "for a page fetched from a web archive: when the archive captured it",
        "via": "for a page fetched from a web archive: the archive",
    },
    "turns": {
        "document_id": "the document (`documents.id`) whose canonical text has this turn",
        "turn": "position of the turn in the text, from 0",
        "speaker": "the speaker as printed",
        "speaker_id": "the speaker's identifier across transcripts, when known",
        "speaker_source": "where the speaker came from: label (printed before the turn), title "
                          "(named by the page's title), or null",
        "text": "what was said in this turn",
    },
}

FIELD_DOCS = {
    **COLUMN_DOCS["documents"],
    "captures": "every archived fetch: URL, time, source, match rule, and the WARC file, "
                "offset, length, record id and payload digest to find it in the archive",
    "versions": "every distinct text seen, oldest first, with URL, source and first/last seen",
}


def size_category(n: int) -> str:
    """The Hugging Face ``size_categories`` tag for ``n`` rows."""
    return ("n<1K" if n < 1000 else "1K<n<10K" if n < 10_000 else "10K<n<100K" if n < 100_000
            else "100K<n<1M" if n < 1_000_000 else "1M<n<10M")


def card_front_matter(languages, n: int, configs: list[tuple[str, str]],
                      pretty_name: str = "Russian Foreign Ministry transcripts (stenogram corpus)"
                      ) -> str:
    """The YAML header of a dataset card (Hugging Face's dataset card metadata: ``configs``
    name each config's ``data_files``, a ``train`` split here). ``configs``: (name, path)."""
    yaml_langs = "\n".join(f"- {lang}" for lang in (sorted(languages or []) or ["en", "ru"]))
    yaml_configs = "\n".join(
        f"- config_name: {name}\n" + ("  default: true\n" if i == 0 and name != "default"
                                      else "")
        + f"  data_files:\n  - split: train\n    path: {path}"
        for i, (name, path) in enumerate(configs))
    return f"""---
pretty_name: {pretty_name}
language:
{yaml_langs}
license: other
task_categories:
- text-generation
size_categories:
- {size_category(n)}
configs:
{yaml_configs}
---
"""


ABOUT = """Transcripts of Sergey Lavrov's statements and answers to media questions published by the
Russian Foreign Ministry (mid.ru, archive.mid.ru) and by the sites that republish them
(globalsecurity.org, International Affairs), mirrors and re-crawls merged."""

PROVENANCE = """Every text was fetched by the stenogram archiving crawler, which writes each HTTP exchange to
WARC 1.1 files, then extracted from those WARC records (trafilatura plus per-site profiles).
Each capture names the WARC file, offset, length and record id where its page is archived, so
any text can be checked against the page as it was served."""


def dataset_card(stats: dict, with_history: bool, command: str, version: str) -> str:
    """README.md of a Hugging Face dataset folder: YAML front matter (configs, languages,
    size) and what the fields are, where the texts come from and how the folder was built.
    Only the fields the folder has are described (``versions`` only ``with_history``)."""
    n = stats.get("documents", 0)
    fields = list(DOCUMENT_FIELDS) + ["captures"] + (
        ["canonical_version_id", "versions"] if with_history else [])
    date_lo, date_hi = stats.get("date", ("?", "?"))
    seen_lo, seen_hi = stats.get("seen", ("?", "?"))
    rows = "\n".join(f"| `{f}` | {FIELD_DOCS[f]} |" for f in fields)
    versions = ("`versions` lists the distinct texts seen (silent edits by the publisher, "
                "variants on mirrors)." if with_history else
                "`n_versions` counts the distinct texts seen (silent edits by the publisher, "
                "variants on mirrors); `--with-history` exports them.")
    built = _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    return card_front_matter(stats.get("languages"), n, [("default", HF_DATA_FILE)]) + f"""
# Russian Foreign Ministry transcripts

{ABOUT} One row per transcript.
{n} documents, {stats.get("versions", 0)} versions, {stats.get("captures", 0)} captures; dates {date_lo} to {date_hi};
captured {seen_lo} to {seen_hi}; sources: {", ".join(sorted(stats.get("sources") or [])) or "-"}.

```python
from datasets import load_dataset
ds = load_dataset("path/to/this/folder", split="train")
```

## Fields

| field | meaning |
|---|---|
{rows}

## Provenance

{PROVENANCE} Each row's `captures` are those fetches. {versions}

## How it was built

`{command}` with stenogram {version}, on {built}. The texts are public statements of a
government body, republished here as archived; check the publishers' terms before reuse.
"""


def write_hf(records, folder, with_history: bool = False, command: str = "stenogram export",
             ) -> int:
    """A Hugging Face dataset folder: ``data/train-00000-of-00001.parquet`` plus ``README.md``
    (dataset card); ``datasets.load_dataset(folder)`` opens it."""
    from pathlib import Path

    from stenogram import __version__

    folder = Path(folder)
    (folder / "data").mkdir(parents=True, exist_ok=True)
    stats: dict = {}
    n = write_parquet(records, str(folder / HF_DATA_FILE), with_history, stats)
    (folder / "README.md").write_text(dataset_card(stats, with_history, command, __version__),
                                      encoding="utf-8")
    return n
