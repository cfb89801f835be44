"""An intact corpus that this user cannot write (read-only media, modes, a folder it does not own)
is read, not called "a damaged SQLite database" (issue 23's bad-input cases).

Run as another user (``setpriv`` to nobody) when the tests run as root, since root ignores file
modes; the corpus is in WAL mode, as every corpus stenogram writes is, which is the case SQLite
cannot open read-only without creating its -shm file.
"""
from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from test_corpus import ingest_row, rows

VENV_BIN = Path(sys.executable).parent


def as_reader(args: list[str]) -> list[str]:
    if os.geteuid() != 0:
        return args
    if not shutil.which("setpriv"):
        pytest.skip("root without setpriv: cannot drop to a user that file modes apply to")
    return ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", *args]


@pytest.fixture
def readonly_corpus():
    """A WAL corpus in a folder another user can reach but not write (pytest's own tmp folders
    are 0700 below root's, so a folder of its own under the system's temp folder)."""
    import tempfile

    from stenogram.corpus.store import Corpus

    top = Path(tempfile.mkdtemp(prefix="stenogram-ro-"))
    top.chmod(0o755)
    folder = top / "media"
    folder.mkdir()
    db = folder / "corpus.db"
    corpus = Corpus(db)
    for row in rows()[:3]:
        ingest_row(corpus, row)
    corpus.close()
    assert sqlite3.connect(db).execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    for leftover in folder.glob("corpus.db-*"):
        leftover.unlink()
    db.chmod(0o444)
    folder.chmod(0o555)
    try:
        yield db
    finally:
        folder.chmod(0o755)
        shutil.rmtree(top, ignore_errors=True)


def test_search_reads_a_read_only_corpus(readonly_corpus):
    proc = subprocess.run(as_reader([str(VENV_BIN / "stenogram"), "search", "--db", str(readonly_corpus),
                                     "Lavrov"]), capture_output=True, text=True, timeout=120)
    assert "damaged" not in proc.stderr, proc.stderr
    assert proc.returncode == 0, proc.stderr
    assert "hit(s)" in proc.stderr


def test_corpus_problem_finds_none_in_a_read_only_corpus(readonly_corpus):
    code = ("import sys; from stenogram.corpus.access import corpus_problem; "
            f"print(corpus_problem({str(readonly_corpus)!r}))")
    proc = subprocess.run(as_reader([sys.executable, "-c", code]), capture_output=True, text=True, timeout=120)
    assert proc.stdout.strip() == "None", proc.stdout + proc.stderr
