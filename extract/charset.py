"""Bytes -> str the way a browser would: HTTP header charset, then <meta>, then detection.

Older platforms (DLE mirrors) serve windows-1251 with the charset only in a <meta> tag, or with
none at all; charset_normalizer guesses those. Decoding never raises: undecodable bytes are
replaced, and the caller learns which charset was used.
"""
from __future__ import annotations

import codecs
import re

import charset_normalizer

_HEADER_CHARSET = re.compile(r"charset\s*=\s*[\"']?([\w\-:.]+)", re.I)
_META_CHARSET = re.compile(
    rb"<meta[^>]+charset\s*=\s*[\"']?\s*([\w\-:.]+)", re.I
)


def _known(name: str | None) -> str | None:
    if not name:
        return None
    try:
        return codecs.lookup(name.strip().lower()).name
    except LookupError:
        return None


def charset_from_header(content_type: str | None) -> str | None:
    if not content_type:
        return None
    m = _HEADER_CHARSET.search(content_type)
    return _known(m.group(1)) if m else None


def charset_from_meta(body: bytes) -> str | None:
    m = _META_CHARSET.search(body[:8192])
    return _known(m.group(1).decode("ascii", "ignore")) if m else None


def decode_body(body: bytes | str, content_type: str | None = None) -> tuple[str, str]:
    """(text, charset used). A str is returned as is."""
    if isinstance(body, str):
        return body, "str"
    if body.startswith(codecs.BOM_UTF8):
        return body[len(codecs.BOM_UTF8):].decode("utf-8", "replace"), "utf-8"
    for charset in (charset_from_header(content_type), charset_from_meta(body)):
        if charset:
            return body.decode(charset, "replace"), charset
    try:
        return body.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    best = charset_normalizer.from_bytes(body[:200_000]).best()
    charset = _known(best.encoding) if best is not None else None
    charset = charset or "utf-8"
    return body.decode(charset, "replace"), charset
