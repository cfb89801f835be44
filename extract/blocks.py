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

from stenogram.extract.text import clean_paragraph, normalise_for_compare

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


def drop_nodes(nodes, keep=None, spare=None) -> int:
    """Drop every node except those containing `keep` (never prune the body's ancestors) and
    those `spare(node)` says to keep (a chrome selector's size guard, `MostTextGuard`)."""
    dropped = 0
    for el in nodes:
        if keep is not None and (el is keep or keep in el.iterancestors()):
            continue
        if spare is not None and spare(el):
            continue
        if el.getparent() is not None:
            drop_node(el)
            dropped += 1
    return dropped


def drop_always(root) -> None:
    """Drop scripts, styles, forms' controls, comments... and every <noscript> but one that
    holds most of the page's running text: an unclosed `<noscript>` (libxml2 puts the rest of
    the page inside it) is unwrapped instead, so it cannot eat the body."""
    # iter() with tag filters selects in C, in document order (no proxy for every element)
    drop_nodes(list(root.iter(*(ALWAYS_DROP - {"noscript"}))))
    drop_nodes(list(root.iter(etree.Comment, etree.ProcessingInstruction, etree.Entity)))  # comments, PIs
    noscripts = list(root.iter("noscript"))
    if not noscripts:
        return
    guard = MostTextGuard(text_hosts(root)) if any(len(n) for n in noscripts) else None
    for el in noscripts:
        if el.getparent() is None:
            continue
        if guard is not None and guard(el):
            el.drop_tag()  # lxml.html: the element goes, its text and children stay in place
        else:
            drop_node(el)


def _enclosing_block(el):
    for anc in el.iterancestors():
        if anc.tag in BLOCK_TAGS:
            return anc
    return None


def _is_in_page_link(a) -> bool:
    return (a.get("href") or "").startswith("#")


def drop_in_page_navigation(container) -> bool:
    """Drop the table of contents and "Back to contents" links: blocks whose whole text is
    in-page anchor links (href="#..."), lists made only of such items, and the TOC heading.
    Footnote anchors inside running text stay. Returns whether anything was dropped.

    Linear: each block holding in-page links is read once, however many links it holds (a body
    with a footnote anchor on every line used to be re-read per anchor: 30 s for 2,000)."""
    blocks: dict = {}  # enclosing block -> None, in document order of their first link
    for a in container.iterdescendants("a"):
        if _is_in_page_link(a):
            block = _enclosing_block(a)
            if block is not None and block is not container:
                blocks.setdefault(block, None)
    doomed: dict = {}
    for block in blocks:
        links_text = "".join(x.text_content() for x in block.iterdescendants("a") if _is_in_page_link(x))
        if normalise_for_compare(block.text_content()) == normalise_for_compare(links_text):
            if block.tag == "li" and block.getparent() is not None and block.getparent().tag in ("ul", "ol"):
                block = block.getparent()
            if block is not container:
                doomed.setdefault(block, None)
    if not doomed:
        return False
    order = list(doomed)
    for block in order:  # the heading right before a dropped list is the TOC heading
        previous = block.getprevious()
        if previous is not None and TOC_HEADING.match(previous.text_content() or ""):
            order.append(previous)
    drop_nodes(order)
    return True


def paragraphs_from(container) -> list[str]:
    """Paragraphs of `container` in document order. An explicit stack, not recursion: a page
    nested 1,000+ elements deep (libxml2 keeps up to 2,048 with huge_tree) would otherwise
    raise RecursionError."""
    out: list[str] = []
    buf: list[str] = []

    def flush() -> None:
        text = clean_paragraph("".join(buf))
        buf.clear()
        if text:
            out.append(text)

    if container.text:
        buf.append(container.text)
    stack: list = [(child, False) for child in reversed(container)]
    while stack:
        el, closing = stack.pop()
        if closing:  # after the element's children
            if el.tag in BLOCK_TAGS:
                flush()
            if el.tail:
                buf.append(el.tail)
            continue
        tag = el.tag if isinstance(el.tag, str) else None
        if tag is None or tag in ALWAYS_DROP or tag == "br":
            if tag == "br":
                flush()
            if el.tail:
                buf.append(el.tail)
            continue
        if tag in BLOCK_TAGS:
            flush()
        if el.text:
            buf.append(el.text)
        stack.append((el, True))
        stack.extend((child, False) for child in reversed(el))
    flush()
    return out


