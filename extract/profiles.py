"""Load the per-source profiles (profiles.toml) and pick the one a page belongs to.

Profiles are data so a new mirror is a few lines of TOML. Selectors are compiled to XPath once,
at load time; the loaded profiles are immutable, so the cached default set is safe to share.
"""
from __future__ import annotations

import functools
import hashlib
import re
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import resources
from urllib.parse import urlsplit

from cssselect import HTMLTranslator
from lxml import etree

from stenogram.extract.chrome import COMMON_CHROME_LINES, any_line_matcher

PROFILES_FILE = "profiles.toml"


_SIMPLE_CSS = re.compile(r"^(?P<tag>[a-z][a-z0-9]*)?(?P<classes>(?:\.[\w-]+)*)(?:#(?P<id>[\w-]+))?$")
_WITH_CLASS_OR_ID = etree.XPath("//*[@class or @id]")


@dataclass(frozen=True)
class _SimpleIndex:
    """Simple selectors (`tag`, `.a.b`, `tag.a`, `#id`) indexed for one walk: tag-only ones by
    tag (lxml's C-level iter), the others by their first class or their id. Matching every
    chrome selector of a profile this way costs one pass over the elements that carry a class
    or an id, instead of one XPath scan of the whole tree per selector."""

    tags: tuple[str, ...]
    by_class: dict  # class -> ((tag|None, frozenset(classes), id|None), ...)
    by_id: dict     # id -> ((tag|None, frozenset(classes), id), ...)

    def all(self, tree) -> list:
        found = list(tree.iter(*self.tags)) if self.tags else []
        if not (self.by_class or self.by_id):
            return found
        for el in _WITH_CLASS_OR_ID(tree):
            classes = el.get("class")
            tokens = frozenset(classes.split()) if classes else frozenset()
            candidates = [rule for token in tokens for rule in self.by_class.get(token, ())]
            ident = el.get("id")
            if ident is not None:
                candidates.extend(self.by_id.get(ident, ()))
            for tag, need, want_id in candidates:
                if (tag is None or el.tag == tag) and need <= tokens and (want_id is None or ident == want_id):
                    found.append(el)
                    break
        return found

    @classmethod
    def build(cls, css: tuple[str, ...]) -> "_SimpleIndex | None":
        """None unless every selector is simple."""
        tags, by_class, by_id = [], {}, {}
        for c in css:
            m = _SIMPLE_CSS.match(c.strip())
            if not m or not any(m.groups()):
                return None
            classes = tuple(x for x in m["classes"].split(".") if x)
            rule = (m["tag"], frozenset(classes), m["id"])
            if classes:
                by_class.setdefault(classes[0], []).append(rule)
            elif m["id"]:
                by_id.setdefault(m["id"], []).append(rule)
            else:
                tags.append(m["tag"])
        return cls(tuple(tags), {k: tuple(v) for k, v in by_class.items()},
                   {k: tuple(v) for k, v in by_id.items()})


@dataclass(frozen=True)
class Selectors:
    """CSS selectors (or "xpath:..." expressions) compiled to XPath, in order of preference."""

    css: tuple[str, ...]
    xpaths: tuple[etree.XPath, ...]
    simple: _SimpleIndex | None = field(default=None, compare=False, repr=False)

    @classmethod
    def from_css(cls, css: list[str] | str | None) -> "Selectors":
        if not css:
            return cls((), ())
        items = (css,) if isinstance(css, str) else tuple(css)
        translator = HTMLTranslator()
        compiled = tuple(
            etree.XPath(c[len("xpath:"):]) if c.startswith("xpath:") else etree.XPath(translator.css_to_xpath(c))
            for c in items
        )
        return cls(items, compiled, _SimpleIndex.build(items))

    def all_unordered(self, tree) -> list:
        """Every element any selector matches, each once, in no particular order (what pruning
        needs); one indexed walk when all selectors are simple, else `all`."""
        if self.simple is None:
            return self.all(tree)
        return list(dict.fromkeys(self.simple.all(tree)))

    def all(self, tree) -> list:
        found = []
        seen = set()  # elements hash by identity; `found` keeps each proxy (so its id) alive
        for xpath in self.xpaths:
            for el in xpath(tree):
                if el not in seen:
                    seen.add(el)
                    found.append(el)
        return found

    def first(self, tree):
        for xpath in self.xpaths:
            hits = xpath(tree)
            if hits:
                return hits[0]
        return None

    def all_present(self, tree) -> bool:
        return bool(self.xpaths) and all(xpath(tree) for xpath in self.xpaths)


