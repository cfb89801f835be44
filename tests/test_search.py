"""corpus.search: what people type finds the transcripts it should, ranked, with safe snippets.

The corpus: the five English sample-site transcripts (tests/dedup/labelled.jsonl, the
``original`` rows), the two Russian ones the sample site serves
(stenogram/sample_site/content/russian), and three hand-made short transcripts for forms the
samples lack ("U.S.", "Лавровым", a quoted title). Each query in QUERIES lists the transcripts it
must find (checked against the texts by hand: the word form, or another form of it, is there)
and those it must not.
"""
from __future__ import annotations

import json
import sqlite3
import uuid
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from stenogram.archive.capture import Capture, WarcLocation
from stenogram.corpus import Corpus
from stenogram.corpus.schema import FTS_TRIGGERS, SCHEMA_VERSION, STEMMED_FTS
from stenogram.corpus.search import parse_query, search, terms

ROOT = Path(__file__).resolve().parents[1]
LABELLED = ROOT / "tests" / "dedup" / "labelled.jsonl"
RUSSIAN = ROOT / "stenogram" / "sample_site" / "content" / "russian"

HAND_MADE = {
    "hand-us": dict(
        title="Foreign Minister Sergey Lavrov's interview with the Kommersant newspaper",
        date="2023-02-14", language="en", source="mid",
        text="Question: How do you see relations with the U.S. after the talk in Geneva?\n\n"
             "Sergey Lavrov: The U.S. administration has chosen confrontation. Lavrov's "
             "position, as our American colleagues put it, has not changed: we are ready to "
             "talk when Washington is ready to listen.\n\n"
             "Question: Is a summit possible?\n\nSergey Lavrov: Not at the moment."),
    "hand-ru": dict(
        title="Интервью Министра иностранных дел России С.В.Лаврова газете «Известия»",
        date="2023-05-20", language="ru", source="mid",
        text="Вопрос: Какие итоги переговоров с Казахстаном?\n\n"
             "С.В.Лавров: Мы провели переговоры в Астане. Казахстанские коллеги подтвердили "
             "договорённости.\n\n"
             "Вопрос: Встреча с Лавровым состоялась в рамках ОДКБ?\n\n"
             "С.В.Лавров: Да, на полях Совета министров иностранных дел ОДКБ."),
    "hand-html": dict(
        title="Comment by the Information and Press Department on <script> tags & quotes",
        date="2023-06-01", language="en", source="interaffairs",
        text="The so-called <b>\"sanctions\"</b> & restrictions announced by Brussels are "
             "illegitimate. Sanctions will not change our course."),
}


def _capture(url: str, source: str, fetched_at: str = "2024-04-12T15:38:00Z") -> Capture:
    loc = WarcLocation(warc_file="stenogram-20240412-00000.warc.gz", warc_offset=0,
                       warc_length=4321, warc_record_id=f"<urn:uuid:{uuid.uuid4()}>",
                       payload_digest="sha1:AAAA")
    return Capture(url=url, fetched_at=fetched_at, http_status=200,
                   content_type="text/html; charset=utf-8", body=b"<html></html>",
                   location=loc, source=source, crawl_id="crawl-1")


def _transcript(title, text, date, language, source) -> dict:
    paragraphs = text.split("\n\n")
    return {"title": title, "date": date, "time": None, "place": None, "language": language,
            "source": source, "doc_number": None, "kind": "transcript", "text": text,
            "paragraphs": paragraphs, "turns": [], "participants": [], "is_transcript": True,
            "reason": None, "extractor_version": "test-1", "settings_hash": "x"}


def documents() -> dict[str, dict]:
    docs = {}
    for line in LABELLED.read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        if row["id"].endswith("/original"):
            docs[row["group"]] = dict(title=row["title"], text=row["text"], date=row["date"],
                                      language=row["language"], source=row["source"],
                                      url=row["url"])
    for path in sorted(RUSSIAN.glob("*.json")):
        d = json.loads(path.read_text(encoding="utf-8"))
        docs[d["key"]] = dict(title=d["title"], text="\n\n".join(d["paragraphs"]),
                              date=d["date"], language="ru", source="mid",
                              url=f"https://mid.ru/ru/foreign_policy/news/{d['key']}/")
    for key, d in HAND_MADE.items():
        docs[key] = dict(d, url=f"https://mid.ru/en/{key}/")
    return docs


