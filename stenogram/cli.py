"""The `stenogram` command: one click group gathering each package's commands.

Each package keeps its commands next to its Python API (``archive/cli.py``, ``extract/cli.py``,
``corpus/cli.py``, ``stenogram/sample_site/cli.py``), so the CLI mirrors the library.
Those modules are imported lazily (click's LazyGroup pattern): ``stenogram extract page.html``
loads only extract/cli.py, never scrapy, datasketch or scipy, so a one-page command starts fast.
"""
from __future__ import annotations

import importlib
import sys

import click

from stenogram import __version__
from stenogram.exit_codes import help_epilog
from stenogram.inputs import EX_DATAERR, EX_IOERR, EX_USAGE, Bounded, OutputDir, ReplaySource

# command name -> ("module:attribute", one-line help shown by `stenogram --help` without importing
# the module). tests/test_cli_startup.py checks each line equals the command's own short help.
LAZY_COMMANDS: dict[str, tuple[str, str]] = {
    "sample-site": ("stenogram.sample_site.cli:sample_site",
        "Serve the sample site on 127.0.0.1 and print the base-URL map as JSON."),
    "index": ("stenogram.archive.cli:index",
        "Rebuild NAME.cdxj beside each WARC (files, or directories of *.warc.gz / *.warc)."),
    "wacz": ("stenogram.archive.cli:wacz",
        "Package WARC files (or directories of them) as a WACZ 1.1.1 file."),
    "salvage": ("stenogram.archive.cli:salvage",
        "Close the WARCs a killed crawl left .open (complete records kept, index rebuilt)."),
    "extract": ("stenogram.extract.cli:extract_cmd",
        "Extract one saved HTML PAGE and print the transcript as one JSON object."),
    "eval-extract": ("stenogram.extract.cli:eval_extract",
        "Score stenogram's extractor and plain trafilatura on the gold set."),
    "reprocess": ("stenogram.corpus.cli:reprocess",
        "Build or update the corpus from WARC files or directories (idempotent)."),
    "export": ("stenogram.corpus.cli:export",
        "Export one record per document with its provenance (captures)."),
    "release": ("stenogram.corpus.cli:release",
        "Write a versioned, reproducible dataset release (Parquet, JSONL, card, checksums)."),
    "edits": ("stenogram.corpus.cli:edits",
        "List the silent edits found since a date, newest first, with their WARC records."),
    "diff": ("stenogram.corpus.cli:diff",
        "Show a document's edits word by word, older version first."),
    "search": ("stenogram.corpus.cli:search",
        "Search the transcripts, best hits first (the same search as the web page /-/search)."),
    "serve": ("stenogram.corpus.cli:serve",
        "Read, search and cite the corpus in a browser: Datasette + pywb replay of the WARCs."),
    "backfill": ("stenogram.crawler.cli:backfill",
        "Fetch the sources' transcript pages as a web archive kept them (CDX API + id_)."),
}

EXIT_OK, EXIT_ERRORS, EXIT_LOCKED = 0, 1, 75
EXIT_INTERRUPTED = 130  # stopped by Ctrl-C/SIGTERM (crawler/shutdown.py): WARCs closed, the rest owed
EXIT_DRIFT = 3  # `crawl --fail-on-drift`: no errors, but a source's markup may have changed
EXIT_EDITS = 4  # `crawl --exit-on-edits`: no errors, and this crawl found silent edits (docs/edits.md)


class LazyGroup(click.Group):
    """A click group whose commands are imported only when invoked (click docs, "Lazily Loading
    Subcommands"). The group's own help lists the stored one-line helps instead of importing every
    command module: importing them all cost ~0.7 s (trafilatura, cdxj_indexer, datasketch -> scipy)."""

    def __init__(self, *args, lazy_commands: dict[str, tuple[str, str]] | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.lazy_commands = dict(lazy_commands or {})

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *self.lazy_commands})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in self.lazy_commands and cmd_name not in self.commands:
            self.add_command(self.load_lazy(cmd_name), cmd_name)
        command = super().get_command(ctx, cmd_name)
        if command is not None and command.epilog is None:
            command.epilog = help_epilog()  # every command's --help ends with the exit statuses
        return command

    def load_lazy(self, cmd_name: str) -> click.Command:
        path, _ = self.lazy_commands[cmd_name]
        module_name, _, attr = path.partition(":")
        command = getattr(importlib.import_module(module_name), attr)
        if not isinstance(command, click.Command):
            raise TypeError(f"{path} is not a click command")
        return command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        names = self.list_commands(ctx)
        limit = formatter.width - 6 - max(map(len, names), default=0)  # as click.Group's
        rows = []
        for name in names:
            command = self.commands.get(name)
            if command is None:  # same truncation as click's, without importing the module
                command = click.Command(name, short_help=self.lazy_commands[name][1])
            if not command.hidden:
                rows.append((name, command.get_short_help_str(limit)))
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)


