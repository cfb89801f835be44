"""The generic path: a page of a host no profile knows, read by trafilatura plus two fixes.

Measured against plain trafilatura on the development half of the Zyte article-extraction benchmark
(`bench/bench_generic.py PATH`; figures in README, Benchmarks). What stenogram adds, each a general
rule rather than a page's quirk:

* **No pre-cleaning of semantic containers.** `<form>` (ASP.NET pages wrap the whole page in
  one) and `<header>` (an article's own header holds its lede) are left to trafilatura, which
  judges them by content; removing them first deleted whole articles.
* **One body split into chunks.** trafilatura reads only the first element its body expressions
  match; sites that cut an article into several blocks of the same class (between ads) lost every
  chunk but the first. Same-class blocks matched by the same expression are merged into the first.
* **Layout tables read as blocks** (`unwrap_layout_tables`), and **precision first, recall when
  precision leaves no body** (`paragraphs`): trafilatura's default mode rereads a page that
  favor_precision would leave under the body minimum.
* **Reader prompts at the edges.** "Related:", "Read more:", "Also on …" lines anywhere, and at
  the end of the body a run of calls to the reader (subscribe, newsletter, follow us on …, tell us
  what you think, comments, "Filed under: …") with the short labels between them.
"""
from __future__ import annotations

import re
from collections import Counter

import trafilatura
from trafilatura.xpaths import BODY_XPATH

from stenogram.extract.text import clean_paragraph

_SOCIAL = r"(?:Twitter|Facebook|Instagram|YouTube|Telegram|LinkedIn|TikTok|VK|WhatsApp|Flipboard)"
# A line that opens with a pointer to other content: dropped wherever it is.
_POINTER = re.compile(
    r"^\W*(?:Related|See more|See also|Read more|Read also|Also read|Read next|More from|"
    r"More on this|Also on [\w.-]+|Don'?t miss|Recommended|Читайте также|Смотрите также|"
    r"Читайте нас)\b\W*(?:[:\-–—|]|$)", re.I)
# A call to the reader: dropped in the run of such lines that ends the body.
_PROMPT = re.compile(
    r"\b(?:subscribe|subscriptions?|newsletters?|sign up|signup|click here|share (?:it|this)|"
    rf"follow (?:us|her|him|them|me)\b|\bfollow\b.{{0,80}}\bon {_SOCIAL}|tell us what|in your inbox|"
    r"have a tip|send us your|(?:listen|watch) (?:to )?.{0,40}\blive\b|подпишитесь|"
    r"подписывайтесь|рассылк)|^\W*comments?\W*$", re.I)
_TAXONOMY = re.compile(
    r"^\W*(?:Filed under|Posted in|Posted under|Categor(?:y|ies)|Tagged(?: with)?|Topics?|"
    r"Рубрик[аи])\s*:.*$", re.I)
# The default reading replaces the precision one when it holds this share of its words and is
# between these multiples of its length (tuned on the open-web set's tuning part only:
# docs/extraction.md; 1.3-3 lost token F1 there, 1.05-1.6 and 1.05-2.0 gained, 2.0 most).
RECALL_HOLDS = 0.98
RECALL_MIN_GAIN, RECALL_MAX_GAIN = 1.05, 2.0
_WORD = re.compile(r"\w+")
_SENTENCE_END = re.compile(r"[.!?…]\s*$")
_PROMPT_MAX_WORDS = 60
_LABEL_MAX_WORDS = 6


def merge_split_body(root) -> int:
    """Merge the blocks of one body cut into same-class chunks into the first chunk (what
    trafilatura's body expressions match first). Returns how many chunks were merged."""
    for expr in BODY_XPATH:
        hits = [el for el in expr(root) if el is not None]
        if not hits:
            continue
        first = hits[0]
        cls = first.get("class")
        if not cls:
            return 0
        merged = 0
        for el in hits[1:]:
            if el.tag != first.tag or el.get("class") != cls or el.getparent() is None:
                continue
            if first in el.iterancestors() or el in first.iterancestors():
                continue
            for child in list(el):
                first.append(child)
            el.getparent().remove(el)
            merged += 1
        return merged
    return 0


_LAYOUT_CELL_BLOCKS = ("p", "div", "h1", "h2", "h3", "h4", "h5", "h6", "ul", "ol", "blockquote", "table")
_TABLE_PARTS = ("tbody", "thead", "tfoot", "tr", "td", "th")