def build(path) -> tuple[Corpus, dict[str, int]]:
    corpus = Corpus(path)
    ids = {}
    for key, d in documents().items():
        result = corpus.ingest(_capture(d["url"], d["source"]), _transcript(
            d["title"], d["text"], d["date"], d["language"], d["source"]))
        assert result.new_document, key
        ids[key] = result.document_id
    return corpus, ids


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    corpus, ids = build(tmp_path_factory.mktemp("search") / "corpus.db")
    yield corpus, ids
    corpus.close()


EN = {"seed-000", "seed-001", "seed-002", "seed-003", "seed-004"}
RU = {"seed-000-ru", "seed-003-ru"}

# (query, transcripts it must find, transcripts it must not find)
QUERIES = [
    # the issue's queries: each was an FTS5 syntax error
    ("Lavrov's", EN | {"hand-us"}, RU),
    ("U.S.", {"hand-us"}, EN),
    ("Al-Tanf", {"seed-002"}, EN - {"seed-002"}),
    ("С.В.Лавров", RU | {"hand-ru"}, EN),
    ("Kazakhstan?", {"seed-001", "seed-002", "seed-003", "seed-004"}, {"seed-000"} | RU),
    # Russian morphology: other cases of the same word
    ("Лавровым", RU | {"hand-ru"}, EN),
    ("Лаврова", RU | {"hand-ru"}, EN),
    ("Лавров", {"hand-ru"} | RU, EN),
    ("переговоры", {"seed-000-ru", "hand-ru"}, EN),
    ("переговорах", {"seed-000-ru", "hand-ru"}, EN),
    ("Казахстан", {"hand-ru"}, EN),
    ("Киргизия", {"seed-000-ru"}, EN | {"hand-ru"}),
    ("Украины", {"seed-000-ru"}, EN),
    ("ОДКБ", {"hand-ru"}, EN),
    ("Минске", {"seed-003-ru"}, EN),
    ("известий", {"hand-ru"}, EN | RU),
    # English morphology
    ("talks", {"seed-000", "seed-001", "seed-002", "seed-004", "hand-us"}, RU),
    ("talk", {"seed-000", "seed-001", "seed-002", "seed-004", "hand-us"}, RU),
    ("talking", {"seed-000", "seed-001", "seed-002", "seed-004", "hand-us"}, RU),
    ("sanction", {"seed-000", "seed-001", "seed-004", "hand-html"}, {"seed-002"} | RU),
    ("Ukrainians", {"seed-000", "seed-001", "seed-003"}, {"seed-004"} | RU),  # not "Ukraine"
    ("Syrian", {"seed-002"}, EN - {"seed-002"}),
    ("negotiations", {"seed-001"}, RU),
    # phrases and prefixes
    ('"United Nations"', {"seed-001"}, EN - {"seed-001"}),
    ('"joint news conference"', {"seed-000", "seed-002", "seed-003", "seed-004"}, RU),
    ("Lebed*", {"seed-003"}, EN - {"seed-003"}),
    ("Лебед*", {"seed-003-ru"}, EN | {"seed-000-ru"}),
    ("Kyrgyz*", {"seed-000", "seed-001", "seed-003"}, {"seed-002", "seed-004"}),
    ("Afghan*", {"seed-000", "seed-002"}, {"seed-001", "seed-003", "seed-004"}),
    # several words: all must match
    ("Lavrov Tokayev", {"seed-000"}, EN - {"seed-000"}),
    ("NATO China", {"seed-000", "seed-003", "seed-004"}, {"seed-001", "seed-002"}),
    ("coronavirus sanctions", {"seed-000", "seed-004"}, {"seed-001", "seed-002", "seed-003"}),
    ("Sputnik", {"seed-004"}, EN - {"seed-004"}),
    ("CSTO", EN, RU),
    ("Minsk", {"seed-002", "seed-003"}, {"seed-000", "seed-001", "seed-004"}),
    # everyday punctuation and case are not syntax
    ("nato!", {"seed-000", "seed-003", "seed-004"}, {"seed-001", "seed-002"}),
    ("(Iran)", {"seed-000", "seed-004"}, {"seed-001", "seed-002", "seed-003"}),
    ("<script>", {"hand-html"}, EN | RU),
    ('"sanctions" & restrictions', {"hand-html"}, RU),
    ("NOT Sputnik", {"seed-004"}, EN - {"seed-004"}),  # NOT is a word (in seed-004), no operator
]


def test_the_query_table_is_large_enough():
    assert len(QUERIES) >= 30


