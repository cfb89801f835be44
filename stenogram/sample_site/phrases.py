"""Phrase bank for generated filler transcripts.

Sentences are assembled from short slots (mostly under five words) so that word 5-grams
mostly span slot boundaries: two different fillers then share few shingles, like two real,
different press conferences, and do not look like near-duplicates to the corpus.
"""
from __future__ import annotations

import random

# (country, adjective, minister, capital, RU genitive country, RU minister, RU capital)
COUNTERPARTS = [
    ("the Kyrgyz Republic", "Kyrgyz", "Jeenbek Kulubaev", "Bishkek", "Киргизской Республики", "Ж.Кулубаевым", "Бишкек"),
    ("Kazakhstan", "Kazakh", "Murat Nurtleu", "Astana", "Республики Казахстан", "М.Нуртлеу", "Астана"),
    ("Tajikistan", "Tajik", "Sirojiddin Muhriddin", "Dushanbe", "Республики Таджикистан", "С.Мухриддином", "Душанбе"),
    ("Uzbekistan", "Uzbek", "Bakhtiyor Saidov", "Tashkent", "Республики Узбекистан", "Б.Саидовым", "Ташкент"),
    ("Turkmenistan", "Turkmen", "Rashid Meredov", "Ashgabat", "Туркменистана", "Р.Мередовым", "Ашхабад"),
    ("Armenia", "Armenian", "Ararat Mirzoyan", "Yerevan", "Республики Армения", "А.Мирзояном", "Ереван"),
    ("Azerbaijan", "Azerbaijani", "Jeyhun Bayramov", "Baku", "Азербайджанской Республики", "Д.Байрамовым", "Баку"),
    ("Belarus", "Belarusian", "Sergei Aleinik", "Minsk", "Республики Беларусь", "С.Алейником", "Минск"),
    ("Mongolia", "Mongolian", "Battsetseg Batmunkh", "Ulaanbaatar", "Монголии", "Б.Батцэцэг", "Улан-Батор"),
    ("India", "Indian", "Subrahmanyam Jaishankar", "New Delhi", "Индии", "С.Джайшанкаром", "Нью-Дели"),
    ("the People's Republic of China", "Chinese", "Wang Yi", "Beijing", "КНР", "Ван И", "Пекин"),
    ("the Islamic Republic of Iran", "Iranian", "Hossein Amir-Abdollahian", "Tehran", "Исламской Республики Иран", "Х.Амир-Абдоллахияном", "Тегеран"),
    ("Türkiye", "Turkish", "Hakan Fidan", "Ankara", "Турецкой Республики", "Х.Фиданом", "Анкара"),
    ("Egypt", "Egyptian", "Sameh Shoukry", "Cairo", "Арабской Республики Египет", "С.Шукри", "Каир"),
    ("Algeria", "Algerian", "Ahmed Attaf", "Algiers", "Алжирской Народной Демократической Республики", "А.Аттафом", "Алжир"),
    ("South Africa", "South African", "Naledi Pandor", "Pretoria", "Южно-Африканской Республики", "Н.Пандор", "Претория"),
    ("Brazil", "Brazilian", "Mauro Vieira", "Brasilia", "Федеративной Республики Бразилия", "М.Виейрой", "Бразилиа"),
    ("Venezuela", "Venezuelan", "Yvan Gil", "Caracas", "Боливарианской Республики Венесуэла", "И.Хилем", "Каракас"),
    ("Cuba", "Cuban", "Bruno Rodriguez Parrilla", "Havana", "Республики Куба", "Б.Родригесом Паррильей", "Гавана"),
    ("Indonesia", "Indonesian", "Retno Marsudi", "Jakarta", "Республики Индонезия", "Р.Марсуди", "Джакарта"),
    ("Vietnam", "Vietnamese", "Bui Thanh Son", "Hanoi", "Социалистической Республики Вьетнам", "Буй Тхань Шоном", "Ханой"),
    ("Laos", "Lao", "Saleumxay Kommasith", "Vientiane", "Лаосской Народно-Демократической Республики", "С.Коммаситом", "Вьентьян"),
    ("Serbia", "Serbian", "Ivica Dacic", "Belgrade", "Республики Сербия", "И.Дачичем", "Белград"),
    ("Hungary", "Hungarian", "Peter Szijjarto", "Budapest", "Венгрии", "П.Сийярто", "Будапешт"),
    ("Qatar", "Qatari", "Mohammed bin Abdulrahman Al Thani", "Doha", "Государства Катар", "М.Аль Тани", "Доха"),
    ("Saudi Arabia", "Saudi", "Faisal bin Farhan Al Saud", "Riyadh", "Королевства Саудовская Аравия", "Ф.Аль Саудом", "Эр-Рияд"),
    ("Ethiopia", "Ethiopian", "Demeke Mekonnen", "Addis Ababa", "Федеративной Демократической Республики Эфиопия", "Д.Меконненом", "Аддис-Абеба"),
    ("Myanmar", "Myanmar", "Than Swe", "Nay Pyi Taw", "Республики Союз Мьянма", "Тан Све", "Нейпьидо"),
]

