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
  in the way);
* 64 (``EX_USAGE``): a number out of its bounds (``--workers 100000``, ``--limit 10**30``, a
  negative ``--cache-mib``): :class:`Bounded` names the bounds;
* 74 (``EX_IOERR``): the output itself failed (stdout on a full disk, ``/dev/full``): one line
  from :func:`stenogram.cli.main`.

Special files (``/dev/zero``, a FIFO, a socket, a device) are refused as inputs without being
opened: reading ``/dev/zero`` as a WARC never ends (``extract /dev/zero`` reached 9.9 GiB) and
opening a FIFO blocks until a writer comes (issue 23).

Commands that process many files (``index``, ``reprocess``, ``wacz``) skip a broken one with its
reason, process the rest, and exit 1 at the end (the crawl's "something failed").

The reasons themselves come from the libraries (``corpus.access.corpus_problem``,
``archive.reader.warc_problem``), so the Python API refuses the same inputs.
"""
from __future__ import annotations

import os
from pathlib import Path

import click

EX_USAGE, EX_DATAERR, EX_NOINPUT, EX_CANTCREAT, EX_IOERR = 64, 65, 66, 73, 74
EXIT_SKIPPED = 1  # some inputs were skipped; the rest was processed


class BadInput(click.ClickException):
    """A one-line ``Error: …`` with its own exit status (click prints no usage block)."""

    def __init__(self, message: str, exit_code: int = EX_DATAERR):
        super().__init__(" ".join(str(message).split()))  # one line, whatever the reason held
        self.exit_code = exit_code


# ----------------------------------------------------------------------------- checks


def _path(value) -> Path:
    """A path from the command line; one that no file can have (a NUL byte) is refused."""
    if "\x00" in os.fspath(value):
        raise BadInput(f"{os.fspath(value)!r}: a path cannot hold a NUL byte", EX_USAGE)
    return Path(value)


def special_file(path: Path) -> str | None:
    """What ``path`` is when it is neither a regular file nor a folder (a FIFO, a device...),
    from ``stat`` alone: nothing is opened, so a FIFO cannot block and ``/dev/zero`` is not read."""
    import stat

    try:
        mode = path.stat().st_mode
    except (OSError, ValueError):
        return None
    for test, name in ((stat.S_ISFIFO, "a named pipe (FIFO)"), (stat.S_ISCHR, "a character device"),
                       (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket")):
        if test(mode):
            return name
    return None


def _not_special(path: Path) -> None:
    if kind := special_file(path):
        raise BadInput(f"{path}: is {kind}, not a file: not read", EX_NOINPUT)


def check_input_file(path: str | os.PathLike) -> Path:
    path = _path(path)
    _not_special(path)
    if path.is_dir():
        raise BadInput(f"{path}: is a folder, expected a file", EX_NOINPUT)
    if not path.exists():
        raise BadInput(f"{path}: no such file", EX_NOINPUT)
    if not os.access(path, os.R_OK):
        raise BadInput(f"{path}: cannot be read (permission denied)", EX_NOINPUT)
    return path


def check_input_path(path: str | os.PathLike) -> Path:
    """A file or a folder of files that exists and can be read."""
    path = _path(path)
    _not_special(path)
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
    path = _path(path)
    if kind := special_file(path):  # written through a temporary file renamed over it: never a device
        raise BadInput(f"{path}: is {kind}, not a file: not replaced", EX_CANTCREAT)
    if path.is_dir():
        raise BadInput(f"{path}: is a folder, expected a file name", EX_CANTCREAT)
    _writable_dir(path.parent if str(path.parent) else Path("."), path)
    if path.exists() and not os.access(path, os.W_OK):
        raise BadInput(f"{path}: cannot be written (permission denied)", EX_CANTCREAT)
    return path


def check_output_dir(path: str | os.PathLike) -> Path:
    """A folder this command may create (with its parents) and write into."""
    path = _path(path)
    if path.exists() and not path.is_dir():
        raise BadInput(f"{path}: is {special_file(path) or 'a file'}, expected a folder", EX_CANTCREAT)
    existing = path
    while not existing.exists():  # mkdir -p creates the rest, if the nearest existing one lets it
        existing = existing.parent
    _writable_dir(existing, path)
    return path


def check_corpus(path: str | os.PathLike, *, may_create: bool = False) -> Path:
    """An existing stenogram corpus (or, with ``may_create``, a place to make a new one)."""
    from stenogram.corpus.access import corpus_problem

    path = _path(path)
    _not_special(path)
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


# ----------------------------------------------------------------------------- numbers


class Bounded(click.ParamType):
    """An integer within ``[low, high]``; outside, one line naming the bounds, exit 64. Unlike
    ``click.IntRange`` there is no usage block, and ``high`` is always finite: a number past it
    (``--limit 10**30``) never reaches SQLite (which overflows at 2**63) or a process pool."""

    name = "integer"

    def __init__(self, low: int, high: int, why: str = ""):
        self.low, self.high, self.why = low, high, why

    def convert(self, value, param, ctx):
        option = param.opts[0] if param is not None and param.opts else "value"
        if isinstance(value, int) and not isinstance(value, bool):
            number = value
        else:
            try:
                number = int(str(value).strip())
            except ValueError:
                raise BadInput(f"{option} {value!r}: not a whole number", EX_USAGE) from None
        if not self.low <= number <= self.high:
            why = f" ({self.why})" if self.why else ""
            raise BadInput(f"{option} {number}: must be from {self.low} to {self.high}{why}", EX_USAGE)
        return number


class _Workers(Bounded):
    """``--workers``/``-j``: 0 or 1 (no pool) up to ``corpus.reprocess.max_workers()`` processes
    (4 per core); ``reprocess --workers 100000`` started ~2,000 processes before (issue 23). The
    bound is looked up when a value is given (importing the pool's module costs startup time)."""

    def __init__(self):
        super().__init__(0, 0)

    def convert(self, value, param, ctx):
        from stenogram.corpus.reprocess import WORKERS_PER_CORE, max_workers

        self.high = max_workers()
        self.why = f"{WORKERS_PER_CORE} per core, {os.cpu_count() or 1} core(s) here"
        return super().convert(value, param, ctx)


def Workers() -> click.ParamType:  # noqa: N802
    return _Workers()


class _SchedulerAddress(click.ParamType):
    """``reprocess --cluster``: a Dask scheduler's address, ``[tcp|tls|ws|wss|inproc]://HOST:PORT``
    or ``HOST:PORT`` (Dask's own forms); anything else (``-1``, an empty string) is one line,
    exit 64, before ``distributed`` tries to make a cluster of it (``-1`` ended in a traceback
    after 60 s)."""

    name = "address"

    def convert(self, value, param, ctx):
        from urllib.parse import urlsplit

        text = str(value).strip()
        parts = urlsplit(text if "://" in text else f"tcp://{text}")
        try:
            port = parts.port
        except ValueError:
            port = None
        if parts.scheme not in ("tcp", "tls", "ws", "wss", "inproc") or not parts.hostname or port is None:
            raise BadInput(f"--cluster {value!r}: not a Dask scheduler address (tcp://HOST:PORT)", EX_USAGE)
        return text


def SchedulerAddress() -> click.ParamType:  # noqa: N802
    return _SchedulerAddress()


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