@pytest.mark.parametrize("query,must,must_not", QUERIES, ids=[q for q, _, _ in QUERIES])
def test_real_world_queries(built, query, must, must_not):
    corpus, ids = built
    found = {hit["document_id"] for hit in search(corpus, query, limit=100)}
    names = {v: k for k, v in ids.items()}
    got = {names[i] for i in found}
    assert must <= got, f"{query!r}: missing {sorted(must - got)}"
    assert not (must_not & got), f"{query!r}: should not find {sorted(must_not & got)}"


def test_hits_carry_the_documented_keys_and_a_highlighted_snippet(built):
    corpus, ids = built
    hits = search(corpus, "Al-Tanf")
    assert list(hits[0]) == ["document_id", "title", "date", "place", "source", "sources",
                             "language", "kind", "url", "snippet_html", "rank"]
    hit = hits[0]
    assert hit["document_id"] == ids["seed-002"] and hit["date"] == "2019-10-09"
    assert hit["source"] == "mid" and hit["language"] == "en"
    assert "<mark>Al</mark>-<mark>Tanf</mark>" in hit["snippet_html"]
    ru = search(corpus, "Лавровым")
    assert any("<mark>Лавровым</mark>" in h["snippet_html"] for h in ru)


def test_snippet_escapes_everything_but_the_marks(built):
    corpus, ids = built
    hit = search(corpus, "restrictions")[0]
    assert hit["document_id"] == ids["hand-html"]
    html_ = hit["snippet_html"]
    assert "&lt;b&gt;&quot;<mark>sanctions</mark>&quot;&lt;/b&gt; &amp;" not in html_  # query differs
    assert "<b>" not in html_ and "&lt;b&gt;" in html_ and "&amp;" in html_
    assert "<mark>restrictions</mark>" in html_
    stripped = html_.replace("<mark>", "").replace("</mark>", "")
    assert "<" not in stripped


def test_ranking_prefers_the_title_and_many_hits(built):
    corpus, ids = built
    # "Lebedev" is in seed-003's title; the only other mention is in its Russian counterpart
    hits = search(corpus, "CIS")
    assert hits[0]["document_id"] == ids["seed-003"]
    ranks = [h["rank"] for h in hits]
    assert ranks == sorted(ranks)


def test_limit_and_offset_page_through_the_same_order(built):
    corpus, _ = built
    everything = [h["document_id"] for h in search(corpus, "Lavrov", limit=100)]
    assert len(everything) >= 6
    pages = [h["document_id"] for o in (0, 2, 4) for h in search(corpus, "Lavrov", 2, o)]
    assert pages == everything[:6]


@pytest.mark.parametrize("text,expected", [
    ("Lavrov's", '"lavrov"'),
    ("U.S.", '"u s"'),
    ("Al-Tanf", '"al tanf"'),
    ("С.В.Лавров", '"с в лавр"'),
    ("Kazakhstan?", '"kazakhstan"'),
    ('"foreign ministers" talks', '"foreign minist" AND "talk"'),
    ("Лавр*", '"лавр"*'),
    ("talks*", '("talks"* OR "talk"*)'),
    ('"al tan*"', '"al tan"*'),
    ('"al tan"*', '"al tan"*'),
    ("NOT NEAR a b OR x:y", '"not" AND "near" AND "a" AND "b" AND "or" AND "x y"'),
    ("NOT NEAR(a b) OR x:y", 'NEAR("a" "b", 10) AND "not" AND "or" AND "x y"'),  # FTS5's NEAR group
    ("near(a b)", '"near a" AND "b"'),  # in capitals only, as FTS5 writes it
    ('NEAR(talks* "U.S. sanctions", 3)', 'NEAR("talk"* "u s sanction", 3)'),
    ("NEAR(Lavrov, 5)", '"lavrov"'),  # one phrase: no group
    ("", '""'), ("?!", '""'), ("***", '""'),
])
def test_parse_query(text, expected):
    assert parse_query(text) == expected


@pytest.fixture(scope="module")
def fts_conn():
    conn = sqlite3.connect(":memory:")
    conn.execute("CREATE VIRTUAL TABLE t USING fts5(title, text)")
    conn.execute("INSERT INTO t VALUES ('Lavrov talks', 'U.S. \"sanctions\" Лавровым')")
    yield conn
    conn.close()


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.text(alphabet=st.sampled_from('ab яЖ"*-.\'?:()^+NOTANDRE{}[],;\\_\t\n\x00é1'), max_size=30)
       | st.text(max_size=30))
