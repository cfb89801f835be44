"""Search for research (issue 25 item 1, issue 26 item 3): filters, what one speaker said, the
total number of hits, counts by month/year/source, the JSON twin ``/-/search.json`` over HTTP
through real Datasette, and one search behind the CLI, the JSON and the page.

The corpus is test_search's (the sample-site transcripts, English and Russian, and three
hand-made ones) with the speaker turns the extractor's own ``extract.turns.split_turns`` finds
in their "Sergey Lavrov:" / "Question:" / "С.В.Лавров:" labels. Every expectation is computed
here from those texts and metadata, not copied from a run.
"""
from __future__ import annotations

import json
import re
import urllib.error
import urllib.parse
import urllib.request
from collections import Counter
from dataclasses import asdict

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings, strategies as st

from stenogram.corpus import Corpus
from stenogram.corpus import search as search_module
from stenogram.corpus.cli import search as search_cmd
from stenogram.corpus.search import Filters, run
from stenogram.extract.turns import split_turns
try:
    import test_search as base  # tests/ on sys.path (pytest's rootdir-less test folder)
    from serve_support import serving
except ImportError:
    from tests import test_search as base
    from tests.serve_support import serving


def _transcript_with_turns(title, text, date, language, source) -> dict:
    t = base._transcript(title, text, date, language, source)
    t["turns"] = [asdict(x) for x in split_turns(t["paragraphs"], language, title)]
    return t


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    """(path, {key: document id}, {key: the document's fields and turns})."""
    path = tmp_path_factory.mktemp("search-filters") / "corpus.db"
    c = Corpus(path)
    ids, docs = {}, {}
    for key, d in base.documents().items():
        t = _transcript_with_turns(d["title"], d["text"], d["date"], d["language"], d["source"])
        result = c.ingest(base._capture(d["url"], d["source"]), t)
        ids[key] = result.document_id
        docs[key] = dict(d, turns=t["turns"], kind=t["kind"])
    c.close()
    return path, ids, docs


def _all(path, q, **filters) -> list[int]:
    return [h["document_id"] for h in run(path, q, Filters(**filters), limit=1000).hits]


def test_the_fixture_has_labelled_turns(corpus):
    _, _, docs = corpus
    speakers = Counter(t["speaker_id"] for d in docs.values() for t in d["turns"])
    assert speakers["lavrov"] >= 5 and speakers["question"] >= 5, speakers


def test_total_counts_every_match_not_the_page(corpus):
    path, ids, _ = corpus
    everything = _all(path, "Lavrov")
    assert len(everything) >= 6
    page = run(path, "Lavrov", limit=3, offset=2)
    assert page.total == len(everything)
    assert [h["document_id"] for h in page.hits] == everything[2:5]
    r = CliRunner().invoke(search_cmd, ["--db", str(path), "--limit", "3", "Lavrov"])
    assert r.exit_code == 0, r.output
    assert f"1–3 of {len(everything)} hit(s)" in r.output


def test_cli_snippets_are_one_line_even_across_paragraphs(corpus):
    """A snippet cut across a paragraph break prints as one line of words, not with \\x0a."""
    path, _ids, _docs = corpus
    r = CliRunner().invoke(search_cmd, ["--db", str(path), "--limit", "50", "Lavrov"])
    assert r.exit_code == 0, r.output
    assert "\\x0a" not in r.output and "\\x0d" not in r.output
    snippets = [line for line in r.output.splitlines() if line.startswith("    ") and "**" in line]
    assert snippets


def test_hits_carry_the_url_and_metadata(corpus):
    path, ids, docs = corpus
    hit = run(path, "Al-Tanf").hits[0]
    assert hit["document_id"] == ids["seed-002"]
    assert hit["url"] == docs["seed-002"]["url"]
    assert hit["sources"] == ["mid"] and hit["kind"] == "transcript"
    r = CliRunner().invoke(search_cmd, ["--db", str(path), "--json", "Al-Tanf"])
    assert json.loads(r.output.splitlines()[0])["url"] == docs["seed-002"]["url"]


