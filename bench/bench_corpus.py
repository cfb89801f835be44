"""Ingest throughput of the corpus vs an exact-hash-only baseline, at growing corpus sizes.

Why a baseline in the same run: absolute docs/s depend on the machine; the ratio to the cheapest
possible ingest (normalise + sha256 + one indexed INSERT, through the same worker pool) and the
growth with size are what tell whether LSH/verification scale. Synthetic corpus: documents of
~400 words drawn from a Zipf-like vocabulary, 10% of them mirrors of an earlier document
(straight quotes, extra chrome, a dropped paragraph). Every document is generated from its own
index, so chunks are generated in parallel and the corpus is the same whatever the chunking.

The corpus side IS ``corpus.reprocess.reprocess``, the code ``stenogram reprocess`` runs, with
one substitution: its extractor (trafilatura on a WARC record's HTML, ~30 ms a page) is
replaced by ``synthetic_extract``, which generates the document's text from its index in the
worker process. Everything else is the real path: chunks of captures to a process pool that
"extracts" and *prepares* them (``corpus.prepare``: normalise, hash, shingle, datasketch
MinHash, band keys), the main process checking each WARC-Record-ID, ingesting in order with
commits every ``--commit-every`` captures, deferring the full-text index and rebuilding it at
the end (its time is part of the figure). Peak RSS: ``RssSampler`` reads /proc every 0.25 s
during each size's corpus run and reports the highest main-process RSS, the highest worker RSS
and the highest sum of all of them (the figure to hold against a memory budget). Not
ru_maxrss: a spawned worker is forked before it execs, so RUSAGE_CHILDREN reports the parent's
RSS at that moment as the worker's peak.

    python bench/bench_corpus.py                                # 10k and 50k: a few minutes
    python bench/bench_corpus.py --sizes 10000,100000,1000000   # the issue's sizes
    python bench/bench_corpus.py --recaptures 300,1500,3000     # one document re-checked daily
    python bench/bench_corpus.py --sizes 3000 --per-day 50 --prefilter-baseline  # dated corpus
"""
from __future__ import annotations

import argparse
import functools
import multiprocessing
import os
import random
import resource
import sqlite3
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from datetime import date as Date, timedelta
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

from stenogram.archive.capture import Capture, WarcLocation
from stenogram.corpus import Corpus
from stenogram.corpus.normalize import text_hash
from stenogram.corpus.reprocess import reprocess

MIRROR_SHARE = 0.10
MIRROR_WINDOW = 5000  # a mirror copies one of the previous 5000 documents


@functools.cache
def _vocabulary() -> tuple[np.ndarray, np.ndarray]:
    """20,000 words and the cumulative distribution of their Zipf weights 1/(rank+1)."""
    vocab = np.array([f"w{i}" for i in range(20000)], dtype=object)
    cdf = np.cumsum(1 / np.arange(1, len(vocab) + 1))
    return vocab, cdf / cdf[-1]


def _rng(i: int, seed: int, stream: int) -> random.Random:
    return random.Random((seed * 1_000_003 + i) * 4 + stream)


def _mirror_source(i: int, seed: int) -> int | None:
    rng = _rng(i, seed, 0)
    if i and rng.random() < MIRROR_SHARE:
        return rng.randrange(max(0, i - MIRROR_WINDOW), i)
    return None


def _original(i: int, seed: int) -> str:
    """8 paragraphs of 50 Zipf-drawn words (numpy: the harness must cost little next to ingest)."""
    vocab, cdf = _vocabulary()
    draws = np.random.default_rng([seed, i]).random(400)
    words = vocab[np.minimum(np.searchsorted(cdf, draws), len(vocab) - 1)].reshape(8, 50)
    return "\n\n".join(" ".join(row) + " Lavrov\u2019s" for row in words.tolist())


def _original_of(i: int, seed: int = 7) -> int:
    """The original document that ``i`` copies (``i`` itself when it is no mirror)."""
    while (src := _mirror_source(i, seed)) is not None:
        i = src
    return i


def doc_date(i: int, per_day: int, seed: int = 7) -> str | None:
    """Document ``i``'s date: None when ``per_day`` is 0 (undated, the default), else days of
    ``per_day`` originals each in publication order, and a mirror dated as its original (a
    ministry publishes dozens of items a day; a mirror republishes one with its date)."""
    if not per_day:
        return None
    day = _original_of(i, seed) // per_day
    return (Date(2020, 1, 1) + timedelta(days=day)).isoformat()


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


