"""Decide whether a page is a transcript, with a reason the corpus can count.

Two kinds of rule, both run by `extract_page`, so a crawl and `stenogram reprocess` of its WARCs
give the same verdict on the same bytes:

* **refusals** that need no parsing (empty, binary, huge, not HTML, CSV/JSON renamed .html) or
  that recognise a known non-transcript (anti-bot interstitial, error page, directory index);
* **positive evidence**: length alone never makes a transcript. A page is accepted only with at
  least one of: the body came from a profile's container (the source's own article template) and
  the ministry is named in the title or the body's first 5,000 characters;
  speaker labels ("Question:", "С.В.Лавров:"; two labelled turns, or one question); a title in
  the ministry's patterns (a kind of text — remarks, interview, briefing, выступление… — and an
  official of the ministry); a transcript marker ("Unofficial translation", "Стенограмма").

Caps: a title longer than MAX_TITLE_CHARS is cut at a word boundary (ending in "…"); a body longer
than MAX_TEXT_CHARS is refused ("text too long"): the longest real transcript is far below it
and the page stays in the WARC.
"""
from __future__ import annotations

import re

from stenogram.extract.interstitial import has_marker, interstitial_reason
from stenogram.extract.turns import speaker_id, split_label

MAX_INPUT_BYTES = 30 * 1024 * 1024
MAX_TITLE_CHARS = 1000
MAX_TEXT_CHARS = 5_000_000
MIN_BODY_CHARS = 200

# Error pages: a phrase, not a bare number ("Resolution 2404", "500 days of talks").
_ERROR_PHRASE = re.compile(
    r"\b(?:40[034]|50[0234])\b\s*[-–—:]?\s*(?:error|not found|forbidden|unavailable|ошибка)|"
    r"\b(?:error|ошибка|http)\s*[-–—:]?\s*(?:40[034]|50[0234])\b|"
    r"\bnot found\b|page not found|page (?:does not|doesn't) exist|\bforbidden\b|access denied|"
    r"service unavailable|internal server error|bad gateway|"
    r"страница не найдена|страница не существует|доступ запрещ|сервис недоступен|"
    r"внутренняя ошибка сервера", re.I)
_ERROR_BODY_MAX = 1500

# Directory listings written by web servers (Apache, nginx, IIS, Python's http.server).
_INDEX_TITLE = re.compile(r"^\s*(?:Index of|Directory listing for|Listing of)\s+/", re.I)
_INDEX_LINE = re.compile(r"^\s*(?:Parent Directory|\.\./?|\[To Parent Directory\])\s*$", re.I)

# Markup that any real HTML page has near its top (a CSV or log renamed .html has none).
_HTML_TAG = re.compile(
    r"<(?:!doctype\s+html|html|head|body|title|meta|div|p|table|span|a|br|h[1-6]|article|section|"
    r"font|center|ul|li|td|link|script|style|form|img)\b", re.I)

# The ministry's titles (docs/SITES.md, the seed pages): a kind of text first, or an official first and a
# kind of text after ("Foreign Minister Sergey Lavrov’s remarks and answers…", "Speech by Sergey
# Lavrov…", "Выступление и ответы на вопросы СМИ Министра…", "Брифинг официального представителя…").
# News headlines about the minister ("Russia's Lavrov says…", "Лавров заявил…") are neither.
_KIND = (r"(?:opening |closing |introductory |joint )?(?:remarks|speech|statement|interview|article|"
         r"address|message|greetings?|comments?|briefing|answers?|replies|reply|response|lecture|"
         r"transcript|press release|foreword|op-ed)")
_KIND_FIRST = re.compile(
    rf"^\W*(?:{_KIND}\b|(?:Выступление|Интервью|Статья|Заявление|Комментарий|Ответы?|Брифинг|"
    r"Послание|Приветствие|Вступительное слово|Заключительное слово|Стенограмма|Речь|Лекция|"
    r"Беседа|Сообщение для СМИ|Пресс-релиз)(?![а-яё]))", re.I)
_OFFICIAL_FIRST = re.compile(
    r"^\W*(?:Russian )?(?:(?:First )?Deputy )?(?:Foreign Minister|Minister of Foreign Affairs|"
    r"Foreign Ministry(?: Spokes\w+| Official Spokes\w+)?|(?:Official )?Spokes(?:wo)?man|"
    r"Spokesperson|(?:Министр|Заместитель Министра|Официальный представитель)\w* иностранных дел"
    r"|Официальный представитель)\b")
_KIND_ANYWHERE = re.compile(rf"\b{_KIND}\b|\bmakes? remarks\b|\banswers? (?:to )?(?:media )?questions\b", re.I)
_OFFICIAL = re.compile(
    r"\bLavrov\b|Лавров|\bMinister\b|Foreign Ministry|Ministry of Foreign Affairs|Spokes(?:wo)?man|"
    r"Spokesperson|Zakharova|Министр|МИД|Министерств\w* иностранных дел|"
    r"официальн\w+ представител\w+|Захаров")
