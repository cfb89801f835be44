"""WARC writing and reading: stenogram's source of truth.

Every HTTP exchange a crawl makes is written here as WARC/1.1 records; the corpus is
rebuilt from these files, never from anything else.
"""

# The WARC writer's defaults (archive/warc_writer.py), the crawl's too: crawler/settings.py declares
# each WARC_* setting with one of these and says why. Kept here so that reading the settings loads
# no WARC library.
DEFAULT_PREFIX = "stenogram"
DEFAULT_MAX_SIZE = 1_000_000_000
DEFAULT_MAX_RECORD_BODY = 20 * 1024 * 1024
DEFAULT_DIGEST = "sha1"
DEFAULT_COMPRESSLEVEL = 6
