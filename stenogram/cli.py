"""The `stenogram` command: one click group that gathers each package's commands."""
from __future__ import annotations

import click

from stenogram import __version__


@click.group()
@click.version_option(__version__, prog_name="stenogram")
def cli() -> None:
    """Archive diplomatic transcripts to WARC and build a clean SQLite corpus."""


def main() -> None:
    cli()
