"""What a transcript's title tells: place, event date, kind of text, participants.

Titles on mid.ru and its mirrors end in "…, Place, Month D, YYYY" (EN) or
"…, Место, D месяца YYYY года" (RU); they name the kind of text ("remarks and answers to
media questions", "interview", "briefing") and the other people on the podium.
"""
from __future__ import annotations

import functools
import re

from stenogram.extract.dates import find_date

# ", Minsk, April 12, 2024" / ", Москва, 12 апреля 2024 года" / ", Moscow, 3 April 2014"
_PLACE_DATE_TAIL = re.compile(
    r",\s*(?P<place>[^,]{2,60}?),\s*(?P<date>(?:[A-Za-z]{3,9}\.?\s+\d{1,2},?\s+\d{4})"
    r"|(?:\d{1,2}\s+[A-Za-zА-Яа-яЁё]{3,9}\s+\d{4}(?:\s+(?:года|г\.))?))\s*\.?\s*$"
)
_SITE_SUFFIXES = re.compile(
    r"\s*(?:[|»—–-]\s*)(?:The Ministry of Foreign Affairs of the Russian Federation|"
    r"Министерство иностранных дел Российской Федерации|International Affairs|"
    r"GlobalSecurity\.org|Международная жизнь)\s*$",
    re.I,
)


def strip_site_suffix(title: str) -> str:
    """Drop a site name appended to <title> ("… | The Ministry of Foreign Affairs …")."""
    previous = None
    while previous != title:
        previous, title = title, _SITE_SUFFIXES.sub("", title).strip()
    return title


# What sites put between the article's title and their own name in <title> / og:title:
# " | ", " » ", " – ", " — ", " - ", " :: " (spaces on both sides: "Нур-Султан" is one word).
_TITLE_SEPARATOR = re.compile(r"\s+(?:[|»«/—–-]|::)\s+")


def _comparable(text: str) -> str:
    return " ".join(text.replace("\u00a0", " ").split()).casefold()


def _ends(head: str) -> dict[str, int]:
    """Comparable forms of `head` whole and of each end of it cut at a separator -> the length
    of the rest (the other end, without the separator; 0 for the whole)."""
    head = " ".join(head.split())
    cuts = [0] + [p for m in _TITLE_SEPARATOR.finditer(head) for p in (m.start(), m.end())] + [len(head)]
    starts, ends = cuts[0::2], cuts[1::2]  # segment i is head[starts[i]:ends[i]]
    rests = {_comparable(head): 0}
    for i, end in enumerate(ends[:-1]):  # head[:end] leaves head[starts[i + 1]:]
        rests.setdefault(_comparable(head[:end]), len(head) - starts[i + 1])
    for i, start in enumerate(starts[1:], 1):  # head[start:] leaves head[:ends[i - 1]]
        rests.setdefault(_comparable(head[start:]), ends[i - 1])
    return {k: v for k, v in rests.items() if k}


def title_from_head(head: str | None, headings: list[str]) -> str | None:
    """The article's title: the longest of `headings` (the page's h1-h3 texts) that is the
    page's <title>/og:title `head` whole, or one end of it cut at a site-name separator
    ("Title » Site name", "Site name | Title") that is longer than the rest; None when none is.

    A title is what the page shows as a heading *and* names itself with in <title>: that
    finds it whatever the level of its heading (DLE's h3.btl, Joomla's h2, Bitrix's h3) and
    beside a site-name h1, and drops the site name whatever the site calls itself. An end
    shorter than the rest is not taken (in "Lavrov - Interview with TASS" a sidebar heading
    "Lavrov" is not the title): a site name longer than the title is left to the caller."""
    if not head or not headings:
        return None
    rests = _ends(head)
    matches = [h for h in headings  # lengths as written: casefolding may lengthen a word
               if h and _comparable(h) in rests and len(" ".join(h.split())) > rests[_comparable(h)]]
    return max(matches, key=len) if matches else None


def _is_an_end_of(head: str, text: str) -> bool:
    return bool(text) and _comparable(text) in _ends(head)


def page_title(root, profile_title: str = "") -> str | None:
    """The page's title. `profile_title`: the text of the profile's title element, if any.

    The heading that <title> or og:title names (title_from_head) is the title when the
    profile names none, or when the profile's element is itself only the site-name end of
    <title> (a site-name h1 picked by a profile whose fingerprint matched a page of another
    site). Else the profile's element; else og:title, the first h1, <title> (the caller strips
    a known site suffix)."""
    from stenogram.extract.dates import in_comment_block
    from stenogram.extract.text import clean_paragraph

    og = root.xpath("//meta[@property='og:title']/@content")
    og_text = clean_paragraph(og[0]) if og else ""
    title_el = root.find(".//title")
    title_text = clean_paragraph("".join(title_el.itertext())) if title_el is not None else ""
    headings = [clean_paragraph("".join(h.itertext())) for h in root.iter("h1", "h2", "h3")
                if not in_comment_block(h)]
    for head in (og_text, title_text):
        named = title_from_head(head, headings)
        if named and (not profile_title or (len(named) > len(profile_title)
                                            and _is_an_end_of(head, profile_title))):
            return named
    if profile_title:
        return profile_title
    h1 = root.find(".//h1")
    return og_text or (clean_paragraph("".join(h1.itertext())) if h1 is not None else "") or title_text or None