@pytest.mark.parametrize("filters", [
    {"lang": "ru"}, {"lang": "en"}, {"source": "interaffairs"}, {"source": "mid"},
    {"date_from": "2023"}, {"date_to": "2020-12"}, {"date_from": "2019-10-09", "date_to": "2019-10-09"},
    {"date_from": "2021", "date_to": "2023-05", "lang": "ru"}, {"kind": "transcript"},
    {"kind": "statement"},
])
def test_filters_select_what_the_metadata_says(corpus, filters):
    path, ids, docs = corpus

    def keep(d):
        date = d["date"] or ""
        return ((filters.get("lang") in (None, d["language"]))
                and (filters.get("source") in (None, d["source"]))
                and (filters.get("kind") in (None, d["kind"]))
                and (not (lo := filters.get("date_from")) or (date and date[:len(lo)] >= lo))
                and (not (hi := filters.get("date_to")) or (date and date[:len(hi)] <= hi)))

    for q in ("Lavrov", "Лавров", "sanctions", ""):
        want = {ids[k] for k in ids if keep(docs[k])}
        if q:
            want &= set(_all(path, q))
        assert set(_all(path, q, **filters)) == want, (q, filters)
        assert run(path, q, Filters(**filters), limit=1).total == len(want)


def test_speaker_filter_finds_what_lavrov_said_not_what_he_was_asked(corpus):
    path, ids, _ = corpus
    # "summit" and "Казахстаном" are only in the reporters' questions; "Washington" and
    # "Астане" in Lavrov's answers.
    assert ids["hand-us"] in _all(path, "summit")
    assert ids["hand-us"] not in _all(path, "summit", speaker="Lavrov")
    assert ids["hand-us"] in _all(path, "summit", speaker="Question")
    assert ids["hand-us"] in _all(path, "Washington", speaker="Lavrov")
    assert ids["hand-ru"] in _all(path, "Казахстаном")
    assert ids["hand-ru"] not in _all(path, "Казахстаном", speaker="Лавров")
    for name in ("Лавров", "С.В.Лавров", "lavrov", "Sergey Lavrov"):
        assert ids["hand-ru"] in _all(path, "Астане", speaker=name), name
    hit = run(path, "Washington", Filters(speaker="Lavrov")).hits[0]
    assert "<mark>Washington</mark>" in hit["snippet_html"]
    assert "Question" not in hit["snippet_html"] and "summit" not in hit["snippet_html"]


def test_speaker_filter_agrees_with_the_turns_on_every_word(corpus):
    """For each word of Lavrov's turns in a document, and each word of the questions only, the
    speaker-filtered search finds the document exactly when Lavrov's own turns hold that word."""
    path, ids, docs = corpus
    from stenogram.corpus.stemming import stem, words

    for key in ("hand-us", "hand-ru", "seed-001"):
        said = {stem(w) for t in docs[key]["turns"] if t["speaker_id"] == "lavrov"
                for _, _, w in words(t["text"])}
        asked = [w for t in docs[key]["turns"] if t["speaker_id"] == "question"
                 for _, _, w in words(t["text"])]
        for w in asked[:40]:
            assert (ids[key] in _all(path, w, speaker="Lavrov")) == (stem(w) in said), (key, w)


def test_without_words_the_filters_list_newest_first(corpus):
    path, ids, docs = corpus
    got = run(path, "", Filters(speaker="Lavrov"), limit=100)
    with_lavrov = [k for k in ids if any(t["speaker_id"] == "lavrov" for t in docs[k]["turns"])]
    assert got.total == len(with_lavrov)
    dates = [h["date"] for h in got.hits]
    assert dates == sorted(dates, reverse=True)
    assert run(path, "", Filters()).total == 0


def test_counts_are_of_all_matches(corpus):
    path, _, docs = corpus
    for q, filters in (("Lavrov", Filters()), ("talks", Filters(speaker="Lavrov")), ("", Filters(lang="ru"))):
        r = run(path, q, filters, limit=2)
        hits = run(path, q, filters, limit=1000).hits
        months = Counter((h["date"] or "undated")[:7] if h["date"] else "undated" for h in hits)
        assert r.counts["month"] == dict(months)
        years = Counter(m[:4] if m != "undated" else m for m in months.elements())
        assert r.counts["year"] == dict(years)
        assert r.counts["source"] == dict(Counter(s for h in hits for s in h["sources"]))
        assert sum(r.counts["year"].values()) == r.total


def test_bad_dates_are_one_line_errors(corpus):
    path, _, _ = corpus
    r = CliRunner().invoke(search_cmd, ["--db", str(path), "--from", "May 2023", "Lavrov"])
    assert r.exit_code != 0 and "Traceback" not in r.output
    assert "from: 'May 2023' is not a date" in r.output
    r = CliRunner().invoke(search_cmd, ["--db", str(path), ""])
    assert r.exit_code != 0 and "nothing to search for" in r.output


