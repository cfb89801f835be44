"""Reader latency (`stenogram serve`, Datasette) at growing corpus sizes: p50/p95 per page.

Why sizes against each other in one run: absolute milliseconds depend on the machine (2 shared
cores here); how a page's time grows from the smallest corpus (the named baseline, measured in
the same run) to the largest is what says whether the reader stays fast. A page that reads
maintained aggregates or a few indexed rows stays flat; one that scans ``documents`` grows with it.

The corpora: synthetic, dated (clustered ~30 documents a day from 2004 on), Russian and English
transcripts of 200-700 words (bench_corpus.py's 400 on average) with speaker turns and participants,
1-3 versions and 2-6
captures per document. They are written straight into a schema made by ``corpus.Corpus`` (its
tables, indexes and triggers, so the aggregates the home page reads are kept as ingest keeps
them), with the full-text indexes deferred and rebuilt once (``Corpus.defer_fts`` /
``resume_fts``, the path ``stenogram reprocess`` takes on a bulk load). Not through
``Corpus.ingest``: its dedup work is bench_corpus.py's subject, and at 100k it would take most
of an hour here; the reader only reads the rows. Each corpus is cached under
``/tmp/stenogram-bench-serve/`` keyed by its parameters (a 100k build takes minutes).

Each corpus is served by ``stenogram serve --no-replay`` on 127.0.0.1 and every page is fetched
``--repeat`` times (after one warm-up fetch) in turn; the reading and history pages pick a
different document each time. A million documents is not built: its figure is projected from
the slope of the medians between the two largest measured sizes (printed as "projected", never as
measured).

    python bench/bench_serve.py                        # 2k and 10k (make bench)
    python bench/bench_serve.py --sizes 10000,100000   # the issue's sizes (100k: ~3 GB in /tmp)
    python bench/bench_serve.py --before OTHER/.venv/bin/stenogram   # also served by other code
"""
from __future__ import annotations

import argparse
import json
import random
import statistics
import subprocess
import sys
import time
import urllib.request
from datetime import date as Date, timedelta
from pathlib import Path

CACHE = Path("/tmp/stenogram-bench-serve")
GENERATOR = 1  # bump when the generated rows change: the cache key holds it
PER_DAY = 30

RU = ("министр иностранных дел россии сергей лавров заявил что переговоры по вопросам "
      "безопасности европы должны учитывать интересы всех сторон мы готовы к диалогу на основе "
      "взаимного уважения санкции не достигли своей цели американские коллеги продолжают "
      "политику давления сотрудничество в рамках оон остается приоритетом нашей внешней политики "
      "вопрос журналиста спасибо за вопрос позвольте ответить подробно").split()
EN = ("foreign minister sergey lavrov said that the talks on european security must take into "
      "account the interests of all parties we are ready for dialogue based on mutual respect "
      "sanctions have not achieved their goal our american colleagues continue the policy of "
      "pressure cooperation within the united nations remains a priority of our foreign policy "
      "question thank you for the question let me answer in detail").split()
SPEAKERS = {"ru": ["С.В.Лавров", "Вопрос", "Г.Гатилов"], "en": ["Sergey Lavrov", "Question", "Moderator"]}
SOURCES = ["mid", "mid_archive", "globalsecurity", "interaffairs"]
KINDS = ["transcript", "interview", "press_conference", "statement"]


def _paragraphs(rng: random.Random, words: list[str], n_words: int) -> list[str]:
    out, left = [], n_words
    while left > 0:
        k = min(left, rng.randint(40, 120))
        out.append(" ".join(rng.choices(words, k=k)).capitalize() + ".")
        left -= k
    return out


