"""What the sample site publishes: transcripts, and where each one appears (home + mirrors).

The `Catalog` is the expected set for crawl tests: every transcript with, per source, the
root-relative path(s) it is served at and the mirror variant applied there. It holds data only;
the page markup lives in the per-source renderers. Seeds come from hand-cleaned JSON files
(`content/seeds/*.json`, ground truth for the extractor), fillers from a seeded generator.
"""
from __future__ import annotations

import datetime as dt
import json
import random
import re
from dataclasses import dataclass, field
from pathlib import Path

from stenogram.sample_site import phrases

CONTENT_DIR = Path(__file__).with_name("content")
SOURCES = ("mid", "mid_archive", "globalsecurity", "interaffairs", "mid_domino")
SECTIONS = ("foreign_policy/news", "press_service/minister_speeches")
LIFERAY_INSTANCES = {"foreign_policy/news": "cKNonkJE02Bw", "press_service/minister_speeches": "7OvQR5KJWVmR"}
BITRIX_START = dt.date(2021, 8, 1)
LIFERAY_START = dt.date(2016, 1, 1)
INTERAFFAIRS_END = dt.date(2020, 7, 31)
MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August", "September",
          "October", "November", "December"]
RU_MONTHS_GEN = ["января", "февраля", "марта", "апреля", "мая", "июня", "июля", "августа", "сентября",
                 "октября", "ноября", "декабря"]

VARIANTS = ("original", "straight_quotes", "drop_last", "straight_quotes+drop_one")


def straight_quotes(text: str) -> str:
    return text.translate(str.maketrans({"’": "'", "‘": "'", "“": '"', "”": '"'}))