def test_ranks_ids_first_and_cuts_snippets_for_the_page_only(corpus, monkeypatch):
    """The ranking query reads no document text; snippets are cut for the page's hits only."""
    path, _, _ = corpus
    import sqlite3

    statements = []
    conn = sqlite3.connect(path)
    conn.set_trace_callback(statements.append)
    cut = []
    real = search_module.snippet_html
    monkeypatch.setattr(search_module, "snippet_html", lambda *a, **k: cut.append(1) or real(*a, **k))
    r = run(conn, "Lavrov", limit=2)
    conn.close()
    assert r.total > 2 and len(r.hits) == 2 and len(cut) == 2
    ranked = [s for s in statements if "LIMIT" in s and "bm25" in s]
    assert ranked and all(not re.search(r"\bd\.text\b|\btext\b\s*,", s) for s in ranked), ranked


# ---------------------------------------------------------------- the same search over HTTP
@pytest.fixture(scope="module")
def served(corpus):
    path, _, _ = corpus
    with serving(path, None) as (base_url, _, _):
        yield base_url


def _get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=60) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def _json_ids(base_url, params) -> tuple[int, list[int]]:
    status, body = _get(f"{base_url}/-/search.json?" + urllib.parse.urlencode(params))
    assert status == 200, body
    data = json.loads(body)
    return data["total"], [h["document_id"] for h in data["hits"]]


def _page_ids(base_url, params) -> tuple[int, list[int]]:
    status, body = _get(f"{base_url}/-/search?" + urllib.parse.urlencode(params))
    assert status == 200, body[:2000]
    m = re.search(r'<span class="total">(\d+)</span>', body)
    total = int(m.group(1)) if m else 0
    return total, [int(x) for x in re.findall(r'data-document-id="(\d+)"', body)]


def test_json_twin_over_http(corpus, served):
    path, ids, docs = corpus
    status, body = _get(f"{served}/-/search.json?" + urllib.parse.urlencode({"q": "Лавровым", "lang": "ru"}))
    assert status == 200
    data = json.loads(body)
    assert data["ok"] and data["q"] == "Лавровым" and data["filters"] == {"lang": "ru"}
    want = run(path, "Лавровым", Filters(lang="ru"))
    assert data["total"] == want.total and data["counts"] == want.counts
    assert [h["document_id"] for h in data["hits"]] == [h["document_id"] for h in want.hits]
    assert all(h["url"] for h in data["hits"])
    status, body = _get(f"{served}/-/search.json?q=x&from=yesterday")
    assert status == 400 and "from: 'yesterday' is not a date" in json.loads(body)["error"]
    status, body = _get(f"{served}/-/search?q=Washington&speaker=Lavrov")
    assert status == 200 and "in what Lavrov said" in body and "/-/search.json?q=Washington" in body
    assert 'class="stenogram-histogram"' in body and "from=2023-02&amp;to=2023-02" in body


WORDS = ["Lavrov", "Лавров", "talks", "sanctions", "Kazakhstan", "переговоры", "NATO", "summit",
         "Washington", '"joint news conference"', "Kyrgyz*", "U.S.", "Минске", "the"]
FILTER_VALUES = {"speaker": ["Lavrov", "Question", "Лавров"], "from": ["2019", "2020-06", "2023-02-14"],
                 "to": ["2019-12", "2023", "2021-01-01"], "source": ["mid", "interaffairs", "globalsecurity"],
                 "lang": ["en", "ru"], "kind": ["transcript"]}


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(q=st.lists(st.sampled_from(WORDS), max_size=2).map(" ".join),
       filters=st.dictionaries(st.sampled_from(sorted(FILTER_VALUES)), st.none(), max_size=3).flatmap(
           lambda keys: st.fixed_dictionaries({k: st.sampled_from(FILTER_VALUES[k]) for k in keys})),
       page=st.integers(1, 2))
