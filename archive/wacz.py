"""Package WARCs as a WACZ 1.1.1 file: one zip that ReplayWeb.page, pywb and archivists open.

Layout (as py-wacz writes it, which is what ``wacz validate`` and the players expect)::

    archive/NAME.warc.gz        the WARCs, ZIP_STORED so players can seek into them
    indexes/index.cdx.gz        CDXJ in gzip blocks of 300 lines (ZipNum), ZIP_STORED
    indexes/index.idx           the secondary index: one line per block
    pages/pages.jsonl           a json-pages-1.0 header, then one line per transcript page
    datapackage.json            every resource with its sha256 and size
    datapackage-digest.json     the sha256 of datapackage.json

Everything is streamed: WARCs are copied into the zip in 1 MiB blocks and hashed on the way,
the index is built by ``cdxj-indexer`` (which sorts through temporary files past 32 MiB),
and the zip is written beside the target and renamed into place only when complete.
"""
from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import tempfile
import uuid
import zipfile
from dataclasses import dataclass, field
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from typing import Iterable, Iterator

from cdxj_indexer.main import CDXJIndexer
from warcio.timeutils import timestamp_to_iso_date

from stenogram.archive.reader import ReadStats, expand_warc_paths, iter_captures
from stenogram.compat import on_cdxj_line

log = logging.getLogger(__name__)

WACZ_VERSION = "1.1.1"
PAGES_FORMAT = "json-pages-1.0"
INDEX_BLOCK_LINES = 300
_COPY_BLOCK = 1 << 20
_HTML_TYPES = ("text/html", "application/xhtml+xml", "application/xhtml")
_RESOURCE_NAME_BAD = re.compile(r"[^-a-z0-9._]")
_TITLE_RE = re.compile(rb"<title[^>]*>(.*?)</title\s*>", re.I | re.S)


@dataclass
class WaczSummary:
    """What went into a WACZ."""

    path: Path
    warcs: list[str]
    pages: int
    pages_dropped: int  # pages given whose URL is not in the WARCs, or repeated
    resources: list[dict] = field(default_factory=list)


class _HashingWriter:
    """Passes bytes through to ``out`` while counting and hashing them."""

    def __init__(self, out):
        self.out = out
        self.sha256 = hashlib.sha256()
        self.size = 0

    def write(self, data: bytes) -> int:
        self.sha256.update(data)
        self.size += len(data)
        return self.out.write(data)

    def flush(self) -> None:
        self.out.flush()

    @property
    def digest(self) -> str:
        return "sha256:" + self.sha256.hexdigest()


class _UrlCollectingIndexer(CDXJIndexer):
    """cdxj-indexer, remembering which URLs it indexed (to check the page list against)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.urls: set[str] = set()
        on_cdxj_line(self, self._note)

    def _note(self, index: dict) -> None:
        if url := index.get("url"):
            self.urls.add(url)


class _WaczZip:
    """A zip being written, keeping the datapackage resource entry of each member."""

    def __init__(self, path: Path):
        self.zip = zipfile.ZipFile(path, "w", allowZip64=True)
        self.resources: list[dict] = []

    def resource_name(self, path: str) -> str:
        """Frictionless resource names allow only ``[-a-z0-9._/]`` and must be unique; WARC
        names like Heritrix's ``…~host.warc.gz`` need cleaning."""
        base = _RESOURCE_NAME_BAD.sub("-", os.path.basename(path).lower())
        taken = {r["name"] for r in self.resources}
        name, n = base, 1
        while name in taken:
            n += 1
            name = f"{base}-{n}"
        return name

    def member(self, name: str, *, stored: bool, size_hint: int | None = None):
        info = zipfile.ZipInfo(name, date_time=datetime.now(timezone.utc).timetuple()[:6])
        info.compress_type = zipfile.ZIP_STORED if stored else zipfile.ZIP_DEFLATED
        info.external_attr = 0o644 << 16
        if size_hint is not None:
            info.file_size = size_hint
        return _Member(self, name, self.zip.open(info, "w", force_zip64=size_hint is None))

    def add_file(self, name: str, source: Path, *, stored: bool) -> None:
        with open(source, "rb") as src, self.member(name, stored=stored,
                                                    size_hint=source.stat().st_size) as out:
            while block := src.read(_COPY_BLOCK):
                out.write(block)

    def add_bytes(self, name: str, data: bytes, *, stored: bool = False) -> None:
        with self.member(name, stored=stored, size_hint=len(data)) as out:
            out.write(data)

    def close(self) -> None:
        self.zip.close()


