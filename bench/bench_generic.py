"""stenogram's generic path (a page whose host has no profile) against plain trafilatura on the
development half of the Zyte/ScrapingHub article-extraction benchmark (88 real news pages with
hand-checked bodies; README in the benchmark directory).

Scored with the benchmark's own scorer (score.py there: 4-token shingles, per-page precision and
recall averaged, F1 of the means). Printed side by side for stenogram, trafilatura default and
trafilatura favor_precision, on all pages and on two halves (ids 0-3 / 4-7), so that a change tuned
on one half can be checked on the other. stenogram runs with `require_evidence=False`: the pages
are news articles, not transcripts, and only the text extractor is measured here.

    .venv/bin/python bench/bench_generic.py PATH     # PATH: the benchmark's directory (not in this repo)
"""
from __future__ import annotations

import argparse
import gzip
import importlib.util
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
HALVES = {"A (ids 0-3)": "0123", "B (ids 4-7)": "4567"}


def _scorer(data: Path):
    spec = importlib.util.spec_from_file_location("article_extraction_score", data / "score.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _load(data: Path) -> tuple[dict, dict]:
    truth = json.loads((data / "ground-truth.json").read_text(encoding="utf-8"))
    pages = {}
    for key in truth:
        with gzip.open(data / "html" / f"{key}.html.gz", "rt", encoding="utf-8") as f:
            pages[key] = f.read()
    return truth, pages


def _stenogram(html: str, url: str) -> str:
    from stenogram.extract import extract_page

    t = extract_page(html, url=url, require_evidence=False)
    return t.text if t.is_transcript else ""


def _trafilatura(**options):
    import trafilatura

    return lambda html, url: trafilatura.extract(html, url=url, include_comments=False, **options) or ""


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("data", nargs="?", type=Path, default=None,
                    help="the benchmark's directory (ground-truth.json, score.py, html/)")
    ap.add_argument("--show", type=int, default=0, help="list the N worst pages of stenogram")
    a = ap.parse_args()
    if a.data is None:  # `make bench` passes none: the data is not part of the repo
        print("bench_generic: skipped (pass the benchmark's directory)", file=sys.stderr)
        return 0
    if not (a.data / "ground-truth.json").is_file() or not (a.data / "score.py").is_file():
        print(f"benchmark not found at {a.data} (expected ground-truth.json, score.py, html/)", file=sys.stderr)
        return 2
    score = _scorer(a.data)
    truth, pages = _load(a.data)
    systems = {"stenogram generic": _stenogram, "trafilatura default": _trafilatura(),
               "trafilatura favor_precision": _trafilatura(favor_precision=True)}
    print(f"{len(pages)} pages from {a.data}")
    print(f"{'':30}{'F1':>8}{'P':>8}{'R':>8}   " + "".join(f"{h:>16}" for h in HALVES) + f"{'docs/s':>9}")
    worst = []
    for name, fn in systems.items():
        t0 = time.perf_counter()
        rows = {k: score.page_counts(truth[k]["articleBody"], fn(pages[k], truth[k]["url"])) for k in sorted(truth)}
        rate = len(rows) / (time.perf_counter() - t0)
        m = score.aggregate(list(rows.values()))
        halves = [score.aggregate([r for k, r in rows.items() if k[0] in first])["f1"] for first in HALVES.values()]
        print(f"{name:30}{m['f1']:8.3f}{m['precision']:8.3f}{m['recall']:8.3f}   "
              + "".join(f"{'F1 %.3f' % h:>16}" for h in halves) + f"{rate:9.1f}")
        if name == "stenogram generic":
            worst = sorted(rows.items(), key=lambda kv: kv[1][0])[:a.show]
    for key, (tp, fp, fn) in worst:
        print(f"  {key[:12]} tp {tp:.2f} fp {fp:.2f} fn {fn:.2f}  {truth[key]['url'][:80]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
