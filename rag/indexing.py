"""Incremental ingestion: files -> documents -> chunks -> vectors -> Chroma, and BM25 kept in step.

Chunk ids derive from the document id (a hash of the file's real path: two folders never share one), the
content hash and the chunking shape, so re-running is idempotent:
- an unchanged file (same hash and shape, all its chunks present) embeds nothing;
- a file cut with other chunking settings (``IndexShape``) is re-chunked;
- a changed file gets new ids: the new chunks are written first, the old ones deleted after;
- an interrupted run leaves only chunks with final ids; the next run embeds just the missing ones;
- a file deleted from an ingested folder has its chunks removed, unless that would remove every document
  under the folder or most of them (then the run refuses: ``allow_removals``);
- a missing or unreadable folder is an error, never "every file was deleted";
- a file that cannot be read (binary, empty, not UTF-8) is skipped and its indexed chunks are kept.

What the index holds per file comes from the manifest (``rag.manifest``) when no other process wrote since
it was saved, otherwise from one read of every row's metadata. New and changed files are loaded and chunked
``_LOAD_FILES`` at a time, embedded in full batches across files and written ``_WRITE_ROWS`` rows per upsert
(an upsert costs about the same whatever its size), so a first ingest never holds the whole corpus at once.
"""

from __future__ import annotations

import hashlib
import logging
import os
import time
from collections import Counter, defaultdict, deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from rag import manifest
from rag.chunking import Chunker, language_of_id
from rag.embedding import Embedder
from rag.errors import IngestError
from rag.lexical import LexicalIndex
from rag.loading import Loader, walk
from rag.manifest import DocEntry
from rag.sentence_vectors import SentenceVectors
from rag.store import ChromaStore
from rag.types import Chunk, Document, IndexStats, IngestProgress, IngestReport, doc_id_for

log = logging.getLogger(__name__)

_WRITE_ROWS = 512  # rows per Chroma upsert: a call costs 35-100 ms whatever its size
_LOAD_FILES = 256  # new or changed files loaded and chunked at a time: bounds a first ingest's memory


def refresh_lexical(store: ChromaStore, lexical: LexicalIndex) -> None:
    """Rebuild BM25 for every language from the store's chunks (one full read), then persist it."""
    version = store.version
    by_lang: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for cid, meta, text in store.iter_rows(include_documents=True):
        by_lang[str(meta.get("language", ""))].append((cid, text))
    for lang in sorted(set(by_lang) | set(lexical.languages)):
        lexical.build(lang, by_lang.get(lang, []))
    lexical.save(version)
    log.info("BM25 rebuilt from every chunk at store version %d", version)


def sync_lexical(store: ChromaStore, lexical: LexicalIndex, version: int | None = None) -> list[str]:
    """Make BM25 hold exactly the store's chunk ids in each language; rebuild only the languages that differ.

    Freshness is decided by what BM25 holds, not by a version number: two writers can both bump the
    version, but the ids are the truth. Chunk ids carry their language (``chunking.chunk_id``), so one
    ids-only read of the collection tells every language's set. Returns the languages rebuilt.
    """
    if version is None:
        version = store.version  # read before the ids: any later write moves it again
    by_lang: dict[str, set[str]] = defaultdict(set)
    for cid in store.ids():
        lang = language_of_id(cid)
        if lang is None:  # an index written before ids carried the language: read every row once
            refresh_lexical(store, lexical)
            return sorted(lexical.languages)
        by_lang[lang].add(cid)
    languages = set(by_lang) | set(lexical.languages)
    stale = sorted(lang for lang in languages if lexical.ids(lang) != by_lang.get(lang, set()))
    for lang in stale:
        lexical.build(lang, [(cid, text) for cid, _, text in store.get(sorted(by_lang.get(lang, ())))])
    if stale or lexical.version != version:
        lexical.save(version)
    if stale:
        log.info("BM25 rebuilt for %s at store version %d", ", ".join(stale), version)
    return stale


def ensure_lexical_fresh(store: ChromaStore, lexical: LexicalIndex, version: int | None = None) -> None:
    """Make BM25 match the store: load what another process saved for this version (each save follows a
    check of its ids against the store), else check the ids here and rebuild what differs.

    ``version``: the store's version if the caller has just read it (else it is read here).
    """
    if version is None:
        version = store.version
    if lexical.version == version:
        return
    if lexical.load() and lexical.version == version:
        return
    sync_lexical(store, lexical, version)


