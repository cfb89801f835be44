"""The Scrapy project: spiders, settings, middlewares, the WARC extension and the corpus pipeline."""
import os

# Scrapy's cookie middleware builds a tldextract.TLDExtract() that downloads the public suffix
# list from the internet on first use: a request no robots.txt, throttle or WARC ever sees, and
# one that fails (after a timeout) on an offline archive host. An empty URL list makes
# tldextract use the snapshot it ships. Set the variable yourself to choose a list.
os.environ.setdefault("TLDEXTRACT_PUBLIC_SUFFIX_LIST_URLS", "")
