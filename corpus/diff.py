"""Word-level diffs of a transcript's versions: for the terminal and as HTML.

Why words: the ministry's silent edits are a changed figure, a name, a quote mark; a line diff
of paragraph-long lines showed a whole paragraph twice. Tokens are words, runs of whitespace
and single punctuation characters, so a changed quote shows as just that quote.

Why two levels: ``difflib.SequenceMatcher`` is quadratic in the occurrences of a frequent token
(spaces, commas, "the") when junk detection is off, so texts are first matched paragraph by
paragraph, and only the paragraphs that differ are compared word by word.

Pairs are chronological (``---`` the older version, ``+++`` the newer one), each side labelled
with its version id, first-seen time, source and URL: consecutive versions seen at the same
URL (silent edits); when no URL has two versions, the other versions (mirrors) against the
canonical one, so the output is never silent about a difference.
"""
from __future__ import annotations

import difflib
import html
import re

from stenogram.corpus.web.links import web_url

EQUAL, DELETE, INSERT = "equal", "delete", "insert"
TOKEN_RE = re.compile(r"[^\W_]+|\s+|.", re.S)

Op = str


def tokens(text: str) -> list[str]:
    """Words, whitespace runs and single other characters; ``"".join(tokens(t)) == t``."""
    return TOKEN_RE.findall(text)


def _append(out: list[tuple[Op, str]], op: Op, text: str) -> None:
    if not text:
        return
    if out and out[-1][0] == op:
        out[-1] = (op, out[-1][1] + text)
    else:
        out.append((op, text))


def _word_ops(out, a: str, b: str) -> None:
    ta, tb = tokens(a), tokens(b)
    sm = difflib.SequenceMatcher(None, ta, tb, autojunk=False)
    for tag, i1, i2, j1, j2 in sm.get_opcodes():
        if tag == "equal":
            _append(out, EQUAL, "".join(ta[i1:i2]))
        else:
            _append(out, DELETE, "".join(ta[i1:i2]))
            _append(out, INSERT, "".join(tb[j1:j2]))


def word_diff(old: str, new: str) -> list[tuple[Op, str]]:
    """``[(op, text), …]`` with op ``"equal"``, ``"delete"`` (only in ``old``) or ``"insert"``
    (only in ``new``). Joining the equal and delete texts gives ``old``, equal and insert
    ``new``; neighbouring pieces never share an op."""
    old, new = old or "", new or ""
    la, lb = old.splitlines(keepends=True), new.splitlines(keepends=True)
    out: list[tuple[Op, str]] = []
    sm = difflib.SequenceMatcher(None, la, lb, autojunk=False)
    for tag, i1, i2, j1, j2 in sm.get_opcodes():
        if tag == "equal":
            _append(out, EQUAL, "".join(la[i1:i2]))
        elif tag == "replace":
            _word_ops(out, "".join(la[i1:i2]), "".join(lb[j1:j2]))
        else:
            _append(out, DELETE, "".join(la[i1:i2]))
            _append(out, INSERT, "".join(lb[j1:j2]))
    return out


def _lines(ops) -> list[list[tuple[Op, str]]]:
    """The ops cut at newlines: one list of pieces per output line (newlines dropped)."""
    lines: list[list[tuple[Op, str]]] = [[]]
    for op, text in ops:
        parts = text.split("\n")
        for k, part in enumerate(parts):
            if k:
                if op == EQUAL or lines[-1]:
                    lines.append([])
            if part:
                lines[-1].append((op, part))
    return lines


def _changed(line) -> bool:
    return any(op != EQUAL for op, _ in line)


def _shown(lines, context: int | None) -> list[int | None]:
    """Indexes of the lines to show (None where lines are left out)."""
    if context is None:
        return list(range(len(lines)))
    keep = set()
    for i, line in enumerate(lines):
        if _changed(line):
            keep.update(range(max(0, i - context), min(len(lines), i + context + 1)))
    out: list[int | None] = []
    for i in sorted(keep):
        if out and out[-1] is not None and i != out[-1] + 1 or not out and i:
            out.append(None)
        out.append(i)
    return out


def label(version: dict) -> str:
    """``version 12, first seen 2024-04-20T09:00:00Z, mid, https://…``."""
    return (f"version {version.get('id')}, first seen {version.get('first_seen')}, "
            f"{version.get('source') or 'unknown source'}, {version.get('url')}")


def unified_word_diff(old_version: dict, new_version: dict, context: int | None = 0) -> str:
    """The terminal view: ``---``/``+++`` headers, then each changed paragraph with ``[-old-]``
    and ``{+new+}`` inline (git's ``--word-diff=plain``), ``context`` unchanged paragraphs
    around it (None: all), ``@@ paragraph N @@`` before each run of shown paragraphs."""
    lines = _lines(word_diff(old_version.get("text") or "", new_version.get("text") or ""))
    out = [f"--- {label(old_version)}", f"+++ {label(new_version)}"]
    if not any(_changed(line) for line in lines):
        out.append("(the texts differ only in ways the comparison ignores)"
                   if old_version.get("text") != new_version.get("text") else "(same text)")
        return "\n".join(out) + "\n"
    previous = None
    for i in _shown(lines, context):
        if i is None:
            continue
        if previous is None or i != previous + 1:
            out.append(f"@@ paragraph {i + 1} @@")
        previous = i
        out.append("".join(text if op == EQUAL else
                           f"[-{text}-]" if op == DELETE else f"{{+{text}+}}"
                           for op, text in lines[i]))
    return "\n".join(out) + "\n"


