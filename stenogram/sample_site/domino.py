"""What the sample site's Domino-era copy of mid.ru publishes (2004–2015), and where.

From 2004 to 2015 mid.ru ran on Lotus Domino: documents at ``/brp_4.nsf/0/<UNID>`` (32
upper-case hex digits; the same document also at ``/brp_4.nsf/newsline/<UNID>`` from the news
feed view) and section views at ``/bdomp/brp_4.nsf/<view>!OpenView&Start=N``, pages in
windows-1251. These transcripts are built here from public facts (who Lavrov's counterparts
were in each year, where the talks were held, the era's title forms and topics) with a seeded
phrase generator, so the copy is deterministic and the same for every ``size`` and ``seed`` of
the sample site: three transcripts a year, 2004 to 2015 — one joint news conference published in
English and Russian, and in alternate years a Russian interview or an English speech.

Two documents exist to test a backfill from web archives (docs/domino.md):

- ``EDITED_KEY`` has two states: the text as first published (what an archive captured) and,
  after :meth:`SampleSite.domino_changes`, a silently edited text at the same URL;
- ``REMOVED_KEY`` is served until :meth:`SampleSite.domino_changes`, then answers 404 and
  leaves the views: a page the live site no longer serves, kept only by web archives.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import random

from stenogram.sample_site.content import MONTHS, RU_MONTHS_GEN, Copy, Transcript

SOURCE = "mid_domino"
YEARS = range(2004, 2016)
#: the English transcript that is silently edited by SampleSite.domino_changes()
EDITED_KEY = "domino-2009-en"
#: the Russian interview that the live copy stops serving after SampleSite.domino_changes()
REMOVED_KEY = "domino-2006-ru-extra"

# Views: name in the URL, language, label in the menu. Domino names a view by its 32-hex UNID
# (or an alias); the newsline view lists every Russian document and links to /newsline/<UNID>.
VIEWS = {
    "d8e1e8bd51f1a1d543256a31003a8d5c": ("ru", "Выступления и интервью Министра"),
    "7f2a1ff5a2c8b4c643256a310039e5a7": ("en", "Minister's speeches and interviews"),
    "newsline": ("ru", "Новостная лента"),
}
NEWSLINE = "newsline"

# (year, month, day, place EN, place RU, counterpart EN (role and name), counterpart RU (instrumental
# case, as the ministry's titles write it), country, adjective)
TALKS = [
    (2004, 6, 29, "Moscow", "Москва", "Federal Minister for Foreign Affairs of Germany Joschka Fischer",
     "Федеральным министром иностранных дел Германии Й.Фишером", "Germany", "German"),
    (2005, 4, 20, "Moscow", "Москва", "US Secretary of State Condoleezza Rice",
     "Государственным секретарем США К.Райс", "the United States", "American"),
    (2006, 3, 14, "Helsinki", "Хельсинки", "Minister for Foreign Affairs of Finland Erkki Tuomioja",
     "Министром иностранных дел Финляндии Э.Туомиоя", "Finland", "Finnish"),
    (2007, 9, 10, "Paris", "Париж", "Minister of Foreign and European Affairs of France Bernard Kouchner",
     "Министром иностранных дел и европейских дел Франции Б.Кушнером", "France", "French"),
    (2008, 2, 19, "Moscow", "Москва", "Minister of Foreign Affairs of Turkey Ali Babacan",
     "Министром иностранных дел Турции А.Бабаджаном", "Turkey", "Turkish"),
    (2009, 10, 13, "Moscow", "Москва", "US Secretary of State Hillary Clinton",
     "Государственным секретарем США Х.Клинтон", "the United States", "American"),
    (2010, 1, 20, "Moscow", "Москва", "Federal Minister for Foreign Affairs of Germany Guido Westerwelle",
     "Федеральным министром иностранных дел Германии Г.Вестервелле", "Germany", "German"),
    (2011, 2, 15, "Moscow", "Москва", "Foreign Secretary of the United Kingdom William Hague",
     "Министром иностранных дел Великобритании У.Хейгом", "the United Kingdom", "British"),
    (2012, 4, 28, "Beijing", "Пекин", "Minister of Foreign Affairs of China Yang Jiechi",
     "Министром иностранных дел КНР Ян Цзечи", "China", "Chinese"),
    (2013, 5, 7, "Moscow", "Москва", "US Secretary of State John Kerry",
     "Государственным секретарем США Дж.Керри", "the United States", "American"),
    (2014, 3, 28, "Moscow", "Москва", "Federal Minister for Foreign Affairs of Germany Frank-Walter Steinmeier",
     "Федеральным министром иностранных дел Германии Ф.-В.Штайнмайером", "Germany", "German"),
    (2015, 3, 16, "Moscow", "Москва", "Minister of Foreign Affairs of Italy Paolo Gentiloni",
     "Министром иностранных дел Италии П.Джентилони", "Italy", "Italian"),
]
# Russian interviews (even years) and English speeches at the UN General Assembly (odd years)
INTERVIEWS = {2004: (11, 8, "газете «Известия»"), 2006: (5, 25, "«Российской газете»"),
              2008: (12, 24, "газете «Коммерсантъ»"), 2010: (7, 6, "газете «Московские новости»"),
              2012: (10, 2, "«Российской газете»"), 2014: (6, 17, "агентству ИТАР-ТАСС")}
UNGA = {2005: (9, 21, "60th"), 2007: (10, 1, "62nd"), 2009: (9, 28, "64th"), 2011: (9, 27, "66th"),
        2013: (9, 27, "68th"), 2015: (10, 1, "70th")}

# Topics of the era, with the years they were on the agenda (so no text is anachronistic).
TOPICS = [
    ("the Iranian nuclear programme", "иранской ядерной программы", 2004, 2015),
    ("the six-party talks on the Korean Peninsula", "шестисторонних переговоров по Корейскому полуострову", 2004, 2009),
    ("a Middle East settlement", "ближневосточного урегулирования", 2004, 2015),
    ("the work of the Middle East Quartet", "работы «квартета» международных посредников", 2004, 2015),
    ("Russia's accession to the WTO", "присоединения России к ВТО", 2004, 2012),
    ("the Treaty on Conventional Armed Forces in Europe", "Договора об обычных вооруженных силах в Европе", 2004, 2011),
    ("missile defence in Europe", "противоракетной обороны в Европе", 2007, 2015),
    ("the situation in Kosovo", "ситуации вокруг Косово", 2004, 2010),
    ("the Transdniestria settlement", "приднестровского урегулирования", 2004, 2015),
    ("the situation in Afghanistan", "ситуации в Афганистане", 2004, 2015),
    ("the Russia-NATO Council", "Совета Россия-НАТО", 2004, 2013),
    ("the future of the OSCE", "будущего ОБСЕ", 2004, 2015),
    ("visa-free travel", "безвизового режима", 2006, 2013),
    ("the Partnership for Modernisation", "«Партнерства для модернизации»", 2010, 2013),
    ("the new START Treaty", "нового Договора о СНВ", 2009, 2011),
    ("the situation in Syria", "ситуации в Сирии", 2011, 2015),
    ("the Geneva communique", "Женевского коммюнике", 2012, 2015),
    ("the Minsk agreements", "Минских договоренностей", 2014, 2015),
    ("the Nagorno-Karabakh settlement", "нагорно-карабахского урегулирования", 2004, 2015),
    ("energy security", "энергетической безопасности", 2006, 2015),
    ("the G8 agenda", "повестки «Группы восьми»", 2004, 2013),
    ("the G20 agenda", "повестки «Группы двадцати»", 2008, 2015),
    ("drug trafficking from Afghanistan", "наркотрафика из Афганистана", 2004, 2015),
    ("the fight against terrorism", "борьбы с терроризмом", 2004, 2015),
    ("the Shanghai Cooperation Organisation", "Шанхайской организации сотрудничества", 2004, 2015),
    ("the reform of the UN Security Council", "реформы Совета Безопасности ООН", 2004, 2015),
]
EN_SUBJECTS = ["We", "Today we", "My colleague and I", "The two ministers", "Both sides", "Our delegations",
               "In the course of the talks we", "Once again we", "At the talks we"]
EN_VERBS = ["discussed", "reviewed in detail", "exchanged views on", "paid particular attention to",
            "compared notes on", "spoke at length about", "touched upon", "looked at"]
EN_WHERE = ["in the UN Security Council", "at the OSCE", "in the G8", "within the Quartet", "in Geneva",
            "in Vienna", "at the expert level", "before the summit", "in the coming months", ""]
EN_ASSESS = ["is growing steadily", "has great potential", "needs fresh impetus", "is on the right track",
             "requires joint efforts", "deserves special attention", "remains a priority for us"]
EN_ACTIONS = ["call for a dialogue without preconditions", "support the efforts of the UN",
              "insist on respect for international law", "stand for a collective approach",
              "urge all parties to show restraint", "are ready to help as mediators"]
EN_FIELDS = ["trade", "investment", "energy cooperation", "high technology", "space exploration",
             "education exchanges", "tourism", "cultural ties", "consular matters", "parliamentary ties",
             "transport links", "scientific research"]
RU_SUBJECTS = ["Мы", "Сегодня мы", "Мы с коллегой", "Стороны", "В ходе переговоров мы", "Министры"]
RU_VERBS = ["обсудили вопросы", "подробно рассмотрели тему", "обменялись мнениями по вопросам",
            "уделили особое внимание теме", "сверили позиции по вопросам", "затронули тему"]
RU_WHERE = ["в Совете Безопасности ООН", "в ОБСЕ", "в «Группе восьми»", "в рамках «квартета»",
            "на экспертном уровне", "в преддверии саммита", "в ближайшие месяцы", ""]
RU_FIELDS = ["торговли", "инвестиций", "энергетики", "высоких технологий", "образования", "туризма",
             "культурных связей", "консульских вопросов", "межпарламентских связей", "научных исследований"]
RU_ASSESS = ["развивается динамично", "имеет большой потенциал", "нуждается в новом импульсе",
             "остается нашим приоритетом", "требует совместных усилий"]
QUESTIONS_EN = ["How do you assess", "What are the prospects for", "Could you comment on",
                "What is Moscow's position on", "Is there any progress on", "What can you say about"]
ANSWERS_EN = ["This is a fair question.", "I have already spoken about this.", "Let me be brief.",
              "We have said this many times.", "Thank you for the question.", "Facts speak for themselves."]
QUESTIONS_RU = ["Как Вы оцениваете перспективы", "Есть ли продвижение в вопросе", "Прокомментируйте, пожалуйста, тему",
                "Какова позиция Москвы в отношении", "Что Вы можете сказать относительно"]
ANSWERS_RU = ["Это справедливый вопрос.", "Я уже говорил об этом.", "Скажу коротко.",
              "Мы многократно об этом заявляли.", "Факты говорят сами за себя."]


def unid(key: str, day: dt.date, seconds: int) -> str:
    """A Domino document UNID: 16 hex digits of origin (here a hash of the key) and the note's
    creation TIMEDATE (the Julian day in the low 24 bits of the first word, hundredths of a
    second since midnight in the second), upper case as the ministry's URLs print it."""
    origin = hashlib.md5(key.encode()).hexdigest()[:16]
    julian = day.toordinal() + 1721425
    return f"{origin}{0x44000000 | julian:08x}{seconds * 100:08x}".upper()


