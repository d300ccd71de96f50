"""BM25 per language (bm25s), with Snowball stemming (PyStemmer), persisted beside the store.

Local Chroma has no sparse index, so lexical search runs in-process. One index per language: each
is tokenised and stemmed for its own language, and a question is searched in the index of its own
language (a stemmed English question matches nothing useful in Greek, and only adds noise there).
An index records the store ``version`` it was checked against; when the store moved on (another process
ingested), the ids it holds per language are compared with the store's and only languages that differ are
rebuilt (``rag.indexing.sync_lexical``).
"""

from __future__ import annotations

import contextlib
import errno
import json
import logging
import os
import re
import shutil
import unicodedata
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from rag.language import snowball_algorithm

log = logging.getLogger(__name__)

_WORD = re.compile(r"\w+", re.UNICODE)


def _strip_accents(text: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFD", text) if unicodedata.category(c) != "Mn")


def _import_bm25s():  # -> the bm25s module
    import bm25s

    # bm25s sets its logger to DEBUG on import, which overrides the CLI's quieting (and printed
    # "DEBUG bm25s: ..." lines in `rag ingest`): let it inherit the application's level instead.
    logging.getLogger("bm25s").setLevel(logging.NOTSET)
    return bm25s


class Analyzer:
    """Lower-cases, tokenises and stems text for one language."""

    def __init__(self, language: str) -> None:
        import Stemmer

        self.language = language
        algo = snowball_algorithm(language)  # None: tokenised without stemming
        self._stemmer = Stemmer.Stemmer(algo) if algo else None

    def __call__(self, text: str) -> list[str]:
        if self.language == "tr":  # Turkish dotted/dotless i: str.lower() gets "I" and "İ" wrong
            text = text.replace("I", "ı").replace("İ", "i")
        text = text.lower()
        if self.language == "el":  # Greek accents vary (τόνος, final forms); the stemmer expects none
            text = _strip_accents(text)
        words = [w for w in _WORD.findall(text) if len(w) > 1 or w.isdigit()]
        return self._stemmer.stemWords(words) if self._stemmer else words


# -- the words of a chat message -----------------------------------------------------------------------
# Whether a message asks something of its own or continues the previous question ("And where?") is read
# from its words. A short message's language is often detected wrongly ("Who is Shoigu?" as German), so
# the lists of every language are used together. Words are compared folded (``fold_word``): lower case,
# no accents, Turkish ı as i; a Turkish suffix after an apostrophe ("Pyongyang'da") is a word of its own.

# Words that ask, connect or point back but name nothing: question words, conjunctions, articles,
# prepositions, pronouns, auxiliaries, verbs of saying and happening, and nouns that only ask for a slot
# ("Which year?", "Hangi şehirde?"). A message made only of these has no subject of its own.
_FUNCTION_WORDS = {
    "en": """a about after again also am an and any are as at be been before but by can city could country
        date day did do does done else exactly for from go gone had happen happened has have he her here hers
        him his how i in into is it its just long many may mean meant might month more much must of often ok
        okay on one only or other our place please said say says she should so tell than that the their them
        then there these they this those time to told too us was we went were what when where which who whom
        whose why will with would year yes you your""",
    "el": """άλλο άλλος ακόμα ακόμη ακριβώς αλλά από αυτά αυτή αυτήν αυτής αυτό αυτοί αυτόν αυτός αυτού
        αυτών γιατί για δεν εδώ είναι είπαν είπε είχε εκεί ένα ένας ενώ επίσης έτος έγινε έκανε έχει η ή ήταν
        ημέρα ημερομηνία θα και κατά κι λέει λοιπόν με μέρα μετά μέχρι μήνα μήνας μια μία να ναι ο οι όχι πόλη
        πόσα πόσες πόση πόσο πόσοι πόσους πότε που πού πως πώς ποια ποιας ποιες ποιο ποιοι ποιον ποιος ποιου
        ποιους ποιων σε στα στη στην στης στις στο στον στους συνέβη τα την της τι τις το τον του τους χρονιά
        χώρα ώρα ως""",
    "it": """a agli ai al alla alle allora altri altro anche ancora anno aveva che chi ci ciò città come con
        cosa da dal dalla data degli dei del della delle dello detto di dice disse dove e è ed era erano essa
        esso esattamente fa fatto fra gli giorno ha hanno il in invece la le lei lo loro lui luogo ma mese ne
        nei nel nella nelle no non o ora paese per perché poi quale quali quando quanta quante quanti quanto
        quella quello questa questo si sì sono stata stato su sua sue sui sul sulla suo suoi tra un una uno""",
    "tr": """a ay ayında ayrıca başka bir bu bunu bunun da dan de dedi dediler den dir dır dur dür e evet
        gibi gün günü hakkında hangi hangisi hayır i için ile in ı ki kim kime kimi kimin kiminle kimle kimdi
        kimdir kimler konusunda la le mi mı mu mü miydi mıydı muydu müydü midir mıdır na nasıl ne neden nedir
        neydi nereden nerede neredeydi nereye neresi neyi neye nin nın nun nün niye niçin o olarak oldu olmuş
        olur ona onlar onları onların onu onun peki sonra söyledi söylediler şehir şehirde şu ta tam tan tane
        tarih tarihi tarihte te ten tır tir tur tür u un ü ün var ve veya ya yaptı yer yerde yı yi yıl yılı
        yılında yok yu yü zaman""",
    "de": """am an auch auf aber da das datum dem den denn der des die dort dann ein eine einem einen er es
        für genau gesagt hat haben hatte ihm ihn ihr ihre im in ist jahr land mit nicht noch oder sagte sein
        seine sie sind stadt tag über und viel viele von war waren wann warum was welche welcher welches wem
        wen wer wessen wie wieso wo woher wohin zu zum zur""",
    "fr": """à alors année au aussi aux avait avec ça ce cela cette combien comment d dans date de des dit
        du elle elles en encore est et était exactement fait il ils jour l là le les leur lui mais ne ont ou
        où par pas pays pour pourquoi puis qu quand que quel quelle quelles quels qui quoi sa ses son sont sur
        un une ville y""",
    "es": """a ahí al allí año ciudad con cómo cuál cuáles cuándo cuánta cuántas cuánto cuántos de del día
        dijo donde dónde el él ella ellas ellos en entonces es esa ese eso esta este esto exactamente fecha
        fue ha han hizo la las le lo los no o para país pero por porque qué que quién quiénes sí son su sus
        también un una y""",
}
# Question words: "And who is Shoigu?" asks its own question; "And Putin?" borrows the previous one's.
_QUESTION_WORDS = {
    "en": "how what when where which who whom whose why",
    "el": "γιατί πόσα πόσες πόση πόσο πόσοι πόσους πότε πού πώς ποια ποιας ποιες ποιο ποιοι ποιον ποιος "
          "ποιου ποιους ποιων τι",
    "it": "che chi come cosa dove perché quale quali quando quanta quante quanti quanto",
    "tr": "hangi hangisi kaç kaçta kim kime kimi kimin kiminle kimle kimdi kimdir kimler nasıl ne neden nedir "
          "neydi nereden nerede neredeydi nereye neresi neyi neye niye niçin",
    "de": "wann warum was welche welcher welches wem wen wer wessen wie wieso wo woher wohin",
    "fr": "combien comment où pourquoi quand que quel quelle quelles quels qui quoi",
    "es": "cómo cuál cuáles cuándo cuánta cuántas cuánto cuántos dónde qué quién quiénes",
}
# "And Putin?": a message this short that opens like a continuation and has no question word of its own
# asks the previous question again of a new subject ("When did Putin meet Kim?").
FOLLOW_UP_WORDS = 4
# How a message that continues the previous question opens: "And …?", "What about …?", "Peki …?".
_CONTINUATIONS = ("and", "what about", "how about", "και", "κι", "e", "ed", "peki", "peki ya", "ya", "ve",
                  "und", "et", "y")


def fold_word(word: str) -> str:
    """A word as the message lists compare it: lower case, no accents, ı as i ("Şoygu" -> "soygu")."""
    return _strip_accents(word.replace("İ", "i").casefold()).replace("ı", "i")


def _folded(lists: dict[str, str]) -> frozenset[str]:
    return frozenset(fold_word(w) for words in lists.values() for w in words.split())


FUNCTION_WORDS = _folded(_FUNCTION_WORDS)
QUESTION_WORDS = _folded(_QUESTION_WORDS)
CONTINUATIONS = tuple(tuple(fold_word(w) for w in c.split()) for c in _CONTINUATIONS)


def message_words(text: str) -> list[str]:
    """The folded words of a message."""
    return [fold_word(w) for w in _WORD.findall(text)]


def content_words(text: str) -> list[str]:
    """The words of a message that name something: neither a function word nor a question word, nor a
    letter alone (the "l" of "l'accordo", the "s" of "what's")."""
    return [w for w in message_words(text)
            if (len(w) > 1 or w.isdigit()) and w not in FUNCTION_WORDS and w not in QUESTION_WORDS]


def continuation_rest(text: str) -> list[str] | None:
    """The words after an opening "And"/"What about"/"Και"/"E"/"Peki"/…, or None without one."""
    words = message_words(text)
    for opener in sorted(CONTINUATIONS, key=len, reverse=True):
        if tuple(words[: len(opener)]) == opener:
            return words[len(opener):]
    return None


def continues_previous(message: str) -> bool:
    """Whether a message of a conversation names nothing of its own, so it can only be searched with the
    previous question: only question words, conjunctions, pronouns and the like ("And where?", "Και πού;",
    "E dove?", "Peki nerede?", "Why?", "What did he say?")."""
    return not content_words(message)


def asks_previous_of(message: str) -> bool:
    """Whether a message asks the previous question again of a new subject: a short "And …?" with a name
    and no question word of its own ("And Putin?", "Και ο Πούτιν;", "E Putin?", "Peki Putin?"). A message
    with its own question word ("And who is Shoigu?") asks its own question."""
    rest = continuation_rest(message)
    return (rest is not None and len(message_words(message)) <= FOLLOW_UP_WORDS
            and not any(w in QUESTION_WORDS for w in rest) and bool(content_words(message)))


@dataclass
class _LanguageIndex:
    ids: list[str]
    retriever: Any  # bm25s.BM25 (untyped)


class LexicalIndex:
    """BM25 indexes for every language in the store, kept in sync with the store's version."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.version: int | None = None
        self._indexes: dict[str, _LanguageIndex] = {}
        self._analyzers: dict[str, Analyzer] = {}

    def analyzer(self, language: str) -> Analyzer:
        if language not in self._analyzers:
            self._analyzers[language] = Analyzer(language)
        return self._analyzers[language]

    @property
    def languages(self) -> list[str]:
        return sorted(self._indexes)

    def ids(self, language: str) -> set[str]:
        """The chunk ids BM25 holds for ``language``."""
        index = self._indexes.get(language)
        return set(index.ids) if index is not None else set()

    def build(self, language: str, rows: Iterable[tuple[str, str]]) -> None:
        """(Re)build one language's index from (chunk id, text) rows."""
        bm25s = _import_bm25s()

        rows = list(rows)
        if not rows:
            self._indexes.pop(language, None)
            return
        analyze = self.analyzer(language)
        retriever = bm25s.BM25()
        retriever.index([analyze(text) for _, text in rows], show_progress=False)
        self._indexes[language] = _LanguageIndex(ids=[i for i, _ in rows], retriever=retriever)

    def search(self, query: str, language: str, n: int) -> list[tuple[str, float]]:
        """(chunk id, BM25 score) of the best ``n`` chunks in ``language``, best first."""
        index = self._indexes.get(language)
        if index is None:
            return []
        vocab = index.retriever.vocab_dict
        tokens = [t for t in dict.fromkeys(self.analyzer(language)(query)) if t in vocab]
        if not tokens:
            return []
        scores = np.asarray(index.retriever.get_scores(tokens))
        order = np.argsort(-scores)
        out: list[tuple[str, float]] = []
        for i in order:
            if scores[i] <= 0 or len(out) >= n:
                break
            out.append((index.ids[i], float(scores[i])))
        return out

    # -- persistence ---------------------------------------------------------------------------------

    def save(self, version: int) -> None:
        """Write the indexes beside the folder, then swap them in whole.

        A crash mid-save never leaves a half-written index behind. The side folders are named for this
        save alone (process id and a random part), so that processes sharing a data folder (chat-page
        workers, `rag ingest`) can save at once without removing each other's files.
        """
        tag = f"{os.getpid()}-{uuid.uuid4().hex[:8]}"
        tmp = self.directory.with_name(f"{self.directory.name}.tmp-{tag}")
        tmp.mkdir(parents=True)
        try:
            for lang, index in self._indexes.items():
                index.retriever.save(str(tmp / lang))
                (tmp / lang / "ids.json").write_text(json.dumps(index.ids))
            (tmp / "state.json").write_text(json.dumps({"version": version, "languages": self.languages}))
            self._swap_in(tmp, self.directory.with_name(f"{self.directory.name}.old-{tag}"))
        finally:
            shutil.rmtree(tmp, ignore_errors=True)  # gone already unless the save failed
        self.version = version

    def _swap_in(self, new: Path, aside: Path, attempts: int = 20) -> None:
        """Rename ``new`` to the index folder, after moving the current one into ``aside``; delete ``aside``.

        A folder cannot be renamed onto a non-empty one, and another process may swap its own index in
        between our two renames: then that one is moved aside too, and we try again (both are complete).
        """
        aside.mkdir()
        try:
            for attempt in range(attempts):
                with contextlib.suppress(FileNotFoundError):  # no index yet, or another saver moved it aside
                    self.directory.rename(aside / str(attempt))
                try:
                    new.rename(self.directory)
                    return
                except OSError as exc:
                    if exc.errno not in (errno.EEXIST, errno.ENOTEMPTY) or attempt == attempts - 1:
                        raise
        finally:
            shutil.rmtree(aside, ignore_errors=True)

    def load(self) -> bool:
        """Load the saved indexes; False when there are none or they are unreadable."""
        bm25s = _import_bm25s()

        state_file = self.directory / "state.json"
        if not state_file.exists():
            return False
        try:
            state = json.loads(state_file.read_text())
            indexes = {}
            for lang in state["languages"]:
                retriever = bm25s.BM25.load(str(self.directory / lang))
                ids = json.loads((self.directory / lang / "ids.json").read_text())
                indexes[lang] = _LanguageIndex(ids=ids, retriever=retriever)
        except (OSError, ValueError, KeyError) as exc:
            log.warning("BM25 index at %s is unreadable (%s); it will be rebuilt", self.directory, exc)
            return False
        self._indexes = indexes
        self.version = int(state["version"])
        return True
