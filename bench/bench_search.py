"""Search latency: ``corpus.search.run`` (ids ranked first, the page's rows and snippets after)
against the query it replaced (the full rows of every match joined and sorted, snippets of the
page), in one run on one corpus, so the ratio is what to read (issue 26 item 3).

The corpus: ``--size`` documents of bench_corpus.py's synthetic text (400 Zipf-drawn words a
document, "Lavrov's" in every paragraph; ``--parts`` of them joined into one, for a
transcript's length), dated over five years, in English and Russian, on
two sources, with turns alternating "Question" and "Sergey Lavrov", inserted through the real
schema and FTS triggers (both indexes, the stemmed one by ``stenogram_stem``).

    .venv/bin/python bench/bench_search.py                 # short (make bench): 3,000 documents
    .venv/bin/python bench/bench_search.py --size 100000    # the issue's size

Prints p50/p95 in ms of each query for both, over ``--repeat`` runs each.
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))

from bench_corpus import synthetic_doc  # noqa: E402

from stenogram.corpus import Corpus  # noqa: E402
from stenogram.corpus.search import BM25_WEIGHTS, Filters, run, snippet_html, terms  # noqa: E402

QUERIES = [  # (name, text, filters)
    ("common word", "w1", Filters()),
    ("rare word", "w15000", Filters()),
    ("prefix", "w12*", Filters()),
    ("filtered", "w1", Filters(date_from="2022", lang="en")),
    ("speaker", "w5", Filters(speaker="Lavrov")),
]


def build(path: Path, n: int, parts: int = 1) -> None:
    corpus = Corpus(path)
    conn = corpus.conn
    conn.execute("BEGIN")
    for i in range(n):
        text = "\n\n".join(synthetic_doc(i * parts + j)[0] for j in range(parts))
        paras = text.split("\n\n")
        turns = [{"speaker": "Question" if k % 2 else "Sergey Lavrov",
                  "speaker_id": "question" if k % 2 else "lavrov", "text": p}
                 for k, p in enumerate(paras)]
        date = f"{2020 + i % 5}-{1 + i % 12:02d}-{1 + i % 28:02d}"
        conn.execute("INSERT INTO documents (title, date, year, language, text, turns, kind, "
                     "canonical_url, sources) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                     (f"Transcript {i}", date, int(date[:4]), "ru" if i % 3 == 0 else "en", text,
                      json.dumps(turns), "transcript", f"https://example.org/{i}",
                      json.dumps(["mid"] if i % 2 else ["mid", "globalsecurity"])))
    conn.execute("COMMIT")
    corpus.close()


def replaced(conn, text: str, limit: int = 21) -> list:
    """The query before: every match's full row joined and sorted, then the page's snippets."""
    found = terms(text)
    query = " AND ".join(t.fts(True) for t in found)
    rows = conn.execute(
        "SELECT d.id, d.title, d.date, d.place, v.source, d.sources, d.language, d.text, "
        "bm25(documents_stemmed_fts, ?, ?) AS rank FROM documents_stemmed_fts JOIN documents d "
        "ON d.id = documents_stemmed_fts.rowid LEFT JOIN versions v ON v.id = d.canonical_version_id "
        "WHERE documents_stemmed_fts MATCH ? ORDER BY rank, d.id LIMIT ?",
        (*BM25_WEIGHTS, query, limit)).fetchall()
    return [snippet_html(r[7] or "", found) for r in rows]


def timed(fn, repeat: int) -> tuple[float, float]:
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t) * 1000)
    times.sort()
    return statistics.median(times), times[min(len(times) - 1, int(0.95 * len(times)))]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--size", type=int, default=3000)
    ap.add_argument("--repeat", type=int, default=7)
    ap.add_argument("--parts", type=int, default=4,
                    help="synthetic documents joined into one (4: ~1,600 words, ~10 kB, a transcript's length)")
    ap.add_argument("--dir", help="where the corpus goes (default: a temporary directory)")
    a = ap.parse_args()
    with tempfile.TemporaryDirectory(dir=a.dir) as tmp:
        path = Path(tmp) / "corpus.db"
        t = time.perf_counter()
        build(path, a.size, a.parts)
        print(f"{a.size} documents of {a.parts * 400} words built in {time.perf_counter() - t:.1f} s")
        import sqlite3

        conn = sqlite3.connect(path)
        print(f"{'query':12} {'total':>7} {'run p50':>9} {'p95':>7} {'before p50':>11} {'p95':>7}  (ms)")
        for name, text, filters in QUERIES:
            total = run(conn, text, filters, limit=1, counts=False).total
            now = timed(lambda text=text, filters=filters: run(conn, text, filters, limit=21, counts=False),
                        a.repeat)
            before = ("", "") if filters.as_args() else timed(lambda text=text: replaced(conn, text), a.repeat)
            fmt = lambda v: f"{v:.1f}" if v != "" else "-"  # noqa: E731
            print(f"{name:12} {total:7} {now[0]:9.1f} {now[1]:7.1f} {fmt(before[0]):>11} {fmt(before[1]):>7}")
        withcounts = timed(lambda: run(conn, "w1", Filters(), limit=21, counts=True), a.repeat)
        print(f"common word with counts by month/year/source: p50 {withcounts[0]:.1f} ms")
        conn.close()


if __name__ == "__main__":
    main()