SUBJECTS = ["We", "Today we", "My colleague and I", "The two ministers", "Both sides", "Our delegations",
            "We jointly", "This time we", "In the course of the talks we", "Once again we"]
VERBS = ["discussed", "reviewed in detail", "exchanged views on", "paid particular attention to",
         "reaffirmed our commitment to", "agreed to step up work on", "noted progress in",
         "took stock of", "compared notes on", "looked at ways to advance", "spoke at length about",
         "outlined new steps in", "welcomed the results of", "mapped out plans for", "touched upon"]
ADJECTIVES = ["practical", "bilateral", "long-term", "mutually beneficial", "closer", "regional",
              "multilateral", "sectoral", "joint", "interregional", "steady", "new"]
NOUNS = ["trade", "investment projects", "energy cooperation", "transport corridors", "grain supplies",
         "nuclear energy", "space exploration", "education exchanges", "university quotas",
         "labour migration", "customs procedures", "payments in national currencies", "tourism",
         "healthcare", "cultural seasons", "youth contacts", "parliamentary ties", "consular matters",
         "visa facilitation", "security cooperation", "counter-terrorism", "drug trafficking",
         "cyber security", "information security", "humanitarian demining", "water management",
         "agricultural exports", "fertiliser deliveries", "digital platforms", "banking links",
         "logistics hubs", "pharmaceutical production", "scientific research", "archive exchanges",
         "Russian language teaching", "sports events", "military-technical ties", "border issues",
         "climate projects", "fisheries", "mining ventures", "railway links", "air traffic"]
QUALIFIERS = ["in line with our presidents' instructions", "ahead of the intergovernmental commission",
              "before the next summit", "within the EAEU", "within the SCO", "within BRICS",
              "at the UN", "within the CIS", "on the sidelines of the forum", "for the coming year",
              "despite external pressure", "in the current circumstances", "over the next three years",
              "under the new roadmap", "as agreed last year", "with our partners in the region",
              "in a trust-based manner", "on an equal footing", "without outside interference", ""]
ASSESSMENTS = ["is growing steadily", "remains a priority", "has great potential", "needs fresh impetus",
               "is on the right track", "has reached a record level", "requires joint efforts",
               "is developing dynamically", "deserves special attention", "is bearing fruit"]
REGIONS = ["Afghanistan", "the Middle East", "Syria", "the South Caucasus", "the Korean Peninsula",
           "Libya", "Sudan", "the Sahel", "the Persian Gulf", "the Balkans", "Central Asia",
           "the Asia-Pacific region", "the Caspian region", "Ukraine", "Yemen", "the Arctic"]
STATES = ["remains tense", "is a matter of concern", "has improved somewhat", "is deteriorating",
          "requires a political settlement", "cannot be resolved by force", "is far from stable"]
ACTIONS = ["call for a dialogue without preconditions", "support the efforts of the UN",
           "oppose unilateral sanctions", "insist on respect for international law",
           "stand for an inclusive process", "are ready to help as mediators",
           "urge all parties to show restraint", "reject attempts to dictate terms"]
QUESTION_OPENERS = ["How do you assess", "What are the prospects for", "Could you comment on",
                    "What is Moscow's position on", "Is there any progress on", "What can you say about",
                    "Has anything changed regarding", "When do you expect results on"]
ANSWER_OPENERS = ["This is a fair question.", "I have already spoken about this.", "It is simple.",
                  "Let me be brief.", "We have said this many times.", "I will not go into details.",
                  "Thank you for the question.", "The answer is obvious.", "Facts speak for themselves."]
WEST = ["our Western colleagues", "Washington", "the European Union", "NATO members", "the Americans",
        "certain capitals", "the collective West", "Brussels"]
WEST_DOING = ["keep inventing pretexts", "prefer ultimatums to dialogue", "break their own promises",
              "are trying to isolate us", "ignore the facts", "change the rules as they go",
              "impose their so-called rules-based order", "refuse to hear our arguments"]

