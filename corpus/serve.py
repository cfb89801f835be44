"""Datasette for the corpus: metadata (title, facets, full-text search) and the server command.

Why a subprocess: datasette runs its own event loop and brings its own dependency tree; keeping
it in a child process keeps the library importable without it, and lets ``serve`` be stopped by
pid like any other server. Always binds 127.0.0.1.
"""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path


def metadata(db_path: str | Path) -> dict:
    name = Path(db_path).stem
    return {
        "title": "stenogram corpus",
        "description": "Transcripts of Sergey Lavrov's statements and answers to media questions "
                       "(mid.ru and mirrors), deduplicated: one document per transcript, every "
                       "capture as provenance back to its WARC record, every text as a version.",
        "databases": {name: {"tables": {
            "documents": {
                "fts_table": "documents_fts", "fts_pk": "id", "searchmode": "raw",
                "sort_desc": "date",
                "facets": ["language", "year", "kind", {"array": "sources"},
                           {"array": "participants"}],
                "description": "One row per transcript; `text` is the canonical text.",
            },
            "captures": {"facets": ["source", "match", "is_transcript"],
                         "description": "Every fetch of every page, with its WARC location."},
            "versions": {"facets": ["source", "is_official"]},
        }}},
    }


def datasette_command(db_path: str | Path, port: int, metadata_path: str | Path) -> list[str]:
    return [sys.executable, "-m", "datasette", "serve", str(db_path), "--host", "127.0.0.1",
            "--port", str(port), "--metadata", str(metadata_path),
            "--setting", "default_page_size", "50"]


def write_metadata(db_path: str | Path, metadata_path: str | Path) -> Path:
    path = Path(metadata_path)
    path.write_text(json.dumps(metadata(db_path), indent=2), encoding="utf-8")
    return path


def start(db_path: str | Path, port: int, metadata_path: str | Path) -> subprocess.Popen:
    """Start datasette in a child process (caller stops it)."""
    write_metadata(db_path, metadata_path)
    return subprocess.Popen(datasette_command(db_path, port, metadata_path),
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
