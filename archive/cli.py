"""`stenogram index`, `stenogram wacz` and `stenogram salvage`: the archive on the command line.

Both mirror the Python API: ``index`` is :func:`rebuild_cdxj` per file, ``wacz`` is
:func:`archive.wacz.build_wacz`. Both check every input first (``archive.reader.warc_damage``):
a file that is not a WARC, a whole-file gzip, an ARC file or a WARC with a truncated or corrupt
record is skipped with its reason (one line each), the rest is processed, and the exit status
is 1; when nothing is left, one ``Error:`` line and nothing written. A WACZ or an index built
from a damaged WARC would point players at records that are not there.
"""
from __future__ import annotations

import os
from pathlib import Path

import click

from stenogram.archive.cdxj import index_warc
from stenogram.archive.reader import expand_warc_paths
from stenogram.inputs import (EX_CANTCREAT, EX_DATAERR, EXIT_SKIPPED, BadInput, ExistingCorpus,
                              InputPath, OutputFile)


def cdxj_path_for(warc: Path) -> Path:
    """``NAME.warc.gz`` → ``NAME.cdxj`` beside it (the live index's name); any other file keeps
    its whole name: ``NAME.warc`` → ``NAME.warc.cdxj``, so ``x.warc`` and ``x.warc.gz`` in one
    folder never write the same index."""
    name = warc.name
    if name.endswith(".warc.gz"):
        return warc.with_name(name[: -len(".warc.gz")] + ".cdxj")
    return warc.with_name(name + ".cdxj")


def usable_warcs(paths) -> tuple[list[Path], dict[Path, str]]:
    """The WARC files under ``paths`` split into usable ones and skipped ones with a reason
    (:func:`archive.reader.warc_damage`); each skip is reported on stderr in one line. When
    nothing is usable: one ``Error:`` line (exit 65 or 66), nothing written."""
    from stenogram.archive.reader import warc_damage

    warcs = expand_warc_paths(paths)
    if not warcs:
        raise BadInput(f"no WARC files in {', '.join(map(str, paths))}", 66)
    skipped = {w: reason for w in warcs if (reason := warc_damage(w))}
    usable = [w for w in warcs if w not in skipped]
    if not usable:
        first = next(iter(skipped))
        more = f" (and {len(skipped) - 1} more unusable file(s))" if len(skipped) > 1 else ""
        raise BadInput(f"{first}: {skipped[first]}{more}", EX_DATAERR)
    for warc, reason in skipped.items():
        click.echo(f"skipped {warc}: {reason}", err=True)
    return usable, skipped


def rebuild_cdxj(warc: str | os.PathLike) -> Path:
    """(Re)write ``NAME.cdxj`` for one WARC with cdxj-indexer, sorted (as pywb needs): the
    bytes the live index holds once its WARC is closed. Atomic."""
    target = cdxj_path_for(Path(warc))
    index_warc(warc, target)
    return target


@click.command()
@click.argument("paths", nargs=-1, required=True, type=InputPath())
def index(paths: tuple[Path, ...]) -> None:
    """Rebuild NAME.cdxj beside each WARC (files, or directories of *.warc.gz / *.warc)."""
    warcs, skipped = usable_warcs(paths)
    failed = {}
    for warc in warcs:
        try:
            target = rebuild_cdxj(warc)
        except OSError as exc:  # a folder we cannot write in: the next one may be fine
            failed[warc] = f"cannot write {cdxj_path_for(warc).name} ({exc.strerror})"
            click.echo(f"skipped {warc}: {failed[warc]}", err=True)
            continue
        with open(target, encoding="utf-8") as fh:
            lines = sum(1 for _ in fh)
        click.echo(f"{target}\t{lines} lines")
    if failed and len(failed) == len(warcs) and not skipped:
        raise BadInput(f"no index written: {next(iter(failed.values()))}", EX_CANTCREAT)
    if skipped or failed:
        total = len(warcs) + len(skipped)
        raise BadInput(f"indexed {len(warcs) - len(failed)} of {total} WARC files; "
                       f"{len(skipped) + len(failed)} skipped (reasons above)", EXIT_SKIPPED)


@click.command()
@click.argument("paths", nargs=-1, required=True, type=InputPath())
@click.option("-o", "--output", required=True, type=OutputFile(), help="The .wacz file to write.")
@click.option("--db", type=ExistingCorpus(),
              help="Corpus database: pages are its transcript captures, with title and text."
                   " Without it, every HTML 200 response is a page.")
@click.option("--title", default=None, help="Title of the collection.")
@click.option("--description", default=None, help="Description of the collection.")
def wacz(paths: tuple[Path, ...], output: Path, db: Path | None, title: str | None,
         description: str | None) -> None:
    """Package WARC files (or directories of them) as a WACZ 1.1.1 file."""
    from stenogram.archive.wacz import build_wacz
    from stenogram.corpus.pages import corpus_pages

    warcs, skipped = usable_warcs(paths)
    pages = list(corpus_pages(db)) if db else None
    try:
        summary = build_wacz(warcs, output, pages=pages, title=title, description=description)
    except ValueError as exc:
        raise BadInput(str(exc), EX_DATAERR) from exc
    except OSError as exc:
        raise BadInput(f"{output}: cannot write ({exc.strerror})", EX_CANTCREAT) from exc
    click.echo(f"{summary.path}\t{len(summary.warcs)} WARCs\t{summary.pages} pages"
               + (f"\t{summary.pages_dropped} pages not in the WARCs" if summary.pages_dropped else ""))
    if skipped:
        raise BadInput(f"{len(skipped)} of {len(warcs) + len(skipped)} WARC files left out of "
                       f"{output} (reasons above)", EXIT_SKIPPED)


@click.command()
@click.argument("paths", nargs=-1, required=True, type=InputPath())
def salvage(paths: tuple[Path, ...]) -> None:
    """Close the WARCs a killed crawl left .open (complete records kept, index rebuilt)."""
    from stenogram.archive.salvage import salvage_paths

    report = salvage_paths(paths)  # what `reprocess` does first (archive.salvage's docstring)
    for result in report.of("closed", "replaced"):
        click.echo(f"{result.path}	{result.records_kept} records")
    click.echo(report.summary() or "no WARC left open", err=True)
    if report.unread:
        raise BadInput(f"{len(report.unread)} WARC(s) left open could not be salvaged "
                       "(reasons above)", EXIT_SKIPPED)


commands = [index, wacz, salvage]