def _topics(year: int) -> list[tuple[str, str]]:
    return [(en, ru) for en, ru, lo, hi in TOPICS if lo <= year <= hi]


def _statement(rng: random.Random, topic: str, subjects, verbs, wheres) -> str:
    """The sentence shape both languages share, "who does what about the topic, where" (the
    draws in this order, so a seed gives the same pages as before)."""
    where = rng.choice(wheres)
    return f"{rng.choice(subjects)} {rng.choice(verbs)} {topic}{' ' + where if where else ''}."


def _en_sentence(rng: random.Random, year: int, country: str, adjective: str) -> str:
    topic = rng.choice(_topics(year))[0]
    shape = rng.randrange(5)
    if shape == 0:
        return _statement(rng, topic, EN_SUBJECTS, EN_VERBS, EN_WHERE)
    if shape == 1:
        field = rng.choice(EN_FIELDS)
        return f"{field[0].upper()}{field[1:]} between Russia and {country} {rng.choice(EN_ASSESS)}."
    if shape == 2:
        return f"As regards {topic}, we {rng.choice(EN_ACTIONS)}."
    if shape == 3:
        return (f"Our {adjective} partners and we {rng.choice(EN_VERBS)} {rng.choice(EN_FIELDS)} and "
                f"{rng.choice(EN_FIELDS)} {rng.choice(EN_WHERE) or 'today'}.")
    return (f"In {year - rng.randint(1, 3)}, {rng.choice(EN_FIELDS)} grew by {rng.randint(3, 40)} percent, "
            f"and {topic} {rng.choice(EN_ASSESS)}.")


