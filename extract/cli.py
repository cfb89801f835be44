"""Click commands of the extract package (added to the `stenogram` group by stenogram/cli.py)."""
from __future__ import annotations

import json
from pathlib import Path

import click


@click.command("extract")
@click.argument("page", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--url", default=None, help="The page's URL (helps choose the source profile).")
@click.option("--content-type", default=None, help="The HTTP Content-Type header, for its charset.")
def extract_cmd(page: Path, url: str | None, content_type: str | None) -> None:
    """Extract one saved HTML PAGE and print the transcript as one JSON object."""
    from extract.page import extract_page  # trafilatura: loaded only when a page is extracted

    transcript = extract_page(page.read_bytes(), url=url, content_type=content_type)
    click.echo(json.dumps(transcript.to_dict(), ensure_ascii=False))


@click.command("eval-extract")
@click.option("--gold", "gold_dir", default="tests/gold", show_default=True,
              type=click.Path(exists=True, file_okay=False, path_type=Path),
              help="Gold set folder (cases.json + pages/).")
@click.option("--verbose", "-v", is_flag=True, help="List every miss and leak.")
def eval_extract(gold_dir: Path, verbose: bool) -> None:
    """Score stenogram's extractor and plain trafilatura on the gold set."""
    from extract.evaluate import evaluate, report

    scores = evaluate(gold_dir)
    click.echo(report(scores))
    if verbose:
        for name, score in scores.items():
            for miss in score.misses:
                click.echo(f"[{name}] {miss}")


commands = [extract_cmd, eval_extract]
