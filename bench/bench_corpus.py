"""Ingest throughput of the corpus vs an exact-hash-only baseline, at growing corpus sizes.

Why a baseline in the same run: absolute docs/s depend on the machine; the ratio to the cheapest
possible ingest (normalise + sha256 + one indexed INSERT, through the same worker pool) and the
growth with size are what tell whether LSH/verification scale. Synthetic corpus: documents of
~400 words drawn from a Zipf-like vocabulary, 10% of them mirrors of an earlier document
(straight quotes, extra chrome, a dropped paragraph). Every document is generated from its own
index, so chunks are generated in parallel and the corpus is the same whatever the chunking.

Pipeline, as in ``corpus.reprocess``: worker processes generate a chunk and *prepare* it
(``corpus.prepare``: normalise, hash, shingle, datasketch MinHash, band keys); the main process
ingests chunks in order, one transaction per chunk. Peak RSS: the main process's high-water mark
(ru_maxrss) and the largest worker's (RUSAGE_CHILDREN, once the pool has exited).

    python bench/bench_corpus.py                                # 10k and 50k: a few minutes
    python bench/bench_corpus.py --sizes 10000,100000,1000000   # the issue's sizes
"""
from __future__ import annotations

import argparse
import functools
import itertools
import multiprocessing
import os
import random
import resource
import sqlite3
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from archive.capture import Capture, WarcLocation
from corpus import Corpus
from corpus.normalize import text_hash
from corpus.prepare import prepare_texts

MIRROR_SHARE = 0.10
MIRROR_WINDOW = 5000  # a mirror copies one of the previous 5000 documents


@functools.cache
def _vocabulary() -> tuple[list[str], list[float]]:
    vocab = [f"w{i}" for i in range(20000)]
    return vocab, list(itertools.accumulate(1 / (i + 1) for i in range(len(vocab))))


def _rng(i: int, seed: int, stream: int) -> random.Random:
    return random.Random((seed * 1_000_003 + i) * 4 + stream)


def _mirror_source(i: int, seed: int) -> int | None:
    rng = _rng(i, seed, 0)
    if i and rng.random() < MIRROR_SHARE:
        return rng.randrange(max(0, i - MIRROR_WINDOW), i)
    return None


def _original(i: int, seed: int) -> str:
    vocab, cum = _vocabulary()
    rng = _rng(i, seed, 1)
    return "\n\n".join(" ".join(rng.choices(vocab, cum_weights=cum, k=50)) + " Lavrov\u2019s"
                       for _ in range(8))


def synthetic_doc(i: int, seed: int = 7) -> tuple[str, bool]:
    """Document ``i``: ``(text, is_mirror)``; a mirror is of an earlier original document."""
    src = _mirror_source(i, seed)
    if src is None:
        return _original(i, seed), False
    while (earlier := _mirror_source(src, seed)) is not None:
        src = earlier  # a mirror of a mirror: copy the original itself
    paras = _original(src, seed).split("\n\n")
    del paras[_rng(i, seed, 2).randrange(len(paras))]
    text = "\n\n".join(["UNITED24 - Make a charitable donation"] + paras +
                       ["Join the GlobalSecurity.org mailing list"]).replace("\u2019", "'")
    return text, True


def synthetic_docs(n: int, seed: int = 7) -> Iterator[tuple[int, str, bool]]:
    for i in range(n):
        yield (i, *synthetic_doc(i, seed))


def capture(i: int) -> Capture:
    loc = WarcLocation("bench.warc.gz", i * 5000, 5000, f"<urn:uuid:{uuid.UUID(int=i)}>", None)
    return Capture(f"https://example.org/{i}", "2024-01-01T00:00:00Z", 200, "text/html", b"",
                   loc, "globalsecurity", "bench")


def transcript(text: str) -> dict:
    return {"is_transcript": True, "text": text, "title": "t", "date": None, "language": "en",
            "turns": [], "participants": [], "extractor_version": "bench"}


# -- workers (top-level so they pickle) ------------------------------------------------------
def hashed_range(start: int, stop: int) -> list[tuple[int, str, bool, str]]:
    """Baseline worker: generate and exact-hash documents ``start..stop``."""
    return [(i, text, mirror, text_hash(text)) for i, text, mirror in
            ((i, *synthetic_doc(i)) for i in range(start, stop))]


def prepared_range(start: int, stop: int) -> list[tuple[int, str, bool, object]]:
    """Corpus worker: generate documents ``start..stop`` and prepare them (one MinHash bulk)."""
    docs = [(i, *synthetic_doc(i)) for i in range(start, stop)]
    return [(i, text, mirror, p)
            for (i, text, mirror), p in zip(docs, prepare_texts(t for _, t, _ in docs))]