def index_stats(store: ChromaStore, manifest_path: Path | None = None) -> IndexStats:
    """Documents, chunks and languages in the index: from the manifest when it describes the store as it
    is now (no row read), else from one scan of every row's metadata (5-7 s at 100k chunks)."""
    entries = manifest.load(manifest_path, store.version) if manifest_path is not None else None
    if entries is None:
        entries = manifest.entries_from_rows(store.iter_rows())
    return IndexStats(documents=len(entries), chunks=sum(len(e.ids) for e in entries.values()),
                      languages=_document_languages(entries), embedder=store.embedder_id)


def _document_languages(entries: dict[str, DocEntry]) -> dict[str, int]:
    """How many indexed files there are in each language."""
    return dict(Counter(e.language for e in entries.values()))


class Indexer:
    """Runs an ingest. Collaborators are passed in, built once by ``RAG``.

    ``manifest`` is the file that records what the index holds per file (``rag.manifest``); without it
    every ingest reads all the rows' metadata back from the store.
    """

    def __init__(
        self, loader: Loader, chunker: Chunker, embedder: Embedder, store: ChromaStore, lexical: LexicalIndex,
        batch_size: int = 16, *, manifest: Path | None = None, write_rows: int = _WRITE_ROWS,
        load_files: int = _LOAD_FILES, sentences: SentenceVectors | None = None, sentences_at_ingest: bool = True,
    ) -> None:
        """``sentences``: the index's sentence vectors, cleared by a rebuild and, with ``sentences_at_ingest``,
        filled with the sentences of every chunk written (and, once, of an index built before them)."""
        self.sentences = sentences
        self.fill_sentences = sentences if sentences_at_ingest else None
        self.loader = loader
        self.chunker = chunker
        self.embedder = embedder
        self.store = store
        self.lexical = lexical
        self.batch_size = batch_size
        self.manifest = manifest
        self.write_rows = write_rows
        self.load_files = load_files

    def ingest(
        self, path: Path, *, rebuild: bool = False, progress: bool = False,
        on_progress: Callable[[IngestProgress], None] | None = None, allow_removals: bool = False,
    ) -> IngestReport:
        """Bring the index in step with the files under ``path`` (all of them from scratch with ``rebuild``).

        Files under ``path`` that are gone have their chunks removed; a run that would remove every
        document under ``path``, or most of them (more than half, and at least 3), refuses unless
        ``allow_removals``. Documents outside ``path`` are never touched.
        """
        return _Ingest(self, rebuild, on_progress, allow_removals).run(path, progress)

    def remove(self, doc_id: str) -> int:
        """Remove one document's chunks from the store and BM25; how many chunks were removed."""
        return _Ingest(self, False, None, True).remove(doc_id)

    def entries(self, version: int | None = None) -> dict[str, DocEntry]:
        """path -> what the index holds for it: from a current manifest, else one read of every row.

        ``version``: the store's version if the caller has just read it."""
        version = self.store.version if version is None else version
        saved = manifest.load(self.manifest, version) if self.manifest is not None else None
        return saved if saved is not None else manifest.entries_from_rows(self.store.iter_rows())


@dataclass
class _FileChange:
    """A new or changed file on its way into the store."""

    path: str
    entry: DocEntry  # what the index holds for the file once its change is complete
    old: DocEntry | None  # what it held before
    missing: list[Chunk]  # the chunks to embed and write (an interrupted run may have written others)
    stale: list[str]  # ids of the old content, to delete once every new chunk is in
    written_after: int = 0  # the file's chunks are all in once the writer has written this many rows


