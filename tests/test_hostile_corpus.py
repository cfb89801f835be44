"""A hostile corpus through `stenogram serve` (real Datasette over HTTP on loopback), `diff
--html` and `export`: issue 23, items 1 (rendering side) and 2.

* No view renders a URL from the corpus as a link unless it is an http(s) URL: the reading
  view, the history view, `diff --html` and Datasette's own table and row pages show
  ``javascript:…`` as text; exports write it as null, counted on one line.
* ``fts3_tokenizer`` cannot be called through serve's SQL, neither its one-argument form (a
  library address) nor the re-registration, directly or from a view; FTS3 tables still work
  afterwards, and serve answers every page of a corpus with extra FTS3/FTS4/FTS5 tables,
  forged tokenizers and modules, views, triggers and a 32 MiB row.
* Datasette's time limit still cuts off a query that never ends.
* Beyond loopback: refused without --public; with it, a warning and arbitrary SQL off.
"""
from __future__ import annotations

import json
import re
import sqlite3
import urllib.parse
import urllib.request
from html.parser import HTMLParser

import pytest
from click.testing import CliRunner
from hypothesis import given, settings, strategies as st

try:
    from tests.hostile_corpus import (FORGED_SCHEMA, HOSTILE_URL, edited_corpus, forge_schema,
                                      hostile_corpus, poison_urls)
    from tests.serve_support import BIN, serving
except ImportError:
    from hostile_corpus import (FORGED_SCHEMA, HOSTILE_URL, edited_corpus, forge_schema,
                                hostile_corpus, poison_urls)
    from serve_support import BIN, serving

from stenogram.cli import cli
from stenogram.corpus import serve as serve_module
from stenogram.corpus.web import views
from stenogram.corpus.web.links import web_url
from stenogram.corpus.web.sql_guard import guard

pytestmark = pytest.mark.network

class _Links(HTMLParser):
    def __init__(self):
        super().__init__()
        self.hrefs: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag == "a":
            self.hrefs += [value or "" for name, value in attrs if name == "href"]


def foreign_links(page: str) -> list[str]:
    """The ``<a href>``s of ``page`` that a browser would open with a scheme other than
    http(s) (a relative URL, which has none, stays on the server)."""
    parser = _Links()
    parser.feed(page)
    return [h for h in parser.hrefs if urllib.parse.urlsplit(h).scheme and web_url(h) is None]


def get(url: str, timeout: float = 60) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp:
            return resp.status, resp.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as err:
        return err.code, err.read().decode("utf-8", "replace")


def sql_json(base: str, sql: str) -> tuple[int, dict]:
    status, body = get(f"{base}/corpus.json?" + urllib.parse.urlencode({"sql": sql}))
    return status, json.loads(body)


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    path = tmp_path_factory.mktemp("hostile") / "corpus.db"
    doc_id = hostile_corpus(path)
    return path, doc_id


@pytest.fixture(scope="module")
def server(corpus):
    path, _ = corpus
    with serving(path, None) as (base, _replay, proc):
        yield base, proc


# ---------------------------------------------------------------- which URLs link
@pytest.mark.parametrize("url", [
    HOSTILE_URL, "JavaScript:alert(1)", " javascript:alert(1)", "java\tscript:alert(1)",
    "\x01javascript:alert(1)", "data:text/html,<script>alert(1)</script>", "vbscript:x",
    "file:///etc/passwd", "//evil.example/x", "/relative", "https:javascript:alert(1)",
    "http://", "https://[::1", "", None, 12, "https://mid.ru/en/\nx"])
def test_only_http_urls_with_a_host_link(url):
    assert web_url(url) is None


@pytest.mark.parametrize("url", ["https://mid.ru/en/foreign_policy/news/1/", "HTTP://MID.RU/",
                                 "http://127.0.0.1:8001/a?b=c#d"])
def test_web_urls_link(url):
    assert web_url(url) == url


@given(st.text())
@settings(max_examples=500, deadline=None)
def test_web_url_never_raises_and_admits_only_clean_http_urls(text):
    url = web_url(text)
    if url is not None:
        assert url == text and not re.search(r"[\x00-\x20\x7f]", url)
        parts = urllib.parse.urlsplit(url)
        assert parts.scheme in ("http", "https") and parts.hostname


