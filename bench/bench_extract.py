"""Throughput of extract_page vs plain trafilatura.extract on the same gold pages, one run.

Prints documents/s for both (so the figure is read against a baseline measured on the same
machine at the same moment; rounds alternate between the two and each figure is the median
round, so load from other processes hits both alike; time is this process's CPU time, which
other processes on a shared machine disturb far less than wall time) and the process's peak RSS. Usage:
    .venv/bin/python bench/bench_extract.py [--rounds N]
"""
from __future__ import annotations

import argparse
import resource
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import trafilatura  # noqa: E402

from stenogram.extract import extract_page  # noqa: E402


def _pages() -> list[bytes]:
    return [p.read_bytes() for p in sorted((ROOT / "tests" / "gold" / "pages").glob("*.html"))]


def _rates(fns: dict, pages: list[bytes], rounds: int) -> dict[str, float]:
    """docs/s of each extractor: rounds alternate between them (so a noisy neighbour or a
    frequency change hits both alike) and each figure is the median of its rounds."""
    for fn in fns.values():  # warm-up: imports, profile loading
        for body in pages:
            fn(body)
    per_round: dict[str, list[float]] = {name: [] for name in fns}
    for _ in range(rounds):
        for name, fn in fns.items():
            start = time.process_time()
            for body in pages:
                fn(body)
            per_round[name].append(len(pages) / (time.process_time() - start))
    return {name: statistics.median(r) for name, r in per_round.items()}


def _sample_pages() -> tuple[list[tuple], list[tuple]]:
    """Every sample-site transcript page (4 sources, en/ru, cp1251) as served, and the same
    pages with every class and id removed (a redesign: read by the fallback path)."""
    import random

    sys.path.insert(0, str(ROOT / "tests"))
    import mutate

    bases = mutate.base_pages(size=40, seed=1)
    served = [(b.body, b.truth.url, b.content_type) for b in bases]
    redesigned = []
    for b in bases:
        m = mutate.mutate(b, ["remove_ids_and_classes"], random.Random(1))
        redesigned.append((m.body, m.url, m.content_type))
    return served, redesigned


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=15)
    args = parser.parse_args()
    pages = _pages()
    rates = _rates({"plain": lambda b: trafilatura.extract(b, deduplicate=False),
                    "ours": lambda b: extract_page(b)}, pages, args.rounds)
    plain, ours = rates["plain"], rates["ours"]
    print(f"gold pages: {len(pages)} x {args.rounds} rounds (alternating; median round)")
    print(f"plain trafilatura.extract: {plain:8.1f} docs/s")
    print(f"stenogram extract_page:    {ours:8.1f} docs/s  ({ours / plain:.2f}x the baseline)")

    served, redesigned = _sample_pages()
    paths = {extract_page(b, url=u, content_type=c).extraction_path for b, u, c in redesigned}
    rates = _rates({"plain": lambda p: trafilatura.extract(p[0], url=p[1], deduplicate=False),
                    "profile": lambda p: extract_page(p[0], url=p[1], content_type=p[2])},
                   served, args.rounds)
    fallback = _rates({"fallback": lambda p: extract_page(p[0], url=p[1], content_type=p[2])},
                      redesigned, args.rounds)["fallback"]
    print(f"sample-site pages: {len(served)} (served as is; then with no class or id: {sorted(paths)})")
    print(f"plain trafilatura.extract:          {rates['plain']:8.1f} docs/s")
    print(f"stenogram, profile path:            {rates['profile']:8.1f} docs/s  "
          f"({rates['profile'] / rates['plain']:.2f}x the baseline)")
    print(f"stenogram, fallback path (redesign): {fallback:7.1f} docs/s  "
          f"({fallback / rates['plain']:.2f}x the baseline)")
    rss_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS: {rss_mib:.0f} MiB")


if __name__ == "__main__":
    main()
