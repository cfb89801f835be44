"""Every exit status of the `stenogram` commands, in one table.

Why one table: a cron job or a script acts on the status, so each command's ``--help`` ends with
the list (stenogram/cli.py adds it as the epilog) and docs/reference/exit-codes.md is generated
from it (tools/gen_reference.py); tests/test_docs_reference.py checks that every status constant
the commands use is here.
"""
from __future__ import annotations

from typing import NamedTuple


class ExitStatus(NamedTuple):
    status: int
    name: str
    meaning: str
    commands: str


EXIT_STATUSES: tuple[ExitStatus, ...] = (
    ExitStatus(0, "ok", "done; nothing failed", "all"),
    ExitStatus(1, "errors", "something failed (a crawl's errors, a Redis that cannot be reached), or "
               "some inputs were skipped with their reasons and the rest was processed", "all"),
    ExitStatus(2, "usage", "the command line itself is wrong (a usage error, an unknown source, a bad "
               "`--set`)", "all"),
    ExitStatus(3, "drift", "`crawl --fail-on-drift`: no errors, but a source's markup may have changed",
               "crawl"),
    ExitStatus(4, "edits", "`crawl --exit-on-edits`: no errors, and the crawl found silent edits",
               "crawl"),
    ExitStatus(64, "EX_USAGE", "a number out of its bounds (`--workers 100000`, `--limit 10**30`, a "
               "negative `--cache-mib`) or a malformed address, said in one line (docs/limits.md)", "all"),
    ExitStatus(65, "EX_DATAERR", "an input exists but is not what the command reads (not a corpus, "
               "not a WARC, a damaged state.db)", "commands reading files"),
    ExitStatus(66, "EX_NOINPUT", "an input is missing, a folder where a file is expected, unreadable, "
               "or a special file (a FIFO, /dev/zero: never opened)",
               "commands reading files"),
    ExitStatus(69, "EX_UNAVAILABLE", "a service kept refusing or could not be reached: a web archive "
               "(HTTP 429/5xx after the waits it asked for, refused connections, a CDX server that "
               "cannot be read) or a Dask scheduler; what was not fetched is owed, the same command "
               "resumes it", "backfill, reprocess --cluster"),
    ExitStatus(73, "EX_CANTCREAT", "an output cannot be created (folder missing or read-only, a "
               "folder in the way)", "commands writing files"),
    ExitStatus(74, "EX_IOERR", "writing the output itself failed (stdout on a full disk, `/dev/full`)",
               "all"),
    ExitStatus(75, "locked", "another crawl holds the data folder's lock: not a failure, try later",
               "crawl, backfill"),
    ExitStatus(76, "EX_PROTOCOL", "a web archive broke a listing (a page repeated, an empty page "
               "with a resume key, a listing that does not move forward): that listing stopped, the "
               "rest was done", "backfill"),
    ExitStatus(130, "interrupted", "stopped by Ctrl-C or SIGTERM: WARCs closed, state committed, the "
               "rest owed to the next run", "crawl, backfill"),
)


def help_epilog() -> str:
    """The line every command's ``--help`` ends with."""
    codes = ", ".join(f"{e.status} {e.name}" for e in EXIT_STATUSES)
    return f"Exit status: {codes} (docs/reference/exit-codes.md)."