def split_place_date(title: str | None) -> tuple[str | None, str | None]:
    """(place, ISO date) from a title's "…, Place, Date" tail, or (None, None)."""
    if not title:
        return None, None
    m = _PLACE_DATE_TAIL.search(title.strip())
    if not m:
        return None, None
    date, _ = find_date(m["date"])
    if not date:
        return None, None
    place = m["place"].strip()
    if not place or not place[0].isupper():
        return None, date
    return place, date


_KINDS = [  # first match wins; order goes from the most to the least specific
    ("remarks_and_answers", r"answers?\b|questions|reply to|ответы? на вопрос|вопросы"),
    ("interview", r"interview|интервью"),
    ("briefing", r"briefing|брифинг"),
    ("article", r"\barticle\b|статья"),
    ("speech", r"speech|address|remarks|opening|выступлени|речь|слово"),
    ("statement", r"statement|заявлени|комментари|comment"),
    ("message", r"message|greeting|послани|приветстви"),
]


def kind_from_title(title: str | None) -> str | None:
    if not title:
        return None
    low = title.lower()
    for kind, pattern in _KINDS:
        if re.search(pattern, low):
            return kind
    return "other"


# Words that are capitalised in titles but are not personal names.
_NOT_NAME = {
    "foreign", "minister", "ministers", "ministry", "affairs", "deputy", "prime", "president",
    "secretary", "secretary-general", "general", "republic", "federation", "council", "state",
    "kingdom", "united", "nations", "union", "security", "cis", "csto", "sco", "eaeu", "un",
    "brics", "osce", "nato", "eu", "mr", "mrs", "ms", "dr", "his", "her", "excellency",
    "russian", "russia", "joint", "news", "conference", "talks", "meeting", "commonwealth",
    "independent", "states", "economic", "forum", "international", "national", "organisation",
    "organization", "high", "representative", "special", "envoy", "chairman", "chair", "head",
    "executive", "committee", "the", "of", "and", "with", "at", "in", "on", "for", "following",
    "federal", "assembly", "government", "parliament", "kyrgyz", "kazakh", "arab", "islamic",
    "people's", "democratic", "media", "press", "socialist", "bolivarian", "plurinational",
    "sultanate", "emirates", "principality", "grand", "duchy", "commission", "agency", "director",
    "ambassador", "spokesperson", "spokeswoman", "spokesman", "official", "first", "sheikh",
    "his", "royal", "highness", "speech", "statement", "remarks", "interview", "article",
    "answers", "questions", "opening", "address", "message", "greetings", "comment", "briefing",
    "people", "lao", "holy", "see", "cardinal", "pope", "holiness", "king", "queen", "prince",
    "emir", "crown", "sultan", "majesty",
    # media outlets named in interview titles (not people)
    "rossiya", "segodnya", "tass", "ria", "novosti", "sputnik", "kommersant", "izvestia", "channel",
    "one", "zvezda", "ntv", "rt", "argumenty", "fakty", "komsomolskaya", "pravda", "gazeta",
    "rossiyskaya", "radio", "television", "tv", "newspaper", "magazine", "agency", "daily",
}
# Particles inside Arabic, Dutch, Portuguese... names ("Mohammed bin Abdulrahman Al Thani")
_EN_PARTICLES = {"bin", "bint", "ibn", "al", "el", "de", "da", "das", "dos", "di", "du", "van", "von",
                 "der", "den", "la", "le", "ben", "abu", "ould"}
_RU_PARTICLES = {"аль", "ибн", "бин", "бен", "ди", "де", "да", "дос", "ван", "фон", "эль", "абу"}
_EN_CAPITALISED = re.compile(r"^(?:[A-ZÀ-ÖØ-Þ][\w’'\-]*|[A-Z]\.)$")
_RU_INITIALS = re.compile(r"^((?:[А-ЯЁ]\.){1,2})([А-ЯЁ].*)$")
_RU_CAPITALISED = re.compile(r"^[А-ЯЁ][\w\-]*$|^(?:[А-ЯЁ]\.){1,2}[А-ЯЁ][\w\-]*$")
_RU_SPACED_INITIAL = re.compile(r"(?<![\w.])([А-ЯЁ])\.\s+(?=[А-ЯЁ])")
_POSSESSIVE = re.compile(r"[’']s$")
# Lemmas of Russian role and state words that precede a name in a title ("Министром
# иностранных дел Республики Армения А.Мирзояном"): stripped from the front of a name run.
_RU_ROLES = {"министр", "секретарь", "председатель", "президент", "глава", "премьер-министр",
             "заместитель", "представитель", "генсек", "посол", "директор", "руководитель", "спикер",
             "советник", "помощник", "член", "верховный", "специальный", "официальный", "вице-премьер"}
