"""Precision/recall of the near-duplicate verification over the labelled set, per threshold.

Why: the merge thresholds in ``corpus.dedup.DedupSettings`` must come from measurement. This
prints, for every pair in ``tests/dedup/labelled.jsonl``, the exact containment and Jaccard
extremes of true and false pairs, then pairwise precision/recall on a grid of
(min_containment, min_jaccard). Usage: ``python bench/dedup_curve.py [labelled.jsonl]``.
"""
from __future__ import annotations

import itertools
import json
import sys
from pathlib import Path

from stenogram.corpus.dedup import similarity
from stenogram.corpus.normalize import shingles

DEFAULT = Path(__file__).resolve().parents[1] / "tests" / "dedup" / "labelled.jsonl"


def pair_scores(rows: list[dict]) -> list[tuple[bool, float, float]]:
    sets = [shingles(r["text"]) for r in rows]
    out = []
    for i, j in itertools.combinations(range(len(rows)), 2):
        sim = similarity(sets[i], sets[j])
        out.append((rows[i]["group"] == rows[j]["group"], sim.containment, sim.jaccard))
    return out


def curve(scores, containments, jaccards):
    positives = sum(1 for s in scores if s[0])
    for c in containments:
        for j in jaccards:
            predicted = [s for s in scores if s[1] >= c and s[2] >= j]
            tp = sum(1 for s in predicted if s[0])
            precision = tp / len(predicted) if predicted else 1.0
            yield c, j, precision, tp / positives if positives else 1.0


def main(path: Path = DEFAULT) -> None:
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]
    scores = pair_scores(rows)
    pos = [s for s in scores if s[0]]
    neg = [s for s in scores if not s[0]]
    print(f"{len(rows)} texts, {len(pos)} true pairs, {len(neg)} false pairs")
    print(f"true pairs : containment >= {min(s[1] for s in pos):.3f}, "
          f"jaccard >= {min(s[2] for s in pos):.3f}")
    print(f"false pairs: containment <= {max(s[1] for s in neg):.3f}, "
          f"jaccard <= {max(s[2] for s in neg):.3f}, "
          f"max jaccard among containment>=0.5: "
          f"{max([s[2] for s in neg if s[1] >= 0.5], default=0):.3f}")
    print("min_containment min_jaccard precision recall")
    for c, j, p, r in curve(scores, [0.3, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95], [0.0, 0.1, 0.2, 0.3, 0.5]):
        print(f"{c:15.2f} {j:11.2f} {p:9.3f} {r:6.3f}")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT)