def capture(i: int) -> Capture:
    loc = WarcLocation("bench.warc.gz", i * 5000, 5000, f"<urn:uuid:{uuid.UUID(int=i)}>", None)
    return Capture(f"https://example.org/{i}", "2024-01-01T00:00:00Z", 200, "text/html", b"",
                   loc, "globalsecurity", "bench")


def transcript(text: str, date: str | None = None) -> dict:
    return {"is_transcript": True, "text": text, "title": "t", "date": date, "language": "en",
            "turns": [], "participants": [], "extractor_version": "bench"}


# -- workers (top-level so they pickle) ------------------------------------------------------
def hashed_range(start: int, stop: int) -> list[tuple[int, str, bool, str]]:
    """Baseline worker: generate and exact-hash documents ``start..stop``."""
    return [(i, text, mirror, text_hash(text)) for i, text, mirror in
            ((i, *synthetic_doc(i)) for i in range(start, stop))]


def synthetic_extract(captures: list[Capture], per_day: int = 0) -> list[tuple[dict, None]]:
    """Stands in for ``corpus.reprocess.extract_chunk``: the text of capture ``i`` is document i
    (dated by ``doc_date``)."""
    out = []
    for c in captures:
        i = int(c.url.rsplit("/", 1)[1])
        out.append((transcript(synthetic_doc(i)[0], doc_date(i, per_day)), None))
    return out


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


class RssSampler:
    """Peak RSS of this process, of its child processes, and of their sum, sampled from /proc."""

    def __init__(self, interval: float = 0.25):
        self.interval = interval
        self.main = self.child = self.total = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> "RssSampler":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()

    @staticmethod
    def _rss(pid: int) -> int:
        try:
            with open(f"/proc/{pid}/statm") as f:
                return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
        except (OSError, IndexError, ValueError):
            return 0  # gone between listing and reading

    def _children(self) -> list[int]:
        pids = []
        for task in Path(f"/proc/{os.getpid()}/task").glob("*/children"):
            try:
                pids += [int(p) for p in task.read_text().split()]
            except OSError:
                pass
        return pids

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            main = self._rss(os.getpid())
            children = [self._rss(p) for p in self._children()]
            self.main = max(self.main, main)
            self.child = max([self.child, *children])
            self.total = max(self.total, main + sum(children))


def _children_cpu() -> float:
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ru.ru_utime + ru.ru_stime


def bench_corpus(n: int, path: Path, workers: int = 2, chunk: int = 500,
                 cache_mib: int = 1024, commit_every: int = 2000, per_day: int = 0,
                 settings=None) -> tuple[float, int, int, int, float, RssSampler, float]:
    """``reprocess`` of ``n`` synthetic captures; prints the rate every 10% of the way.
    ``settings``: the corpus's ``DedupSettings``. The last value returned is the writer's (this
    process's) CPU ms per document."""
    corpus = Corpus(path, settings, cache_mib=cache_mib)
    start = time.perf_counter()
    cpu_main, cpu_children = time.process_time(), _children_cpu()
    done, last = 0, (0, start)

    def progress(k: int) -> None:
        nonlocal done, last
        done += k  # captures ingested (or found already there: none in a fresh corpus)
        if done * 10 // n > last[0] * 10 // n:
            now = time.perf_counter()
            print(f"    {done:>9} docs  {now - start:7.1f} s  "
                  f"{(done - last[0]) / (now - last[1]):6.0f} docs/s since last line", flush=True)
            last = (done, now)

    with RssSampler() as rss:
        summary = reprocess(corpus, (capture(i) for i in range(n)), workers=workers,
                            chunk_size=chunk, progress=progress,
                            extractor=functools.partial(synthetic_extract, per_day=per_day),
                            commit_every=commit_every,
                            mp_context=multiprocessing.get_context("spawn"))
    elapsed = time.perf_counter() - start
    writer_ms = (time.process_time() - cpu_main) / n * 1e3
    print(f"    CPU ms/doc: main {writer_ms:.3f}, workers "
          f"{(_children_cpu() - cpu_children) / n * 1e3:.3f}", flush=True)
    mirrors = merged = wrong = 0
    for url, match in corpus.conn.execute("SELECT url, match FROM captures"):
        is_mirror = _mirror_source(int(url.rsplit("/", 1)[1]), 7) is not None
        mirrors += is_mirror
        merged += is_mirror and match != "new"
        wrong += not is_mirror and match != "new"
    corpus.close()
    assert summary.new_documents + merged + wrong == n, summary
    return elapsed, merged, mirrors, wrong, summary.fts_rebuild_seconds, rss, writer_ms


