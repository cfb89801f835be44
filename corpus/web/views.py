"""What the web pages show, computed from the corpus with plain SQL (no server needed).

Why plain functions of a ``sqlite3.Connection``: Datasette runs them in its thread pool
(``Database.execute_fn``), and tests call them directly on a crawled corpus.
"""
from __future__ import annotations

import html
import json
import re
from collections import Counter, defaultdict

from stenogram.corpus.web.links import web_url

SOURCE_NAMES = {"mid": "mid.ru", "mid_archive": "archive.mid.ru", "globalsecurity": "globalsecurity.org",
                "interaffairs": "interaffairs.ru", "mid_domino": "mid.ru (Domino, 2004–2015)"}


def _rows(conn, sql: str, params=()) -> list[dict]:
    cur = conn.execute(sql, params)
    cols = [c[0] for c in cur.description]
    return [dict(zip(cols, row)) for row in cur.fetchall()]


def _json_list(value) -> list:
    try:
        out = json.loads(value or "[]")
    except (TypeError, ValueError):
        return []
    return out if isinstance(out, list) else []


# ---------------------------------------------------------------- search
def search(conn, text: str, limit: int = 20, offset: int = 0) -> list[dict]:
    """Search results for a page: ``corpus.search.search`` (any text is a query; morphology)."""
    from stenogram.corpus.search import search as corpus_search

    return corpus_search(conn, text, limit=limit, offset=offset)


# ---------------------------------------------------------------- coverage
def coverage(conn) -> dict:
    """Documents per month per (source, language): {"months": [...], "series": {label: Counter}}."""
    from stenogram.corpus.coverage import has_counts

    counts: dict[str, Counter] = defaultdict(Counter)
    months = set()
    if has_counts(conn):  # the maintained aggregate (schema.DOCUMENT_COUNTS): no scan of documents
        rows = conn.execute("SELECT month, language, sources, sum(n) FROM document_counts "
                            "WHERE month != '' GROUP BY month, language, sources")
    else:  # a corpus from before the aggregate, opened read-only
        rows = ((date[:7], language, sources, 1) for date, language, sources
                in conn.execute("SELECT date, language, sources FROM documents")
                if date and len(date) >= 7)
    for month, language, sources, n in rows:
        months.add(month)
        for source in _json_list(sources) or ["?"]:
            counts[f"{SOURCE_NAMES.get(source, source)} · {language or '?'}"][month] += n
    if not months:
        return {"months": [], "series": {}}
    lo, hi = min(months), max(months)
    y, m = int(lo[:4]), int(lo[5:7])
    span = []
    while f"{y:04d}-{m:02d}" <= hi:
        span.append(f"{y:04d}-{m:02d}")
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    return {"months": span, "series": dict(sorted(counts.items()))}


def coverage_years(conn) -> dict:
    """Documents per year of their date, every year from the first on (corpus.coverage):
    {"years": [(year, n), ...], "undated": n, "peak": n}."""
    from stenogram.corpus.coverage import per_year

    counts, undated = per_year(conn)
    return {"years": list(counts.items()), "undated": undated, "peak": max(counts.values(), default=0)}


