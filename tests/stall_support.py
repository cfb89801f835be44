"""A test-only item pipeline that blocks the crawl's event loop once (``time.sleep`` inside
``process_item``, on the reactor thread), as a huge page being extracted or a slow disk fsync
would. Put on a worker's path by tests/test_redis_frontier_stall.py (``PYTHONPATH`` and
``-s ITEM_PIPELINES=...``); ``STALL_TEST_SECONDS`` says how long, ``STALL_TEST_SPIDER`` on which
source's first item, ``STALL_TEST_MARKER`` names a file where it writes the URL of the item it
blocked on and the seconds it blocked."""
from __future__ import annotations

import json
import time


class StallOnce:
    def __init__(self, crawler):
        self.crawler = crawler
        self.seconds = crawler.settings.getfloat("STALL_TEST_SECONDS")
        self.spider, self.marker = crawler.settings.get("STALL_TEST_SPIDER"), crawler.settings.get("STALL_TEST_MARKER")
        self.stalled = False

    @classmethod
    def from_crawler(cls, crawler):
        return cls(crawler)

    def process_item(self, item, spider=None):
        if not self.stalled and self.crawler.spider.name == self.spider:
            self.stalled = True
            start = time.monotonic()
            time.sleep(self.seconds)  # the reactor does nothing else meanwhile
            with open(self.marker, "w") as fh:
                json.dump({"url": item["url"], "seconds": time.monotonic() - start}, fh)
        return item
