"""Crash torture, short: kill -9 a sample-site crawl at seeded random moments, then finish it.

The long version is ``tools/torture.py`` (5 seeds, size 1500, 20 kills each, figures in the
README). Here one seed, a small site and a few kills, so CI runs it in about a minute; the
comparison is the harness's own: documents by normalised-text hash and URLs, versions, capture
facts, archived URLs, dangling revisits and ``warcio check`` on every WARC. The frontier's own
contract (what a Redis backend would have to keep too) is checked against a model.
"""
from __future__ import annotations

import sys
from pathlib import Path

import pytest
from hypothesis import given, settings, strategies as st

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))

import torture  # noqa: E402  (tools/ is not a package)

from stenogram.crawler.state import FrontierEntry, SqliteFrontier  # noqa: E402


@pytest.mark.network
@pytest.mark.slow
def test_killed_crawl_equals_an_uninterrupted_one(tmp_path):
    result = torture.torture(seed=11, size=200, kills=5, work=tmp_path, log=lambda _m: None)
    assert result.kills == 5
    assert result.differences == [], result.line()
    assert result.documents == result.reference_documents > 150


def test_differences_are_found(tmp_path):
    """The comparison is not vacuous: a lost document, version or archived URL is reported."""
    from collections import Counter

    doc = (frozenset({"h1"}), frozenset({"http://127.0.0.1/a"}))
    other = (frozenset({"h2"}), frozenset({"http://127.0.0.1/b"}))
    ref = torture.Snapshot(Counter([doc, other]), {("h1", doc), ("h2", other)}, 2,
                           {("http://127.0.0.1/a", 1, None, "h1"), ("http://127.0.0.1/b", 1, None, "h2")},
                           {"http://127.0.0.1/a", "http://127.0.0.1/b"}, 2)
    got = torture.Snapshot(Counter([doc]), {("h1", doc)}, 1, {("http://127.0.0.1/a", 1, None, "h1")},
                           {"http://127.0.0.1/a"}, 1, ["left open: x.warc.gz.open"])
    found = torture.differences(ref, got)
    assert [d.split(":")[0] for d in found] == ["documents", "versions", "captures", "archive", "warc"]
    assert torture.differences(ref, ref) == []


def entry(url: str, source: str = "mid") -> FrontierEntry:
    return FrontierEntry(url, source, "parse_listing", {"page": 2}, {"discovery": True, "depth": 1}, -1)


def test_frontier_round_trip_and_walks(tmp_path):
    frontier = SqliteFrontier(tmp_path / "state.db")
    frontier.enqueue(entry("http://127.0.0.1:1/a"))
    frontier.enqueue(entry("http://127.0.0.1:1/a"))  # idempotent
    frontier.enqueue(entry("http://127.0.0.1:1/b", "interaffairs"))
    frontier.close()
    again = SqliteFrontier(tmp_path / "state.db")  # durable across processes
    assert again.owed("mid") == [entry("http://127.0.0.1:1/a")]
    assert again.count() == 2
    again.done("mid", ["http://127.0.0.1:1/a", "http://127.0.0.1:1/never-owed"])
    assert again.owed("mid") == [] and again.count("interaffairs") == 1
    assert not again.walk_completed("mid", "w")
    again.complete_walks("mid", ["w"])
    assert again.walk_completed("mid", "w") and not again.walk_completed("interaffairs", "w")


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["enqueue", "done"]), st.sampled_from(["mid", "mid_archive"]),
                          st.integers(0, 6)), max_size=30))
def test_frontier_owes_exactly_what_was_enqueued_and_not_done(tmp_path_factory, ops):
    frontier = SqliteFrontier(tmp_path_factory.mktemp("frontier") / "state.db")
    model: set[tuple[str, str]] = set()
    for op, source, n in ops:
        url = f"http://127.0.0.1:1/{n}"
        if op == "enqueue":
            frontier.enqueue(entry(url, source))
            model.add((source, url))
        else:
            frontier.done(source, [url])
            model.discard((source, url))
    for source in ("mid", "mid_archive"):
        assert {e.url for e in frontier.owed(source)} == {u for s, u in model if s == source}
    frontier.close()