@click.group(cls=LazyGroup, lazy_commands=LAZY_COMMANDS)
@click.version_option(__version__, prog_name="stenogram")
def cli() -> None:
    """Archive diplomatic transcripts to WARC and build a clean SQLite corpus."""


def _pairs(values: tuple[str, ...], what: str) -> dict[str, str]:
    out = {}
    for value in values:
        key, sep, val = value.partition("=")
        if not sep:
            raise click.BadParameter(f"expected KEY=VALUE, got {value!r}", param_hint=what)
        out[key.strip()] = val.strip()
    return out


@cli.command()
@click.argument("sources", nargs=-1)
@click.option("--out", "out_dir", default="data", show_default=True, type=OutputDir(),
              help="Folder for warc/ and corpus.db.")
@click.option("--base-url", "base_urls", multiple=True, metavar="SOURCE=URL",
              help="Crawl another copy of a source (e.g. the sample site) instead of the live site.")
@click.option("--set", "-s", "settings", multiple=True, metavar="NAME=VALUE", help="A Scrapy setting, as `scrapy crawl -s`.")
@click.option("--loopback", is_flag=True, help="No politeness delays: only for the local sample site.")
@click.option("--replay", "replay_from", multiple=True, type=ReplaySource(),
              help="Answer requests from these WARC/WACZ files or folders instead of the network.")
@click.option("--fail-on-drift", is_flag=True,
              help="Exit 3 when a source's markup may have changed (see STENOGRAM_DRIFT_THRESHOLD).")
@click.option("--exit-on-edits", is_flag=True,
              help="Exit 4 when this crawl found silent edits (for cron; see docs/edits.md).")
@click.option("--verbose", "-v", is_flag=True,
              help="Show Scrapy's log on the terminal too (it always goes to OUT/logs/CRAWL_ID.log).")
@click.option("--progress/--no-progress", default=None,
              help="Live progress per source (default: only when stdout is a terminal).")
@click.option("--redis", "redis_url", metavar="URL",
              help="Be one of many workers sharing the queue, duplicate filter and recrawl state "
                   "in Redis (redis://HOST:PORT/DB); see README, Scale-out.")
@click.option("--discover-from", "discover_from", metavar="ARCHIVE",
              help="Also fetch live every article URL this web archive's CDX index lists for each "
                   "source (its back catalogue); a page the live site refuses (anti-bot wall, "
                   "403/451, 404/410) is taken from the archive's copy, with via provenance. ARCHIVE "
                   "is the replay prefix: https://web.archive.org/web or a pywb collection URL. "
                   "See docs/discover.md.")
@click.option("--discover-cdx", "discover_cdx", metavar="URL",
              help="The --discover-from archive's CDX endpoint (default: web.archive.org's, else ARCHIVE/cdx as pywb).")
def crawl(sources, out_dir, base_urls, settings, loopback, replay_from, fail_on_drift, exit_on_edits,
          verbose, progress, redis_url, discover_from, discover_cdx):
    """Crawl SOURCES (default: all live sites; mid_domino only when named) into --out; exit 1 if
    anything failed, 75 if locked, 130 if stopped by Ctrl-C (a first Ctrl-C stops in seconds, a
    second at once)."""
    from stenogram.crawler.runner import (LOOPBACK_SETTINGS, SOURCES, CrawlLocked, SpiderNotStarted, check_crawl, crawl_lock, project_settings,
                                run_crawl)
    from stenogram.report import print_summary, summarise
    from stenogram.crawler.storage import StorageUnavailable

    from rich.console import Console

    console = Console()
    overrides = dict(LOOPBACK_SETTINGS) if loopback else {}
    if replay_from:
        from stenogram.crawler.replay import replay_settings

        overrides.update(replay_settings(replay_from))
    overrides.update(_pairs(settings, "--set"))
    base_urls = _pairs(base_urls, "--base-url")
    if discover_cdx and not discover_from:
        click.echo("stenogram crawl: --discover-cdx needs --discover-from", err=True)
        sys.exit(2)
    if discover_from:
        overrides.update({"DISCOVER_FROM": discover_from, "DISCOVER_CDX": discover_cdx})
    try:  # before the lock: a crawl that must not start creates nothing
        check_crawl(sources or SOURCES, base_urls, overrides)
        if discover_from:
            from stenogram.crawler.discover import check_archive

            check_archive(discover_from, discover_cdx,
                          loopback_only=project_settings(overrides).getbool("SCOPE_LOOPBACK_ONLY"))
        if redis_url:
            from stenogram.crawler.redis_frontier import redis_settings

            for key, value in redis_settings(redis_url, project_settings(overrides)).items():
                overrides.setdefault(key, value)  # a -s of the user's wins
    except ValueError as exc:
        click.echo(f"stenogram crawl: {exc}", err=True)
        sys.exit(2)
    if redis_url:
        from stenogram.crawler.redis_frontier import RedisUnavailable, ping, redact

        try:
            ping(redis_url, min(10.0, project_settings(overrides).getfloat("STENOGRAM_REDIS_RETRY_FOR")))
        except RedisUnavailable as exc:
            click.echo(f"stenogram crawl: --redis {redact(redis_url)}: {exc}", err=True)
            sys.exit(EXIT_ERRORS)
    try:
        with crawl_lock(out_dir):
            result = run_crawl(sources or SOURCES, out_dir=out_dir, base_urls=base_urls, settings=overrides,
                               log_file=True, verbose=verbose,
                               progress=sys.stdout.isatty() if progress is None else progress)
    except CrawlLocked as exc:
        console.print(f"[red]not crawling:[/red] {exc}")
        sys.exit(EXIT_LOCKED)
    except StorageUnavailable as exc:  # e.g. the disk was full before the crawl started
        from rich.markup import escape

        from stenogram.crawler.state import StateDamaged

        console.print(f"[red]not crawling:[/red] {escape(str(exc))}", highlight=False, soft_wrap=True)
        sys.exit(EX_DATAERR if isinstance(exc, StateDamaged) else EXIT_ERRORS)
    except SpiderNotStarted as exc:  # e.g. a -s naming a component that does not load
        from rich.markup import escape

        console.print(f"[red]failed:[/red] {escape(str(exc))}", highlight=False, soft_wrap=True)
        sys.exit(EXIT_ERRORS)
    except ValueError as exc:
        raise click.UsageError(str(exc)) from exc
    summary = summarise(result, project_settings(overrides).getfloat("STENOGRAM_DRIFT_THRESHOLD"))
    print_summary(summary, result, console)
    if discover_from:
        print_discovery(result, console)
    if result.interrupted:
        sys.exit(EXIT_INTERRUPTED)
    if summary.ok and fail_on_drift and summary.drift_alarms:
        sys.exit(EXIT_DRIFT)
    if summary.ok and exit_on_edits and summary.edited:
        sys.exit(EXIT_EDITS)
    sys.exit(EXIT_OK if summary.ok else EXIT_ERRORS)


