"""Documents per year (corpus/coverage.py): the crawl report and the web home page show how far
back the corpus reaches; on the sample site's Domino and Liferay copies, back to 2004."""
from __future__ import annotations

import re
import sqlite3

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from stenogram.corpus.coverage import per_year, per_year_lines
from stenogram.corpus.web import views
from stenogram.sample_site.server import SampleSite

from conftest import stenogram_cmd


def _corpus(rows: list[tuple[str | None]]) -> sqlite3.Connection:
    con = sqlite3.connect(":memory:")
    con.execute("CREATE TABLE documents (id INTEGER PRIMARY KEY, date TEXT, year INTEGER, language TEXT, sources TEXT)")
    con.executemany("INSERT INTO documents (date, year, language, sources) VALUES (?, ?, 'en', '[\"mid\"]')",
                    [(d, int(d[:4]) if d else None) for (d,) in rows])
    return con


def test_per_year_fills_gaps_and_counts_the_undated_apart():
    con = _corpus([("2004-06-29",), ("2004-11-08",), ("2007-09-10",), (None,), ("2015-03-16",)])
    counts, undated = per_year(con)
    assert counts == {2004: 2, 2005: 0, 2006: 0, 2007: 1, 2008: 0, 2009: 0, 2010: 0, 2011: 0, 2012: 0,
                      2013: 0, 2014: 0, 2015: 1}
    assert undated == 1
    assert per_year(_corpus([])) == ({}, 0) and per_year(_corpus([(None,)])) == ({}, 1)
    assert views.coverage_years(con) == {"years": list(counts.items()), "undated": 1, "peak": 2}


@settings(max_examples=100, deadline=None)
@given(counts=st.dictionaries(st.integers(1990, 2040), st.integers(0, 10**6), max_size=60),
       undated=st.integers(0, 10**6), width=st.integers(40, 120))
def test_per_year_lines_fit_and_say_every_year(counts, undated, width):
    counts = dict(sorted(counts.items()))
    lines = per_year_lines(counts, undated, width=width)
    assert all(len(line) <= width for line in lines)
    text = " ".join(lines)
    found = re.findall(r"(\d{4}) (\d+)", text)
    assert [(int(y), int(n)) for y, n in found] == list(counts.items())
    assert (f"undated {undated}" in text) == bool(undated)


@pytest.fixture(scope="module")
def crawl(tmp_path_factory):
    """The Domino (2004-2015) and Liferay (2016-2021) copies of the sample site, crawled."""
    out = tmp_path_factory.mktemp("coverage")
    with SampleSite(port=0, size=12, seed=7) as site:
        args = ["crawl", "mid_domino", "mid_archive", "--loopback", "--out", str(out)]
        for source, url in site.base_urls.items():
            args += ["--base-url", f"{source}={url}"]
        proc = stenogram_cmd(*args, timeout=180)
        expected = {}
        for t in site.catalog:
            if set(t.copies) & {"mid_domino", "mid_archive"}:
                expected[int(t.date[:4])] = expected.get(int(t.date[:4]), 0) + 1
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc, out / "corpus.db", expected


def test_the_crawl_report_shows_documents_per_year_back_to_2004(crawl):
    proc, db, expected = crawl
    report = proc.stdout[proc.stdout.index("Documents per year:"):]
    lines = report.splitlines()
    block = [lines[0]] + [line for line in lines[1:] if line.startswith("  ")][:5]
    found = [(int(y), int(n)) for y, n in re.findall(r"(\d{4}) (\d+)", " ".join(block))]
    assert found[0] == (2004, 3) and [y for y, _ in found] == list(range(2004, found[-1][0] + 1))
    assert all(n == 3 for y, n in found if y <= 2015)
    assert dict(found) == {y: expected.get(y, 0) for y in range(2004, max(expected) + 1)}
    assert all(len(line) <= 80 for line in block)


def test_the_corpus_coverage_figures_start_in_2004(crawl):
    _proc, db, expected = crawl
    con = sqlite3.connect(db)
    try:
        years = views.coverage_years(con)
        months = views.coverage(con)
    finally:
        con.close()
    assert years["years"][0] == (2004, 3) and dict(years["years"]) == \
        {y: expected.get(y, 0) for y in range(2004, max(expected) + 1)}
    assert months["months"][0].startswith("2004-")
    assert any(label.startswith("mid.ru (Domino, 2004–2015) · ru") for label in months["series"])
