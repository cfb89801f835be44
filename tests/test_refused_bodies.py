"""A body over DOWNLOAD_MAXSIZE leaves a trace in the WARC (issue 21 item 5).

Scrapy cancels such a download (declared too long: before the body; chunked: once it grows
past the limit) and no response reaches the archiver, so the page used to leave nothing at
all. Now a metadata record says what was refused and why, with the head that did arrive. The
sample site serves the big bodies server-side: its ``oversize`` fault (Content-Length declared)
and the same page sent chunked (no length known until it is too late).
"""
from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from warcio.archiveiterator import ArchiveIterator

from test_operations_support import run_crawl_subprocess, total

pytestmark = [pytest.mark.network, pytest.mark.slow]

from stenogram.sample_site.faults import Faults  # noqa: E402
from stenogram.sample_site.messages import Response  # noqa: E402

LIMIT = 64 * 1024


class ChunkedOversize(Faults):
    """The sample site's fault hook serving ``chunked`` (target -> size) as a page that big,
    sent with ``Transfer-Encoding: chunked``, so no Content-Length warns the client."""

    def __post_init__(self):
        super().__post_init__()
        self.chunked: dict[str, int] = {}

    def intercept(self, request):
        size = self.chunked.get(request.target) if request.source == "mid" else None
        if size is None:
            return super().intercept(request)
        with self._lock:
            self.applied.append((request.source, request.target, "oversize"))
        filler = b"<p>" + b"padding " * 128 + b"</p>\n"
        body = b"<html><body>" + filler * (size // len(filler) + 1) + b"</body></html>"
        return Response(200, body, [("Content-Type", "text/html; charset=utf-8")], chunked=True)


def refusals(warc_dir: Path) -> list[tuple[str, dict[str, list[str]]]]:
    """(target URI, fields) of each ``x-stenogram-refused`` metadata record."""
    out: list[tuple[str, dict[str, list[str]]]] = []
    for path in sorted(warc_dir.glob("*.warc.gz")):
        with open(path, "rb") as fh:
            for record in ArchiveIterator(fh):
                if record.rec_type != "metadata":
                    continue
                text = record.content_stream().read().decode("utf-8")
                if "x-stenogram-refused:" not in text:
                    continue
                fields: dict[str, list[str]] = {}
                for line in text.splitlines():
                    name, _, value = line.partition(": ")
                    fields.setdefault(name, []).append(value)
                out.append((record.rec_headers.get_header("WARC-Target-URI"), fields))
    return out


def test_a_body_over_download_maxsize_leaves_a_metadata_record(tmp_path):
    from stenogram.sample_site.server import SampleSite

    faults = ChunkedOversize()
    with SampleSite(port=0, size=4, seed=5, faults=faults) as site:
        declared, chunked = [t.copies["mid"].path for t in site.catalog.on("mid", "en")[:2]]
        faults.add("oversize", f"^{declared}$", source="mid", times=None, size=4 * LIMIT)
        faults.chunked[chunked] = 4 * LIMIT
        stats, _ = run_crawl_subprocess(site, tmp_path, ("mid",), timeout=240, settings={
            "DOWNLOAD_MAXSIZE": LIMIT, "DOWNLOAD_WARNSIZE": LIMIT // 2})
        base = site.base_urls["mid"]
    assert faults.count("oversize") >= 2
    records = refusals(tmp_path / "warc")
    assert total(stats, "warc/refused") == len(records) >= 2
    found = dict(records)
    assert set(found) == {base + declared, base + chunked}
    big = found[base + declared]
    expected = re.match(r"Expected to receive (\d+) bytes which is larger than download max size",
                        big["x-stenogram-refused"][0])
    assert expected and int(expected.group(1)) > LIMIT, big
    assert big["x-stenogram-http-status-line"][0].endswith("200 OK")
    assert any(h.lower().startswith("content-length: ") for h in big["x-stenogram-http-header"])
    streamed = found[base + chunked]
    assert f"over DOWNLOAD_MAXSIZE, {LIMIT} bytes" in streamed["x-stenogram-refused"][0]
    assert "Transfer-Encoding: chunked" in streamed["x-stenogram-http-header"]
    # and no response record claims either page
    for path in (tmp_path / "warc").glob("*.warc.gz"):
        with open(path, "rb") as fh:
            assert not [r for r in ArchiveIterator(fh) if r.rec_type in ("response", "revisit")
                        and r.rec_headers.get_header("WARC-Target-URI") in found]
        check = subprocess.run([str(Path(sys.executable).parent / "warcio"), "check", str(path)],
                               capture_output=True, text=True, timeout=60)
        assert check.returncode == 0, check.stdout + check.stderr
