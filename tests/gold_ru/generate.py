"""Generate tests/gold_ru: the seed transcripts inside layouts of real Russian CMSs, with truth.

Why: the public extraction benchmarks hold almost no pages from Russian sites, and the sample
site's own templates are the ones stenogram was written against. These pages put the texts of the
five real transcripts (`stenogram/sample_site/content/seeds/*.json`, hand-cleaned from the dumps
in ../shared/seeds and checked line by line against them) and the two Russian counterparts
(`content/russian/*.json`) inside the page structure that four CMSs publicly document, together
with the chrome those sites carry. The body truth of every page is the seed's paragraphs, exactly;
everything else on the page is chrome, and the visible chrome strings are listed per page.

Where each layout's structure comes from (public template sources, found with the project's
code search; read, not copied: markup here is written from their class names and nesting):

- 1C-Bitrix, `bitrix:news.detail` component, `.default` template: `div.news-detail`,
  `img.detail_picture`, `span.news-date-time`, the title in `h3`, DETAIL_TEXT, then
  `div.news-detail-share` with `<noindex>` around `bitrix:main.share` (template.php of
  Miheev/amax `.../news.detail/.default/`, flick2301/repa1 `.../news.detail/.default/`).
  Breadcrumbs of `bitrix:breadcrumb`: `div.bx-breadcrumb > div.bx-breadcrumb-item#bx_breadcrumb_N`
  with schema.org ListItem (cesnakas/eurocran.su `components/bitrix/breadcrumb/.default`).
- 1C-Bitrix, `news.detail` "flat" (bootstrap) template: `div.bx-newsdetail >
  div.bx-newsdetail-block > h3.bx-newsdetail-title, div.bx-newsdetail-content,
  div.bx-newsdetail-date, div.bx-newsdetail-view` (several public templates carrying these class
  names; one scraper reads `div.bx-newsdetail-date` and `div.bx-newsdetail-content bvi-tts`,
  the latter class from the "version for the visually impaired" plugin).
- DataLife Engine, classic templates (DLE 10.x "Pisces", SalmonOstanov/DLE-10.5
  `templates/Pisces/fullstory.tpl` and devLamo/aion `templates/Pisces/main.tpl`): main.tpl with
  `#headbar`, `.headlinks`, `#speedbar` ({speedbar}), the search form `ul.searchbar` ("Поиск..."),
  `{content}` inside `div#dle-content`; fullstory `div.base.fullstory > div.dpad > h3.btl >
  span#news-title`, `p.binfo.small` ("Автор: ... от ..., посмотрело: ..."), `div.maincont`
  ({full-story}), `div.storenumber` ({pages}), `div.btags` ("Теги:"), `div.mlink`,
  `p.argcat.small` ("Категория:"), `div.related` ("А также:").
- DataLife Engine 13+ "Default" (zaventerteryan/zgames.github.io `templates/Default/fullstory.tpl`,
  JasonDINalT/nw `templates/GhostAnime/fullstory.tpl`): `article.box.story.fullstory >
  div.box_in > h2.title, div.text` ({full-story}), `{pages}`, `div.story_tools` (category,
  rating), `#related`, "Вернуться".
- WordPress, Twenty Twenty-One (acerempel/assiniboine `template-parts/content/content.php`,
  madrilene/wp-excellent `single.php`): `article#post-N.post... > header.entry-header >
  h1.entry-title`, `div.entry-content` (the_content), `footer.entry-footer`, post navigation,
  `comments_template()` (`#comments.comments-area`, `ol.comment-list`, `#respond.comment-respond`),
  footer widgets (search, recent posts, archives, categories, the calendar table `#wp-calendar`).
- WordPress with a Russian theme (x8lxl8x/Websites `themes/ayurveda/single.php`,
  Jekeam/marafon_wp_theme `single.php`): `div.post#post-N > div.post-title h1, div.post-category
  ("Тема:"), div.post-time, div.post-content`, the Yandex share block `div.ya-share2` loaded from
  yastatic.net, "Метки:", Yoast breadcrumbs `p#breadcrumbs`, `itemprop="articleBody"`.
- Joomla 3 (NicerWang/joomla-template-coldgrey `html/com_content/article/default.php`; the info
  block layouts of joomla/joomla-cms `layouts/joomla/content/info_block/publish_date.php` and the
  `hits` layout of JoomShaper/Helix3): `div.item-page[itemscope][itemtype=.../Article] >
  meta[itemprop=inLanguage], div.page-header > h2[itemprop=headline], dl.article-info >
  dt.article-info-term, dd.published > time[itemprop=datePublished], dd.hits >
  meta[itemprop=interactionCount]`, `div[itemprop=articleBody]`, `ul.pager.pagenav`.
- Joomla 4 Cassiopeia: the same com_content article with the `com-content-article` prefix
  (`div.com-content-article.item-page`, `div.com-content-article__body[itemprop=articleBody]`),
  `nav.mod-breadcrumbs__wrapper > ol.mod-breadcrumbs.breadcrumb`, `has-sidebar-right` on body.

- Page navigation of a long article split in pages: Bitrix `modern-page-navigation`
  (`bitrix:system.pagenavigation`), DLE `{pages}` in `div.storenumber` (Pisces fullstory.tpl),
  WordPress `wp_link_pages` (`nav.page-links`, "Page %" in Twenty Twenty-One's content.php; the
  Russian theme's "Читать страницу:"), Joomla's pagebreak plugin (joomla/joomla-cms
  `plugins/content/pagebreak`: `div.pull-right.article-index > h3 + ul.nav.nav-tabs.nav-stacked`
  of `a.toclink`, "all pages", the page counter).

Counters (Yandex.Metrika's `mc.yandex.ru/watch` noscript image, LiveInternet), the Cookie Notice
banner (`#cookie-notice`, "Ок") and embedded videos (YouTube/RuTube iframes, WordPress's
`figure.wp-block-embed`) are the ordinary markup of those services.

Deterministic: every choice comes from the page id (sha256), never from the clock or `random`'s
global state. Output: `pages/<id>.html` (bytes in the page's encoding) and `cases.json`.

    .venv/bin/python tests/gold_ru/generate.py          # (re)write pages/ and cases.json
    .venv/bin/python tests/gold_ru/generate.py --check  # exit 1 if the files on disk differ
"""
from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import html
import json
import random
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
CONTENT = ROOT / "stenogram" / "sample_site" / "content"
TEXTS = ["seeds/000", "seeds/001", "seeds/002", "seeds/003", "seeds/004", "russian/000", "russian/003"]
HELD_BACK_EVERY = 3  # a page is held back when int(sha256(id)) % 3 == 0 (about a third)

RU_MONTHS = ["января", "февраля", "марта", "апреля", "мая", "июня", "июля", "августа",
             "сентября", "октября", "ноября", "декабря"]
RU_MONTHS_NOM = ["Январь", "Февраль", "Март", "Апрель", "Май", "Июнь", "Июль", "Август",
                 "Сентябрь", "Октябрь", "Ноябрь", "Декабрь"]
TOKEN = re.compile(r"\w+")

# The seeds' own chrome, as the dumps in ../shared/seeds show it (001: interaffairs.ru, DLE;
# 002: archive.mid.ru, Liferay; 003: mid.ru, Bitrix; 004: globalsecurity.org). 000 has none.
SEED_CHROME = {
    "menu_en": ["Editor's Column", "Golden Collection", "MFA Russia News", "All Tags"],
    "archive_en": ["Archive material", "July 2020 (7)", "June 2020 (27)", "May 2020 (19)",
                   "April 2020 (20)", "March 2020 (23)", "February 2020 (21)"],
    "meta_en": ["Category: Minister S.Lavrov", "Views: 2 133", "Print version"],
    "related_en": [
        "Statement for the mass media by Sergey Lavrov, during the joint press conference summarising the results of the negotiations with the Minister of Foreign Affairs of the Republic of Tajikistan, Sirodjidin Aslov, Dushanbe, 30 July 2014",
        "Introductory speech by the Russian Foreign Minister, Sergey Lavrov, and his reply to questions from the mass media during the press conference summarising the results of the Conference of foreign ministers of the Caspian states, Moscow, 22 April 2014",
        "Speech by the Russian Foreign Minister, Sergey Lavrov, and his answers to questions from the mass media during the joint press conference with the CSTO Secretary General, Nikolai Bordyuzha, Moscow, 3 April 2014",
        "Introductory speech by Sergey Lavrov, and his answers to questions from the mass media during the press conference summarising the results of the negotiations with the Armenian Foreign Minister, Edward Nalbandian, Moscow, 18 November 2013",
        "Speech of and answers to questions by Sergey Lavrov during joint press conference summarizing the results of negotiations with Deputy Chairman of the Government and Foreign Minister of Slovenia Karl Erjavec, Ljubljana, 3 May 2013",
    ],
    "lang_liferay": ["de-DE1", "en-GB1", "es-ES1", "ru-RU1", "fr-FR1"],
    "search_liferay": ["Showing 1 result.", "Advanced settings"],
    "mid_extra": ["Дополнительные материалы", "Фото", "Фотоальбом", "1 из 1 фотографий в альбоме"],
    "mid_search": ["Некорректно указаны даты", "Дополнительные инструменты поиска"],
    "mid_tags": ["Международная безопасность"],
    "gs_banner": ["UNITED24 - Make a charitable donation in support of Ukraine!",
                  "Weapons of Mass Destruction (WMD)",
                  "The Ministry of Foreign Affairs of the Russian Federation"],
    "gs_footer": ["Join the GlobalSecurity.org mailing list"],
}
OWN_CHROME = {"seed-000": [], "seed-001": ["menu_en", "archive_en", "meta_en", "related_en"],
              "seed-002": ["lang_liferay", "search_liferay"],
              "seed-003": ["mid_extra", "mid_search", "mid_tags"], "seed-004": ["gs_banner", "gs_footer"],
              "seed-000-ru": [], "seed-003-ru": ["mid_extra", "mid_search", "mid_tags"]}
RUSSIAN_GROUPS = ["mid_extra", "mid_search", "mid_tags"]

# Russian chrome written for these pages (what such sites carry around an article)
RELATED_RU = [
    "Брифинг официального представителя МИД России М.В.Захаровой, Москва, 10 марта 2022 года",
    "Интервью Министра иностранных дел России С.В.Лаврова телеканалу «Россия 24», 2 апреля 2021 года",
    "О телефонном разговоре Министра иностранных дел России с Министром иностранных дел Республики Узбекистан",
    "Комментарий Департамента информации и печати МИД России в связи с годовщиной подписания Договора о дружбе",
    "О консультациях заместителя Министра иностранных дел России с делегацией Республики Таджикистан",
    "Выступление заместителя Министра иностранных дел России на заседании Совета министров иностранных дел ОДКБ",
]
COMMENTS_RU = [
    ("Алексей", "Спасибо за публикацию полного текста, в новостях были только короткие выдержки из ответов."),
    ("Ирина П.", "Хотелось бы увидеть и видеозапись пресс-конференции целиком, ссылка в конце статьи не открывается."),
    ("Сергей_К", "Где можно найти текст совместного заявления, которое упоминается в материале? На сайте его не нашёл."),
    ("Наталья", "Очень содержательно. Подскажите, будет ли опубликован перевод на казахский язык?"),
    ("Гость", "Добавьте, пожалуйста, дату и место проведения в заголовок раздела, так удобнее искать в архиве."),
    ("Дмитрий В.", "Перепечатал у себя в блоге со ссылкой на ваш сайт, надеюсь, это не запрещено правилами."),
]
LABEL = re.compile(r"^((?:Question|Sergey Lavrov|Sergey Lebedev|Вопрос|С\.В\.Лавров|С\.Н\.Лебедев)[^:]{0,60}):\s")


