"""Datasette plugin: the corpus's edits as a stream, a "recent edits" page and an Atom feed.

Loaded by ``--plugins-dir`` (``stenogram serve``) beside ``stenogram_web.py``; the edits are
``corpus.edits.recent_edits`` (the same list as ``stenogram edits``), the diffs
``corpus.diff.diff_html`` (the same as the history page's).

- ``/-/edits`` (``?since=YYYY-MM-DD``): the newest silent edits, each with its word diff
  summary, a link to the transcript's history and the WARC record of each side.
- ``/-/edits.atom``: the same as an Atom 1.0 feed (RFC 4287): the feed has ``id``, ``title``,
  ``updated``, an ``author`` and a ``rel="self"`` link (section 4.1.1); each entry an ``id``
  that never changes (a name-based UUID of the document and both versions, as a ``urn:uuid``
  IRI, section 4.2.6), ``title``, ``updated`` (when the new text was first seen, an RFC 3339
  time, section 3.3), a ``rel="alternate"`` link to the history page, a text ``summary`` and
  an HTML ``content`` holding the word diff and both WARC records (section 4.1.3). Built with
  ``xml.etree.ElementTree``, which escapes every text and attribute.
"""
from __future__ import annotations

import datetime as _dt
import html
import uuid
import xml.etree.ElementTree as ET

from datasette import hookimpl
from datasette.utils.asgi import Response

from stenogram.corpus import edits as edits_module
from stenogram.corpus.diff import diff_html
from stenogram.corpus.web.links import web_url

ATOM_NS = "http://www.w3.org/2005/Atom"
FEED_SIZE = 50  # entries in the feed and rows on the page
EVERYTHING = "0000"  # a ``since`` before any first_seen


def _since(request) -> tuple[str, str]:
    """(the ``since`` bound, what the user typed or ""); a bad value reads as no bound."""
    raw = (request.args.get("since") or "").strip()
    try:
        return (edits_module.since_bound(raw) if raw else EVERYTHING), raw
    except ValueError:
        return EVERYTHING, ""


def rfc3339(value: str | None) -> str:
    """A stored ISO time as an RFC 3339 UTC timestamp (``2022-03-09T08:30:00Z``)."""
    if not value:
        return "1970-01-01T00:00:00Z"
    t = _dt.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    if t.tzinfo is None:
        t = t.replace(tzinfo=_dt.timezone.utc)
    return t.astimezone(_dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def entry_id(edit: dict) -> str:
    name = f"stenogram:edit:{edit['document_id']}:{edit['old']['version_id']}:" \
           f"{edit['new']['version_id']}"
    return uuid.uuid5(uuid.NAMESPACE_URL, name).urn


def _warc_line(label: str, side: dict) -> str:
    w = side.get("warc")
    if not w:
        return f"{label}: version {side['version_id']}, no capture"
    return (f"{label}: version {side['version_id']}, first seen {side['first_seen']}, "
            f"{side['source'] or 'unknown source'}; WARC {w['warc_file']} offset "
            f"{w['warc_offset']} record {w['warc_record_id']}")


def entry_html(edit: dict) -> str:
    old = {**edit["old"], "id": edit["old"]["version_id"]}
    new = {**edit["new"], "id": edit["new"]["version_id"]}
    records = "".join(f"<li>{html.escape(_warc_line(label, side))}</li>"
                      for label, side in (("before", edit["old"]), ("after", edit["new"])))
    url = html.escape(edit["url"] or "")
    at = (f'<a href="{url}">{url}</a>' if web_url(edit["url"])  # never a javascript: link
          else f'<span class="inert-url">{url}</span>')
    return (f"<p>{html.escape(edits_module.summary_text(edit['summary']))} at {at}</p>"
            f"<ul>{records}</ul>" + diff_html(old, new, 1))


def atom_feed(edits: list[dict], *, base: str, self_url: str, feed_id: str, updated: str | None
              ) -> bytes:
    """The Atom document (RFC 4287) for ``edits`` (``recent_edits(..., with_text=True)``)."""
    ET.register_namespace("", ATOM_NS)
    q = lambda tag: f"{{{ATOM_NS}}}{tag}"  # noqa: E731
    feed = ET.Element(q("feed"))
    ET.SubElement(feed, q("id")).text = feed_id
    ET.SubElement(feed, q("title")).text = "stenogram: recent edits"
    ET.SubElement(feed, q("subtitle")).text = (
        "Silent edits of the archived transcripts: a new text at a URL that had another")
    ET.SubElement(feed, q("updated")).text = rfc3339(edits[0]["seen"] if edits else updated)
    author = ET.SubElement(feed, q("author"))
    ET.SubElement(author, q("name")).text = "stenogram"
    ET.SubElement(feed, q("link"), rel="self", type="application/atom+xml", href=self_url)
    ET.SubElement(feed, q("link"), rel="alternate", type="text/html", href=f"{base}/-/edits")
    ET.SubElement(feed, q("generator")).text = "stenogram"
    for edit in edits:
        entry = ET.SubElement(feed, q("entry"))
        ET.SubElement(entry, q("id")).text = entry_id(edit)
        ET.SubElement(entry, q("title")).text = f"Edited: {edit['title'] or edit['url']}"
        ET.SubElement(entry, q("updated")).text = rfc3339(edit["seen"])
        ET.SubElement(entry, q("link"), rel="alternate", type="text/html",
                      href=f"{base}/transcript/{edit['document_id']}/history"
                           f"#version-{edit['new']['version_id']}")
        if web_url(edit["url"]):  # a feed reader would open any other scheme as a link
            ET.SubElement(entry, q("link"), rel="related", href=edit["url"])
        ET.SubElement(entry, q("summary")).text = "; ".join(
            [edits_module.summary_text(edit["summary"]),
             _warc_line("before", edit["old"]), _warc_line("after", edit["new"])])
        ET.SubElement(entry, q("content"), type="html").text = entry_html(edit)
    return ET.tostring(feed, encoding="utf-8", xml_declaration=True)


async def _edits(datasette, since: str, with_text: bool) -> list[dict]:
    db = datasette.get_database()
    if "versions" not in await db.table_names():
        return []
    return await db.execute_fn(
        lambda conn: edits_module.recent_edits(conn, since, FEED_SIZE, with_text=with_text))


async def feed(datasette, request):
    since, _ = _since(request)
    edits = await _edits(datasette, since, with_text=True)
    db = datasette.get_database()
    updated = None
    if not edits and "versions" in await db.table_names():
        updated = await db.execute_fn(edits_module.latest_seen)
    base = datasette.absolute_url(request, "/").rstrip("/")
    body = atom_feed(edits, base=base, self_url=datasette.absolute_url(request, request.full_path),
                     feed_id=uuid.uuid5(uuid.NAMESPACE_URL, f"stenogram:edits:{db.name}").urn,
                     updated=updated)
    return Response(body, content_type="application/atom+xml; charset=utf-8")


async def page(datasette, request):
    since, typed = _since(request)
    edits = await _edits(datasette, since, with_text=False)
    for e in edits:
        e["summary_text"] = edits_module.summary_text(e["summary"])
        e["warc_lines"] = [_warc_line("before", e["old"]), _warc_line("after", e["new"])]
    return Response.html(await datasette.render_template("stenogram_edits.html", {
        "edits": edits, "since": typed, "limit": FEED_SIZE}, request=request))


@hookimpl
def register_routes():
    return [(r"^/-/edits$", page), (r"^/-/edits\.atom$", feed)]