def apply_variant(variant: str, paragraphs: list[str]) -> list[str]:
    """A mirror's typical differences from the home copy."""
    out = list(paragraphs)
    if "straight_quotes" in variant:
        out = [straight_quotes(p) for p in out]
    if "drop_last" in variant and len(out) > 1:
        out = out[:-1]
    if "drop_one" in variant and len(out) > 2:
        del out[len(out) // 2]
    if variant.split("+")[0] not in {v.split("+")[0] for v in VARIANTS}:
        raise ValueError(f"unknown mirror variant {variant!r}")
    return out


@dataclass
class Copy:
    """One appearance of a transcript on one source."""

    source: str
    paths: list[str]             # root-relative; paths[0] is the primary URL
    variant: str = "original"
    id: int | None = None        # Bitrix/Liferay/DLE id or globalsecurity NN
    sections: tuple[str, ...] = ()
    frozen: list[str] | None = None  # text kept by a mirror after a silent edit at home

    @property
    def path(self) -> str:
        return self.paths[0]


@dataclass
class Transcript:
    key: str
    language: str
    title: str
    date: str
    time: str | None
    place: str | None
    doc_number: str | None
    paragraphs: list[str]
    home: str
    kind: str = "filler"          # seed | seed_ru | filler | hard_negative
    counterpart: str | None = None
    revision: int = 0
    copies: dict[str, Copy] = field(default_factory=dict)

    @property
    def day(self) -> dt.date:
        return dt.date.fromisoformat(self.date)

    def text_on(self, source: str) -> list[str]:
        """The paragraphs as served on `source` (variant applied, edits honoured)."""
        copy = self.copies[source]
        if copy.frozen is not None:
            return list(copy.frozen)
        return apply_variant(copy.variant, self.paragraphs)

    def title_on(self, source: str) -> str:
        """The title as served on `source` (a straight-quotes mirror straightens it too)."""
        return straight_quotes(self.title) if "straight_quotes" in self.copies[source].variant else self.title

    def urls(self, base_urls: dict[str, str]) -> dict[str, list[str]]:
        return {s: [base_urls[s] + p for p in c.paths] for s, c in self.copies.items()}


@dataclass
class Neighbour:
    """A non-MFA page on globalsecurity in the same URL scheme (a negative for the crawler)."""

    path: str
    title: str
    date: str
    paragraphs: list[str]
    logo: str


class Catalog:
    """Every transcript the site serves, indexed by key and by (source, path)."""

    def __init__(self, transcripts: list[Transcript], neighbours: list[Neighbour] = ()):
        self.transcripts = {t.key: t for t in transcripts}
        self.neighbours = list(neighbours)
        self._by_path: dict[tuple[str, str], Transcript] = {}
        for t in transcripts:
            for source, copy in t.copies.items():
                for p in copy.paths:
                    self._by_path[(source, p)] = t

    def __len__(self) -> int:
        return len(self.transcripts)

    def __iter__(self):
        return iter(self.transcripts.values())

    def __getitem__(self, key: str) -> Transcript:
        return self.transcripts[key]

    def lookup(self, source: str, path: str) -> Transcript | None:
        return self._by_path.get((source, path))

    def on(self, source: str, language: str | None = None) -> list[Transcript]:
        """Transcripts with a copy on `source`, newest first."""
        items = [t for t in self if source in t.copies and (language is None or t.language == language)]
        return sorted(items, key=lambda t: (t.date, t.time or "", t.copies[source].id or 0), reverse=True)

    def paths(self, source: str) -> set[str]:
        return {p for t in self if source in t.copies for p in t.copies[source].paths}

    def describe(self) -> list[dict]:
        """A JSON-able summary (used for determinism checks and the CLI)."""
        return [{"key": t.key, "language": t.language, "title": t.title, "date": t.date, "time": t.time,
                 "home": t.home, "kind": t.kind,
                 "copies": {s: {"paths": c.paths, "variant": c.variant} for s, c in t.copies.items()},
                 "paragraphs": t.paragraphs} for t in self]

    def edit(self, key: str, paragraphs: list[str]) -> Transcript:
        """A silent edit at the home source; mirrors keep the text they had copied."""
        t = self.transcripts[key]
        for source, copy in t.copies.items():
            if source != t.home and copy.frozen is None:
                copy.frozen = t.text_on(source)
        t.paragraphs = list(paragraphs)
        t.revision += 1
        return t


# ---------------------------------------------------------------- formatting helpers
def en_date(day: dt.date) -> str:
    return f"{day.day} {MONTHS[day.month - 1]} {day.year}"


def en_title_date(day: dt.date) -> str:
    return f"{MONTHS[day.month - 1]} {day.day}, {day.year}"


def ru_date(day: dt.date) -> str:
    return day.strftime("%d.%m.%Y")


def ru_title_date(day: dt.date) -> str:
    return f"{day.day} {RU_MONTHS_GEN[day.month - 1]} {day.year} года"


def slugify(title: str, words: int = 8) -> str:
    parts = re.findall(r"[a-z0-9]+", straight_quotes(title).lower().replace("'", ""))
    return "-".join(parts[:words]) or "item"


# ---------------------------------------------------------------- building
def load_json(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


SEED_PLAN = {
    # key: (home, home sections, mirrors {source: variant})
    "seed-000": ("mid", ("foreign_policy/news",), {"globalsecurity": "straight_quotes"}),
    "seed-001": ("interaffairs", (), {"globalsecurity": "drop_last"}),
    "seed-002": ("mid_archive", ("press_service/minister_speeches",), {"interaffairs": "straight_quotes+drop_one"}),
    "seed-003": ("mid", SECTIONS, {"globalsecurity": "original"}),
    "seed-004": ("mid_archive", ("press_service/minister_speeches",), {"globalsecurity": "original"}),
}
UKRAINE_FOLDER = {"seed-000"}  # an MFA text filed under /news/ukraine/


def _seeds() -> list[Transcript]:
    out = []
    for path in sorted((CONTENT_DIR / "seeds").glob("*.json")):
        d = load_json(path)
        home, sections, mirrors = SEED_PLAN[d["key"]]
        t = Transcript(key=d["key"], language=d["language"], title=d["title"], date=d["date"], time=d["time"],
                       place=d["place"], doc_number=d["doc_number"], paragraphs=d["paragraphs"], home=home,
                       kind="seed")
        t.copies[home] = Copy(home, [], "original", sections=sections)
        for source, variant in mirrors.items():
            t.copies[source] = Copy(source, [], variant, sections=sections if source.startswith("mid") else ())
        out.append(t)
    for path in sorted((CONTENT_DIR / "russian").glob("*.json")):
        d = load_json(path)
        t = Transcript(key=d["key"], language="ru", title=d["title"], date=d["date"], time=d["time"],
                       place=d["place"], doc_number=d["doc_number"], paragraphs=d["paragraphs"], home="mid",
                       kind="seed_ru", counterpart=d["counterpart"])
        t.copies["mid"] = Copy("mid", [], "original", sections=SEED_PLAN[d["counterpart"]][1])
        out.append(t)
    by_key = {t.key: t for t in out}
    for t in out:
        if t.counterpart:
            by_key[t.counterpart].counterpart = t.key
    return out


def _home_for(day: dt.date) -> str:
    if day >= BITRIX_START:
        return "mid"
    if day >= LIFERAY_START:
        return "mid_archive"
    return "interaffairs"


def _filler(rng: random.Random, index: int, day: dt.date, language: str, who: tuple,
            opening: str | None = None, closing: str | None = None) -> Transcript:
    country, adjective, minister, capital, ru_country, ru_minister, ru_capital = who
    in_moscow = rng.random() < 0.55
    time = f"{rng.randint(9, 21):02d}:{rng.randint(0, 59):02d}"
    if language == "en":
        place = "Moscow" if in_moscow else capital
        kind_words = rng.choice(["remarks", "statement", "opening remarks"])
        title = (f"Foreign Minister Sergey Lavrov’s {kind_words} and answers to media questions at a joint news "
                 f"conference following talks with Foreign Minister of {country} {minister}, {place}, "
                 f"{en_title_date(day)}")
        paras = [opening or rng.choice(["Ladies and gentlemen,", "Colleagues,", "Friends,"])]
        paras += [phrases.paragraph(rng, country, adjective) for _ in range(rng.randint(3, 6))]
        for _ in range(rng.randint(2, 4)):
            paras.append("Question: " + phrases.question(rng, country))
            paras.append("Sergey Lavrov: " + phrases.answer(rng, country, adjective))
            if rng.random() < 0.4:
                paras.append(phrases.paragraph(rng, country, adjective, 1, 3))
        if closing:
            paras.append(closing)
    else:
        place = "Москва" if in_moscow else ru_capital
        title = ("Выступление и ответы на вопросы СМИ Министра иностранных дел России С.В.Лаврова в ходе "
                 f"совместной пресс-конференции по итогам переговоров с Министром иностранных дел {ru_country} "
                 f"{ru_minister}, {place}, {ru_title_date(day)}")
        paras = [rng.choice(["Дамы и господа,", "Коллеги,", "Друзья,"])]
        paras += [phrases.ru_paragraph(rng, ru_capital) for _ in range(rng.randint(2, 4))]
        for _ in range(rng.randint(2, 3)):
            paras.append(f"Вопрос: {rng.choice(phrases.RU_QUESTION)} {rng.choice(phrases.RU_NOUNS)}?")
            paras.append(f"С.В.Лавров: {rng.choice(phrases.RU_ANSWER)} {phrases.ru_paragraph(rng, ru_capital, 1, 3)}")
    return Transcript(key=f"filler-{index:05d}", language=language, title=title, date=day.isoformat(),
                      time=time, place=place, doc_number=None, paragraphs=paras, home=_home_for(day))


def _place_filler(rng: random.Random, t: Transcript) -> None:
    """Choose sections and mirrors consistent with each platform's era."""
    roll = rng.random()
    sections = (SECTIONS[1],) if roll < 0.5 else (SECTIONS[0],) if roll < 0.8 else SECTIONS
    t.copies[t.home] = Copy(t.home, [], "original", sections=sections if t.home.startswith("mid") else ())
    if t.language != "en":
        return
    if rng.random() < 0.35:
        t.copies["globalsecurity"] = Copy("globalsecurity", [], rng.choice(["original", "straight_quotes"]))
    if t.home == "mid_archive" and t.day <= INTERAFFAIRS_END and rng.random() < 0.2:
        t.copies["interaffairs"] = Copy("interaffairs", [], "straight_quotes")


def _random_day(rng: random.Random, lo: dt.date, hi: dt.date) -> dt.date:
    return lo + dt.timedelta(days=rng.randrange((hi - lo).days + 1))


def _fillers(rng: random.Random, size: int) -> list[Transcript]:
    out = []
    lo, hi = dt.date(2014, 1, 1), dt.date(2025, 6, 30)
    if size >= 2:  # hard negatives: same ministers, same opening and closing, different bodies
        who = phrases.COUNTERPARTS[rng.randrange(len(phrases.COUNTERPARTS))]
        opening = (f"We have held talks with Foreign Minister of {who[0]} {who[2]}, a good friend of Russia. "
                   "They were held in the traditionally friendly and trust-based atmosphere that marks "
                   "relations between our countries and peoples.")
        closing = (f"I have invited my colleague to pay another visit to Russia at a convenient time, and I thank "
                   f"our {who[1]} friends once again for the substantive and useful conversation.")
        for i, day in enumerate((_random_day(rng, dt.date(2022, 1, 1), dt.date(2022, 12, 31)),
                                 _random_day(rng, dt.date(2023, 6, 1), dt.date(2024, 6, 30)))):
            t = _filler(rng, i, day, "en", who, opening, closing)
            t.kind = "hard_negative"
            _place_filler(rng, t)
            out.append(t)
    for i in range(len(out), size):
        language = "ru" if rng.random() < 0.2 else "en"
        day = _random_day(rng, LIFERAY_START if language == "ru" else lo, hi)
        t = _filler(rng, i, day, language, phrases.COUNTERPARTS[rng.randrange(len(phrases.COUNTERPARTS))])
        _place_filler(rng, t)
        out.append(t)
    return out


def _neighbours() -> list[Neighbour]:
    return [
        Neighbour("/wmd/library/news/russia/2022/russia-220305-russia-kremlin01.htm",
                  "Telephone conversation with President of France Emmanuel Macron", "2022-03-05",
                  ["Vladimir Putin had a telephone conversation with President of France Emmanuel Macron at the "
                   "French side's initiative.",
                   "The conversation continued the exchange of views on the situation around Ukraine."],
                  "President of Russia"),
        Neighbour("/wmd/library/news/russia/2021/russia-210408-russia-mod01.htm",
                  "Snap inspection of the Southern Military District troops", "2021-04-08",
                  ["Units of the Southern Military District began a snap inspection of combat readiness.",
                   "More than 2,000 servicemen and 500 pieces of equipment are involved."],
                  "Ministry of Defence of the Russian Federation"),
    ]


def _assign_ids_and_paths(rng: random.Random, transcripts: list[Transcript]) -> None:
    order = sorted(transcripts, key=lambda t: (t.date, t.time or "", t.key))
    n = max(1, len(order))
    counters = {"mid": 1_780_000, "mid_archive": 2_000_000, "interaffairs": 2_000}
    caps = {"mid": 8_000_000, "mid_archive": 7_000_000, "interaffairs": 90_000}
    gs_per_day: dict[str, int] = {}
    for t in order:
        for source, copy in t.copies.items():
            lang = t.language
            if source in counters:
                counters[source] += rng.randint(1, max(1, caps[source] // n))
                copy.id = counters[source]
            if source == "mid":
                copy.paths = [f"/{lang}/{s}/{copy.id}/" for s in copy.sections]
            elif source == "mid_archive":
                copy.paths = [f"/{lang}/{s}/-/asset_publisher/{LIFERAY_INSTANCES[s]}/content/id/{copy.id}"
                              for s in copy.sections]
            elif source == "interaffairs":
                copy.paths = [f"/lavrov/{copy.id}-{slugify(t.title)}.html"]
            elif source == "globalsecurity":
                day = t.day
                gs_per_day[t.date] = copy.id = gs_per_day.get(t.date, 0) + 1
                folder = "ukraine" if t.key in UKRAINE_FOLDER else "russia"
                month = f"{day.month:02d}/" if day.year >= 2024 else ""
                copy.paths = [f"/wmd/library/news/{folder}/{day.year}/{month}"
                              f"russia-{day:%y%m%d}-russia-mfa{copy.id:02d}.htm"]


def build_catalog(size: int = 0, seed: int = 1) -> Catalog:
    """Seeds + Russian counterparts + `size` deterministic fillers, with ids and URLs assigned."""
    if size < 0:
        raise ValueError("size must be >= 0")
    from stenogram.sample_site.domino import domino_transcripts  # the Domino era: fixed, own URLs

    rng = random.Random(seed)
    transcripts = _seeds() + _fillers(rng, size)
    _assign_ids_and_paths(random.Random(f"ids:{seed}"), transcripts)
    return Catalog(transcripts + domino_transcripts(), _neighbours())