def _no_line(line: str) -> bool:
    return False


@dataclass(frozen=True)
class Profile:
    name: str
    hosts: tuple[str, ...]
    url_patterns: tuple[re.Pattern, ...]
    fingerprint: Selectors
    container: Selectors
    title: Selectors
    date: Selectors
    time: Selectors
    doc_number: Selectors
    chrome: Selectors
    chrome_lines: tuple[re.Pattern, ...]
    listing: Selectors
    translation_links: Selectors
    listing_elsewhere: bool = False  # `listing` marks a listing on pages no profile claims too
    # chrome_lines + chrome.COMMON_CHROME_LINES as one matcher, built once at load time
    chrome_line_match: Callable[[str], bool] = field(default=_no_line, compare=False, repr=False)

    def matches_url(self, url: str | None) -> bool:
        if not url:
            return False
        parts = urlsplit(url)
        host = (parts.hostname or "").lower()
        if host not in self.hosts:
            return False
        return not self.url_patterns or any(p.search(parts.path) for p in self.url_patterns)

    def matches_host(self, url: str | None) -> bool:
        return bool(url) and (urlsplit(url).hostname or "").lower() in self.hosts


@dataclass(frozen=True)
class ProfileSet:
    profiles: tuple[Profile, ...]
    generic: Profile
    digest: str  # sha256 of profiles.toml: part of the extractor's settings hash

    def choose(self, tree, url: str | None) -> Profile:
        """Fingerprint first (prefer one whose URL also matches), then URL, then generic."""
        # = the first fingerprint match whose URL also matches, else the first fingerprint match;
        # each fingerprint (a scan of the tree) is tested only when its answer can matter
        first_by_markup = None
        for profile in self.profiles:
            url_matches = profile.matches_url(url) or profile.matches_host(url)
            if (url_matches or first_by_markup is None) and profile.fingerprint.all_present(tree):
                if url_matches:
                    return profile
                first_by_markup = first_by_markup or profile
        if first_by_markup is not None:
            return first_by_markup
        for profile in self.profiles:
            if profile.matches_url(url) or profile.matches_host(url):
                return profile
        return self.generic


def _full_line(patterns: list[str]) -> tuple[re.Pattern, ...]:
    return tuple(re.compile(rf"^\s*(?:{p})\s*$", re.I) for p in patterns)


def _profile(name: str, data: dict) -> Profile:
    chrome_lines = _full_line(data.get("chrome_lines", []))
    return Profile(
        name=name,
        hosts=tuple(h.lower() for h in data.get("hosts", [])),
        url_patterns=tuple(re.compile(p) for p in data.get("url_patterns", [])),
        fingerprint=Selectors.from_css(data.get("fingerprint")),
        container=Selectors.from_css(data.get("container")),
        title=Selectors.from_css(data.get("title")),
        date=Selectors.from_css(data.get("date")),
        time=Selectors.from_css(data.get("time")),
        doc_number=Selectors.from_css(data.get("doc_number")),
        chrome=Selectors.from_css(data.get("chrome")),
        chrome_lines=chrome_lines,
        listing=Selectors.from_css(data.get("listing")),
        translation_links=Selectors.from_css(data.get("translation_links")),
        listing_elsewhere=bool(data.get("listing_elsewhere", False)),
        chrome_line_match=any_line_matcher((*chrome_lines, *COMMON_CHROME_LINES)),
    )


def parse_profiles(toml_text: str) -> ProfileSet:
    data = tomllib.loads(toml_text)
    profiles = tuple(_profile(name, body) for name, body in data.get("profiles", {}).items())
    generic = _profile("generic", data.get("generic", {}))
    return ProfileSet(profiles, generic, hashlib.sha256(toml_text.encode()).hexdigest())


@functools.cache
def default_profiles() -> ProfileSet:
    """The bundled profiles.toml, parsed once per process (immutable)."""
    text = resources.files(__package__).joinpath(PROFILES_FILE).read_text(encoding="utf-8")
    return parse_profiles(text)