@given(st.text(alphabet="\x00\x01\t\n\r\x0c\x1f\x7f ", max_size=4),
       st.sampled_from(["javascript", "JavaScript", "data", "vbscript", "file", "blob"]),
       st.text(max_size=40))
@settings(max_examples=500, deadline=None)
def test_no_other_scheme_passes_whatever_browsers_would_strip(junk, scheme, rest):
    """Browsers strip leading C0 controls and spaces and remove tabs and newlines before they
    read the scheme (WHATWG URL Standard): none of that turns another scheme into a link."""
    for candidate in (junk + scheme + ":" + rest, scheme[:2] + junk + scheme[2:] + ":" + rest,
                      scheme + ":" + "//archive.mid.ru/" + rest):
        assert web_url(candidate) is None, candidate


# ---------------------------------------------------------------- rendering, without a server
def test_views_give_no_replay_link_for_a_hostile_url(corpus):
    path, doc_id = corpus
    conn = guard(sqlite3.connect(path))
    try:
        doc = views.history(conn, doc_id, "http://127.0.0.1:1/corpus")
    finally:
        conn.close()
    assert doc["canonical_url"] == HOSTILE_URL  # shown as stored
    assert all(c["replay_url"] is None for c in doc["captures"])
    assert doc["cite"]["archived"] is None


def test_diff_html_shows_a_hostile_url_as_text(corpus, tmp_path):
    path, doc_id = corpus
    page = tmp_path / "diff.html"
    result = CliRunner().invoke(cli, ["diff", "--db", str(path), str(doc_id), "--html", str(page)])
    assert result.exit_code == 0, result.output
    html = page.read_text(encoding="utf-8")
    assert "javascript:alert(1)//archive.mid.ru" in html  # the reader sees it
    assert "<ins>" in html and foreign_links(html) == []
    assert 'class="inert-url"' in html