@dataclass
class Text:
    key: str
    language: str
    title: str
    date: str
    time: str | None
    paragraphs: list[str]


@dataclass
class Options:
    encoding: str            # "utf-8" | "windows-1251"
    declared: bool           # a charset in the page (meta); False: nothing anywhere
    style: str               # how the body paragraphs are marked up
    comments: bool
    share: bool
    related: bool
    cookie: bool
    video: bool
    archive: bool
    layout: str = ""
    pager: tuple[int, int] | None = None             # (this page, pages): a long text split in pages
    groups: list[str] = field(default_factory=list)  # seed chrome groups shown on the page
    own: list[str] = field(default_factory=list)     # those from the page's own seed


class Chrome:
    """Escapes chrome text into the page and remembers it: the page's list of chrome strings."""

    def __init__(self) -> None:
        self.strings: list[str] = []

    def __call__(self, text: str) -> str:
        if text not in self.strings:
            self.strings.append(text)
        return html.escape(text, quote=False)


def esc(text: str) -> str:
    return html.escape(text, quote=False)


def attr(text: str) -> str:
    return html.escape(text, quote=True)


def load_texts() -> list[Text]:
    out = []
    for name in TEXTS:
        d = json.loads((CONTENT / f"{name}.json").read_text(encoding="utf-8"))
        out.append(Text(d["key"], d["language"], d["title"], d["date"], d["time"], d["paragraphs"]))
    return out


def page_rng(page_id: str) -> random.Random:
    return random.Random(int(hashlib.sha256(page_id.encode()).hexdigest(), 16))


def part_of(page_id: str) -> str:
    """The split: by a hash of the page id, so adding pages never moves an existing one."""
    return "held" if int(hashlib.sha256(page_id.encode()).hexdigest(), 16) % HELD_BACK_EVERY == 0 else "tune"


# ---------------------------------------------------------------------------- dates

def ymd(t: Text) -> tuple[int, int, int]:
    y, m, d = (int(x) for x in t.date.split("-"))
    return y, m, d


def date_dots(t: Text) -> str:
    y, m, d = ymd(t)
    return f"{d:02d}.{m:02d}.{y}"


def date_words(t: Text) -> str:
    y, m, d = ymd(t)
    return f"{d} {RU_MONTHS[m - 1]} {y}"


def iso_time(t: Text) -> str:
    return f"{t.date}T{t.time or '12:00'}:00+03:00"


# ---------------------------------------------------------------------------- the body

PAGE_TITLES = ["Вступительное слово", "Ответы на вопросы СМИ", "Ответы на вопросы СМИ (продолжение)"]


def _page_numbers(o: Options, link: str, current: str) -> str:
    k, n = o.pager
    return " ".join(current.format(i=i) if i == k else link.format(i=i) for i in range(1, n + 1))


def pager_inside(o: Options, c: Chrome) -> tuple[str, str]:
    """A paginated text's navigation where the CMS prints it inside the body's container:
    Bitrix's NAV_STRING above and below the text (DISPLAY_TOP_PAGER/DISPLAY_BOTTOM_PAGER of
    news.detail), WordPress's wp_link_pages after the_content, Joomla's pagebreak plugin (the
    article index `div.article-index` and "Страница N из M" above, its pager below)."""
    if not o.pager:
        return "", ""
    k, n = o.pager
    if o.layout.startswith("bitrix"):
        nav = (f'<div class="modern-page-navigation"><span class="modern-page-title">{c("Страницы")}:</span> '
               + (f'<a class="modern-page-previous" href="?PAGEN_1={k - 1}">{c("Пред.")}</a> ' if k > 1 else "")
               + _page_numbers(o, '<a href="?PAGEN_1={i}">{i}</a>', '<span class="modern-page-current">{i}</span>')
               + (f' <a class="modern-page-next" href="?PAGEN_1={k + 1}">{c("След.")}</a>' if k < n else "") + "</div>")
        return nav + "<br />", "<br />" + nav
    if o.layout == "wp-twentyone":
        links = " ".join(f'<span class="post-page-numbers current" aria-current="page">{c(f"Страница {i}")}</span>' if i == k
                         else f'<a href="?page={i}" class="post-page-numbers">{c(f"Страница {i}")}</a>' for i in range(1, n + 1))
        return "", f'<nav class="page-links" aria-label="Страница">{links}</nav>'
    if o.layout.startswith("joomla"):
        items = "".join(f'<li class="{"active" if i == k else ""}"><a href="?limitstart={i - 1}" class="toclink">{c(PAGE_TITLES[i - 1])}</a></li>'
                        for i in range(1, n + 1))
        top = (f'<div class="pull-right article-index"><h3>{c("Содержание статьи")}</h3><ul class="nav nav-tabs nav-stacked">{items}'
               f'<li><a href="?showall=1" class="toclink">{c("Все страницы")}</a></li></ul></div>'
               f'<div class="pagenavcounter">{c(f"Страница {k} из {n}")}</div>')
        bottom = ('<div class="pager"><ul>'
                  + (f'<li class="previous"><a href="?limitstart={k - 2}">{c("Предыдущая страница")}</a></li>' if k > 1 else "")
                  + (f'<li class="next"><a href="?limitstart={k}">{c("Следующая страница")}</a></li>' if k < n else "")
                  + "</ul></div>")
        return top, bottom
    return "", ""


def pager_outside(o: Options, c: Chrome) -> str:
    """Where the template prints the page list outside the text: DLE's {pages} (classic:
    `div.storenumber` after `div.maincont`), the Russian theme's wp_link_pages("Читать страницу:")."""
    if not o.pager:
        return ""
    if o.layout == "dle-classic":
        return (f'<b>{c("Страницы новости")}:</b> '
                + _page_numbers(o, '<a href="/page,1,{i},2361-lavrov.html">{i}</a>', "<span>{i}</span>"))
    if o.layout == "dle-modern":
        return (f'<div class="pages"><span class="pages-title">{c("Страницы публикации")}</span> '
                + _page_numbers(o, '<a href="/page,1,{i},1234-text.html">{i}</a>', "<span>{i}</span>") + "</div>")
    if o.layout == "wp-russian":
        return (f"<div class='alignright'><p><span class=\"\">{c('Читать страницу')}: </span>"
                + _page_numbers(o, '<a href="?page={i}" class="post-page-numbers">{i}</a>', '<span class="post-page-numbers current">{i}</span>')
                + "</p></div><div class='clClear'></div>")
    return ""


def body_html(t: Text, o: Options, video: str, c: Chrome) -> str:
    """The seed's paragraphs, marked up as the CMS's editor leaves them; the video after the 3rd."""
    parts = []
    for i, p in enumerate(t.paragraphs):
        m = LABEL.match(p)
        if o.style == "strong_labels" and m:
            inner = f"<strong>{esc(m.group(1))}:</strong> {esc(p[m.end():])}"
        elif o.style == "nbsp" and m:
            inner = f"{esc(m.group(1))}:&nbsp;{esc(p[m.end():])}"
        else:
            inner = esc(p)
        if o.style == "div":
            parts.append(f"<div>{inner}</div>")
        elif o.style == "br":
            parts.append(inner)
        elif o.style == "p_justify":
            parts.append(f'<p style="text-align: justify;">{inner}</p>')
        else:
            parts.append(f"<p>{inner}</p>")
        if i == 2 and o.video:
            parts.append(video)
    top, bottom = pager_inside(o, c)
    if o.style == "br":
        return top + "<br />\n<br />\n".join(parts) + bottom
    return top + "\n".join(parts) + bottom


# ---------------------------------------------------------------------------- shared chrome pieces

def counters(rng: random.Random) -> str:
    n = rng.randint(10000000, 99999999)
    return (f'<!-- Yandex.Metrika counter --><script type="text/javascript">(function(m,e,t,r,i,k,a){{m[i]=m[i]||'
            f'function(){{(m[i].a=m[i].a||[]).push(arguments)}};m[i].l=1*new Date();k=e.createElement(t),'
            f'a=e.getElementsByTagName(t)[0],k.async=1,k.src=r,a.parentNode.insertBefore(k,a)}})(window, document,'
            f'"script","https://mc.yandex.ru/metrika/tag.js","ym");ym({n},"init",{{clickmap:true,trackLinks:true,'
            f'accurateTrackBounce:true}});</script><noscript><div><img src="https://mc.yandex.ru/watch/{n}" '
            f'style="position:absolute; left:-9999px;" alt="" /></div></noscript><!-- /Yandex.Metrika counter -->\n'
            '<!--LiveInternet counter--><a href="https://www.liveinternet.ru/click" target="_blank"><img '
            'id="licntD6A1" width="88" height="31" style="border:0" title="LiveInternet: показано число '
            'просмотров за 24 часа, посетителей за 24 часа и за сегодня" src="data:image/gif;base64,'
            'R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7" alt=""/></a><!--/LiveInternet-->')


def cookie_banner(c: Chrome) -> str:
    return ('<div id="cookie-notice" role="dialog" class="cookie-notice-hidden cookie-revoke-hidden '
            'cn-position-bottom" aria-label="Cookie Notice"><div class="cookie-notice-container">'
            f'<span id="cn-notice-text" class="cn-text-container">{c("Мы используем файлы cookie, чтобы сайт работал удобнее. Продолжая пользоваться сайтом, вы соглашаетесь с их использованием.")}'
            f'</span><span id="cn-notice-buttons" class="cn-buttons-container"><a href="#" id="cn-accept-cookie" '
            f'data-cookie-set="accept" class="cn-set-cookie cn-button">Ок</a><a href="/politika-konfidencialnosti/" '
            f'target="_blank" id="cn-more-info" class="cn-more-info cn-button">{c("Политика конфиденциальности")}</a>'
            '</span></div></div>')


def video_iframe(rng: random.Random, kind: str) -> str:
    vid = "".join(rng.choice("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-") for _ in range(11))
    if kind == "wp":
        return ('<figure class="wp-block-embed is-type-video is-provider-youtube wp-block-embed-youtube '
                'wp-embed-aspect-16-9 wp-has-aspect-ratio"><div class="wp-block-embed__wrapper">\n'
                f'<iframe title="YouTube video player" width="750" height="422" src="https://www.youtube.com/embed/{vid}'
                '?feature=oembed" frameborder="0" allow="accelerometer; autoplay; clipboard-write; encrypted-media; '
                'gyroscope; picture-in-picture" allowfullscreen></iframe>\n</div></figure>')
    if kind == "rutube":
        h = hashlib.md5(vid.encode()).hexdigest()
        return (f'<p><iframe width="720" height="405" src="https://rutube.ru/play/embed/{h}" frameborder="0" '
                'allow="clipboard-write; autoplay" webkitAllowFullScreen mozallowfullscreen allowFullScreen></iframe></p>')
    return (f'<p style="text-align: center;"><iframe width="640" height="360" src="https://www.youtube.com/embed/{vid}" '
            'frameborder="0" allowfullscreen></iframe></p>')