class _Member(_HashingWriter):
    def __init__(self, wacz: _WaczZip, name: str, out):
        super().__init__(out)
        self.wacz, self.name = wacz, name

    def __enter__(self):
        return self

    def __exit__(self, exc_type, *exc):
        self.out.close()
        if exc_type is None:
            self.wacz.resources.append({
                "name": self.wacz.resource_name(self.name),
                "path": self.name,
                "hash": self.digest,
                "bytes": self.size,
            })


def _iso_ts(ts: str | None) -> str | None:
    """Pages carry ISO 8601 dates; accept 14-digit CDX timestamps too."""
    if ts and ts.isdigit():
        return timestamp_to_iso_date(ts)
    return ts


def _page_id(url: str, ts: str | None) -> str:
    return uuid.uuid5(uuid.NAMESPACE_URL, f"{ts} {url}").hex


def _pages_jsonl(pages: list[dict]) -> bytes:
    has_text = any(p.get("text") for p in pages)
    header = {"format": PAGES_FORMAT, "id": "pages", "title": "All Pages"}
    if has_text:
        header["hasText"] = True
    lines = [json.dumps(header, ensure_ascii=False)]
    for page in pages:
        entry = {"id": page.get("id") or _page_id(page["url"], page.get("ts")),
                 "url": page["url"], "ts": _iso_ts(page.get("ts"))}
        for key in ("title", "text"):
            if page.get(key):
                entry[key] = page[key]
        lines.append(json.dumps(entry, ensure_ascii=False))
    return ("\n".join(lines) + "\n").encode("utf-8")


def _software() -> str:
    try:
        version = metadata.version("stenogram")
    except metadata.PackageNotFoundError:
        version = "unknown"
    return f"stenogram {version}"


def _write_index(wacz: _WaczZip, warcs: list[Path]) -> set[str]:
    """``indexes/index.cdx.gz`` (ZipNum blocks) and ``indexes/index.idx``, by cdxj-indexer;
    returns the URLs indexed."""
    with tempfile.TemporaryFile("w+", encoding="utf-8") as idx:
        with wacz.member("indexes/index.cdx.gz", stored=True) as data:
            # Default fields only: asking for request fields (referrer, POST bodies)
            # makes cdxj-indexer decode every payload through warcio, which fails on
            # brotli responses with brotli>=1.2; our crawls are GET-only.
            indexer = _UrlCollectingIndexer(
                idx, [str(w) for w in warcs], sort=True,
                compress=data, data_out_name="index.cdx.gz", lines=INDEX_BLOCK_LINES,
            )
            indexer.process_all()
        idx.seek(0)
        with wacz.member("indexes/index.idx", stored=False) as out:
            while block := idx.read(_COPY_BLOCK):
                out.write(block.encode("utf-8"))
    return indexer.urls


def _pages_in(pages: list[dict], urls: set[str]) -> list[dict]:
    """The pages whose URL is in the WARCs, each (url, ts) once."""
    kept, seen = [], set()
    for page in pages:
        key = (page.get("url"), _iso_ts(page.get("ts")))
        if key[0] in urls and key not in seen:
            seen.add(key)
            kept.append(page)
    return kept


