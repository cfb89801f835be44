"""Ingest throughput of the corpus vs an exact-hash-only baseline, at growing corpus sizes.

Why a baseline in the same run: absolute docs/s depend on the machine; the ratio to the cheapest
possible ingest (normalise + sha256 + one indexed INSERT) and the growth with size are what
tell whether LSH/verification scale. Synthetic corpus: documents of ~400 words drawn from a
Zipf-like vocabulary, 10% of them mirrors of an earlier document (straight quotes, extra chrome,
a dropped paragraph). Peak RSS is the process high-water mark (ru_maxrss) after each size.

    python bench/bench_corpus.py --sizes 2000,10000          # default: a couple of minutes
    python bench/bench_corpus.py --sizes 10000,100000,1000000
"""
from __future__ import annotations

import argparse
import random
import resource
import sqlite3
import tempfile
import time
import uuid
from pathlib import Path

from archive.capture import Capture, WarcLocation
from corpus import Corpus
from corpus.normalize import text_hash


def synthetic_docs(n: int, seed: int = 7):
    rng = random.Random(seed)
    vocab = [f"w{i}" for i in range(20000)]
    cum = list(__import__("itertools").accumulate(1 / (i + 1) for i in range(len(vocab))))
    originals: list[str] = []
    for i in range(n):
        if originals and rng.random() < 0.10:
            paras = rng.choice(originals).split("\n\n")
            del paras[rng.randrange(len(paras))]
            text = "\n\n".join(["UNITED24 - Make a charitable donation"] + paras +
                               ["Join the GlobalSecurity.org mailing list"]).replace("\u2019", "'")
            yield i, text, True
        else:
            paras = [" ".join(rng.choices(vocab, cum_weights=cum, k=50)) + " Lavrov\u2019s" for _ in range(8)]
            text = "\n\n".join(paras)
            originals.append(text)
            if len(originals) > 5000:
                originals.pop(0)
            yield i, text, False


def capture(i: int) -> Capture:
    loc = WarcLocation("bench.warc.gz", i * 5000, 5000, f"<urn:uuid:{uuid.UUID(int=i)}>", None)
    return Capture(f"https://example.org/{i}", "2024-01-01T00:00:00Z", 200, "text/html", b"",
                   loc, "globalsecurity", "bench")


def transcript(text: str) -> dict:
    return {"is_transcript": True, "text": text, "title": "t", "date": None, "language": "en",
            "turns": [], "participants": [], "extractor_version": "bench"}


def bench_baseline(n: int, path: Path) -> float:
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("CREATE TABLE d (id INTEGER PRIMARY KEY, h TEXT UNIQUE, text TEXT)")
    start = time.perf_counter()
    conn.execute("BEGIN")
    for i, text, _ in synthetic_docs(n):
        conn.execute("INSERT OR IGNORE INTO d (h, text) VALUES (?, ?)", (text_hash(text), text))
        if i % 1000 == 999:
            conn.execute("COMMIT")
            conn.execute("BEGIN")
    conn.execute("COMMIT")
    conn.close()
    return time.perf_counter() - start


def bench_corpus(n: int, path: Path) -> tuple[float, int, int]:
    corpus = Corpus(path)
    merged = mirrors = 0
    start = time.perf_counter()
    docs = iter(synthetic_docs(n))
    while True:
        batch = [d for _, d in zip(range(1000), docs)]
        if not batch:
            break
        with corpus.transaction():
            for i, text, is_mirror in batch:
                r = corpus.ingest(capture(i), transcript(text))
                mirrors += is_mirror
                merged += is_mirror and not r.new_document
    elapsed = time.perf_counter() - start
    corpus.close()
    return elapsed, merged, mirrors


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="2000,10000")
    args = ap.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    print(f"{'size':>9} {'baseline docs/s':>16} {'corpus docs/s':>14} {'ratio':>6} "
          f"{'mirrors merged':>15} {'peak RSS MiB':>13} {'db MiB':>7}")
    first = None
    with tempfile.TemporaryDirectory() as tmp:
        for n in sizes:
            base = bench_baseline(n, Path(tmp) / f"base-{n}.db")
            db = Path(tmp) / f"corpus-{n}.db"
            elapsed, merged, mirrors = bench_corpus(n, db)
            rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
            size = sum(p.stat().st_size for p in Path(tmp).glob(f"corpus-{n}.db*")) / 2**20
            rate = n / elapsed
            first = first or (n, rate)
            print(f"{n:>9} {n / base:>16.0f} {rate:>14.0f} {rate / (n / base):>6.2f} "
                  f"{merged:>7}/{mirrors:<7} {rss:>13.0f} {size:>7.0f}")
    n0, r0 = first
    print(f"growth: docs/s at the largest size is {rate / r0:.2f}x the rate at {n0} "
          f"(1.00 = perfectly linear); 1M docs at this rate: {1e6 / rate / 60:.1f} min")


if __name__ == "__main__":
    main()
