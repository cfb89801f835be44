"""A seeded template mutator: the sample site's pages as a redesign would serve them.

Why: the gold set is built from the very templates the profiles were written for, so it cannot
tell whether the extractor survives markup it has never seen. This module renders every page of
the sample site (all four sources, en and ru, the windows-1251 DataLife Engine pages included;
no server: the renderers are called directly) and applies 1-3 *text-preserving* changes of the
kinds a real redesign makes. Each page keeps its own ground truth (title, date, place,
paragraphs, the turn count those paragraphs give), so a mutated page is scored against what it
must still say: a metamorphic test.

A mutation kind is a small function registered with `@mutation("name")`: it gets a `Page` (the
parsed tree plus handles on the title, date line and body elements, found by their ground-truth
text before any change) and a seeded `random.Random`, and returns False when it does not apply
to that page. Text-stage kinds (`stage="text"`) rewrite the serialised HTML instead (quoting,
case, whitespace). Adding a kind is one function.
"""
from __future__ import annotations

import datetime as dt
import html as htmllib
import random
import re
from collections.abc import Callable
from dataclasses import dataclass, field

import lxml.html
from lxml import etree

from stenogram.extract.text import normalise_for_compare
from stenogram.extract.turns import split_turns
from stenogram.sample_site.content import MONTHS, RU_MONTHS_GEN, build_catalog
from stenogram.sample_site.messages import Request
from stenogram.sample_site.sites import RENDERERS

LIVE_BASE = {"mid": "https://mid.ru", "mid_archive": "https://archive.mid.ru",
             "globalsecurity": "https://www.globalsecurity.org", "interaffairs": "https://en.interaffairs.ru",
             "mid_domino": "http://archive.mid.ru"}


# ---------------------------------------------------------------- the pages and their truth
@dataclass
class Truth:
    source: str
    key: str
    url: str
    title: str
    date: str
    place: str | None
    language: str
    paragraphs: list[str]
    turns: int


@dataclass
class BasePage:
    truth: Truth
    body: bytes
    content_type: str
    charset: str


def base_pages(size: int = 60, seed: int = 1) -> list[BasePage]:
    """Every transcript copy the sample site serves (seeds, Russian counterparts, `size` fillers),
    rendered by its source's renderer, with the ground truth from the catalog."""
    catalog = build_catalog(size=size, seed=seed)
    renderers = {name: cls(catalog) for name, cls in RENDERERS.items()}
    out = []
    for t in catalog:
        for source, copy in t.copies.items():
            response = renderers[source].handle(Request(source, "GET", copy.path, {}))
            assert response.status == 200, (source, copy.path, response.status)
            ctype = response.header("Content-Type") or "text/html"
            charset = page_charset(response.body, ctype)
            paragraphs = t.text_on(source)
            truth = Truth(source, t.key, LIVE_BASE[source] + copy.path, t.title_on(source), t.date, t.place,
                          t.language, paragraphs, len(split_turns(paragraphs, t.language)))
            out.append(BasePage(truth, response.body, ctype, charset))
    return out


def page_charset(body: bytes, content_type: str | None) -> str:
    """The sample site's pages are UTF-8 or windows-1251: declared in the <meta> or the header,
    or (some Domino-era pages) nowhere, and then only the bytes tell."""
    if b"windows-1251" in body[:800] or "windows-1251" in (content_type or ""):
        return "windows-1251"
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        return "windows-1251"
    return "utf-8"


# ---------------------------------------------------------------- the mutable page
@dataclass
class Page:
    """A parsed page with handles on its parts (found by ground-truth text, so they survive any
    renaming of classes and ids)."""

    truth: Truth
    root: etree._Element
    charset: str
    content_type: str
    url: str
    title_el: etree._Element | None = None
    date_el: etree._Element | None = None
    body_el: etree._Element | None = None
    applied: list[str] = field(default_factory=list)

    @property
    def body_tag(self):
        return self.root.find("body")


def _norm(el) -> str:
    return normalise_for_compare("".join(el.itertext()))


def _outermost_with_text(root, wanted: str, skip=("title", "head", "html", "body")):
    """The outermost element whose whole text is `wanted` (e.g. <p><font><b>title</b></font></p>
    gives the <p>)."""
    for el in root.iter():
        if isinstance(el.tag, str) and el.tag not in skip and _norm(el) == wanted:
            return el
    return None