_RU_STATE_WORDS = {"республика", "королевство", "государство", "союз", "федерация", "княжество",
                   "эмират", "султанат", "содружество", "организация", "совет", "комиссия",
                   "министерство", "мид", "правительство", "парламент", "ассамблея", "штат"}
_CHUNKS = re.compile(r"[,;:()«»“”\"]|\s[–—-]\s|\band\b|\bи\b")


@functools.cache
def _morph():
    """pymorphy3 with its Russian dictionary: loaded once, on the first Russian title (~0.08 s).
    The dictionary's path is given (the package that pymorphy3 would find by scanning every
    installed distribution's entry points, ~0.05 s), unless PYMORPHY2_DICT_PATH chooses one."""
    import os

    import pymorphy3

    if pymorphy3.MorphAnalyzer.DICT_PATH_ENV_VARIABLE in os.environ:
        return pymorphy3.MorphAnalyzer()
    import pymorphy3_dicts_ru

    return pymorphy3.MorphAnalyzer(path=pymorphy3_dicts_ru.get_path())


def _country_words() -> frozenset[str]:
    """Lowercased words of every country's English and Russian name (CLDR, via Babel):
    "Qatar", "Saudi", "Arabia", "Армения"... A name run loses its leading country words.
    Shipped as extract/country_words.py (loading Babel's locale data costs ~0.1 s at start-up);
    tests/test_extract_helpers.py checks it equals country_words_from_babel()."""
    from stenogram.extract.country_words import COUNTRY_WORDS

    return COUNTRY_WORDS


def country_words_from_babel() -> frozenset[str]:
    """What extract/country_words.py holds, computed from Babel (regenerate it with
    `python -c "from extract.titles import write_country_words; write_country_words()"`)."""
    from babel import Locale

    words: set[str] = set()
    for lang in ("en", "ru"):
        for code, name in Locale(lang).territories.items():
            if code.isalpha():  # countries, not regions ("001", "419")
                words.update(w for w in re.split(r"[\s()\-,.]+", name.lower()) if len(w) > 1)
    return frozenset(words - {"and", "of", "the", "и"})


def write_country_words() -> None:
    from pathlib import Path

    words = sorted(country_words_from_babel())
    lines = ['"""Words of every country\'s English and Russian name, lowercased (CLDR via Babel).',
             "Generated by extract.titles.write_country_words(); tests check it against Babel.\"\"\"",
             "COUNTRY_WORDS = frozenset({"]
    lines += [f"    {w!r}," for w in words]
    lines.append("})")
    (Path(__file__).parent / "country_words.py").write_text("\n".join(lines) + "\n", encoding="utf-8")


def _en_names(chunk: str, minister: str) -> list[str]:
    """Capitalised runs (with name particles inside) minus leading role and country words."""
    found = []
    tokens = chunk.split()
    run: list[str] = []
    for i, token in enumerate(tokens + [""]):
        bare = _POSSESSIVE.sub("", token)
        nxt = tokens[i + 1] if i + 1 < len(tokens) else ""
        particle = bare.lower() in _EN_PARTICLES and run and _EN_CAPITALISED.match(nxt)
        if bare and (particle or _EN_CAPITALISED.match(bare)):
            run.append(bare)
            if bare == token:
                continue
        name = _en_name(run, minister)
        if name:
            found.append(name)
        run = []
    return found


def _en_name(run: list[str], minister: str) -> str | None:
    countries = _country_words()
    start = 0
    while start < len(run) and (run[start].lower() in _NOT_NAME or run[start].lower() in countries
                                or run[start].lower() in _EN_PARTICLES):
        start += 1
    words = run[start:]
    if len(words) < 2 or any(w.lower() in _NOT_NAME for w in words):
        return None
    if minister.lower() in words[-1].lower():
        return None
    return " ".join(words)


def _case_of(word: str, parse=None) -> str | None:
    """Grammatical case of a role noun ("Министром" -> ablt, "секретаря" -> gent).
    `parse`: pymorphy3's parse (or a memo of it, see participants_from_title)."""
    for p in (parse or _morph().parse)(word.lower()):
        if "NOUN" in p.tag and p.tag.case:
            return p.tag.case
    return None


