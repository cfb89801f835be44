"""Click commands for the corpus (``commands`` is added to the ``stenogram`` group).

Each command is a thin shell over the library (``Corpus``, ``corpus.reprocess``,
``corpus.export``, ``corpus.serve``), the way sqlite-utils' CLI mirrors its Python API.
"""
from __future__ import annotations

import json
import os
import sqlite3
import sys
import time
from pathlib import Path

import click

from stenogram.corpus import export as export_module
from stenogram.corpus.access import ReadOnlyCorpus
from stenogram.corpus.store import Corpus
from stenogram.inputs import (EXIT_SKIPPED, BadInput, Bounded, CorpusTarget, ExistingCorpus, InputPath,
                              OutputFile, SchedulerAddress, Workers)
from stenogram.terminal import json_line, neutralise

# Commands that read a corpus take an existing one (checked, opened read-only: nothing created);
# ``reprocess`` writes one, so it may create it, but never inside a file that is something else.
DB_OPTION = click.option("--db", "db_path", default="data/corpus.db", show_default=True,
                         type=ExistingCorpus(), help="Corpus SQLite database")
TARGET_DB_OPTION = click.option("--db", "db_path", default="data/corpus.db", show_default=True,
                                type=CorpusTarget(), help="Corpus SQLite database (created if missing)")


@click.command()
@TARGET_DB_OPTION
@click.argument("paths", nargs=-1, required=True, type=InputPath())
@click.option("--workers", "-j", type=Workers(), default=None,
              help="Extraction processes (default: number of cores; 1 = no pool)")
@click.option("--chunk-size", type=Bounded(1, 100_000), default=None,
              help="Captures per unit of work [default: 16; 256 with --cluster, where each "
                   "unit is a task on the scheduler]")
@click.option("--commit-every", type=Bounded(1, 10_000_000), default=1000, show_default=True,
              help="Captures per transaction (a crash loses at most one batch)")
@click.option("--defer-fts/--no-defer-fts", default=None,
              help="Build the full-text index once at the end instead of row by row "
                   "(default: when the run adds more documents than the corpus had)")
@click.option("--cache-mib", type=Bounded(1, 1 << 20, "1 TiB at most"), default=256, show_default=True,
              help="SQLite page cache; ~600 MiB per million documents keeps the LSH index in it")
@click.option("--progress/--no-progress", default=None, help="Progress bar (default: on a tty)")
@click.option("--max-decoded-mib", type=Bounded(1, 1 << 20), default=64, show_default=True,
              help="Skip a record whose payload, stored or decoded, is larger (a gzip bomb "
                   "is skipped with reason too-large, never inflated whole)")
@click.option("--cluster", metavar="tcp://HOST:8786", type=SchedulerAddress(),
              help="Extract on this Dask scheduler's workers instead of local processes; each "
                   "worker reads the WARCs at the same paths (README, Scale-out)")