def _body_container(root, paragraphs: list[str]):
    """The deepest element holding every ground-truth paragraph: the lowest common ancestor
    of the elements whose own text starts the first and the last paragraph."""
    probes = [normalise_for_compare(p)[:40] for p in (paragraphs[0], paragraphs[-1])]
    owners = []
    for probe in probes:
        for el in root.iter():
            if not isinstance(el.tag, str) or el.tag in ("head", "title"):
                continue
            if el.text and normalise_for_compare(el.text).startswith(probe):
                owners.append(el)
                break
            if el.tail and normalise_for_compare(el.tail).startswith(probe):
                owners.append(el.getparent())
                break
        else:
            return None
    first = [owners[0], *owners[0].iterancestors()]
    second = set([owners[1], *owners[1].iterancestors()])
    common = next(el for el in first if el in second)
    # a lone paragraph element is not the container: take its parent
    return common.getparent() if common.tag == "p" and len(paragraphs) > 1 else common


def _date_element(root, truth: Truth):
    from stenogram.extract.chrome import is_date_line
    from stenogram.extract.dates import parse_date

    best = None
    for el in root.iter():
        if not isinstance(el.tag, str) or el.tag in ("head", "title", "html", "body"):
            continue
        text = _norm(el)
        if 6 <= len(text) <= 40 and is_date_line(text) and parse_date(text) == truth.date:
            if best is None or best not in el.iterancestors():
                if best is not None and el in best.iterdescendants():
                    continue
                best = el
    return best


def parse(base: BasePage, rng: random.Random) -> Page:
    text = base.body.decode(base.charset)
    root = lxml.html.document_fromstring(text)
    page = Page(base.truth, root, base.charset, base.content_type, base.truth.url)
    page.title_el = _outermost_with_text(root, normalise_for_compare(base.truth.title))
    page.date_el = _date_element(root, base.truth)
    page.body_el = _body_container(root, base.truth.paragraphs)
    return page


def serialise(page: Page) -> bytes:
    text = etree.tostring(page.root.getroottree(), method="html", encoding="unicode", doctype=
                          page.root.getroottree().docinfo.doctype or "<!DOCTYPE html>")
    return text.encode(page.charset, errors="xmlcharrefreplace")


# ---------------------------------------------------------------- the registry
@dataclass(frozen=True)
class Mutation:
    name: str
    fn: Callable
    stage: str  # "tree" | "text"


MUTATIONS: dict[str, Mutation] = {}


def mutation(name: str, stage: str = "tree"):
    def register(fn):
        MUTATIONS[name] = Mutation(name, fn, stage)
        return fn
    return register


def _E(tag: str, text: str | None = None, **attrs):
    el = lxml.html.Element(tag, {k.rstrip("_").replace("_", "-"): v for k, v in attrs.items()})
    if text is not None:
        el.text = text
    return el


def _wrap(el, wrapper):
    parent = el.getparent()
    parent.replace(el, wrapper)
    wrapper.append(el)  # el keeps its tail: move it onto the wrapper
    wrapper.tail, el.tail = el.tail, None
    return wrapper


def _body_blocks(page: Page) -> list:
    return [c for c in page.body_el if isinstance(c.tag, str)]


def _en(page: Page) -> bool:
    return page.truth.language == "en"


# -- classes and ids
@mutation("rename_classes")
def _rename_classes(page: Page, rng):
    salt = f"{rng.randrange(1 << 20):x}"
    for el in page.root.iter():
        if isinstance(el.tag, str) and el.get("class"):
            el.set("class", " ".join(f"c{salt}-{abs(hash(c)) % 10007}" for c in el.get("class").split()))


@mutation("remove_classes")
def _remove_classes(page: Page, rng):
    for el in page.root.iter():
        if isinstance(el.tag, str) and "class" in el.attrib and rng.random() < 0.8:
            del el.attrib["class"]


@mutation("rename_ids")
def _rename_ids(page: Page, rng):
    ids = [el for el in page.root.iter() if isinstance(el.tag, str) and el.get("id")]
    for el in ids:
        el.set("id", f"block-{rng.randrange(100000)}")
    return bool(ids) or None


@mutation("remove_ids_and_classes")
def _remove_all(page: Page, rng):
    for el in page.root.iter():
        if isinstance(el.tag, str):
            el.attrib.pop("class", None)
            el.attrib.pop("id", None)


