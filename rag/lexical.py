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

WORD = re.compile(r"\w+", re.UNICODE)


def strip_accents(text: str) -> str:
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
            text = strip_accents(text)
        words = [w for w in WORD.findall(text) if len(w) > 1 or w.isdigit()]
        return self._stemmer.stemWords(words) if self._stemmer else words


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
