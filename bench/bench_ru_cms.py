"""stenogram vs trafilatura on the Russian-CMS gold set (tests/gold_ru: the seed transcripts inside
1C-Bitrix, DataLife Engine, WordPress and Joomla layouts, utf-8 and windows-1251, with and
without a declared charset; README there).

Printed per part (tune / held back, split by a hash of the page id) and per CMS, for stenogram
(`extract_page(body, url=..., require_evidence=False)`: the text extractor alone, as in
bench_generic.py), trafilatura default and trafilatura favor_precision; every system gets the
page's raw bytes, so decoding is part of what is measured:

- F1 / P / R: token F1 (lower-cased `\\w+` tokens, multiset overlap, macro over pages, empty = 0);
- leak: pages where at least one of the page's listed chrome strings shows up in the text, and
  (after the slash) how many chrome strings leaked in all;
- empty: pages returned empty (stenogram: refused, `is_transcript` false);
- stenogram's title and date: exact matches with the page's, and dates read wrong (not missing).

    .venv/bin/python bench/bench_ru_cms.py [--show N]   # N: list stenogram's N worst pages
"""
from __future__ import annotations

import argparse
import importlib.util
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def _scoring():
    spec = importlib.util.spec_from_file_location("gold_ru_scoring", ROOT / "tests" / "gold_ru" / "scoring.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look the module up by name
    spec.loader.exec_module(module)
    return module


METADATA = {}  # page URL -> (title, date) stenogram read


def _stenogram(body: bytes, url: str) -> str:
    from stenogram.extract import extract_page

    t = extract_page(body, url=url, require_evidence=False)
    METADATA[url] = (t.title, t.date)
    return t.text if t.is_transcript else ""


def _trafilatura(**options):
    import trafilatura

    return lambda body, url: trafilatura.extract(body, url=url, include_comments=False, **options) or ""


SYSTEMS = {"stenogram": _stenogram, "trafilatura default": _trafilatura(),
           "trafilatura favor_precision": _trafilatura(favor_precision=True)}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--show", type=int, default=0, help="list stenogram's N worst pages (with what leaked)")
    a = ap.parse_args()
    scoring = _scoring()
    cases = scoring.load_cases()
    cmss = sorted({c.cms for c in cases})
    results = {}
    for name, fn in SYSTEMS.items():
        t0 = time.perf_counter()
        results[name] = [scoring.score_page(c, fn(c.body(), c.url)) for c in cases]
        results[name + " rate"] = len(cases) / (time.perf_counter() - t0)
    print(f"{len(cases)} pages from tests/gold_ru "
          f"({sum(c.part == 'tune' for c in cases)} tune, {sum(c.part == 'held' for c in cases)} held back)")
    for part in ("tune", "held"):
        label = {"tune": "tuning part", "held": "HELD-BACK part"}[part]
        print(f"\n{label}")
        print(f"{'':29}{'pages':>6}{'F1':>7}{'P':>7}{'R':>7}{'leak':>9}{'empty':>6}   "
              + "".join(f"{cms:>11}" for cms in cmss))
        for name in SYSTEMS:
            rows = [s for s in results[name] if s.case.part == part]
            m = scoring.macro(rows)
            per = [scoring.macro([s for s in rows if s.case.cms == cms]) for cms in cmss]
            print(f"{name:29}{m['pages']:6d}{m['f1']:7.3f}{m['precision']:7.3f}{m['recall']:7.3f}"
                  f"{m['leak_pages']:5d}/{m['leaked']:<3d}{m['empty']:6d}   "
                  + "".join(f"{'%.3f' % p['f1'] + ' (' + str(p['pages']) + ')':>11}" for p in per))
    print("\nall pages, per language")
    for name in SYSTEMS:
        per = {lang: scoring.macro([s for s in results[name] if s.case.language == lang]) for lang in ("en", "ru")}
        print(f"{name:29}" + "".join(f"  {lang} F1 {m['f1']:.3f} ({m['pages']})" for lang, m in per.items())
              + f"   {results[name + ' rate']:.1f} pages/s")
    print("\nstenogram's title and date (exactly the page's), all pages, per CMS")
    for cms in cmss:
        mine = [c for c in cases if c.cms == cms]
        title = sum(METADATA[c.url][0] == c.title for c in mine)
        date = sum(METADATA[c.url][1] == c.date for c in mine)
        wrong = sum(METADATA[c.url][1] not in (None, c.date) for c in mine)
        print(f"  {cms:10} title {title}/{len(mine)}   date {date}/{len(mine)} ({wrong} wrong, not just missing)")
    if a.show:
        print(f"\nstenogram's {a.show} worst pages")
        for s in sorted(results["stenogram"], key=lambda s: s.f1)[:a.show]:
            leak = "; ".join(x[:40] for x in s.leaked[:3])
            print(f"  {s.case.id:28} {s.case.part:4} F1 {s.f1:.3f} P {s.precision:.3f} R {s.recall:.3f}"
                  + (f"  leaked: {leak}" if leak else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
