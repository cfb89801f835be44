"""The corpus's transcripts as WACZ pages: what `stenogram wacz --db` lists in pages.jsonl.

It lives in corpus/ because it reads the corpus; archive/ (the layer below) packages whatever
pages it is handed (``archive.wacz.build_wacz(pages=...)``) and never opens a corpus.
"""
from __future__ import annotations

import os
from typing import Iterator

from stenogram.corpus.access import corpus_problem, open_readonly  # never creates or changes it


def corpus_pages(db_path: str | os.PathLike) -> Iterator[dict]:
    """A page per capture of a transcript in the corpus, with the document's title and text."""
    if problem := corpus_problem(db_path):
        raise ValueError(f"{db_path}: {problem}")
    conn = open_readonly(db_path)
    try:
        rows = conn.execute(
            "SELECT captures.url, captures.fetched_at, documents.title, documents.text"
            " FROM captures JOIN documents ON captures.document_id = documents.id"
            " ORDER BY captures.fetched_at, captures.url"
        )
        for url, fetched_at, title, text in rows:
            yield {"url": url, "ts": fetched_at, "title": title, "text": text}
    finally:
        conn.close()