def seed_group_html(name: str, c: Chrome, cls: str, own: bool = False) -> str:
    """One group of the seeds' chrome in the markup a sidebar/footer block would give it."""
    items = SEED_CHROME[name]
    if name == "lang_liferay":
        c(" ".join(items))  # the dump's line: a text dump runs the list together
        return (f'<div class="{cls} portlet-language"><ul class="taglib-language-list-text">'
                + "\n".join(f'<li><a href="?languageId={i[:5].replace("-", "_")}">{esc(i[:5])}<span>{esc(i[5:])}</span></a></li>' for i in items)
                + "</ul></div>")
    if name in ("menu_en", "archive_en", "related_en", "mid_tags"):
        head, rest = (items[0], items[1:]) if name == "archive_en" else (None, items)
        h = f"<h4>{c(head)}</h4>" if head else ""
        return (f'<div class="{cls} block-{name.replace("_", "-")}">{h}<ul>'
                + "".join(f'<li><a href="/archive/{i}/">{c(x)}</a></li>' for i, x in enumerate(rest)) + "</ul></div>")
    if name == "meta_en":
        return (f'<ul class="{cls} story-meta"><li>{c(items[0])}</li><li>{c(items[1])} |</li>'
                f'<li><a href="?print=1">{c(items[2])}</a> |</li></ul>')
    if name == "mid_extra":
        return (f'<div class="{cls} add-materials"><h3>{c(items[0])}</h3><ul class="tabs"><li class="active">'
                f'{c(items[1])}</li></ul><div class="album"><h4>{c(items[2])}</h4><p class="album__count">{c(items[3])}'
                '</p><img src="/upload/medialibrary/album-1.jpg" alt=""></div></div>')
    if name in ("mid_search", "search_liferay"):
        return (f'<div class="{cls} search-leftovers">'
                + "".join(f'<div class="search-msg" style="display:none">{c(x)}</div>' for x in items) + "</div>")
    if name == "gs_banner":
        return (f'<div class="{cls} top-banner"><a href="https://u24.gov.ua/">{c(items[0])}</a></div>'
                f'<div class="{cls} section-title"><h2>{c(items[1])}</h2><h3>{c(items[2])}</h3></div>')
    if name == "gs_footer":  # the source's own form posts to its mailing-list script; elsewhere a subscribe page
        action = "/mailinglist.php" if own else "/subscribe/"
        return (f'<form class="{cls}" action="{action}" method="post"><b>{c(items[0])}</b> '
                '<input type="text" name="email" size="20"> <input type="submit" value="OK"></form>')
    raise ValueError(name)


def groups_html(o: Options, c: Chrome, cls: str, which: set[str]) -> str:
    out = []
    for g in o.groups:
        if g in which:
            out.append(seed_group_html(g, c, cls, own=g in o.own))
    return "".join(f"\n{x}\n" for x in out)


SIDE_GROUPS = {"menu_en", "archive_en", "lang_liferay", "mid_search", "search_liferay"}
AFTER_GROUPS = {"meta_en", "related_en", "mid_extra", "mid_tags"}
TOP_GROUPS = {"gs_banner"}
FOOT_GROUPS = {"gs_footer"}


def comment_items(t: Text, rng: random.Random, c: Chrome, n: int) -> list[tuple[str, str, str]]:
    """n readers' comments, dated within a month after the text (as such sites print them)."""
    picked = rng.sample(COMMENTS_RU, n)
    out = []
    for name, text in picked:
        when = dt.datetime.fromisoformat(t.date) + dt.timedelta(days=rng.randint(0, 30), minutes=rng.randint(600, 1380))
        out.append((c(name), c(text), when.strftime("%d.%m.%Y %H:%M")))
    return out


def related_titles(t: Text, texts: list[Text], rng: random.Random, n: int) -> list[str]:
    pool = [x.title for x in texts if x.key != t.key and x.language == t.language] + RELATED_RU
    return rng.sample(pool, n)


def archive_months(rng: random.Random, c: Chrome, n: int, fmt: str) -> list[str]:
    y, m = rng.randint(2019, 2024), rng.randint(1, 12)
    out = []
    for _ in range(n):
        label = fmt.format(month=RU_MONTHS_NOM[m - 1], year=y, count=rng.randint(5, 40))
        out.append(c(label))
        m -= 1
        if m == 0:
            y, m = y - 1, 12
    return out


def head(title: str, o: Options, extra: str = "", lang: str = "ru") -> str:
    charset = ""
    if o.declared:
        charset = (f'<meta http-equiv="Content-Type" content="text/html; charset={o.encoding}" />'
                   if o.encoding == "windows-1251" else '<meta charset="utf-8">')
    return (f'<!DOCTYPE html>\n<html lang="{lang}">\n<head>\n{charset}\n<title>{esc(title)}</title>\n'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">\n'
            f'<meta property="og:title" content="{attr(title)}">\n{extra}'
            '<style>body{font-family:Arial,sans-serif}.hidden{display:none}</style>\n</head>\n')


# ---------------------------------------------------------------------------- layouts

def bitrix_classic(t: Text, texts: list[Text], o: Options, c: Chrome, rng: random.Random) -> str:
    """A regional government site on 1C-Bitrix (news.detail .default), table layout, left menu."""
    site = "Представительство МИД России в Санкт-Петербурге"
    items = ["Главная", "Пресс-служба", "Новости"]
    crumbs = "".join(
        f'<div class="bx-breadcrumb-item" id="bx_breadcrumb_{i}" itemprop="itemListElement" itemscope '
        f'itemtype="http://schema.org/ListItem"><a href="/{"press/" * i}" title="{attr(x)}" itemprop="item">'
        f'<span itemprop="name">{c(x)}</span></a><meta itemprop="position" content="{i + 1}" /></div>'
        + (' <i class="fa fa-angle-right"></i> ' if i < 2 else "") for i, x in enumerate(items))
    left = "".join(f'<li><a href="/{i}/">{c(x)}</a></li>' for i, x in enumerate(
        ["О представительстве", "Руководство", "Консульские вопросы", "Легализация документов",
         "Пресс-служба", "Фотогалерея", "Обращения граждан", "Противодействие коррупции"]))
    share = ""
    if o.share:
        share = ('<div class="news-detail-share"><noindex><div class="bx-share-social">'
                 f'<span class="bx-share-title">{c("Поделиться")}:</span>'
                 + "".join(f'<a class="bx-share-icon" href="#" rel="nofollow" title="{x}">{esc(x)}</a>'
                           for x in ("ВКонтакте", "Одноклассники", "Telegram")) + "</div></noindex></div>")
    related = ""
    if o.related:
        related = (f'<div class="news-related"><h4>{c("Другие новости раздела")}</h4><ul>'
                   + "".join(f'<li><a href="/press/news/{rng.randint(1000, 9999)}/">{c(x)}</a></li>'
                             for x in related_titles(t, texts, rng, 3)) + "</ul></div>")
    archive = ""
    if o.archive:
        archive = (f'<div class="news-archive"><b>{c("Архив новостей")}</b><ul>'
                   + "".join(f"<li>{x}</li>" for x in archive_months(rng, c, 6, "{month} {year}")) + "</ul>"
                   f'<div class="modern-page-navigation"><span class="modern-page-title">{c("Страницы")}:</span> '
                   '<span class="modern-page-current">1</span> <a href="?PAGEN_1=2">2</a> <a href="?PAGEN_1=3">3</a> '
                   f'<span class="modern-page-dots">...</span> <a href="?PAGEN_1=48">48</a> '
                   f'<a class="modern-page-next" href="?PAGEN_1=2">{c("След.")}</a></div></div>')
    video = video_iframe(rng, "youtube")
    return (head(t.title + " | " + site, o)
            + '<body>\n<div id="panel"></div>\n'
            f'<table class="main-table" width="100%" cellpadding="0" cellspacing="0" border="0"><tr><td colspan="2" class="header">'
            f'{groups_html(o, c, "top", TOP_GROUPS)}'
            f'<div class="logo"><a href="/"><img src="/bitrix/templates/gov/images/gerb.png" alt=""></a><span class="site-name">{c(site)}</span></div>'
            f'<div class="special-version"><a href="?special_version=Y">{c("Версия для слабовидящих")}</a></div>'
            f'<div class="search-form"><form action="/search/index.php"><input type="text" name="q" value="" size="15" maxlength="50" />'
            f'&nbsp;<input name="s" type="submit" value="Поиск" /></form></div>'
            '<ul id="horizontal-multilevel-menu">' + "".join(f'<li><a href="/{i}/" class="root-item">{c(x)}</a></li>' for i, x in enumerate(
                ["Главная", "О нас", "Новости", "Документы", "Контакты"])) + "</ul>"
            '</td></tr>\n<tr><td class="left-column" width="220" valign="top">'
            f'<ul class="left-menu">{left}</ul>{groups_html(o, c, "side", SIDE_GROUPS)}{archive}</td>\n'
            '<td class="main-column" valign="top">'
            f'<div class="bx-breadcrumb" itemscope itemtype="http://schema.org/BreadcrumbList">{crumbs}</div>\n'
            '<div class="news-detail">\n'
            '<img class="detail_picture" border="0" src="/upload/iblock/3f2/detail.jpg" width="600" height="400" alt="" title="" />\n'
            f'<span class="news-date-time">{date_dots(t)}</span>\n'
            f'<h3>{esc(t.title)}</h3>\n'
            f'{body_html(t, o, video, c)}\n'
            '<div style="clear:both"></div><br />\n'
            f'{share}\n</div>\n'
            f'{groups_html(o, c, "after", AFTER_GROUPS)}\n{related}\n'
            f'<p><a href="/press/news/">&larr; {c("Возврат к списку")}</a></p>\n'
            '</td></tr>\n<tr><td colspan="2" class="footer">'
            f'<p>{c("© 2024 Представительство МИД России в Санкт-Петербурге. Все права защищены.")}</p>'
            f'<p>{c("При использовании материалов ссылка на сайт обязательна")}</p>'
            f'{groups_html(o, c, "foot", FOOT_GROUPS)}{counters(rng)}'
            '</td></tr></table>\n'
            + (cookie_banner(c) if o.cookie else "")
            + "</body>\n</html>\n")


