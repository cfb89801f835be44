"""Time of `stenogram release` against the Parquet export of the same corpus, in the same run.

Why this baseline: a release writes the corpus's tables twice (Parquet and JSONL), after copying
the corpus and re-deriving each document for the snapshot (``corpus.release``); the export
(``export --format parquet --with-history``) writes the same documents, versions and captures
once, nested. The ratio says what reproducibility costs on top of a plain dump, whatever the
machine. The corpus is bench_corpus.py's synthetic one (``reprocess`` of ~400-word documents,
10% mirrors), built first and not timed here.

    python bench/bench_release.py                  # 5,000 documents: under a minute
    python bench/bench_release.py --sizes 5000,50000
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_corpus import bench_corpus  # noqa: E402

from stenogram.corpus import export, release  # noqa: E402
from stenogram.corpus.access import open_readonly  # noqa: E402


def folder_mib(folder: Path) -> float:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file()) / 2**20


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="5000")
    args = ap.parse_args()
    for n in (int(s) for s in args.sizes.split(",")):
        with tempfile.TemporaryDirectory(prefix="bench-release-") as tmp:
            db = Path(tmp) / "corpus.db"
            print(f"{n} documents: building the corpus (not timed)", flush=True)
            bench_corpus(n, db)
            conn = open_readonly(db)
            try:
                import sqlite_utils

                started = time.perf_counter()
                docs = export.write_parquet(export.iter_documents(sqlite_utils.Database(conn),
                                                                  with_history=True),
                                            str(Path(tmp) / "export.parquet"), with_history=True)
                baseline = time.perf_counter() - started
            finally:
                conn.close()
            out = Path(tmp) / "releases" / "r"
            started = time.perf_counter()
            made = release.make_release(db, out)
            took = time.perf_counter() - started
            print(f"  baseline export --format parquet --with-history: {docs} documents in "
                  f"{baseline:.1f} s ({baseline / docs * 1e3:.2f} ms/doc), "
                  f"{(Path(tmp) / 'export.parquet').stat().st_size / 2**20:.1f} MiB")
            print(f"  release: {made.counts['documents']} documents, {made.counts['versions']} "
                  f"versions, {made.counts['captures']} captures in {took:.1f} s "
                  f"({took / made.counts['documents'] * 1e3:.2f} ms/doc), "
                  f"{folder_mib(out):.1f} MiB; {took / baseline:.1f}x the export", flush=True)


if __name__ == "__main__":
    main()
