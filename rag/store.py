"""Chroma, embedded (PersistentClient under the data folder) or a server (HttpClient).

The collection records which embedder built it and the vector dimension; opening it with another
embedder stops with instructions instead of mixing vectors. A ``version`` counter in the collection
metadata changes on every write, so other processes can tell that their BM25 index is stale.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from rag.errors import EmbedderMismatchError, StoreError
from rag.types import Chunk

log = logging.getLogger(__name__)

_PAGE = 5000  # rows per `get` page when scanning the whole collection


def connect(chroma_dir: Path, host: str | None = None, port: int = 8000) -> Any:
    """A Chroma client: a server when ``host`` is set, otherwise embedded under ``chroma_dir``."""
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    chroma_settings = ChromaSettings(anonymized_telemetry=False)
    if host:
        try:
            client = chromadb.HttpClient(host=host, port=port, settings=chroma_settings)
            client.heartbeat()
        except Exception as exc:
            raise StoreError(
                f"cannot reach the Chroma server at {host}:{port} ({exc}); start it with "
                f"`chroma run --path DIR --port {port}` or unset RAG_CHROMA_HOST to use the embedded store"
            ) from exc
        return client
    chroma_dir.mkdir(parents=True, exist_ok=True)
    return chromadb.PersistentClient(path=str(chroma_dir), settings=chroma_settings)


def drop_collection(client: Any, name: str) -> None:
    """Delete a collection if it exists, whatever embedder built it (``rag ingest --rebuild``)."""
    from chromadb.errors import NotFoundError

    try:
        client.delete_collection(name)
    except NotFoundError:
        log.debug("collection %s did not exist", name)


@contextmanager
def _readable(store: ChromaStore) -> Iterator[None]:
    """Turn Chroma's and the transport's errors on reads into a ``StoreError`` that says what to do."""
    try:
        yield
    except StoreError:
        raise
    except Exception as exc:
        where = "the Chroma server" if store.remote else "the embedded Chroma index"
        raise StoreError(
            f"{where} cannot be read ({type(exc).__name__}: {exc}); if RAG_CHROMA_HOST is set, check that "
            f"`chroma run` is up; if the collection was deleted, run `rag ingest`, then ask again"
        ) from exc


@dataclass(frozen=True)
class Hit:
    """One row of a dense query: the chunk's id, text, metadata and cosine similarity."""

    id: str
    text: str
    metadata: dict[str, Any]
    similarity: float


class ChromaStore:
    """One collection of chunks. All Chroma calls of the package go through here."""

    def __init__(self, client: Any, name: str, embedder_id: str, dimension: int, remote: bool = False) -> None:
        self.client = client
        self.name = name
        self.embedder_id = embedder_id
        self.dimension = dimension
        self.remote = remote
        self.collection = self._open()

    def _open(self) -> Any:
        meta = {"embedder": self.embedder_id, "dimension": self.dimension, "version": 0}
        try:
            col = self.client.get_or_create_collection(
                self.name, metadata=meta, configuration={"hnsw": {"space": "cosine"}}, embedding_function=None
            )
        except Exception as exc:
            raise StoreError(f"cannot open Chroma collection {self.name!r}: {exc}") from exc
        found = col.metadata or {}
        if found.get("embedder") != self.embedder_id or found.get("dimension") != self.dimension:
            raise EmbedderMismatchError(
                f"the index {self.name!r} was built with embedder {found.get('embedder', 'unknown')} "
                f"(dimension {found.get('dimension', '?')}), but the settings ask for {self.embedder_id} "
                f"(dimension {self.dimension}). Rebuild it with `rag ingest --rebuild`, or set "
                f"RAG_EMBEDDER back to the embedder it was built with."
            )
        return col

    # -- reading -------------------------------------------------------------------------------------

    def count(self) -> int:
        with _readable(self):
            return self.collection.count()

    @property
    def version(self) -> int:
        """Changes on every write, from any process (read fresh from the server/disk)."""
        with _readable(self):
            col = self.client.get_collection(self.name, embedding_function=None)
        if col.id != self.collection.id:  # another process rebuilt the collection: follow it
            self.collection = col
        return int((col.metadata or {}).get("version", 0))

    def iter_rows(self, where: dict | None = None, include_documents: bool = False) -> Iterator[tuple[str, dict, str]]:
        """(id, metadata, text) for every chunk matching ``where``, page by page."""
        include = ["metadatas", "documents"] if include_documents else ["metadatas"]
        offset = 0
        while True:
            with _readable(self):
                page = self.collection.get(where=where, include=include, limit=_PAGE, offset=offset)
            ids = page["ids"]
            docs = page.get("documents") or [""] * len(ids)
            yield from zip(ids, page["metadatas"], docs)
            if len(ids) < _PAGE:
                return
            offset += _PAGE

    def ids_for(self, path: str) -> dict[str, dict]:
        """id -> metadata of every chunk of the file at ``path``."""
        return {i: m for i, m, _ in self.iter_rows(where={"path": path})}

    def query(self, vector: np.ndarray, n: int, where: dict | None = None) -> list[Hit]:
        """The ``n`` nearest chunks matching ``where``, nearest first; fewer when fewer match.

        ``n`` is not capped by ``count()``: Chroma (1.5) returns what there is, and ``[]`` for an empty
        collection, while a ``count()`` costs ~9 ms a question at 100k chunks.
        """
        with _readable(self):
            res = self.collection.query(
                query_embeddings=[vector.tolist()],
                n_results=n,
                where=where,
                include=["documents", "metadatas", "distances"],
            )
        return [
            Hit(id=i, text=t, metadata=m, similarity=1.0 - float(d))
            for i, t, m, d in zip(res["ids"][0], res["documents"][0], res["metadatas"][0], res["distances"][0])
        ]

    # -- writing -------------------------------------------------------------------------------------

    def upsert(self, chunks: Sequence[Chunk], vectors: np.ndarray) -> None:
        if len(chunks) != len(vectors):
            raise ValueError("one vector per chunk")
        if not chunks:
            return
        self.collection.upsert(
            ids=[c.id for c in chunks],
            embeddings=vectors.astype(np.float32),
            documents=[c.text for c in chunks],
            metadatas=[c.metadata() for c in chunks],
        )

    def delete(self, ids: Sequence[str]) -> None:
        for i in range(0, len(ids), _PAGE):
            self.collection.delete(ids=list(ids[i : i + _PAGE]))

    def bump_version(self) -> int:
        """Mark the collection as changed, for readers in other processes."""
        # Read the metadata fresh: another process may have bumped it since we opened the collection.
        self.collection = self.client.get_collection(self.name, embedding_function=None)
        meta = dict(self.collection.metadata or {})
        # A clock-based version never repeats, not even after a rebuild restarts the collection.
        meta["version"] = max(int(meta.get("version", 0)) + 1, time.time_ns() // 1000)
        meta["updated"] = time.time()
        self.collection.modify(metadata=meta)
        return meta["version"]

    def reset(self) -> None:
        """Drop the collection and create it empty (``--rebuild``)."""
        from chromadb.errors import NotFoundError

        try:
            self.client.delete_collection(self.name)
        except NotFoundError:
            log.debug("collection %s did not exist", self.name)
        self.collection = self._open()