def reprocess(db_path, paths, workers, chunk_size, commit_every, defer_fts, cache_mib, progress,
              max_decoded_mib, cluster):
    """Build or update the corpus from WARC files or directories (idempotent).

    A file that is not a WARC, or records that are damaged, are skipped with their reason and
    the rest is processed; the exit status is then 1. WARCs a killed crawl left ``.open`` are
    salvaged first (cut back to their complete records and closed) unless a live crawl still
    writes them (README, "One corpus writer")."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn
    from rich.progress import TimeElapsedColumn

    from stenogram.archive.reader import (DAMAGE_REASONS, ReadStats, expand_warc_paths,
                                          iter_captures, warc_problem)
    from stenogram.archive.salvage import salvage_paths
    from stenogram.corpus.reprocess import count_reader_stats, reprocess as run
    from stenogram.report import drift_figures, drift_lines_text

    salvaged = salvage_paths(paths)  # before reading, for the local run and a cluster's alike
    files = expand_warc_paths(salvaged.paths)
    problems = {f: warc_problem(f) for f in files}
    if files and all(problems.values()):  # nothing to read: refuse before creating a corpus
        first = next(iter(problems))
        more = f" (and {len(files) - 1} more file(s) that are not WARCs)" if len(files) > 1 else ""
        raise BadInput(f"{first}: {problems[first]}{more}", 65)
    workers = workers if workers is not None else (os.cpu_count() or 1)
    console = Console(stderr=True)
    show = console.is_terminal if progress is None else progress
    reader_stats = ReadStats()
    started = time.monotonic()
    if not files:
        raise BadInput(f"no WARC files in {', '.join(map(str, paths))}"
                       + (f" ({salvaged.summary()})" if salvaged.summary() else ""), 66)
    client = _cluster_client(cluster) if cluster else None  # before the corpus is created
    chunk_size = chunk_size or (CLUSTER_CHUNK_SIZE if cluster else 16)
    with Corpus(db_path, cache_mib=cache_mib) as corpus, Progress(
        SpinnerColumn(), TextColumn("captures"), BarColumn(), MofNCompleteColumn(),
        TimeElapsedColumn(), console=console, disable=not show,
    ) as bar:
        task = bar.add_task("reprocess", total=None)
        first_new = corpus.conn.execute("SELECT coalesce(max(id), 0) FROM captures").fetchone()[0]
        options = dict(chunk_size=chunk_size, commit_every=commit_every, defer_fts=defer_fts,
                       progress=lambda n: bar.advance(task, n))
        max_decoded = max_decoded_mib * 1024 * 1024
        if client is None:
            summary = run(corpus, iter_captures([str(f) for f in files], stats=reader_stats,
                                                max_decoded=max_decoded),
                          workers=workers, **options)
        else:
            summary = _run_on_cluster(client, corpus, files, reader_stats, max_decoded, options)
        count_reader_stats(reader_stats, summary)
        stats = corpus.stats()
        # template drift among the captures this run added (the crawl report's figures)
        drift = drift_figures(con=corpus.conn, after_capture_id=first_new)
    elapsed = time.monotonic() - started
    click.echo(
        f"{len(files)} WARC file(s): {summary.captures_read} captures read, "
        f"{summary.skipped_corrupt} skipped corrupt, {summary.already_ingested} already in the "
        f"corpus, {summary.not_extracted} not extracted (non-HTML or non-200), "
        f"{summary.extraction_errors} extraction errors, {summary.non_transcripts} "
        f"non-transcripts; {summary.new_documents} new documents, {summary.new_versions} new "
        f"versions; corpus: {stats['documents']} documents, {stats['captures']} captures, "
        f"{stats['versions']} versions"
        + (f"; full-text index rebuilt in {summary.fts_rebuild_seconds:.1f} s"
           if summary.fts_rebuilt else "") + f" ({elapsed:.1f} s)")
    if salvaged.summary():
        click.echo(salvaged.summary())
    for line in drift_lines_text(drift):
        click.echo(line)
    failures = []  # the rest is in the corpus; say what was not, and exit 1
    if salvaged.unread:
        failures.append(f"{len(salvaged.unread)} WARC(s) left open could not be salvaged "
                        "and were not read")
    damaged = {k: v for k, v in reader_stats.skipped.items() if k in DAMAGE_REASONS}
    if damaged:
        failures.append("skipped as damaged: " + ", ".join(
            f"{n} {k}" for k, n in sorted(damaged.items())))
    if failures:
        raise BadInput("; ".join(failures) + " (reasons above)", EXIT_SKIPPED)


# A chunk is one task on a cluster: the scheduler, the workers and the writer's Dask client
# spend ~14 ms of CPU per task between them (bench/bench_rebuild_cluster.py: 64-capture chunks
# cost ~0.2 ms per capture more than 256-capture ones), and each of those ms is taken from
# extraction; 256 captures are a few seconds of one worker's time, so the last task's wait at
# the end of a run stays short.
CLUSTER_CHUNK_SIZE = 256


def _cluster_client(address: str):
    from stenogram.corpus.cluster import ClusterError, connect

    try:
        return connect(address)
    except ClusterError as exc:
        raise BadInput(str(exc), 69) from None  # EX_UNAVAILABLE


def _run_on_cluster(client, corpus, files, reader_stats, max_decoded, options):
    from stenogram.corpus.cluster import ClusterError, reprocess_on_cluster

    try:
        return reprocess_on_cluster(corpus, files, client, stats=reader_stats,
                                    max_decoded=max_decoded, **options)
    except ClusterError as exc:  # what was ingested is committed; a rerun goes on from there
        raise BadInput(str(exc), 69) from None
    finally:
        client.close()


@click.command()
@DB_OPTION
@click.option("--format", "fmt", type=click.Choice(export_module.FORMATS), default="jsonl",
              show_default=True, help="hf: a Hugging Face dataset folder (Parquet + dataset card)")
@click.option("--where", help="SQL condition on the documents table, e.g. \"language = 'en'\"")
@click.option("-p", "--param", "params", multiple=True, type=(str, str),
              help="Named parameter for --where: -p name value")
@click.option("--with-history", is_flag=True,
              help="Also every version's text and more about each capture (nested per document)")
@click.option("-o", "--output", type=click.Path(path_type=Path),
              help="File (default: stdout); for --format hf, a folder")
def export(db_path, fmt, where, params, with_history, output):
    """Export one record per document with its provenance (captures)."""
    from stenogram.inputs import check_output_dir, check_output_file

    if fmt in ("parquet", "hf") and not output:
        raise click.ClickException(f"{fmt} needs -o {'FOLDER' if fmt == 'hf' else 'FILE'}")
    if output:
        output = check_output_dir(output) if fmt == "hf" else check_output_file(output)
    if fmt == "hf" and output.is_dir() and any(output.iterdir()):
        raise BadInput(f"{output}: folder is not empty (a dataset folder is written whole)", 73)
    # Written beside the target and renamed when complete: a failed export (bad --where SQL,
    # disk full) leaves no half file and does not clobber the previous one.
    part = output.with_name(output.name + ".part") if output else None
    left_out: list = []  # URL fields that were not http(s) URLs (export._web_urls_only)
    with ReadOnlyCorpus(db_path) as corpus:
        try:
            records = export_module.iter_documents(corpus.db, where, dict(params),
                                                   with_history=with_history, left_out=left_out)
            if fmt == "hf":
                if part.exists():
                    import shutil

                    shutil.rmtree(part)
                command = "stenogram export --format hf" + (" --with-history" if with_history
                                                            else "") + (" --where …" if where else "")
                n = export_module.write_hf(records, part, with_history, command)
            elif fmt == "parquet":
                n = export_module.write_parquet(records, str(part), with_history)
            else:
                writer = export_module.write_jsonl if fmt == "jsonl" else (
                    lambda recs, f: export_module.write_csv(recs, f, with_history))
                if output:
                    with open(part, "w", encoding="utf-8", newline="") as f:
                        n = writer(records, f)
                else:
                    n = writer(records, sys.stdout)
            if part:
                if fmt == "hf" and output.is_dir():
                    output.rmdir()  # empty (checked above)
                os.replace(part, output)
        except Exception as exc:  # bad --where SQL, missing pyarrow: a clear message
            if part and part.is_dir():
                import shutil

                shutil.rmtree(part, ignore_errors=True)
            elif part:
                part.unlink(missing_ok=True)
            if isinstance(exc, click.ClickException):
                raise
            raise BadInput(f"{type(exc).__name__}: {exc}", 1) from exc
    if left_out:
        docs = sorted({doc for doc, _ in left_out if doc is not None})
        click.echo(f"{len(left_out)} URL(s) that are not http(s) URLs written as null "
                   f"(kept in the corpus), in document(s) {', '.join(map(str, docs[:10]))}"
                   + (" …" if len(docs) > 10 else ""), err=True)
    if output:
        click.echo(f"{n} documents written to {output}", err=True)


@click.command()
@DB_OPTION
@click.option("--out", "out", required=True, type=click.Path(path_type=Path),
              help="The release folder to write (new, or an empty folder)")
@click.option("--snapshot", type=click.DateTime(formats=["%Y-%m-%d"]), default=None,
              help="Only what was captured up to the end of this UTC day (YYYY-MM-DD) "
                   "[default: the day of the latest capture]")
@click.option("--creator", "creators", multiple=True, metavar="NAME",
              help="A creator for the Zenodo/DataCite metadata, \"Family, Given\" "
                   "(repeatable) [default: stenogram]")
def release(db_path, out, snapshot, creators):
    """Write a versioned, reproducible dataset release (Parquet, JSONL, card, checksums).

    The folder holds documents, versions, captures (with their WARC provenance) and turns as
    Parquet and JSONL, a dataset card, a codebook, a changelog against the previous release in
    the same parent folder, Zenodo and DataCite metadata and SHA256SUMS (docs/release.md).
    Two releases of one --snapshot are byte-identical, however the corpus grew since."""
    from stenogram.corpus import release as release_module
    from stenogram.inputs import check_output_dir

    out = check_output_dir(out)
    command = "stenogram release" + (f" --snapshot {snapshot:%Y-%m-%d}" if snapshot else "")
    try:
        made = release_module.make_release(db_path, out, snapshot.date() if snapshot else None,
                                           creators, command)
    except release_module.ReleaseError as exc:
        raise BadInput(str(exc), 73 if "not an empty folder" in str(exc) else 65) from None
    except (sqlite3.Error, OSError) as exc:
        raise BadInput(f"{type(exc).__name__}: {exc}", 1) from exc
    c, ch = made.counts, made.changes
    click.echo(f"release {made.name} written to {made.folder}: {c['documents']} documents, "
               f"{c['versions']} versions, {c['captures']} captures, {c['turns']} turns"
               + (f"; since {ch.previous}: {len(ch.added)} added, {len(ch.new_versions)} new "
                  f"versions, {len(ch.removed)} removed" if ch.previous else ""), err=True)


@click.command()
@DB_OPTION
@click.option("--since", required=True, metavar="DATE",
              help="Edits first seen on or after this day (YYYY-MM-DD) or time (ISO 8601, UTC)")
@click.option("--limit", type=Bounded(1, 1_000_000), default=None, help="At most this many")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per edit (JSON lines)")
def edits(db_path, since, limit, as_json):
    """List the silent edits found since a date, newest first, with their WARC records.

    An edit is a new text at a URL that had another (a mirror's variant is not one); each
    line says the document, title, URL, when the new text was first seen, the words removed
    and added, and the WARC record that first archived each side (docs/edits.md)."""
    from stenogram.corpus import edits as edits_module

    try:
        bound = edits_module.since_bound(since)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--since") from None
    try:
        with ReadOnlyCorpus(db_path) as corpus:
            found = edits_module.recent_edits(corpus.conn, bound, limit)
    except sqlite3.Error as exc:
        raise BadInput(f"{db_path}: cannot read versions ({exc})") from exc
    for e in found:  # page text is neutralised for the terminal (stenogram.terminal)
        if as_json:
            click.echo(json_line(json.dumps(e, ensure_ascii=False)))
            continue
        warc = lambda side: (f"{side['warc']['warc_file']}@{side['warc']['warc_offset']} "  # noqa: E731
                             f"{side['warc']['warc_record_id']}" if side["warc"] else "no capture")
        click.echo(f"{neutralise(e['seen'])}\tdocument {e['document_id']}\t"
                   f"{neutralise(e['title'] or '')}\n"
                   f"    {neutralise(e['url'])}\n    "
                   f"{neutralise(edits_module.summary_text(e['summary']))}; version "
                   f"{e['old']['version_id']} -> {e['new']['version_id']}\n"
                   f"    before: {neutralise(warc(e['old']))}\n    after:  {neutralise(warc(e['new']))}")
    if not as_json:
        click.echo(f"{len(found)} edit(s) since {neutralise(since)}", err=True)


@click.command()
@DB_OPTION
@click.argument("doc_id", type=Bounded(1, 2**63 - 1))
@click.option("--context", "-U", type=Bounded(0, 1_000_000), default=0, show_default=True,
              help="Unchanged paragraphs shown around each changed one")
@click.option("--html", "html_file", type=OutputFile(),
              help="Also write the same view as a standalone HTML page")
def diff(db_path, doc_id, context, html_file):
    """Show a document's edits word by word, older version first.

    Each pair is labelled with version id, first seen, source and URL: consecutive versions
    seen at the same URL (silent edits), else the mirrors against the canonical text.
    Removed words print as [-old-], added ones as {+new+}."""
    from stenogram.corpus import diff as diff_module

    with ReadOnlyCorpus(db_path) as corpus:
        try:
            pairs = diff_module.document_pairs(corpus, doc_id)
            title = corpus.conn.execute("SELECT title FROM documents WHERE id = ?",
                                        (doc_id,)).fetchone()
        except KeyError:
            raise click.ClickException(f"no document {doc_id}")
        except sqlite3.Error as exc:  # a corpus from an older or foreign tool: one line
            raise BadInput(f"{db_path}: cannot read versions ({exc})") from exc
    out = neutralise("\n".join(diff_module.unified_word_diff(a, b, context) for a, b in pairs),
                     multiline=True)  # page text: no escape sequence reaches the terminal
    if out and sys.stdout.isatty():  # colour on a terminal; the markers stay for copy/paste
        import re

        out = re.sub(r"\[-.*?-\]", lambda m: click.style(m.group(), fg="red"), out, flags=re.S)
        out = re.sub(r"\{\+.*?\+\}", lambda m: click.style(m.group(), fg="green"), out,
                     flags=re.S)
    click.echo(out or f"document {doc_id} has a single version", nl=not out)
    if html_file:
        page = diff_module.page_html(
            f"Document {doc_id}: {(title and title[0]) or ''}".rstrip(": "),
            [diff_module.diff_html(a, b, context) for a, b in pairs])
        part = html_file.with_name(html_file.name + ".part")
        part.write_text(page, encoding="utf-8")
        os.replace(part, html_file)
        click.echo(f"{len(pairs)} comparison(s) written to {html_file}", err=True)


@click.command()
@DB_OPTION
@click.argument("query", default="")
@click.option("--speaker", default=None, help="Only what this speaker said (Lavrov, Лавров): the words in their turns")
@click.option("--from", "date_from", default=None, help="From this date (YYYY, YYYY-MM or YYYY-MM-DD), included")
@click.option("--to", "date_to", default=None, help="To this date (YYYY, YYYY-MM or YYYY-MM-DD), included")
@click.option("--source", default=None, help="Seen on this source (mid, mid_archive, globalsecurity, ...)")
@click.option("--lang", default=None, help="In this language (en, ru)")
@click.option("--kind", default=None, help="Of this kind (transcript, ...)")
@click.option("--limit", type=Bounded(1, 1_000_000), default=20, show_default=True)
@click.option("--offset", type=Bounded(0, 2**62), default=0, show_default=True)
@click.option("--counts", is_flag=True, help="Also print the matches counted by year, month and source")
@click.option("--json", "as_json", is_flag=True,
              help="One JSON object per hit (JSON lines), as /-/search.json's hits; then with --counts "
                   "one object {total, counts}")
def search(db_path, query, speaker, date_from, date_to, source, lang, kind, limit, offset, counts,
           as_json):
    """Search the transcripts, best hits first (the same search as the web page /-/search).

    Words match any form ("talks" finds "talk", "Лавровым" finds "Лавров"), "double quotes"
    make a phrase, a trailing * a prefix; all words must match; nothing else is syntax.
    Without words, the filters list the transcripts they select, newest first."""
    import html as html_module
    import re

    from stenogram.corpus import search as search_module

    try:
        filters = search_module.Filters.from_args({
            "speaker": speaker, "from": date_from, "to": date_to, "source": source, "lang": lang,
            "kind": kind})
    except ValueError as exc:
        raise BadInput(str(exc)) from exc
    if not search_module.terms(query) and not filters.as_args():
        raise BadInput("nothing to search for: give words, or a filter (--speaker, --from, ...)")
    try:
        with ReadOnlyCorpus(db_path) as corpus:
            results = search_module.run(corpus, query, filters, limit=limit, offset=offset,
                                        counts=counts)
    except sqlite3.Error as exc:
        raise BadInput(f"{db_path}: cannot search ({exc})") from exc
    for hit in results.hits:  # page text is neutralised for the terminal (stenogram.terminal)
        if as_json:
            click.echo(json_line(json.dumps(hit, ensure_ascii=False)))
            continue
        snippet = html_module.unescape(re.sub(r"</?mark>", "**", hit["snippet_html"]))
        snippet = re.sub(r"[\r\n]+", " ", snippet)  # a snippet spans paragraphs: one line, not \x0a
        click.echo("\t".join(neutralise(v) for v in (hit['document_id'], hit['date'] or '?',
                                                    hit['source'] or '?', hit['title'] or ''))
                   + f"\n    {neutralise(hit['url'] or '')}\n    {neutralise(snippet)}")
    if as_json and counts:
        click.echo(json_line(json.dumps({"total": results.total, "counts": results.counts},
                                        ensure_ascii=False)))
    if not as_json:
        if counts:
            for name, tally in results.counts.items():
                click.echo(f"by {name}: " + ", ".join(f"{neutralise(k)} {v}" for k, v in tally.items()))
        shown = len(results.hits)
        where = f"{offset + 1}–{offset + shown} of " if shown and (offset or shown < results.total) else ""
        click.echo(f"{where}{results.total} hit(s)", err=True)


@click.command()
@DB_OPTION
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on; one beyond loopback (127.0.0.0/8, ::1) needs --public.")
@click.option("--public", is_flag=True,
              help="Allow a --host beyond loopback: the corpus and WARCs are then served to the "
                   "network, with a warning, and arbitrary SQL is off (docs/security.md).")
@click.option("--no-sql", is_flag=True,
              help="Turn Datasette's arbitrary SQL (?sql=) off on loopback too.")
@click.option("--port", type=Bounded(0, 65535), default=8765, show_default=True)
@click.option("--warc", "warc_dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="WARC folder to replay archived copies from [default: warc/ beside the database].")
@click.option("--pywb", "pywb", type=click.Path(path_type=Path), default=None,
              help="pywb's `wayback` program (or its bin/ folder) [default: .venv-tools, then PATH].")
@click.option("--no-replay", is_flag=True, help="Do not start pywb.")
def serve(db_path, host, port, warc_dir, pywb, no_replay, public, no_sql):
    """Read, search and cite the corpus in a browser: Datasette + pywb replay of the WARCs."""
    from stenogram.corpus import serve as serve_module

    if not Path(db_path).is_file():
        raise click.ClickException(f"no corpus at {db_path}")
    try:
        code = serve_module.serve(db_path, host=host, port=port, warc_dir=warc_dir, pywb=pywb,
                                  replay=not no_replay, echo=lambda m: click.echo(m, err=True),
                                  public=public, sql=not no_sql)
    except serve_module.ExposureRefused as exc:
        raise click.UsageError(str(exc)) from None
    except serve_module.CorpusUnservable as exc:
        raise BadInput(str(exc)) from None  # EX_DATAERR
    except sqlite3.Error as exc:
        raise BadInput(f"{db_path}: cannot read the corpus ({exc})") from None
    raise SystemExit(code)


commands = [reprocess, export, release, edits, diff, search, serve]
