"""`stenogram index` and `stenogram wacz`: the archive's read side on the command line.

Both mirror the Python API: ``index`` is :func:`rebuild_cdxj` per file, ``wacz`` is
:func:`archive.wacz.build_wacz`.
"""
from __future__ import annotations

import os
from pathlib import Path

import click

from archive.cdxj import index_warc
from archive.reader import expand_warc_paths


def cdxj_path_for(warc: Path) -> Path:
    """``NAME.warc.gz`` / ``NAME.warc`` → ``NAME.cdxj`` beside it (the live index's name)."""
    name = warc.name
    for suffix in (".warc.gz", ".warc"):
        if name.endswith(suffix):
            return warc.with_name(name[: -len(suffix)] + ".cdxj")
    return warc.with_name(name + ".cdxj")


def rebuild_cdxj(warc: str | os.PathLike) -> Path:
    """(Re)write ``NAME.cdxj`` for one WARC with cdxj-indexer, sorted (as pywb needs): the
    bytes the live index holds once its WARC is closed. Atomic."""
    target = cdxj_path_for(Path(warc))
    index_warc(warc, target)
    return target


@click.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
def index(paths: tuple[Path, ...]) -> None:
    """Rebuild NAME.cdxj beside each WARC (files, or directories of *.warc.gz / *.warc)."""
    warcs = expand_warc_paths(paths)
    if not warcs:
        raise click.UsageError("no WARC files found")
    for warc in warcs:
        target = rebuild_cdxj(warc)
        with open(target, encoding="utf-8") as fh:
            lines = sum(1 for _ in fh)
        click.echo(f"{target}\t{lines} lines")


@click.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="The .wacz file to write.")
@click.option("--db", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Corpus database: pages are its transcript captures, with title and text."
                   " Without it, every HTML 200 response is a page.")
@click.option("--title", default=None, help="Title of the collection.")
@click.option("--description", default=None, help="Description of the collection.")
def wacz(paths: tuple[Path, ...], output: Path, db: Path | None, title: str | None,
         description: str | None) -> None:
    """Package WARC files (or directories of them) as a WACZ 1.1.1 file."""
    from archive.wacz import build_wacz, corpus_pages

    pages = list(corpus_pages(db)) if db else None
    try:
        summary = build_wacz(paths, output, pages=pages, title=title, description=description)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"{summary.path}\t{len(summary.warcs)} WARCs\t{summary.pages} pages"
               + (f"\t{summary.pages_dropped} pages not in the WARCs" if summary.pages_dropped else ""))


commands = [index, wacz]
