"""The `stenogram` command: one click group gathering each package's commands.

Each package keeps its commands next to its Python API (``archive/cli.py``, ``extract/cli.py``,
``corpus/cli.py``, ``stenogram/sample_site/cli.py``), so the CLI mirrors the library.
"""
from __future__ import annotations

import importlib
import importlib.util
import sys
from pathlib import Path

import click
from rich.console import Console

from stenogram import __version__

COMMAND_MODULES = ("stenogram.sample_site.cli", "archive.cli", "extract.cli", "corpus.cli")

EXIT_OK, EXIT_ERRORS, EXIT_LOCKED = 0, 1, 75


@click.group()
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
@click.option("--out", "out_dir", default="data", show_default=True, type=click.Path(file_okay=False, path_type=Path),
              help="Folder for warc/ and corpus.db.")
@click.option("--base-url", "base_urls", multiple=True, metavar="SOURCE=URL",
              help="Crawl another copy of a source (e.g. the sample site) instead of the live site.")
@click.option("--set", "-s", "settings", multiple=True, metavar="NAME=VALUE", help="A Scrapy setting, as `scrapy crawl -s`.")
@click.option("--loopback", is_flag=True, help="No politeness delays: only for the local sample site.")
@click.option("--replay", "replay_from", multiple=True, type=click.Path(exists=True),
              help="Answer requests from these WARC/WACZ files or folders instead of the network.")
def crawl(sources, out_dir, base_urls, settings, loopback, replay_from):
    """Crawl SOURCES (default: all) into --out; exit 1 if anything failed, 75 if locked."""
    from crawler.runner import LOOPBACK_SETTINGS, SOURCES, CrawlLocked, crawl_lock, run_crawl
    from stenogram.report import print_summary, summarise

    console = Console()
    overrides = dict(LOOPBACK_SETTINGS) if loopback else {}
    if replay_from:
        from archive.replay import replay_settings

        overrides.update(replay_settings(replay_from))
    overrides.update(_pairs(settings, "--set"))
    try:
        with crawl_lock(out_dir):
            result = run_crawl(sources or SOURCES, out_dir=out_dir, base_urls=_pairs(base_urls, "--base-url"),
                               settings=overrides)
    except CrawlLocked as exc:
        console.print(f"[red]not crawling:[/red] {exc}")
        sys.exit(EXIT_LOCKED)
    except ValueError as exc:
        raise click.UsageError(str(exc)) from exc
    summary = summarise(result)
    print_summary(summary, result, console)
    sys.exit(EXIT_OK if summary.ok else EXIT_ERRORS)


@cli.command()
@click.option("--data", "data_dir", default="data", show_default=True, type=click.Path(file_okay=False, path_type=Path))
@click.option("--size", default=40, show_default=True, help="Generated filler transcripts on the sample site.")
@click.option("--seed", default=1, show_default=True)
def demo(data_dir, size, seed):
    """Serve the bundled sample site on 127.0.0.1, crawl all of it, write WARC + SQLite, report."""
    from stenogram.demo import run_demo

    summary, _ = run_demo(data_dir, size=size, seed=seed, console=Console())
    sys.exit(EXIT_OK if summary.ok else EXIT_ERRORS)


def _add_package_commands(group: click.Group) -> None:
    for name in COMMAND_MODULES:
        if importlib.util.find_spec(name) is None:  # package not written yet
            continue
        module = importlib.import_module(name)
        for command in getattr(module, "commands", []):
            group.add_command(command)


_add_package_commands(cli)


def main() -> None:
    cli()
