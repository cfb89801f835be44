"""``stenogram backfill``: the sources' pages from a web archive, through the crawl machinery.

The command is a crawl of one spider (:mod:`stenogram.crawler.spiders.backfill`) run by
:func:`stenogram.crawler.runner.run_crawl`, under the same lock on ``OUT/crawl.lock``, into the
same WARC folder, ``state.db`` and corpus as ``stenogram crawl``.

Exit status: 0 done; 1 something failed; 2 bad arguments; 69 (EX_UNAVAILABLE) the archive kept
refusing (HTTP 429/5xx after the waits it asked for, refused connections) or its CDX server
could not be read at all: stopped, what was not fetched is owed and the same command resumes
it later; 76 (EX_PROTOCOL) the archive broke a listing (a page repeated, an empty page with a
resume key, a listing that does not move forward): that listing stopped, the rest was done;
75 another crawl or backfill holds the lock; 130 stopped by Ctrl-C/SIGTERM. Each stop is one
``stenogram backfill:`` line on stderr.
"""
from __future__ import annotations

import sys

import click

from stenogram.cli import _pairs  # KEY=VALUE options, parsed as `stenogram crawl` does
from stenogram.inputs import OutputDir

EXIT_OK, EXIT_ERRORS, EXIT_USAGE, EXIT_REFUSED, EXIT_LOCKED, EXIT_PROTOCOL, EXIT_INTERRUPTED = 0, 1, 2, 69, 75, 76, 130


@click.command()
@click.argument("sources", nargs=-1)
@click.option("--archive", required=True, metavar="URL",
              help="The archive's replay prefix: https://web.archive.org/web, or a pywb "
                   "collection such as http://127.0.0.1:8080/my-coll.")
@click.option("--cdx", "cdx_url", metavar="URL",
              help="Its CDX endpoint (default: web.archive.org's, else ARCHIVE/cdx as pywb).")
@click.option("--from", "from_ts", metavar="YYYY[MMDD…]", help="Only captures from this time on.")
@click.option("--to", "to_ts", metavar="YYYY[MMDD…]", help="Only captures up to this time.")
@click.option("--list", "list_only", is_flag=True,
              help="Only list what would be fetched and how long it would take; fetch no capture.")
@click.option("--out", "out_dir", default="data", show_default=True,
              type=OutputDir(), help="Folder for warc/ and corpus.db.")
@click.option("--base-url", "base_urls", multiple=True, metavar="SOURCE=URL",
              help="Ask for captures of another copy of a source's site (e.g. the sample site).")
@click.option("--set", "-s", "settings", multiple=True, metavar="NAME=VALUE",
              help="A Scrapy setting, as `scrapy crawl -s` (BACKFILL_DELAY=SECONDS...).")
@click.option("--loopback", is_flag=True,
              help="No politeness delays: only for an archive on 127.0.0.0/8 (tests).")
@click.option("--verbose", "-v", is_flag=True, help="Show Scrapy's log on the terminal too.")
def backfill(sources, archive, cdx_url, from_ts, to_ts, list_only, out_dir, base_urls, settings,
             loopback, verbose):
    """Fetch the sources' transcript pages as a web archive kept them (CDX API + id_)."""
    from rich.console import Console

    from stenogram.crawler import cdx
    from stenogram.crawler.runner import (KNOWN_SOURCES, LOOPBACK_SETTINGS, CrawlLocked, SpiderNotStarted, check_crawl,
                                          crawl_lock, run_crawl)
    from stenogram.crawler.storage import StorageUnavailable

    console = Console()
    overrides = dict(LOOPBACK_SETTINGS) if loopback else {}
    overrides.update(_pairs(settings, "--set"))
    base_urls = _pairs(base_urls, "--base-url")
    try:
        unknown = set(sources) - set(KNOWN_SOURCES)
        if unknown:
            raise ValueError(f"unknown source(s): {', '.join(sorted(unknown))}; known: {', '.join(KNOWN_SOURCES)}")
        check_crawl([], base_urls, overrides)  # the sources' URLs and the -s values
        check_archive(archive, cdx_url, loopback_only=str(overrides.get("SCOPE_LOOPBACK_ONLY", "")).lower()
                      in ("1", "true"))
        cdx.normalise_bound(from_ts, "from")
        cdx.normalise_bound(to_ts, "to")
    except ValueError as exc:
        click.echo(f"stenogram backfill: {exc}", err=True)
        sys.exit(EXIT_USAGE)
    args = {"sources": ",".join(sources), "site_urls": ",".join(f"{k}={v}" for k, v in base_urls.items()),
            "from_ts": from_ts, "to_ts": to_ts, "list_only": list_only, "cdx_url": cdx_url}
    if list_only:  # a dry run: nothing archived, owed or ingested
        overrides.update({"WARC_ENABLED": False, "RECRAWL_ENABLED": False, "FRONTIER_ENABLED": False,
                          "ITEM_PIPELINES": {}})
    try:
        with crawl_lock(out_dir):
            result = run_crawl(["backfill"], out_dir=out_dir, base_urls={"backfill": archive},
                               settings=overrides, spider_args={"backfill": args}, log_file=True,
                               verbose=verbose, known_sources=("backfill",))
    except CrawlLocked as exc:
        console.print(f"[red]not backfilling:[/red] {exc}")
        sys.exit(EXIT_LOCKED)
    except StorageUnavailable as exc:
        from rich.markup import escape

        console.print(f"[red]not backfilling:[/red] {escape(str(exc))}", highlight=False, soft_wrap=True)
        sys.exit(EXIT_ERRORS)
    except SpiderNotStarted as exc:  # e.g. a -s naming a component that does not load
        from rich.markup import escape

        console.print(f"[red]failed:[/red] {escape(str(exc))}", highlight=False, soft_wrap=True)
        sys.exit(EXIT_ERRORS)
    stats = result.stats.get("backfill", {})
    if list_only:
        print_listing(stats, archive, console)
        if result.interrupted:
            sys.exit(EXIT_INTERRUPTED)
        exit_on_stop(stats)
        sys.exit(EXIT_OK if stats.get("finish_reason") == "finished" else EXIT_ERRORS)
    from stenogram.report import print_summary, summarise

    summary = summarise(result)
    print_summary(summary, result, console)
    count = lambda key: int(stats.get(f"stenogram/backfill/{key}", 0))  # noqa: E731
    console.print(f"From the archive: {count('cdx_pages')} CDX page(s), {count('captures_listed')} "
                  f"capture(s) to fetch ({count('collapsed')} more with a payload already chosen, "
                  f"{count('not_transcript_url')} not transcript pages), {count('refused')} refused",
                  highlight=False)
    if result.interrupted:
        sys.exit(EXIT_INTERRUPTED)
    exit_on_stop(stats)
    sys.exit(EXIT_OK if summary.ok else EXIT_ERRORS)


