"""The `Frontier` contract, one check for every backend (SQLite in state.db, Redis).

A frontier owes exactly what was enqueued and not yet done, per source, whatever the order of
the operations: the property test of each backend feeds it the same generated schedules.
"""
from __future__ import annotations

from hypothesis import strategies as st

from stenogram.crawler.state import FrontierEntry

#: schedules of enqueue/done on two sources and a few URLs (so the same URL comes back)
SCHEDULES = st.lists(st.tuples(st.sampled_from(["enqueue", "done"]), st.sampled_from(["mid", "mid_archive"]),
                               st.integers(0, 6)), max_size=30)


def entry(url: str, source: str = "mid") -> FrontierEntry:
    return FrontierEntry(url, source, "parse_listing", {"page": 2}, {"discovery": True, "depth": 1}, -1)


def check_owes_what_was_enqueued_and_not_done(frontier, ops) -> None:
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


def check_round_trip_and_walks(frontier, reopen) -> None:
    """Enqueue is idempotent, another handle (``reopen()``: another process or worker) sees it,
    done clears only what was owed, walks complete per source."""
    frontier.enqueue(entry("http://127.0.0.1:1/a"))
    frontier.enqueue(entry("http://127.0.0.1:1/a"))  # idempotent
    frontier.enqueue(entry("http://127.0.0.1:1/b", "interaffairs"))
    again = reopen()
    assert again.owed("mid") == [entry("http://127.0.0.1:1/a")]
    assert again.count() == 2
    again.done("mid", ["http://127.0.0.1:1/a", "http://127.0.0.1:1/never-owed"])
    assert again.owed("mid") == [] and again.count("interaffairs") == 1
    assert not again.walk_completed("mid", "w")
    again.complete_walks("mid", ["w"])
    assert again.walk_completed("mid", "w") and not again.walk_completed("interaffairs", "w")
