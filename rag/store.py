"""Chroma, embedded (PersistentClient under the data folder) or a server (HttpClient).

The collection records which embedder built it and the vector dimension; opening it with another
embedder stops with instructions instead of mixing vectors. A ``version`` in the collection metadata
changes on every write, so other processes can tell that the index moved (their embedded client and BM25
are then checked against it). Every read and write is wrapped: a failure is one ``StoreError`` line.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from rag.errors import EmbedderMismatchError, StoreError
from rag.types import Chunk

log = logging.getLogger(__name__)

_PAGE = 5000  # rows per `get` page when scanning the whole collection
# A read that finds this process's vector index older than the rows opens a fresh client at most this often
# (during another process's long ingest, every question touching a changed article would).
_CATCH_UP_SECONDS = 1.0
_STALE_OVERFETCH = 4  # unfiltered candidates per wanted one when a filter is applied here instead of by Chroma


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
    try:
        # Chroma creates its tables when it first opens a folder, with no lock between processes: two processes
        # opening a new folder at once (two `rag ingest`, or the page and an ingest) failed one of them ("table
        # collections already exists", "database is locked"). Openings take turns (milliseconds on a folder
        # that exists; the lock file is beside the folder, see ``opening_lock``).
        with file_lock(opening_lock(chroma_dir)):
            return chromadb.PersistentClient(path=str(chroma_dir), settings=chroma_settings)
    except Exception as exc:
        raise StoreError(
            f"cannot open the embedded Chroma index in {chroma_dir} ({type(exc).__name__}: {exc}); check that "
            f"the folder is readable and writable, or move it away and run `rag ingest`"
        ) from exc


def opening_lock(chroma_dir: Path) -> Path:
    """The file that processes opening the embedded Chroma folder ``chroma_dir`` lock in turn (``connect``)."""
    return chroma_dir.with_name(f"{chroma_dir.name}.open.lock")


@contextmanager
def file_lock(path: Path, waiting: str | None = None) -> Iterator[None]:
    """An exclusive lock on ``path`` across processes (released when the process dies, too); ``waiting`` is
    logged when another process holds it."""
    import fcntl

    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+b") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            if waiting:
                log.warning("%s", waiting)
            fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def reopen_embedded(chroma_dir: Path) -> Any:
    """A new embedded client on ``chroma_dir`` that loads the index as it is on disk now.

    chromadb shares one ``System`` (and its in-memory vector index) per folder within a process; taking
    the folder's entry out of that cache makes the next client build a fresh one. The old system is not
    stopped: questions running on it finish, and it is freed once nothing refers to it.
    """
    from chromadb.api.shared_system_client import SharedSystemClient

    key = str(chroma_dir)
    with SharedSystemClient._refcount_lock:
        SharedSystemClient._identifier_to_system.pop(key, None)
        SharedSystemClient._identifier_to_refcount.pop(key, None)
    return connect(chroma_dir)


def _matches(meta: dict, where: dict) -> bool:
    """Whether metadata satisfies a Chroma ``where`` of the forms used here (``$and``, ``$or``, ``$in``,
    ``$eq``, a plain value)."""
    for key, cond in where.items():
        if key == "$and":
            ok = all(_matches(meta, c) for c in cond)
        elif key == "$or":
            ok = any(_matches(meta, c) for c in cond)
        elif isinstance(cond, dict) and "$in" in cond:
            ok = meta.get(key) in cond["$in"]
        elif isinstance(cond, dict) and "$eq" in cond:
            ok = meta.get(key) == cond["$eq"]
        else:
            ok = meta.get(key) == cond
        if not ok:
            return False
    return True


@contextmanager
def _guarded(store: ChromaStore, action: str) -> Iterator[None]:
    """Turn Chroma's and the transport's errors into one ``StoreError`` line that says what to do."""
    try:
        yield
    except StoreError:
        raise
    except Exception as exc:
        where = "the Chroma server" if store.remote else "the embedded Chroma index"
        cause = str(exc).strip().splitlines()[0][:200] if str(exc).strip() else ""
        if store.remote:
            fix = (f"check that `chroma run` is up at {store.address} (or unset RAG_CHROMA_HOST), then run the "
                   f"command again (an interrupted `rag ingest` is completed by the next one)")
        else:
            fix = ("if the collection was deleted, run `rag ingest`; if the data folder is damaged, "
                   "`rag ingest --rebuild`")
        raise StoreError(f"{where} cannot be {action} ({type(exc).__name__}: {cause}); {fix}") from exc


@dataclass(frozen=True)
class Hit:
    """One row of a dense query: the chunk's id, text, metadata and cosine similarity."""

    id: str
    text: str
    metadata: dict[str, Any]
    similarity: float


