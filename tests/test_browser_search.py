"""The search page in a real browser (headless Chromium through Playwright, as test_browser.py):
filters typed into the form, what one speaker said, and the month histogram that narrows the
search to the month clicked; over the demo corpus served by `stenogram serve --no-replay`.
Without chromium or playwright the tests skip locally and fail under CI (CI=true)."""
from __future__ import annotations

import re
import sqlite3
from collections import Counter

import pytest

from conftest import skip_unless_ci

try:
    from tests.serve_support import demo_corpus, serving
    from tests.test_browser import CHROMIUM, _missing, shot
except ImportError:
    from serve_support import demo_corpus, serving
    from test_browser import CHROMIUM, _missing, shot

pytestmark = pytest.mark.network


@pytest.fixture(scope="module")
def site():
    reason = _missing()
    if reason:
        skip_unless_ci(f"browser tests: {reason}")
    from playwright.sync_api import sync_playwright

    db = demo_corpus()
    with serving(db, None) as (base, _, _proc), sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        context.route(lambda url: not url.startswith(("http://127.0.0.1", "http://localhost")),
                      lambda route: route.abort())
        yield {"db": db, "base": base, "page": context.new_page()}
        browser.close()


def _lavrov_documents(db) -> dict[int, str]:
    """Documents with a turn of Lavrov's, by id: their dates (from the corpus, not the page)."""
    con = sqlite3.connect(db)
    try:
        return dict(con.execute(
            "SELECT d.id, d.date FROM documents d WHERE EXISTS (SELECT 1 FROM json_each(d.turns) "
            "WHERE json_extract(value, '$.speaker_id') = 'lavrov')").fetchall())
    finally:
        con.close()


def test_filters_from_the_form_and_the_histogram(site):
    page, base = site["page"], site["base"]
    lavrov = _lavrov_documents(site["db"])
    assert len(lavrov) >= 3
    page.goto(base + "/-/search")
    page.click("form.stenogram-search summary")
    page.fill("input[name=speaker]", "Lavrov")
    page.press("input[name=speaker]", "Enter")
    page.wait_for_url("**/-/search?*speaker=Lavrov*")
    assert int(page.locator("span.total").inner_text()) == len(lavrov)
    assert "in what Lavrov said" in page.locator("p.count").inner_text()
    shot(page, "search-speaker")
    months = Counter(d[:7] for d in lavrov.values() if d)
    bars = page.locator(".stenogram-histogram a.bar")
    assert bars.count() == len(months)
    month, n = re.fullmatch(r"(\d{4}-\d\d): (\d+)", bars.first.get_attribute("title")).groups()
    assert months[month] == int(n)
    bars.first.click()
    page.wait_for_url(f"**/-/search?*from={month}*")
    assert f"to={month}" in page.url and "speaker=Lavrov" in page.url
    assert int(page.locator("span.total").inner_text()) == int(n)
    ids = {int(x) for x in page.locator("li.result").evaluate_all(
        "els => els.map(e => e.dataset.documentId)")}
    assert ids == {i for i, d in lavrov.items() if d and d.startswith(month)}
    shot(page, "search-month")
