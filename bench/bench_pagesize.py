"""Time and peak memory of extract_page against plain trafilatura.extract as pages grow.

Pages are generated from the gold set's own paragraphs (tests/gold), so they look like the
real thing at any size:
  * profile  — a mid.ru page (the gold page's Bitrix template) whose body holds N paragraphs;
  * generic  — the same paragraphs on a page no profile knows (the generic path: trafilatura);
  * table    — a generic page that is one big <table> (a statistics/treaty-list page), by MB.
A speech is mostly long turns: one question label every QUESTION_EVERY paragraphs, so a turn
holds hundreds of paragraphs (what made split_turns quadratic).

Time is the child's CPU time (process_time: a shared, loaded machine inflates wall time, not
much CPU time). Each (page, extractor) runs in its own child process, so the peak RSS printed is that run's
alone; both extractors run on the same page in the same run. The growth ratio per doubling of
the page is printed beside each figure: ~2 means linear time, ~4 quadratic. Usage:
    .venv/bin/python bench/bench_pagesize.py            # 1k..40k paragraphs, 5/10/20 MB tables
    .venv/bin/python bench/bench_pagesize.py --quick    # 1k..8k paragraphs, 1/2/4 MB tables
"""
from __future__ import annotations

import argparse
import html
import json
import math
import random
import re
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
GOLD = ROOT / "tests" / "gold"
QUESTION_EVERY = 500
_BODY_MARK = '<div class="article-content__inner"><div>'


def sentence_pool(language: str = "en") -> list[str]:
    """Sentences of the gold transcripts' paragraphs in `language` (labels removed)."""
    from stenogram.extract.turns import split_label

    pool: set[str] = set()
    for case in json.loads((GOLD / "cases.json").read_text(encoding="utf-8")):
        if case.get("language") == language and case.get("paragraphs"):
            for p in case["paragraphs"]:
                pool.update(s for s in re.split(r"(?<=[.!?])\s+", split_label(p)[1]) if len(s) > 30)
    return sorted(pool)


def new_paragraph(rng: random.Random, pool: list[str]) -> str:
    """2-4 random sentences: every paragraph of a generated page is different, as on a real
    page (extractors drop repeated paragraphs, which would shrink a page of copies)."""
    return " ".join(rng.sample(pool, rng.randint(2, 4)))


def speech(n: int, language: str = "en", seed: int = 1) -> list[str]:
    """n paragraphs: the minister's opening, then a question label every QUESTION_EVERY."""
    rng = random.Random(seed)
    pool = sentence_pool(language)
    label = "Question: " if language == "en" else "Вопрос: "
    minister = "Sergey Lavrov: " if language == "en" else "С.В.Лавров: "
    out = []
    for i in range(n):
        text = new_paragraph(rng, pool)
        if i and i % QUESTION_EVERY == 0:
            text = label + text
        elif i and i % QUESTION_EVERY == 1:
            text = minister + text
        out.append(text)
    return out


def profile_page(paragraphs: list[str]) -> bytes:
    """The gold mid.ru page with its body replaced by `paragraphs`."""
    page = (GOLD / "pages" / "seed-000.mid.html").read_text(encoding="utf-8")
    start = page.index(_BODY_MARK) + len(_BODY_MARK)
    end = page.index("</div>", start)
    body = "".join(f"<p>{html.escape(p)}</p>" for p in paragraphs)
    return (page[:start] + body + page[end:]).encode("utf-8")


def generic_page(paragraphs: list[str]) -> bytes:
    """An embassy-mirror page (no profile): header links, h1, date line, <p> body, footer."""
    title = ("Foreign Minister Sergey Lavrov's remarks and answers to media questions at a joint "
             "news conference, Moscow, March 14, 2022")
    body = "\n".join(f"<p>{html.escape(p)}</p>" for p in paragraphs)
    return (f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{title} | Embassy</title></head>"
            f"<body><div id='top'><a href='/'>Home</a> | <a href='/news'>News</a></div>"
            f"<h1>{title}</h1><div>14 March 2022 12:10</div>\n{body}\n"
            f"<div id='footer'>© Embassy of the Russian Federation</div></body></html>").encode("utf-8")