RU_SUBJECTS = ["Мы", "Сегодня мы", "Мы с коллегой", "Стороны", "Делегации", "В ходе переговоров мы"]
RU_VERBS = ["обсудили", "подробно рассмотрели", "обменялись мнениями по теме", "уделили внимание теме",
            "подтвердили настрой на развитие", "договорились активизировать работу по теме",
            "отметили прогресс в сфере", "подвели итоги работы по теме"]
RU_NOUNS = ["торговли", "инвестиций", "энергетики", "транспортных коридоров", "образования",
            "миграции", "туризма", "здравоохранения", "культурных обменов", "молодёжных контактов",
            "межпарламентских связей", "консульских вопросов", "безопасности", "борьбы с терроризмом",
            "информационной безопасности", "сельского хозяйства", "цифровых технологий",
            "расчётов в национальных валютах", "научных исследований", "космоса"]
RU_QUALIFIERS = ["в соответствии с поручениями президентов", "в рамках ЕАЭС", "в рамках ШОС",
                 "в рамках БРИКС", "в ООН", "в СНГ", "на предстоящий период", "несмотря на внешнее давление", ""]
RU_QUESTION = ["Как Вы оцениваете перспективы", "Каковы планы в сфере", "Есть ли продвижение в сфере",
               "Прокомментируйте, пожалуйста, ситуацию в сфере"]
RU_ANSWER = ["Это справедливый вопрос.", "Я уже говорил об этом.", "Скажу коротко.",
             "Мы многократно об этом заявляли.", "Факты говорят сами за себя."]


def _clause(rng: random.Random) -> str:
    q = rng.choice(QUALIFIERS)
    text = f"{rng.choice(VERBS)} {rng.choice(ADJECTIVES)} {rng.choice(NOUNS)}"
    return f"{text} {q}" if q else text


def sentence(rng: random.Random, country: str, adjective: str) -> str:
    """One English sentence of a minister's statement."""
    shape = rng.randrange(6)
    if shape == 0:
        return f"{rng.choice(SUBJECTS)} {_clause(rng)}."
    if shape == 1:
        noun = rng.choice(NOUNS)
        return f"{noun[0].upper()}{noun[1:]} with {country} {rng.choice(ASSESSMENTS)}."
    if shape == 2:
        return (f"The situation in {rng.choice(REGIONS)} {rng.choice(STATES)}, and we "
                f"{rng.choice(ACTIONS)}.")
    if shape == 3:
        return (f"Our {adjective} friends and we {rng.choice(VERBS)} {rng.choice(NOUNS)} and "
                f"{rng.choice(NOUNS)} {rng.choice(QUALIFIERS) or 'today'}.")
    if shape == 4:
        west, subject = rng.choice(WEST), rng.choice(SUBJECTS)
        return f"{west[0].upper()}{west[1:]} {rng.choice(WEST_DOING)}, but {subject[0].lower()}{subject[1:]} {_clause(rng)}."
    return (f"In {rng.randint(2014, 2025)}, {rng.choice(NOUNS)} grew by {rng.randint(2, 48)} percent, "
            f"and {rng.choice(NOUNS)} {rng.choice(ASSESSMENTS)}.")


def paragraph(rng: random.Random, country: str, adjective: str, lo: int = 2, hi: int = 5) -> str:
    return " ".join(sentence(rng, country, adjective) for _ in range(rng.randint(lo, hi)))


def question(rng: random.Random, country: str) -> str:
    if rng.random() < 0.5:
        return f"{rng.choice(QUESTION_OPENERS)} {rng.choice(NOUNS)} with {country}?"
    return f"{rng.choice(QUESTION_OPENERS)} the situation in {rng.choice(REGIONS)}?"


def answer(rng: random.Random, country: str, adjective: str) -> str:
    return f"{rng.choice(ANSWER_OPENERS)} {paragraph(rng, country, adjective, 2, 4)}"


def ru_sentence(rng: random.Random, capital: str) -> str:
    q = rng.choice(RU_QUALIFIERS)
    base = f"{rng.choice(RU_SUBJECTS)} {rng.choice(RU_VERBS)} {rng.choice(RU_NOUNS)}"
    if rng.random() < 0.3:
        base += f" и {rng.choice(RU_NOUNS)}"
    if rng.random() < 0.2:
        base += f", в том числе с учётом итогов {rng.randint(2016, 2025)} года"
    return f"{base} {q}.".replace(" .", ".")


def ru_paragraph(rng: random.Random, capital: str, lo: int = 2, hi: int = 4) -> str:
    return " ".join(ru_sentence(rng, capital) for _ in range(rng.randint(lo, hi)))