class ChromaStore:
    """One collection of chunks. Every Chroma call of the package goes through here.

    ``reopen`` (embedded Chroma only) builds a fresh client on the same folder: embedded Chroma keeps its
    vector index in memory per process, so after another process wrote, ``refresh`` replaces the client
    to see those writes (see docs/architecture.md, "Consistency across processes").
    """

    def __init__(
        self, client: Any, name: str, embedder_id: str, dimension: int, remote: bool = False, *,
        reopen: Callable[[], Any] | None = None, address: str = "", check_embedder: bool = True,
    ) -> None:
        self.client = client
        self.name = name
        self.embedder_id = embedder_id
        self.dimension = dimension
        self.remote = remote
        self.address = address
        self._reopen = reopen
        self._own_versions: set[int] = set()  # versions this object's writes set
        self._seen_version = 0  # the version the client's view is known to match (set by ``_open``)
        self._warm_lock = threading.Lock()
        self._warming: threading.Thread | None = None  # a fresh client being opened in the background
        self._reopen_lock = threading.Lock()  # one fresh client opened at a time
        self._catch_up_lock = threading.Lock()
        self._opened_at = time.monotonic()  # when the client in use was opened: it sees what was written before
        self._writers = 0  # writes of this process under way (``writing``): no catching up meanwhile
        self._mismatch: EmbedderMismatchError | None = None
        self._collection = self._open(check_embedder)

    @property
    def collection(self) -> Any:
        """The Chroma collection; refused while it was built by another embedder (until ``reset``)."""
        if self._mismatch is not None:
            raise self._mismatch
        return self._collection

    def _open(self, check_embedder: bool = True) -> Any:
        meta = {"embedder": self.embedder_id, "dimension": self.dimension, "version": 0}
        with _guarded(self, "opened"):
            col = self.client.get_or_create_collection(
                self.name, metadata=meta, configuration={"hnsw": {"space": "cosine"}}, embedding_function=None
            )
        found = col.metadata or {}
        self._seen_version = int(found.get("version", 0))  # what this client's view matches
        self._mismatch = None
        if found.get("embedder") != self.embedder_id or found.get("dimension") != self.dimension:
            self._mismatch = EmbedderMismatchError(
                f"the index {self.name!r} was built with embedder {found.get('embedder', 'unknown')} "
                f"(dimension {found.get('dimension', '?')}), but the settings ask for {self.embedder_id} "
                f"(dimension {self.dimension}). Rebuild it with `rag ingest --rebuild`, or set "
                f"RAG_EMBEDDER back to the embedder it was built with."
            )
            if check_embedder:
                raise self._mismatch
        return col

    # -- reading -------------------------------------------------------------------------------------

    def count(self) -> int:
        with _guarded(self, "read"):
            return self.collection.count()

    def metadata(self) -> dict[str, Any]:
        """The collection's metadata as stored now (embedder, dimension, version, shape)."""
        with _guarded(self, "read"):
            return dict(self.client.get_collection(self.name, embedding_function=None).metadata or {})

    @property
    def version(self) -> int:
        """Changes on every write, from any process (read fresh from the server/disk)."""
        with _guarded(self, "read"):
            col = self.client.get_collection(self.name, embedding_function=None)
        if col.id != self._collection.id:  # another process rebuilt the collection: follow it
            self._collection = col
        return int((col.metadata or {}).get("version", 0))

    @property
    def seen_version(self) -> int:
        """The latest version this process knows the index at (no read: see ``version``)."""
        return self._seen_version

    def wrote(self, version: int) -> bool:
        """Whether ``version`` was set by this object's own writes."""
        return version in self._own_versions

    def refresh(self, version: int, *, wait: bool = False) -> bool:
        """Make this process see every write up to ``version``; True when a fresh client is in use now.

        A server always answers with what it holds. Embedded Chroma serves dense queries from a vector index
        loaded in this process, which writes by other processes do not reach: when ``version`` was set by
        someone else, a fresh client is opened on the folder and its vector index loaded by one query, then
        swapped in. A question does not wait for that (``wait=False``; done inline, it made that question
        take 1-1.8 s at 10k chunks): it runs in the background while questions keep using the current client
        (rows gone since are left out); an ingest waits, so that it never writes on top of a stale view.
        """
        if version == self._seen_version or version in self._own_versions:
            self._seen_version = version
            return False
        if self._reopen is None:
            self._seen_version = version
            return False
        with self._warm_lock:
            warming = self._warming
            if warming is not None and warming.is_alive():
                if not wait:
                    return False
            else:
                warming = None
            if warming is None and not wait:
                self._warming = threading.Thread(target=self._swap_in_fresh, args=(version,),
                                                 name="chroma-reopen", daemon=True)
                self._warming.start()
                return False
        if warming is not None:
            warming.join()
        if version != self._seen_version:
            self._swap_in_fresh(version, raise_errors=True)
        return True

    def _swap_in_fresh(self, version: int, raise_errors: bool = False) -> None:
        """Open a fresh embedded client, load its vector index with one query, then use it."""
        with self._reopen_lock:
            opened = time.monotonic()
            try:
                with _guarded(self, "opened"):
                    assert self._reopen is not None  # only embedded stores, which have it, are refreshed
                    client = self._reopen()
                    col = client.get_collection(self.name, embedding_function=None)
                    probe = np.zeros(self.dimension, dtype=np.float32)
                    probe[0] = 1.0
                    col.query(query_embeddings=[probe.tolist()], n_results=1, include=[])  # loads it here
            except StoreError as exc:
                if raise_errors:
                    raise
                log.warning("could not reopen the index after another process wrote: %s", exc)
                return
            self.client, self._collection = client, col
            self._opened_at = opened
            self._seen_version = version
        log.info("the index changed in another process (version %d): now using a fresh embedded client", version)

    def _catch_up(self, stale: Any) -> bool:
        """The client ``stale`` answered with rows that are gone, or failed on a chunk it does not hold: its
        vector index is older than what another process wrote since it was opened. Use a fresher client now:
        the one being opened in the background, or a new one (unless one was opened within the last
        ``_CATCH_UP_SECONDS``). True when a client other than ``stale`` is in use: ask it again."""
        if self._reopen is None:
            return False
        with self._catch_up_lock:
            warming = self._warming
            if warming is not None and warming.is_alive():
                warming.join()
            if self.client is stale and not self._writers and time.monotonic() - self._opened_at >= _CATCH_UP_SECONDS:
                version = self.version
                if not self.wrote(version):  # this process wrote last: its own index is current
                    self._swap_in_fresh(version)
            return self.client is not stale

    @contextmanager
    def writing(self) -> Iterator[None]:
        """This process writes (holding the ingest lock, so no other process does): its vector index is
        current, and a row gone from under a question is one of its own deletes. Reads do not catch up
        meanwhile, so that no write ever runs on a client that is being replaced."""
        with self._catch_up_lock:  # after a catch-up under way
            self._writers += 1
        try:
            yield
        finally:
            with self._catch_up_lock:
                self._writers -= 1

    def iter_rows(self, where: dict | None = None, include_documents: bool = False) -> Iterator[tuple[str, dict, str]]:
        """(id, metadata, text) for every chunk matching ``where``, page by page."""
        include = ["metadatas", "documents"] if include_documents else ["metadatas"]
        offset = 0
        while True:
            with _guarded(self, "read"):
                page = self.collection.get(where=where, include=include, limit=_PAGE, offset=offset)
            ids = page["ids"]
            docs = page.get("documents") or [""] * len(ids)
            yield from zip(ids, page["metadatas"], docs)
            if len(ids) < _PAGE:
                return
            offset += _PAGE

    def paths_named(self, names: Sequence[str]) -> dict[str, set[str]]:
        """File name -> the paths of the indexed documents of that name, for each of ``names``."""
        out: dict[str, set[str]] = {}
        if names:
            for _, meta, _ in self.iter_rows(where={"source": {"$in": sorted(set(names))}}):
                out.setdefault(str(meta.get("source", "")), set()).add(str(meta.get("path", "")))
        return out

    def ids(self) -> list[str]:
        """Every chunk id, without metadata or text (the cheapest full read)."""
        out: list[str] = []
        offset = 0
        while True:
            with _guarded(self, "read"):
                page = self.collection.get(include=[], limit=_PAGE, offset=offset)
            out += page["ids"]
            if len(page["ids"]) < _PAGE:
                return out
            offset += _PAGE

    def get(self, ids: Sequence[str], include_documents: bool = True) -> list[tuple[str, dict, str]]:
        """(id, metadata, text) of the chunks among ``ids`` that exist now (a deleted one is left out)."""
        include = ["metadatas", "documents"] if include_documents else ["metadatas"]
        rows: list[tuple[str, dict, str]] = []
        for i in range(0, len(ids), _PAGE):
            with _guarded(self, "read"):
                page = self.collection.get(ids=list(ids[i : i + _PAGE]), include=include)
            docs = page.get("documents") or [""] * len(page["ids"])
            rows += [(c, m, t or "") for c, m, t in zip(page["ids"], page["metadatas"], docs) if m]
        return rows

    def query(self, vector: np.ndarray, n: int, where: dict | None = None) -> list[Hit]:
        """The ``n`` nearest chunks matching ``where``, nearest first; fewer when fewer match.

        ``n`` is not capped by ``count()``: Chroma (1.5) returns what there is, and ``[]`` for an empty
        collection, while a ``count()`` costs ~9 ms a question at 100k chunks.

        Embedded Chroma searches a vector index loaded in this process, while rows live in the shared
        sqlite file: after another process wrote, the index may name rows that are gone (a changed or
        deleted file's old chunks: with nothing else near, the search finds nothing at all) and Chroma
        fails a filtered search when the filter matches a chunk the index does not hold. Either way this
        question catches up (``_catch_up``: a fresh client, at most once a second) and searches again. What
        is still missing then is left out: rows that are gone, and with a filter that still fails, the
        filter is applied here to an unfiltered search.
        """
        stale = self.client
        try:
            hits, complete = self._query(vector, n, where)
        except StoreError:
            if self._reopen is None or where is None:
                raise
            hits, complete = [], False
        else:
            if complete or self._reopen is None:
                return hits
        if not self._catch_up(stale):
            return hits or self._filtered_here(vector, n, where)
        try:
            return self._query(vector, n, where)[0]
        except StoreError:
            if where is None:
                raise
            return self._filtered_here(vector, n, where)

    def _query(self, vector: np.ndarray, n: int, where: dict | None) -> tuple[list[Hit], bool]:
        """The hits whose rows exist, and whether every hit's row did."""
        with _guarded(self, "read"):
            res = self.collection.query(
                query_embeddings=[vector.tolist()],
                n_results=n,
                where=where,
                include=["documents", "metadatas", "distances"],
            )
        hits = [
            Hit(id=i, text=t or "", metadata=m, similarity=1.0 - float(d))
            for i, t, m, d in zip(res["ids"][0], res["documents"][0], res["metadatas"][0], res["distances"][0])
            if m
        ]
        return hits, len(hits) == len(res["ids"][0])

    def _filtered_here(self, vector: np.ndarray, n: int, where: dict | None) -> list[Hit]:
        """The nearest rows matching ``where`` among an unfiltered search's (what a stale index can answer)."""
        if where is None:
            return []
        found, _ = self._query(vector, n * _STALE_OVERFETCH, None)
        return [h for h in found if _matches(h.metadata, where)][:n]

