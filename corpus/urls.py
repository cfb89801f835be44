"""URL keys: the form under which two addresses of the same page compare equal.

Why: mid.ru serves one article with and without ``www.``, with and without the trailing slash,
over http and https, and with ``?lang=ru`` on ``/en/`` pages (docs/SITES.md). ``url_key`` folds those
so a re-crawl at a variant address is recognised as the *same URL* (a new version, not a
new document). The original URL is always kept in ``captures.url``.
"""
from __future__ import annotations

from urllib.parse import parse_qsl, urlencode, urlsplit

_DROP_PARAMS = {"lang", "utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content"}


def url_key(url: str) -> str:
    """Canonical comparison key for ``url`` (scheme-less, lower-case host without www.)."""
    parts = urlsplit(url.strip())
    host = (parts.hostname or "").lower()
    if host.startswith("www."):
        host = host[4:]
    netloc = host if parts.port in (None, 80, 443) else f"{host}:{parts.port}"
    path = parts.path or "/"
    if len(path) > 1 and path.endswith("/"):
        path = path.rstrip("/")
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True)
             if k.lower() not in _DROP_PARAMS]
    q = urlencode(sorted(query))
    return f"{netloc}{path}" + (f"?{q}" if q else "")
