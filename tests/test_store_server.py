"""Server mode: the same ingest and retrieval against a real `chroma run` (RAG_CHROMA_HOST/PORT)."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest
from helpers import ITALIAN, SEEDS, SMALL_SEEDS, TURKISH, free_port, isolated

from rag.embedding import Embedder
from rag.errors import StoreError
from rag.pipeline import RAG
from rag.settings import Settings
from rag.types import IngestReport

pytestmark = pytest.mark.server

COLLECTION = "news_server_test"


def server_settings(server: tuple[str, int], data_dir: Path, collection: str = COLLECTION) -> Settings:
    host, port = server
    return Settings(data_dir=data_dir, chroma_host=host, chroma_port=port, collection=collection)


@dataclass
class ServerIndex:
    server: tuple[str, int]
    docs: Path
    data_dir: Path  # the ingesting machine's data folder (BM25 only: vectors live on the server)
    report: IngestReport


@pytest.fixture(scope="module")
def server_index(
    chroma_server: tuple[str, int], tmp_path_factory: pytest.TempPathFactory, embedder: Embedder
) -> ServerIndex:
    """The two small seeds ingested once into a collection on the server."""
    root = tmp_path_factory.mktemp("server-ingest")
    docs = root / "docs"
    docs.mkdir()
    for name in SMALL_SEEDS:
        shutil.copy(SEEDS / name, docs / name)
    with isolated(root):
        report = RAG(server_settings(chroma_server, root / "data"), embedder=embedder).ingest(docs)
    return ServerIndex(chroma_server, docs, root / "data", report)


def test_ingest_through_the_server_stores_every_chunk_there(server_index: ServerIndex, make_rag) -> None:
    rag = make_rag(server_settings(server_index.server, server_index.data_dir))

    assert server_index.report.files_indexed == 2
    assert server_index.report.chunks_embedded == server_index.report.chunks_total == rag.store.count() > 0
    assert server_index.report.languages == {"it": 1, "tr": 1}


def test_the_embedded_store_is_not_used_in_server_mode(server_index: ServerIndex) -> None:
    assert not (server_index.data_dir / "chroma").exists()


def test_retrieval_through_the_server_finds_the_right_article(server_index: ServerIndex, make_rag) -> None:
    rag = make_rag(server_settings(server_index.server, server_index.data_dir))

    passages = rag.retrieve("Quanti soldati nordcoreani sono morti nella guerra in Ucraina?", top_k=3)

    assert passages[0].source == ITALIAN
    assert "6.000 soldati nordcoreani" in " ".join(p.text for p in passages)


def test_ingesting_again_through_the_server_embeds_nothing(server_index: ServerIndex, make_rag) -> None:
    rag = make_rag(server_settings(server_index.server, server_index.data_dir))

    again = rag.ingest(server_index.docs)

    assert (again.chunks_embedded, again.files_unchanged) == (0, 2)


def test_another_machine_builds_its_bm25_from_the_servers_chunks(
    server_index: ServerIndex, make_rag, tmp_path: Path
) -> None:
    other = make_rag(server_settings(server_index.server, tmp_path / "other-machine"))

    passages = other.retrieve("Lavrov Kuzey Kore ile enerji işbirliği", top_k=3)

    assert passages[0].source == TURKISH
    assert any(p.lexical_score is not None for p in passages)  # BM25 was built here, from the server


def test_collections_on_one_server_are_separate(server_index: ServerIndex, make_rag, tmp_path: Path) -> None:
    other = make_rag(server_settings(server_index.server, tmp_path / "data", collection="another_collection"))

    assert other.store.count() == 0


def test_an_unreachable_server_says_how_to_start_one(settings: Settings, make_rag) -> None:
    unreachable = settings.model_copy(update={"chroma_host": "127.0.0.1", "chroma_port": free_port()})

    with pytest.raises(StoreError, match="chroma run") as exc:
        make_rag(unreachable)
    assert "RAG_CHROMA_HOST" in str(exc.value)
