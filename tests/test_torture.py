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
from hypothesis import given, settings

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))

import torture  # noqa: E402  (tools/ is not a package)

from frontier_contract import (  # noqa: E402
    SCHEDULES, check_owes_what_was_enqueued_and_not_done, check_round_trip_and_walks)
from stenogram.crawler.state import SqliteFrontier  # noqa: E402


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
    # the same documents whose canonical URL (or version) another fetch order chose differently
    two = (frozenset({"h1"}), frozenset({"http://127.0.0.1/a", "http://127.0.0.1/a2"}))
    ref.canonical = {(two, "http://127.0.0.1/a", "h1"), (other, "http://127.0.0.1/b", "h2")}
    got = torture.Snapshot(**{**ref.__dict__, "canonical": {(two, "http://127.0.0.1/a2", "h1"),
                                                            (other, "http://127.0.0.1/b", "h2")}})
    [found] = torture.differences(ref, got)
    assert found.startswith("canonical: 1 documents") and "http://127.0.0.1/a -> http://127.0.0.1/a2" in found


def test_frontier_round_trip_and_walks(tmp_path):
    frontier = SqliteFrontier(tmp_path / "state.db")
    check_round_trip_and_walks(frontier, lambda: frontier.close() or SqliteFrontier(tmp_path / "state.db"))


@settings(max_examples=40, deadline=None)
@given(SCHEDULES)
def test_frontier_owes_exactly_what_was_enqueued_and_not_done(tmp_path_factory, ops):
    frontier = SqliteFrontier(tmp_path_factory.mktemp("frontier") / "state.db")
    check_owes_what_was_enqueued_and_not_done(frontier, ops)
    frontier.close()
