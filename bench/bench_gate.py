"""Precision and recall of the transcript gate (extract/gate.py), as tests/test_extract_gate.py
asserts them: positives = every transcript page of a sample site (fetched over loopback) and the
gold transcripts; negatives = tests/negatives/ (hand-written and generated), the gold negatives
and the sample site's listings, directory indexes and non-ministry pages.

    .venv/bin/python bench/bench_gate.py [--size 60] [--seed 5]
"""
from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests" / "negatives"))

import generate  # noqa: E402

from stenogram.extract import extract_page, gate  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--size", type=int, default=60, help="sample site filler transcripts")
    ap.add_argument("--seed", type=int, default=5)
    a = ap.parse_args()
    gold = ROOT / "tests" / "gold"
    cases = json.loads((gold / "cases.json").read_text(encoding="utf-8"))
    site_pos, site_neg = generate.sample_site_pages(a.size, a.seed)
    gold_pages = [(c["page"], (gold / "pages" / c["page"]).read_bytes(), c.get("url"), None) for c in cases]
    positives = site_pos + [g for g in gold_pages if not g[0].startswith("negative-")]
    negatives = site_neg + [g for g in gold_pages if g[0].startswith("negative-")] + [
        (name, body, None, ctype) for name, (body, ctype) in generate.load().items()]

    pos = [extract_page(body, url, ctype) for _, body, url, ctype in positives]
    neg = [extract_page(body, url, ctype) for _, body, url, ctype in negatives]
    tp = sum(t.is_transcript for t in pos)
    fp = sum(t.is_transcript for t in neg)
    content_only = sum(bool(gate.transcript_evidence(t.title, t.paragraphs, False)) for t in pos if t.is_transcript)
    print(f"positives {len(pos)} (sample site {len(site_pos)}, gold {len(positives) - len(site_pos)}); "
          f"negatives {len(neg)}")
    print(f"recall    {tp}/{len(pos)} = {tp / len(pos):.3f}   "
          f"(content evidence alone, no profile: {content_only}/{len(pos)})")
    precision = tp / (tp + fp) if tp + fp else 0.0
    print(f"precision {tp}/{tp + fp} = {precision:.3f}   negatives refused {len(neg) - fp}/{len(neg)}")
    evidence = Counter(tuple(gate.transcript_evidence(t.title, t.paragraphs, True)) for t in pos)
    print("evidence on positives:", dict(evidence))
    print("reasons on negatives:", dict(Counter(t.reason for t in neg)))
    for (name, *_), t in zip(negatives, neg):
        if t.is_transcript:
            print("  ACCEPTED NEGATIVE", name, t.title)
    for (name, *_), t in zip(positives, pos):
        if not t.is_transcript:
            print("  REFUSED POSITIVE", name, t.reason)


if __name__ == "__main__":
    main()
