"""The paths a command is given, checked before it does anything: one line, an exit code, no file.

Why one module: each command used to find out about a bad path from whatever library tripped on
it first (a 27-line sqlite3 traceback for a non-SQLite ``--db``, a 499-line one from ``serve``
after it had already said "serving"), and reading commands created files on the way. Every
command that takes a path uses the click types below instead, so a bad path is refused while
the command line is parsed (before a server starts or a file is opened for writing) with one
line ``Error: PATH: why`` and an exit status from sysexits.h:

* 66 (``EX_NOINPUT``): an input is missing, a folder where a file is expected, unreadable;
* 65 (``EX_DATAERR``): an input exists but is not what the command reads (not a corpus, not a
  WARC);
* 73 (``EX_CANTCREAT``): an output cannot be created (folder missing or not writable, a folder
  in the way).

Commands that process many files (``index``, ``reprocess``, ``wacz``) skip a broken one with its
reason, process the rest, and exit 1 at the end (the crawl's "something failed").

The reasons themselves come from the libraries (``corpus.access.corpus_problem``,
``archive.reader.warc_problem``), so the Python API refuses the same inputs.
"""
from __future__ import annotations

import os
from pathlib import Path

import click

EX_DATAERR, EX_NOINPUT, EX_CANTCREAT = 65, 66, 73
EXIT_SKIPPED = 1  # some inputs were skipped; the rest was processed


class BadInput(click.ClickException):
    """A one-line ``Error: …`` with its own exit status (click prints no usage block)."""

    def __init__(self, message: str, exit_code: int = EX_DATAERR):
        super().__init__(" ".join(str(message).split()))  # one line, whatever the reason held
        self.exit_code = exit_code


# ----------------------------------------------------------------------------- checks


def check_input_file(path: str | os.PathLike) -> Path:
    path = Path(path)
    if path.is_dir():
        raise BadInput(f"{path}: is a folder, expected a file", EX_NOINPUT)
    if not path.exists():
        raise BadInput(f"{path}: no such file", EX_NOINPUT)
    if not os.access(path, os.R_OK):
        raise BadInput(f"{path}: cannot be read (permission denied)", EX_NOINPUT)
    return path


def check_input_path(path: str | os.PathLike) -> Path:
    """A file or a folder of files that exists and can be read."""
    path = Path(path)
    if not path.exists():
        raise BadInput(f"{path}: no such file or folder", EX_NOINPUT)
    if not os.access(path, os.R_OK | (os.X_OK if path.is_dir() else 0)):
        raise BadInput(f"{path}: cannot be read (permission denied)", EX_NOINPUT)
    return path


def _writable_dir(folder: Path, target: Path) -> None:
    if not folder.exists():
        raise BadInput(f"{target}: folder {folder} does not exist", EX_CANTCREAT)
    if not folder.is_dir():
        raise BadInput(f"{target}: {folder} is not a folder", EX_CANTCREAT)
    if not os.access(folder, os.W_OK | os.X_OK):
        raise BadInput(f"{target}: cannot write in {folder} (permission denied)", EX_CANTCREAT)


def check_output_file(path: str | os.PathLike) -> Path:
    """A file this command may create or replace: its folder exists and is writable."""
    path = Path(path)
    if path.is_dir():
        raise BadInput(f"{path}: is a folder, expected a file name", EX_CANTCREAT)
    _writable_dir(path.parent if str(path.parent) else Path("."), path)
    if path.exists() and not os.access(path, os.W_OK):
        raise BadInput(f"{path}: cannot be written (permission denied)", EX_CANTCREAT)
    return path


def check_output_dir(path: str | os.PathLike) -> Path:
    """A folder this command may create (with its parents) and write into."""
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise BadInput(f"{path}: is a file, expected a folder", EX_CANTCREAT)
    existing = path
    while not existing.exists():  # mkdir -p creates the rest, if the nearest existing one lets it
        existing = existing.parent
    _writable_dir(existing, path)
    return path


def check_corpus(path: str | os.PathLike, *, may_create: bool = False) -> Path:
    """An existing stenogram corpus (or, with ``may_create``, a place to make a new one)."""
    from stenogram.corpus.access import corpus_problem

    path = Path(path)
    if problem := corpus_problem(path, may_create=may_create):
        missing = not path.exists() or path.is_dir()
        code = (EX_CANTCREAT if may_create else EX_NOINPUT) if missing else EX_DATAERR
        raise BadInput(f"{path}: {problem}", code)
    if may_create:
        check_output_file(path)  # SQLite writes the file and its -wal beside it
    return path


def check_replay_source(path: str | os.PathLike) -> Path:
    """A WARC, a WACZ, or a folder holding at least one of them (``crawl --replay``)."""
    import zipfile

    from stenogram.archive.reader import WARC_SUFFIXES

    path = check_input_path(path)
    if path.is_dir():
        if not any(c.is_file() and c.name.endswith(WARC_SUFFIXES + (".wacz",))
                   for c in path.iterdir()):
            raise BadInput(f"{path}: no WARC or WACZ files in this folder", EX_NOINPUT)
        return path
    if path.name.endswith(".wacz"):
        try:
            with zipfile.ZipFile(path) as z:
                if not any(n.startswith("archive/") for n in z.namelist()):
                    raise BadInput(f"{path}: a zip file without archive/ (not a WACZ)")
        except (zipfile.BadZipFile, OSError) as exc:
            raise BadInput(f"{path}: not a WACZ file ({exc})") from exc
        return path
    from stenogram.archive.reader import warc_damage

    check_input_file(path)
    if problem := warc_damage(path):  # replay indexes every record anyway
        raise BadInput(f"{path}: {problem}", EX_DATAERR)
    return path


# ----------------------------------------------------------------------------- click types


class _Checked(click.ParamType):
    """A click type running one of the checks above on the value (as a ``Path``)."""

    def __init__(self, check, name: str, **kwargs):
        self.check, self.name, self.kwargs = check, name, kwargs

    def convert(self, value, param, ctx):
        return self.check(value, **self.kwargs)


def InputFile() -> click.ParamType:  # noqa: N802 - reads like click.Path()
    return _Checked(check_input_file, "file")


def InputPath() -> click.ParamType:  # noqa: N802
    return _Checked(check_input_path, "path")


def OutputFile() -> click.ParamType:  # noqa: N802
    return _Checked(check_output_file, "file")


def OutputDir() -> click.ParamType:  # noqa: N802
    return _Checked(check_output_dir, "directory")


def ExistingCorpus() -> click.ParamType:  # noqa: N802
    return _Checked(check_corpus, "corpus")


def CorpusTarget() -> click.ParamType:  # noqa: N802
    return _Checked(check_corpus, "corpus", may_create=True)


def ReplaySource() -> click.ParamType:  # noqa: N802
    return _Checked(check_replay_source, "replay")
