"""Shared fixtures: the bundled sample site on loopback, and one real crawl of it.

The crawl runs `stenogram crawl` in a subprocess (Twisted's reactor cannot be restarted inside
the test process) against a sample site served from this process on 127.0.0.1.
"""
from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

VENV_BIN = Path(sys.executable).parent


def stenogram_cmd(*args: str, timeout: float = 300, **kwargs) -> subprocess.CompletedProcess:
    """Run the installed `stenogram` console script; bounded in time."""
    return subprocess.run(
        [str(VENV_BIN / "stenogram"), *args], capture_output=True, text=True, timeout=timeout, **kwargs
    )


def crawl_args(site, out: Path, *sources: str) -> list[str]:
    args = ["crawl", *sources, "--loopback", "--out", str(out)]
    for source, url in site.base_urls.items():
        args += ["--base-url", f"{source}={url}"]
    return args


@dataclass
class CrawlRun:
    site: object
    out: Path
    proc: subprocess.CompletedProcess

    @property
    def db(self) -> Path:
        return self.out / "corpus.db"

    @property
    def warc_dir(self) -> Path:
        return self.out / "warc"

    def warcs(self) -> list[Path]:
        return sorted(self.warc_dir.glob("*.warc.gz"))


@pytest.fixture(scope="session")
def sample_site():
    """A sample site for tests that only read from it."""
    from stenogram.sample_site.server import SampleSite

    with SampleSite(port=0, size=12, seed=7) as site:
        yield site


@pytest.fixture(scope="session")
def crawled(tmp_path_factory):
    """One full crawl of every source of a dedicated sample site."""
    from stenogram.sample_site.server import SampleSite

    out = tmp_path_factory.mktemp("crawl")
    with SampleSite(port=0, size=12, seed=7) as site:
        proc = stenogram_cmd(*crawl_args(site, out))
        yield CrawlRun(site=site, out=out, proc=proc)
