"""The reader's pages in a real browser: headless Chromium (Debian's package, /usr/bin/chromium)
driven by Playwright's Python package, against `stenogram serve` on loopback over a demo corpus
(sample site crawled, one transcript silently edited, recrawled). Search, open a transcript,
its history with a highlighted edit, the archived copy replayed by pywb, the coverage chart.

Screenshots of each view go to tests/screenshots/ (git-ignored) for a person to look at.
Without chromium or playwright the tests skip locally and fail under CI (CI=true), where
.ci/run installs chromium.
"""
from __future__ import annotations

import os
import sqlite3
from pathlib import Path

import pytest

from conftest import skip_unless_ci

try:
    from tests.serve_support import demo_corpus, serving, wayback_bin
except ImportError:
    from serve_support import demo_corpus, serving, wayback_bin

pytestmark = pytest.mark.network
CHROMIUM = os.environ.get("STENOGRAM_CHROMIUM", "/usr/bin/chromium")
SHOTS = Path(__file__).resolve().parent / "screenshots"


def _missing() -> str | None:
    if not Path(CHROMIUM).exists():
        return f"no Chromium at {CHROMIUM} (apt-get install chromium; .ci/run does)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "playwright is not installed (make install)"
    return None


@pytest.fixture(scope="module")
def browser():
    reason = _missing()
    if reason:
        skip_unless_ci(f"browser tests: {reason}")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        # --no-sandbox: CI runs as root, where Chromium's sandbox refuses to start
        b = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield b
        b.close()


@pytest.fixture(scope="module")
def site(browser):  # after the browser: without one, skip before building anything
    db = demo_corpus()
    wayback = wayback_bin()
    with serving(db, wayback) as (base, replay, _proc):
        yield {"db": db, "base": base, "replay": replay}


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    # nothing but loopback: a page that tried to fetch from the internet would fail here
    context.route(lambda url: not url.startswith(("http://127.0.0.1", "http://localhost")),
                  lambda route: route.abort())
    p = context.new_page()
    yield p
    context.close()


def shot(page, name: str) -> Path:
    SHOTS.mkdir(exist_ok=True)
    path = SHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    print(f"screenshot: {path}")
    return path


def edited_document(db: Path) -> tuple[int, str]:
    con = sqlite3.connect(db)
    try:
        return con.execute("SELECT v.document_id, d.title FROM versions v JOIN documents d ON d.id = v.document_id "
                           "GROUP BY v.document_id, v.url_key HAVING count(*) > 1").fetchone()
    finally:
        con.close()


def test_home_shows_the_coverage_chart(site, page):
    page.goto(site["base"] + "/")
    chart = page.locator("svg.coverage-chart")
    chart.wait_for()
    box = chart.bounding_box()
    assert box and box["width"] > 300 and box["height"] > 50
    assert page.locator("svg.coverage-chart rect.month").count() > 10
    labels = page.locator("svg.coverage-chart text.label").all_text_contents()
    assert any(label.startswith("mid.ru · en") for label in labels)
    assert any(" · ru " in label for label in labels) and len(labels) >= 4
    assert "lsh_signatures" not in page.content()
    shot(page, "1-home")


def test_search_then_read_a_transcript(site, page):
    doc_id, title = edited_document(site["db"])
    page.goto(site["base"] + "/")
    page.fill("input[name=q]", "Lavrov's")
    page.press("input[name=q]", "Enter")
    page.wait_for_url("**/-/search?q=*")
    assert page.locator("li.result").count() >= 5
    assert page.locator("li.result mark").count() >= 1
    shot(page, "2-search")
    page.goto(f"{site['base']}/-/search?q={title.split(',')[0].split()[-1]}")
    page.locator(f'li.result a[href="/transcript/{doc_id}"]').click()
    page.wait_for_url(f"**/transcript/{doc_id}")
    assert page.locator("h1.doc-title").inner_text() == title
    assert page.locator(".dialogue .turn").count() >= 2
    assert page.locator(".dialogue .turn .speaker").first.inner_text().endswith(":")
    cite = page.locator("p.cite").inner_text()
    assert "Cite:" in cite and "Archived capture" in cite and "Retrieved" in cite
    shot(page, "3-transcript")