@mutation("bem_rename")
def _bem(page: Page, rng):
    """Bitrix-style redesign: block__element renamed to a new block name."""
    new = rng.choice(["news-detail", "article-page", "content-block", "publication"])
    for el in page.root.iter():
        cls = el.get("class") if isinstance(el.tag, str) else None
        if cls:
            el.set("class", re.sub(r"[\w-]+?(__|$)", lambda m: new + m.group(1), cls, count=1))


# -- wrappers and layout
@mutation("wrap_body_divs")
def _wrap_divs(page: Page, rng):
    el = page.body_el
    for _ in range(rng.randint(1, 3)):
        el = _wrap(el, _E("div", class_=rng.choice(["row", "col-md-8", "wrapper", "inner", "content"])))


@mutation("wrap_body_table")
def _wrap_table(page: Page, rng):
    table = _E("table", width="100%", border="0")
    tr = etree.SubElement(table, "tr")
    td = etree.SubElement(tr, "td", valign="top")
    _wrap(page.body_el, table)
    table.remove(page.body_el)
    td.append(page.body_el)


@mutation("wrap_each_paragraph")
def _wrap_each(page: Page, rng):
    blocks = _body_blocks(page)
    if not blocks:
        return False
    for b in blocks:
        _wrap(b, _E("div", class_="paragraph"))


@mutation("unwrap_body")
def _unwrap_body(page: Page, rng):
    """The body's own element disappears: its content joins the parent's."""
    el = page.body_el
    parent = el.getparent()
    if parent is None or parent.tag in ("body", "html"):
        return False
    if el.text and el.text.strip():
        return False  # text directly in it (br-separated): keep the element
    idx = list(parent).index(el)
    children = list(el)
    for child in reversed(children):
        parent.insert(idx, child)
    if children:
        children[-1].tail = (children[-1].tail or "") + (el.tail or "")
    parent.remove(el)
    page.body_el = parent


@mutation("split_body")
def _split_body(page: Page, rng):
    """The body split in two sibling containers (as around an inline ad or photo)."""
    blocks = _body_blocks(page)
    if len(blocks) < 4 or (page.body_el.text or "").strip():
        return False
    cut = rng.randint(1, len(blocks) - 1)
    first, second = _E("div", class_="text-part"), _E("div", class_="text-part")
    for b in blocks[:cut]:
        first.append(b)
    for b in blocks[cut:]:
        second.append(b)
    page.body_el.append(first)
    page.body_el.append(second)


@mutation("semantic_article")
def _semantic(page: Page, rng):
    """HTML5 redesign: <article> around the body, with a <header> holding the title and date."""
    article = _wrap(page.body_el, _E("article", class_="post"))
    if page.title_el is not None and page.title_el not in page.body_el.iterancestors():
        header = _E("header")
        article.insert(0, header)
        _move(page.title_el, header, 0)
        if page.date_el is not None and page.date_el not in page.title_el.iterancestors() \
                and page.body_el not in page.date_el.iterancestors() and page.date_el not in page.body_el.iterancestors():
            _move(page.date_el, header, 1)


@mutation("section_main")
def _section(page: Page, rng):
    _wrap(page.body_el, _E(rng.choice(["section", "main"]), class_="content"))


# -- paragraphs
def _first_run_out(page: Page, first: bool):
    """Take the first (or last) paragraph of the body out as a block of its own."""
    body = page.body_el
    blocks = _body_blocks(page)
    if (body.text or "").strip():  # <br>-separated text: the first run becomes a <div>
        if not first or not len(body) or body[0].tag != "br":
            return None
        run = _E("div", body.text.strip(), class_="lead")
        body.text = None
        while len(body) and body[0].tag == "br" and not (body[0].tail or "").strip():
            body.remove(body[0])
        if len(body) and body[0].tag == "br":
            body.text, body[0].tail = body[0].tail, None
            body.remove(body[0])
        return run
    if len(blocks) < 3:
        return None
    el = blocks[0] if first else blocks[-1]
    if not "".join(el.itertext()).strip() or len(el) > 2 or (el.tail or "").strip():
        return None
    el.tail = None
    body.remove(el)
    return el


@mutation("lead_outside_body")
def _lead_outside(page: Page, rng):
    """The opening paragraph styled as a lead, in a block of its own right before the body."""
    el = _first_run_out(page, True)
    if el is None:
        return False
    el.set("class", rng.choice(["lead", "announce", "intro"]))
    page.body_el.addprevious(el)


