"""extract_page: one archived HTML page -> one Transcript.

Pipeline: refuse junk -> decode (header, meta, detection) -> parse -> choose profile (markup
fingerprint, then URL) -> metadata from the profile's selectors (before pruning) -> prune chrome
nodes, the table of contents and back-links -> paragraphs (from the profile's container when it
has one, else trafilatura on the pruned tree) -> chrome-line filter -> turns, participants.

Date rule: the date in the title's "…, Place, Date" tail is the event date and wins over the
page's publication date; the page date is used when the title has none. The time is the page's.
"""
from __future__ import annotations

import functools
import hashlib
import json
import logging
import re
import threading
from urllib.parse import urljoin, urlsplit

import lxml.html
from lxml import etree

from stenogram.extract import blocks, chrome, gate
from stenogram.extract.charset import decode_body
from stenogram.extract.dates import in_comment_block, parse_date, parse_date_time, parse_time, published_date
from stenogram.extract.profiles import Profile, ProfileSet, default_profiles
from stenogram.extract.text import clean_paragraph, detect_language, normalise_for_compare
from stenogram.extract.titles import (kind_from_title, page_title, participants_from_title, split_place_date,
                                      strip_site_suffix)
from stenogram.extract.transcript import Transcript
from stenogram.extract.turns import split_turns

EXTRACTOR_VERSION = "1.4.1"
LOG = logging.getLogger(__name__)
# trafilatura options for pages without a known body container (documented options only;
# never deduplicate=True: it keeps state across calls).
TRAFILATURA_OPTIONS = dict(
    output_format="txt", include_comments=False, include_tables=True, include_images=False,
    include_links=False, include_formatting=False, favor_precision=True, deduplicate=False,
    with_metadata=False,
)
MIN_BODY_CHARS = gate.MIN_BODY_CHARS
# The profile's container must hold at least this share of the page's running text (see
# _check_container); below it the page is read by the fallback path.
PLAUSIBLE_SHARE = 0.75
_META_DATE_XPATH = etree.XPath(
    "//meta[@property='article:published_time' or @name='date' or @name='pubdate' or "
    "@itemprop='datePublished' or @name='DC.date' or @property='og:published_time']/@content")
_DOC_NUMBER_IN_TEXT = re.compile(r"\b\d{1,5}-\d{2}-\d{2}-\d{4}\b")


@functools.cache
def _trafilatura_version() -> str:
    """trafilatura's version from its metadata: the profile path never imports trafilatura."""
    from importlib.metadata import version

    return version("trafilatura")


def settings_hash(profiles: ProfileSet | None = None) -> str:
    profiles = profiles or default_profiles()
    return _settings_hash(EXTRACTOR_VERSION, _trafilatura_version(),
                          tuple(TRAFILATURA_OPTIONS.items()), profiles.digest)


