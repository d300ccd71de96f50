"""Incremental ingestion: files -> documents -> chunks -> vectors -> Chroma, and BM25 kept in step.

Chunk ids derive from the file name and content hash, so re-running is idempotent:
- an unchanged file (same hash, all its chunks present) embeds nothing;
- a changed file gets new ids: the new chunks are written first, the old ones deleted after;
- an interrupted run leaves only chunks with final ids; the next run embeds just the missing ones;
- a file deleted from an ingested folder has its chunks removed;
- a file that cannot be read (binary, empty, not UTF-8) is skipped and its indexed chunks are kept.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections import defaultdict
from collections.abc import Iterable
from pathlib import Path

from rag.chunking import Chunker
from rag.embedding import Embedder
from rag.lexical import LexicalIndex
from rag.loading import Loader, find_files
from rag.store import ChromaStore
from rag.types import Chunk, Document, IndexStats, IngestReport

log = logging.getLogger(__name__)


def refresh_lexical(store: ChromaStore, lexical: LexicalIndex, languages: Iterable[str] | None = None) -> None:
    """Rebuild BM25 for ``languages`` (all when None) from the store's chunks, then persist it."""
    version = store.version
    by_lang: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for cid, meta, text in store.iter_rows(include_documents=True):
        by_lang[str(meta.get("language", ""))].append((cid, text))
    targets = set(by_lang) | set(lexical.languages) if languages is None else set(languages)
    for lang in sorted(targets):
        lexical.build(lang, by_lang.get(lang, []))
    lexical.save(version)
    log.info("BM25 rebuilt for %s at store version %d", ", ".join(sorted(targets)) or "nothing", version)


def ensure_lexical_fresh(store: ChromaStore, lexical: LexicalIndex) -> None:
    """Make BM25 match the store, loading it from disk or rebuilding it when another process wrote."""
    version = store.version
    if lexical.version == version:
        return
    if lexical.load() and lexical.version == version:
        return
    refresh_lexical(store, lexical)


def index_stats(store: ChromaStore) -> IndexStats:
    docs: dict[str, str] = {}
    chunks = 0
    for _, meta, _ in store.iter_rows():
        chunks += 1
        docs[str(meta.get("path"))] = str(meta.get("language", ""))
    languages: dict[str, int] = defaultdict(int)
    for lang in docs.values():
        languages[lang] += 1
    return IndexStats(documents=len(docs), chunks=chunks, languages=dict(languages), embedder=store.embedder_id)


class Indexer:
    """Runs an ingest. Collaborators are passed in, built once by ``RAG``."""

    def __init__(
        self, loader: Loader, chunker: Chunker, embedder: Embedder, store: ChromaStore, lexical: LexicalIndex,
        batch_size: int = 16,
    ) -> None:
        self.loader = loader
        self.chunker = chunker
        self.embedder = embedder
        self.store = store
        self.lexical = lexical
        self.batch_size = batch_size

    def ingest(self, path: Path, *, rebuild: bool = False, progress: bool = False) -> IngestReport:
        started = time.perf_counter()
        report = IngestReport()
        if rebuild:
            self.store.reset()
        # BM25 can be rebuilt per changed language only if what we hold matches the store now.
        start_version = self.store.version
        if self.lexical.version != start_version:
            self.lexical.load()
        partial_ok = not rebuild and self.lexical.version == start_version
        files = find_files(path)
        report.files_seen = len(files)

        existing: dict[str, dict[str, dict]] = defaultdict(dict)  # path -> chunk id -> metadata
        for cid, meta, _ in self.store.iter_rows():
            existing[str(meta.get("path"))][cid] = meta

        # A file whose bytes hash to what is indexed, completely, is not decoded, detected or chunked.
        to_load = []
        for f in files:
            have = existing.get(str(f.resolve()))
            if have and _complete(have, _sha256(f)):
                report.files_unchanged += 1
            else:
                to_load.append(f)
        docs, report.skipped = self.loader.load(to_load)
        report.boilerplate_lines = sum(len(d.removed_lines) for d in docs)

        plan: list[tuple[Document, list[Chunk], dict[str, dict]]] = [
            (doc, self.chunker.split(doc), existing.get(str(doc.path), {})) for doc in docs
        ]

        root = path.resolve()
        present = {str(f.resolve()) for f in files}
        gone = [p for p in existing if _is_under(p, root) and p not in present]

        changed_languages: set[str] = set()
        if plan or gone:
            self.store.bump_version()  # readers now know BM25 is stale, even if we are interrupted
        todo = sum(len([c for c in chunks if c.id not in have]) for _, chunks, have in plan)
        bar = _progress_bar(todo, progress)
        try:
            for doc, chunks, have in plan:
                missing = [c for c in chunks if c.id not in have]
                for i in range(0, len(missing), self.batch_size):
                    batch = missing[i : i + self.batch_size]
                    self.store.upsert(batch, self.embedder.embed_passages([c.text for c in batch]))
                    report.chunks_embedded += len(batch)
                    bar.update(len(batch))
                stale = [cid for cid in have if cid not in {c.id for c in chunks}]
                self.store.delete(stale)
                report.chunks_removed += len(stale)
                report.files_indexed += 1
                changed_languages.add(doc.language)
                changed_languages.update(str(m.get("language")) for m in have.values())
        finally:
            bar.close()
        for p in gone:
            ids = list(existing[p])
            self.store.delete(ids)
            report.chunks_removed += len(ids)
            report.files_removed += 1
            changed_languages.update(str(m.get("language")) for m in existing[p].values())
            log.info("removed %s (%d chunks): the file is gone", p, len(ids))

        if plan or gone:
            self.store.bump_version()
            refresh_lexical(self.store, self.lexical, changed_languages if partial_ok else None)
        else:
            ensure_lexical_fresh(self.store, self.lexical)
        stats = index_stats(self.store)
        report.chunks_total = stats.chunks
        report.languages = stats.languages
        report.seconds = time.perf_counter() - started
        return report


def _sha256(path: Path) -> str | None:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return None  # the loader reports why it cannot be read


def _complete(have: dict[str, dict], sha256: str | None) -> bool:
    """All of a file's chunks are in the store, from this very content."""
    metas = list(have.values())
    return all(m.get("doc_sha256") == sha256 for m in metas) and len(metas) == int(metas[0].get("n_chunks", -1))


def _is_under(path: str, root: Path) -> bool:
    p = Path(path)
    return p == root or root in p.parents


def _progress_bar(total: int, enabled: bool):  # noqa: ANN202 - tqdm
    from tqdm import tqdm

    return tqdm(total=total, unit="chunk", desc="embedding", disable=not enabled or total == 0, leave=False)