class _Ingest:
    """One ingest: what the index holds per file, kept up to date as the run writes."""

    def __init__(
        self, indexer: Indexer, rebuild: bool, on_progress: Callable[[IngestProgress], None] | None,
        allow_removals: bool,
    ) -> None:
        self.ix = indexer
        self.store = indexer.store
        self.rebuild = rebuild
        self.on_progress = on_progress
        self.allow_removals = allow_removals
        self.shape = indexer.chunker.shape
        self.report = IngestReport()
        self.started = time.perf_counter()
        self.files_done = 0
        self.entries: dict[str, DocEntry] = {}  # path -> what the store holds for it
        self.files_total = 0
        self.start_version = 0
        self.own_version: int | None = None  # the version our last bump set, while no one else wrote
        self.others_wrote = False  # another process wrote during this run: the manifest would be wrong
        self.changed = False  # a file was indexed or removed
        self.backfill = False  # the index holds chunks from before sentence vectors were kept: embed theirs

    def run(self, path: Path, progress: bool) -> IngestReport:
        found = walk(path)  # before anything changes: a missing or unreadable root is an error
        files = _unique(found.files, _resolve_all(found.files))
        self.report.files_seen = len(files)
        self.report.skipped += found.skipped
        if self.rebuild and not files and not self.allow_removals:
            raise IngestError(f"{path} holds no file to index: a rebuild would leave the index empty; nothing was "
                              f"changed (to empty it anyway: `rag ingest {path} --rebuild --allow-removals`)")
        self._start()
        from_manifest = self._read_entries()
        to_load = self._new_or_changed(files)
        present = set(files.values())
        root = str(path.resolve())
        kept_folders = [str(f.resolve()) for f in found.unreadable]
        gone = [p for p in self.entries
                if is_under(p, root) and p not in present and not any(is_under(p, k) for k in kept_folders)]
        self._check_removals(path, root, gone)

        self._index(to_load, progress)
        for p in gone:
            self._remove(p)
        self._finish(from_manifest)
        self.report.seconds = time.perf_counter() - self.started
        return self.report

    def remove(self, doc_id: str) -> int:
        self._start()
        from_manifest = self._read_entries()
        paths = [p for p in self.entries if doc_id_for(p) == doc_id]
        removed = 0
        for p in paths:
            removed += len(self.entries[p].ids)
            self._remove(p)
        self._finish(from_manifest)
        return removed

    def _check_removals(self, path: Path, root: str, gone: list[str]) -> None:
        """Refuse to remove every document under the root, or most of them, unless asked to."""
        if not gone or self.allow_removals:
            return
        under = sum(1 for p in self.entries if is_under(p, root))
        if len(gone) == under or (len(gone) * 2 > under and len(gone) >= 3):
            raise IngestError(
                f"{path} no longer holds {len(gone)} of the {under} documents indexed from it; nothing was "
                f"changed. If the folder is not mounted or was moved, fix that; if the files were deleted "
                f"on purpose, run `rag ingest {path} --allow-removals`"
            )

    def _start(self) -> None:
        """Reset when rebuilding and note the store version."""
        if self.rebuild:
            self.store.reset()
            if self.ix.sentences is not None:
                self.ix.sentences.clear()
        fill = self.ix.fill_sentences
        self.backfill = fill is not None and not self.rebuild and fill.count() == 0 and self.store.count() > 0
        self.start_version = self.store.version
        self.store.refresh(self.start_version, wait=True)  # write on top of what other processes wrote

    def _new_or_changed(self, files: dict[Path, str]) -> list[Path]:
        """The files to load; one whose bytes hash to what is indexed, completely and cut with the current
        shape, is not even decoded."""
        to_load = []
        shape = self.shape.key
        for f, real in files.items():
            entry = self.entries.get(real)
            sha256 = _sha256(f) if entry is not None else None
            if entry is not None and entry.is_complete(sha256, shape):
                self.report.files_unchanged += 1
                self.files_done += 1
            else:
                if entry is not None and sha256 == entry.sha256 and entry.shape != shape:
                    self.report.files_rechunked += 1
                to_load.append(f)
        if self.report.files_rechunked:
            log.warning("%d files were cut with other chunking settings: re-chunking them",
                        self.report.files_rechunked)
        self.files_total = len(files)
        self._progress()
        return to_load

    def _progress(self) -> None:
        if self.on_progress is not None:
            self.on_progress(IngestProgress(self.files_done, self.files_total, self.report.chunks_embedded,
                                            time.perf_counter() - self.started))

    def _finish(self, from_manifest: bool) -> None:
        """Mark the store changed, record the manifest, bring BM25 in step and count what the index holds."""
        lexical = self.ix.lexical
        if self.backfill and self.ix.fill_sentences is not None:
            filled = self.ix.fill_sentences.fill(text for _, _, text in self.store.iter_rows(include_documents=True))
            log.info("embedded the %d sentences of the chunks indexed before sentence vectors were kept", filled)
        if self.changed:
            self._bump()
            self._save_manifest()
            sync_lexical(self.store, lexical)
        else:
            if not from_manifest:  # the store was read: save what it said, so that the next run need not
                self._save_manifest()
            ensure_lexical_fresh(self.store, lexical)
        # From what this run knows, not from another read of every row (7-9 s at 100k chunks).
        self.report.chunks_total = self.store.count()
        self.report.languages = _document_languages(self.entries)

    # -- what the index holds --------------------------------------------------------------------------

    def _read_entries(self) -> bool:
        """Fill ``entries`` from the manifest if it is current (True), else from one scan of the store."""
        saved = None
        if self.ix.manifest is not None and not self.rebuild:
            saved = manifest.load(self.ix.manifest, self.start_version)
        if saved is not None:
            self.entries = saved
            return True
        self.entries = manifest.entries_from_rows(self.store.iter_rows())
        return False

    def _save_manifest(self) -> None:
        """Record what the store holds, unless another process wrote meanwhile (then the store knows better)."""
        if self.ix.manifest is None:
            return
        version = self.store.version
        expected = self.start_version if self.own_version is None else self.own_version
        if self.others_wrote or version != expected:
            log.info("another process wrote to the index during this ingest: no manifest written")
            return
        manifest.save(self.ix.manifest, version, {p: e for p, e in self.entries.items() if e.ids})

    def _bump(self) -> None:
        """Change the store's version, noting whether anyone else changed it since we last looked."""
        expected = self.start_version if self.own_version is None else self.own_version
        if self.store.version != expected:
            self.others_wrote = True
        self.own_version = self.store.bump_version(shape=self.shape.describe())

    def _before_write(self) -> None:
        """Bump once before the first write: readers then know BM25 is stale, even if we are interrupted."""
        if self.own_version is None:
            self._bump()

    # -- new and changed files -------------------------------------------------------------------------

    def _index(self, to_load: list[Path], progress: bool) -> None:
        ix = self.ix
        writer = _BatchWriter(self.store, ix.embedder, ix.batch_size, ix.write_rows, sentences=ix.fill_sentences,
                              before_write=self._before_write, settle=self._settle, written=self._written)
        bar = _progress_bar(len(to_load), progress)
        try:
            for change in self._changes(to_load, bar.update):
                writer.add(change)
            writer.finish()
        except BaseException:
            writer.salvage()
            raise
        finally:
            bar.close()
        self.report.chunks_embedded = writer.embedded

    def _written(self, embedded: int) -> None:
        """After each write batch: report progress."""
        self.report.chunks_embedded = embedded
        self._progress()

    def _changes(self, to_load: list[Path], advance: Callable[[int], object]) -> Iterator[_FileChange]:
        """Load and chunk the files a group at a time: only one group's documents are held at once."""
        for i in range(0, len(to_load), self.ix.load_files):
            docs, skipped = self.ix.loader.load(to_load[i : i + self.ix.load_files])
            self.report.skipped += skipped
            advance(len(skipped))
            self.files_done += len(skipped)
            for doc in docs:
                self.report.boilerplate_lines += len(doc.removed_lines)
                yield self._plan(doc)
                advance(1)
                self.files_done += 1
                self._progress()

    def _plan(self, doc: Document) -> _FileChange:
        path = str(doc.path)
        added = time.time()
        chunks = self.ix.chunker.split(doc, added=added)
        old = self.entries.get(path)
        have = set(old.ids) if old else set()
        new_ids = tuple(c.id for c in chunks)
        keep = set(new_ids)
        if old is not None and old.is_complete(doc.sha256, self.shape.key):
            added = old.added or added  # content unchanged (a rerun after an interruption): keep its date
        return _FileChange(
            path=path,
            entry=DocEntry(doc.sha256, len(chunks), (doc.language,), new_ids, self.shape.key, doc.source,
                           doc.title, added),
            old=old,
            missing=[c for c in chunks if c.id not in have],
            stale=[cid for cid in old.ids if cid not in keep] if old else [],
        )

    def _settle(self, change: _FileChange) -> None:
        """Every new chunk of the file is in: its old ones can go, and the index now holds the new content."""
        if change.stale:
            self._before_write()
            self.store.delete(change.stale)
        self.report.chunks_removed += len(change.stale)
        self.report.files_indexed += 1
        self.changed = True
        self.entries[change.path] = change.entry

    def _remove(self, path: str) -> None:
        entry = self.entries.pop(path)
        self._before_write()
        self.store.delete(list(entry.ids))
        self.report.chunks_removed += len(entry.ids)
        self.report.files_removed += 1
        self.changed = True
        log.info("removed %s (%d chunks): the file is gone", path, len(entry.ids))