@pytest.mark.parametrize("fmt", ["jsonl", "csv"])
def test_export_writes_hostile_urls_as_null_and_says_so(tmp_path, fmt):
    path = tmp_path / "corpus.db"
    doc_id = edited_corpus(path)
    poison_urls(path)
    out = tmp_path / f"out.{fmt}"
    result = CliRunner().invoke(cli, ["export", "--db", str(path), "--format", fmt,
                                      "--with-history", "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert "javascript" not in out.read_text(encoding="utf-8")
    # one canonical URL, two captures, two versions
    assert f"5 URL(s) that are not http(s) URLs written as null (kept in the corpus), in " \
           f"document(s) {doc_id}" in result.output
    if fmt == "jsonl":
        record = json.loads(out.read_text(encoding="utf-8"))
        assert record["canonical_url"] is None
        assert [c["url"] for c in record["captures"]] == [None, None]
        assert [v["url"] for v in record["versions"]] == [None, None]
    conn = sqlite3.connect(path)  # nothing lost: the corpus keeps what it held
    assert conn.execute("SELECT canonical_url FROM documents").fetchone()[0] == HOSTILE_URL
    conn.close()


def test_export_of_a_sound_corpus_keeps_every_url(tmp_path):
    path = tmp_path / "corpus.db"
    edited_corpus(path)
    result = CliRunner().invoke(cli, ["export", "--db", str(path)])
    assert result.exit_code == 0
    record = json.loads(result.stdout.splitlines()[0])
    assert record["canonical_url"] == "https://mid.ru/en/foreign_policy/news/1/"
    assert "not http(s)" not in result.output


# ---------------------------------------------------------------- through Datasette
def test_every_page_answers_and_links_no_hostile_url(server, corpus):
    base, proc = server
    _, doc_id = corpus
    pages = ["/", "/corpus", f"/transcript/{doc_id}", f"/transcript/{doc_id}/history",
             "/-/search?q=talks", f"/corpus/documents/{doc_id}", "/corpus/documents",
             "/corpus/captures", "/corpus/versions", "/corpus/documents.json?_shape=array",
             "/-/edits?since=2000-01-01"]
    for page in pages:
        status, body = get(base + page)
        assert status == 200, (page, body[-2000:])
        assert foreign_links(body) == [], page
    _, reading = get(f"{base}/transcript/{doc_id}")
    assert "javascript:alert(1)//archive.mid.ru" in reading  # shown, as text
    assert '<span class="inert-url"' in reading
    assert proc.poll() is None


def test_the_edits_feed_links_no_hostile_url(server):
    """The Atom feed of /-/edits.atom: no rel="related" link to the page's URL unless it is
    http(s), and the entry's HTML content links nothing else either."""
    import xml.etree.ElementTree as ET

    base, _ = server
    status, body = get(f"{base}/-/edits.atom?since=2000-01-01")
    assert status == 200, body[-2000:]
    atom = "{http://www.w3.org/2005/Atom}"
    entries = ET.fromstring(body.encode()).findall(f"{atom}entry")
    assert len(entries) == 1  # the silent edit of the hostile corpus
    hrefs = [link.get("href") for link in entries[0].findall(f"{atom}link")]
    assert hrefs and all(web_url(h) for h in hrefs), hrefs
    content = entries[0].find(f"{atom}content").text
    assert "javascript:alert(1)//archive.mid.ru" in content and foreign_links(content) == []


def test_fts3_tokenizer_cannot_be_called(server):
    base, _ = server
    for sql in ("select hex(fts3_tokenizer('simple'))",
                "select fts3_tokenizer('simple', x'4141414141414141')",
                "select FTS3_Tokenizer('porter', zeroblob(8))",
                "select * from leak"):
        status, answer = sql_json(base, sql)
        assert status == 400 and answer["ok"] is False, (sql, answer)
        assert "not authorized" in answer["error"] or "unsafe use" in answer["error"], answer
        assert "rows" not in answer or not answer["rows"]


def test_fts_tables_still_work_after_the_attempts(server):
    base, proc = server
    sql_json(base, "select fts3_tokenizer('simple', x'4141414141414141')")
    for table in ("f3", "f3_porter", "f4", "f5", "f5_porter"):
        status, answer = sql_json(base, f"select count(*) from {table} where {table} match 'talks'")
        assert status == 200 and answer["rows"] == [[1]], (table, answer)
    assert proc.poll() is None


def test_a_forged_schema_is_refused_in_one_line_before_anything_starts(tmp_path):
    """Datasette exits when a table cannot be described; serve says which, and why, first."""
    import subprocess

    path = tmp_path / "corpus.db"
    edited_corpus(path)
    forge_schema(path)
    proc = subprocess.run([str(BIN / "stenogram"), "serve", "--db", str(path), "--no-replay",
                           "--port", "1"], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 65, proc.stderr
    assert proc.stdout == "" and proc.stderr.count("\n") == 1, proc.stderr
    names = "|".join(name for name, _ in FORGED_SCHEMA)
    assert re.match(rf"Error: .*corpus.db: table '({names})' cannot be read "
                    r"\((unknown tokenizer: evil|no such module: no_such_module)\) \(and 1 more\)",
                    proc.stderr), proc.stderr


def test_a_huge_row_is_served_truncated_and_the_server_goes_on(server):
    base, proc = server
    status, body = get(f"{base}/corpus/huge")
    assert status == 200 and len(body) < 1_000_000  # Datasette truncates long cells in tables
    status, body = get(f"{base}/corpus/huge/1")
    assert status == 200 and len(body) > 32 * 1024 * 1024  # the row page shows it whole
    status, answer = sql_json(base, "select length(body) from huge")
    assert status == 200 and answer["rows"] == [[32 * 1024 * 1024]]
    assert proc.poll() is None


def test_a_gigabyte_value_is_an_error_not_a_gigabyte(server):
    base, proc = server
    status, answer = sql_json(base, "select length(randomblob(999999999))")
    assert status == 400 and "too big" in answer["error"], answer
    assert proc.poll() is None


def test_a_row_past_the_value_cap_is_an_error_for_that_query_only(tmp_path):
    from stenogram.corpus.web.sql_guard import MAX_VALUE_BYTES

    path = tmp_path / "big.db"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, body TEXT)")
    conn.execute("INSERT INTO t VALUES (1, ?), (2, 'small')", ("x" * (MAX_VALUE_BYTES + 1),))
    conn.commit()
    conn.close()
    conn = guard(sqlite3.connect(path))
    with pytest.raises(sqlite3.DataError, match="too big"):
        conn.execute("SELECT body FROM t WHERE id = 1").fetchone()
    assert conn.execute("SELECT body FROM t WHERE id = 2").fetchone() == ("small",)
    conn.close()


def test_datasette_time_limit_still_cuts_off_an_endless_query(server):
    base, proc = server
    status, answer = sql_json(base, "select count(*) from endless")
    assert status == 400 and "took too long" in answer["error"], answer
    status, answer = sql_json(base, "select 1 + 1")
    assert status == 200 and answer["rows"] == [[2]]
    assert proc.poll() is None


def test_no_sql_turns_arbitrary_sql_off(corpus):
    path, doc_id = corpus
    with serving(path, None, ("--no-sql",)) as (base, _replay, _proc):
        status, _body = get(f"{base}/corpus.json?sql=select+1")
        assert status == 403
        assert get(f"{base}/transcript/{doc_id}")[0] == 200  # the reader's pages stay
        assert get(f"{base}/corpus/documents.json")[0] == 200


# ---------------------------------------------------------------- who can reach it
@pytest.mark.parametrize("host", ["127.0.0.1", "127.0.0.2", "127.255.0.9", "::1", "[::1]",
                                  "localhost"])
def test_loopback_serves_with_sql_and_no_warning(host):
    assert serve_module.exposure(host) == (True, None)
    assert serve_module.exposure(host, sql=False) == (False, None)


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.168.1.10", "10.0.0.1", "8.8.8.8",
                                  "no-such-host.invalid"])
