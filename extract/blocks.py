"""Read paragraphs straight from a pruned body container.

Why not trafilatura here: on these templates the body container is known exactly, and
trafilatura's paragraph model merges text split only by <br><br> (DataLife Engine bodies) and
drops short opening lines ("Colleagues,") as boilerplate. Walking the container keeps every
paragraph exactly as published: a block element or a <br> ends a paragraph; inline markup is
flattened; source whitespace is collapsed (no-break spaces kept).

Also here: pruning helpers that run before any reading (drop chrome nodes, the table of
contents and "Back to contents" links), so neither reader ever sees them.
"""
from __future__ import annotations

import re

from lxml import etree

from extract.text import clean_paragraph, normalise_for_compare

BLOCK_TAGS = frozenset({
    "p", "div", "li", "ul", "ol", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "section",
    "article", "table", "tbody", "thead", "tr", "td", "th", "dl", "dt", "dd", "pre", "header",
    "footer", "main", "figure", "figcaption", "center", "address", "hr", "aside", "nav", "form",
})
ALWAYS_DROP = frozenset({"script", "style", "noscript", "template", "iframe", "object", "svg",
                         "select", "button", "input", "textarea"})
TOC_HEADING = re.compile(r"^\s*(?:Contents|Table of contents|Содержание|Оглавление)\s*:?\s*$", re.I)


def drop_node(el) -> None:
    """Remove `el` but keep its tail text (lxml's drop_tree semantics for any element)."""
    parent = el.getparent()
    if parent is None:
        return
    tail = el.tail
    previous = el.getprevious()
    if tail:
        if previous is not None:
            previous.tail = (previous.tail or "") + tail
        else:
            parent.text = (parent.text or "") + tail
    parent.remove(el)


def drop_nodes(nodes, keep=None) -> int:
    """Drop every node except those containing `keep` (never prune the body's ancestors)."""
    dropped = 0
    for el in nodes:
        if keep is not None and (el is keep or keep in el.iterancestors()):
            continue
        if el.getparent() is not None:
            drop_node(el)
            dropped += 1
    return dropped


def drop_always(root) -> None:
    # iter() with tag filters selects in C, in document order (no proxy for every element)
    drop_nodes(list(root.iter(*ALWAYS_DROP)))
    drop_nodes(list(root.iter(etree.Comment, etree.ProcessingInstruction, etree.Entity)))  # comments, PIs


def _enclosing_block(el):
    for anc in el.iterancestors():
        if anc.tag in BLOCK_TAGS:
            return anc
    return None


def drop_in_page_navigation(container) -> bool:
    """Drop the table of contents and "Back to contents" links: blocks whose whole text is
    in-page anchor links (href="#..."), lists made only of such items, and the TOC heading.
    Footnote anchors inside running text stay. Returns whether anything was dropped."""
    doomed = []
    for a in container.iterdescendants("a"):
        if not (a.get("href") or "").startswith("#"):
            continue
        block = _enclosing_block(a)
        if block is None or block is container:
            continue
        links_text = "".join(x.text_content() for x in block.iterdescendants("a")
                             if (x.get("href") or "").startswith("#"))
        if normalise_for_compare(block.text_content()) == normalise_for_compare(links_text):
            if block.tag == "li" and block.getparent() is not None and block.getparent().tag in ("ul", "ol"):
                block = block.getparent()
            if block is not container and block not in doomed:
                doomed.append(block)
    if not doomed:
        return False
    for block in doomed:  # the heading right before a dropped list is the TOC heading
        previous = block.getprevious()
        if previous is not None and TOC_HEADING.match(previous.text_content() or ""):
            doomed.append(previous)
    drop_nodes(doomed)
    return True


def paragraphs_from(container) -> list[str]:
    """Paragraphs of `container` in document order."""
    out: list[str] = []
    buf: list[str] = []

    def flush() -> None:
        text = clean_paragraph("".join(buf))
        buf.clear()
        if text:
            out.append(text)

    def walk(el) -> None:
        tag = el.tag if isinstance(el.tag, str) else None
        if tag is None or tag in ALWAYS_DROP:
            pass
        elif tag == "br":
            flush()
        elif tag in BLOCK_TAGS:
            flush()
            if el.text:
                buf.append(el.text)
            for child in el:
                walk(child)
            flush()
        else:
            if el.text:
                buf.append(el.text)
            for child in el:
                walk(child)
        if el.tail:
            buf.append(el.tail)

    if container.text:
        buf.append(container.text)
    for child in container:
        walk(child)
    flush()
    return out


def element_text(el, joiner: str = "") -> str:
    """One-line text of a metadata element; `joiner=" "` keeps separate date/time apart."""
    if el is None:
        return ""
    if isinstance(el, str):
        return clean_paragraph(el)
    return clean_paragraph(joiner.join(t for t in el.itertext()))


def html_fragment(el) -> str:
    return etree.tostring(el, encoding="unicode", method="html")
