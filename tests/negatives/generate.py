"""Generated negatives: data and binary files that a server or a mirror hands out as .html.

Seeded, so every run sees the same bytes. Each entry: name -> (bytes, Content-Type header). The
hand-written pages (articles, listings, directory indexes, interstitials with footers, error
pages) sit beside this file; `load()` returns both.
"""
from __future__ import annotations

import gzip
import io
import json
import random
import struct
import zipfile
import zlib
from pathlib import Path

HERE = Path(__file__).parent
HTML = "text/html; charset=utf-8"

_RU = ("Министр иностранных дел России Сергей Лавров провёл переговоры с коллегой; "
       "стороны обсудили двустороннее сотрудничество, ответил на вопросы СМИ").split()
_EN = ("Foreign Minister Sergey Lavrov remarks and answers to media questions at a joint news "
       "conference following talks Moscow").split()


def _words(rng: random.Random, n: int) -> str:
    return " ".join(rng.choice(_RU + _EN) for _ in range(n))


def csv_export(rng: random.Random, rows: int = 4000) -> bytes:
    """A spreadsheet export of titles and texts (the 1.15M-character "transcript" of issue #12)."""
    out = io.StringIO()
    out.write("id,date,source,url,title,text\n")
    for i in range(rows):
        title = _words(rng, 12).replace('"', "")
        text = _words(rng, 40)
        out.write(f'{1000 + i},2021-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d},mid,'
                  f'https://mid.ru/en/foreign_policy/news/{4000000 + i}/,"{title}","{text}"\n')
    return out.getvalue().encode("utf-8")


def json_api(rng: random.Random, items: int = 300) -> bytes:
    return json.dumps({"status": "ok", "total": items, "items": [
        {"id": 4000000 + i, "title": _words(rng, 12), "date": f"2022-03-{rng.randint(1, 28):02d}",
         "html": "<p>" + _words(rng, 60) + "</p><p>Question: " + _words(rng, 20) + "</p>"}
        for i in range(items)]}, ensure_ascii=False, indent=1).encode("utf-8")


def json_ld_only(rng: random.Random) -> bytes:
    """A JSON array whose strings carry HTML (a headless CMS export)."""
    return json.dumps([{"body": f"<div class='text article-content'><p>{_words(rng, 80)}</p></div>"}
                       for _ in range(50)], ensure_ascii=False).encode("utf-8")


def pdf(rng: random.Random) -> bytes:
    stream = zlib.compress(("BT /F1 12 Tf 72 712 Td (" + _words(rng, 200) + ") Tj ET").encode("utf-8"))
    return (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n"
            + b"4 0 obj\n<< /Length " + str(len(stream)).encode() + b" /Filter /FlateDecode >>\nstream\n"
            + stream + b"\nendstream\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n")


def png(rng: random.Random) -> bytes:
    raw = bytes(rng.randrange(256) for _ in range(64 * 3 * 64 + 64))
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 64, 64, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


def gzip_html(rng: random.Random) -> bytes:
    """A page stored compressed but served without Content-Encoding."""
    return gzip.compress(f"<html><body><p>{_words(rng, 300)}</p></body></html>".encode("utf-8"), mtime=0)


def docx(rng: random.Random) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        z.writestr("word/document.xml", f"<w:document><w:body><w:p><w:r><w:t>{_words(rng, 300)}</w:t></w:r></w:p></w:body></w:document>")
    return buf.getvalue()


def server_log(rng: random.Random, lines: int = 2000) -> bytes:
    return "".join(
        f'127.0.0.{rng.randint(1, 9)} - - [12/Mar/2024:10:{i % 60:02d}:{rng.randint(0, 59):02d} +0000] '
        f'"GET /en/foreign_policy/news/{4000000 + i}/ HTTP/1.1" 200 {rng.randint(9000, 90000)} "-" '
        f'"Mozilla/5.0 (X11; Linux x86_64)"\n' for i in range(lines)).encode()


def rss(rng: random.Random, items: int = 40) -> bytes:
    body = "".join(
        f"<item><title>Foreign Minister Sergey Lavrov’s remarks and answers to media questions, "
        f"Moscow, March {i % 28 + 1}, 2024</title><link>https://mid.ru/en/foreign_policy/news/{4000000 + i}/</link>"
        f"<description>{_words(rng, 30)}</description><pubDate>Tue, 12 Mar 2024 10:00:00 +0300</pubDate></item>"
        for i in range(items))
    return (f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>MFA news</title>'
            f"<link>https://mid.ru/en/</link><description>News</description>{body}</channel></rss>").encode()


def generated(seed: int = 12) -> dict[str, tuple[bytes, str]]:
    rng = random.Random(seed)
    return {
        "export.csv.html": (csv_export(rng), HTML),
        "api.json.html": (json_api(rng), HTML),
        "cms-export.json.html": (json_ld_only(rng), HTML),
        "document.pdf.html": (pdf(rng), HTML),
        "photo.png.html": (png(rng), HTML),
        "page.gz.html": (gzip_html(rng), HTML),
        "report.docx.html": (docx(rng), HTML),
        "access.log.html": (server_log(rng), HTML),
        "feed.rss.html": (rss(rng), HTML),
    }


def load(seed: int = 12) -> dict[str, tuple[bytes, str | None]]:
    """Every negative: the hand-written pages in this directory and the generated files."""
    pages = {p.name: (p.read_bytes(), None) for p in sorted(HERE.glob("*.html"))}
    pages.update(generated(seed))
    return pages


LISTING_PATHS = {  # section pages the spiders walk (sample site and the real sites alike)
    "mid": ["/en/foreign_policy/news/", "/ru/foreign_policy/news/", "/en/press_service/minister_speeches/",
            "/ru/press_service/minister_speeches/"],
    "mid_archive": ["/en/foreign_policy/news", "/ru/foreign_policy/news", "/en/press_service/minister_speeches",
                    "/ru/press_service/minister_speeches"],
    "globalsecurity": ["/wmd/library/news/russia/"],
    "interaffairs": ["/lavrov/", "/lavrov/page/2/"],
}


def sample_site_pages(size: int = 30, seed: int = 5):
    """(positives, negatives) served by a sample site on loopback, each a list of
    (name, body, url, Content-Type): every transcript URL on every source; listings, directory
    indexes (the parents of globalsecurity's article paths) and non-ministry neighbours."""
    import urllib.error
    import urllib.request
    from urllib.parse import urlsplit

    from stenogram.sample_site.server import SampleSite

    def fetch(url):
        try:
            with urllib.request.urlopen(url, timeout=30) as r:
                return r.read(), r.headers.get("Content-Type")
        except urllib.error.HTTPError:
            return None, None

    positives, negatives = [], []
    with SampleSite(port=0, size=size, seed=seed) as site:
        base = site.base_urls
        directories = set()
        for t in site.catalog:
            for source, urls in t.urls(base).items():
                for url in urls:
                    body, ctype = fetch(url)
                    positives.append((f"{source}:{urlsplit(url).path}", body, url, ctype))
                    if source == "globalsecurity":
                        path = urlsplit(url).path
                        while path.count("/") > 4:
                            path = path.rsplit("/", 2)[0] + "/"
                            directories.add(path)
        for n in site.catalog.neighbours:
            directories.add(n.path)
        candidates = [("globalsecurity", p) for p in sorted(directories)]
        candidates += [(s, p) for s, paths in LISTING_PATHS.items() for p in paths]
        for source, path in candidates:
            body, ctype = fetch(base[source] + path)
            if body is not None and "html" in (ctype or ""):
                negatives.append((f"{source}:{path}", body, base[source] + path, ctype))
    return positives, negatives