def _datapackage(resources: list[dict], **optional: str | None) -> bytes:
    """``datapackage.json``: every resource, and the optional fields that are set."""
    package = {
        "profile": "data-package",
        "resources": resources,
        "wacz_version": WACZ_VERSION,
        "created": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "software": _software(),
        **{key: value for key, value in optional.items() if value},
    }
    return json.dumps(package, indent=2, ensure_ascii=False).encode("utf-8")


def build_wacz(
    warc_paths: Iterable[str | os.PathLike],
    out_path: str | os.PathLike,
    pages: Iterable[dict] | None = None,
    title: str | None = None,
    description: str | None = None,
    main_page_url: str | None = None,
) -> WaczSummary:
    """Write a WACZ of ``warc_paths`` (files or directories) to ``out_path``.

    ``pages`` are dicts ``{url, ts, title, text}`` (``ts`` ISO 8601 or 14 digits); when None,
    every HTML 200 response becomes a page (:func:`html_pages`). Pages whose URL is not in
    the WARCs, and repeats of a (url, ts) already listed, are dropped and counted, so the
    page list never points at nothing and page ids stay unique.
    """
    warcs = expand_warc_paths(warc_paths)
    if not warcs:
        raise ValueError("no WARC files to package")
    names = [w.name for w in warcs]
    if len(set(names)) != len(names):
        raise ValueError(f"WARC file names must be unique inside a WACZ: {sorted(names)}")
    pages = list(pages) if pages is not None else list(html_pages(warcs))
    out_path = Path(out_path)
    tmp_path = out_path.with_name(out_path.name + ".part")
    wacz = _WaczZip(tmp_path)
    try:
        urls = _write_index(wacz, warcs)
        for warc in warcs:
            wacz.add_file(f"archive/{warc.name}", warc, stored=True)
        kept = _pages_in(pages, urls)
        dropped = len(pages) - len(kept)
        if dropped:
            log.warning("%d pages are not in the WARCs and were left out of pages.jsonl", dropped)
        wacz.add_bytes("pages/pages.jsonl", _pages_jsonl(kept))
        package_bytes = _datapackage(wacz.resources, title=title, description=description,
                                     mainPageURL=main_page_url)
        resources = list(wacz.resources)
        wacz.add_bytes("datapackage.json", package_bytes)
        digest = {"path": "datapackage.json",
                  "hash": "sha256:" + hashlib.sha256(package_bytes).hexdigest()}
        wacz.add_bytes("datapackage-digest.json", json.dumps(digest, indent=2).encode("utf-8"))
        wacz.close()
        os.replace(tmp_path, out_path)
    except BaseException:
        wacz.close()
        tmp_path.unlink(missing_ok=True)
        raise
    return WaczSummary(out_path, names, len(kept), dropped, resources)


def html_title(body: bytes, charset: str | None = None) -> str | None:
    """The page's <title>, decoded with the declared charset (a cheap guess, not extraction)."""
    m = _TITLE_RE.search(body[:65536])
    if not m:
        return None
    raw = m.group(1)
    for enc in filter(None, (charset, "utf-8", "cp1251")):
        try:
            text = raw.decode(enc)
            break
        except (LookupError, UnicodeDecodeError):
            continue
    else:
        return None
    return " ".join(text.split()) or None


def _charset(content_type: str | None) -> str | None:
    m = re.search(r"charset=([\w.-]+)", content_type or "", re.I)
    return m.group(1) if m else None


def html_pages(warc_paths: Iterable[str | os.PathLike], stats: ReadStats | None = None
               ) -> Iterator[dict]:
    """A page per HTML 200 response (revisits included), titled from <title>."""
    for capture in iter_captures(list(warc_paths), stats):
        mime = (capture.content_type or "").split(";")[0].strip().lower()
        if capture.http_status != 200 or mime not in _HTML_TYPES:
            continue
        yield {"url": capture.url, "ts": capture.fetched_at,
               "title": html_title(capture.body, _charset(capture.content_type))}