@mutation("closing_outside_body")
def _closing_outside(page: Page, rng):
    """The last paragraph in a block of its own right after the body."""
    el = _first_run_out(page, False)
    if el is None:
        return False
    page.body_el.addnext(el)


@mutation("p_to_div")
def _p_to_div(page: Page, rng):
    ps = page.body_el.findall(".//p")
    if not ps:
        return False
    for p in ps:
        p.tag = "div"


@mutation("p_to_br")
def _p_to_br(page: Page, rng):
    """Paragraphs become <br>-separated lines in one block."""
    ps = [p for p in page.body_el if isinstance(p.tag, str) and p.tag == "p" and not len(p)]
    if len(ps) < 2:
        return False
    double = rng.random() < 0.5
    for i, p in enumerate(ps):
        br = _E("br")
        parent = p.getparent()
        idx = list(parent).index(p)
        span = _E("span")
        span.text = p.text
        parent.remove(p)
        parent.insert(idx, span)
        span.tail = p.tail
        if i < len(ps) - 1:
            parent.insert(idx + 1, br)
            br.tail = span.tail
            span.tail = None
            if double:
                br2 = _E("br")
                parent.insert(idx + 2, br2)
                br2.tail, br.tail = br.tail, None


@mutation("br_to_p")
def _br_to_p(page: Page, rng):
    """<br><br>-separated text becomes <p>s."""
    body = page.body_el
    if not (body.text or "").strip() or not body.findall("br") or any(c.tag != "br" for c in body):
        return False
    chunks, current = [], [body.text or ""]
    for child in list(body):
        if child.tag == "br":
            chunks.append("".join(current))
            current = [child.tail or ""]
        body.remove(child)
    chunks.append("".join(current))
    body.text = "\n"
    for chunk in chunks:
        if chunk.strip():
            p = etree.SubElement(body, "p")
            p.text = chunk
            p.tail = "\n"


@mutation("inline_wrappers")
def _inline(page: Page, rng):
    ps = [p for p in page.body_el.iter("p", "div") if p.text and not len(p)]
    if not ps:
        return False
    for p in ps:
        span = _E(rng.choice(["span", "font"]))
        span.text, p.text = p.text, None
        p.append(span)


@mutation("first_paragraph_strong")
def _lead(page: Page, rng):
    """The lead paragraph set in bold (a common redesign touch)."""
    blocks = [b for b in _body_blocks(page) if b.text and not len(b)]
    if not blocks:
        return False
    b = blocks[0]
    strong = _E("strong", b.text)
    b.text = None
    b.append(strong)


# -- the title
def _retitle(page: Page, rng, tag: str, attrs: dict | None = None, nest: tuple[str, ...] = ()):
    el = page.title_el
    if el is None:
        return False
    text = "".join(el.itertext())
    new = _E(tag, **(attrs or {}))
    inner = new
    for t in nest:
        inner = etree.SubElement(inner, t)
    inner.text = text
    new.tail = el.tail
    el.getparent().replace(el, new)
    page.title_el = new
    if tag in INLINE and (new.tail or "").strip():  # an inline heading still ends its line
        br = _E("br")
        br.tail, new.tail = new.tail, None
        new.addnext(br)


INLINE = {"font", "b", "strong", "span", "a", "i", "em"}


@mutation("title_h2")
def _title_h2(page, rng):
    return _retitle(page, rng, "h2", {"class": "news-title"})


@mutation("title_b")
def _title_b(page, rng):
    return _retitle(page, rng, "p", nest=("b",))


@mutation("title_font")
def _title_font(page, rng):
    return _retitle(page, rng, "font", {"size": "+1"}, nest=("b",))


@mutation("title_strong")
def _title_strong(page, rng):
    return _retitle(page, rng, "div", {"class": "heading"}, nest=("strong",))


@mutation("title_nested_h1")
def _title_nested(page, rng):
    return _retitle(page, rng, "div", {"class": "title-wrap"}, nest=("h1", "span"))


@mutation("title_into_body")
def _title_into_body(page: Page, rng):
    """The heading moves inside the article's body container, before the first paragraph."""
    if page.title_el is None or page.body_el in page.title_el.iterancestors():
        return False
    _move(page.title_el, page.body_el, 0)
    el = page.title_el
    if el.tag in INLINE and (el.tail or "").strip():  # an inline heading still ends its line
        br = _E("br")
        br.tail, el.tail = el.tail, None
        el.addnext(br)