def test_cli_json_and_page_give_the_same_hits(corpus, served, q, filters, page):
    path, _, _ = corpus
    params = {"q": q, **filters, "page": page}
    json_total, json_hits = _json_ids(served, params)
    page_total, page_hits = _page_ids(served, params)
    args = ["--db", str(path), "--json", "--counts", "--limit", "20", "--offset", str(20 * (page - 1))]
    for name, value in filters.items():
        args += [f"--{name}", value]
    r = CliRunner().invoke(search_cmd, args + ["--", q])
    if not search_module.terms(q) and not filters:
        assert r.exit_code != 0 and json_total == page_total == 0 and not json_hits
        return
    assert r.exit_code == 0, r.output
    lines = [json.loads(x) for x in r.output.splitlines() if x.startswith("{")]
    cli_hits = [x["document_id"] for x in lines if "document_id" in x]
    cli_total = lines[-1]["total"]
    assert json_hits == page_hits == cli_hits
    assert json_total == page_total == cli_total == run(path, q, Filters.from_args(filters)).total


@pytest.mark.parametrize("query, found", [
    # hand-us: "The U.S. administration has chosen confrontation." (2 words between)
    ("NEAR(administration confrontation, 2)", True),
    ("NEAR(administration confrontation, 1)", False),
    ("NEAR(confrontation administration, 2)", True),  # the order does not matter
    ('NEAR("U.S. administration" confrontation, 2)', True),
    ("NEAR(administr* confront*, 2)", True),
    ("NEAR(Washington administration)", False),  # 30 words apart: beyond the default 10
    ("NEAR(Washington administration, 40)", True),
])
def test_near_in_the_index_and_in_a_speakers_turns(corpus, query, found):
    """The same NEAR rule in FTS5 (no speaker) and in the speaker's turns (matched here)."""
    path, ids, _ = corpus
    assert (ids["hand-us"] in _all(path, query)) is found
    assert (ids["hand-us"] in _all(path, query, speaker="Lavrov")) is found
    assert (ids["hand-us"] in _all(path, query, speaker="Question")) is False


def test_datasettes_table_search_uses_the_same_analysis(corpus, served):
    """Datasette's ``_search`` on documents: its JSON finds what /-/search finds ("Лавровым"
    found nothing in the unstemmed index), its HTML page sends the reader to /-/search."""
    import http.client

    path, ids, _ = corpus
    want = {h["document_id"] for h in run(path, "Лавровым", limit=100).hits}
    assert len(want) >= 3
    q = urllib.parse.quote("Лавровым")
    status, body = _get(f"{served}/corpus/documents.json?_search={q}&_shape=array&_col=id")
    assert status == 200, body[:500]
    assert {r["id"] for r in json.loads(body)} == want
    host, port = urllib.parse.urlsplit(served).netloc.split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=60)
    conn.request("GET", f"/corpus/documents?_search={q}")
    resp = conn.getresponse()
    assert resp.status == 302 and resp.getheader("location") == f"/-/search?q={urllib.parse.quote_plus('Лавровым')}"
    conn.close()


def _web_plugin():
    import importlib.util
    from pathlib import Path

    import stenogram.corpus.web as web

    spec = importlib.util.spec_from_file_location(
        "stenogram_web_plugin", Path(web.__file__).parent / "plugins" / "stenogram_web.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@settings(max_examples=200, deadline=None)
@given(text=st.text(max_size=40), ext=st.sampled_from(["", ".json", ".csv"]),
       key=st.sampled_from(["_search", "_search_text", "_search_title"]))
def test_table_search_rewrite_takes_any_text(text, ext, key):
    """Whatever is typed into Datasette's search: the HTML goes to /-/search with the words,
    the JSON/CSV asks the stemmed index with parse_query's (always valid) expression."""
    from urllib.parse import parse_qs, urlencode, urlsplit

    rewrite = _web_plugin().table_search_rewrite
    qs = urlencode({key: text, "_shape": "array", "_searchmode": "escaped"}).encode()
    change = rewrite(f"/corpus/documents{ext}", qs, True)
    if not text.strip():
        assert change is None
        return
    if ext == "":
        assert change[0] == "redirect"
        url = urlsplit(change[1])
        assert url.path == "/-/search" and parse_qs(url.query)["q"] == [text.strip()]
        return
    assert change[0] == "rewrite"
    args = parse_qs(change[1].decode("latin-1"), keep_blank_values=True)
    assert args[key] == [search_module.parse_query(text)]
    assert args["_searchmode"] == ["raw"] and args["_fts_table"] == [search_module.STEMMED_FTS]
    assert args["_fts_pk"] == ["id"] and args["_shape"] == ["array"]
    assert rewrite(f"/corpus/captures{ext}", qs, True) is None
    assert rewrite(f"/corpus/documents{ext}", qs, False) is None