def coverage_svg(data: dict) -> str:
    """A heat strip per source and language, one cell per month: a gap shows as a run of empty
    cells without a query. Inline SVG built here: nothing fetched by the browser."""
    months, series = data["months"], data["series"]
    if not months:
        return '<p class="coverage-empty">No dated documents yet.</p>'
    cell, gap, label_w, top = max(3, min(14, 900 // len(months))), 1, 210, 22
    width = label_w + len(months) * (cell + gap) + 10
    height = top + len(series) * (cell * 2 + 4) + 20
    peak = max((max(c.values()) for c in series.values()), default=1)
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" class="coverage-chart" role="img" '
           f'width="{width}" height="{height}" viewBox="0 0 {width} {height}">',
           '<title>Documents per month per source and language</title>']
    for i, month in enumerate(months):
        if month.endswith("-01") or i == 0:
            x = label_w + i * (cell + gap)
            out.append(f'<text x="{x}" y="14" class="year">{month[:4]}</text>'
                       f'<line x1="{x}" y1="16" x2="{x}" y2="{height - 18}" class="yearline"/>')
    for row, (label, counter) in enumerate(series.items()):
        y = top + row * (cell * 2 + 4)
        out.append(f'<text x="0" y="{y + cell + 4}" class="label">{html.escape(label)}'
                   f' ({sum(counter.values())})</text>')
        for i, month in enumerate(months):
            n = counter.get(month, 0)
            x = label_w + i * (cell + gap)
            if n:
                shade = 0.25 + 0.75 * n / peak
                out.append(f'<rect x="{x}" y="{y}" width="{cell}" height="{cell * 2}" class="month" '
                           f'fill-opacity="{shade:.2f}"><title>{html.escape(label)} {month}: {n} '
                           f'document{"s" if n != 1 else ""}</title></rect>')
            else:
                out.append(f'<rect x="{x}" y="{y}" width="{cell}" height="{cell * 2}" class="empty"/>')
    out.append(f'<text x="{label_w}" y="{height - 4}" class="legend">{months[0]} – {months[-1]}; '
               f'darker = more documents (max {peak} in a month); grey = none</text>')
    out.append("</svg>")
    return "".join(out)


# ---------------------------------------------------------------- replay links
def wayback_timestamp(fetched_at: str | None) -> str:
    digits = re.sub(r"\D", "", fetched_at or "")[:14]
    return digits.ljust(14, "0") if digits else ""


def replay_url(replay_base: str | None, capture: dict) -> str | None:
    """The capture as archived, replayed by pywb from the WARC (``<base>/<ts>mp_/<url>``).

    A page fetched from a web archive (``via``) sits in the WARC under the archive's ``id_`` URL
    for its capture time (``stenogram backfill``), so that is the URL replayed."""
    if not replay_base or not web_url(capture.get("url")):
        return None  # pywb replays only web pages; a javascript: "URL" gets no link at all
    url = capture["url"]
    if web_url(capture.get("via")) and capture.get("archived_at"):
        url = f"{capture['via'].rstrip('/')}/{wayback_timestamp(capture['archived_at'])}id_/{url}"
    return f"{replay_base.rstrip('/')}/{wayback_timestamp(capture.get('fetched_at'))}mp_/{url}"


# ---------------------------------------------------------------- a transcript
def transcript(conn, doc_id: int, replay_base: str | None = None) -> dict | None:
    docs = _rows(conn, "SELECT * FROM documents WHERE id = ?", (doc_id,))
    if not docs:
        return None
    doc = docs[0]
    doc["participants_list"] = _json_list(doc.get("participants"))
    doc["sources_list"] = _json_list(doc.get("sources"))
    turns = [t for t in _json_list(doc.get("turns")) if isinstance(t, dict)]
    doc["turns_list"] = [{"speaker": t.get("speaker") or "", "speaker_id": t.get("speaker_id") or "",
                          "paragraphs": [p for p in str(t.get("text") or "").split("\n") if p.strip()]}
                         for t in turns]
    doc["paragraphs"] = [p for p in (doc.get("text") or "").split("\n") if p.strip()]
    # SELECT *: a corpus from before schema 6 (opened read-only, never migrated) has no
    # archived_at/via columns
    captures = _rows(conn, "SELECT * FROM captures WHERE document_id = ? ORDER BY fetched_at, id", (doc_id,))
    for c in captures:
        c["replay_url"] = replay_url(replay_base, c)
        c["seen_at"] = c.get("archived_at") or c["fetched_at"]  # an archive's capture: its time
    captures.sort(key=lambda c: (c["seen_at"] or "", c["id"]))
    doc["captures"] = captures
    seen: dict[str, dict] = {}
    for c in captures:
        entry = seen.setdefault(c["url"], {"url": c["url"], "source": c["source"], "first": c["seen_at"],
                                           "last": c["seen_at"], "n": 0, "replay_url": c["replay_url"]})
        entry["n"] += 1
        entry["last"] = c["seen_at"]
    for v in _rows(conn, "SELECT url, source, first_seen FROM versions WHERE document_id = ?", (doc_id,)):
        seen.setdefault(v["url"], {"url": v["url"], "source": v["source"], "first": v["first_seen"],
                                   "last": v["first_seen"], "n": 0, "replay_url": None})
    canonical = doc.get("canonical_url")
    doc["other_urls"] = [u for url, u in sorted(seen.items()) if url != canonical]
    doc["n_seen_urls"] = len(seen)
    # the cite line: the canonical URL's earliest capture of the canonical text
    pick = [c for c in captures if c["url"] == canonical and c["version_id"] == doc.get("canonical_version_id")] \
        or [c for c in captures if c["url"] == canonical] or captures
    cite = pick[0] if pick else None
    doc["cite"] = {
        "title": doc.get("title"), "date": doc.get("date"), "url": canonical,
        "archived": cite["replay_url"] if cite else None,
        "record": cite["warc_record_id"] if cite else None,
        "warc": f"{cite['warc_file']}#{cite['warc_offset']}" if cite else None,
        "retrieved": (cite["fetched_at"] or "")[:10] if cite else None,
    }
    return doc


# ---------------------------------------------------------------- history
def diff_html(old: dict, new: dict) -> str:
    """The word-level diff of two versions, as the project's ``corpus.diff`` renders it."""
    from stenogram.corpus.diff import diff_html as corpus_diff_html

    return corpus_diff_html(old, new)


def history(conn, doc_id: int, replay_base: str | None = None) -> dict | None:
    """Versions in the order first seen, each told apart: the first text, a silent edit (a
    new text at a URL that had another: diffed against it) or a mirror variant (a text seen
    at another URL: diffed against the canonical text), and every capture on one timeline."""
    doc = transcript(conn, doc_id, replay_base)
    if doc is None:
        return None
    versions = _rows(conn, "SELECT * FROM versions WHERE document_id = ? ORDER BY first_seen, id", (doc_id,))
    by_id = {v["id"]: v for v in versions}
    canonical = by_id.get(doc.get("canonical_version_id")) or (versions[0] if versions else None)
    last_at_url: dict[str, dict] = {}
    for n, v in enumerate(versions):
        key = v.get("url_key") or v.get("url")
        before = last_at_url.get(key)
        if before is not None:
            v["kind"], v["against"] = "silent edit", before
        elif n == 0:
            v["kind"], v["against"] = "first text", None
        else:
            v["kind"], v["against"] = "mirror variant", canonical if canonical is not v else versions[0]
        v["diff_html"] = diff_html(v["against"], v) if v["against"] is not None else None
        v["captures"] = [c for c in doc["captures"] if c["version_id"] == v["id"]]
        last_at_url[key] = v
    doc["versions"] = versions
    doc["edits"] = [v for v in versions if v["kind"] == "silent edit"]
    timeline = [{"at": v["first_seen"], "what": v["kind"], "version": v["id"], "url": v["url"],
                 "source": v["source"], "replay_url": None} for v in versions]
    timeline += [{"at": c["seen_at"], "what": "capture" if c["match"] != "revisit" else "revisit",
                  "version": c["version_id"], "url": c["url"], "source": c["source"],
                  "replay_url": c["replay_url"], "match": c["match"]} for c in doc["captures"]]
    doc["timeline"] = sorted(timeline, key=lambda e: (e["at"] or "", e["what"] == "capture"))
    return doc
