"""Text from pages made safe to print on a terminal: ``neutralise``.

Why: titles, URLs and texts come from the sites (or from a corpus anyone may have made), and
a terminal obeys what it prints. An ESC starts a sequence that can set the window title, clear
the screen, hide the following text or move the cursor over earlier lines (ECMA-48 control
functions; xterm's ctlseqs); a C1 byte such as U+009B is CSI on its own; a carriage return or
backspace overwrites what was printed; and the Unicode bidi embedding, override and isolate
controls (U+202A..U+202E, U+2066..U+2069: the "Trojan Source" characters of CVE-2021-42574,
UAX #9) show text in another order than it is stored. ``rich`` strips only BEL, BS, VT, FF and
CR from ``Text``, so ESC went through the crawl report as it did through ``search`` and ``diff``.

Every such character is replaced by its Python escape (``\\x1b``, ``\\u202e``): printable ASCII,
so nothing is interpreted and the reader still sees that something was there. Newlines (and
tabs) are kept only where the output is multi-line text (``multiline=True``); in a one-line
field (a title, a URL) they are shown escaped too, so no field can forge another line. Only the
output is changed: the corpus keeps the original text.
"""
from __future__ import annotations

import re

#: C0 controls, DEL, C1 controls, the line/paragraph separators, and the bidi embedding,
#: override and isolate controls (plus the marks LRM, RLM and ALM, which reorder neutrals).
_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]")
_UNSAFE_MULTILINE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029"
                               "\u202a-\u202e\u2066-\u2069]")


def _escape(match: re.Match) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def neutralise(text, multiline: bool = False) -> str:
    """``text`` (anything: ``str()`` is taken) with every control, bidi and line-breaking
    character replaced by its escape; ``multiline``: newlines and tabs are kept."""
    text = text if isinstance(text, str) else str(text)
    return (_UNSAFE_MULTILINE if multiline else _UNSAFE).sub(_escape, text)


def json_line(text: str) -> str:
    """A JSON text (``json.dumps(..., ensure_ascii=False)``) with the characters ``neutralise``
    escapes written as JSON ``\\uXXXX`` escapes: the same value to a JSON parser, harmless on a
    terminal (``json.dumps`` escapes only U+0000..U+001F, so DEL, C1 and bidi went raw)."""
    return _UNSAFE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)