def exit_on_stop(stats: dict) -> None:
    """When the archive stopped the run (refusals, a CDX server that cannot be read, a broken
    listing): one ``stenogram backfill:`` line on stderr and its exit status; else nothing."""
    from stenogram.crawler.spiders.backfill import ARCHIVE_REFUSED, ARCHIVE_UNAVAILABLE

    owed = stats.get("stenogram/backfill/owed_at_close", 0)
    reason = stats.get("finish_reason")
    if reason == ARCHIVE_REFUSED:
        click.echo(f"stenogram backfill: stopped: the archive kept refusing (HTTP 429/5xx, refused "
                   f"connections); {owed} request(s) owed, run the same command later to resume", err=True)
        sys.exit(EXIT_REFUSED)
    if reason == ARCHIVE_UNAVAILABLE:
        said = stats.get("stenogram/backfill/stopped_because") or "the archive's CDX server could not be read"
        click.echo(f"stenogram backfill: stopped: {said}", err=True)
        sys.exit(EXIT_REFUSED)
    broken = int(stats.get("stenogram/backfill/cdx_broken", 0))
    if broken:
        first = stats.get("stenogram/backfill/cdx_broken_message", "")
        more = f" (and {broken - 1} more listing(s))" if broken > 1 else ""
        click.echo(f"stenogram backfill: {first}{more}; the rest was done, run the same command to "
                   f"list again", err=True)
        sys.exit(EXIT_PROTOCOL)


def check_archive(archive: str, cdx_url: str | None, loopback_only: bool) -> None:
    """ValueError, in one line, for a bad ``--archive``/``--cdx`` URL (cdx.check_archive_urls)."""
    from stenogram.crawler.cdx import check_archive_urls

    check_archive_urls({"--archive": archive, "--cdx": cdx_url}, loopback_only, "backfills")


def print_listing(stats: dict, archive: str, console) -> None:
    """``--list``: per source, the captures listed and those that would be fetched, and how long
    that takes at one request per configured delay (computed, not measured)."""
    from stenogram.crawler import cdx

    delay = float(stats.get("stenogram/backfill/delay", 0))
    prefix = "stenogram/backfill/list/"
    sources = sorted({k[len(prefix):].split("/")[0] for k in stats if k.startswith(prefix)})
    console.print(f"backfill --list from {archive}", highlight=False)
    total = 0
    for source in sources:
        listed = int(stats.get(f"{prefix}{source}/listed", 0))
        fetch = int(stats.get(f"{prefix}{source}/captures", 0))
        total += fetch
        console.print(f"  {source:<16} {listed:>8,} CDX rows  {fetch:>8,} captures to fetch", highlight=False)
    pages = int(stats.get("stenogram/backfill/cdx_pages", 0))
    console.print(f"  total {total:,} captures: {cdx.duration_text(total, delay)} at one request every "
                  f"{delay:g} s (computed: {total:,} x {delay:g} s; {pages} CDX page(s) read)",
                  highlight=False)
