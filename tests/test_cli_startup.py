"""The CLI loads command modules lazily: `stenogram extract` must not pay for scipy/datasketch
(corpus dedup), scrapy (crawler) or trafilatura (only the generic path, for pages no profile
reads, needs it).

Not timing-based: each check runs a fresh interpreter and looks at sys.modules. The startup
time itself is printed by bench/bench_startup.py.
"""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from stenogram.cli import LAZY_COMMANDS, cli

HEAVY = ("scipy", "datasketch", "scrapy", "trafilatura", "cdxj_indexer", "numpy", "pymorphy3")
ROOT = Path(__file__).resolve().parents[1]


def loaded_after(code: str) -> list[str]:
    """Heavy top-level packages present in sys.modules after running `code` in a fresh python."""
    probe = code + f"\nimport sys, json\nprint(json.dumps([m for m in {HEAVY!r} if m in sys.modules]))"
    out = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_importing_the_cli_loads_no_heavy_package():
    assert loaded_after("import stenogram.cli") == []


@pytest.mark.parametrize("args", [["--help"], ["extract", "--help"], ["index", "--help"], ["wacz", "--help"]])
def test_help_loads_no_heavy_package(args):
    code = ("import sys\nfrom stenogram.cli import cli\n"
            f"try:\n    cli.main({args!r}, standalone_mode=False)\nexcept SystemExit:\n    pass")
    assert loaded_after(code) == []


@pytest.mark.parametrize("page, needs_trafilatura", [
    ("seed-000.mid.html", False),  # a profile's body container: read without trafilatura
    ("seed-000-ru.mid.html", False),
    ("variant-no-container.mirror.html", True),  # no profile: the generic path uses trafilatura
])
def test_extract_loads_only_what_the_page_needs(page, needs_trafilatura):
    sample = ROOT / "tests" / "gold" / "pages" / page
    code = ("import io, contextlib, json\nfrom stenogram.cli import cli\nout = io.StringIO()\n"
            "with contextlib.redirect_stdout(out):\n"
            f"    try:\n        cli.main(['extract', {str(sample)!r}], standalone_mode=False)\n"
            "    except SystemExit:\n        pass\n"
            "assert json.loads(out.getvalue())['is_transcript'], out.getvalue()[:300]")
    loaded = loaded_after(code)
    assert ("trafilatura" in loaded) == needs_trafilatura
    assert not {"scipy", "datasketch", "scrapy", "cdxj_indexer"} & set(loaded)


def test_every_command_is_listed_and_loads():
    ctx = click.Context(cli)
    names = cli.list_commands(ctx)
    assert {"crawl", "demo", *LAZY_COMMANDS} == set(names)
    for name in LAZY_COMMANDS:
        assert isinstance(cli.get_command(ctx, name), click.Command), name


@pytest.mark.parametrize("name", sorted(LAZY_COMMANDS))
def test_stored_help_line_is_the_commands_own(name):
    """`stenogram --help` shows LAZY_COMMANDS' line without importing the module; it must say
    what the command's docstring says (update LAZY_COMMANDS when a docstring changes)."""
    command = cli.get_command(click.Context(cli), name)
    own = command.short_help or (command.help or "").split("\n\n")[0].replace("\n", " ").strip()
    assert LAZY_COMMANDS[name][1] == own


def test_group_help_lists_every_command_with_its_help():
    result = CliRunner().invoke(cli, ["--help"], terminal_width=200)
    assert result.exit_code == 0, result.output
    for name, (_, line) in LAZY_COMMANDS.items():
        assert f"{name} " in result.output and line[:40] in result.output


def test_unknown_command_is_a_usage_error():
    result = CliRunner().invoke(cli, ["no-such-command"])
    assert result.exit_code == 2 and "No such command" in result.output