def pipelined(n: int, worker: Callable, consume: Callable[[list], None], workers: int,
              chunk: int) -> None:
    """Run ``worker`` over chunks of ``range(n)`` in a pool; ``consume`` results in order."""
    ranges = ((s, min(s + chunk, n)) for s in range(0, n, chunk))
    if workers <= 1:
        for s, e in ranges:
            consume(worker(s, e))
        return
    # spawn, not fork: a forked worker starts as a copy of the main process, whose SQLite
    # page cache (up to --cache-mib) is then counted in every worker's RSS too.
    with ProcessPoolExecutor(max_workers=workers,
                             mp_context=multiprocessing.get_context("spawn")) as pool:
        in_flight = []
        for s, e in ranges:
            in_flight.append(pool.submit(worker, s, e))
            if len(in_flight) > workers * 2:  # bounded memory: a few chunks ahead
                consume(in_flight.pop(0).result())
        for fut in in_flight:
            consume(fut.result())


def bench_baseline(n: int, path: Path, workers: int, chunk: int) -> float:
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute("CREATE TABLE d (id INTEGER PRIMARY KEY, h TEXT UNIQUE, text TEXT)")

    def consume(rows):
        conn.execute("BEGIN")
        conn.executemany("INSERT OR IGNORE INTO d (h, text) VALUES (?, ?)",
                         [(h, text) for _, text, _, h in rows])
        conn.execute("COMMIT")

    start = time.perf_counter()
    pipelined(n, hashed_range, consume, workers, chunk)
    elapsed = time.perf_counter() - start
    conn.close()
    return elapsed


def bench_corpus(n: int, path: Path, workers: int = 2, chunk: int = 500,
                 cache_mib: int = 1024) -> tuple[float, int, int]:
    corpus = Corpus(path, cache_mib=cache_mib)
    counts = {"merged": 0, "mirrors": 0}

    def consume(rows):
        with corpus.transaction():
            for i, text, is_mirror, prepared in rows:
                r = corpus.ingest(capture(i), transcript(text), prepared)
                counts["mirrors"] += is_mirror
                counts["merged"] += is_mirror and not r.new_document

    start = time.perf_counter()
    pipelined(n, prepared_range, consume, workers, chunk)
    elapsed = time.perf_counter() - start
    corpus.close()
    return elapsed, counts["merged"], counts["mirrors"]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="10000,50000")
    ap.add_argument("--workers", type=int, default=os.cpu_count() or 1,
                    help="generate+prepare processes (default: cores; 1 = in the main process)")
    ap.add_argument("--chunk", type=int, default=500, help="documents per chunk / transaction")
    ap.add_argument("--cache-mib", type=int, default=1024, help="SQLite page cache of the corpus")
    ap.add_argument("--dir", help="where the databases go (default: a temporary directory)")
    args = ap.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    print(f"workers={args.workers} chunk={args.chunk} cache={args.cache_mib} MiB", flush=True)
    print(f"{'size':>9} {'baseline docs/s':>16} {'corpus docs/s':>14} {'ratio':>6} "
          f"{'growth':>7} {'mirrors merged':>15} {'peak RSS MiB main/worker':>25} "
          f"{'db MiB':>7} {'corpus s':>9}", flush=True)
    first = rate = None
    with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
        for n in sizes:
            base = bench_baseline(n, Path(tmp) / f"base-{n}.db", args.workers, args.chunk)
            db = Path(tmp) / f"corpus-{n}.db"
            elapsed, merged, mirrors = bench_corpus(n, db, args.workers, args.chunk,
                                                    args.cache_mib)
            rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
            child = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
            size = sum(p.stat().st_size for p in Path(tmp).glob(f"corpus-{n}.db*")) / 2**20
            for p in Path(tmp).glob("*.db*"):  # keep the disk footprint to one size at a time
                p.unlink()
            rate = n / elapsed
            first = first or (n, rate)
            print(f"{n:>9} {n / base:>16.0f} {rate:>14.0f} {rate / (n / base):>6.2f} "
                  f"{rate / first[1]:>7.2f} {merged:>7}/{mirrors:<7} "
                  f"{f'{rss:.0f}/{child:.0f}':>25} {size:>7.0f} {elapsed:>9.1f}", flush=True)
    n0, r0 = first
    print(f"growth: docs/s at the largest size is {rate / r0:.2f}x the rate at {n0} "
          f"(1.00 = perfectly linear); 1M docs at this rate: {1e6 / rate / 60:.1f} min")


if __name__ == "__main__":
    main()