class _BatchWriter:
    """Embeds chunks in full batches across files and writes them ``write_rows`` at a time.

    A file is settled (``settle``: its old chunks deleted) only after the upsert that wrote the last of its
    new chunks, so a changed file always has one complete version in the store.
    """

    def __init__(
        self, store: ChromaStore, embedder: Embedder, batch_size: int, write_rows: int, *,
        before_write: Callable[[], None], settle: Callable[[_FileChange], None],
        written: Callable[[int], None] = lambda embedded: None, sentences: SentenceVectors | None = None,
    ) -> None:
        self.written = written
        self.sentences = sentences
        self.store = store
        self.embedder = embedder
        self.batch_size = batch_size
        self.write_rows = write_rows
        self.before_write = before_write
        self.settle = settle
        self.embedded = 0
        self._queued: list[Chunk] = []  # to embed
        self._pending: list[Chunk] = []  # embedded, not written yet
        self._vectors: list[np.ndarray] = []  # of ``_pending``
        self._waiting: deque[_FileChange] = deque()  # files not settled yet, in order
        self._enqueued = 0  # chunks ever queued
        self._written = 0  # chunks ever written

    def add(self, change: _FileChange) -> None:
        self._queued += change.missing
        self._enqueued += len(change.missing)
        change.written_after = self._enqueued
        self._waiting.append(change)
        while len(self._queued) >= self.batch_size:
            self._embed(self.batch_size)
        self._settle()

    def finish(self) -> None:
        """Embed and write what is left, and settle every file."""
        if self._queued:
            self._embed(len(self._queued))
        self._flush()

    def salvage(self) -> None:
        """After an interruption, write what is already embedded: the next run need not embed it again."""
        try:
            self._write()
        except Exception as exc:  # the original error matters more
            log.warning("could not write %d embedded chunks after the interruption: %s", len(self._pending), exc)

    def _embed(self, n: int) -> None:
        batch, self._queued = self._queued[:n], self._queued[n:]
        self._vectors.append(self.embedder.embed_passages([c.text for c in batch]))
        if self.sentences is not None:  # before the chunks are written: a chunk in the index has its sentences
            self.sentences.fill(c.text for c in batch)
        self._pending += batch
        self.embedded += len(batch)
        if len(self._pending) >= self.write_rows:
            self._flush()

    def _flush(self) -> None:
        self._write()
        self._settle()

    def _write(self) -> None:
        if not self._pending:
            return
        self.before_write()
        self.store.upsert(self._pending, np.concatenate(self._vectors))
        self._written += len(self._pending)
        self._pending, self._vectors = [], []
        self.written(self.embedded)

    def _settle(self) -> None:
        while self._waiting and self._waiting[0].written_after <= self._written:
            self.settle(self._waiting.popleft())