def _move(el, new_parent, index: int):
    """Move `el` (without its tail, which stays where it was)."""
    from stenogram.extract.blocks import drop_node

    copy_tail = el.tail
    el.tail = None
    placeholder = _E("span")
    el.addprevious(placeholder)
    placeholder.tail = copy_tail
    el.getparent().remove(el)
    drop_node(placeholder)
    if index == 0 and new_parent.text:
        el.tail, new_parent.text = new_parent.text, None
    new_parent.insert(index, el)


# -- the date line
def _formats(truth: Truth, time: str | None) -> list[str]:
    d = dt.date.fromisoformat(truth.date)
    time = time or ""
    en = [f"{d.day} {MONTHS[d.month - 1]} {d.year}", f"{MONTHS[d.month - 1]} {d.day}, {d.year}",
          f"{d.day:02d}.{d.month:02d}.{d.year}", f"{d.day}-{d.month:02d}-{d.year}"]
    ru = [f"{d.day} {RU_MONTHS_GEN[d.month - 1]} {d.year} года", f"{d.day:02d}.{d.month:02d}.{d.year}",
          f"{d.day} {RU_MONTHS_GEN[d.month - 1]} {d.year}"]
    out = en if truth.language == "en" else ru
    return [f"{x}{sep}{time}" if time else x for x in out for sep in ([", ", " ", ""] if time else [""])]


@mutation("date_format")
def _date_format(page: Page, rng):
    el = page.date_el
    if el is None:
        return False
    had_time = re.search(r"\d{1,2}:\d\d", "".join(el.itertext()))
    text = rng.choice(_formats(page.truth, had_time.group(0) if had_time else None))
    for child in list(el):
        el.remove(child)
    el.text = text


@mutation("date_time_split")
def _date_split(page: Page, rng):
    el = page.date_el
    if el is None:
        return False
    had_time = re.search(r"\d{1,2}:\d\d", "".join(el.itertext()))
    for child in list(el):
        el.remove(child)
    el.text = None
    d = etree.SubElement(el, "span", {"class": "d"})
    d.text = rng.choice(_formats(page.truth, None))
    if had_time:
        t = etree.SubElement(el, "span", {"class": "t"})
        t.text = had_time.group(0)


@mutation("date_into_body")
def _date_into_body(page: Page, rng):
    el = page.date_el
    if el is None or page.body_el in el.iterancestors() or el in page.body_el.iterancestors():
        return False
    _move(el, page.body_el, 0)


# -- sidebars, related articles and chrome moved or inserted
SIDEBAR_EN = ["Editor's Column", "Golden Collection", "MFA Russia News", "All Tags"]
ARCHIVE_MONTHS = ["July 2020 (7)", "June 2020 (27)", "May 2020 (19)", "April 2020 (20)", "March 2020 (23)"]
RELATED = [
    "Speech by the Russian Foreign Minister, Sergey Lavrov, and his answers to questions from the mass media "
    "during the joint press conference with the CSTO Secretary General, Nikolai Bordyuzha, Moscow, 3 April 2014",
    "Introductory speech by Sergey Lavrov, and his answers to questions from the mass media during the press "
    "conference summarising the results of the negotiations with the Armenian Foreign Minister, Edward "
    "Nalbandian, Moscow, 18 November 2013",
    "Speech of and answers to questions by Sergey Lavrov during joint press conference summarizing the results "
    "of negotiations with Deputy Chairman of the Government and Foreign Minister of Slovenia Karl Erjavec, "
    "Ljubljana, 3 May 2013",
]
RELATED_RU = [
    "Выступление и ответы на вопросы СМИ Министра иностранных дел России С.В.Лаврова в ходе совместной "
    "пресс-конференции по итогам переговоров с Министром иностранных дел Казахстана, Москва, 3 апреля 2024 года",
    "Интервью Министра иностранных дел России С.В.Лаврова информационному агентству ТАСС, Москва, 12 мая 2023 года",
]


def _sidebar(page: Page, rng):
    side = _E("div", class_=rng.choice(["sidebar", "col-right", "aside-block", "b-side"]))
    for name in SIDEBAR_EN:
        h = etree.SubElement(etree.SubElement(side, "div"), "h4")
        a = etree.SubElement(h, "a", href="/" + name.lower().replace(" ", "-").replace("'", "") + "/")
        a.text = name
    h = etree.SubElement(side, "h4")
    h.text = "Archive material"
    ul = etree.SubElement(side, "ul")
    for m in ARCHIVE_MONTHS:
        a = etree.SubElement(etree.SubElement(ul, "li"), "a", href="/2020/")
        a.text = m
    return side