def bench_prefilter(sizes: list[int], tmp: Path, args) -> None:
    """Writer CPU per document with the signature pre-filter of near-duplicate candidates
    against the named baseline, the same corpus with every candidate verified from its text
    (``min_estimated_jaccard=0``, the path before), in the same run; and the verdicts, which
    must not differ."""
    from stenogram.corpus.dedup import DedupSettings

    print(f"{'size':>9} {'writer ms/doc: verify all (before)':>35} {'pre-filter':>11} {'ratio':>6} "
          f"{'merged/mirrors before':>22} {'after':>14} {'wrong':>6}", flush=True)
    for n in sizes:
        runs = []
        for settings in (DedupSettings(min_estimated_jaccard=0.0), DedupSettings()):
            db = tmp / f"corpus-{n}.db"
            _e, merged, mirrors, wrong, _f, _r, writer_ms = bench_corpus(
                n, db, args.workers, args.chunk, args.cache_mib, args.commit_every, args.per_day,
                settings)
            for p in tmp.glob("*.db*"):
                p.unlink()
            runs.append((writer_ms, merged, mirrors, wrong))
        (before, m0, mi, w0), (after, m1, _mi, w1) = runs
        print(f"{n:>9} {before:>35.3f} {after:>11.3f} {before / after:>6.2f} "
              f"{f'{m0}/{mi}':>22} {f'{m1}/{mi}':>14} {f'{w0}/{w1}':>6}", flush=True)


