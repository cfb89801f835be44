"""`stenogram demo`: serve the bundled sample site on loopback, crawl all of it, edit, recrawl, report.

The numbers printed are the crawl's own (Scrapy stats, WARC files on disk, corpus rows), so the
demo doubles as a smoke test of the whole pipeline: spider -> archive -> extract -> corpus. Then
the sample site silently edits one transcript (same URL, new text, as mid.ru does) and mid.ru is
crawled again with every page due, so the corpus ends with a document that has two versions
at one URL: what `stenogram serve` shows as a highlighted edit in the transcript's history.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from rich.text import Text

from stenogram.crawler.runner import LOOPBACK_SETTINGS, SOURCES, crawl_lock, run_crawl
from stenogram.report import print_summary, summarise


def silent_edits(db_path: Path) -> list[tuple[int, str, str, int]]:
    """(document id, title, url, versions at that url) for every URL with more than one text."""
    from stenogram.corpus.access import open_readonly

    con = open_readonly(db_path)
    try:
        return con.execute(
            "SELECT v.document_id, d.title, min(v.url), count(*) FROM versions v "
            "JOIN documents d ON d.id = v.document_id GROUP BY v.document_id, v.url_key "
            "HAVING count(*) > 1 ORDER BY v.document_id").fetchall()
    finally:
        con.close()


def recrawl_after_edit(site, data_dir: Path) -> subprocess.CompletedProcess:
    """Crawl mid.ru again with every page due. In a child process: Scrapy's reactor runs once
    per process, and the first crawl used this one."""
    args = [sys.executable, "-c", "from stenogram.cli import main; main()", "crawl", "mid", "--loopback", "--out", str(data_dir),
            "--base-url", f"mid={site.base_urls['mid']}", "-s", "RECRAWL_FORCE=True"]
    return subprocess.run(args, capture_output=True, text=True, timeout=600)


def run_demo(data_dir: Path, size: int = 40, seed: int = 1, console=None, edit: bool = True):
    """Crawl a freshly started sample site into ``data_dir``, then (``edit``) edit one transcript
    silently and recrawl mid.ru; return (summary, result) of the first crawl
    (``result.edit_recrawl_ok`` is False when the recrawl failed)."""
    from stenogram.sample_site.server import SampleSite

    data_dir = Path(data_dir)
    with SampleSite(port=0, size=size, seed=seed) as site:
        if console is not None:
            for source in SOURCES:  # the sources the demo crawls (not mid_domino: see crawler.runner)
                console.print(Text(f"sample site: {source:15} {site.base_urls[source]}"))  # data, not markup
        with crawl_lock(data_dir):
            result = run_crawl(SOURCES, out_dir=data_dir, base_urls=site.base_urls, settings=LOOPBACK_SETTINGS)
        summary = summarise(result)
        if console is not None:
            print_summary(summary, result, console)
        if not edit:
            return summary, result
        edited = site.silent_edits(1)
        if console is not None:
            for t in edited:
                console.print(Text(f"\nsilent edit on the sample site: {site.base_urls['mid']}"
                                   f"{t.copies['mid'].path}; crawling mid again..."))
        proc = recrawl_after_edit(site, data_dir)
    result.edit_recrawl_ok = proc.returncode == 0
    if proc.returncode != 0:
        if console is not None:
            console.print(Text(f"the recrawl after the edit failed (exit {proc.returncode}):\n"
                               f"{(proc.stdout + proc.stderr)[-2000:]}"))
        return summary, result
    if console is not None:
        edits = silent_edits(result.db_path)
        console.print(Text(f"Silent edits in the corpus (two texts at one URL): {len(edits)}"))
        for doc_id, title, url, n in edits[:5]:
            console.print(Text(f"  document {doc_id}: {n} versions at {url} - {title[:60]}"))
        show_search_by_speaker_and_date(result.db_path, console)
        show_edit_feed_and_release(result.db_path, data_dir, console)
        console.print(Text(f"Read them: {serve_hint(result.db_path)}"))
    return summary, result


def show_search_by_speaker_and_date(db_path: Path, console) -> None:
    """The corpus is searchable by speaker and date: what Lavrov himself said, in a date range."""
    from stenogram.corpus.search import Filters, run

    dated = run(str(db_path), "", Filters(speaker="Lavrov"), limit=1, counts=True)
    years = sorted(y for y in (dated.counts or {}).get("year", {}) if y[:1].isdigit())
    if not years:
        console.print(Text("Search by speaker: no dated transcript with Lavrov's turns"), soft_wrap=True)
        return
    window = Filters(speaker="Lavrov", date_from=years[0], date_to=years[-1])
    found = run(str(db_path), "Russia", window, limit=1, counts=False)
    console.print(Text(f"Searchable by speaker and date: {dated.total} transcript(s) with Lavrov's own "
                       f"turns; 'Russia' in his words {years[0]}-{years[-1]}: {found.total} "
                       f"(`stenogram search --speaker Lavrov --from {years[0]} --to {years[-1]} Russia`)"),
                  soft_wrap=True)


def show_edit_feed_and_release(db_path: Path, data_dir: Path, console) -> None:
    """What a researcher takes away: the edit in the feed, and a release verified by its sums."""
    from stenogram.corpus.access import open_readonly
    from stenogram.corpus.edits import recent_edits, since_bound
    from stenogram.corpus.release import make_release, verify_sums

    conn = open_readonly(db_path)
    try:
        edits = recent_edits(conn, since_bound("1970-01-01"))
    finally:
        conn.close()
    console.print(Text(f"In the edit feed (/-/edits.atom when served; `stenogram edits --since DATE`): "
                       f"{len(edits)} edit(s)"), soft_wrap=True)
    parent = Path(data_dir) / "releases"
    folder = parent / "demo"
    for n in range(2, 1000):  # a release is written once: a demo run again gets a new folder
        if not folder.exists():
            break
        folder = parent / f"demo-{n}"
    release = make_release(db_path, folder, command="stenogram demo")
    checked, failed = verify_sums(release.folder)
    verdict = f"SHA256SUMS verified ({checked} files)" if not failed else f"SHA256SUMS FAILED: {failed}"
    console.print(Text(f"Release {release.name}: {release.folder} ({release.counts.get('documents', 0)} "
                       f"documents, {release.counts.get('versions', 0)} versions): {verdict}"), soft_wrap=True)


def serve_hint(db_path) -> str:
    """The command that serves this corpus, as the user can type it here and now.

    `make demo` runs the venv's ``stenogram`` without putting the venv on PATH, so a bare
    ``stenogram serve`` would not run; and replay needs pywb, which ``make serve`` builds
    (tools/setup-tools.sh) before serving ``data/``.
    """
    script = Path(sys.executable).parent / "stenogram"
    on_path = shutil.which("stenogram")
    if on_path and Path(on_path).resolve() == script.resolve():
        command = "stenogram"
    else:
        command = os.path.relpath(script) if script.is_relative_to(Path.cwd()) else str(script)
    hint = f"{command} serve --db {db_path}"
    if Path("Makefile").is_file() and Path(db_path).resolve().parent == Path("data").resolve():
        return f"make serve   (or: {hint})"
    return hint