def _related(page: Page, rng):
    box = _E("div", class_=rng.choice(["related", "see-also", "more-news", "b-links"]))
    h = etree.SubElement(box, rng.choice(["h3", "div", "b"]))
    h.text = rng.choice(["Related", "See also", "Read also"] if _en(page) else ["Читайте также", "См. также"])
    ul = etree.SubElement(box, "ul")
    titles = RELATED if _en(page) else RELATED_RU
    for t in rng.sample(titles, k=min(len(titles), rng.randint(2, 3))):
        a = etree.SubElement(etree.SubElement(ul, "li"), "a", href=f"/news/{rng.randrange(10**6)}/")
        a.text = t
    return box


def _share(page: Page, rng):
    box = _E("div", class_=rng.choice(["share", "ya-share2", "b-share", "social-buttons"]))
    label = etree.SubElement(box, "span")
    label.text = rng.choice(["Share", "Share:", "Share this:"] if _en(page) else ["Поделиться", "Поделиться:"])
    for net in ("VK", "Telegram", "OK", "Twitter"):
        a = etree.SubElement(box, "a", href=f"https://share.example/{net.lower()}")
        a.text = net
    return box


def _album(page: Page, rng):
    n = rng.randint(1, 12)
    box = _E("div", class_=rng.choice(["gallery", "photo-album", "media-block", "album"]))
    t = etree.SubElement(box, "div")
    t.text = "Дополнительные материалы"
    ul = etree.SubElement(box, "ul")
    etree.SubElement(ul, "li").text = "Фото"
    if rng.random() < 0.5:
        etree.SubElement(ul, "li").text = "Видео"
    etree.SubElement(box, "div").text = "Фотоальбом"
    etree.SubElement(etree.SubElement(box, "div"), "img", src="/upload/photo.jpg", alt="")
    etree.SubElement(box, "div").text = f"{rng.randint(1, n)} из {n} фотографий в альбоме"
    return box


def _languages(page: Page, rng):
    box = _E("div", class_=rng.choice(["lang-switcher", "languages", "locale"]))
    if rng.random() < 0.5:
        for code in ("RU", "EN", "DE", "FR", "ES", "PT"):
            a = etree.SubElement(box, "a", href=f"/{code.lower()}/")
            a.text = code
    else:
        ul = etree.SubElement(box, "ul")
        for c in ("de-DE", "en-GB", "es-ES", "ru-RU", "fr-FR"):
            li = etree.SubElement(ul, "li")
            a = etree.SubElement(li, "a", href="#", lang=c)
            a.text = c
            etree.SubElement(li, "span").text = "1"
    return box


def _print_version(page: Page, rng):
    box = _E("div", class_="tools")
    a = etree.SubElement(box, "a", href="?print=Y", rel="nofollow")
    a.text = "Print version" if _en(page) else "Версия для печати"
    return box


def _views(page: Page, rng):
    box = _E("div", class_=rng.choice(["views", "counter", "stat"]))
    n = f"{rng.randint(100, 99999):,}".replace(",", " ")
    box.text = rng.choice([f"Views: {n}", f"• Views: {n} |"] if _en(page) else [f"Просмотров: {n}"])
    return box


def _donation(page: Page, rng):
    box = _E("div", class_="banner-top")
    b = etree.SubElement(etree.SubElement(box, "a", href="https://u24.gov.ua/"), "b")
    b.text = "UNITED24 - Make a charitable donation in support of Ukraine!"
    return box


def _tags(page: Page, rng):
    box = _E("div", class_="tags-line")
    box.text = "Tags: " if _en(page) else "Теги: "
    for name in (["Sergey Lavrov", "International security"] if _en(page) else ["С.В.Лавров", "Международная безопасность"]):
        a = etree.SubElement(box, "a", href="/tags/")
        a.text = name
        a.tail = " "
    return box


def _ad(page: Page, rng):
    box = _E("div", class_="adv", id="ad-inline")
    etree.SubElement(box, "script", src="/js/ads.js")
    etree.SubElement(box, "div").text = "Advertisement"
    return box


