"""The dependency tree as it is installed: hash-pinned, current on security releases, audited.

`make install` installs requirements.lock with ``--require-hashes``, so a lock line without a hash
(or a package whose file changed on the index) stops the install; these tests read the lock the
way pip does and run ``tools/audit.py`` as `make audit` does, offline against the shipped list and
"online" against a PyPI JSON API that is a closed loopback port (so no traffic leaves the machine).
"""
from __future__ import annotations

import re
import socket
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parent.parent
LOCKS = [ROOT / "requirements.lock", ROOT / "tools" / "requirements-tools.txt"]
AUDIT = ROOT / "tools" / "audit.py"


def lock_entries(lock: Path) -> dict[str, tuple[str, list[str]]]:
    """``{name: (version, [sha256 hashes])}`` of a pip-compile style lock (continued lines)."""
    text = re.sub(r"\\\n", " ", lock.read_text(encoding="utf-8"))
    entries = {}
    for line in text.splitlines():
        line = line.split(" #", 1)[0].strip()
        if not line or line.startswith(("#", "-")):
            continue
        spec, *options = line.split(" --hash=")
        req = Requirement(spec.strip())
        name = canonicalize_name(req.name)
        assert name not in entries, f"{lock.name}: {name} pinned twice"
        (pinned,) = [s.version for s in req.specifier if s.operator == "=="]
        entries[name] = (pinned, [o.strip() for o in options])
    return entries


def run_audit(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(AUDIT), *args], capture_output=True, text=True,
                          timeout=120)


@pytest.mark.parametrize("lock", LOCKS, ids=lambda p: p.name)
def test_every_pin_carries_sha256_hashes(lock):
    entries = lock_entries(lock)
    assert len(entries) > 50
    for name, (version, hashes) in entries.items():
        assert hashes, f"{lock.name}: {name}=={version} has no hash (pip --require-hashes refuses it)"
        assert all(re.fullmatch(r"sha256:[0-9a-f]{64}", h) for h in hashes), name


def test_direct_dependencies_are_the_locked_versions():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    locked = lock_entries(ROOT / "requirements.lock")
    direct = project["dependencies"] + project["optional-dependencies"]["test"]
    for spec in direct:
        req = Requirement(spec)
        (pinned,) = [s.version for s in req.specifier if s.operator == "=="]
        assert locked[canonicalize_name(req.name)][0] == pinned, spec


def test_make_install_requires_hashes():
    recipe = (ROOT / "Makefile").read_text()
    assert re.search(r"pip install .*--require-hashes -r requirements\.lock", recipe)
    assert "--require-hashes" in (ROOT / "tools" / "setup-tools.sh").read_text()


def test_lxml_is_at_least_the_security_release():
    version, _ = lock_entries(ROOT / "requirements.lock")["lxml"]
    assert Version(version) >= Version("6.2.0")


def test_the_shipped_list_finds_nothing_in_the_locks():
    result = run_audit()
    assert result.returncode == 0, result.stdout + result.stderr
    assert re.search(r"against \d+ advisories: 0 known vulnerabilities", result.stdout)


def test_an_affected_pin_fails_the_audit_with_its_advisory(tmp_path):
    lock = tmp_path / "old.lock"
    lock.write_text("lxml==6.1.3 \\\n    --hash=sha256:" + "0" * 64 + "\nScrapy==2.11.0\nwarcio==1.8.1\n")
    result = run_audit(str(lock))
    assert result.returncode == 1
    found = result.stdout
    assert "lxml==6.1.3: GHSA-23p9-v872-36p9 (fixed in 6.2.0)" in found
    assert "CVE-2026-41066" not in found  # 6.1.3 already has the 6.1.0 fix
    assert "scrapy==2.11.0: GHSA-7j7m-v7m3-jqm7 (fixed in 2.11.1)" in found
    assert "scrapy==2.11.0: GHSA-2qfp-q593-8484" in found
    assert "3 known vulnerabilities" in found


def test_an_unreachable_database_is_said_in_one_line_not_passed_silently(tmp_path):
    with socket.socket() as sock:  # a loopback port nobody listens on: connection refused
        sock.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{sock.getsockname()[1]}/pypi"
    lock = tmp_path / "one.lock"
    lock.write_text("warcio==1.8.1\n")
    result = run_audit(str(lock), "--online", "--pypi", closed, "--timeout", "5")
    assert result.returncode == 0
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith("audit: online database not reachable (")
    assert line.endswith("one.lock checked against the shipped list only")


def test_a_malformed_advisory_list_is_one_error_line(tmp_path):
    bad = tmp_path / "advisories.toml"
    bad.write_text('[[advisory]]\npackage = "lxml"\nid = "X"\n')
    result = run_audit("--advisories", str(bad))
    assert result.returncode == 2
    assert result.stderr.strip() == "audit: advisory X lacks fixed, introduced, reference, summary"
