#!/usr/bin/env python3
"""Check the pinned dependency tree against known vulnerabilities: `make audit`.

A pip-audit-style check that works where no vulnerability database answers (this project's CI and
machines reach PyPI's package index only): every ``name==version`` pin of a lock file is compared
with the advisories of ``tools/advisories.toml``, which the repository ships and reviewers extend.
``--online`` also asks PyPI's JSON API (``/pypi/<name>/<version>/json``, its ``vulnerabilities``
list: the source pip-audit's default ``pypi`` service reads) and, when that API does not answer,
says so in one line and keeps the offline verdict: an unreachable database is never a silent pass.

Exit status: 0 no known vulnerability, 1 at least one pin is affected, 2 bad input (a lock or
advisory file that cannot be read).
"""
from __future__ import annotations

import argparse
import json
import re
import sys
import tomllib
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

ROOT = Path(__file__).resolve().parent.parent
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)(?:\[[^\]]*\])?==([^\s;\\]+)")
PYPI_JSON = "https://pypi.org/pypi"


@dataclass(frozen=True)
class Finding:
    package: str
    version: str
    advisory: str
    fixed: str
    summary: str

    def line(self) -> str:
        return (f"{self.package}=={self.version}: {self.advisory} (fixed in {self.fixed}): "
                f"{self.summary}")


def read_pins(lock: Path) -> dict[str, str]:
    """``{canonical name: version}`` of every ``name==version`` line (hash lines are skipped)."""
    pins: dict[str, str] = {}
    for raw in lock.read_text(encoding="utf-8").splitlines():
        match = PIN.match(raw.strip())
        if match:
            pins[canonicalize_name(match.group(1))] = match.group(2)
    return pins


def read_advisories(path: Path) -> list[dict]:
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    advisories = data.get("advisory", [])
    for entry in advisories:
        missing = {"package", "id", "introduced", "fixed", "summary", "reference"} - entry.keys()
        if missing:
            raise ValueError(f"advisory {entry.get('id', '?')} lacks {', '.join(sorted(missing))}")
        Version(entry["introduced"]), Version(entry["fixed"])  # raise on a malformed range
    return advisories


def offline_findings(pins: dict[str, str], advisories: list[dict]) -> list[Finding]:
    found = []
    for entry in advisories:
        name = canonicalize_name(entry["package"])
        if name not in pins:
            continue
        try:
            version = Version(pins[name])
        except InvalidVersion:
            continue
        if Version(entry["introduced"]) <= version < Version(entry["fixed"]):
            found.append(Finding(name, pins[name], entry["id"], entry["fixed"], entry["summary"]))
    return found


def online_findings(pins: dict[str, str], base: str, timeout: float) -> list[Finding]:
    """Ask PyPI's JSON API for each pin; raises ``OSError`` when the API does not answer."""
    found = []
    for name, version in sorted(pins.items()):
        url = f"{base.rstrip('/')}/{name}/{version}/json"
        try:
            with urllib.request.urlopen(url, timeout=timeout) as answer:
                data = json.load(answer)
        except urllib.error.HTTPError as exc:
            raise OSError(f"{url} answered HTTP {exc.code}") from exc
        for vuln in data.get("vulnerabilities") or []:
            fixed = ", ".join(vuln.get("fixed_in") or []) or "no fixed release"
            summary = (vuln.get("summary") or vuln.get("details") or "").splitlines()[0][:160]
            found.append(Finding(name, version, vuln.get("id", "?"), fixed, summary))
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("locks", nargs="*", type=Path,
                        default=[ROOT / "requirements.lock", ROOT / "tools" / "requirements-tools.txt"])
    parser.add_argument("--advisories", type=Path, default=ROOT / "tools" / "advisories.toml")
    parser.add_argument("--online", action="store_true", help="also ask PyPI's JSON API")
    parser.add_argument("--pypi", default=PYPI_JSON, help="base URL of PyPI's JSON API")
    parser.add_argument("--timeout", type=float, default=10.0)
    args = parser.parse_args(argv)
    try:
        advisories = read_advisories(args.advisories)
        locks = {lock: read_pins(lock) for lock in args.locks}
    except (OSError, ValueError, tomllib.TOMLDecodeError, InvalidVersion) as exc:
        print(f"audit: {exc}", file=sys.stderr)
        return 2
    findings: list[Finding] = []
    for lock, pins in locks.items():
        findings += offline_findings(pins, advisories)
        if args.online:
            try:
                findings += online_findings(pins, args.pypi, args.timeout)
            except OSError as exc:
                print(f"audit: online database not reachable ({exc}); "
                      f"{lock.name} checked against the shipped list only", file=sys.stderr)
                args.online = False
    unique = sorted(set(findings), key=lambda f: (f.package, f.advisory))
    for finding in unique:
        print(f"audit: {finding.line()}")
    pins_checked = sum(len(p) for p in locks.values())
    print(f"audit: {pins_checked} pins in {len(locks)} lock file(s) against {len(advisories)} "
          f"advisories: {len(unique)} known vulnerabilit{'y' if len(unique) == 1 else 'ies'}")
    return 1 if unique else 0


if __name__ == "__main__":
    sys.exit(main())