def test_history_highlights_the_silent_edit(site, page):
    doc_id, _title = edited_document(site["db"])
    page.goto(f"{site['base']}/transcript/{doc_id}")
    page.click("text=History")
    page.wait_for_url(f"**/transcript/{doc_id}/history")
    edit = page.locator("section.version", has=page.locator(".kind-silent-edit"))
    assert edit.count() == 1
    inserted = edit.locator("ins")
    assert inserted.count() >= 2
    assert "added after publication" in " ".join(inserted.all_inner_texts())
    # highlighted: the added words are drawn on a coloured background
    colour = inserted.first.evaluate("e => getComputedStyle(e).backgroundColor")
    assert colour not in ("rgba(0, 0, 0, 0)", "transparent")
    shot(page, "4-history")


def test_archived_copy_opens_from_the_warc(site, page):
    if site["replay"] is None:
        pytest.fail("pywb did not start: tools/setup-tools.sh builds .venv-tools")
    doc_id, _title = edited_document(site["db"])
    con = sqlite3.connect(site["db"])
    try:
        first_words = con.execute("SELECT text FROM documents WHERE id = ?", (doc_id,)).fetchone()[0].split("\n")[0][:60]
    finally:
        con.close()
    page.goto(f"{site['base']}/transcript/{doc_id}")
    link = page.locator("a.archived").first
    assert link.get_attribute("href").startswith(site["replay"] + "/")
    link.click()
    page.wait_for_load_state()
    assert page.url.startswith(site["replay"] + "/")
    assert first_words in page.locator("body").inner_text()
    shot(page, "5-archived")


# ---------------------------------------------------------------- a hostile corpus
@pytest.fixture(scope="module")
def hostile_site(browser, tmp_path_factory):
    """A corpus whose every URL is issue 23's ``javascript:`` URL, written into the SQLite file
    directly (tests/hostile_corpus.py), served as any corpus would be."""
    try:
        from tests.hostile_corpus import hostile_corpus
    except ImportError:
        from hostile_corpus import hostile_corpus
    db = tmp_path_factory.mktemp("hostile-browser") / "corpus.db"
    doc_id = hostile_corpus(db)
    with serving(db, None) as (base, _replay, _proc):
        yield {"base": base, "doc_id": doc_id}


def test_a_javascript_url_from_the_corpus_never_runs(hostile_site, page):
    """Open every page that shows the document's URLs, click each place the URL is shown: no
    dialog opens, no script ran, and no link on the page has a non-http(s) scheme."""
    fired = []
    page.on("dialog", lambda dialog: (fired.append(dialog.message), dialog.dismiss()))
    doc_id = hostile_site["doc_id"]
    for path in (f"/transcript/{doc_id}", f"/transcript/{doc_id}/history",
                 f"/corpus/documents/{doc_id}", "/corpus/captures", "/corpus/versions"):
        page.goto(hostile_site["base"] + path)
        page.wait_for_load_state()
        shown = page.get_by_text("javascript:alert(1)//archive.mid.ru", exact=False)
        assert shown.count() >= 1, path  # the reader still sees what the corpus holds
        for i in range(shown.count()):
            shown.nth(i).click()
        page.evaluate("() => new Promise(r => setTimeout(r, 0))")  # a round trip: queued tasks ran
        assert fired == [], (path, fired)
        assert page.url.startswith(hostile_site["base"]), (path, page.url)
        hrefs = page.eval_on_selector_all("a[href]", "els => els.map(e => e.href)")
        assert hrefs and all(h.startswith(("http://", "https://")) for h in hrefs), (path, hrefs)
        if path.startswith("/transcript/") and "history" not in path:
            shot(page, "6-hostile-url-inert")  # the reading view: the URL as red monospace text


def test_documents_table_stays_readable(site, page):
    """Datasette's documents table shows a snippet of each text (``truncate_cells_html``), so
    the page is a table to scan, not every full text one after another (it was 135,000 px tall
    for 47 rows): one line of snippets per row."""
    con = sqlite3.connect(site["db"])
    n = con.execute("SELECT count(*) FROM documents").fetchone()[0]
    con.close()
    page.goto(site["base"] + "/corpus/documents?_size=max")
    page.locator("table.rows-and-columns").wait_for()
    assert page.locator("table.rows-and-columns tbody tr").count() == n
    rows = page.locator("table.rows-and-columns tbody tr").evaluate_all(
        "rs => rs.map(r => r.getBoundingClientRect().height)")
    assert max(rows) < 80, rows  # each row one line of snippets: no full text in any cell
    height = page.evaluate("document.documentElement.scrollHeight")
    assert height < 2000 + 80 * n, height
    shot(page, "7-documents-table")
