"""Helpers for the operations tests: real crawls of the sample site on loopback, in a subprocess.

Twisted's reactor cannot be restarted inside the test process, so each crawl runs
``crawler.runner.run_crawl`` (or the ``stenogram`` command) in a child process with a hard
timeout, while the sample site (and its faults) runs in this process so tests can read its
request log. Nothing here talks to any address but 127.0.0.1.
"""
from __future__ import annotations

import gzip
import json
import subprocess
import sys
import textwrap
from pathlib import Path

import conftest

#: Short pauses for loopback: the waits are real, just small.
FAST_WAITS = {
    "RETRY_BACKOFF_BASE": 0.05,
    "RETRY_BACKOFF_MAX": 0.5,
    "RETRY_BACKOFF_JITTER": 0,
    "INTERSTITIAL_BACKOFF_BASE": 0.1,
    "INTERSTITIAL_BACKOFF_MAX": 1.0,
    "RETRY_AFTER_MAX": 30,
}

_RUNNER = textwrap.dedent(
    """
    import json, sys
    from stenogram.crawler.runner import LOOPBACK_SETTINGS, run_crawl
    cfg = json.loads(sys.argv[1])
    settings = dict(LOOPBACK_SETTINGS)
    settings.update(cfg["settings"])
    result = run_crawl(cfg["sources"], out_dir=cfg["out"], base_urls=cfg["base_urls"],
                       settings=settings, spider_args=cfg.get("spider_args"))
    stats = {s: {k: (v if isinstance(v, (int, float)) else str(v)) for k, v in st.items()}
             for s, st in result.stats.items()}
    json.dump(stats, open(cfg["stats_path"], "w"))
    """
)


def run_crawl_subprocess(site, out: Path, sources=("mid",), settings: dict | None = None,
                         spider_args: dict | None = None, timeout: float = 60) -> tuple[dict, str]:
    """Crawl ``sources`` of ``site`` into ``out``; return (stats per source, log text)."""
    out.mkdir(parents=True, exist_ok=True)
    stats_path = out / f"stats-{len(list(out.glob('stats-*.json')))}.json"
    cfg = {
        "sources": list(sources),
        "out": str(out),
        "base_urls": {s: site.base_urls[s] for s in sources},
        "settings": {**FAST_WAITS, **(settings or {})},
        "spider_args": spider_args or {},
        "stats_path": str(stats_path),
    }
    proc = subprocess.run([sys.executable, "-c", _RUNNER, json.dumps(cfg)], capture_output=True,
                          text=True, timeout=timeout)
    assert proc.returncode == 0, proc.stderr[-4000:]
    return json.loads(stats_path.read_text()), proc.stderr


def total(stats: dict, key: str) -> float:
    return sum(s.get(key, 0) for s in stats.values())


def warc_responses(warc_dir: Path) -> list[tuple[str, str, int, bytes]]:
    """(record type, target URI, HTTP status, payload) of every response/revisit in the WARCs."""
    from warcio.archiveiterator import ArchiveIterator

    out = []
    for path in sorted(Path(warc_dir).glob("*.warc.gz")):
        with open(path, "rb") as fh:
            for record in ArchiveIterator(fh):
                if record.rec_type not in ("response", "revisit"):
                    continue
                status = int(record.http_headers.get_statuscode()) if record.http_headers else 0
                body = record.content_stream().read()
                encoding = record.http_headers.get_header("Content-Encoding") if record.http_headers else None
                if encoding == "gzip" and body:
                    try:
                        body = gzip.decompress(body)
                    except OSError:
                        pass
                out.append((record.rec_type, record.rec_headers.get_header("WARC-Target-URI"), status, body))
    return out


def transcript_targets(site, source: str) -> set[str]:
    """Root-relative paths of every transcript page the catalog serves on ``source``."""
    paths = set()
    for t in site.catalog.transcripts.values():
        copy = t.copies.get(source)
        if copy is not None:
            paths.update(copy.paths)
    return paths


def crawl_args(site, out: Path, *sources: str, settings: dict | None = None) -> list[str]:
    """`stenogram crawl` arguments for the sample site: the project's settings, short waits."""
    args = conftest.crawl_args(site, out, *sources)
    for name, value in {**FAST_WAITS, **(settings or {})}.items():
        args += ["-s", f"{name}={value}"]
    return args
