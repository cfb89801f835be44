"""Anti-bot interstitials: the one place that knows what they look like.

mid.ru's bot defence (F5 TSPD) answers **200** with a tiny page that loads ``/TSPD/...`` and
says "Please enable JavaScript", or with "Data processing... Please, wait."; other fronts say
"Checking your browser". A 200 is not proof of a page. Two users share these rules:

* the crawler (``crawler.middlewares.InterstitialMiddleware``) sees raw bytes before parsing
  and must be strict: real articles embed a ``/TSPD/`` script and a ``<noscript>`` "enable
  JavaScript" too, so it needs a small body *and* a challenge phrase;
* the extractor (``extract.gate``) has parsed the page and knows how much body text it has,
  so any marker on a page without a real body is enough.
"""
from __future__ import annotations

import re

#: Bodies larger than this are real pages even if an anti-bot script is embedded in them.
INTERSTITIAL_MAX_BYTES = 64 * 1024

# Matched against ``body.lower()`` (bytes.lower() folds ASCII only, so the UTF-8 Cyrillic phrases
# are unchanged): the same as re.I on the ASCII parts. Each regex starts with a literal (no
# top-level alternation), so the search skips ahead in C instead of trying every position.
_TSPD = b"/tspd/"
_ENABLE_JS = (re.compile(rb"please\s+enable\s+javascript"),
              re.compile("Включите".encode("utf-8") + rb"\s+javascript"))
_DATA_PROCESSING_EN = re.compile(rb"data\s+processing\.{3}\s*please,?\s+wait")
_DATA_PROCESSING_RU = "Обработка данных...".encode("utf-8")
_CHECKING_BROWSER = re.compile(rb"checking\s+your\s+browser")

#: Any marker at all (for a parsed page already known to have no real body).
MARKERS = re.compile(
    r"/TSPD/|Please enable JavaScript|Data processing\.\.\.\s*Please,?\s*wait|"
    r"Checking your browser|Включите JavaScript|Обработка данных\.\.\.", re.I)


def interstitial_reason(body: bytes | str, content_type: str | None = None) -> str | None:
    """Why raw ``body`` is an interstitial rather than a page, or None when it is a page."""
    if content_type and not any(t in content_type.lower() for t in ("html", "text/plain")):
        return None
    if isinstance(body, str):
        body = body.encode("utf-8", "replace")
    if len(body) > INTERSTITIAL_MAX_BYTES:
        return None
    body = body.lower()
    if _DATA_PROCESSING_RU in body or _DATA_PROCESSING_EN.search(body):
        return "data_processing"
    if _TSPD in body and any(p.search(body) for p in _ENABLE_JS):
        return "tspd_enable_javascript"
    if _CHECKING_BROWSER.search(body):
        return "checking_browser"
    return None


def has_marker(html: str) -> bool:
    """A marker anywhere in the first 300 kB of a decoded page."""
    return bool(MARKERS.search(html[:300_000]))
