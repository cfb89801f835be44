"""Bytes -> str the way a browser would, then checked: a declared charset can be wrong.

Order: BOM, HTTP header charset, <meta>, then detection. Older platforms (DLE mirrors) serve
windows-1251 with the charset only in a <meta> tag, or none at all; and a declaration is often
wrong: cp1251 bytes labelled utf-8 (by a proxy or a CMS default), UTF-8 labelled windows-1251,
KOI8-R and cp1251 confused. Decoding those as declared gives mojibake ("Р’С‹…", "\ufffd",
"цЕПЦЕИ"), which would otherwise be accepted as a transcript. The checks:

* declared UTF-8 that is not valid UTF-8 (more than a stray broken byte) -> a Cyrillic single-byte
  charset is detected instead;
* a declared single-byte charset whose bytes are valid UTF-8 with multi-byte sequences -> UTF-8
  (cp1251 or KOI8-R text is practically never valid UTF-8); a declared legacy multi-byte one
  (GB2312, Shift_JIS, EUC-KR...) likewise when it cannot decode the bytes itself (a Chinese
  news page served as UTF-8 under a stale `charset=gb2312` meta read as mojibake; GBK pairs
  such as "一" = D2 BB are valid UTF-8 too, so validity alone does not decide there);
* cp1251 vs KOI8-R: the two put upper and lower case in swapped halves, so the wrong one turns
  Russian prose into mostly capital letters; the candidate with the larger share of lower-case
  Cyrillic letters (and no box-drawing or C1 control characters) wins.

Decoding never raises: undecodable bytes are replaced, and the caller learns which charset was
used.
"""
from __future__ import annotations

import codecs
import re

_HEADER_CHARSET = re.compile(r"charset\s*=\s*[\"']?([\w\-:.]+)", re.I)
_META_CHARSET = re.compile(
    rb"<meta[^>]+charset\s*=\s*[\"']?\s*([\w\-:.]+)", re.I
)
# Single-byte charsets that Russian pages declare (rightly or not), in codecs' names.
_CYRILLIC_SINGLE_BYTE = tuple(codecs.lookup(c).name for c in ("cp1251", "koi8_r"))
_SINGLE_BYTE = frozenset(codecs.lookup(c).name for c in (
    "cp1251", "koi8_r", "koi8_u", "iso8859_5", "cp866", "mac_cyrillic", "latin_1", "cp1252",
    "ascii"))
_UTF8 = frozenset(codecs.lookup(c).name for c in ("utf_8", "utf_8_sig"))
_SAMPLE = 200_000  # bytes scored per candidate: enough for any page's prose
_PROSE = 0.5  # plausibility above which a Cyrillic reading is Russian prose

_CYR_UPPER = re.compile(r"[А-ЯЁ]")
_CYR_LOWER = re.compile(r"[а-яё]")
# characters that do not occur in Russian/English prose but do in a wrong decoding: U+FFFD,
# C1 controls, box drawing and blocks (KOI8-R's upper half), Serbian/Macedonian-only letters
_WEIRD = re.compile(r"[\ufffd\u0080-\u009f\u2500-\u25ff\u0402\u0403\u0405\u0408-\u040d\u040f"
                    r"\u0452\u0453\u0455\u0458-\u045d\u045f]")
_LATIN1_RUN = re.compile(r"[\u00c0-\u00ff]{3,}")  # "Ñåðãåé": Russian read as Latin-1
_ASCII_RUNS = re.compile(r"[\x00-\x7f]+")
_MIXED_WORD = re.compile(r"\b(?=\w*[A-Za-z])(?=\w*[А-Яа-яЁё])\w+\b")


# The WHATWG Encoding Standard's labels that browsers decode as windows-1252: a page labelled
# iso-8859-1 or ascii uses 0x80-0x9F for curly quotes, dashes and the euro sign, which
# Latin-1 would make C1 control characters (and the plausibility check then took German for
# cp1251: "Sдngerin").
_WHATWG_WINDOWS_1252 = frozenset({"latin_1", "iso8859-1", "ascii"})


def _known(name: str | None) -> str | None:
    if not name:
        return None
    try:
        known = codecs.lookup(name.strip().lower()).name
    except LookupError:
        return None
    return "cp1252" if known in _WHATWG_WINDOWS_1252 else known


def charset_from_header(content_type: str | None) -> str | None:
    if not content_type:
        return None
    m = _HEADER_CHARSET.search(content_type)
    return _known(m.group(1)) if m else None


def charset_from_meta(body: bytes) -> str | None:
    m = _META_CHARSET.search(body[:8192])
    return _known(m.group(1).decode("ascii", "ignore")) if m else None


def plausibility(text: str) -> float:
    """How much `text` looks like a correct decoding of Russian/English prose (higher: better):
    the share of Cyrillic letters in lower case, less heavy penalties for characters only a
    wrong decoding produces and for words mixing Latin and Cyrillic letters."""
    lower = len(_CYR_LOWER.findall(text))
    upper = len(_CYR_UPPER.findall(text))
    cyr = lower + upper
    weird = len(_WEIRD.findall(text)) + sum(len(r) for r in _LATIN1_RUN.findall(text))
    mixed = len(_MIXED_WORD.findall(text)) if cyr else 0
    share = lower / cyr if cyr else 1.0
    return share - 5.0 * (weird + mixed) / max(cyr, 1)