def _side_html(cls: str, sign: str, version: dict) -> str:
    url = version.get("url") or ""
    if web_url(url):
        link = f'<a href="{html.escape(url)}" rel="noreferrer">{html.escape(url)}</a>'
    else:  # a javascript:/data: "URL" from a hostile corpus is shown, never linked
        link = f'<span class="inert-url">{html.escape(url)}</span>' if url else ""
    return (f'<div class="diff-side {cls}"><span class="diff-sign">{sign}</span> '
            f'version {html.escape(str(version.get("id")))} · first seen '
            f'<time>{html.escape(str(version.get("first_seen")))}</time> · '
            f'{html.escape(version.get("source") or "unknown source")} · {link}</div>')


def diff_html(old_version: dict, new_version: dict, context: int | None = 1) -> str:
    """The same view as an HTML fragment (``<div class="stenogram-diff">``): both sides
    labelled, changed paragraphs as ``<p>`` with ``<del>``/``<ins>``, all text escaped,
    ``<p class="diff-gap">…</p>`` where unchanged paragraphs are left out (``context``:
    unchanged paragraphs kept around each change; None: the whole text)."""
    lines = _lines(word_diff(old_version.get("text") or "", new_version.get("text") or ""))
    out = ['<div class="stenogram-diff">', _side_html("diff-old", "−", old_version),
           _side_html("diff-new", "+", new_version), '<div class="diff-text">']
    tag = {DELETE: "del", INSERT: "ins"}
    for i in _shown(lines, context):
        if i is None:
            out.append('<p class="diff-gap">…</p>')
            continue
        body = "".join(html.escape(text) if op == EQUAL else
                       f"<{tag[op]}>{html.escape(text)}</{tag[op]}>" for op, text in lines[i])
        out.append(f'<p class="changed">{body}</p>' if _changed(lines[i]) else f"<p>{body}</p>")
    out.append("</div></div>")
    return "\n".join(out)


PAGE_STYLE = """body{font:16px/1.5 system-ui,sans-serif;max-width:52em;margin:2em auto;padding:0 1em}
.stenogram-diff{margin:2em 0;border-top:1px solid #ccc}
.diff-side{font-size:.9em;color:#444;margin:.3em 0}.diff-old .diff-sign{color:#b00}
.diff-new .diff-sign{color:#070}del{background:#fdd;color:#900}ins{background:#dfd;color:#060;
text-decoration:none}p.changed{background:#fffbe6}.diff-gap{color:#888}"""


def page_html(title: str, fragments: list[str]) -> str:
    """A standalone page around ``diff_html`` fragments (``stenogram diff --html``)."""
    return (f'<!doctype html>\n<html><head><meta charset="utf-8"><title>{html.escape(title)}'
            f"</title>\n<style>{PAGE_STYLE}</style></head><body>\n<h1>{html.escape(title)}</h1>\n"
            + ("\n".join(fragments) or "<p>A single version: nothing to compare.</p>")
            + "\n</body></html>\n")


def version_pairs(versions: list[dict], canonical_id: int | None) -> list[tuple[dict, dict]]:
    """``(older, newer)`` pairs to show for a document (see the module docstring);
    ``versions`` oldest first (``Corpus.versions``)."""
    by_url: dict[str, list[dict]] = {}
    for v in versions:
        by_url.setdefault(v.get("url_key") or v.get("url"), []).append(v)
    pairs = [(a, b) for vs in by_url.values() for a, b in zip(vs, vs[1:])]
    if not pairs and len(versions) > 1:
        base = next((v for v in versions if v["id"] == canonical_id), versions[-1])
        pairs = [(base, v) for v in versions if v["id"] != base["id"]]
    key = lambda v: (v.get("first_seen") or "", v["id"])  # noqa: E731
    pairs = [(a, b) if key(a) <= key(b) else (b, a) for a, b in pairs]
    return sorted(pairs, key=lambda p: (key(p[1]), key(p[0])))


def document_pairs(corpus, document_id: int) -> list[tuple[dict, dict]]:
    """The pairs of a document of ``corpus`` (a ``Corpus`` or ``ReadOnlyCorpus``); KeyError when
    there is no such document."""
    versions = corpus.versions(document_id)
    if not versions:
        raise KeyError(f"no document {document_id}")
    row = corpus.conn.execute("SELECT canonical_version_id FROM documents WHERE id = ?",
                              (document_id,)).fetchone()
    return version_pairs(versions, row[0] if row else None)


def document_diff(corpus, document_id: int, context: int | None = 0) -> str:
    """Every pair of a document as ``unified_word_diff``s ("" for a single version)."""
    return "\n".join(unified_word_diff(a, b, context) for a, b in
                     document_pairs(corpus, document_id))
