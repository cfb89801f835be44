"""Which URLs from the corpus may become a link: ``web_url``.

Why a check at rendering time: the corpus "may come from anyone" (a shared file, a backfill of a
hostile archive), so a ``captures.url``, ``versions.url`` or ``documents.canonical_url`` can hold
``javascript:alert(1)//archive.mid.ru/…``, and an ``<a href>`` of it runs script in the page's
origin when clicked (HTML escaping does not help: the scheme is the attack). Ingestion checks
URLs too; this is the second line, used by every view that renders one (the reading and history
views, ``diff --html``) and by export.

The rule follows the WHATWG URL Standard's parser, which browsers use for ``href``: it strips
leading and trailing C0 controls and spaces and removes tabs and newlines anywhere before it
reads the scheme, so ``" java\\tscript:…"`` is a ``javascript:`` URL to a browser. A URL is
linkable only when it holds none of those characters at all, its scheme (read by
``urllib.parse.urlsplit``, which lower-cases it) is ``http`` or ``https``, and it names a host.
Anything else is shown as text.
"""
from __future__ import annotations

import re
from urllib.parse import urlsplit

WEB_SCHEMES = ("http", "https")
# C0 controls, space and DEL: what the URL Standard strips or removes before the scheme is read
# (and what no URL this crawler stores contains).
_STRIPPED_BY_BROWSERS = re.compile(r"[\x00-\x20\x7f]")


def web_url(value) -> str | None:
    """``value`` when it is an http(s) URL with a host that a browser reads the same way; else
    None (render it as inert text)."""
    if not isinstance(value, str) or not value or _STRIPPED_BY_BROWSERS.search(value):
        return None
    try:
        parts = urlsplit(value)
        host = parts.hostname
    except ValueError:  # a bad port or IPv6 literal
        return None
    if parts.scheme not in WEB_SCHEMES or not host:
        return None
    return value
