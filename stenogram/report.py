"""The one-screen report printed at the end of a crawl or the demo.

Every figure comes from what the crawl did: Scrapy's stats per spider, the WARC files on disk
and the corpus tables. Nothing here is computed from expectations.
"""
from __future__ import annotations

import sqlite3
from dataclasses import asdict, dataclass, field
from datetime import timedelta
from pathlib import Path

from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

from stenogram.crawler.settings import STENOGRAM_DRIFT_THRESHOLD
from stenogram.terminal import neutralise

#: Failures: what the crawl could not do. Resets that a retry recovered are not failures
#: (``downloader/exception_count`` counts those too), so they are not here.
ERROR_KEYS = (
    "log_count/ERROR",
    "retry/max_reached",
    "stenogram/warc_write_failed",
    "stenogram/corpus_write_failed",
    "stenogram/state_write_failed",
    "replay/nothing_found",  # a --replay crawl that found none of its URLs in the archive
)
#: Given up on purpose, with a logged reason (anti-bot pages that never cleared, Retry-After
#: beyond the limit, redirect traps). Reported, but not a failure: mid.ru serves interstitials
#: some days and cron should not page anyone for that.
GAVE_UP_KEYS = (
    "stenogram/interstitial/gave_up",
    "stenogram/retry_after/gave_up",
    "stenogram/traps/redirect_max_reached",
    "stenogram/traps/redirect_loop",  # crawler.middlewares.RedirectTrapMiddleware
)
RECRAWL_KEYS = ("new", "due", "not_modified", "changed", "skipped_not_due")
#: Template drift: above this share of a source's transcript pages read by the fallback path
#: (the profile's container missed) or refused at an article URL, the report says the site's
#: markup may have changed (`crawl --fail-on-drift`); crawler/settings.py says why this share.
DRIFT_THRESHOLD = STENOGRAM_DRIFT_THRESHOLD
DRIFT_MIN_PAGES = 3  # fewer pages than this prove nothing either way
#: Refusals that mean "no text found here", not "this is no article" (listings, interstitials).
DRIFT_REFUSALS = ("no body text", "no transcript evidence")


@dataclass
class SourceLine:
    source: str
    pages_fetched: int
    transcript_pages: int
    not_transcript: int
    errors: int
    finish_reason: str


@dataclass
class DriftLine:
    """One source's extraction paths: how many transcript pages its profile read, how many
    needed the fallback (the profile's container missed, or no profile recognised the page at
    all: the generic path, on a source that has a profile), and how many article-URL pages
    were refused for lack of text."""

    source: str
    transcripts: int = 0
    fallback: int = 0
    refused: int = 0

    @property
    def pages(self) -> int:
        return self.transcripts + self.refused

    @property
    def share(self) -> float:
        return (self.fallback + self.refused) / self.pages if self.pages else 0.0

    def alarm(self, threshold: float = DRIFT_THRESHOLD, min_pages: int = DRIFT_MIN_PAGES) -> str | None:
        """The warning in plain words, or None."""
        if self.pages < min_pages or self.share <= threshold:
            return None
        return (f"{self.source}: {self.share:.0%} of {self.pages} transcript pages needed the fallback "
                f"extraction or were refused ({self.fallback} fallback, {self.refused} refused; "
                f"threshold {threshold:.0%}): the site's markup may have changed; check a page and "
                f"update extract/profiles.toml")


def _profile_names() -> set[str]:
    from stenogram.extract.profiles import default_profiles

    return {p.name for p in default_profiles().profiles}


def _article_url(source: str | None, url: str) -> bool:
    """Whether ``url``'s path has the shape of an article on ``source`` (its profile's
    url_patterns); a refused listing or home page is no sign of drift."""
    from urllib.parse import urlsplit

    from stenogram.extract.profiles import default_profiles

    profile = next((p for p in default_profiles().profiles if p.name == source), None)
    if profile is None:
        return False
    path = urlsplit(url).path
    return not profile.url_patterns or any(p.search(path) for p in profile.url_patterns)


