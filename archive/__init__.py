"""WARC writing and reading: stenogram's source of truth.

Every HTTP exchange a crawl makes is written here as WARC/1.1 records; the corpus is
rebuilt from these files, never from anything else.
"""