def _resolve_all(files: list[Path]) -> dict[Path, str]:
    """Each file's absolute path with symlinks resolved, as the loader records it in the chunks.

    ``Path.resolve`` examines every component of the path (1.6 s for 30k files); resolving each folder
    once and checking only whether the file itself is a link gives the same strings.
    """
    folders: dict[Path, Path] = {}
    out: dict[Path, str] = {}
    for f in files:
        folder = folders.get(f.parent)
        if folder is None:
            folder = folders[f.parent] = f.parent.resolve()
        out[f] = str(f.resolve()) if f.is_symlink() else str(folder / f.name)
    return out


def _unique(files: list[Path], resolved: dict[Path, str]) -> dict[Path, str]:
    """file -> real path, one file per real path (a link inside the folder and its target are one document)."""
    out: dict[Path, str] = {}
    seen: set[str] = set()
    for f in files:
        if resolved[f] not in seen:
            seen.add(resolved[f])
            out[f] = resolved[f]
    return out


def _sha256(path: Path) -> str | None:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return None  # the loader reports why it cannot be read


def is_under(path: str, root: str) -> bool:
    """``path`` is ``root`` or inside it (both absolute and resolved: compared as strings, no syscalls)."""
    return path == root or path.startswith(root if root.endswith(os.sep) else root + os.sep)


def _progress_bar(total: int, enabled: bool):  # -> tqdm, imported here
    from tqdm import tqdm

    return tqdm(total=total, unit="file", desc="indexing", disable=not enabled or total == 0, leave=False)