def bitrix_flat(t: Text, texts: list[Text], o: Options, c: Chrome, rng: random.Random) -> str:
    """An embassy site on 1C-Bitrix with the bootstrap "flat" news.detail template, news list aside."""
    site = "Посольство Российской Федерации в Республике Казахстан"
    views = rng.randint(120, 9000)
    crumbs = "".join(
        f'<div class="bx-breadcrumb-item" id="bx_breadcrumb_{i}" itemprop="itemListElement" itemscope '
        f'itemtype="http://schema.org/ListItem"><a href="/{i}/" title="{attr(x)}" itemprop="item"><span itemprop="name">'
        f'{c(x)}</span></a><meta itemprop="position" content="{i + 1}" /></div>'
        for i, x in enumerate(["Главная", "Пресс-центр", "Выступления и интервью"]))
    aside_items = related_titles(t, texts, rng, 4)
    aside = (f'<div class="news-list sidebar-news"><h3 class="bx-title">{c("Последние новости")}</h3>'
             + "".join(f'<div class="news-item" id="bx_{rng.randint(10 ** 9, 10 ** 10)}"><span class="news-date-time">'
                       f'{rng.randint(1, 28):02d}.{rng.randint(1, 12):02d}.{rng.randint(2019, 2024)}</span>'
                       f'<a href="/press/{i}/"><b>{c(x)}</b></a></div>' for i, x in enumerate(aside_items))
             + '<div class="bx-pagination"><div class="bx-pagination-container"><ul>'
             '<li class="bx-pag-prev"><span>Назад</span></li><li class="bx-active"><span>1</span></li>'
             '<li><a href="?PAGEN_2=2"><span>2</span></a></li><li><a href="?PAGEN_2=3"><span>3</span></a></li>'
             f'<li class="bx-pag-next"><a href="?PAGEN_2=2"><span>{c("Вперед")}</span></a></li></ul></div></div></div>')
    share = ""
    if o.share:
        share = ('<div class="bx-newsdetail-share"><noindex><div class="ya-share2" data-services="vkontakte,odnoklassniki,telegram,whatsapp"></div>'
                 f'<span class="share-title">{c("Поделиться в соцсетях")}</span></noindex></div>')
    related = ""
    if o.related:
        related = (f'<div class="read-also"><h4>{c("Читайте также")}</h4><ul>'
                   + "".join(f'<li><a href="/press/{rng.randint(1000, 9999)}/">{c(x)}</a></li>'
                             for x in related_titles(t, texts, rng, 3)) + "</ul></div>")
    archive = ""
    if o.archive:
        archive = (f'<div class="archive-menu"><h3>{c("Архив публикаций")}</h3><ul>'
                   + "".join(f"<li><a href='#'>{x}</a></li>" for x in archive_months(rng, c, 8, "{month} {year} ({count})"))
                   + "</ul></div>")
    video = video_iframe(rng, "rutube")
    place_time = f" {t.time}" if t.time else ""
    return (head(t.title, o, '<link href="/bitrix/css/main/bootstrap.css" rel="stylesheet">\n')
            + '<body class="bx-background-image">\n<div class="bx-wrapper" id="bx_eshop_wrap">\n'
            f'{groups_html(o, c, "top", TOP_GROUPS)}'
            '<header class="bx-header"><div class="container"><div class="row">'
            f'<div class="col-md-6 bx-logo"><a href="/">{c(site)}</a></div>'
            f'<div class="col-md-6 bx-lang"><a href="/en/">EN</a> <a href="/kz/">KZ</a> <a href="/">RU</a></div>'
            '</div><nav class="bx-top-nav"><ul class="bx-nav-list-1-lvl">'
            + "".join(f'<li class="bx-nav-1-lvl"><a href="/{i}/"><span>{c(x)}</span></a></li>' for i, x in enumerate(
                ["О Посольстве", "Консульский отдел", "Российско-казахстанские отношения", "Пресс-центр", "Контакты"]))
            + '</ul></nav>'
            f'<div class="bx-searchtitle"><form action="/search/"><input id="title-search-input" type="text" name="q" '
            f'placeholder="Поиск по сайту" autocomplete="off" class="bx-form-control"/><button class="btn" type="submit" '
            f'name="s">Найти</button></form></div></div></header>\n'
            '<div class="workarea"><div class="container"><div class="row">'
            f'<div class="bx-content col-md-9 col-sm-8">'
            f'<div class="bx-breadcrumb" itemscope itemtype="http://schema.org/BreadcrumbList">{crumbs}</div>\n'
            f'<div class="bx-newsdetail"><div class="bx-newsdetail-block" id="bx_1878455859_{rng.randint(1000, 99999)}">\n'
            '<div class="bx-newsdetail-img"><img src="/upload/iblock/a1c/press.jpg" alt="" title=""/></div>\n'
            f'<h3 class="bx-newsdetail-title">{esc(t.title)}</h3>\n'
            f'<div class="bx-newsdetail-content bvi-tts">\n{body_html(t, o, video, c)}\n</div>\n'
            f'<div class="bx-newsdetail-date"><i class="fa fa-calendar-o"></i> {date_dots(t)}{place_time}</div>\n'
            f'<div class="bx-newsdetail-view"><i class="fa fa-eye"></i> {c(f"Количество просмотров: {views}")}</div>\n'
            f'{share}</div></div>\n'
            f'{groups_html(o, c, "after", AFTER_GROUPS)}\n{related}\n'
            '</div>\n'
            f'<div class="sidebar col-md-3 col-sm-4">{aside}{groups_html(o, c, "side", SIDE_GROUPS)}{archive}</div>\n'
            '</div></div></div>\n'
            '<footer class="bx-footer"><div class="container">'
            f'<p>{c("Адрес: 010000, г. Астана, ул. Бейбитшилик, 4. Телефон для справок: +7 (7172) 24-18-89")}</p>'
            f'<p>{c("© Посольство России в Казахстане, 2024")}</p>{groups_html(o, c, "foot", FOOT_GROUPS)}{counters(rng)}</div></footer>\n'
            '</div>\n' + (cookie_banner(c) if o.cookie else "") + "</body>\n</html>\n")


def dle_login(c: Chrome) -> str:
    return ('<div class="loginbox"><form method="post" action=""><ul class="reset loginform">'
            f'<li class="lfield"><label for="login_name">{c("Логин")}:</label><input type="text" name="login_name" id="login_name" /></li>'
            f'<li class="lfield lfpas"><label for="login_password">{c("Пароль")}:</label><input type="password" name="login_password" id="login_password" /></li>'
            '<li class="lbtn"><button class="fbutton" onclick="submit();" type="submit" title="Войти"><span>Войти</span></button></li>'
            f'</ul><a class="lreg" href="/index.php?do=register">{c("Регистрация")}</a> '
            f'<a class="lpass" href="/index.php?do=lostpassword">{c("Забыли пароль?")}</a>'
            '<input name="login" type="hidden" id="login" value="submit" /></form></div>')


