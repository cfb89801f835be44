"""Export: one record per document with its provenance, as JSONL, CSV or Parquet.

Why fixed types per key: ``datasets.load_dataset("json", ...)`` infers one Arrow schema from
the file and fails when a key is sometimes a string and sometimes a list; so lists are always
lists (possibly empty), numbers always numbers or null, and nested captures always carry the
same keys. CSV flattens nested values to JSON strings.
"""
from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from typing import IO

import sqlite_utils

CAPTURE_FIELDS = ("url", "fetched_at", "source", "match", "warc_file", "warc_offset",
                  "warc_length", "warc_record_id", "payload_digest")
DOCUMENT_FIELDS = ("id", "title", "date", "year", "place", "language", "kind", "participants",
                   "turns", "text", "canonical_url", "canonical_reason", "sources", "first_seen",
                   "last_seen", "translation_of", "n_captures", "n_versions")
FORMATS = ("jsonl", "csv", "parquet")


def iter_documents(db: sqlite_utils.Database, where: str | None = None,
                   params: dict | list | None = None) -> Iterator[dict]:
    """Document records (``where`` is an SQL condition on the documents table)."""
    sql = f"SELECT {', '.join(DOCUMENT_FIELDS)} FROM documents"
    if where:
        sql += f" WHERE {where}"
    sql += " ORDER BY id"
    for doc in db.query(sql, params or []):
        for key in ("participants", "turns", "sources"):
            doc[key] = json.loads(doc[key]) if doc[key] else []
        doc["turns"] = [{"speaker": t.get("speaker"), "speaker_id": t.get("speaker_id"),
                         "text": t.get("text")} for t in doc["turns"]]
        doc["captures"] = list(db.query(
            f"SELECT {', '.join(CAPTURE_FIELDS)} FROM captures WHERE document_id = ? "
            "ORDER BY fetched_at, id", [doc["id"]]))
        yield doc


def write_jsonl(records, out: IO[str]) -> int:
    n = 0
    for n, rec in enumerate(records, 1):
        out.write(json.dumps(rec, ensure_ascii=False) + "\n")
    return n


def write_csv(records, out: IO[str]) -> int:
    fields = list(DOCUMENT_FIELDS) + ["captures"]
    writer = csv.DictWriter(out, fieldnames=fields)
    writer.writeheader()
    n = 0
    for n, rec in enumerate(records, 1):
        writer.writerow({k: json.dumps(v, ensure_ascii=False) if isinstance(v, list) else v
                         for k, v in rec.items()})
    return n


def parquet_schema():
    import pyarrow as pa

    capture = pa.struct([(f, pa.int64() if f in ("warc_offset", "warc_length") else pa.string())
                         for f in CAPTURE_FIELDS])
    turn = pa.struct([("speaker", pa.string()), ("speaker_id", pa.string()),
                      ("text", pa.string())])
    ints = {"id", "year", "translation_of", "n_captures", "n_versions"}
    lists = {"participants": pa.list_(pa.string()), "sources": pa.list_(pa.string()),
             "turns": pa.list_(turn)}
    fields = [(f, lists.get(f, pa.int64() if f in ints else pa.string())) for f in DOCUMENT_FIELDS]
    return pa.schema(fields + [("captures", pa.list_(capture))])


def write_parquet(records, path: str) -> int:
    """Write Parquet (needs pyarrow; raises a clear error without it)."""
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise RuntimeError("parquet export needs pyarrow: pip install pyarrow==26.0.1") from exc
    rows = list(records)
    pq.write_table(pa.Table.from_pylist(rows, schema=parquet_schema()), path)
    return len(rows)