def bench_recaptures(levels: list[int], path: Path, batch: int = 300) -> list[tuple]:
    """Writer CPU of one more capture of a document that already has ``level`` captures.

    A daily crawl re-checks every page, and each re-check is a capture of the same text (an
    ``exact`` match) that updates its document's aggregates. The document here is an official
    page re-captured once a day, among 500 other documents; at each level, ``batch`` more
    re-captures are ingested (CPU time of this process, each its own transaction as a live
    crawl's) against the named baseline measured at the same state in the same run: the full
    recount of the document's aggregates over all its captures (``Corpus._refresh_document``
    without ``added``, what every ingest did before). Returns (level, ingest ms, recount ms).
    """
    from datetime import datetime, timedelta, timezone

    from stenogram.corpus.prepare import prepare_text

    corpus = Corpus(path)
    with corpus.transaction():
        for i in range(500):
            corpus.ingest(capture(10**6 + i), transcript(synthetic_doc(10**6 + i)[0]))
    text = synthetic_doc(0)[0]
    prepared = prepare_text(text)
    day0 = datetime(2020, 1, 1, 6, tzinfo=timezone.utc)
    made = 0

    def recapture() -> None:
        nonlocal made
        loc = WarcLocation("bench.warc.gz", made * 5000, 5000, f"<urn:uuid:{uuid.UUID(int=2**64 + made)}>", None)
        seen = (day0 + timedelta(days=made)).strftime("%Y-%m-%dT%H:%M:%SZ")
        corpus.ingest(Capture("https://mid.ru/en/press_service/0/", seen, 200, "text/html", b"", loc,
                              "mid", "bench"), dict(transcript(text), source="mid"), prepared)
        made += 1

    results = []
    for level in levels:
        with corpus.transaction():
            while made < level:
                recapture()
        document = corpus.conn.execute("SELECT document_id FROM captures WHERE url = "
                                       "'https://mid.ru/en/press_service/0/'").fetchone()[0]
        start = time.process_time()
        for _ in range(batch):
            recapture()
        ingest_ms = (time.process_time() - start) / batch * 1e3
        start = time.process_time()
        for _ in range(batch):
            with corpus.transaction():
                corpus._refresh_document(document)
        recount_ms = (time.process_time() - start) / batch * 1e3
        results.append((level, ingest_ms, recount_ms))
        print(f"{level:>14} {ingest_ms:>17.3f} {recount_ms:>22.3f} {recount_ms / ingest_ms:>8.1f}",
              flush=True)
    corpus.close()
    return results


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="10000,50000")
    ap.add_argument("--workers", type=int, default=os.cpu_count() or 1,
                    help="generate+prepare processes (default: cores; 1 = in the main process)")
    ap.add_argument("--chunk", type=int, default=500, help="documents per worker chunk")
    ap.add_argument("--commit-every", type=int, default=2000, help="documents per transaction")
    ap.add_argument("--cache-mib", type=int, default=1024, help="SQLite page cache of the corpus")
    ap.add_argument("--dir", help="where the databases go (default: a temporary directory)")
    ap.add_argument("--per-day", type=int, default=0,
                    help="date the documents, this many originals a day, mirrors on their "
                         "original's day (default 0: undated, no same-date candidates)")
    ap.add_argument("--prefilter-baseline", action="store_true",
                    help="instead: writer CPU with the signature pre-filter against every "
                         "candidate verified (use with --per-day)")
    ap.add_argument("--recaptures", help="instead: ingest CPU of one more capture of a document "
                    "with this many (e.g. 300,1500,3000) against a full recount of its aggregates")
    args = ap.parse_args()
    if args.recaptures:
        print(f"{'captures/doc':>14} {'ingest ms/capture':>17} {'baseline: full recount ms':>22} "
              f"{'ratio':>8}", flush=True)
        with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
            rows = bench_recaptures([int(x) for x in args.recaptures.split(",")],
                                    Path(tmp) / "recaptures.db")
        print(f"growth: ingest ms/capture at {rows[-1][0]} captures is {rows[-1][1] / rows[0][1]:.2f}x "
              f"the figure at {rows[0][0]} (1.00 = flat); the full recount's {rows[-1][2] / rows[0][2]:.2f}x")
        return
    sizes = [int(s) for s in args.sizes.split(",")]
    if args.prefilter_baseline:
        with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
            print(f"dates={args.per_day or 'none'} workers={args.workers}", flush=True)
            bench_prefilter(sizes, Path(tmp), args)
        return
    print(f"workers={args.workers} chunk={args.chunk} commit every={args.commit_every} "
          f"cache={args.cache_mib} MiB dates={args.per_day or 'none'}"
          f"{' originals a day' if args.per_day else ''}", flush=True)
    header = (f"{'size':>9} {'baseline docs/s':>16} {'corpus docs/s':>14} {'ratio':>6} "
              f"{'growth':>7} {'mirrors merged':>15} {'wrong':>5} {'peak RSS MiB main/worker/all':>29} "
              f"{'db MiB':>7} {'corpus s':>9} {'of it FTS':>9}")
    first = rate = None
    with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
        for n in sizes:
            base = bench_baseline(n, Path(tmp) / f"base-{n}.db", args.workers, args.chunk)
            db = Path(tmp) / f"corpus-{n}.db"
            elapsed, merged, mirrors, wrong, fts, rss, _ms = bench_corpus(
                n, db, args.workers, args.chunk, args.cache_mib, args.commit_every, args.per_day)
            peaks = "/".join(f"{v / 2**20:.0f}" for v in (rss.main, rss.child, rss.total))
            size = sum(p.stat().st_size for p in Path(tmp).glob(f"corpus-{n}.db*")) / 2**20
            for p in Path(tmp).glob("*.db*"):  # keep the disk footprint to one size at a time
                p.unlink()
            rate = n / elapsed
            first = first or (n, rate)
            print(header)
            print(f"{n:>9} {n / base:>16.0f} {rate:>14.0f} {rate / (n / base):>6.2f} "
                  f"{rate / first[1]:>7.2f} {merged:>7}/{mirrors:<7} {wrong:>5} "
                  f"{peaks:>29} {size:>7.0f} {elapsed:>9.1f} {fts:>9.1f}",
                  flush=True)
    n0, r0 = first
    print(f"growth: docs/s at the largest size is {rate / r0:.2f}x the rate at {n0} "
          f"(1.00 = perfectly linear); 1M docs at this rate: {1e6 / rate / 60:.1f} min")


if __name__ == "__main__":
    main()