CHROME_BLOCKS = {"sidebar": _sidebar, "related": _related, "share": _share, "album": _album,
                 "languages": _languages, "print": _print_version, "views": _views, "donation": _donation,
                 "tags": _tags, "ad": _ad}


def _insert_block(page: Page, block, where: str, rng) -> bool:
    body = page.body_el
    if where == "before":
        body.addprevious(block)
    elif where == "after":
        body.addnext(block)
    elif where == "start":
        _put_inside(body, block, 0)
    elif where == "end":
        _put_inside(body, block, None)
    else:  # middle: between two paragraphs
        kids = list(body)
        if len(kids) < 3 or (body.text or "").strip():
            return False
        _put_inside(body, block, rng.randint(1, len(kids) - 1))
    return True


def _put_inside(parent, block, index):
    """Insert as a child at `index` (None: append) without splitting a text run: block tail
    stays empty, so a br-separated paragraph is never cut."""
    kids = list(parent)
    if index is None or index >= len(kids):
        if kids and (kids[-1].tail or "").strip():
            br = _E("br")
            parent.append(br)
        parent.append(block)
        return
    if index == 0:
        if (parent.text or "").strip():
            block.tail, parent.text = parent.text, None
        parent.insert(0, block)
        return
    prev = kids[index - 1]
    block.tail, prev.tail = prev.tail, None
    parent.insert(index, block)


def _make_chrome_kind(kind: str, where: str):
    builder = CHROME_BLOCKS[kind]

    def fn(page: Page, rng):
        return _insert_block(page, builder(page, rng), where, rng) or False
    fn.__name__ = f"_{kind}_{where}"
    return fn


for _kind, _places in {"sidebar": ("before", "after", "start", "end"), "related": ("after", "end", "middle"),
                       "share": ("start", "end", "middle"), "album": ("end", "middle", "after"),
                       "languages": ("start", "before"), "print": ("end", "start"), "views": ("end", "start"),
                       "donation": ("start", "before", "middle"), "tags": ("end",), "ad": ("middle", "start")}.items():
    for _where in _places:
        mutation(f"{_kind}_{_where}")(_make_chrome_kind(_kind, _where))


@mutation("bold_speaker_labels")
def _bold_labels(page: Page, rng):
    """Speaker labels set in bold, as mid.ru often prints them: <p><b>Question:</b> ...</p>."""
    label = re.compile(r"^(\s*(?:Question|Вопрос|Sergey Lavrov|С\.В\.Лавров)[^:]{0,40}:)")
    done = 0
    for p in list(page.body_el.iter("p", "div")):
        m = label.match(p.text or "") if not len(p) else None
        if m:
            b = _E(rng.choice(["b", "strong"]), m.group(1))
            b.tail, p.text = p.text[m.end():], None
            p.insert(0, b)
            done += 1
    return bool(done) or False


@mutation("nbsp_indent", stage="text")
def _nbsp(page: Page, rng, html: str) -> str:
    """Paragraphs indented with no-break spaces (&nbsp;&nbsp;&nbsp;Text)."""
    return re.sub(r"(<p[^>]*>)(?=[A-ZА-Я])", r"\1&nbsp;&nbsp;&nbsp;", html)


CAPTIONS = ["Sergey Lavrov and his counterpart during the talks. Photo: MFA Russia",
            "С.В.Лавров в ходе переговоров. Фото: МИД России"]


@mutation("figure_caption")
def _figure(page: Page, rng):
    """A photo with a caption inside the body, between paragraphs."""
    fig = _E("figure", class_=rng.choice(["photo", "image", "wp-caption"]))
    etree.SubElement(fig, "img", src="/upload/iblock/photo.jpg", alt="")
    cap = etree.SubElement(fig, "figcaption")
    cap.text = CAPTIONS[0] if _en(page) else CAPTIONS[1]
    return _insert_block(page, fig, rng.choice(["middle", "start", "end"]), rng) or False


@mutation("breadcrumbs")
def _breadcrumbs(page: Page, rng):
    """A breadcrumb trail above the body (Home / Press service / Minister's speeches)."""
    box = _E("div", class_=rng.choice(["breadcrumbs", "path", "crumbs"]))
    for i, name in enumerate(["Home", "Press service", "Minister's speeches"] if _en(page)
                             else ["Главная", "Пресс-служба", "Выступления Министра"]):
        if i:
            etree.SubElement(box, "span").text = " / "
        a = etree.SubElement(box, "a", href="/" * (i + 1))
        a.text = name
    return _insert_block(page, box, rng.choice(["before", "start"]), rng) or False