@functools.lru_cache(maxsize=32)  # pure function of its (hashable) arguments
def _settings_hash(version: str, trafilatura_version: str, options: tuple, digest: str) -> str:
    blob = json.dumps({"version": version, "trafilatura": trafilatura_version,
                       "options": dict(options), "profiles": digest}, sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def _refused(reason: str, profiles: ProfileSet, **fields) -> Transcript:
    return Transcript(is_transcript=False, reason=reason, extractor_version=EXTRACTOR_VERSION,
                      settings_hash=settings_hash(profiles), **fields)


_PARSERS = threading.local()  # an lxml parser is not to be shared between threads


def _parser() -> lxml.html.HTMLParser:
    """lxml.html's parser, made once per thread, with a C-level element class lookup: every
    element is an HtmlElement (lxml.html's own lookup is a Python call per element proxy, only
    to give <form>, <input>, <select>, <textarea> and <label> their form-filling subclasses,
    which nothing here uses)."""
    parser = getattr(_PARSERS, "parser", None)
    if parser is None:
        parser = lxml.html.HTMLParser(remove_comments=True, remove_pis=True, huge_tree=True)
        parser.set_element_class_lookup(etree.ElementDefaultClassLookup(
            element=lxml.html.HtmlElement, comment=lxml.html.HtmlComment,
            pi=lxml.html.HtmlProcessingInstruction, entity=lxml.html.HtmlEntity))
        _PARSERS.parser = parser
    return parser


# What libxml2 cannot hold in a tree (lxml raises on it when a text is set): C0 controls but
# \t \n \r, and the two non-characters; \v (Word's Shift+Enter) and \f separate words, so they
# become a space, the others go. trafilatura's utils.repair_faulty_html deletes the same set.
_SEPARATOR_CONTROLS = re.compile(r"[\x0b\x0c]")
_INVALID_XML_CHARS = re.compile(r"[\x00-\x08\x0e-\x1f\ufffe\uffff\ud800-\udfff]")
# An XML declaration at the top, well-formed or not ("<?xml version='1.0' encoding='utf-8'>"):
# lxml refuses a str that carries one.
_XML_DECLARATION = re.compile(r"^[\s\ufeff]*<\?xml\b[^>]*>", re.I)
# A DOCTYPE with a "/" in it on the first line (libxml2 loses the page after it, lxml bug
# 1955915) and a self-closing <html .../> (libxml2 closes the document there): trafilatura's
# utils.repair_faulty_html repairs the same two.
_FAULTY_DOCTYPE = re.compile(r"^\s*< ?! ?DOCTYPE[^>]*/[^<>]*>", re.I)
_SELF_CLOSING_HTML = re.compile(r"(<html\b[^>]*?)\s*/>", re.I)


# A character reference to one of those controls ("&#x0b;", "&#11;"): libxml2 decodes it into
# the tree, where it raises as soon as a text holding it is set (found by the mutation test).
_CONTROL_REFERENCE = re.compile(
    r"&#(?:[xX]0*(?:[0-8bBcCeEfF]|1[0-9a-fA-F])(?![0-9a-fA-F])|0*(?:[0-8]|1[124-9]|2[0-9]|3[01])(?![0-9]));?")


def normalise_markup(html: str) -> str:
    """The page as libxml2 can parse it whole: controls (and references to them), the XML
    declaration, a faulty DOCTYPE and a self-closing <html/> repaired, everything else kept."""
    html = _CONTROL_REFERENCE.sub(" ", html)
    html = _SEPARATOR_CONTROLS.sub(" ", html)
    html = _INVALID_XML_CHARS.sub("", html)
    html = _XML_DECLARATION.sub("", html, count=1)
    html = _FAULTY_DOCTYPE.sub("", html, count=1)
    head = html[:4096]
    if _SELF_CLOSING_HTML.search(head):
        html = _SELF_CLOSING_HTML.sub(r"\1>", head, count=1) + html[4096:]
    return html


def _parse(html: str):
    parser = _parser()
    root = lxml.html.document_fromstring(html, parser=parser)
    for error in parser.error_log:
        if error.type_name == "ERR_RESOURCE_LIMIT" or "Excessive depth" in error.message:
            # libxml2 stops the document at this depth (2,048 with huge_tree): the rest is lost
            LOG.warning("page nested past libxml2's limit, the content below is dropped: %s",
                        error.message.strip())
            break
    return root


def _title(root, profile: Profile) -> str | None:
    el = profile.title.first(root)
    text = blocks.element_text(el) if el is not None else ""
    return strip_site_suffix(page_title(root, text) or "") or None


def _page_date_time(root, profile: Profile) -> tuple[str | None, str | None, list[str]]:
    """Date and time printed on the page (not the title), and the lines they came from."""
    lines: list[str] = []
    date = time = None
    el = profile.date.first(root)
    if el is not None:
        text = blocks.element_text(el, " ")
        lines.append(text)
        date, time = parse_date_time(text)
    tel = profile.time.first(root)
    if tel is not None:
        text = blocks.element_text(tel, " ")
        lines.append(text)
        time = parse_time(text) or time
    if date is None:
        for content in _META_DATE_XPATH(root):
            date = parse_date(content)
            if date:
                break
    return date or published_date(root), time, lines


def _date_lines_outside(outside: list) -> tuple[str | None, str | None]:
    """Fallback for templates without date selectors: the first line outside the body that is
    only a date/time ("8 April 202114:32"). `outside`: _outside_elements(root, container)."""
    for el in outside:
        if not isinstance(el.tag, str) or el.tag in ("script", "style", "title", "head") or in_comment_block(el):
            continue
        for raw in (el.text, el.tail):
            if raw and raw.strip():
                line = clean_paragraph(raw)
                if chrome.is_date_line(line):
                    return parse_date_time(line)
        if el.tag in ("div", "p", "td", "span", "font") and len(el) <= 3:
            line = blocks.element_text(el)
            if 6 <= len(line) <= 40 and chrome.is_date_line(line):
                return parse_date_time(line)
    return None, None


def _doc_number(root, profile: Profile, outside_text: str) -> str | None:
    el = profile.doc_number.first(root)
    if el is not None:
        m = _DOC_NUMBER_IN_TEXT.search(blocks.element_text(el))
        if m:
            return m.group(0)
    for line in outside_text.splitlines():
        m = chrome.DOC_NUMBER.match(line)
        if m:
            return m.group(1)
    return None


def _translation_urls(root, profile: Profile, url: str | None) -> list[str]:
    found: list[str] = []
    for el in profile.translation_links.all(root):
        href = (el.get("href") or "").strip()
        if not href or href.startswith(("#", "javascript:")):
            continue
        absolute = urljoin(url or "", href)
        path = urlsplit(absolute).path
        if profile.url_patterns and not any(p.search(path) for p in profile.url_patterns):
            continue  # a switcher link to a section front page, not to the article
        if url and absolute.rstrip("/") == url.rstrip("/"):
            continue
        if absolute not in found:
            found.append(absolute)
    return found


def _trafilatura_paragraphs(root, url: str | None, html: str | None = None) -> list[str]:
    from stenogram.extract import generic  # trafilatura (0.2 s to import): only pages that need it

    return generic.paragraphs(root, url, TRAFILATURA_OPTIONS, MIN_BODY_CHARS, html)  # see extract/generic.py


def _outside_elements(root, container) -> list:
    """root.iter() in document order, minus `container` and everything inside it (one walk that
    never enters the body, instead of an ancestor test per element)."""
    if container is None:
        return list(root.iter())
    out = []
    stack = [root]
    while stack:
        el = stack.pop()
        if el is container:
            continue
        out.append(el)
        if len(el):
            stack.extend(reversed(el))  # children, first child on top: pre-order
    return out


def _outside_text(outside: list) -> str:
    """Text lines of the page outside the body (for doc numbers and date lines)."""
    lines = []
    for el in outside:
        if not isinstance(el.tag, str) or el.tag in ("script", "style", "head", "title"):
            continue
        for raw in (el.text, el.tail):
            if raw and raw.strip():
                lines.append(clean_paragraph(raw))
    return "\n".join(lines)


def _has_body_line(profile: Profile, title: str | None, lines: list[str]) -> bool:
    """A line that ends like running text (a sentence, or a salutation's comma: labels such as
    "Category: …", bylines and captions do not) and is none of the page's metadata (title,
    date line, document number) nor a known chrome line."""
    title_norm = normalise_for_compare(title) if title else None
    for line in lines:
        norm = normalise_for_compare(line)
        if not norm or not blocks.ENDS_LIKE_TEXT.search(norm) or norm == title_norm or chrome.is_date_line(norm) \
                or chrome.DOC_NUMBER.match(norm):
            continue
        if profile.chrome_line_match(norm):
            continue
        return True
    return False


def _check_container(root, profile: Profile, container, title: str | None, hosts: dict):
    """A profile is a hint, never a gate: (body container, why the profile's was not used).

    The profile's container is kept when it holds most of the page's running text (the
    substantial text blocks, wherever they sit) and no such block sits right beside it; with
    one beside it (a lead paragraph set apart), the container's parent is read instead. When
    its selector matched nothing, or it holds too little of that text (a redesign moved the body
    out of it), the body container is chosen from the text itself: the lowest common ancestor
    of the substantial text blocks."""
    if container is not None:
        share = blocks.share_inside(hosts, container)
        if share >= PLAUSIBLE_SHARE:
            if not blocks.text_beside(container, functools.partial(_has_body_line, profile, title)):
                return container, None
            # a paragraph right before or after the body (a lead, a closing line set apart)
            return container.getparent(), "text beside the profile container"
        reason = f"profile container holds {share:.0%} of the page's text"
    elif profile.container.xpaths:
        reason = "profile container matched nothing"
    else:
        reason = "profile has no container"
    found = blocks.main_container(hosts)
    if found is not None and blocks.text_beside(found, functools.partial(_has_body_line, profile, title)):
        found = found.getparent()
    return found, reason


class _Refusal(Exception):
    """A page refused before it is parsed (junk, undecodable, unparseable): the reason."""


def _decode_and_parse(body: bytes | str, content_type: str | None):
    """(decoded html, lxml root) of a page the gate lets through; else raises ``_Refusal``."""
    reason = gate.refuse_raw(body, content_type)
    if reason:
        raise _Refusal(reason)
    html, _charset = decode_body(body, content_type)
    reason = gate.refuse_decoded(html)
    if reason:
        raise _Refusal(reason)
    html = normalise_markup(html)
    try:
        return html, _parse(html)
    except (etree.ParserError, ValueError) as exc:
        raise _Refusal(f"unparseable HTML: {exc}") from None


def _body_container(root, profile: Profile, profiles: ProfileSet, container, title: str | None, hosts: dict):
    """(body container or None, extraction path, fallback reason): the profile's container
    when it holds the text (``_check_container``), else one found from the text (``fallback``);
    the generic profile has none of its own (``generic``)."""
    if profile is profiles.generic:
        return container, "generic", None
    container, fallback_reason = _check_container(root, profile, container, title, hosts)
    return container, "fallback" if fallback_reason else "profile", fallback_reason


def _prune_chrome(root, profile: Profile, profiles: ProfileSet, container, path: str, hosts: dict) -> None:
    """Drop the profile's chrome nodes (the generic ones too off the profile path), never the
    body and never an element holding most of the page's running text (a WordPress
    `<body class="… sidebar">`, an article wrapped in a `<nav>`): `blocks.MostTextGuard`."""
    guard = blocks.MostTextGuard(hosts)
    blocks.drop_nodes(profile.chrome.all_unordered(root), keep=container, spare=guard)
    if path != "profile" or container is None:
        blocks.drop_nodes(profiles.generic.chrome.all_unordered(root), keep=container, spare=guard)


def _is_listing(root, profile: Profile, profiles: ProfileSet) -> bool:
    """A profile's listing markup on a page without its article container: a listing, however
    short (the last page of a section, or a new section, may list one or two items). Only the
    chosen profile's rule, and on a page no profile claims (generic), the rules of profiles
    whose listing markup is their platform's own (`listing_elsewhere`): the Domino profile's
    `#content > div > div > table tr[valign='top']` matches ordinary table-layout articles."""
    candidates = (profile,) if profile is not profiles.generic else tuple(
        p for p in profiles.profiles if p.listing_elsewhere)
    return any(c.listing.xpaths and c.listing.all(root) for c in candidates)


def _body_paragraphs(root, container, url: str | None, html: str | None = None) -> list[str]:
    """The body's paragraphs: from the container, else trafilatura on the pruned page (and on
    the whole page `html` when the pruned one leaves no body: generic.paragraphs)."""
    if container is not None:
        blocks.drop_in_page_navigation(container)
        blocks.drop_link_blocks(container)
        return blocks.paragraphs_from(container)
    blocks.drop_in_page_navigation(root)
    return _trafilatura_paragraphs(root, url, html)


def _date_in_body(paragraphs: list[str]) -> tuple[str | None, str | None]:
    """(date, time) of the first date line inside the body (a redesign moved it there)."""
    found_time = None
    for line in paragraphs:
        if chrome.is_date_line(line):
            date, time = parse_date_time(line)
            found_time = found_time or time
            if date:
                return date, found_time
    return None, found_time


def extract_page(body: bytes | str, url: str | None = None, content_type: str | None = None,
                 profiles: ProfileSet | None = None, require_evidence: bool = True) -> Transcript:
    """Extract one page. Never raises on any input: returns is_transcript=False with a reason
    (a failure of the extractor itself is logged with its traceback and refused as
    "extraction failed: …", so a crawl keeps the page in its WARC and counts it).
    `require_evidence=False`: see gate.refuse_extracted (benchmarks of the text alone)."""
    profiles = profiles or default_profiles()
    try:
        return _extract(body, url, content_type, profiles, require_evidence)
    except Exception as exc:  # noqa: BLE001 - the last line of defence, logged with the traceback
        LOG.exception("extraction failed on %s", url or "a page")
        return _refused(f"extraction failed: {type(exc).__name__}: {exc}"[:300], profiles)


def _extract(body: bytes | str, url: str | None, content_type: str | None, profiles: ProfileSet,
             require_evidence: bool) -> Transcript:
    try:
        html, root = _decode_and_parse(body, content_type)
    except _Refusal as refusal:
        return _refused(str(refusal), profiles)

    # metadata first: pruning removes the nodes it is read from
    profile = profiles.choose(root, url)
    title = gate.cap_title(_title(root, profile))
    page_date, time, date_lines = _page_date_time(root, profile)
    translation_urls = _translation_urls(root, profile, url)
    profile_container = profile.container.first(root)

    blocks.drop_always(root)
    hosts = blocks.text_hosts(root, frozenset({normalise_for_compare(title)}) if title else frozenset())
    container, path, fallback_reason = _body_container(root, profile, profiles,
                                                       profile_container, title, hosts)
    if page_date is None:  # before pruning: a redesign may have put the date in a <header>
        page_date, fallback_time = _date_lines_outside(_outside_elements(root, container))
        time = time or fallback_time
    _prune_chrome(root, profile, profiles, container, path, hosts)
    doc_number = _doc_number(root, profile, _outside_text(_outside_elements(root, container)))
    listing = profile_container is None and _is_listing(root, profile, profiles)
    early = gate.refuse_before_extraction(title=title, listing=listing)
    if early:  # the tree decided: no body reading, no trafilatura
        place, title_date = split_place_date(title)
        return _refused(early, profiles, title=title, date=title_date or page_date, time=time, place=place,
                        source=profile.name, doc_number=doc_number, kind=kind_from_title(title),
                        translation_urls=translation_urls, extraction_path=path, fallback_reason=fallback_reason)
    raw_paragraphs = _body_paragraphs(root, container, url, html)
    if page_date is None:
        page_date, body_time = _date_in_body(raw_paragraphs)
        time = time or body_time

    # the title repeated in the body is metadata: the corpus keeps it in its own field. (Keeping
    # it on generic pages, as the open-web benchmarks' gold texts do, was tried in 1.4.0 and put
    # the heading back into the Russian-CMS bodies, whose truth leaves it out: docs/extraction.md.)
    metadata_lines = [title or "", doc_number or "", *date_lines]
    paragraphs, letters = chrome.drop_chrome_lines_counted(
        raw_paragraphs, profile.chrome_line_match, metadata_lines)
    text = "\n\n".join(paragraphs)

    place, title_date = split_place_date(title)
    language = detect_language(text, letters) if text else None
    fields = dict(
        title=title, date=title_date or page_date, time=time, place=place, language=language,
        source=profile.name, doc_number=doc_number, kind=kind_from_title(title),
        translation_urls=translation_urls, extraction_path=path, fallback_reason=fallback_reason,
    )
    reason = gate.refuse_extracted(
        html=html, title=title, paragraphs=paragraphs, text=text, listing=listing,
        body_lines=raw_paragraphs,
        profile_body=container is not None and path == "profile", require_evidence=require_evidence)
    if reason:
        return _refused(reason, profiles, **fields)

    return Transcript(
        **fields, text=text, paragraphs=paragraphs, turns=split_turns(paragraphs, language, title),
        participants=participants_from_title(title), is_transcript=True, reason=None,
        extractor_version=EXTRACTOR_VERSION, settings_hash=settings_hash(profiles),
    )
