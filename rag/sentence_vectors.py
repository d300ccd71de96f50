"""Sentence vectors kept on disk, so that a question's evidence costs one query embedding, not one per sentence.

The evidence (``rag.evidence``) scores every sentence of the top passages against the question. Embedded at
question time, those 10-15 sentences cost 0.8-1.6 s on a 2-core CPU: the bundled e5-small embeds each text
on its own, about 30-100 ms a sentence. So ingest embeds the sentences of every chunk it writes and keeps
their vectors here, and a question reads them back in about a millisecond.

A vector is keyed by the embedding model and the sentence's text, so it is right for that text whatever
article or version holds it: the file can be behind the index (a sentence missing) but never disagree with
it. It is a cache, and loses nothing when it fails: a sentence missing here (an index built before it, an
ingest interrupted between its chunks and their sentences) is embedded when a question needs it and stored
then; a file that cannot be opened or written is logged and bypassed. Sentences of removed articles stay
until ``rag ingest --rebuild`` clears the file (about 1.6 KB a sentence).

One SQLite file per collection under the data folder, in WAL mode: the ingest in one process writes while the
page in another reads. With a Chroma server shared by several machines each machine keeps its own file: one
that did not ingest embeds each sentence once, when a question first needs it.
"""

from __future__ import annotations

import hashlib
import logging
import sqlite3
import threading
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np

from rag.citations import sentence_spans
from rag.embedding import Embedder

log = logging.getLogger(__name__)

_LOOKUP = 500  # keys per SELECT: below SQLite's limit on bound parameters


def sentences_of(text: str) -> list[str]:
    """The sentences of a chunk, exactly as the evidence cuts them (``rag.citations.sentence_spans``)."""
    return [text[s:e] for s, e in sentence_spans(text)]


class SentenceVectors:
    """The sentence vectors of an index: ``embed`` reads stored ones and embeds (and stores) the rest.

    ``path=None`` keeps nothing on disk: every sentence is embedded (the embedder's own cache still holds
    recent ones).
    """

    def __init__(self, embedder: Embedder, path: Path | None = None) -> None:
        self.embedder = embedder
        self.path = path
        self._lock = threading.Lock()
        self._db: sqlite3.Connection | None = None
        self._broken = path is None

    # -- reading and embedding ----------------------------------------------------------------------------

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """One L2-normalised vector per text, in order (``Embedder.embed_sentences``, read from disk first)."""
        texts = list(texts)
        if not texts:
            return self.embedder.embed_sentences([])
        stored = self._read(list(dict.fromkeys(texts)))
        missing = [t for t in dict.fromkeys(texts) if t not in stored]
        if missing:
            fresh = self.embedder.embed_sentences(missing)
            self._write(dict(zip(missing, fresh)))
            stored.update(zip(missing, fresh))
        return np.stack([stored[t] for t in texts])

    def fill(self, chunk_texts: Iterable[str]) -> int:
        """Embed and store every sentence of these chunks not stored yet; how many were embedded."""
        if self._broken:
            return 0
        sentences = list(dict.fromkeys(s for text in chunk_texts for s in sentences_of(text)))
        stored = self._read(sentences)
        missing = [s for s in sentences if s not in stored]
        if missing:
            self._write(dict(zip(missing, self.embedder.embed_passages(missing))))
        return len(missing)

    def count(self) -> int:
        """Vectors stored for this embedder's model and others (0 when there is no usable file)."""
        db = self._connection()
        if db is None:
            return 0
        with self._lock:
            try:
                return int(db.execute("SELECT COUNT(*) FROM vectors").fetchone()[0])
            except sqlite3.Error as exc:
                self._fail("read", exc)
                return 0

    def clear(self) -> None:
        """Forget every stored vector (a rebuild: the old sentences, and perhaps the old model, are gone)."""
        db = self._connection()
        if db is None:
            return
        with self._lock:
            try:
                with db:
                    db.execute("DELETE FROM vectors")
            except sqlite3.Error as exc:
                self._fail("clear", exc)

    def close(self) -> None:
        with self._lock:
            if self._db is not None:
                self._db.close()
                self._db = None

    # -- the file -----------------------------------------------------------------------------------------

    def _key(self, text: str) -> bytes:
        return hashlib.blake2b(f"{self.embedder.model_id}\x00{text}".encode(), digest_size=16).digest()

    def _read(self, texts: list[str]) -> dict[str, np.ndarray]:
        db = self._connection()
        if db is None or not texts:
            return {}
        by_key = {self._key(t): t for t in texts}
        keys = list(by_key)
        found: dict[str, np.ndarray] = {}
        with self._lock:
            try:
                for i in range(0, len(keys), _LOOKUP):
                    part = keys[i : i + _LOOKUP]
                    rows = db.execute(f"SELECT key, vector FROM vectors WHERE key IN ({','.join('?' * len(part))})",
                                      part).fetchall()
                    for key, blob in rows:
                        found[by_key[key]] = np.frombuffer(blob, dtype=np.float32).copy()
            except sqlite3.Error as exc:
                self._fail("read", exc)
                return {}
        return found

    def _write(self, vectors: dict[str, np.ndarray]) -> None:
        db = self._connection()
        if db is None or not vectors:
            return
        rows = [(self._key(t), np.asarray(v, dtype=np.float32).tobytes()) for t, v in vectors.items()]
        with self._lock:
            try:
                with db:
                    db.executemany("INSERT OR REPLACE INTO vectors (key, vector) VALUES (?, ?)", rows)
            except sqlite3.Error as exc:
                self._fail("write", exc)

    def _connection(self) -> sqlite3.Connection | None:
        if self._broken:
            return None
        with self._lock:
            if self._db is None:
                assert self.path is not None
                try:
                    self.path.parent.mkdir(parents=True, exist_ok=True)
                    db = sqlite3.connect(self.path, timeout=10, check_same_thread=False)
                    db.execute("PRAGMA journal_mode=WAL")
                    db.execute("CREATE TABLE IF NOT EXISTS vectors (key BLOB PRIMARY KEY, vector BLOB NOT NULL)")
                    db.commit()
                except (OSError, sqlite3.Error) as exc:
                    self._broken = True
                    log.warning("sentence vectors at %s cannot be used (%s): sentences are embedded at question "
                                "time instead, which makes the evidence slower; delete the file to start it afresh",
                                self.path, exc)
                    return None
                self._db = db
            return self._db

    def _fail(self, what: str, exc: sqlite3.Error) -> None:
        """A failed read or write costs speed, never an answer: logged, and the model embeds instead."""
        log.warning("could not %s sentence vectors at %s: %s", what, self.path, exc)
