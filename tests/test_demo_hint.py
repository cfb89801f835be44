"""The demo's closing hint is a command that runs where it is printed (issue 24: it said
`stenogram serve`, which is not on PATH after `make demo`)."""
from __future__ import annotations

import shlex
import subprocess

from stenogram.demo import serve_hint


def test_hint_outside_the_checkout_names_the_venvs_script_and_runs(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("PATH", "/usr/bin:/bin")  # the venv is not on PATH, as after `make demo`
    hint = serve_hint(tmp_path / "corpus.db")
    argv = shlex.split(hint)
    assert argv[1:] == ["serve", "--db", str(tmp_path / "corpus.db")]
    help_run = subprocess.run([argv[0], "serve", "--help"], capture_output=True, text=True, timeout=60)
    assert help_run.returncode == 0 and "--db" in help_run.stdout


def test_hint_in_a_checkout_offers_make_serve_for_the_default_data_folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "Makefile").write_text("serve:\n")
    (tmp_path / "data").mkdir()
    hint = serve_hint("data/corpus.db")
    assert hint.startswith("make serve   (or: ")
    other = serve_hint(tmp_path / "elsewhere" / "corpus.db")
    assert not other.startswith("make serve")