def element_text(el, joiner: str = "") -> str:
    """One-line text of a metadata element; `joiner=" "` keeps separate date/time apart."""
    if el is None:
        return ""
    if isinstance(el, str):
        return clean_paragraph(el)
    return clean_paragraph(joiner.join(t for t in el.itertext()))


# ---------------------------------------------------------------- when the profile misses
# A "text host" is the block that owns a run of running text (the nearest block ancestor of a
# text node). Hosts holding a real paragraph's worth of words are where the body is, whatever
# the classes and ids say; their lowest common ancestor is the body container.
SUBSTANTIAL_CHARS = 80
MOST_TEXT_SHARE = 0.5  # "most of the page's text": more than half of the hosts' mass
LIST_TAGS = frozenset({"ul", "ol", "li", "dl", "dt", "dd"})


def text_hosts(root, skip_texts: frozenset[str] = frozenset()) -> dict:
    """{host block: characters of running text outside links it holds}, for hosts with at
    least SUBSTANTIAL_CHARS; a host whose whole text is one of `skip_texts` (the title) does
    not count: a heading is not the body. One pre-order walk: each element's host and
    in-link state come from its parent's."""
    body = root.find("body")
    if body is None:
        body = root
    mass: dict = {}
    state = {body: (body, False)}  # element -> (host block, inside a link)
    for el in body.iter():
        tag = el.tag
        if not isinstance(tag, str):
            continue
        parent = el.getparent()
        if el is not body:
            host, in_link = state[parent]
            if tag in BLOCK_TAGS:
                host = el
            elif tag == "a" and el.get("href") is not None:
                in_link = True
            state[el] = (host, in_link)
        else:
            host, in_link = body, False
        if not in_link and el.text and not el.text.isspace():
            mass[host] = mass.get(host, 0) + len(el.text.strip())
        if el is not body and el.tail and not el.tail.isspace():
            phost, p_in_link = state[parent]
            if not p_in_link:
                mass[phost] = mass.get(phost, 0) + len(el.tail.strip())
    longest_skip = max((len(t) for t in skip_texts), default=0)
    out = {}
    for host, n in mass.items():
        if n < SUBSTANTIAL_CHARS:
            continue
        if n <= longest_skip + 10 and normalise_for_compare(host.text_content()) in skip_texts:
            continue
        out[host] = n
    return out


class MostTextGuard:
    """`guard(el)`: whether `el` holds most (over MOST_TEXT_SHARE) of the page's running text,
    measured as the profile's container is (`text_hosts`' mass, `share_inside`). An element
    that holds most of the text is the page's body whatever its class says
    (`<body class="… sidebar">`). Asked only about chrome candidates, most of them small: an
    element whose whole text (lxml's C-level text_content) is under the threshold cannot hold
    it, so only the rare large candidate has its hosts summed."""

    def __init__(self, hosts: dict):
        self.hosts = hosts
        self.threshold = MOST_TEXT_SHARE * sum(hosts.values())

    def __call__(self, el) -> bool:
        if not self.threshold or len(el.text_content()) <= self.threshold:
            return False  # host mass counts stripped text of el's subtree: never more than this
        hosts = self.hosts
        return sum(hosts.get(x, 0) for x in el.iter()) > self.threshold


def share_inside(hosts: dict, container) -> float:
    """Share of the hosts' text mass that lies inside `container` (1.0 when there is none)."""
    total = sum(hosts.values())
    if not total:
        return 1.0
    inside = sum(n for host, n in hosts.items() if host is container or container in host.iterancestors())
    return inside / total