def _en_paragraph(rng, year, country, adjective, lo=2, hi=4) -> str:
    return " ".join(_en_sentence(rng, year, country, adjective) for _ in range(rng.randint(lo, hi)))


def _ru_sentence(rng: random.Random, year: int) -> str:
    topic = rng.choice(_topics(year))[1]
    shape = rng.randrange(4)
    if shape == 0:
        return _statement(rng, topic, RU_SUBJECTS, RU_VERBS, RU_WHERE)
    if shape == 1:
        return f"Сотрудничество в области {rng.choice(RU_FIELDS)} {rng.choice(RU_ASSESS)}."
    if shape == 2:
        return f"Что касается {topic}, мы выступаем за коллективные подходы и уважение международного права."
    return (f"В {year - rng.randint(1, 3)} году объем {rng.choice(RU_FIELDS)} вырос на {rng.randint(3, 40)} "
            f"процентов, и работа в области {rng.choice(RU_FIELDS)} {rng.choice(RU_ASSESS)}.")


def _ru_paragraph(rng, year, lo=2, hi=4) -> str:
    return " ".join(_ru_sentence(rng, year) for _ in range(rng.randint(lo, hi)))


def _talks_en(rng, year, country, adjective) -> list[str]:
    paras = [rng.choice(["Ladies and gentlemen,", "Colleagues,"])]
    paras += [_en_paragraph(rng, year, country, adjective) for _ in range(rng.randint(2, 4))]
    for _ in range(rng.randint(2, 3)):
        en, _ru = rng.choice(_topics(year))
        paras.append(f"Question: {rng.choice(QUESTIONS_EN)} {en}?")
        paras.append(f"Sergey Lavrov: {rng.choice(ANSWERS_EN)} {_en_paragraph(rng, year, country, adjective)}")
        if rng.random() < 0.4:
            paras.append(_en_paragraph(rng, year, country, adjective, 1, 2))
    return paras


