"""Click commands of the extract package (added to the `stenogram` group by stenogram/cli.py)."""
from __future__ import annotations

import json
from pathlib import Path

import click

from stenogram.inputs import EX_DATAERR, BadInput, InputFile, InputPath


@click.command("extract")
@click.argument("page", type=InputFile())
@click.option("--url", default=None, help="The page's URL (helps choose the source profile).")
@click.option("--content-type", default=None, help="The HTTP Content-Type header, for its charset.")
def extract_cmd(page: Path, url: str | None, content_type: str | None) -> None:
    """Extract one saved HTML PAGE and print the transcript as one JSON object."""
    from stenogram.extract.page import extract_page  # trafilatura: loaded only when a page is extracted

    body = page.read_bytes()
    if problem := _not_a_page(body):  # bad input: one line, not a verdict on garbage
        raise BadInput(f"{page}: {problem}", EX_DATAERR)
    transcript = extract_page(body, url=url, content_type=content_type)
    click.echo(json.dumps(transcript.to_dict(), ensure_ascii=False))


def _not_a_page(body: bytes) -> str | None:
    """Why ``body`` cannot be a saved HTML page (empty, compressed, binary), or None. Text that
    is not a transcript (a CSV, a listing) is the extractor's to refuse, with its reason."""
    if not body.strip():
        return "an empty file, not an HTML page"
    if body.startswith(b"\x1f\x8b"):
        return "gzip data, not an HTML page (gunzip it first)"
    if b"\x00" in body[:4096] and not body.startswith((b"\xff\xfe", b"\xfe\xff")):
        return "binary data, not an HTML page"
    return None


@click.command("eval-extract")
@click.option("--gold", "gold_dir", default="tests/gold", show_default=True,
              type=InputPath(),
              help="Gold set folder (cases.json + pages/).")
@click.option("--verbose", "-v", is_flag=True, help="List every miss and leak.")
def eval_extract(gold_dir: Path, verbose: bool) -> None:
    """Score stenogram's extractor and plain trafilatura on the gold set."""
    from stenogram.extract.evaluate import evaluate, report

    if not (gold_dir / "cases.json").is_file():
        raise BadInput(f"{gold_dir}: not a gold set folder (no cases.json)", EX_DATAERR)
    try:
        scores = evaluate(gold_dir)
    except (OSError, ValueError, KeyError, TypeError) as exc:  # a broken gold set, one line
        raise BadInput(f"{gold_dir}: not a usable gold set ({type(exc).__name__}: {exc})",
                       EX_DATAERR) from exc
    click.echo(report(scores))
    if verbose:
        for name, score in scores.items():
            for miss in score.misses:
                click.echo(f"[{name}] {miss}")


commands = [extract_cmd, eval_extract]
