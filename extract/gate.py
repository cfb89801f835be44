"""Decide early that an input is not a transcript, with a reason the corpus can count.

Anti-bot interstitials come with status 200 (sites.md): pages loading /TSPD/ scripts, "Please
enable JavaScript", "Data processing... Please, wait.". Junk input (empty, binary, huge) is
refused before parsing so it can neither crash the parser nor leak into the corpus.
"""
from __future__ import annotations

import re

from extract.interstitial import has_marker

MAX_INPUT_BYTES = 30 * 1024 * 1024

_ERROR_TITLE = re.compile(
    r"\b(?:404|403|500|502|503)\b|Not Found|Page not found|Forbidden|Service Unavailable|"
    r"Internal Server Error|Страница не найдена|Ошибка|Доступ запрещ", re.I)

# C0 controls other than \t \n \v \f \r (0-8, 14-31): counted by deleting them (C speed).
_CONTROL_BYTES = bytes(b for b in range(32) if b < 9 or 13 < b)
_CONTROL_CHARS = {b: None for b in _CONTROL_BYTES}


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
    return None


def refuse_decoded(text: str) -> str | None:
    if "<" not in text[:65536]:
        return "not HTML"
    return None


def is_interstitial(html: str, body_chars: int) -> bool:
    """An interstitial marker on a page without a real body. Real articles may carry a
    <noscript> "enable JavaScript" or a TSPD script too, so the marker alone is not enough."""
    return body_chars < 1000 and has_marker(html)


def looks_like_error(title: str | None, body_chars: int) -> bool:
    return bool(title) and bool(_ERROR_TITLE.search(title)) and body_chars < 1500
