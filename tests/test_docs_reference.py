"""The docs' reference pages say what the code says: commands, settings, and a strict build.

docs/reference/commands.md and settings.md are generated from the commands' own ``--help`` and
from crawler/settings.py (tools/gen_reference.py); a command or setting added without its page,
or a page edited by hand, fails here. The whole docs site builds with ``mkdocs build --strict``
(a broken link or a page missing from the navigation fails it).
"""
from __future__ import annotations

import importlib.util
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
spec = importlib.util.spec_from_file_location("gen_reference", ROOT / "tools" / "gen_reference.py")
gen_reference = importlib.util.module_from_spec(spec)
spec.loader.exec_module(gen_reference)


@pytest.mark.parametrize("page", sorted(gen_reference.PAGES))
def test_reference_page_is_current(page):
    committed = (ROOT / "docs" / "reference" / page).read_text(encoding="utf-8")
    assert committed == gen_reference.PAGES[page](), f"docs/reference/{page} is stale: run `make reference`"


def test_every_command_has_its_section():
    from stenogram.cli import LAZY_COMMANDS, cli

    page = (ROOT / "docs" / "reference" / "commands.md").read_text(encoding="utf-8")
    names = set(LAZY_COMMANDS) | set(cli.commands)
    assert names and {n for n in names if f"## stenogram {n}\n" not in page} == set()


def test_every_declared_setting_is_in_the_reference():
    from stenogram.crawler import settings

    page = (ROOT / "docs" / "reference" / "settings.md").read_text(encoding="utf-8")
    declared = {n for n in dir(settings) if re.fullmatch(r"[A-Z][A-Z0-9_]+", n)}
    assert len(declared) > 50
    assert {n for n in declared if f"| `{n}` |" not in page} == set()


def test_a_new_setting_makes_the_page_stale(tmp_path, monkeypatch):
    """The check is real: a setting added to a copy of settings.py changes the generated page."""
    copy = tmp_path / "settings.py"
    copy.write_text(gen_reference.SETTINGS_PY.read_text(encoding="utf-8")
                    + "\nSTENOGRAM_NEW_THING = 7  # a reason\n", encoding="utf-8")
    monkeypatch.setattr(gen_reference, "SETTINGS_PY", copy)
    page = gen_reference.settings_page()
    assert "| `STENOGRAM_NEW_THING` | `7` | a reason |" in page
    assert page != (ROOT / "docs" / "reference" / "settings.md").read_text(encoding="utf-8")


def test_docs_site_builds_strictly(tmp_path):
    mkdocs = Path(sys.executable).parent / "mkdocs"
    if not mkdocs.exists():
        mkdocs = shutil.which("mkdocs")
    assert mkdocs, "mkdocs is in requirements.lock: `make install` installs it"
    result = subprocess.run([str(mkdocs), "build", "--strict", "--site-dir", str(tmp_path / "site")],
                            cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    assert (tmp_path / "site" / "reference" / "settings" / "index.html").exists()


def test_every_exit_status_the_commands_use_is_in_the_table():
    import stenogram.cli
    import stenogram.crawler.cli
    import stenogram.inputs
    from stenogram.exit_codes import EXIT_STATUSES

    listed = {e.status for e in EXIT_STATUSES}
    modules = (stenogram.cli, stenogram.inputs, stenogram.crawler.cli)
    used = {value for module in modules for name, value in vars(module).items()
            if re.fullmatch(r"(EXIT|EX)_[A-Z_]+", name) and isinstance(value, int)}
    assert len(used) >= 8 and used - listed == set()


def test_every_commands_help_ends_with_the_exit_statuses():
    from click.testing import CliRunner

    from stenogram.cli import LAZY_COMMANDS, cli

    for name in sorted(set(LAZY_COMMANDS) | set(cli.commands)):
        out = CliRunner().invoke(cli, [name, "--help"], terminal_width=200).output
        assert "Exit status: 0 ok, 1 errors, 2 usage" in out and "130 interrupted" in out, name