# The ministry named: what makes a profile's article page (a mirror carries other sources too,
# e.g. Kremlin readouts on globalsecurity) one of the ministry's texts.
_MINISTRY = re.compile(
    r"\bLavrov\b|Лавров|Foreign Minist|Ministry of Foreign Affairs|Minister of Foreign Affairs|"
    r"\bMFA\b|Spokes(?:wo)?man|Zakharova|МИД\b|Министр\w* иностранных дел|"
    r"Министерств\w* иностранных дел|Захаров")
_MINISTRY_WINDOW = 5000  # characters of the body searched for the ministry's name
_MARKER = re.compile(
    r"^\s*(?:Unofficial translation|Неофициальный перевод|Стенограмма|Transcript)\b|"
    r"\b(?:unofficial translation from Russian|неофициальный перевод)\b", re.I)
_MARKER_WINDOW = 3  # paragraphs at each end of the body where a marker counts


def refuse_raw(body: bytes | str, content_type: str | None = None) -> str | None:
    """Reason to refuse raw input, or None. UTF-16/32 (BOM or declared) is text, not binary."""
    if body is None or len(body) == 0 or not (body.strip() if isinstance(body, (bytes, str)) else body):
        return "empty input"
    if len(body) > MAX_INPUT_BYTES:
        return "input too large"
    head = body[:4096]
    wide = isinstance(head, bytes) and (
        head.startswith((b"\xff\xfe", b"\xfe\xff")) or "utf-16" in (content_type or "").lower()
        or "utf-32" in (content_type or "").lower())
    if wide:
        return None
    if isinstance(head, bytes):
        controls = len(head) - len(head.translate(None, _CONTROL_BYTES))
        if b"\x00" in head or controls > len(head) * 0.05:
            return "binary input"
    else:
        controls = len(head) - len(head.translate(_CONTROL_CHARS))
        if "\x00" in head or controls > len(head) * 0.05:
            return "binary input"
    return interstitial_reason(body, content_type) and "anti-bot interstitial"


# C0 controls other than \t \n \v \f \r (0-8, 14-31): counted by deleting them (C speed).
_CONTROL_BYTES = bytes(b for b in range(32) if b < 9 or 13 < b)
_CONTROL_CHARS = {b: None for b in _CONTROL_BYTES}


def refuse_decoded(text: str) -> str | None:
    """Text that is not an HTML document: no markup, or JSON / CSV wearing an .html name."""
    head = text[:65536]
    stripped = head.lstrip("\ufeff \t\r\n")
    if stripped[:1] in ("{", "["):  # no HTML document opens with a brace or a bracket
        return "not HTML: JSON"
    if "<" not in head or not _HTML_TAG.search(head):
        return "not HTML"
    return None


def is_interstitial(html: str, body_chars: int, body_lines: list[str] | tuple = ()) -> bool:
    """A short page whose main content IS the challenge: an interstitial marker, a short body,
    and either the marker inside the body as read (`body_lines`, before the chrome-line filter
    drops "Please enable JavaScript" lines) or (nearly) no body at all. Real articles carry a
    <noscript> "enable JavaScript" (a Disqus comment box), a TSPD script or a challenge line in
    a footer too, so a marker somewhere on the page is not enough. Cheapest test first: most
    pages stop at the body's size."""
    if body_chars >= _INTERSTITIAL_BODY_MAX or not has_marker(html):
        return False
    return body_chars < MIN_BODY_CHARS or any(has_marker(line) for line in body_lines)


_INTERSTITIAL_BODY_MAX = 1000


def looks_like_error(title: str | None, body_chars: int, evidence: list[str] | tuple = ()) -> bool:
    """An error page: an error *phrase* in the title ("404 Not Found", "Страница не найдена";
    a bare number is not enough), a short body, and no evidence of a transcript."""
    return (body_chars < _ERROR_BODY_MAX and not evidence and bool(title)
            and bool(_ERROR_PHRASE.search(title)))


def is_directory_index(title: str | None, paragraphs: list[str]) -> bool:
    """A web server's directory listing ("Index of /wmd/library/news/russia/2021"): its title,
    or a parent-directory link among the first lines (no transcript opens with "../")."""
    if title and _INDEX_TITLE.match(title):
        return True
    return any(_INDEX_TITLE.match(p) or _INDEX_LINE.match(p) for p in paragraphs[:5])


