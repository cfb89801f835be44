"""`stenogram crawl` refuses arguments it cannot honour, in one line with exit 2, before it
creates anything: unknown sources (also in --base-url), malformed base URLs, -s values of the
wrong type, and --loopback for any source whose base URL is not on loopback (--loopback drops
every politeness delay, so it must never reach a live site)."""
from __future__ import annotations

import pytest

from conftest import stenogram_cmd
from stenogram.crawler.runner import LOOPBACK_SETTINGS, check_crawl

LOCAL = "http://127.0.0.1:8001"

BAD = [
    (["mid", "--base-url", "typo=http://127.0.0.1:9"], "--base-url for unknown source(s): typo"),
    (["typo"], "unknown source(s): typo"),
    (["mid", "--base-url", "mid=not-a-url"], "--base-url mid: not an http(s) URL"),
    (["mid", "--base-url", "mid=ftp://127.0.0.1/"], "--base-url mid: not an http(s) URL"),
    (["mid", "--base-url", "mid=http://"], "--base-url mid: no host"),
    (["mid", "--base-url", "mid=http://127.0.0.1:abc/"], "--base-url mid: not a URL"),
    (["mid", "--base-url", f"mid={LOCAL}", "-s", "DOWNLOAD_DELAY=abc"], "-s DOWNLOAD_DELAY=abc: expected a number"),
    (["mid", "--base-url", f"mid={LOCAL}", "-s", "ROBOTSTXT_OBEY=perhaps"], "expected true/false"),
    (["mid", "--loopback"], "--loopback crawls only loopback sites, and mid has no --base-url"),
    (["mid", "--loopback", "--base-url", "mid=https://mid.ru"], "and mid has --base-url https://mid.ru"),
    (["mid", "mid_archive", "--loopback", "--base-url", f"mid={LOCAL}"], "mid_archive has no --base-url"),
    (["--loopback", "--base-url", f"mid={LOCAL}"], "has no --base-url"),  # all sources, only one local
    (["mid", "--loopback", "--base-url", "mid=http://10.0.0.1/"], "and mid has --base-url http://10.0.0.1/"),
]


@pytest.mark.parametrize("args,message", BAD, ids=[" ".join(a) for a, _ in BAD])
def test_bad_crawl_arguments_are_one_line_and_create_nothing(tmp_path, args, message):
    out = tmp_path / "out"
    proc = stenogram_cmd("crawl", *args, "--out", str(out), timeout=60)
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("stenogram crawl: "), proc.stderr
    assert message in lines[0]
    assert "Traceback" not in proc.stderr + proc.stdout
    assert not out.exists()


@pytest.mark.parametrize("base", [LOCAL, "http://localhost:8001/", "http://[::1]:8001", "http://127.5.6.7"])
def test_loopback_accepts_loopback_base_urls(base):
    check_crawl(["mid"], {"mid": base}, LOOPBACK_SETTINGS)


def test_base_urls_of_sources_not_crawled_are_checked_but_allowed():
    check_crawl(["mid"], {"mid": LOCAL, "interaffairs": "http://127.0.0.1:8004"}, LOOPBACK_SETTINGS)
    with pytest.raises(ValueError, match="--base-url interaffairs"):
        check_crawl(["mid"], {"mid": LOCAL, "interaffairs": "nope"}, {})


def test_live_crawl_needs_no_base_url_and_takes_numeric_settings():
    check_crawl(["mid", "interaffairs"], {}, {"DOWNLOAD_DELAY": "12.5", "RETRY_TIMES": "3", "ROBOTSTXT_OBEY": "true"})
