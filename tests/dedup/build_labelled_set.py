"""Build ``tests/dedup/labelled.jsonl``: true mirrors and hard negatives for near-duplicate tests.

Why generated from the seeds: the five ground-truth transcripts (stenogram/sample_site/content/
seeds) are real Lavrov texts; mirrors on the real sites differ from mid.ru in known ways
(docs/SITES.md): typography (straight quotes, hyphens), leftover chrome (globalsecurity banners,
DLE "Category / Views / Print version" lines), a dropped paragraph, an ending cut off
("to be continued"), different line breaks. Hard negatives are what must never merge: another
news conference with the same ministers (identical opening and closing paragraphs, same date),
a short news item quoting one paragraph, and the natural pair in the seeds (002 and 004: Lavrov
and the Kazakh minister in Nur-Sultan, 2019 and 2021).

Rows: ``{"id", "group", "variant", "source", "url", "date", "language", "title", "text"}``;
two rows are a true pair iff their ``group`` is equal. Deterministic (no randomness), so the
committed file can be regenerated and compared: ``python tests/dedup/build_labelled_set.py``.
"""
from __future__ import annotations

import json
from pathlib import Path

HERE = Path(__file__).resolve().parent
SEEDS = HERE.parents[1] / "stenogram" / "sample_site" / "content" / "seeds"

GS_CHROME_TOP = [
    "UNITED24 - Make a charitable donation in support of Ukraine!",
    "Weapons of Mass Destruction (WMD)",
    "The Ministry of Foreign Affairs of the Russian Federation",
]
GS_CHROME_BOTTOM = ["Join the GlobalSecurity.org mailing list", "Enter Your Email Address"]
DLE_CHROME = ["Category: Minister S.Lavrov • Views: 2 133 | • Print version |",
              "Editor's Column", "Golden Collection", "MFA Russia News"]


def straighten(text: str) -> str:
    return (text.replace("\u2019", "'").replace("\u2018", "'").replace("\u201c", '"')
            .replace("\u201d", '"').replace("\u2013", "-").replace("\u2014", "-"))


def load_seeds() -> list[dict]:
    return [json.loads(p.read_text(encoding="utf-8")) for p in sorted(SEEDS.glob("*.json"))]


def mirrors(seed: dict, n: int) -> list[dict]:
    p = seed["paragraphs"]
    base = {"group": seed["key"], "date": seed["date"], "language": seed["language"],
            "title": seed["title"]}
    mid = len(p) // 2
    rows = [
        ("original", "mid", f"https://mid.ru/en/foreign_policy/news/19{n:05d}/", "\n\n".join(p)),
        ("second-section", "mid", f"https://mid.ru/en/press_service/minister_speeches/19{n:05d}/",
         "\n\n".join(p)),
        ("straight-quotes", "globalsecurity",
         f"https://www.globalsecurity.org/wmd/library/news/russia/2022/russia-{n:02d}-russia-mfa01.htm",
         straighten("\n\n".join(p))),
        ("dropped-paragraph", "interaffairs", f"https://en.interaffairs.ru/lavrov/{n}01-x.html",
         "\n\n".join(p[:mid] + p[mid + 1:])),
        ("extra-chrome", "globalsecurity",
         f"https://www.globalsecurity.org/wmd/library/news/russia/2022/russia-{n:02d}-russia-mfa02.htm",
         "\n\n".join(GS_CHROME_TOP + [straighten(x) for x in p] + GS_CHROME_BOTTOM)),
        ("truncated-end", "interaffairs", f"https://en.interaffairs.ru/lavrov/{n}02-x.html",
         "\n\n".join(p[: max(3, int(len(p) * 0.6))] + ["To be continued"])),
        ("chrome-dropped-quotes", "interaffairs", f"https://en.interaffairs.ru/lavrov/{n}03-x.html",
         straighten("\n\n".join(p[:2] + p[3:-2] + DLE_CHROME))),
        ("line-breaks", "mid_archive",
         f"https://archive.mid.ru/en/press_service/minister_speeches/-/asset_publisher/"
         f"7OvQR5KJWVmR/content/id/40{n:05d}", "\n".join(" ".join(x.split()) for x in p)),
    ]
    return [dict(base, id=f"{seed['key']}/{v}", variant=v, source=s, url=u, text=t)
            for v, s, u, t in rows]


def hard_negatives(seeds: list[dict]) -> list[dict]:
    rows = []
    for i, seed in enumerate(seeds):
        others = [s for j, s in enumerate(seeds) if j != i]
        p = seed["paragraphs"]
        middle = []
        for k in range(8):  # round-robin, one paragraph from each other transcript
            other = others[k % len(others)]["paragraphs"]
            middle.append(other[2 + k // len(others) + (k % 3)])
        rows.append({
            "id": f"neg/same-ministers-{i}", "group": f"neg-same-ministers-{i}",
            "variant": "same-opening-and-closing", "source": "mid",
            "url": f"https://mid.ru/en/foreign_policy/news/29{i:05d}/",
            "date": seed["date"], "language": "en", "title": seed["title"] + " (second event)",
            "text": "\n\n".join(p[:2] + middle + p[-2:]),
        })
        rows.append({
            "id": f"neg/quote-{i}", "group": f"neg-quote-{i}", "variant": "news-item-quoting",
            "source": "interaffairs", "url": f"https://en.interaffairs.ru/lavrov/{i}99-quote.html",
            "date": seed["date"], "language": "en", "title": "Lavrov on allies",
            "text": "\n\n".join(["Sergey Lavrov commented on relations with partners.",
                                 p[len(p) // 2], "The full transcript is on the ministry site."]),
        })
    return rows


def build() -> list[dict]:
    seeds = load_seeds()
    rows = [r for n, s in enumerate(seeds) for r in mirrors(s, n)]
    return rows + hard_negatives(seeds)


if __name__ == "__main__":
    out = HERE / "labelled.jsonl"
    with out.open("w", encoding="utf-8") as f:
        for row in build():
            f.write(json.dumps(row, ensure_ascii=False) + "\n")
    print(f"wrote {out}")