def text_beside(container, is_body_text) -> bool:
    """Whether one of the three nearest elements with text before or after `container` (link
    blocks skipped) holds body text by `is_body_text(lines)`: a lead paragraph or a closing
    line set apart from the body."""
    parent = container.getparent()
    if parent is None or parent.tag in ("body", "html"):
        return False
    for step in (container.itersiblings(preceding=True), container.itersiblings()):
        seen = 0
        for sibling in step:
            if not isinstance(sibling.tag, str):
                continue
            text = sibling.text_content()
            if not text.strip():
                continue
            seen += 1
            if seen > 3:
                break
            n_links, link_chars = _link_chars(sibling)
            total = len(normalise_for_compare(text))
            if n_links and total - link_chars <= 0.25 * total:
                continue  # navigation between the body and the paragraph
            if is_body_text(paragraphs_from(sibling)):
                return True
    return False


def main_container(hosts: dict):
    """The lowest common ancestor of every substantial text host (None without any); one
    level higher when it has a sibling of its own kind (same tag and class) holding text: a
    body split in two parts (around a photo, an ad) whose short part (a salutation) is no
    substantial host of its own."""
    common = None
    for host in hosts:
        chain = [host, *host.iterancestors()]
        if common is None:
            common = chain
            continue
        members = set(chain)
        common = [el for el in common if el in members]
    if not common:
        return None
    found = common[0]
    parent = found.getparent()
    if parent is not None and parent.tag not in ("body", "html"):
        kind = (found.tag, found.get("class"))
        for sibling in parent:
            if sibling is not found and (sibling.tag, sibling.get("class")) == kind \
                    and sibling.text_content().strip():
                return parent
    return found


def _link_chars(el) -> tuple[int, int]:
    links = [a for a in el.iter("a") if a.get("href") is not None]
    return len(links), sum(len(normalise_for_compare(a.text_content())) for a in links)


ENDS_LIKE_TEXT = re.compile(r"[.,!?:;…»”\")]$")


def _holds_text_block(el) -> bool:
    """A block inside `el` without links whose text ends like running text (a salutation a
    redesign put next to a link bar): `el` is then no navigation block as a whole."""
    for child in el.iterdescendants(*BLOCK_TAGS):
        text = normalise_for_compare(child.text_content())
        if text and ENDS_LIKE_TEXT.search(text) and not any(
                a.get("href") is not None for a in child.iter("a")):
            return True
    return False


def drop_link_blocks(container) -> int:
    """Drop blocks inside the body that are navigation, not text: related-article lists,
    sidebars, share buttons, language switchers, tag lines, a lone "Print version" link.
    A block is navigation when its words are (nearly) all link text: two or more links and at
    most a quarter of its text (or 20 characters) outside them, or a single link alone that is
    short or a list (a "related" list of one title).
    A paragraph that merely contains links keeps them. Outermost such blocks are dropped."""
    doomed = []
    stack = [c for c in container if isinstance(c.tag, str)]
    while stack:
        el = stack.pop()
        if el.tag not in BLOCK_TAGS:
            stack.extend(c for c in el if isinstance(c.tag, str))
            continue
        n_links, link_chars = _link_chars(el)
        if n_links:
            total = len(normalise_for_compare(el.text_content()))
            outside = total - link_chars
            if total and ((n_links >= 2 and (outside <= 0.25 * total or outside <= 20))
                          or (n_links == 1 and outside <= 3 and (total <= 80 or el.tag in LIST_TAGS))) \
                    and not _holds_text_block(el):
                doomed.append(el)
                continue
        stack.extend(c for c in el if isinstance(c.tag, str))
    doomed.extend(container.iterdescendants("figure"))  # a photo and its caption
    drop_nodes(doomed)
    return len(doomed)
