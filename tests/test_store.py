"""ChromaStore over embedded Chroma: a dense query returns what there is, without counting first."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from rag.store import ChromaStore, connect
from rag.types import Chunk

DIMENSION = 8


def chunk(name: str, language: str) -> Chunk:
    text = f"{name} in {language}"
    return Chunk(
        id=f"{name}#0", text=text, source=name, path=f"/docs/{name}", language=language, title=name,
        start=0, end=len(text), index=0, doc_sha256="0" * 64, n_chunks=1,
    )


@pytest.fixture
def store(tmp_path: Path) -> ChromaStore:
    """An empty collection in this test's temporary folder (no embedder: vectors are given)."""
    return ChromaStore(connect(tmp_path / "chroma"), "news", "test-vectors", DIMENSION)


def unit_vectors(n: int, seed: int = 0) -> np.ndarray:
    vecs = np.random.default_rng(seed).standard_normal((n, DIMENSION)).astype(np.float32)
    return vecs / np.linalg.norm(vecs, axis=1, keepdims=True)


@pytest.mark.parametrize("where", [None, {"language": "el"}], ids=["unfiltered", "filtered"])
def test_a_query_on_an_empty_collection_returns_nothing(store: ChromaStore, where: dict | None) -> None:
    assert store.query(unit_vectors(1)[0], 30, where) == []


def test_a_query_for_more_rows_than_the_collection_holds_returns_each_row_once_nearest_first(
    store: ChromaStore,
) -> None:
    store.upsert([chunk("a", "el"), chunk("b", "it"), chunk("c", "el")], unit_vectors(3))

    hits = store.query(unit_vectors(1, seed=1)[0], 30)

    assert sorted(h.id for h in hits) == ["a#0", "b#0", "c#0"]
    assert [h.similarity for h in hits] == sorted((h.similarity for h in hits), reverse=True)


@pytest.mark.parametrize(("language", "expected"), [("el", ["a#0", "c#0"]), ("de", [])])
def test_a_filtered_query_for_more_rows_than_match_returns_those_that_match(
    store: ChromaStore, language: str, expected: list[str]
) -> None:
    store.upsert([chunk("a", "el"), chunk("b", "it"), chunk("c", "el")], unit_vectors(3))

    hits = store.query(unit_vectors(1, seed=1)[0], 30, {"language": language})

    assert sorted(h.id for h in hits) == expected


def test_a_query_does_not_count_the_collection(store: ChromaStore, monkeypatch: pytest.MonkeyPatch) -> None:
    # A count() costs ~9 ms at 100k chunks, as much as the dense search itself (docs/benchmarks.md, fix 4).
    store.upsert([chunk("a", "el")], unit_vectors(1))
    monkeypatch.setattr(store, "count", lambda: pytest.fail("query() called count()"))

    assert [h.id for h in store.query(unit_vectors(1)[0], 30)] == ["a#0"]
