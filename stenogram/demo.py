"""`stenogram demo`: serve the bundled sample site on loopback, crawl all of it, report.

The numbers printed are the crawl's own (Scrapy stats, WARC files on disk, corpus rows), so the
demo doubles as a smoke test of the whole pipeline: spider -> archive -> extract -> corpus.
"""
from __future__ import annotations

from pathlib import Path

from rich.text import Text

from crawler.runner import LOOPBACK_SETTINGS, SOURCES, crawl_lock, run_crawl
from stenogram.report import print_summary, summarise


def run_demo(data_dir: Path, size: int = 40, seed: int = 1, console=None):
    """Crawl a freshly started sample site into ``data_dir``; return (summary, result)."""
    from stenogram.sample_site.server import SampleSite

    data_dir = Path(data_dir)
    with crawl_lock(data_dir), SampleSite(port=0, size=size, seed=seed) as site:
        if console is not None:
            for source, url in site.base_urls.items():
                console.print(Text(f"sample site: {source:15} {url}"))  # data, not markup
        result = run_crawl(SOURCES, out_dir=data_dir, base_urls=site.base_urls, settings=LOOPBACK_SETTINGS)
    summary = summarise(result)
    if console is not None:
        print_summary(summary, result, console)
    return summary, result