def test_beyond_loopback_needs_public_then_warns_and_turns_sql_off(host):
    with pytest.raises(serve_module.ExposureRefused, match="--public"):
        serve_module.exposure(host)
    allow_sql, warning = serve_module.exposure(host, public=True)
    assert allow_sql is False
    assert warning.startswith("WARNING: serving on") and "arbitrary SQL is off" in warning
    assert "\n" not in warning


def test_public_mode_hands_datasette_allow_sql_off(tmp_path):
    command = serve_module.datasette_command(tmp_path / "c.db", 1, tmp_path / "m.json",
                                             "0.0.0.0", allow_sql=False)
    i = command.index("default_allow_sql")
    assert command[i - 1:i + 2] == ["--setting", "default_allow_sql", "off"]


def test_serve_refuses_0000_without_public_before_starting_anything(corpus, tmp_path):
    import subprocess

    path, _ = corpus
    proc = subprocess.run([str(BIN / "stenogram"), "serve", "--db", str(path), "--host", "0.0.0.0",
                           "--no-replay", "--port", "1"], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2, proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.startswith("Error:")]
    assert len(lines) == 1 and "--public" in lines[0], proc.stderr


def test_the_reader_pages_queries_are_cut_off_too(corpus):
    """Datasette limits only ``Database.execute``; the reader's pages run through
    ``execute_fn``, which the plugin wraps in the same ``sqlite_timelimit`` (x10)."""
    import asyncio
    import importlib.util

    from datasette.app import Datasette
    from datasette.views.base import DatasetteError

    from stenogram.corpus.web import PLUGINS_DIR

    spec = importlib.util.spec_from_file_location("stenogram_web_under_test",
                                                  PLUGINS_DIR / "stenogram_web.py")
    plugin = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(plugin)
    path, _ = corpus
    ds = Datasette([str(path)], settings={"sql_time_limit_ms": 20})

    def endless(conn):
        return conn.execute("WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) "
                            "SELECT count(*) FROM c").fetchone()

    with pytest.raises(DatasetteError, match="interrupted"):
        asyncio.run(plugin._run(ds, endless))
    assert asyncio.run(plugin._run(ds, lambda conn: conn.execute("SELECT 2").fetchone()))[0] == 2


def test_an_endless_view_in_place_of_a_table_cannot_hold_a_reader_page(tmp_path):
    """``versions`` is not a table serve requires, so a corpus may hold a view of that name that
    never ends; the reading view queries it. The page answers with an error once the plugin's
    limit is reached, and the server goes on (before, the request never returned)."""
    path = tmp_path / "corpus.db"
    doc_id = edited_corpus(path)
    conn = sqlite3.connect(path)
    with conn:
        conn.execute("DROP TABLE versions")
        conn.execute("CREATE VIEW versions AS WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL "
                     "SELECT x + 1 FROM c) SELECT x AS id, 1 AS document_id, 'https://mid.ru/' "
                     "AS url, 'mid' AS source, '2024' AS first_seen FROM c")
    conn.close()
    with serving(path, None) as (base, _replay, proc):
        status, body = get(f"{base}/transcript/{doc_id}", timeout=120)
        assert status == 500 and "Cannot read the corpus" in body and "interrupted" in body
        assert get(base + "/")[0] == 200 and proc.poll() is None
