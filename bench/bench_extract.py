"""Throughput of extract_page vs plain trafilatura.extract on the same gold pages, one run.

Prints documents/s for both (so the figure is read against a baseline measured on the same
machine at the same moment) and the process's peak RSS. Usage:
    .venv/bin/python bench/bench_extract.py [--rounds N]
"""
from __future__ import annotations

import argparse
import resource
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import trafilatura  # noqa: E402

from extract import extract_page  # noqa: E402


def _pages() -> list[bytes]:
    return [p.read_bytes() for p in sorted((ROOT / "tests" / "gold" / "pages").glob("*.html"))]


def _rate(fn, pages: list[bytes], rounds: int) -> float:
    for body in pages:  # warm-up: imports, profile loading
        fn(body)
    start = time.perf_counter()
    for _ in range(rounds):
        for body in pages:
            fn(body)
    return rounds * len(pages) / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    pages = _pages()
    plain = _rate(lambda b: trafilatura.extract(b, deduplicate=False), pages, args.rounds)
    ours = _rate(lambda b: extract_page(b), pages, args.rounds)
    rss_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"pages: {len(pages)} x {args.rounds} rounds")
    print(f"plain trafilatura.extract: {plain:8.1f} docs/s")
    print(f"stenogram extract_page:    {ours:8.1f} docs/s  ({ours / plain:.2f}x the baseline)")
    print(f"peak RSS: {rss_mib:.0f} MiB")


if __name__ == "__main__":
    main()
