"""The ``RAG`` facade: the one object the CLI, the chat page, the evaluation and users call."""

from __future__ import annotations

import contextlib
import logging
import os
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from rag.answering import Answerer, AskOptions, Turn
from rag.chunking import Chunker
from rag.embedding import Embedder, build_embedder
from rag.errors import EmptyIndexError, IngestError, QuestionTooLongError, RagError
from rag.indexing import Indexer, ensure_lexical_fresh, index_stats, is_under
from rag.language import LanguageDetector
from rag.lexical import LexicalIndex
from rag.llm import Health, LLMBackend, build_llm
from rag.loading import BoilerplateFilter, Loader, find_files
from rag.manifest import DocEntry
from rag.retrieval import HybridRetriever, RetrievalConfig
from rag.sentence_vectors import SentenceVectors
from rag.settings import Settings
from rag.store import ChromaStore, connect, file_lock, reopen_embedded
from rag.streaming import AnswerStream
from rag.types import Answer, DocumentInfo, IndexStats, IngestProgress, IngestReport, Passage, doc_id_for, shown_names

log = logging.getLogger(__name__)

_INGEST_WAITS = "another ingest is writing to this index: waiting for it to finish"


class RAG:
    """Ingest articles, retrieve passages across languages, and answer questions.

    >>> rag = RAG()                      # settings from RAG_* environment variables and .env
    >>> rag.ingest("seeds")              # doctest: +SKIP
    >>> rag.retrieve("When did Lavrov meet Kim?")[0].source  # doctest: +SKIP
    """

    def __init__(
        self,
        settings: Settings | None = None,
        *,
        embedder: Embedder | None = None,
        chroma_client: Any | None = None,
        llm: LLMBackend | None = None,
        check_embedder: bool = True,
        freshness_seconds: float = 1.0,
    ) -> None:
        """``check_embedder=False`` opens an index built with another embedder, only to rebuild it
        (``ingest(rebuild=True)``); anything else on it is refused until then. ``freshness_seconds``: how
        often a question checks whether another process changed the index (0: every question)."""
        self.settings = settings or Settings()
        self._freshness_seconds = freshness_seconds
        s = self.settings
        self.embedder = embedder or build_embedder(s.embedder, s.ollama_host, s.embed_batch_size)
        self.detector = LanguageDetector(s.languages)
        client = chroma_client or connect(s.chroma_dir, s.chroma_host, s.chroma_port)
        embedded = chroma_client is None and not s.chroma_host
        self.store = ChromaStore(
            client, s.collection, self.embedder.model_id, self.embedder.dimension, remote=bool(s.chroma_host),
            reopen=(lambda: reopen_embedded(s.chroma_dir)) if embedded else None,
            address=f"{s.chroma_host}:{s.chroma_port}" if s.chroma_host else str(s.chroma_dir),
            check_embedder=check_embedder,
        )
        self.lexical = LexicalIndex(s.lexical_dir / s.collection)
        self.sentences = SentenceVectors(self.embedder, s.sentences_dir / f"{s.collection}.sqlite")
        self.loader = Loader(self.detector, BoilerplateFilter(s.boilerplate_patterns), s.max_file_mb)
        self.chunker = Chunker(s.chunk_size, s.chunk_overlap, self.embedder.token_counter, s.boilerplate_patterns)
        self.retriever = HybridRetriever(
            self.store,
            self.lexical,
            self.embedder,
            self.detector,
            RetrievalConfig(s.candidates, s.dense_weight, s.lexical_weight, s.rrf_k, s.fusion),
        )
        self.llm = llm or build_llm(s)
        self._llms: dict[str, LLMBackend] = {self.llm.model: self.llm}
        self._answerers: dict[str, Answerer] = {}
        # Ingests (and removals) are serialised among themselves, here by a lock and across processes by
        # a lock file; questions never wait for them: they read the index as it is, and a chunk is found
        # once its upsert landed. ``_read_lock`` guards only the once-a-second look at the store version.
        self._ingest_lock = threading.Lock()
        self._read_lock = threading.Lock()
        self._llm_lock = threading.Lock()
        self._checked_at = 0.0
        self._nonempty_version: int | None = None  # the store version last seen holding chunks
        self._documents: tuple[int, dict[str, DocEntry]] | None = None  # (store version, entries)
        self._stats: tuple[int, IndexStats] | None = None  # (store version, stats): the page polls it
        self._named: tuple[int, dict[str, frozenset[str]]] = (0, {})  # (store version, file name -> paths)

    # -- indexing ------------------------------------------------------------------------------------

    def ingest(
        self,
        path: str | Path | None = None,
        *,
        rebuild: bool = False,
        progress: bool = False,
        on_progress: Callable[[IngestProgress], None] | None = None,
        allow_removals: bool = False,
    ) -> IngestReport:
        """Index a folder or file (default: ``settings.docs_dir``), incrementally.

        Files gone from under ``path`` have their chunks removed, unless that would remove every
        document under it or most of them (then ``IngestError``, unless ``allow_removals``); documents
        outside ``path`` are never touched, so ingesting one uploaded file leaves the rest alone.
        ``on_progress`` is called at least once per file and once per write batch.
        """
        with self._writing():
            return self._indexer().ingest(Path(path or self.settings.docs_dir), rebuild=rebuild, progress=progress,
                                          on_progress=on_progress, allow_removals=allow_removals)

    def remove(self, doc_id: str) -> int:
        """Remove one document (by ``DocumentInfo.doc_id``) from Chroma, BM25 and the manifest; the chunks
        removed (0 when no such document is indexed). The file itself is not touched."""
        with self._writing():
            return self._indexer().remove(doc_id)

    def documents(self) -> list[DocumentInfo]:
        """Every indexed document, by file name then path."""
        uploads = str(self.settings.uploads_dir.resolve())
        entries = self._entries()
        shown = shown_names(entries)
        docs = [
            DocumentInfo(
                doc_id=doc_id_for(path), path=path, source=e.source or Path(path).name, title=e.title,
                language=e.language, chunks=len(e.ids), added=e.added,
                origin="upload" if is_under(path, uploads) else "folder", shown=shown[path],
            )
            for path, e in entries.items()
        ]
        return sorted(docs, key=lambda d: (d.source, d.path))

    def document_text(self, doc_id: str) -> str:
        """The article's text as indexed: chunk ``start``/``end`` spans index into it.

        Read from the file when it still holds the indexed content; otherwise (gone or changed since) put
        together from the stored chunks at their offsets, with blanks where nothing was indexed.
        """
        entries = {doc_id_for(p): (p, e) for p, e in self._entries().items()}
        if doc_id not in entries:
            raise IngestError(f"no indexed document has the id {doc_id!r}; `rag stats` or the page lists them")
        path, entry = entries[doc_id]
        text = self.loader.read_text(Path(path), entry.sha256)
        if text is not None:
            return text
        rows = self.store.get(list(entry.ids))
        size = max((int(m["end"]) for _, m, _ in rows), default=0)
        chars = [" "] * size
        for _, m, chunk in rows:
            chars[int(m["start"]) : int(m["end"])] = chunk
        return "".join(chars)

    def _entries(self) -> dict[str, DocEntry]:
        """path -> what the index holds for it, read again only when the store's version moved."""
        version = self.store.version
        cached = self._documents
        if cached is None or cached[0] != version:
            cached = self._documents = (version, self._indexer().entries(version))
        return cached[1]

    def _indexer(self) -> Indexer:
        return Indexer(self.loader, self.chunker, self.embedder, self.store, self.lexical,
                       self.settings.embed_batch_size, manifest=self._manifest_path, sentences=self.sentences,
                       sentences_at_ingest=self.settings.sentence_vectors)

    @contextlib.contextmanager
    def _writing(self) -> Iterator[None]:
        """One writer at a time: in this process, and across processes sharing the data folder."""
        lock_file = self.settings.data_dir / f"{self.settings.collection}.ingest.lock"
        with self._ingest_lock, file_lock(lock_file, _INGEST_WAITS), self.store.writing():
            try:
                yield
            finally:
                self._checked_at = time.monotonic()

    @property
    def _manifest_path(self) -> Path:
        return self.settings.manifest_dir / f"{self.settings.collection}.json"

    def stats(self) -> IndexStats:
        """Documents, chunks and languages in the index (recounted only when the index changed)."""
        version = self.store.version
        cached = self._stats
        if cached is None or cached[0] != version:
            cached = self._stats = (version, index_stats(self.store, self._manifest_path))
        return cached[1]

    # -- retrieval -----------------------------------------------------------------------------------

    def retrieve(
        self,
        question: str,
        top_k: int | None = None,
        language: str | None = None,
        sources: Sequence[str] | None = None,
        *,
        translate: bool | None = None,
        history: Sequence[Turn] = (),
    ) -> list[Passage]:
        """The ``top_k`` passages for ``question``, in any language; filter by passage language or file.

        The same retrieval answers use: with ``history``, a follow-up is searched as an answer searches it
        ("And where?" with the previous question); with ``translate`` (default: the setting) on and a model
        reachable, the model's translations are fused in.
        """
        self._check_question(question)
        self._ensure_ready()
        opts = self._options(top_k, language, sources, translate)
        answerer = self._answerer(None)
        qlang = answerer.question_language(question, self.lexical.languages, history)
        also: tuple[str, ...] = ()
        if history:
            found = answerer.search(question, qlang, opts, history)
            question, also = found.query, found.also
        translations = None
        if opts.translate and self.llm.health().ok:
            translations = answerer.translate(question, qlang, self.lexical.languages)
        return answerer.retrieve(question, opts, qlang, translations, also=also)

    def named(self, passages: Sequence[Passage]) -> list[Passage]:
        """The passages with the name users see (``Passage.shown``): the file name, or enough of the path to
        tell the document from the other indexed ones of that name (``types.shown_names``).

        Answers come named; ``retrieve`` leaves it to whoever shows its passages (``rag search``): the paths of
        a file name are one metadata-filtered read of the store (~15 ms at 100k chunks), once per name and
        store version.
        """
        paths = {p.path for p in passages if p.path}
        if not paths:
            return list(passages)
        version, known = self._named
        if version != self.store.seen_version:
            version, known = self.store.seen_version, {}
        missing = {Path(p).name for p in paths} - known.keys()
        if missing:
            found = self.store.paths_named(sorted(missing))
            known = {**known, **{name: frozenset(found.get(name, ())) for name in missing}}
            self._named = (version, known)
        shown = shown_names({q for p in paths for q in known[Path(p).name] | {p}})
        return [replace(p, shown=shown[p.path]) if p.path else p for p in passages]

    def _check_question(self, question: str) -> None:
        if not question.strip():
            raise ValueError("the question is empty")
        limit = self.settings.max_question_chars
        if len(question) > limit:
            raise QuestionTooLongError(
                f"the question is {len(question)} characters long; the limit is {limit} "
                f"(ask something shorter, or raise RAG_MAX_QUESTION_CHARS)"
            )

    def _options(self, top_k: int | None, language: str | None, sources: Sequence[str] | None,
                 translate: bool | None, temperature: float | None = None) -> AskOptions:
        k = self.settings.top_k if top_k is None else top_k
        if k < 1:
            raise ValueError("top_k must be at least 1")
        return AskOptions(
            top_k=k, language=language, sources=tuple(self._resolve_sources(sources) or ()) or None,
            translate=self.settings.translate if translate is None else translate, temperature=temperature,
        )

    def _resolve_sources(self, sources: Sequence[str] | None) -> list[str] | None:
        """Sources as the store filters them: file names and document ids as given; a relative path
        (``2024/story.txt``, for one of two ``story.txt``) becomes the ids of the documents it ends."""
        if not sources:
            return None
        paths = [s for s in sources if "/" in s or os.sep in s]
        if not paths:
            return list(sources)
        entries = self._entries()
        out = [s for s in sources if s not in paths]
        for s in paths:
            tail = "/" + s.replace(os.sep, "/").strip("/")
            ids = [doc_id_for(p) for p in entries if p.replace(os.sep, "/").endswith(tail)]
            out += ids or [s]  # no match: kept, so that it matches nothing
        return out

    def _ensure_ready(self) -> None:
        """Refuse an empty index, and bring BM25 in step with what other processes wrote.

        Both look at the store at most once a second: a ``count()`` costs ~9 ms at 100k chunks, so a
        question does not pay for one unless the store version moved (see ``_is_empty``).
        """
        with self._read_lock:
            now = time.monotonic()
            due = self.lexical.version is None or now - self._checked_at > self._freshness_seconds
            # Between checks, BM25's version is the store's as this process last saw or wrote it.
            version = self.lexical.version
            if due:
                version = current = self.store.version
                # Another process wrote: see its writes (embedded Chroma: a fresh client), then BM25.
                # An ingest running in this process brings BM25 in step itself when it ends.
                self.store.refresh(current)
                if not self.store.wrote(current):
                    ensure_lexical_fresh(self.store, self.lexical, current)
                self._checked_at = now
            if self._is_empty(version):
                raise EmptyIndexError(
                    f"the index {self.settings.collection!r} is empty: run `rag ingest` "
                    f"(it reads {self.settings.docs_dir}/) or upload articles first"
                )

    def _is_empty(self, version: int | None) -> bool:
        """Whether the index holds no chunk, counted only when ``version`` was not yet seen holding any.

        An ingest bumps the version before it deletes chunks and again after, so "not empty" holds for
        its version (after an ingest killed between the two, a question finds nothing instead of being
        refused). "Empty" is never kept: an ingest in another process writes its chunks after its first
        bump, and they must be found as soon as they land.
        """
        if version is not None and version == self._nonempty_version:
            return False
        if self.store.count() == 0:
            return True
        self._nonempty_version = version
        return False

    # -- answering -----------------------------------------------------------------------------------

    def health(self, refresh: bool = False) -> Health:
        """Whether the language model can answer now, and if not, why and what to do."""
        return self.llm.health(refresh)

    def ask(self, question: str, *, history: Sequence[Turn] = (), **options: Any) -> Answer:
        """A grounded, cited answer in the question's language (see ``stream`` for the options)."""
        return self.stream(question, history=history, **options).answer

    def stream(
        self,
        question: str,
        *,
        history: Sequence[Turn] = (),
        top_k: int | None = None,
        language: str | None = None,
        sources: Sequence[str] | None = None,
        translate: bool | None = None,
        model: str | None = None,
        temperature: float | None = None,
    ) -> AnswerStream:
        """The answer as an ``AnswerStream``: ``.evidence`` first, then iterate for the text, ``.answer`` last.

        ``history`` (earlier ``{"role", "content"}`` turns) lets a follow-up ("And where?") continue the
        last question; ``translate`` (default: the setting) also searches with the question translated by
        the model; ``model`` overrides the model for this question. The question is checked (empty, too
        long) and the index found non-empty here; everything else runs as the stream is read.
        """
        self._check_question(question)
        opts = self._options(top_k, language, sources, translate, temperature)
        self._ensure_ready()
        return self._answerer(model).stream(question, opts, self.lexical.languages, history)

    def warm_up(self, model: str | None = None) -> bool:
        """Load what the first question would otherwise wait for (call at start-up, in the background: the
        first answer is then as fast as the next ones): the language detector (2-3 s on a CPU), the embedder,
        BM25 and the sentence vectors, then the model with the answer prompt's constant rules. Whether the
        model was reached; never raises."""
        try:
            self.detector.warm_up()
            self.embedder.embed_query("warm up")
            self.retrieve("warm up")
        except RagError as exc:  # an empty index, a missing embedder: the first question will say so
            log.info("warming up stopped before the model: %s", exc)
        return self._answerer(model).warm_up()

    def chat(self, message: str, history: Sequence[Turn] = (), **options: Any) -> Answer:
        """Answer a message in a conversation: a follow-up continues the last question, a new topic does not."""
        return self.ask(message, history=history, **options)

    def _answerer(self, model: str | None) -> Answerer:
        name = model or self.llm.model
        with self._llm_lock:
            if name not in self._llms:
                self._llms[name] = build_llm(self.settings, name)
            if name not in self._answerers:
                s = self.settings
                self._answerers[name] = Answerer(
                    self.retriever, self.embedder, self.detector, self._llms[name],
                    support_threshold=s.support_threshold, translation_weight=s.translation_weight,
                    max_answer_tokens=s.max_answer_tokens, history_turns=s.history_turns,
                    evidence_tokens=s.evidence_tokens, prompt_tokens=s.prompt_tokens,
                    no_answer_threshold=s.no_answer_threshold,
                    prompt_refusal=s.prompt_refusal, names=self.named, sentences=self.sentences,
                )
            return self._answerers[name]

    # -- for the evaluation --------------------------------------------------------------------------
    # rag.evaluation sits above this facade and reaches the index and the model only through these.

    def corpus_passages(self) -> Iterator[Passage]:
        """Every chunk in the index as a ``Passage`` (``score`` 0, ``rank`` 0), page by page."""
        for chunk_id, meta, text in self.store.iter_rows(include_documents=True):
            yield Passage(
                id=chunk_id, text=text, source=str(meta.get("source", "")), title=str(meta.get("title", "")),
                language=str(meta.get("language", "?")), start=int(meta.get("start", 0)),
                end=int(meta.get("end", 0)), score=0.0, doc_id=str(meta.get("doc_id", "")),
                path=str(meta.get("path", "")),
            )

    def document_hashes(self) -> dict[str, str]:
        """Source file name -> sha256 of the bytes that were indexed, for every document in the index
        (from what ``documents`` reads: the manifest while it is current, not another scan of every row)."""
        return {e.source or Path(path).name: str(e.sha256) for path, e in self._entries().items()}

    @staticmethod
    def files_to_ingest(path: str | Path) -> list[Path]:
        """The files ``ingest(path)`` would read."""
        return find_files(Path(path))

    def detect_language(self, text: str) -> str:
        """The language of ``text`` (ISO 639-1) among the configured languages."""
        return self.detector.detect(text)

    def judge_llm(self) -> LLMBackend:
        """The configured language model, for judging answers."""
        return self.llm

    def with_settings(self, settings: Settings) -> RAG:
        """A RAG over other settings (another data folder) that shares this one's loaded embedder."""
        return RAG(settings, embedder=self.embedder)

