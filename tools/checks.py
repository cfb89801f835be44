#!/usr/bin/env python3
"""Lint, type and layer checks against a baseline that may only shrink: `make lint` (.ci/run).

* ruff (pyflakes, pycodestyle, bugbear; pyproject's ``[tool.ruff]``) over the whole tree;
* mypy over the installed package layout: the folders crawler/, archive/, extract/, corpus/ are
  installed as ``stenogram.crawler`` … (pyproject's package-dir), which mypy cannot follow from
  the source tree, so it reads a tree of symlinks in that layout (``build/typecheck``);
* import-linter's contracts (pyproject's ``[tool.importlinter]``): commands → crawler → corpus →
  extract → archive, over the same tree.

Existing ruff and mypy findings are counted per file and rule in ``tools/checks-baseline.json``;
a count above its baseline fails (with the new findings printed), a count below it says the
baseline can shrink (``--update`` writes the new, lower counts; it refuses to raise any).
"""
from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
BASELINE = ROOT / "tools" / "checks-baseline.json"
FARM = ROOT / "build" / "typecheck"
MAPPED = ("crawler", "archive", "extract", "corpus")  # pyproject [tool.setuptools.package-dir]
MYPY_LINE = re.compile(r"^(?P<path>[^:]+):(?P<line>\d+): error: (?P<msg>.*?)\s+\[(?P<code>[a-z-]+)\]$")


def build_farm() -> Path:
    """``build/typecheck/stenogram`` laid out as installed, every entry a symlink to the source."""
    if FARM.exists():
        shutil.rmtree(FARM)
    package = FARM / "stenogram"
    package.mkdir(parents=True)
    for entry in (ROOT / "stenogram").iterdir():
        if entry.name != "__pycache__":
            (package / entry.name).symlink_to(entry)
    for name in MAPPED:
        (package / name).symlink_to(ROOT / name)
    return FARM


def source_path(path: str) -> str:
    """A path mypy reports inside the farm, as the file's path in the repository."""
    parts = Path(path).parts
    if parts[:3] == ("build", "typecheck", "stenogram"):
        rest = parts[3:]
        return str(Path(*rest)) if rest and rest[0] in MAPPED else str(Path("stenogram", *rest))
    return path


def ruff_findings() -> Counter:
    result = subprocess.run([str(BIN / "ruff"), "check", "--output-format", "json", "--exit-zero", "."],
                            cwd=ROOT, capture_output=True, text=True, check=True)
    return Counter((str(Path(f["filename"]).relative_to(ROOT)), f["code"] or "syntax")
                   for f in json.loads(result.stdout))


def mypy_findings(farm: Path, lines: list[str]) -> Counter:
    env = {**os.environ, "MYPYPATH": str(farm.relative_to(ROOT))}
    result = subprocess.run([str(BIN / "mypy"), "-p", "stenogram"], cwd=ROOT, env=env,
                            capture_output=True, text=True)
    found = Counter()
    for line in result.stdout.splitlines():
        match = MYPY_LINE.match(line)
        if match:
            path = source_path(match["path"])
            found[(path, match["code"])] += 1
            lines.append(f"{path}:{match['line']}: {match['msg']} [{match['code']}]")
    if result.returncode not in (0, 1) or (result.returncode == 1 and not found):
        raise SystemExit(f"checks: mypy failed to run:\n{result.stdout[-2000:]}{result.stderr[-2000:]}")
    return found


def import_contracts(farm: Path) -> tuple[bool, str]:
    env = {**os.environ, "PYTHONPATH": str(farm)}
    result = subprocess.run([str(BIN / "lint-imports"), "--config", str(ROOT / "pyproject.toml")],
                            cwd=farm, env=env, capture_output=True, text=True)
    return result.returncode == 0, result.stdout + result.stderr


def compare(tool: str, found: Counter, baseline: dict[str, int]) -> tuple[list[str], list[str]]:
    worse, better = [], []
    for key in sorted(set(found) | {tuple(k.split("::")) for k in baseline}):
        name = "::".join(key)
        now, before = found.get(key, 0), baseline.get(name, 0)
        if now > before:
            worse.append(f"{tool}: {key[0]}: {key[1]}: {now} (baseline {before})")
        elif now < before:
            better.append(f"{tool}: {key[0]}: {key[1]}: {now} (baseline {before})")
    return worse, better


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--update", action="store_true", help="lower the baseline to the current counts")
    args = parser.parse_args(argv)
    baseline = json.loads(BASELINE.read_text()) if BASELINE.exists() else {"ruff": {}, "mypy": {}}
    mypy_lines: list[str] = []
    farm = build_farm()  # one tree for both readers of the installed layout
    found = {"ruff": ruff_findings(), "mypy": mypy_findings(farm, mypy_lines)}
    failed = False
    for tool in ("ruff", "mypy"):
        worse, better = compare(tool, found[tool], baseline[tool])
        for line in worse:
            print(f"checks: more than the baseline: {line}")
        for line in better:
            print(f"checks: fewer than the baseline (run tools/checks.py --update): {line}")
        failed |= bool(worse)
    if failed:
        print("checks: the new findings (ruff: `.venv/bin/ruff check FILE`; mypy):")
        print("\n".join(mypy_lines[:80]))
    kept, report = import_contracts(farm)
    if not kept:
        print(report)
        failed = True
    if args.update:
        if failed and BASELINE.exists():  # the first baseline takes what there is
            print("checks: not updating: the baseline may only shrink", file=sys.stderr)
            return 1
        BASELINE.write_text(json.dumps(
            {tool: {"::".join(k): n for k, n in sorted(found[tool].items())} for tool in ("ruff", "mypy")},
            indent=1, sort_keys=True) + "\n")
    totals = ", ".join(f"{tool} {sum(found[tool].values())}" for tool in ("ruff", "mypy"))
    print(f"checks: {'FAILED' if failed else 'ok'} ({totals} findings within the baseline; "
          f"import contracts {'kept' if kept else 'BROKEN'})")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