def cap_title(title: str | None) -> str | None:
    """A title longer than MAX_TITLE_CHARS is cut at the last space before the cap, plus "…"."""
    if title is None or len(title) <= MAX_TITLE_CHARS:
        return title
    cut = title[:MAX_TITLE_CHARS]
    space = cut.rfind(" ")
    return (cut[:space] if space > MAX_TITLE_CHARS // 2 else cut).rstrip() + "…"


def speaker_evidence(paragraphs: list[str]) -> bool:
    """A dialogue's shape: a question label, or a speaker who speaks again after another
    (A: … B: … A: …). Two different labels once each are not enough: a recipe's or a
    glossary's "Peanut Butter: …", "Jelly: …" lines look like labels too."""
    spoken: set[str] = set()
    previous = None
    for p in paragraphs:
        label, _ = split_label(p)
        if label is None:
            continue
        sid = speaker_id(label)
        if sid == "question":
            return True
        if sid in spoken and sid != previous:
            return True
        spoken.add(sid)
        previous = sid
    return False


def title_evidence(title: str | None) -> bool:
    """A title in the ministry's patterns: it opens with a kind of text, or with an official's
    post followed by a kind of text, and names an official of the ministry."""
    if not title or not _OFFICIAL.search(title):
        return False
    return bool(_KIND_FIRST.match(title)) or (
        bool(_OFFICIAL_FIRST.match(title)) and bool(_KIND_ANYWHERE.search(title)))


def _names_ministry(title: str | None, paragraphs: list[str]) -> bool:
    head, size = [title or ""], 0
    for p in paragraphs:
        head.append(p)
        size += len(p)
        if size > _MINISTRY_WINDOW:
            break
    return bool(_MINISTRY.search("\n".join(head)))


# Every _MARKER match contains one of these (casefolded); "İ" and "ı" match "i" under re.I but
# casefold otherwise, so a line with them skips the pre-check.
_MARKER_WORDS = ("unofficial translation", "неофициальный перевод", "стенограмма", "transcript")


def _may_have_marker(line: str) -> bool:
    """A cheap pre-check (a C-level casefold and substring tests) that never says no to a line
    _MARKER would match: the case-insensitive regex is slow on every line."""
    if "\u0130" in line or "\u0131" in line:
        return True
    folded = line.casefold()
    return any(w in folded for w in _MARKER_WORDS)


def marker_evidence(title: str | None, paragraphs: list[str]) -> bool:
    edges = paragraphs[:_MARKER_WINDOW] + paragraphs[-_MARKER_WINDOW:]
    return any(_may_have_marker(p[:300]) and _MARKER.search(p[:300]) for p in (title or "", *edges))


def transcript_evidence(title: str | None, paragraphs: list[str], profile_body: bool) -> list[str]:
    """The kinds of positive evidence that the page is a transcript (empty: none)."""
    found = []
    if profile_body and _names_ministry(title, paragraphs):
        found.append("profile")
    if speaker_evidence(paragraphs):
        found.append("speakers")
    if title_evidence(title):
        found.append("title")
    if marker_evidence(title, paragraphs):
        found.append("marker")
    return found


def refuse_before_extraction(*, title: str | None, listing: bool) -> str | None:
    """The verdicts the parsed tree alone decides, before the body is read (trafilatura cost a
    listing page 9 ms and a directory index 5 ms for a verdict its markup already gave; issue
    26): a listing's markup, a web server's directory-index title. Same reasons and the same
    order as `refuse_extracted`, which checks them first too, so the verdict is unchanged.
    (An interstitial needs the body's size and the transcript evidence: decided after.)"""
    if listing:
        return "listing page"
    if title and _INDEX_TITLE.match(title):
        return "directory index"
    return None


def refuse_extracted(*, html: str, title: str | None, paragraphs: list[str], text: str,
                     listing: bool, profile_body: bool, require_evidence: bool = True,
                     body_lines: list[str] | tuple = ()) -> str | None:
    """The verdict on an extracted page: a refusal reason, or None for a transcript.

    `profile_body`: the body came from a (non-generic) profile's container;
    `body_lines`: the body as read, before the chrome-line filter (see is_interstitial).
    `require_evidence=False` skips only the positive-evidence rule (to measure the text
    extractor itself on pages that are not transcripts, as bench/bench_generic.py does)."""
    if listing:
        return "listing page"
    if is_directory_index(title, paragraphs):
        return "directory index"
    evidence = transcript_evidence(title, paragraphs, profile_body)
    if is_interstitial(html, len(text), body_lines) and not evidence:  # a short statement may embed TSPD
        return "anti-bot interstitial"
    if looks_like_error(title, len(text), evidence):
        return "error page"
    if len(text) < MIN_BODY_CHARS:
        return "no body text"
    if len(text) > MAX_TEXT_CHARS:
        return f"text too long ({len(text):,} characters > {MAX_TEXT_CHARS:,})"
    if require_evidence and not evidence:
        return "no transcript evidence"
    return None