# -- writing -------------------------------------------------------------------------------------

    def upsert(self, chunks: Sequence[Chunk], vectors: np.ndarray) -> None:
        if len(chunks) != len(vectors):
            raise ValueError("one vector per chunk")
        if not chunks:
            return
        with _guarded(self, "written"):
            self.collection.upsert(
                ids=[c.id for c in chunks],
                embeddings=vectors.astype(np.float32),
                documents=[c.text for c in chunks],
                metadatas=[c.metadata() for c in chunks],
            )

    def delete(self, ids: Sequence[str]) -> None:
        for i in range(0, len(ids), _PAGE):
            with _guarded(self, "written"):
                self.collection.delete(ids=list(ids[i : i + _PAGE]))

    def bump_version(self, **extra: str) -> int:
        """Mark the collection as changed, for readers in other processes (``extra``: metadata to record)."""
        with _guarded(self, "written"):
            # Read the metadata fresh: another process may have bumped it since we opened the collection.
            col = self._collection = self.client.get_collection(self.name, embedding_function=None)
            meta = dict(col.metadata or {})
            # A clock-based version never repeats, not even after a rebuild restarts the collection.
            meta["version"] = max(int(meta.get("version", 0)) + 1, time.time_ns() // 1000)
            meta["updated"] = time.time()
            meta.update(extra)
            col.modify(metadata=meta)
        self._own_versions.add(meta["version"])
        return meta["version"]

    def reset(self) -> None:
        """Drop the collection and create it empty (``--rebuild``), whatever embedder built it."""
        from chromadb.errors import NotFoundError

        with _guarded(self, "written"):
            try:
                self.client.delete_collection(self.name)
            except NotFoundError:
                log.debug("collection %s did not exist", self.name)
        self._collection = self._open()