def dle_calendar(t: Text, c: Chrome) -> str:
    """DLE's {calendar}: a month table (the engine's calendar module output)."""
    y, m, _ = ymd(t)
    days = ["Пн", "Вт", "Ср", "Чт", "Пт", "Сб", "Вс"]
    cells = []
    first = (sum([31, 28 + (y % 4 == 0), 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][:m - 1]) + y * 365 + (y - 1) // 4) % 7
    row = ['<td class="day">&nbsp;</td>'] * first
    ndays = [31, 28 + (y % 4 == 0), 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][m - 1]
    for d in range(1, ndays + 1):
        row.append(f'<td class="day-active-v"><a class="day-active-v" href="/{y}/{m:02d}/{d:02d}/">{d}</a></td>'
                   if d % 3 == 0 else f'<td class="day">{d}</td>')
        if len(row) == 7:
            cells.append("<tr>" + "".join(row) + "</tr>")
            row = []
    if row:
        cells.append("<tr>" + "".join(row) + '<td class="day">&nbsp;</td>' * (7 - len(row)) + "</tr>")
    return ('<div id="calendar-layer"><table id="calendar" class="calendar"><tr><th colspan="7" class="monthselect">'
            f'<a class="monthlink" href="#">&laquo;</a>&nbsp;&nbsp;&nbsp;&nbsp;{c(f"{RU_MONTHS_NOM[m - 1]} {y}")}&nbsp;&nbsp;&nbsp;&nbsp;&raquo;</th></tr>'
            '<tr>' + "".join(f'<th class="workday">{d}</th>' for d in days) + "</tr>" + "".join(cells) + "</table></div>")


def dle_comments_form(c: Chrome, rng: random.Random) -> str:
    a, b = rng.randint(2, 9), rng.randint(2, 9)
    return ('<form method="post" name="dle-comments-form" id="dle-comments-form" action="">'
            f'<div class="baseform"><div class="bb-pane"><h3>{c("Добавить комментарий")}</h3></div>'
            f'<table class="tableform"><tr><td class="label">{c("Ваше имя")}:</td><td><input type="text" name="name" id="name" class="f_input" /></td></tr>'
            f'<tr><td class="label">E-Mail:</td><td><input type="text" name="mail" id="mail" class="f_input" /></td></tr>'
            f'<tr><td class="label">{c("Вопрос")}:</td><td><div>{c(f"Сколько будет {a} плюс {b}?")}</div></td></tr>'
            f'<tr><td class="label">{c("Ответ")}:<span class="impot">*</span></td><td><input type="text" name="question_answer" class="f_input" /></td></tr>'
            '</table><div class="fieldsubmit"><button type="submit" name="submit" class="fbutton"><span>Отправить</span></button></div>'
            '</div><input type="hidden" name="subaction" value="addcomment" /></form>')


def dle_classic(t: Text, texts: list[Text], o: Options, c: Chrome, rng: random.Random) -> str:
    """A news portal on DataLife Engine 10.x (Pisces-style main.tpl + fullstory.tpl)."""
    site = "Евразия сегодня — информационно-аналитический портал"
    y, m, d = ymd(t)
    views = rng.randint(300, 20000)
    when = f"{d}-{m:02d}-{y}" + (f", {t.time}" if t.time else "")
    related = ""
    if o.related:
        related = (f'<div class="related"><div class="dtop"><span><b>{c("А также:")}</b></span></div><ul class="reset">'
                   + "".join(f'<li><a href="/{rng.randint(100, 9999)}-news.html">{c(x)}</a></li>'
                             for x in related_titles(t, texts, rng, 5)) + "</ul></div>")
    comments = ""
    if o.comments:
        items = comment_items(t, rng, c, 2)
        comments = ('<div id="dle-ajax-comments"></div>' + "".join(
            f'<div id="comment-id-{rng.randint(1000, 99999)}"><div class="bcomment"><div class="dtop">'
            f'<div class="lcol"><span><img src="/templates/Pisces/dleimages/noavatar.png" alt=""/></span></div>'
            f'<div class="rcol"><span class="reply"></span><ul class="reset"><li><h4>{n}</h4></li><li>{when}</li></ul></div></div>'
            f'<div class="cominfo"><div class="dpad"><span class="argback">{c("Группа")}: {c("Посетители")}</span></div></div>'
            f'<div class="dcont"><div id="comm-id-{i}">{txt}</div></div></div></div>' for i, (n, txt, when) in enumerate(items))
            + dle_comments_form(c, rng))
    archives = ""
    if o.archive:
        archives = (f'<div class="block"><div class="dtop"><h4 class="btl">{c("Архив новостей")}</h4></div><div class="dcont">'
                    + "<br />".join(f'<a href="/{y}/{i}/">{x}</a>' for i, x in enumerate(archive_months(rng, c, 6, "{month} {year} ({count})")))
                    + "</div></div>")
    full = body_html(t, o, video_iframe(rng, "youtube"), c)
    return (head(f"{t.title} » {site}", o, '<link href="/templates/Pisces/style/styles.css" type="text/css" rel="stylesheet" />\n')
            + "<body>\n"
            f'{groups_html(o, c, "top", TOP_GROUPS)}'
            '<div class="wwide pagebg"><div id="headbar"><div id="header"><div class="wrapper"><div class="container">'
            f'<h1><a class="thide" href="/index.php" title="{attr(site)}">{c(site)}</a></h1>'
            f'{dle_login(c)}'
            '<div class="headlinks"><ul class="reset">'
            + "".join(f'<li><a href="/index.php?do={k}">{c(x)}</a></li>'
                      for k, x in (("main", "Главная"), ("search", "Поиск"), ("feedback", "Контакты"), ("rss", "RSS")))
            + '</ul></div></div></div></div>'
            '<div id="speedbar"><div class="wrapper"><div class="container"><span id="dle-speedbar">'
            f'<a href="/"><span>{c("Евразия сегодня")}</span></a> &raquo; <a href="/politika/"><span>{c("Политика")}</span></a>'
            f' &raquo; {esc(t.title[:60])}...</span></div></div></div></div>\n'
            '<div class="wrapper"><div id="toolbar" class="container"><form method="post" action="">'
            '<input type="hidden" name="do" value="search" /><input type="hidden" name="subaction" value="search" />'
            '<ul class="searchbar reset"><li class="lfield"><input id="story" name="story" value="Поиск..." type="text" /></li>'
            '<li class="lbtn"><input title="Найти" alt="Найти" type="image" src="/templates/Pisces/images/spacer.gif" /></li></ul></form></div>\n'
            '<div class="shadlr"><div class="container"><div id="midside" class="rcol">\n'
            "<div id='dle-content'>"
            '<div class="base fullstory"><div class="dpad">\n'
            f'<h3 class="btl"><span id="news-title">{esc(t.title)}</span></h3>\n'
            f'<p class="binfo small">{c("Автор")}: admin {c("от")} {when}, {c("посмотрело")}: {views}</p>\n'
            f'<div class="maincont"><span class="argcoms"><b>{2 if o.comments else 0}</b></span>\n'
            f'<div id="news-id-{rng.randint(1000, 9999)}" style="display:inline;">{full}</div>\n<div class="clr"></div></div>\n'
            f'<div class="storenumber">{pager_outside(o, c)}</div>\n'
            f'<div class="btags"><div class="btags small">{c("Теги")}: <a href="/tags/Лавров/">{c("Лавров")}</a>, '
            f'<a href="/tags/МИД/">МИД</a></div></div>\n'
            '<div class="mlink"><div class="mlink"><div class="rate"><div class="rating"><ul class="unit-rating">'
            '<li class="current-rating" style="width:60%;">60</li></ul></div></div></div></div>\n'
            f'<p class="argcat small">{c("Категория")}: <a href="/politika/">{c("Политика")}</a> / <a href="/mid/">{c("Официально")}</a></p>\n'
            f'</div></div>\n{groups_html(o, c, "after", AFTER_GROUPS)}\n{related}\n{comments}\n</div>\n'
            '</div>\n<div id="sidebar" class="lcol">'
            f'<div class="block"><div class="dtop"><h4 class="btl">{c("Календарь")}</h4></div>{dle_calendar(t, c)}</div>'
            f'{archives}{groups_html(o, c, "side", SIDE_GROUPS)}'
            f'<div class="block"><div class="dtop"><h4 class="btl">{c("Опрос")}</h4></div><div class="dcont">'
            f'<p class="vtitle">{c("Какие темы освещать чаще?")}</p>'
            f'<div><input type="radio" name="vote_check" value="0"/> {c("Интеграция в ЕАЭС")}</div>'
            f'<div><input type="radio" name="vote_check" value="1"/> {c("Безопасность в Центральной Азии")}</div></div></div>'
            '</div></div></div>\n'
            f'<div id="footer" class="container"><div class="copyright">{c("Копирование материалов разрешено только с активной ссылкой на источник")}'
            f'<br />{c("Powered by DataLife Engine © 2004-2014")}</div>{groups_html(o, c, "foot", FOOT_GROUPS)}{counters(rng)}</div></div>\n'
            + (cookie_banner(c) if o.cookie else "") + "</body>\n</html>\n")


def dle_modern(t: Text, texts: list[Text], o: Options, c: Chrome, rng: random.Random) -> str:
    """A news site on DataLife Engine 13+ with the Default template (article.box.story.fullstory)."""
    site = "Дипломатический обозреватель"
    views = rng.randint(300, 20000)
    related = ""
    if o.related:
        related = (f'<div class="block story_block related"><h4 class="title">{c("Похожие публикации")}</h4><ul class="related_list">'
                   + "".join(f'<li><a href="/news/{rng.randint(100, 9999)}-item.html"><b>{c(x)}</b></a></li>'
                             for x in related_titles(t, texts, rng, 4)) + "</ul></div>")
    comments = ""
    if o.comments:
        items = comment_items(t, rng, c, 3)
        comments = (f'<div class="block story_block comments"><h4 class="title">{c("Комментарии")} ({len(items)})</h4>'
                    + "".join(f'<div class="comment"><div class="com_info"><b class="name">{n}</b> <span class="date">{when}</span></div>'
                              f'<div class="com_content"><div class="text">{txt}</div></div>'
                              f'<div class="com_tools"><a href="#" class="reply">{c("Ответить")}</a></div></div>' for n, txt, when in items)
                    + dle_comments_form(c, rng) + "</div>")
    share = ""
    if o.share:
        share = (f'<div class="share"><span>{c("Поделиться новостью")}:</span><div class="ya-share2" '
                 'data-curtain data-services="vkontakte,odnoklassniki,telegram"></div></div>')
    pages = ""
    if o.archive:
        pages = ('<div class="pagi-nav"><span class="pnext"><a href="#">&raquo;</a></span><span class="navigation">'
                 '<span>1</span> <a href="#">2</a> <a href="#">3</a></span></div>'
                 f'<div class="block archive"><h4 class="title">{c("Архив материалов")}</h4><ul>'
                 + "".join(f"<li>{x}</li>" for x in archive_months(rng, c, 6, "{month} {year}")) + "</ul></div>")
    return (head(t.title, o, '<link href="/templates/Default/css/styles.css" rel="stylesheet">\n')
            + '<body>\n<div class="page">\n'
            f'{groups_html(o, c, "top", TOP_GROUPS)}'
            '<form class="droptopbar" id="q_search" method="post"><div class="wrp"><div class="q_search">'
            '<input id="story" name="story" placeholder="Поиск по сайту..." type="search">'
            '<button class="btn btn_border" type="submit" title="Найти"><b class="ultrabold">Искать</b></button>'
            '</div></div><input type="hidden" name="do" value="search"><input type="hidden" name="subaction" value="search"></form>\n'
            f'<div class="headpic fixed"><div class="wrp"><header id="header"><a class="logotype" href="/" title="{attr(site)}">'
            f'<span class="title_hide">{c(site)}</span></a>'
            '<nav id="topmenu" class="topmenu"><ul>' + "".join(f'<li><a href="/{i}/">{c(x)}</a></li>' for i, x in enumerate(
                ["Мировая политика", "Экономика", "Интервью", "Аналитика", "О проекте"])) + "</ul></nav>"
            '</header></div></div>\n'
            f'<div class="speedbar"><span><a href="/">{c("Главная")}</a></span> » <span>{c("Интервью")}</span></div>\n'
            '<div id="content" class="wrp"><main class="cols"><div class="col-main">'
            '<div id="dle-content"><article class="box story fullstory">\n<div class="box_in">\n'
            f'<h2 class="title">{esc(t.title)}</h2>\n'
            f'<div class="meta"><ul class="left"><li class="date"><time datetime="{t.date}">{date_words(t)}</time></li>'
            f'<li class="grey">{c(f"Просмотров: {views}")}</li></ul></div>\n'
            f'<div class="text">\n{body_html(t, o, video_iframe(rng, "rutube"), c)}\n</div>\n'
            f'{pager_outside(o, c)}{pages}\n'
            f'<div class="story_tools ignore-select"><div class="category">{c("Рубрика")}: <a href="/interview/">{c("Интервью")}</a></div>'
            '<div class="rate"><div class="rate_like"><a href="#">+</a> 12</div></div></div>\n'
            f'{share}</div></article>\n'
            f'{groups_html(o, c, "after", AFTER_GROUPS)}\n{related}\n{comments}\n'
            f'<a class="back" href="javascript:history.go(-1)">{c("Вернуться назад")}</a></div>\n'
            '</div><aside class="col-side">'
            f'<div class="block"><h4 class="title">{c("Популярное")}</h4><ul>'
            + "".join(f'<li><a href="/news/{i}.html">{c(x)}</a></li>' for i, x in enumerate(related_titles(t, texts, rng, 3)))
            + f'</ul></div>{groups_html(o, c, "side", SIDE_GROUPS)}</aside></main></div>\n'
            f'<footer class="footer"><div class="wrp"><p class="copyright">{c("© 2024 «Дипломатический обозреватель». Свидетельство о регистрации СМИ Эл № ФС77-00000")}</p>'
            f'{groups_html(o, c, "foot", FOOT_GROUPS)}{counters(rng)}</div></footer>\n'
            '</div>\n' + (cookie_banner(c) if o.cookie else "") + "</body>\n</html>\n")


def wp_calendar(t: Text, c: Chrome) -> str:
    y, m, _ = ymd(t)
    days = ["Пн", "Вт", "Ср", "Чт", "Пт", "Сб", "Вс"]
    rows = []
    week = []
    for d in range(1, 29):
        week.append(f'<td><a href="/{y}/{m:02d}/{d:02d}/" aria-label="Записи, опубликованные {d} {RU_MONTHS[m - 1]} {y}">{d}</a></td>'
                    if d % 5 == 0 else f"<td>{d}</td>")
        if len(week) == 7:
            rows.append("<tr>" + "".join(week) + "</tr>")
            week = []
    return ('<div class="calendar_wrap" id="calendar_wrap"><table id="wp-calendar" class="wp-calendar-table">'
            f'<caption>{c(f"{RU_MONTHS_NOM[m - 1]} {y}")}</caption><thead><tr>'
            + "".join(f'<th scope="col" title="{x}">{x}</th>' for x in days) + "</tr></thead><tbody>" + "".join(rows)
            + '</tbody></table><nav aria-label="Предыдущий и следующий месяцы" class="wp-calendar-nav">'
            '<span class="wp-calendar-nav-prev"><a href="#">« Фев</a></span></nav></div>')


def wp_comments(t: Text, c: Chrome, rng: random.Random) -> str:
    items = comment_items(t, rng, c, 2)
    lis = "".join(
        f'<li id="comment-{rng.randint(100, 9999)}" class="comment even thread-even depth-1"><article class="comment-body">'
        f'<footer class="comment-meta"><div class="comment-author vcard"><b class="fn">{n}</b> <span class="says">{c("говорит")}:</span></div>'
        f'<div class="comment-metadata"><a href="#"><time datetime="{dt.datetime.strptime(when, "%d.%m.%Y %H:%M").isoformat()}+03:00">{when}</time></a></div></footer>'
        f'<div class="comment-content"><p>{txt}</p></div>'
        f'<div class="reply"><a rel="nofollow" class="comment-reply-link" href="#">{c("Ответить")}</a></div></article></li>'
        for n, txt, when in items)
    return ('<div id="comments" class="comments-area default-max-width show-avatars">'
            f'<h2 class="comments-title">{c("2 комментария")}</h2><ol class="comment-list">{lis}</ol>'
            '<div id="respond" class="comment-respond">'
            f'<h2 id="reply-title" class="comment-reply-title">{c("Добавить комментарий")}</h2>'
            '<form action="/wp-comments-post.php" method="post" id="commentform" class="comment-form" novalidate>'
            f'<p class="comment-notes"><span id="email-notes">{c("Ваш адрес email не будет опубликован.")}</span> '
            f'<span class="required-field-message">{c("Обязательные поля помечены")} <span class="required">*</span></span></p>'
            f'<p class="comment-form-comment"><label for="comment">{c("Комментарий")} <span class="required">*</span></label>'
            '<textarea id="comment" name="comment" cols="45" rows="5" maxlength="65525" required></textarea></p>'
            '<p class="comment-form-author"><label for="author">Имя <span class="required">*</span></label> '
            '<input id="author" name="author" type="text" value="" size="30" maxlength="245" required /></p>'
            '<p class="comment-form-email"><label for="email">Email <span class="required">*</span></label> '
            '<input id="email" name="email" type="email" value="" size="30" maxlength="100" required /></p>'
            '<p class="comment-form-cookies-consent"><input id="wp-comment-cookies-consent" name="wp-comment-cookies-consent" type="checkbox" value="yes" />'
            f' <label for="wp-comment-cookies-consent">{c("Сохранить моё имя, email и адрес сайта в этом браузере для последующих моих комментариев.")}</label></p>'
            '<p class="form-submit"><input name="submit" type="submit" id="submit" class="submit" value="Отправить комментарий" /></p>'
            '</form></div></div>')


def wp_twentyone(t: Text, texts: list[Text], o: Options, c: Chrome, rng: random.Random) -> str:
    """A WordPress site with Twenty Twenty-One in Russian: footer widgets, comments, post navigation."""
    site = "Дипломатический вестник"
    pid = rng.randint(1000, 30000)
    prev_title, next_title = related_titles(t, texts, rng, 2)
    widgets = (
        '<aside class="widget-area">'
        f'<section id="search-2" class="widget widget_search"><form role="search" method="get" class="search-form" action="/">'
        f'<label for="search-form-1">{c("Искать")}…</label><input type="search" id="search-form-1" class="search-field" value="" name="s" />'
        '<input type="submit" class="search-submit" value="Поиск" /></form></section>'
        f'<section id="recent-posts-2" class="widget widget_recent_entries"><h2 class="widget-title">{c("Свежие записи")}</h2><nav aria-label="Свежие записи"><ul>'
        + "".join(f'<li><a href="/?p={rng.randint(100, 999)}">{c(x)}</a></li>' for x in related_titles(t, texts, rng, 3))
        + "</ul></nav></section>"
        + (f'<section id="archives-2" class="widget widget_archive"><h2 class="widget-title">{c("Архивы")}</h2><nav aria-label="Архивы"><ul>'
           + "".join(f"<li><a href='#'>{x}</a></li>" for x in archive_months(rng, c, 6, "{month} {year}")) + "</ul></nav></section>"
           if o.archive else "")
        + f'<section id="categories-2" class="widget widget_categories"><h2 class="widget-title">{c("Рубрики")}</h2><nav aria-label="Рубрики"><ul>'
        + "".join(f'<li class="cat-item"><a href="/category/{i}/">{c(x)}</a></li>' for i, x in enumerate(
            ["Выступления", "Интервью", "Брифинги", "Без рубрики"]))
        + "</ul></nav></section>"
        f'<section id="calendar-2" class="widget widget_calendar">{wp_calendar(t, c)}</section>'
        f'{groups_html(o, c, "side", SIDE_GROUPS)}</aside>')
    return (head(f"{t.title} – {site}", o,
                 "<link rel='stylesheet' id='twenty-twenty-one-style-css' href='/wp-content/themes/twentytwentyone/style.css?ver=1.8' media='all' />\n")
            + f'<body class="post-template-default single single-post postid-{pid} single-format-standard wp-embed-responsive is-light-theme no-js singular has-main-navigation">\n'
            f'<div id="page" class="site"><a class="skip-link screen-reader-text" href="#content">{c("Перейти к содержимому")}</a>\n'
            f'{groups_html(o, c, "top", TOP_GROUPS)}'
            '<header id="masthead" class="site-header has-title-and-tagline has-menu"><div class="site-branding">'
            f'<p class="site-title"><a href="/">{c(site)}</a></p><p class="site-description">{c("Тексты выступлений, интервью и брифингов")}</p></div>'
            '<nav id="site-navigation" class="primary-navigation" aria-label="Основное меню"><div class="primary-menu-container"><ul id="primary-menu-list" class="menu-wrapper">'
            + "".join(f'<li class="menu-item"><a href="/{i}/">{c(x)}</a></li>' for i, x in enumerate(
                ["Главная", "Выступления", "Интервью", "О проекте"]))
            + '</ul></div></nav></header>\n'
            '<div id="content" class="site-content"><div id="primary" class="content-area"><main id="main" class="site-main">\n'
            f'<article id="post-{pid}" class="post-{pid} post type-post status-publish format-standard hentry category-speeches entry">\n'
            f'<header class="entry-header alignwide"><h1 class="entry-title">{esc(t.title)}</h1></header>\n'
            f'<div class="entry-content">\n{body_html(t, o, video_iframe(rng, "wp"), c)}\n</div><!-- .entry-content -->\n'
            '<footer class="entry-footer default-max-width"><div class="posted-by">'
            f'<span class="posted-on">{c("Опубликовано")} <time class="entry-date published updated" datetime="{iso_time(t)}">{date_words(t)}</time></span>'
            f'<span class="byline">{c("Автор")}: <a href="/author/editor/" rel="author">{c("Редакция")}</a></span></div>'
            f'<div class="post-taxonomies"><span class="cat-links">{c("Рубрика")}: <a href="/category/speeches/" rel="category tag">{c("Выступления")}</a></span></div>'
            '</footer></article>\n'
            f'{groups_html(o, c, "after", AFTER_GROUPS)}\n'
            + (wp_comments(t, c, rng) if o.comments else "")
            + '<nav class="navigation post-navigation" aria-label="Записи"><h2 class="screen-reader-text">Навигация по записям</h2><div class="nav-links">'
            f'<div class="nav-previous"><a href="#" rel="prev"><p class="meta-nav">{c("Предыдущая запись")}</p><p class="post-title">{c(prev_title)}</p></a></div>'
            f'<div class="nav-next"><a href="#" rel="next"><p class="meta-nav">{c("Следующая запись")}</p><p class="post-title">{c(next_title)}</p></a></div>'
            '</div></nav>\n</main></div></div>\n'
            f'{widgets}\n'
            f'<footer id="colophon" class="site-footer"><div class="site-info"><div class="site-name"><a href="/">{c(site)}</a></div>'
            f'<div class="powered-by">{c("Сайт работает на WordPress")}</div></div>{groups_html(o, c, "foot", FOOT_GROUPS)}{counters(rng)}</footer></div>\n'
            + (cookie_banner(c) if o.cookie else "") + "</body>\n</html>\n")


def wp_russian(t: Text, texts: list[Text], o: Options, c: Chrome, rng: random.Random) -> str:
    """An older WordPress site with a home-made Russian theme: Yoast breadcrumbs, Ya.share, "Читайте также"."""
    site = "Международная панорама"
    pid = rng.randint(1000, 30000)
    related = ""
    if o.related:
        related = (f'<div class="related-posts"><h3>{c("Читайте также")}:</h3><ul>'
                   + "".join(f'<li><a href="/?p={rng.randint(100, 9999)}">{c(x)}</a></li>'
                             for x in related_titles(t, texts, rng, 4)) + "</ul></div>")
    share = ""
    if o.share:
        share = ("<div id='idShare'><script src='https://yastatic.net/share2/share.js'></script>"
                 "<div id='idShareIcons' class='ya-share2' data-curtain data-shape=\"round\" "
                 "data-services='telegram,vkontakte,odnoklassniki,viber,whatsapp'></div></div>")
    comments = ""
    if o.comments:
        items = comment_items(t, rng, c, 2)
        comments = (f'<div id="comments"><h3>{c("Отзывы")} ({len(items)})</h3><ol class="commentlist">'
                    + "".join(f'<li class="comment"><div class="comment-author"><cite>{n}</cite> {c("пишет")}:</div>'
                              f'<div class="comment-meta">{when}</div><p>{txt}</p></li>' for n, txt, when in items)
                    + f'</ol><h3 id="respond">{c("Оставить комментарий")}</h3><form action="/wp-comments-post.php" method="post">'
                    '<p><input type="text" name="author" id="author" value="" size="22" /> <label for="author">Имя</label></p>'
                    '<p><textarea name="comment" id="comment" cols="60" rows="8"></textarea></p>'
                    '<p><input name="submit" type="submit" id="submit" value="Отправить" /></p></form></div>')
    archive = ""
    if o.archive:
        archive = (f'<li class="widget"><h2>{c("Архив")}</h2><ul>'
                   + "".join(f"<li><a href='#'>{x}</a></li>" for x in archive_months(rng, c, 10, "{month} {year}"))
                   + '</ul><div class="wp-pagenavi"><span class="pages">Страница 1 из 57</span><span class="current">1</span>'
                   '<a class="page larger" href="#">2</a><a class="page larger" href="#">3</a><span class="extend">...</span>'
                   f'<a class="nextpostslink" rel="next" href="#">»</a><a class="last" href="#">{c("Последняя")} »</a></div></li>')
    return (head(f"{t.title} | {site}", o)
            + f'<body class="post-template-default single single-post postid-{pid}">\n<div id="wrapper">\n'
            f'{groups_html(o, c, "top", TOP_GROUPS)}'
            f'<div id="header"><div id="logo"><a href="/">{c(site)}</a></div><div id="description">{c("Новости внешней политики и дипломатии")}</div>'
            '<ul id="nav">' + "".join(f'<li class="page_item"><a href="/{i}/">{c(x)}</a></li>' for i, x in enumerate(
                ["Главная", "Новости", "Документы", "Фотогалерея", "Контакты"])) + "</ul></div>\n"
            f'<p id="breadcrumbs"><span><span><a href="/">{c("Главная")}</a></span> » <span><a href="/category/news/">{c("Новости")}</a></span> » '
            f'<span class="breadcrumb_last" aria-current="page">{esc(t.title[:50])}…</span></span></p>\n'
            '<div id="container"><div id="content">\n'
            f"<div class='post' id='post-{pid}' itemscope itemtype=\"http://schema.org/Article\">\n"
            f"<div class='post-title'><h1 itemprop=\"headline\">{esc(t.title)}</h1></div>\n"
            f"<div class='post-category'>{c('Тема')}: <a href='/category/news/'>{c('Новости')}</a>, <a href='/category/mid/'>{c('МИД России')}</a></div>\n"
            f"<div class='post-time'>{date_words(t)} г.</div>\n<div class='clClear'></div>\n"
            f"{pager_outside(o, c)}<div class='post-content' itemprop=\"articleBody\">\n{body_html(t, o, video_iframe(rng, 'youtube'), c)}\n</div>\n"
            f"{pager_outside(o, c)}{share}\n<div class='alignleft'>{c('Метки')}: <a href='/tag/lavrov/' rel='tag'>{c('Лавров')}</a>, "
            f"<a href='/tag/press/' rel='tag'>{c('пресс-конференция')}</a></div>\n</div>\n"
            f'{groups_html(o, c, "after", AFTER_GROUPS)}\n{related}\n{comments}\n'
            '</div>\n<div id="sidebar"><ul>'
            f'<li class="widget"><h2>{c("Поиск")}</h2><form method="get" id="searchform" action="/"><input type="text" value="" name="s" id="s" />'
            '<input type="submit" id="searchsubmit" value="Найти" /></form></li>'
            f'{archive}<li class="widget">{groups_html(o, c, "side", SIDE_GROUPS)}</li>'
            f'<li class="widget"><h2>{c("Мы в соцсетях")}</h2><a href="https://vk.com/">{c("ВКонтакте")}</a> <a href="https://t.me/">Telegram</a></li>'
            '</ul></div></div>\n'
            f'<div id="footer"><p>{c("© 2012–2024 Международная панорама. Все права защищены.")}</p>{groups_html(o, c, "foot", FOOT_GROUPS)}{counters(rng)}</div>\n'
            '</div>\n' + (cookie_banner(c) if o.cookie else "") + "</body>\n</html>\n")


def joomla_sidebar(t: Text, texts: list[Text], o: Options, c: Chrome, rng: random.Random, card: str) -> str:
    mods = [f'<div class="{card} moduletable"><h3>{c("Последние новости")}</h3><ul class="latestnews mod-list">'
            + "".join(f'<li itemscope itemtype="https://schema.org/Article"><a href="/index.php/novosti/{rng.randint(10, 999)}" itemprop="url">'
                      f'<span itemprop="name">{c(x)}</span></a></li>' for x in related_titles(t, texts, rng, 3)) + "</ul></div>",
            f'<div class="{card} moduletable"><h3>{c("Популярное")}</h3><ul class="mostread mod-list">'
            + "".join(f'<li><a href="/index.php/{i}"><span>{c(x)}</span></a></li>' for i, x in enumerate(related_titles(t, texts, rng, 2))) + "</ul></div>"]
    if o.archive:
        mods.append(f'<div class="{card} moduletable"><h3>{c("Архив статей")}</h3><ul class="archive-module mod-list">'
                    + "".join(f'<li><a href="#">{x}</a></li>' for x in archive_months(rng, c, 6, "{month}, {year}")) + "</ul></div>")
    mods.append(f'<div class="{card} moduletable"><h3>{c("Вход на сайт")}</h3><form action="/index.php" method="post" id="login-form">'
                f'<label for="modlgn-username">{c("Логин")}</label><input id="modlgn-username" type="text" name="username">'
                f'<label for="modlgn-passwd">{c("Пароль")}</label><input id="modlgn-passwd" type="password" name="password">'
                f'<button type="submit" class="btn">Войти</button><ul class="unstyled"><li><a href="#">{c("Забыли пароль?")}</a></li></ul></form></div>')
    return "".join(mods) + groups_html(o, c, "side", SIDE_GROUPS)


def joomla3(t: Text, texts: list[Text], o: Options, c: Chrome, rng: random.Random) -> str:
    """A cultural-centre site on Joomla 3 (Protostar-like page, com_content article view)."""
    site = "Российский центр науки и культуры"
    hits = rng.randint(50, 9000)
    prev_t, next_t = related_titles(t, texts, rng, 2)
    return (head(f"{t.title} - {site}", o, '<link href="/templates/protostar/css/template.css" rel="stylesheet" />\n')
            + f'<body class="site com_content view-article no-layout no-task itemid-{rng.randint(101, 180)}">\n'
            '<div class="body" id="top"><div class="container">\n'
            f'{groups_html(o, c, "top", TOP_GROUPS)}'
            '<header class="header" role="banner"><div class="header-inner clearfix">'
            f'<a class="brand pull-left" href="/"><span class="site-title" title="{attr(site)}">{c(site)}</span></a>'
            '<div class="header-search pull-right"><div class="search"><form action="/index.php" method="post" class="form-inline">'
            f'<label for="mod-search-searchword" class="element-invisible">{c("Искать")}...</label> '
            '<input name="searchword" id="mod-search-searchword" maxlength="200" class="inputbox search-query" type="search" placeholder="Поиск..." />'
            '<input type="hidden" name="task" value="search" /></form></div></div></div></header>\n'
            '<nav class="navigation" role="navigation"><div class="navbar pull-left"></div><div class="nav-collapse"><ul class="nav menu nav-pills mod-list">'
            + "".join(f'<li class="item-{101 + i}"><a href="/index.php/{i}">{c(x)}</a></li>' for i, x in enumerate(
                ["Главная", "О центре", "Новости", "Мероприятия", "Русский язык", "Контакты"]))
            + '</ul></div></nav>\n'
            '<div class="row-fluid"><main id="content" role="main" class="span9">\n'
            '<div class="moduletable"><div aria-label="Навигатор сайта" role="navigation"><ul itemscope itemtype="https://schema.org/BreadcrumbList" class="breadcrumb">'
            f'<li>{c("Вы здесь")}: &#160;</li><li itemprop="itemListElement" itemscope itemtype="https://schema.org/ListItem">'
            f'<a itemprop="item" href="/" class="pathway"><span itemprop="name">{c("Главная")}</span></a><span class="divider"> / </span>'
            '<meta itemprop="position" content="1"></li><li itemprop="itemListElement" itemscope itemtype="https://schema.org/ListItem" class="active">'
            f'<span itemprop="name">{c("Новости")}</span><meta itemprop="position" content="2"></li></ul></div></div>\n'
            '<div id="system-message-container"></div>\n'
            '<div class="item-page" itemscope itemtype="https://schema.org/Article">\n'
            '<meta itemprop="inLanguage" content="ru-RU" />\n'
            f'<div class="page-header"><h2 itemprop="headline">{esc(t.title)}</h2></div>\n'
            '<div class="icons"><div class="btn-group pull-right"><button class="btn dropdown-toggle" type="button" data-toggle="dropdown">'
            '<span class="icon-cog"></span><span class="caret"></span></button><ul class="dropdown-menu">'
            f'<li class="print-icon"><a href="#" rel="nofollow"><span class="icon-print"></span>{c("Печать")}</a></li>'
            f'<li class="email-icon"><a href="#"><span class="icon-envelope"></span>E-mail</a></li></ul></div></div>\n'
            f'<dl class="article-info muted"><dt class="article-info-term">{c("Подробности")}</dt>'
            f'<dd class="createdby" itemprop="author" itemscope itemtype="https://schema.org/Person">{c("Автор")}: <span itemprop="name">{c("Пресс-служба")}</span></dd>'
            f'<dd class="category-name">{c("Категория")}: <a href="/index.php/novosti" itemprop="genre">{c("Новости")}</a></dd>'
            f'<dd class="published"><span class="icon-calendar" aria-hidden="true"></span><time datetime="{iso_time(t)}" itemprop="datePublished">'
            f'{c("Опубликовано")}: {date_dots(t)}</time></dd>'
            f'<dd class="hits"><span class="icon-eye-open" aria-hidden="true"></span><meta itemprop="interactionCount" content="UserPageVisits:{hits}" />'
            f'{c(f"Просмотров: {hits}")}</dd></dl>\n'
            f'<div itemprop="articleBody">\n{body_html(t, o, video_iframe(rng, "youtube"), c)}\n</div>\n'
            f'<ul class="pager pagenav"><li class="previous"><a class="hasTooltip" title="{attr(prev_t)}" href="#" rel="prev">'
            f'<span class="icon-chevron-left" aria-hidden="true"></span> <span aria-hidden="true">{c("Назад")}</span></a></li>'
            f'<li class="next"><a class="hasTooltip" title="{attr(next_t)}" href="#" rel="next"><span aria-hidden="true">{c("Вперёд")}</span> '
            '<span class="icon-chevron-right" aria-hidden="true"></span></a></li></ul>\n'
            f'</div>\n{groups_html(o, c, "after", AFTER_GROUPS)}\n'
            + (f'<div class="moduletable share"><h3>{c("Поделиться")}</h3><div class="ya-share2" data-services="vkontakte,odnoklassniki,telegram"></div></div>' if o.share else "")
            + '</main>\n'
            f'<div id="aside" class="span3">{joomla_sidebar(t, texts, o, c, rng, "well")}</div></div>\n'
            '</div></div>\n'
            f'<footer class="footer" role="contentinfo"><div class="container"><hr /><p class="pull-right"><a href="#top" id="back-top">{c("Наверх")}</a></p>'
            f'<p>{c("© 2024 Российский центр науки и культуры")}</p>{groups_html(o, c, "foot", FOOT_GROUPS)}{counters(rng)}</div></footer>\n'
            + (cookie_banner(c) if o.cookie else "") + "</body>\n</html>\n")


def joomla4(t: Text, texts: list[Text], o: Options, c: Chrome, rng: random.Random) -> str:
    """A municipal/government site on Joomla 4 with Cassiopeia (com-content-article, right sidebar)."""
    site = "Ассоциация породнённых городов"
    hits = rng.randint(50, 9000)
    y, m, d = ymd(t)
    prev_t, next_t = related_titles(t, texts, rng, 2)
    return (head(f"{t.title}", o, '<link href="/media/templates/site/cassiopeia/css/template.min.css" rel="stylesheet" />\n')
            + f'<body class="site com_content wrapper-static view-article no-layout no-task itemid-{rng.randint(101, 180)} has-sidebar-right">\n'
            f'{groups_html(o, c, "top", TOP_GROUPS)}'
            '<header class="header container-header full-width"><div class="grid-child"><div class="navbar-brand">'
            f'<a class="brand-logo" href="/"><span title="{attr(site)}">{c(site)}</span></a>'
            f'<div class="site-description">{c("Официальный сайт")}</div></div></div>'
            '<div class="grid-child container-nav"><ul class="mod-menu mod-list nav ">'
            + "".join(f'<li class="nav-item item-{101 + i}"><a href="/index.php/{i}">{c(x)}</a></li>' for i, x in enumerate(
                ["Главная", "Об ассоциации", "Новости", "Города-побратимы", "Документы"]))
            + '</ul><div class="container-search"><form class="mod-finder js-finder-searchform form-search" action="/index.php/component/finder/search" method="get" role="search">'
            f'<label for="mod-finder-searchword" class="visually-hidden finder">{c("Искать")}</label>'
            '<input type="text" name="q" id="mod-finder-searchword" class="js-finder-search-query form-control" value="" placeholder="Поиск…"></form></div></div></header>\n'
            '<div class="site-grid">\n'
            '<div class="grid-child container-component">\n'
            '<nav class="mod-breadcrumbs__wrapper" aria-label="Breadcrumbs"><ol itemscope itemtype="https://schema.org/BreadcrumbList" class="mod-breadcrumbs breadcrumb px-3 py-2">'
            f'<li class="mod-breadcrumbs__here float-start">{c("Вы здесь")}: &#160;</li>'
            f'<li class="mod-breadcrumbs__item breadcrumb-item" itemprop="itemListElement" itemscope itemtype="https://schema.org/ListItem"><a itemprop="item" href="/" class="pathway"><span itemprop="name">{c("Главная")}</span></a><meta itemprop="position" content="1"></li>'
            f'<li class="mod-breadcrumbs__item breadcrumb-item active"><span itemprop="name">{c("Новости")}</span><meta itemprop="position" content="2"></li></ol></nav>\n'
            '<div id="system-message-container" aria-live="polite"></div>\n'
            '<main>\n<div class="com-content-article item-page" itemscope itemtype="https://schema.org/Article">\n'
            '<meta itemprop="inLanguage" content="ru-RU">\n'
            f'<div class="page-header"><h1 itemprop="headline">{esc(t.title)}</h1></div>\n'
            f'<dl class="article-info text-muted"><dt class="article-info-term">{c("Подробности")}</dt>'
            f'<dd class="category-name"><span class="icon-folder-open icon-fw" aria-hidden="true"></span>{c("Категория")}: '
            f'<a href="/index.php/novosti" itemprop="genre">{c("Новости")}</a></dd>'
            f'<dd class="published"><span class="icon-calendar icon-fw" aria-hidden="true"></span><time datetime="{iso_time(t)}" itemprop="datePublished">'
            f'{c("Опубликовано")}: {d:02d} {RU_MONTHS[m - 1]} {y}</time></dd>'
            f'<dd class="hits"><span class="icon-eye icon-fw" aria-hidden="true"></span><meta itemprop="interactionCount" content="UserPageVisits:{hits}">'
            f'{c(f"Просмотров: {hits}")}</dd></dl>\n'
            f'<div itemprop="articleBody" class="com-content-article__body">\n{body_html(t, o, video_iframe(rng, "rutube"), c)}\n</div>\n'
            '<nav class="pagenavigation" aria-label="Навигация по странице"><span class="pagination ms-0">'
            f'<a class="btn btn-sm btn-secondary previous" href="#" rel="prev"><span class="visually-hidden">{c("Предыдущая статья")}: {c(prev_t)}</span>'
            f'<span class="icon-chevron-left" aria-hidden="true"></span> <span aria-hidden="true">{c("Назад")}</span></a>'
            f'<a class="btn btn-sm btn-secondary next" href="#" rel="next"><span class="visually-hidden">{c("Следующая статья")}: {c(next_t)}</span>'
            f'<span aria-hidden="true">{c("Вперёд")}</span> <span class="icon-chevron-right" aria-hidden="true"></span></a></span></nav>\n'
            f'</div>\n{groups_html(o, c, "after", AFTER_GROUPS)}\n'
            + (f'<div class="share-block"><span>{c("Поделиться")}</span><div class="ya-share2" data-services="vkontakte,odnoklassniki,telegram"></div></div>' if o.share else "")
            + '</main>\n</div>\n'
            f'<div class="grid-child container-sidebar-right">{joomla_sidebar(t, texts, o, c, rng, "sidebar-right card")}</div>\n'
            '</div>\n'
            f'<footer class="container-footer footer full-width"><div class="grid-child"><div class="mod-custom custom"><p>{c("© 2024 Ассоциация породнённых городов. Все права защищены.")}</p></div>'
            f'{groups_html(o, c, "foot", FOOT_GROUPS)}</div></footer>\n'
            f'<a href="#top" id="back-top" class="back-to-top-link" aria-label="Наверх"><span class="icon-arrow-up icon-fw" aria-hidden="true"></span></a>\n'
            f'{counters(rng)}\n' + (cookie_banner(c) if o.cookie else "") + "</body>\n</html>\n")


# layout name -> (CMS, renderer, encodings cycled over texts, body styles, URL path pattern)
LAYOUTS = {
    "bitrix-classic": ("bitrix", bitrix_classic, [("windows-1251", True), ("windows-1251", False), ("utf-8", True)],
                       ["p_justify", "div", "br"], "/press/news/detail.php?ID={n}"),
    "bitrix-flat": ("bitrix", bitrix_flat, [("utf-8", True), ("utf-8", False), ("windows-1251", True)],
                    ["p", "strong_labels", "nbsp"], "/press-center/news/{n}/"),
    "dle-classic": ("dle", dle_classic, [("windows-1251", True), ("windows-1251", False), ("utf-8", True)],
                    ["br", "p", "strong_labels"], "/politika/{n}-lavrov.html"),
    "dle-modern": ("dle", dle_modern, [("utf-8", True), ("utf-8", False)],
                   ["p", "strong_labels", "div"], "/interview/{n}-text.html"),
    "wp-twentyone": ("wordpress", wp_twentyone, [("utf-8", True), ("utf-8", False)],
                     ["p", "strong_labels"], "/{y}/{m:02d}/{d:02d}/post-{n}/"),
    "wp-russian": ("wordpress", wp_russian, [("windows-1251", True), ("utf-8", True), ("windows-1251", False)],
                   ["p", "nbsp", "br"], "/?p={n}"),
    "joomla3": ("joomla", joomla3, [("utf-8", True), ("utf-8", False)],
                ["p", "p_justify", "strong_labels"], "/index.php/novosti/{n}-statement"),
    "joomla4": ("joomla", joomla4, [("utf-8", True), ("utf-8", False)],
                ["p", "strong_labels", "nbsp"], "/index.php/novosti/{n}-press"),
}


def options_for(page_id: str, layout: str, text_index: int, t: Text, rng: random.Random) -> Options:
    _, _, encodings, styles, _ = LAYOUTS[layout]
    encoding, declared = encodings[text_index % len(encodings)]
    own = OWN_CHROME[t.key]
    others = [g for g in SEED_CHROME if g not in own and (t.language == "en" or g in RUSSIAN_GROUPS)]
    groups = own + rng.sample(others, min(3, len(others)))
    return Options(encoding=encoding, declared=declared, style=styles[text_index % len(styles)],
                   comments=rng.random() < 0.6, share=rng.random() < 0.7, related=rng.random() < 0.7,
                   cookie=rng.random() < 0.5, video=rng.random() < 0.4, archive=rng.random() < 0.6,
                   groups=sorted(groups, key=list(SEED_CHROME).index), own=own)


def tokens(text: str) -> list[str]:
    return TOKEN.findall(text.lower())


def _contains(seq: list[str], sub: list[str]) -> bool:
    n = len(sub)
    return any(seq[i:i + n] == sub for i in range(len(seq) - n + 1))


def chrome_list(strings: list[str], truth: list[str]) -> list[str]:
    """The chrome strings worth checking for leaks: two tokens or more (or one long word), none
    whose tokens also occur in this page's body, in that order."""
    body = tokens("\n".join(truth))
    out = []
    for s in strings:
        toks = tokens(s)
        if not toks or (len(toks) < 2 and len(toks[0]) < 6):
            continue
        if _contains(body, toks):
            continue
        out.append(s)
    return out


PAGINATED_PER_LAYOUT = 3  # English texts per layout also published split in pages (one page of each kept)


def paginated(layout: str, texts: list[Text]) -> list[tuple[int, Text, tuple[int, int]]]:
    """Which English texts a layout also shows split in pages, and which page of each: long
    transcripts are paginated ({PAGEBREAK}, <!--nextpage-->, Joomla's pagebreak, Bitrix's
    NAV_RESULT); that page's truth is its part of the paragraphs, contiguous and exact."""
    english = [(ti, t) for ti, t in enumerate(texts) if t.language == "en"]
    chosen = sorted(english, key=lambda x: hashlib.sha256(f"{layout}/{x[1].key}".encode()).hexdigest())
    out = []
    for ti, t in sorted(chosen[:PAGINATED_PER_LAYOUT]):
        n = 3 if len(t.paragraphs) >= 30 else 2
        k = page_rng(f"{layout}/{t.key}/page").randint(1, n)
        size = -(-len(t.paragraphs) // n)
        part = Text(t.key, t.language, t.title, t.date, t.time, t.paragraphs[(k - 1) * size:k * size])
        out.append((ti + len(texts), part, (k, n)))
    return out


def build() -> tuple[dict[str, bytes], list[dict]]:
    texts = load_texts()
    pages: dict[str, bytes] = {}
    cases = []
    for layout, (cms, render, _, _, url_pattern) in LAYOUTS.items():
        jobs = [(ti, t, None) for ti, t in enumerate(texts)] + paginated(layout, texts)
        for ti, t, pager in jobs:
            page_id = f"{layout}-{t.key.removeprefix('seed-')}" + (f"-p{pager[0]}of{pager[1]}" if pager else "")
            rng = page_rng(page_id)
            o = options_for(page_id, layout, ti, t, rng)
            o.layout, o.pager = layout, pager
            c = Chrome()
            markup = render(t, texts, o, c, rng)
            data = markup.encode(o.encoding, errors="xmlcharrefreplace")
            y, m, d = ymd(t)
            url = "http://localhost" + url_pattern.format(n=rng.randint(1000, 99999), y=y, m=m, d=d)
            if pager and pager[0] > 1:
                url += ("&" if "?" in url else "?") + f"page={pager[0]}"
            pages[page_id] = data
            features = [k for k in ("comments", "share", "related", "cookie", "video", "archive") if getattr(o, k)]
            cases.append({
                "id": page_id, "part": part_of(page_id), "cms": cms, "layout": layout, "text": t.key,
                "language": t.language, "encoding": o.encoding, "charset_declared": o.declared,
                "body_style": o.style, "url": url, "title": t.title, "date": t.date,
                "features": sorted(features + (["paginated"] if pager else [])),
                "page": list(pager) if pager else None,
                "seed_chrome_groups": o.groups,
                "paragraphs": t.paragraphs,
                "chrome": chrome_list(c.strings, t.paragraphs),
                "seed_chrome": chrome_list([x for g in o.groups for x in (
                    SEED_CHROME[g] if g != "lang_liferay" else [" ".join(SEED_CHROME[g])])], t.paragraphs),
            })
    return pages, cases


def write(pages: dict[str, bytes], cases: list[dict]) -> None:
    out = HERE / "pages"
    out.mkdir(exist_ok=True)
    for old in out.glob("*.html"):
        if old.stem not in pages:
            old.unlink()
    for page_id, data in pages.items():
        (out / f"{page_id}.html").write_bytes(data)
    (HERE / "cases.json").write_text(json.dumps(cases, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")


def differences(pages: dict[str, bytes], cases: list[dict]) -> list[str]:
    """What on disk differs from what the generator makes now (empty: in step)."""
    out = []
    on_disk = {p.stem for p in (HERE / "pages").glob("*.html")}
    for page_id in sorted(on_disk ^ set(pages)):
        out.append(f"pages/{page_id}.html: {'not generated' if page_id in on_disk else 'missing'}")
    for page_id, data in pages.items():
        path = HERE / "pages" / f"{page_id}.html"
        if path.exists() and path.read_bytes() != data:
            out.append(f"pages/{page_id}.html: differs")
    cases_path = HERE / "cases.json"
    if not cases_path.exists() or json.loads(cases_path.read_text(encoding="utf-8")) != cases:
        out.append("cases.json: differs")
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--check", action="store_true", help="compare with the files on disk, write nothing")
    a = ap.parse_args()
    pages, cases = build()
    if a.check:
        diffs = differences(pages, cases)
        for line in diffs:
            print(line, file=sys.stderr)
        return 1 if diffs else 0
    write(pages, cases)
    parts = {p: sum(1 for c in cases if c["part"] == p) for p in ("tune", "held")}
    print(f"{len(cases)} pages ({parts['tune']} tune, {parts['held']} held back), "
          f"{sum(len(d) for d in pages.values()) // 1024} KiB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