def _open_corpus(db_path: Path) -> sqlite3.Connection:
    """Read-only, the shared way (``corpus.access.open_readonly``): ``mode=ro`` left ``-wal``
    and ``-shm`` files beside a corpus after every report, and broke on ``?`` or ``#`` in a path."""
    from stenogram.corpus.access import open_readonly

    return open_readonly(db_path)


def drift_figures(db_path: Path | None = None, crawl_id: str | None = None, after_capture_id: int = 0,
                  con: sqlite3.Connection | None = None) -> list[DriftLine]:
    """Per source: transcript pages, those read by the fallback path, refused article pages;
    for the captures of ``crawl_id`` (all when None) with an id above ``after_capture_id``.
    ``con``: an open connection to the corpus (``reprocess`` passes its own: a second,
    read-only connection to a WAL database would leave -wal/-shm files behind)."""
    if con is None:
        if db_path is None or not Path(db_path).exists():
            return []
        own = _open_corpus(db_path)
        try:
            return drift_figures(crawl_id=crawl_id, after_capture_id=after_capture_id, con=own)
        finally:
            own.close()
    columns = {r[1] for r in con.execute("pragma table_info(captures)")}
    if "extraction_path" not in columns:
        return []  # a corpus written before extraction paths were recorded
    where = "(? IS NULL OR crawl_id = ?) AND id > ? AND source IS NOT NULL"
    args = (crawl_id, crawl_id, after_capture_id)
    lines: dict[str, DriftLine] = {}
    for source, n, fallback in con.execute(
            f"SELECT source, count(*), sum(extraction_path IN ('fallback', 'generic')) FROM captures "
            f"WHERE is_transcript = 1 AND {where} GROUP BY source", args):
        lines[source] = DriftLine(source, n, fallback or 0)
    marks = ",".join("?" * len(DRIFT_REFUSALS))
    for source, url in con.execute(
            f"SELECT source, url FROM captures WHERE is_transcript = 0 AND reason IN ({marks}) "
            f"AND {where}", (*DRIFT_REFUSALS, *args)):
        if _article_url(source, url):
            lines.setdefault(source, DriftLine(source)).refused += 1
    return [lines[s] for s in sorted(lines) if s in _profile_names()]


def drift_lines_text(lines: list[DriftLine], threshold: float = DRIFT_THRESHOLD) -> list[str]:
    """One line per source, then one warning per source above the threshold."""
    # "Extraction: globalsecurity: 1234 by profile, 12 by fallback, 3 refused" fits 80 columns
    out = [f"Extraction: {line.source}: {line.transcripts - line.fallback} by profile, "
           f"{line.fallback} by fallback, {line.refused} refused" for line in lines]
    out += [f"WARNING template drift: {w}" for w in (line.alarm(threshold) for line in lines) if w]
    return [neutralise(line) for line in out]  # source names come from the corpus


@dataclass
class CrawlSummary:
    sources: list[SourceLine] = field(default_factory=list)
    warc_files: int = 0
    warc_bytes: int = 0
    documents: int = 0
    captures: int = 0
    merged_captures: int = 0
    versions: int = 0
    new_documents: int = 0
    new_versions: int = 0
    errors: int = 0
    gave_up: int = 0
    off_scope: int = 0  # off-scope links and redirects, never fetched (crawler/scope.py)
    off_scope_by: dict[str, int] = field(default_factory=dict)
    revisits: int = 0
    recrawl: dict[str, int] = field(default_factory=dict)
    replay: dict[str, int] = field(default_factory=dict)  # replay/* stats of a --replay crawl
    shutdown: dict[str, int] = field(default_factory=dict)  # stenogram/shutdown/* (crawler/shutdown.py)
    edited: list[dict] = field(default_factory=list)  # silent edits seen by this crawl
    recheck: dict = field(default_factory=dict)  # when the known pages are next due (recheck_schedule)
    drift: list[DriftLine] = field(default_factory=list)  # extraction paths per source
    drift_threshold: float = DRIFT_THRESHOLD
    per_year: dict[int, int] = field(default_factory=dict)  # the corpus's documents per year (corpus.coverage)
    undated: int = 0

    @property
    def drift_alarms(self) -> list[str]:
        return [w for w in (line.alarm(self.drift_threshold) for line in self.drift) if w]

    def to_dict(self) -> dict:
        return asdict(self)

    @property
    def ok(self) -> bool:
        return self.errors == 0 and all(s.finish_reason == "finished" for s in self.sources)


