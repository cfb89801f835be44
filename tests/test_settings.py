"""Each setting is declared once: in crawler/settings.py, with its default and a reason.

Components read settings with ``settings.getint("X")`` and no fallback, so a default lives in one
place and ``-s X=...`` always wins. Found by reading the source (every ``.get*("UPPER_CASE")`` on
something named ``settings``), so a new read without a declaration fails here.
"""
from __future__ import annotations

import ast
import io
import re
import tokenize
from pathlib import Path

import pytest
from scrapy.settings import default_settings

from stenogram.crawler import settings as project

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("crawler", "archive", "extract", "corpus", "stenogram")
GETTERS = {"get", "getint", "getfloat", "getbool", "getlist", "getdict", "getdictorlist", "getwithbase"}
NAME = re.compile(r"[A-Z][A-Z0-9_]+")
SETTINGS_PY = ROOT / "crawler" / "settings.py"


def _is_settings(node: ast.expr) -> bool:
    """``settings``, ``crawler.settings``, ``self.crawler.settings``, ``project_settings(...)``."""
    if isinstance(node, ast.Name):
        return node.id in ("settings", "conf")
    if isinstance(node, ast.Attribute):
        return node.attr == "settings"
    return isinstance(node, ast.Call) and getattr(node.func, "id", None) == "project_settings"


def settings_reads():
    """(file:line, setting name, how many fallback arguments) of every read in the packages."""
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                        and node.func.attr in GETTERS and _is_settings(node.func.value) and node.args):
                    continue
                first = node.args[0]
                if isinstance(first, ast.Constant) and isinstance(first.value, str) and NAME.fullmatch(first.value):
                    where = f"{path.relative_to(ROOT)}:{node.lineno}"
                    yield where, first.value, len(node.args) - 1 + len(node.keywords)


READS = list(settings_reads())
DECLARED = {name for name in dir(project) if NAME.fullmatch(name)}
OWN = DECLARED - set(dir(default_settings))


def test_the_source_reads_settings():  # the scan itself works
    assert len(READS) > 40 and {"WARC_DIGEST", "RECRAWL_SCHEDULE", "RETRY_BACKOFF_BASE"} <= {n for _, n, _ in READS}


def test_every_setting_read_is_declared():
    missing = [(where, name) for where, name, _ in READS
               if name not in DECLARED and not hasattr(default_settings, name)]
    assert missing == []


def test_no_read_passes_a_fallback_default():
    assert [(where, name) for where, name, fallbacks in READS if fallbacks] == []


def test_every_own_setting_is_read_somewhere():
    read = {name for _, name, _ in READS}
    assert sorted(OWN - read) == []


def test_each_setting_is_assigned_once():
    tree = ast.parse(SETTINGS_PY.read_text(encoding="utf-8"))
    names = [t.id for node in tree.body if isinstance(node, ast.Assign) for t in node.targets
             if isinstance(t, ast.Name) and NAME.fullmatch(t.id)]
    assert sorted({n for n in names if names.count(n) > 1}) == []


def test_no_setting_repeats_scrapys_default():
    same = [name for name in DECLARED - OWN if getattr(project, name) == getattr(default_settings, name)]
    assert same == []


def _commented_lines() -> set[int]:
    tokens = tokenize.generate_tokens(io.StringIO(SETTINGS_PY.read_text(encoding="utf-8")).readline)
    return {tok.start[0] for tok in tokens if tok.type == tokenize.COMMENT}


@pytest.mark.parametrize("name", sorted(OWN))
def test_each_own_setting_says_why(name):
    """A comment on its own line of crawler/settings.py, or right above it."""
    comments = _commented_lines()
    lines = SETTINGS_PY.read_text(encoding="utf-8").splitlines()
    line = next(i for i, text in enumerate(lines, 1) if re.match(rf"{name}\s*=", text))
    assert {line, line - 1} & comments, f"{name}: say why it has this default"
