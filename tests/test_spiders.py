"""Spider URL logic: canonical article URLs and which links each spider follows."""
from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from stenogram.crawler.spiders.globalsecurity import MFA_FILE
from stenogram.crawler.spiders.interaffairs import ARTICLE_PATH as DLE_ARTICLE
from stenogram.crawler.spiders.mid import MidSpider, canonical_article_url
from stenogram.crawler.spiders.mid_archive import ARTICLE_PATH as LIFERAY_ARTICLE

langs = st.sampled_from(["en", "ru", "de", "fr", "es", "pt"])
sections = st.sampled_from(["foreign_policy/news", "press_service/minister_speeches"])
ids = st.integers(min_value=1_000_000, max_value=9_999_999)


@given(langs, sections, ids, st.booleans(), st.booleans(), st.sampled_from(["", "?lang=ru", "?utm_source=x"]))
def test_bitrix_url_variants_canonicalise_to_one_form(lang, section, item, www, slash, query):
    host = ("www." if www else "") + "mid.ru"
    url = f"https://{host}/{lang}/{section}/{item}{'/' if slash else ''}{query}"
    canonical = canonical_article_url(url)
    assert canonical == f"https://mid.ru/{lang}/{section}/{item}/"
    assert canonical_article_url(canonical) == canonical  # idempotent


def test_non_article_urls_are_not_canonicalised():
    for url in (
        "https://mid.ru/en/foreign_policy/news/",
        "https://mid.ru/en/foreign_policy/news/?PAGEN_1=2",
        "https://mid.ru/en/rss.php",
        "https://mid.ru/en/news/1975643/",
        "https://mid.ru/en/press_service/minister_speeches/-/asset_publisher/7OvQR5KJWVmR/content/id/4001740",
    ):
        assert canonical_article_url(url) is None, url


def test_spider_base_url_defaults_to_live_site_and_is_overridable():
    assert MidSpider().url("/en/rss.php") == "https://mid.ru/en/rss.php"
    spider = MidSpider(base_url="http://127.0.0.1:8001/")
    assert spider.url("/en/foreign_policy/news/") == "http://127.0.0.1:8001/en/foreign_policy/news/"


def test_source_url_schemes_of_docs_sites_md():
    assert LIFERAY_ARTICLE.search(
        "/en/press_service/minister_speeches/-/asset_publisher/7OvQR5KJWVmR/content/id/4001740"
    )
    assert MFA_FILE.search("/wmd/library/news/russia/2021/russia-210408-russia-mfa01.htm")
    assert MFA_FILE.search("/wmd/library/news/russia/2024/08/russia-240812-russia-mfa02.htm")
    assert MFA_FILE.search("/wmd/library/news/ukraine/2022/ukraine-220305-russia-mfa01.htm")
    assert not MFA_FILE.search("/wmd/library/news/russia/2021/russia-210408-kremlin01.htm")
    assert not MFA_FILE.search("/wmd/library/news/russia/2021/russia-210408-russia-mfab01.htm")
    assert DLE_ARTICLE.match("/lavrov/1234-speech-by-sergey-lavrov.html")
    assert not DLE_ARTICLE.match("/lavrov/print:page,1,1234-speech-by-sergey-lavrov.html")
    assert DLE_ARTICLE.match("/article/sergey-lavrov-s-remarks-and-answers-to-media-questions/")
    assert not DLE_ARTICLE.match("/article/a/b/")


def test_interaffairs_listing_follows_both_article_url_forms():
    """The redesigned site lists /article/<slug>/ (issue 21): the live crawl follows it too."""
    from scrapy.http import HtmlResponse, Request

    from stenogram.crawler.spiders.interaffairs import InterAffairsSpider

    spider = InterAffairsSpider(base_url="http://127.0.0.1:9")
    body = b"""<html><body>
      <a href="/lavrov/1234-speech-by-sergey-lavrov.html">old</a>
      <a href="/article/lavrov-interview-to-rt/">new</a>
      <a href="/lavrov/page/2/">2</a><a href="/about/">about</a></body></html>"""
    listing = "http://127.0.0.1:9/lavrov/"
    response = HtmlResponse(listing, body=body, request=Request(listing, meta={"discovery": True}))
    urls = [r.url for r in spider.parse_listing(response)]
    assert "http://127.0.0.1:9/lavrov/1234-speech-by-sergey-lavrov.html" in urls
    assert "http://127.0.0.1:9/article/lavrov-interview-to-rt/" in urls
    assert "http://127.0.0.1:9/about/" not in urls


def test_cookie_domain_splitting_uses_the_bundled_suffix_list(tmp_path, loopback_only):
    """Scrapy's cookie middleware must not download the public suffix list (an off-site
    request no robots.txt or WARC sees): importing the crawler package turns that off."""
    import stenogram.crawler  # noqa: F401  (sets TLDEXTRACT_PUBLIC_SUFFIX_LIST_URLS)
    from tldextract import TLDExtract

    refused_before = len(loopback_only)
    # what scrapy.downloadermiddlewares.cookies builds, with an empty cache as on a new machine
    split = TLDExtract(include_psl_private_domains=True, cache_dir=str(tmp_path))
    assert split("https://www.mid.ru/en/").domain == "mid"
    assert split("https://en.interaffairs.ru/lavrov/").suffix == "ru"
    assert loopback_only[refused_before:] == []  # tldextract would swallow a refused fetch