def corpus_counts(db_path: Path) -> dict[str, int]:
    """Documents, transcript captures and captures merged into an existing document."""
    empty = {"documents": 0, "captures": 0, "merged_captures": 0, "versions": 0}
    if not Path(db_path).exists():
        return empty
    con = _open_corpus(db_path)
    try:
        one = lambda sql: con.execute(sql).fetchone()[0]  # noqa: E731
        tables = {r[0] for r in con.execute("select name from sqlite_master where type = 'table'")}
        if not {"documents", "captures", "versions"} <= tables:
            return empty  # a corpus whose creation failed (full disk): the crawl said so
        documents = one("select count(*) from documents")
        attached = one("select count(*) from captures where document_id is not null")
        return {
            "documents": documents,
            "captures": one("select count(*) from captures"),
            "merged_captures": attached - documents,
            "versions": one("select count(*) from versions"),
        }
    finally:
        con.close()


def documents_per_year(db_path: Path) -> tuple[dict[int, int], int]:
    """The corpus's documents per year of their date, and the undated (corpus.coverage)."""
    if not Path(db_path).exists():
        return {}, 0
    from stenogram.corpus.coverage import per_year

    con = _open_corpus(db_path)
    try:
        tables = {r[0] for r in con.execute("select name from sqlite_master where type = 'table'")}
        return per_year(con) if "documents" in tables else ({}, 0)
    finally:
        con.close()


def warc_totals(warc_dir: Path) -> tuple[int, int]:
    files = sorted(Path(warc_dir).glob("*.warc.gz")) if Path(warc_dir).exists() else []
    return len(files), sum(f.stat().st_size for f in files)


def summarise(result, drift_threshold: float = DRIFT_THRESHOLD) -> CrawlSummary:
    """Build the summary of a :class:`crawler.runner.CrawlResult`."""
    summary = CrawlSummary(drift_threshold=drift_threshold)
    for source, stats in result.stats.items():
        errors = sum(int(stats.get(k, 0)) for k in ERROR_KEYS)
        summary.sources.append(
            SourceLine(
                source=source,
                pages_fetched=int(stats.get("downloader/response_count", 0)),
                transcript_pages=int(stats.get("stenogram/transcript_pages", 0)),
                not_transcript=int(stats.get("stenogram/not_transcript", 0)),
                errors=errors,
                finish_reason=str(stats.get("finish_reason", "unknown")),
            )
        )
        summary.errors += errors
        summary.gave_up += sum(int(stats.get(k, 0)) for k in GAVE_UP_KEYS)
        summary.revisits += int(stats.get("warc/revisits", 0))
        summary.off_scope += int(stats.get("stenogram/offsite/refused", 0))
        for key, value in stats.items():
            if key.startswith("stenogram/offsite/refused/"):
                reason = key.rsplit("/", 1)[1]
                summary.off_scope_by[reason] = summary.off_scope_by.get(reason, 0) + int(value)
        for key, value in stats.items():
            if key.startswith("replay/"):
                name = key.split("/", 1)[1]
                summary.replay[name] = summary.replay.get(name, 0) + int(value)
        for key, value in stats.items():
            if key.startswith("stenogram/shutdown/") and isinstance(value, int):
                name = key.rsplit("/", 1)[1]
                summary.shutdown[name] = summary.shutdown.get(name, 0) + value
        for key in RECRAWL_KEYS:
            summary.recrawl[key] = summary.recrawl.get(key, 0) + int(stats.get(f"stenogram/recrawl/{key}", 0))
        summary.new_documents += int(stats.get("stenogram/documents_new", 0))
        summary.new_versions += int(stats.get("stenogram/versions_new", 0))
    summary.warc_files, summary.warc_bytes = warc_totals(result.warc_dir)
    counts = corpus_counts(result.db_path)
    summary.documents = counts["documents"]
    summary.captures = counts["captures"]
    summary.merged_captures = counts["merged_captures"]
    summary.versions = counts["versions"]
    summary.edited = silent_edits(result.db_path, result.crawl_id)
    summary.recheck = recheck_schedule(getattr(result, "state_db", None))
    summary.drift = drift_figures(result.db_path, result.crawl_id)
    summary.per_year, summary.undated = documents_per_year(result.db_path)
    return summary