def table_page(megabytes: float, seed: int = 1) -> bytes:
    """A generic page whose content is one big table (date, place, text, number per row)."""
    rng = random.Random(seed)
    pool = sentence_pool("en")
    head = ("<!DOCTYPE html><html><head><meta charset='utf-8'><title>Chronology of contacts, "
            "2000-2024</title></head><body><h1>Chronology of contacts, 2000-2024</h1><table>")
    rows, size, i = [], len(head), 0
    target = int(megabytes * 1024 * 1024)
    while size < target:
        i += 1
        row = (f"<tr><td>{1 + i % 28}.{1 + i % 12:02d}.{2000 + i % 25}</td><td>Moscow</td>"
               f"<td>{html.escape(new_paragraph(rng, pool))}</td><td>{i}</td></tr>\n")
        rows.append(row)
        size += len(row)
    return (head + "".join(rows) + "</table></body></html>").encode("utf-8")


def make_page(kind: str, size: float) -> bytes:
    if kind == "table":
        return table_page(size)
    paragraphs = speech(int(size))
    return profile_page(paragraphs) if kind == "profile" else generic_page(paragraphs)


def _child(kind: str, size: float, extractor: str) -> None:
    """Run one extraction in this (fresh) process; print seconds, peak RSS and a result size."""
    sys.path.insert(0, str(ROOT))
    body = make_page(kind, size)
    import trafilatura

    from stenogram.extract import extract_page

    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    start, cpu = time.perf_counter(), time.process_time()
    if extractor == "ours":
        t = extract_page(body)
        out = len(t.text) if t.is_transcript else f"refused: {t.reason}"
    else:
        out = len(trafilatura.extract(body, deduplicate=False) or "")
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"seconds": seconds, "cpu": cpu, "rss_mib": rss / 1024, "rss_before_mib": rss_before / 1024,
                      "bytes": len(body), "out": out}))


def run(kind: str, size: float, extractor: str) -> dict:
    cmd = [sys.executable, __file__, "--child", kind, str(size), extractor]
    done = subprocess.run(cmd, capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def _ratio(prev: tuple[float, float] | None, size: float, seconds: float) -> str:
    """Time ratio normalised to one doubling of the size: ~2 linear, ~4 quadratic."""
    if prev is None or prev[1] <= 0:
        return "     "
    doublings = math.log2(size / prev[0])
    return f"{(seconds / prev[1]) ** (1 / doublings):5.2f}" if doublings > 0 else "     "


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="small sizes (a minute)")
    parser.add_argument("--child", nargs=3, metavar=("KIND", "SIZE", "EXTRACTOR"), help=argparse.SUPPRESS)
    parser.add_argument("--only", choices=("profile", "generic", "table"), action="append")
    args = parser.parse_args()
    if args.child:
        _child(args.child[0], float(args.child[1]), args.child[2])
        return
    paragraphs = (1000, 2000, 4000, 8000) if args.quick else (1000, 5000, 10000, 20000, 40000)
    tables = (1, 2, 4) if args.quick else (5, 10, 20)
    plan = [("profile", paragraphs, "paragraphs"), ("generic", paragraphs, "paragraphs"), ("table", tables, "MB")]
    print("CPU s = process CPU time of the one extraction (less sensitive than wall time to other load)")
    print("growth = CPU time ratio per doubling of the page (~2 linear, ~4 quadratic); RSS = child's peak")
    for kind, sizes, unit in plan:
        if args.only and kind not in args.only:
            continue
        print(f"\n{kind} page          |  stenogram extract_page        |  plain trafilatura.extract")
        print(f"{'size':>10} {unit:<10} |  {'CPU s':>7} {'growth':>6} {'RSS MiB':>8}   |  {'CPU s':>7} {'growth':>6} {'RSS MiB':>8}")
        prev: dict[str, tuple[float, float] | None] = {"ours": None, "plain": None}
        for size in sizes:
            cells = []
            for extractor in ("ours", "plain"):
                r = run(kind, size, extractor)
                cells.append(f"{r['cpu']:7.2f} {_ratio(prev[extractor], size, r['cpu']):>6} {r['rss_mib']:8.0f}")
                prev[extractor] = (size, r["cpu"])
                page_mb = r["bytes"] / 2**20
            print(f"{size:>10g} {f'({page_mb:.1f} MB)':<10} |  {cells[0]}   |  {cells[1]}")
            sys.stdout.flush()


if __name__ == "__main__":
    main()