@mutation("comments")
def _comments(page: Page, rng):
    for el in list(page.body_el.iter())[:40]:
        if isinstance(el.tag, str) and el is not page.body_el and rng.random() < 0.5:
            el.addprevious(etree.Comment(rng.choice([" /noindex ", " begin article ", " googleoff: all ", "[if IE]"])))
    page.body_el.insert(0, etree.Comment(" BEGIN BODY "))


@mutation("unknown_host")
def _unknown_host(page: Page, rng):
    """The same page served from a mirror nobody wrote a profile for (no URL match)."""
    page.url = re.sub(r"^https://[^/]+", "https://mirror.example.org", page.url)


# -- serialisation-level changes
@mutation("attribute_quoting", stage="text")
def _quoting(page: Page, rng, html: str) -> str:
    style = rng.choice(["single", "bare"])
    if style == "single":
        return re.sub(r'(\s[\w-]+)="([^"\'<>]*)"', r"\1='\2'", html)
    return re.sub(r'(\s[\w-]+)="([\w-]+)"', r"\1=\2", html)


@mutation("tag_case", stage="text")
def _tag_case(page: Page, rng, html: str) -> str:
    return re.sub(r"<(/?)([a-zA-Z][a-zA-Z0-9]*)((?:\s+[\w-]+)?)",
                  lambda m: f"<{m.group(1)}{m.group(2).upper()}{m.group(3).upper()}", html)


@mutation("whitespace", stage="text")
def _whitespace(page: Page, rng, html: str) -> str:
    html = re.sub(r">\s*<", lambda m: ">\n" + " " * rng.randint(0, 8) + "<", html)
    return re.sub(r"(?<=[a-z,]) (?=[a-z])", lambda m: " \n  " if rng.random() < 0.05 else " ", html)


@mutation("entities", stage="text")
def _entities(page: Page, rng, html: str) -> str:
    table = {"’": "&rsquo;", "–": "&#8211;", "—": "&mdash;", "«": "&laquo;", "»": "&#187;", "'": "&#39;"}
    head, sep, rest = html.partition("<body")
    return head + sep + re.sub("[’–—«»']", lambda m: table[m.group(0)], rest) if sep else html


@mutation("xhtml_void", stage="text")
def _xhtml(page: Page, rng, html: str) -> str:
    return re.sub(r"<(br|img|hr|meta|input)([^>]*?)\s*/?>", r"<\1\2 />", html)


# ---------------------------------------------------------------- running
@dataclass
class Mutated:
    truth: Truth
    kinds: list[str]
    body: bytes
    url: str
    content_type: str


def mutate(base: BasePage, kinds: list[str], rng: random.Random) -> Mutated:
    page = parse(base, rng)
    if page.body_el is None:
        raise AssertionError(f"body of {base.truth.url} not found")
    applied = []
    for name in kinds:
        m = MUTATIONS[name]
        if m.stage == "tree" and m.fn(page, rng) is not False:
            applied.append(name)
    html = serialise(page).decode(page.charset)
    for name in kinds:
        m = MUTATIONS[name]
        if m.stage == "text":
            html = m.fn(page, rng, html)
            applied.append(name)
    return Mutated(base.truth, applied, html.encode(page.charset, errors="xmlcharrefreplace"), page.url,
                   base.content_type)


def mutated_pages(count: int, seed: int, size: int = 60) -> list[Mutated]:
    """`count` mutated pages: base pages round-robin, 1-3 kinds each; every kind used."""
    rng = random.Random(seed)
    bases = base_pages(size=size, seed=seed)
    rng.shuffle(bases)
    names = sorted(MUTATIONS)
    out = []
    for i in range(count):
        base = bases[i % len(bases)]
        first = names[i % len(names)]  # every kind gets its turn
        kinds = [first] + rng.sample(names, k=rng.randint(0, 2))
        page = mutate(base, list(dict.fromkeys(kinds)), random.Random(f"{seed}:{i}"))
        while not page.kinds:  # none applied to this page (e.g. no <p> to turn into <br>s)
            page = mutate(base, [rng.choice(names)], random.Random(f"{seed}:{i}:{rng.random()}"))
        out.append(page)
    return out


def unescape(text: str) -> str:
    return htmllib.unescape(text)