#: The horizons (days) of the report's re-check schedule line.
RECHECK_HORIZONS = (1, 7, 30)


def recheck_schedule(state_db: Path | None, now=None) -> dict:
    """When the pages the crawl state knows will next be re-checked (``urls.next_due``, set by
    ``crawler.recrawl`` from ``RECRAWL_SCHEDULE``): how many are due by each of
    ``RECHECK_HORIZONS``, how many later, and the last date. An edit to a page is only seen when
    the page is due, so the operator must see this (issue 25: a default re-check every 90 days
    of an old transcript hid an edit). {} without a state file (a Redis crawl keeps it there)."""
    from stenogram.crawler.state import iso, utcnow

    if state_db is None or not Path(state_db).is_file():
        return {}
    now = now or utcnow()
    bounds = [iso(now)] + [iso(now + timedelta(days=d)) for d in RECHECK_HORIZONS]
    con = sqlite3.connect(f"file:{Path(state_db).resolve()}?mode=ro", uri=True)
    try:
        row = con.execute(
            "select count(*), max(next_due), " + ", ".join("sum(next_due <= ?)" for _ in bounds)
            + " from urls where complete = 1 and next_due is not null", bounds).fetchone()
    except sqlite3.Error:
        return {}  # a state file from an older or foreign tool: no line, the crawl said the rest
    finally:
        con.close()
    pages, last, due_now, *within = row
    if not pages:
        return {}
    return {"pages": pages, "due_now": due_now or 0,
            "within": dict(zip(RECHECK_HORIZONS, (w or 0 for w in within), strict=True)),
            "later": pages - (within[-1] or 0), "last": last}


def recheck_lines(recheck: dict) -> list[str]:
    """The report's lines for ``recheck_schedule`` (each within 80 columns)."""
    if not recheck:
        return []
    w = recheck["within"]
    return [f"Re-check schedule: {recheck['pages']} known pages; due now {recheck['due_now']}, "
            f"within 1 day {w[1]},",
            f"  within 7 days {w[7]}, within 30 days {w[30]}, later {recheck['later']} "
            f"(last {str(recheck['last'])[:10]})",
            "  An edit is seen when its page is due: RECRAWL_SCHEDULE sets how often",
            "  (docs/edits.md); -s RECRAWL_FORCE=True re-checks all now"]


def silent_edits(db_path: Path, crawl_id: str) -> list[dict]:
    """Documents whose text changed at a URL already known, as seen by crawl ``crawl_id``."""
    if not Path(db_path).exists():
        return []
    con = _open_corpus(db_path)
    con.row_factory = sqlite3.Row
    try:
        tables = {r[0] for r in con.execute("select name from sqlite_master where type = 'table'")}
        if not {"documents", "captures"} <= tables:
            return []  # a corpus whose creation failed (full disk): the crawl said so
        return [
            dict(r)
            for r in con.execute(
                "select d.id as document_id, d.title, c.url from captures c "
                "join documents d on d.id = c.document_id "
                "where c.crawl_id = ? and c.match = 'same-url' order by d.id",
                (crawl_id,),
            )
        ]
    finally:
        con.close()