def _restore_case(original: str, lemma: str) -> str:
    return "-".join(part[:1].upper() + part[1:] for part in lemma.split("-")) if original[:1].isupper() else lemma


def _nominative(word: str, case: str | None, parse=None) -> str:
    """`word` (a surname or given name in `case`) in the nominative, keeping its gender:
    "Мирзояном" -> "Мирзоян", "Лебедева" (gent) -> "Лебедев", "Захаровой" -> "Захарова".
    Indeclinable foreign names ("Шукри", "Пандор") come back unchanged."""
    if word.lower() in _RU_PARTICLES:
        return word
    parses = [p for p in (parse or _morph().parse)(word.lower())
              if "NOUN" in p.tag and (case is None or p.tag.case == case)]
    parses.sort(key=lambda p: (not ({"Surn", "Name", "Patr"} & p.tag.grammemes), "anim" not in p.tag, -p.score))
    for parse in parses:
        if parse.tag.case == "nomn":
            return word
        form = parse.inflect({"nomn", "sing"} if parse.tag.number == "sing" else {"nomn"})
        if form is not None:
            return _restore_case(word, form.word)
    if case == "ablt":  # a name the dictionary does not decline: the instrumental's endings
        for ending, nominative in (("ой", "а"), ("ей", "я"), ("ом", "")):
            if word.endswith(ending) and len(word) > len(ending) + 2:
                return word[: -len(ending)] + nominative
    return word


def _ru_names(chunk: str, parse=None) -> list[str]:
    """Names in a Russian chunk: runs of capitalised words (initials glued: "С.Н.Лебедева") after
    stripping role, state and country words; a run without initials needs two words and a role
    word before it in the chunk ("Министром иностранных дел КНР Ван И"). Put in the nominative,
    in the case the role word governs."""
    parse = parse or _morph().parse
    countries = _country_words()
    found = []
    tokens = chunk.split()
    run: list[str] = []
    role_case: str | None = None
    seen_role = False

    def lemmas(token: str) -> set[str]:
        return {p.normal_form for p in parse(token.lower())}

    def strippable(token: str) -> bool:
        if _RU_INITIALS.match(token):
            return False
        if token.isupper() and len(token) > 1:  # КНР, СНГ, СМИ, ОАЭ
            return True
        parses = parse(token.lower())
        if parses and "ADJF" in parses[0].tag:
            return True
        words = {p.normal_form for p in parses}
        return bool(words & (_RU_ROLES | _RU_STATE_WORDS | countries)) or token.lower() in countries

    def close() -> None:
        nonlocal seen_role, role_case
        start = 0
        while start < len(run) and strippable(run[start]):
            if lemmas(run[start]) & _RU_ROLES:  # a capitalised role: "Министром", "Генерального секретаря"
                seen_role, role_case = True, _case_of(run[start], parse) or role_case
            start += 1
        words = run[start:]
        if not words:
            return
        if not _RU_INITIALS.match(words[0]) and (len(words) < 2 or not seen_role):
            return
        if any("Лавров" in w for w in words):
            return
        out = []
        for w in words:
            m = _RU_INITIALS.match(w)
            initials, body = (m.group(1), m.group(2)) if m else ("", w)
            out.append(initials + _nominative(body, role_case, parse))
        found.append(" ".join(out))

    for i, token in enumerate(tokens + [""]):
        nxt = tokens[i + 1] if i + 1 < len(tokens) else ""
        particle = token in _RU_PARTICLES and run and _RU_CAPITALISED.match(nxt)  # "бин" in a name
        if token and (particle or _RU_CAPITALISED.match(token)):
            run.append(token)
            continue
        if run:
            close()
            run = []
        if token and lemmas(token) & _RU_ROLES:
            seen_role, role_case = True, _case_of(token, parse)
    return found


def participants_from_title(title: str | None, minister: str = "Lavrov") -> list[str]:
    """People named in the title other than the minister, whole ("Mohammed bin Abdulrahman Al
    Thani", not "Al Thani") and, in Russian, in the nominative ("А.Мирзоян", not "А.Мирзояном")."""
    if not title:
        return []
    m = _PLACE_DATE_TAIL.search(title)
    head = title[: m.start()] if m else title
    cyrillic = bool(re.search(r"[А-ЯЁа-яё]", head))
    if cyrillic:
        head = _RU_SPACED_INITIAL.sub(r"\1.", head)
    found: list[str] = []
    memo: dict = {}

    def parse(word: str):  # one title asks about the same words several times (lemma, case, form)
        parses = memo.get(word)
        if parses is None:
            parses = memo[word] = _morph().parse(word)
        return parses

    for chunk in _CHUNKS.split(head):
        if not chunk or not chunk.strip():
            continue
        names = _ru_names(chunk, parse) if cyrillic else _en_names(chunk, minister)
        for name in names:
            if name not in found:
                found.append(name)
    return found