def _talks_ru(rng, year) -> list[str]:
    paras = [rng.choice(["Дамы и господа,", "Коллеги,"])]
    paras += [_ru_paragraph(rng, year) for _ in range(rng.randint(2, 4))]
    for _ in range(rng.randint(2, 3)):
        _en, ru = rng.choice(_topics(year))
        paras.append(f"Вопрос: {rng.choice(QUESTIONS_RU)} {ru}?")
        paras.append(f"С.В.Лавров: {rng.choice(ANSWERS_RU)} {_ru_paragraph(rng, year)}")
    return paras


def _interview_ru(rng, year) -> list[str]:
    paras = []
    for _ in range(rng.randint(3, 5)):
        _en, ru = rng.choice(_topics(year))
        paras.append(f"Вопрос: {rng.choice(QUESTIONS_RU)} {ru}?")
        paras.append(f"С.В.Лавров: {rng.choice(ANSWERS_RU)} {_ru_paragraph(rng, year)}")
        if rng.random() < 0.5:
            paras.append(_ru_paragraph(rng, year, 1, 3))
    return paras


def _speech_en(rng, year) -> list[str]:
    paras = ["Mr President,", "Ladies and gentlemen,"]
    paras += [_en_paragraph(rng, year, "the United Nations", "UN", 2, 5) for _ in range(rng.randint(5, 8))]
    paras.append("Thank you.")
    return paras