def _is_utf8(data: bytes) -> bool:
    """Valid UTF-8 with at least one multi-byte sequence (pure ASCII decides nothing)."""
    if data.isascii():
        return False
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        # a sample cut inside a multi-byte sequence still counts as valid
        return exc.start >= len(data) - 3 and exc.reason == "unexpected end of data"
    return True


def _mostly_utf8(data: bytes) -> bool:
    """UTF-8 with broken sequences outnumbered ten to one by well-formed multi-byte ones: a page
    damaged in one place, a teaser a CMS cut inside a character, or a few Latin-1 bytes pasted
    into an ad snippet's comment or an alt text is still UTF-8, while cp1251 or Latin-1 prose
    has (almost) no well-formed multi-byte sequence at all. (Counted per 1,000 non-ASCII
    characters before: a German page with 75 umlauts and one stray byte in a comment went to
    detection and came out as cp1250.)"""
    text = data.decode("utf-8", "replace")
    bad = text.count("\ufffd")
    good = len(_ASCII_RUNS.sub("", text)) - bad
    return bad == 0 or good >= 10 * bad


_HIGH_RUNS = re.compile(rb"[\x80-\xff]+")
_ASCII_LETTERS = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")
_SCORED_BYTES = 65_536


def _high_runs(sample: bytes) -> bytes:
    """Only what a charset changes: the runs of non-ASCII bytes (with one adjoining ASCII letter,
    so a Latin word with one accented letter still reads as a mixed word), space-separated.
    Scoring these instead of the whole page keeps the check ~20x cheaper."""
    sample = sample[:_SCORED_BYTES]
    out = []
    for m in _HIGH_RUNS.finditer(sample):
        start, end = m.span()
        if start and sample[start - 1] in _ASCII_LETTERS:
            start -= 1
        if end < len(sample) and sample[end] in _ASCII_LETTERS:
            end += 1
        out.append(sample[start:end])
    return b" ".join(out)


def _score(runs: bytes, charset: str) -> float:
    return plausibility(runs.decode(charset, "replace"))


def _best_single_byte(runs: bytes, prefer: str | None = None) -> str:
    """cp1251 or KOI8-R, whichever decodes `runs` more plausibly (`prefer` wins ties)."""
    order = [prefer] if prefer in _CYRILLIC_SINGLE_BYTE else []
    order += [c for c in _CYRILLIC_SINGLE_BYTE if c not in order]
    scored = [(_score(runs, c), -i, c) for i, c in enumerate(order)]
    return max(scored)[2]


def _detect(body: bytes) -> str:
    """No usable declaration: UTF-8 if valid, else a Cyrillic single-byte charset when that
    reads as prose, else charset_normalizer's guess (Western pages)."""
    sample = body[:_SAMPLE]
    if _is_utf8(sample) or sample.isascii():
        return "utf-8"
    runs = _high_runs(sample)
    best = _best_single_byte(runs)
    text = runs.decode(best, "replace")
    if _CYR_LOWER.search(text) and plausibility(text) > _PROSE:
        return best
    import charset_normalizer  # ~0.1 s to import: only for a page no rule above decides

    guess = charset_normalizer.from_bytes(sample).best()
    return (_known(guess.encoding) if guess is not None else None) or best


def choose_charset(body: bytes, declared: str | None) -> str:
    """The charset to decode `body` with, given the declared one (or None)."""
    sample = body[:_SAMPLE]
    if declared in _UTF8 or declared is None:
        if _is_utf8(sample) or sample.isascii() or _mostly_utf8(sample):
            return "utf-8"
        return _detect(body)
    if declared in _SINGLE_BYTE:
        if _is_utf8(sample):
            return "utf-8"  # UTF-8 labelled as a single-byte charset
        if not sample.isascii():
            runs = _high_runs(sample)
            best = _best_single_byte(runs, prefer=declared)
            best_score = _score(runs, best)
            # a Western label gives way only to a reading that is Russian prose itself: German
            # Latin-1 read as cp1251 ("Sдngerin") is mixed words, while the Latin-1 reading
            # is penalised for any run of three accented bytes ("Ã¼" mojibake in a script)
            if best != declared and best_score > _score(runs, declared) + 0.2 and (
                    declared in _CYRILLIC_SINGLE_BYTE or best_score > _PROSE):
                return best
        return declared
    if not declared.startswith(("utf_16", "utf_32")) and _is_utf8(sample) and not _decodes(sample, declared):
        return "utf-8"  # UTF-8 labelled GB2312, Shift_JIS...: valid UTF-8 the label cannot decode
    return declared  # UTF-16/32, and GB2312, Shift_JIS... that decode as declared: as declared


def _decodes(sample: bytes, charset: str) -> bool:
    """Whether `sample` is valid in `charset` (its end may cut a character: not final)."""
    try:
        codecs.getincrementaldecoder(charset)("strict").decode(sample, final=False)
    except (UnicodeDecodeError, LookupError):
        return False
    return True


def decode_body(body: bytes | str, content_type: str | None = None) -> tuple[str, str]:
    """(text, charset used). A str is returned as is."""
    if isinstance(body, str):
        return body, "str"
    if body.startswith(codecs.BOM_UTF8):
        return body[len(codecs.BOM_UTF8):].decode("utf-8", "replace"), "utf-8"
    declared = charset_from_header(content_type) or charset_from_meta(body)
    charset = choose_charset(body, declared)
    return body.decode(charset, "replace"), _known(charset) or charset