def _is_layout_table(table) -> bool:
    """A table used for page layout, not data: Mozilla Readability's `_markDataTables` rules
    (role="presentation", a nested table, a single row or column mean layout; a caption,
    summary, <thead> or header cells mean data), plus a cell holding paragraphs or headings
    (a data cell holds a value, not running text)."""
    if table.get("role") == "presentation":
        return True
    if table.get("datatable") == "0":
        return True
    if table.get("summary") or table.find("caption") is not None or table.find(".//thead") is not None:
        return False
    rows = [tr for tr in table.iter("tr") if _own_table(tr) is table]
    if table.find(".//table") is not None or len(rows) <= 1:
        return True
    cells = [c for tr in rows for c in tr if c.tag in ("td", "th")]
    if any(c.tag == "th" for c in cells):
        return False
    if max((sum(1 for c in tr if c.tag in ("td", "th")) for tr in rows), default=0) <= 1:
        return True
    return any(c.find(f".//{tag}") is not None for c in cells for tag in _LAYOUT_CELL_BLOCKS)


def _own_table(el):
    return next(el.iterancestors("table"), None)


def unwrap_layout_tables(root) -> int:
    """Re-tag layout tables and their rows and cells as <div>s, so trafilatura reads their
    paragraphs as paragraphs (it renders a table as "| cell | cell |" rows, which glues a
    table-layout article's paragraphs and speaker labels into one line). Data tables stay."""
    tables = [t for t in root.iter("table") if _is_layout_table(t)]
    for table in tables:
        for el in [table, *table.iter(*_TABLE_PARTS)]:
            if el is table or _own_table(el) is table:
                el.tag = "div"
                for attr in ("valign", "align", "width", "colspan", "rowspan", "cellpadding", "cellspacing", "border"):
                    el.attrib.pop(attr, None)
    return len(tables)


def _prompt(line: str) -> bool:
    return len(line.split()) <= _PROMPT_MAX_WORDS and bool(
        _POINTER.match(line) or _PROMPT.search(line) or _TAXONOMY.match(line))


def drop_reader_prompts(paragraphs: list[str]) -> list[str]:
    """Pointer lines anywhere; the trailing run of reader prompts (and short labels among them),
    only when that run holds at least one prompt."""
    kept = [p for p in paragraphs if not _POINTER.match(p)]
    end, prompts = len(kept), 0
    while end > 0:
        line = kept[end - 1]
        if _prompt(line):
            prompts += 1
        elif not (len(line.split()) <= _LABEL_MAX_WORDS and not _SENTENCE_END.search(line)):
            break
        end -= 1
    return kept[:end] if prompts else kept


def _tokens(lines: list[str]) -> Counter:
    return Counter(_WORD.findall(" ".join(lines).lower()))


def _holds_and_extends(recall: list[str], precision: list[str]) -> bool:
    """trafilatura's default reading of the page as served (`recall`) holds (nearly) every
    word of the precision reading of the pruned page and adds a bounded amount: what it adds
    is text precision mode dropped as borderline, not a sidebar (a reading several times
    longer brings chrome: measured in docs/extraction.md)."""
    ours, theirs = _tokens(precision), _tokens(recall)
    n = sum(ours.values())
    return bool(n) and sum((ours & theirs).values()) >= RECALL_HOLDS * n \
        and RECALL_MIN_GAIN * n <= sum(theirs.values()) <= RECALL_MAX_GAIN * n


def _lines(tree, url: str | None, options: dict) -> list[str]:
    text = trafilatura.extract(tree, url=url, **options) or ""  # reads `tree`, never changes it
    return [p for p in (clean_paragraph(line) for line in text.splitlines()) if p]


def paragraphs(root, url: str | None, options: dict, min_chars: int = 0, page_html: str | None = None) -> list[str]:
    """Body paragraphs of a page without a known container (`root` is modified).

    `options` are precision-first on the pruned tree; when they leave less than `min_chars`
    (the page would be refused as "no body text"), trafilatura's own default, recall-balanced
    mode reads the pruned tree and then the whole page as served (`page_html`: trafilatura
    also reads what pruning dropped, such as a JSON-LD body), and the longest reading is kept.
    Precision mode drops a short article's only paragraphs as boilerplate; measured in
    docs/extraction.md (the development set's tuning part: the "no body text" pages where
    trafilatura finds a body went from 6 to 2)."""
    unwrap_layout_tables(root)
    merge_split_body(root)
    lines = _lines(root, url, options)
    if page_html is not None and lines:
        served = _lines(page_html, url, dict(options, favor_precision=False))
        if _holds_and_extends(served, lines):
            lines = served
    if min_chars and sum(len(p) for p in lines) < min_chars:
        recall_options = dict(options, favor_precision=False)
        for tree in (root, page_html):
            if tree is None:
                continue
            candidate = _lines(tree, url, recall_options)
            if sum(len(p) for p in candidate) > sum(len(p) for p in lines):
                lines = candidate
            if sum(len(p) for p in lines) >= min_chars:
                break
    return drop_reader_prompts(lines)