def print_discovery(result, console) -> None:
    """``crawl --discover-from``: per source, what the archive's index added (crawler/discover.py)."""
    for source, stats in result.stats.items():
        count = lambda key: int(stats.get(f"stenogram/discover/{key}", 0))  # noqa: E731
        if not count("cdx_pages") and not count("cdx_unreadable"):
            continue
        refused = sum(v for k, v in stats.items() if k.startswith("stenogram/discover/from_archive/http_"))
        unreadable = count("cdx_unreadable")
        console.print(f"From the archive's index ({source}): {count('cdx_pages')} CDX page(s), "
                      f"{count('listed')} row(s), {count('urls')} article URL(s) asked of the live site, "
                      f"{count('from_archive')} taken from the archive's copy ({count('from_archive/wall')} "
                      f"walled, {refused} refused or gone)"
                      + (f", {unreadable} CDX answer(s) unreadable" if unreadable else ""), highlight=False)


@cli.command()
@click.option("--data", "data_dir", default="data", show_default=True, type=OutputDir())
@click.option("--size", type=Bounded(0, 100_000), default=40, show_default=True,
              help="Generated filler transcripts on the sample site.")
@click.option("--seed", type=Bounded(-2**63, 2**63 - 1), default=1, show_default=True)
def demo(data_dir, size, seed):
    """Serve the bundled sample site on 127.0.0.1, crawl all of it, write WARC + SQLite, report."""
    from rich.console import Console

    from stenogram.demo import run_demo

    summary, result = run_demo(data_dir, size=size, seed=seed, console=Console())
    sys.exit(EXIT_OK if summary.ok and getattr(result, "edit_recrawl_ok", True) else EXIT_ERRORS)


def main() -> None:
    """The console script. A failed write of the output itself (stdout on a full disk, a
    ``/dev/full``) is one line on stderr and exit 74 (EX_IOERR), not a traceback or Python's
    "Exception ignored" at exit; a closed pipe (``| head``) stays click's quiet exit."""
    try:
        try:
            cli()
        finally:
            sys.stdout.flush()
    except UnicodeEncodeError as exc:
        if "surrogates not allowed" not in str(exc):
            raise
        # a command-line argument with bytes that are not UTF-8 (Python keeps them as lone
        # surrogates), used as text: it cannot be searched for, stored or printed
        sys.stderr.write("stenogram: an argument is not UTF-8 text (bytes that are not UTF-8 can only name files)\n")
        sys.exit(EX_USAGE)
    except OSError as exc:
        import errno
        import os

        if exc.errno == errno.EPIPE:
            raise
        try:  # what is still buffered for stdout would fail again when Python exits
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
        except (OSError, ValueError):
            pass
        if exc.filename is None:  # the output stream itself
            sys.stderr.write(f"stenogram: cannot write the output: {exc.strerror or exc}\n")
        else:
            sys.stderr.write(f"stenogram: {exc.filename}: {exc.strerror or exc}\n")
        sys.exit(EX_IOERR)