def print_summary(summary: CrawlSummary, result, console: Console | None = None) -> None:
    """Print the report. Every value goes to rich as ``Text``, never as a markup string: titles
    and URLs come from pages (a title holding ``[/bold]`` crashed the report), paths and ids from
    the command line, and rich reads ``[...]`` in a string as markup and ``:name:`` as emoji
    (``markup.escape`` is not enough: it lost the backslash of a title ``\\[``). And every
    value is ``neutralise``d first: rich passes ESC, C1 and bidi controls to the terminal."""
    console = console or Console()
    # fits 80 columns: short headers, no vertical rules (tests/test_operator_view.py)
    table = Table(title=Text(neutralise(f"stenogram crawl {result.crawl_id}")), box=box.SIMPLE_HEAD, pad_edge=False)
    table.add_column("source", no_wrap=True)
    for col in ("fetched", "transcripts", "other", "errors"):
        table.add_column(col, justify="right", no_wrap=True)
    table.add_column("finish", no_wrap=True)
    for line in summary.sources:
        table.add_row(
            Text(neutralise(line.source)),
            str(line.pages_fetched),
            str(line.transcript_pages),
            str(line.not_transcript),
            str(line.errors),
            Text(neutralise(line.finish_reason)),
        )
    console.print(table)
    console.print(Text(neutralise(
        f"WARC files: {summary.warc_files} ({summary.warc_bytes:,} bytes) in {result.warc_dir}\n"
        f"Corpus: {summary.documents} documents, {summary.versions} versions, "
        f"{summary.captures} captures, {summary.merged_captures} captures merged as duplicates "
        f"-> {result.db_path}\n"
        f"This crawl: {summary.new_documents} new documents, {summary.new_versions} new versions, "
        f"{summary.revisits} revisits\n"
        f"Recrawl: " + ", ".join(f"{v} {k.replace('_', ' ')}" for k, v in summary.recrawl.items()) + "\n"
        f"Gave up (logged, not failures): {summary.gave_up}\n"
        f"Refused off scope (never fetched, not failures): {summary.off_scope}"
        + (" (" + ", ".join(f"{r.replace('_', ' ')} {n}" for r, n in sorted(summary.off_scope_by.items())) + ")"
           if summary.off_scope_by else "") + "\n"
        + (f"Replayed from the archive: {summary.replay.get('hit', 0)} served "
           f"({summary.replay.get('mapped', 0)} found by path under the archive's base URLs), "
           f"{summary.replay.get('miss', 0) + summary.replay.get('revisit_unresolved', 0)}"
           " not in the archive\n" if summary.replay else "")
        + f"Errors: {summary.errors}", multiline=True
    )))
    for schedule_line in recheck_lines(summary.recheck):
        console.print(Text(neutralise(schedule_line)))  # its last date comes from state.db
    interrupted = getattr(result, "interrupted", None)
    if interrupted:
        console.print(Text(
            f"Stopped by {interrupted}: {summary.shutdown.get('dropped', 0) + summary.shutdown.get('refused', 0)} "
            f"requests not sent (owed to the next crawl), {summary.shutdown.get('in_flight', 0)} in flight "
            f"at the signal, {summary.shutdown.get('aborted_connections', 0)} connections aborted", style="yellow"))
    from stenogram.corpus.coverage import per_year_lines

    for line in per_year_lines(summary.per_year, summary.undated):
        console.print(Text(line))
    log_file = getattr(result, "log_file", None)
    if log_file:
        console.print(Text(neutralise(f"Log: {log_file}")))
    for edit in summary.edited:
        console.print(Text(neutralise(f"  edited: document {edit['document_id']} "
                                      f"{edit['title']!r} at {edit['url']}")))
    for line in drift_lines_text(summary.drift, summary.drift_threshold):
        console.print(Text(line, style="bold red" if line.startswith("WARNING") else ""))
