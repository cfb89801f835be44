"""The Scrapy project: spiders, settings, middlewares, the WARC extension and the corpus pipeline."""