def _en_title_date(day: dt.date, style: int) -> str:
    """The era's English forms: "April 20, 2005" and, on some pages, "20 April 2005"."""
    return f"{MONTHS[day.month - 1]} {day.day}, {day.year}" if style else f"{day.day} {MONTHS[day.month - 1]} {day.year}"


def _ru_title_date(day: dt.date, style: int) -> str:
    """"20 апреля 2005 года" and the era's abbreviation "20 апреля 2005 г."."""
    return f"{day.day} {RU_MONTHS_GEN[day.month - 1]} {day.year} {'года' if style else 'г.'}"


def _doc_number(rng: random.Random, day: dt.date) -> str:
    return f"{rng.randint(40, 1999)}-{day:%d-%m-%Y}"


def _make(key, language, title, day, place, paragraphs, rng) -> Transcript:
    ident = unid(key, day, rng.randint(9 * 3600, 20 * 3600))
    t = Transcript(key=key, language=language, title=title, date=day.isoformat(), time=None, place=place,
                   doc_number=_doc_number(rng, day), paragraphs=paragraphs, home=SOURCE, kind="domino")
    paths = [f"/brp_4.nsf/0/{ident}"]
    if language == "ru":
        paths.append(f"/brp_4.nsf/{NEWSLINE}/{ident}")
    t.copies[SOURCE] = Copy(SOURCE, paths, "original", sections=tuple(
        v for v, (lang, _label) in VIEWS.items() if lang == language))
    return t


def domino_transcripts() -> list[Transcript]:
    """The Domino-era documents (fixed: independent of the sample site's size and seed)."""
    out = []
    for year, month, day_n, place_en, place_ru, who_en, who_ru, country, adjective in TALKS:
        rng = random.Random(f"domino:{year}")
        day = dt.date(year, month, day_n)
        style = year % 3
        en = _make(f"domino-{year}-en", "en",
                   "Transcript of Remarks and Response to Media Questions by Russian Minister of Foreign Affairs "
                   f"Sergey Lavrov at Joint Press Conference Following Talks with {who_en}, {place_en}, "
                   f"{_en_title_date(day, style)}", day, place_en, _talks_en(rng, year, country, adjective), rng)
        ru = _make(f"domino-{year}-ru", "ru",
                   "Стенограмма выступления и ответов на вопросы СМИ Министра иностранных дел России С.В.Лаврова "
                   f"на совместной пресс-конференции по итогам переговоров с {who_ru}, {place_ru}, "
                   f"{_ru_title_date(day, style)}", day, place_ru, _talks_ru(rng, year), rng)
        en.counterpart, ru.counterpart = ru.key, en.key
        out += [en, ru]
        if year in INTERVIEWS:
            m, d, outlet = INTERVIEWS[year]
            out.append(_make(f"domino-{year}-ru-extra", "ru",
                             f"Интервью Министра иностранных дел России С.В.Лаврова {outlet}", dt.date(year, m, d), None, _interview_ru(rng, year), rng))
        if year in UNGA:
            m, d, session = UNGA[year]
            uday = dt.date(year, m, d)
            out.append(_make(f"domino-{year}-en-extra", "en",
                             f"Speech by Russian Minister of Foreign Affairs Sergey Lavrov at the {session} Session "
                             f"of the UN General Assembly, New York, {_en_title_date(uday, 1)}", uday, "New York",
                             _speech_en(rng, year), rng))
    return out