def document_rows(i: int, seed: int) -> tuple[dict, list[dict], list[dict]]:
    """Document ``i`` (1-based id): its row, its versions' rows and its captures' rows."""
    rng = random.Random(seed * 1_000_003 + i)
    lang = "ru" if rng.random() < 0.6 else "en"
    words = RU if lang == "ru" else EN
    day = Date(2004, 1, 1) + timedelta(days=(i - 1) // PER_DAY)
    paras = _paragraphs(rng, words, rng.randint(200, 700))
    speakers = SPEAKERS[lang]
    turns = [{"speaker": speakers[n % 2 if n else 0], "speaker_id": speakers[n % 2 if n else 0],
              "text": p} for n, p in enumerate(paras)]
    sources = sorted(set(rng.sample(SOURCES, rng.randint(1, 2))))
    n_versions = rng.choices([1, 2, 3], weights=[70, 22, 8])[0]
    n_captures = max(n_versions, rng.randint(2, 6))
    url = f"https://{'www.mid.ru' if 'mid' in sources else 'www.globalsecurity.org'}/{lang}/press/{i}"
    texts = ["\n".join(paras)]
    for _ in range(1, n_versions):  # a silent edit: one paragraph rewritten
        edited = list(paras)
        edited[rng.randrange(len(edited))] = " ".join(rng.choices(words, k=60)) + "."
        texts.append("\n".join(edited))
    first = f"{day.isoformat()}T09:00:00Z"
    versions = [{"id": i * 4 + v, "document_id": i, "text_hash": f"{i:08d}{v}", "text": t,
                 "first_seen": f"{(day + timedelta(days=v * 30)).isoformat()}T09:00:00Z",
                 "last_seen": f"{(day + timedelta(days=v * 30 + 20)).isoformat()}T09:00:00Z",
                 "url": url, "url_key": url, "source": sources[0],
                 "is_official": int(sources[0].startswith("mid")), "n_chars": len(t),
                 "title": f"Lavrov {i}", "date": day.isoformat(), "place": "Moscow", "language": lang,
                 "turns": json.dumps(turns, ensure_ascii=False), "participants": json.dumps(speakers[:1]
                 + speakers[2:], ensure_ascii=False), "kind": KINDS[i % len(KINDS)],
                 "extractor_version": "bench"} for v, t in enumerate(texts)]
    captures = []
    for c in range(n_captures):
        v = versions[min(c, n_versions - 1)]
        at = (day + timedelta(days=c * 15)).isoformat() + "T09:00:00Z"
        captures.append({"id": i * 8 + c, "url": url, "url_key": url, "fetched_at": at, "http_status": 200,
                         "content_type": "text/html; charset=utf-8", "warc_file": f"bench-{i // 1000}.warc.gz",
                         "warc_offset": (i % 1000) * 40000 + c * 8000, "warc_length": 8000,
                         "warc_record_id": f"<urn:uuid:{i:012d}-0000-4000-8000-{c:012d}>",
                         "payload_digest": f"sha1:{i:020d}{c:012d}", "source": sources[0],
                         "crawl_id": "bench", "extractor_version": "bench", "document_id": i,
                         "version_id": v["id"], "match": "new" if c < n_versions else "revisit",
                         "is_transcript": 1, "reason": None, "extraction_path": "profile",
                         "fallback_reason": None})
    doc = {"id": i, "title": f"Lavrov {i}", "date": day.isoformat(), "year": day.year, "place": "Moscow",
           "language": lang, "text": texts[0], "turns": versions[0]["turns"],
           "participants": versions[0]["participants"], "kind": KINDS[i % len(KINDS)],
           "canonical_url": url, "canonical_reason": "official", "canonical_version_id": versions[0]["id"],
           "sources": json.dumps(sources), "first_seen": first, "last_seen": captures[-1]["fetched_at"],
           "translation_of": None, "n_captures": n_captures, "n_versions": n_versions}
    return doc, versions, captures


def _insert(conn, table: str, rows: list[dict]) -> None:
    cols = list(rows[0])
    conn.executemany(f"INSERT INTO {table} ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})",
                     [tuple(r[c] for c in cols) for r in rows])


def build(n: int, seed: int) -> Path:
    """The cached corpus of ``n`` documents (built on first use)."""
    from stenogram.corpus import Corpus

    path = CACHE / f"n{n}-s{seed}-g{GENERATOR}" / "corpus.db"
    if path.exists():
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name("building.db")
    for leftover in path.parent.glob("building.db*"):
        leftover.unlink()
    started = time.perf_counter()
    corpus = Corpus(str(tmp))
    corpus.defer_fts()
    for start in range(1, n + 1, 2000):
        docs, versions, captures = [], [], []
        for i in range(start, min(n, start + 1999) + 1):
            d, v, c = document_rows(i, seed)
            docs.append(d)
            versions += v
            captures += c
        with corpus.transaction():
            _insert(corpus.conn, "documents", docs)
            _insert(corpus.conn, "versions", versions)
            _insert(corpus.conn, "captures", captures)
    corpus.resume_fts()
    corpus.close()
    tmp.rename(path)
    print(f"built {n:,} documents in {time.perf_counter() - started:.0f} s "
          f"({path.stat().st_size / 1e9:.2f} GB): {path}", flush=True)
    return path


def pages(n: int, rng: random.Random) -> dict[str, callable]:
    return {
        "home": lambda: "/",
        "reading": lambda: f"/transcript/{rng.randint(1, n)}",
        "history": lambda: f"/transcript/{rng.randint(1, n)}/history",
        "documents table": lambda: "/corpus/documents",
        "documents JSON": lambda: "/corpus/documents.json",
        "captures table": lambda: "/corpus/captures",
    }


def fetch(base: str, path: str) -> float:
    started = time.perf_counter()
    with urllib.request.urlopen(base + path, timeout=120) as resp:
        resp.read()
        if resp.status != 200:
            raise RuntimeError(f"{path}: HTTP {resp.status}")
    return (time.perf_counter() - started) * 1000


def measure(db: Path, n: int, repeat: int, stenogram: Path) -> dict[str, tuple[float, float]]:
    """p50/p95 ms per page of ``db`` served by the ``stenogram`` executable given."""
    from stenogram.corpus.serve import free_port, stop, wait_http

    port = free_port()
    proc = subprocess.Popen([str(stenogram), "serve", "--db", str(db), "--no-replay",
                             "--port", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        if not wait_http(base + "/-/versions.json", proc, 120):
            raise RuntimeError(f"stenogram serve did not start on {db}")
        rng = random.Random(n)
        out = {}
        for name, path in pages(n, rng).items():
            fetch(base, path())  # warm-up: the first read of a page pays for the file cache
            times = [fetch(base, path()) for _ in range(repeat)]
            q = statistics.quantiles(times, n=20, method="inclusive")
            out[name] = (statistics.median(times), q[18])
        return out
    finally:
        stop([proc])


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", default="2000,10000", help="corpus sizes, smallest first (the baseline)")
    ap.add_argument("--repeat", type=int, default=20, help="fetches of each page per size")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--before", type=Path, help="another checkout's `stenogram` executable (e.g. "
                    "main's before this change): the same corpora served by it too, as a baseline")
    ap.add_argument("--project", type=int, default=1_000_000, help="size to project to (0: none)")
    args = ap.parse_args(argv)
    sizes = sorted(int(s) for s in args.sizes.split(","))
    from stenogram.corpus import Corpus

    ours = Path(sys.executable).parent / "stenogram"
    results, before = {}, {}
    for n in sizes:
        db = build(n, args.seed)
        Corpus(db).close()  # a writer's open brings a cached corpus to this schema (serve reads only)
        results[n] = measure(db, n, args.repeat, ours)
        if args.before:
            before[n] = measure(db, n, args.repeat, args.before)
    def change(old: float, new: float) -> str:
        return f"{old:.0f} -> {new:.0f} ({old / new:.1f}x)"

    if before:
        print(f"\nbefore/after, p95 ms: {args.before} (before) vs {ours} (this checkout), same corpora")
        print(f"{'page':<17}" + "".join(f"{f'{n:,} docs':>26}" for n in sizes))
        for name in results[sizes[0]]:
            print(f"{name:<17}" + "".join(
                f"{change(before[n][name][1], results[n][name][1]):>26}"
                for n in sizes))
    base = sizes[0]
    print(f"\nstenogram serve, p50 / p95 ms over {args.repeat} fetches (loopback); "
          f"baseline: the {base:,}-document corpus, same run")
    head = f"{'page':<17}" + "".join(f"{f'{n:,} docs':>22}" for n in sizes)
    if args.project and len(sizes) > 1:
        head += f"{f'{args.project:,} projected':>22}"
    print(head)
    for name in results[base]:
        line = f"{name:<17}"
        for n in sizes:
            p50, p95 = results[n][name]
            ratio = p95 / results[base][name][1]
            line += f"{f'{p50:.0f} / {p95:.0f}' + (f' ({ratio:.1f}x)' if n != base else ''):>22}"
        if args.project and len(sizes) > 1:
            a, b = sizes[-2], sizes[-1]
            # the slope of the medians: a p95 of 20 fetches on a shared machine is one slow fetch
            slope = max(0.0, (results[b][name][0] - results[a][name][0]) / (b - a))  # fell: flat
            line += f"{f'p95 ~{results[b][name][1] + slope * (args.project - b):.0f}':>22}"
        print(line)
    if args.project and len(sizes) > 1:
        print(f"projected: p95 at {sizes[-1]:,} plus the per-document slope of the p50 between the "
              f"{sizes[-2]:,} and {sizes[-1]:,} corpora (0 when it fell) times the remaining documents "
              "(linear; not measured)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