def test_any_text_is_a_valid_query(fts_conn, text):
    for stemmed in (True, False):
        fts_conn.execute("SELECT count(*) FROM t WHERE t MATCH ?",
                         (parse_query(text, stemmed=stemmed),)).fetchone()


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.text(max_size=25))
def test_search_never_raises(built, text):
    corpus, _ = built
    hits = search(corpus, text, limit=3)
    if not terms(text):
        assert hits == []


def test_stemmed_index_follows_edits_deletes_and_deferred_loads(tmp_path):
    corpus, ids = build(tmp_path / "c.db")
    try:
        doc = ids["hand-us"]
        with corpus.transaction():
            corpus.conn.execute("UPDATE documents SET text = 'Zanzibar negotiators met.' "
                                "WHERE id = ?", (doc,))
        assert doc in {h["document_id"] for h in search(corpus, "negotiator")}
        assert doc not in {h["document_id"] for h in search(corpus, "Geneva")}
        # an update of other columns does not touch the index (the trigger's WHEN)
        corpus.conn.execute("UPDATE documents SET n_captures = 5 WHERE id = ?", (doc,))
        assert [h["document_id"] for h in search(corpus, "Zanzibar")] == [doc]
        corpus.conn.execute("DELETE FROM captures WHERE document_id = ?", (doc,))
        corpus.conn.execute("DELETE FROM versions WHERE document_id = ?", (doc,))
        corpus.conn.execute("DELETE FROM documents WHERE id = ?", (doc,))
        assert search(corpus, "Zanzibar") == []
        # a bulk load: triggers off, both indexes rebuilt at the end
        assert corpus.defer_fts()
        res = corpus.ingest(_capture("https://mid.ru/en/bulk/", "mid"), _transcript(
            "Bulk", "Remarks on the Zambezi basin.", "2024-01-01", "en", "mid"))
        assert search(corpus, "Zambezi") == []
        assert corpus.resume_fts()
        assert [h["document_id"] for h in search(corpus, "Zambezi")] == [res.document_id]
        assert {h["document_id"] for h in search(corpus, "Lavrov", limit=100)} == {
            ids[k] for k in EN}  # hand-us deleted; the Russian texts write "Лавров"
    finally:
        corpus.close()


def test_an_older_corpus_gets_the_stemmed_index_on_open(tmp_path):
    path = tmp_path / "old.db"
    corpus, ids = build(path)
    corpus.close()
    # make it look like schema 4: no stemmed index, sqlite-utils' own insert trigger
    conn = sqlite3.connect(path)
    conn.execute(f"DROP TABLE {STEMMED_FTS}")
    conn.execute('DROP TRIGGER "documents_ai"')
    conn.execute('CREATE TRIGGER "documents_ai" AFTER INSERT ON "documents" BEGIN INSERT INTO '
                 '"documents_fts" (rowid, "title", "text") VALUES (new.rowid, new."title", '
                 'new."text"); END')
    conn.execute("PRAGMA user_version = 4")
    conn.commit()
    conn.close()
    # read-only (nothing migrated): search falls back to the plain index, words as written
    plain = search(str(path), "Lavrov's")
    assert {h["document_id"] for h in plain} >= {ids["hand-us"]}
    assert search(str(path), "Лавровым") and not search(str(path), "Лаврову")
    corpus = Corpus(path)
    try:
        triggers = dict(corpus.conn.execute(
            "SELECT name, sql FROM sqlite_master WHERE type = 'trigger'").fetchall())
        assert {k: triggers.get(k) for k in FTS_TRIGGERS} == FTS_TRIGGERS
        got = {h["document_id"] for h in search(corpus, "Лаврову", limit=100)}
        assert got == {ids[k] for k in RU | {"hand-ru"}}
        assert corpus.conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    finally:
        corpus.close()


def test_search_command(built, tmp_path):
    from click.testing import CliRunner

    from stenogram.corpus.cli import search as search_cmd

    corpus, ids = built
    runner = CliRunner()
    r = runner.invoke(search_cmd, ["--db", corpus.path, "Al-Tanf"])
    assert r.exit_code == 0, r.output
    assert r.output.startswith(f"{ids['seed-002']}\t2019-10-09\tmid\t")
    assert "**Al**-**Tanf**" in r.output
    r = runner.invoke(search_cmd, ["--db", corpus.path, "--json", "Лавровым"])
    lines = [json.loads(x) for x in r.output.splitlines() if x.startswith("{")]
    assert {x["document_id"] for x in lines} == {ids[k] for k in RU | {"hand-ru"}}
    bad = runner.invoke(search_cmd, ["--db", str(tmp_path / "nothing.db"), "x"])
    assert bad.exit_code != 0 and "Traceback" not in bad.output
