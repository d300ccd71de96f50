"""The ``RAG`` facade: the one object the CLI, the chat page, the evaluation and users call."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from rag.answering import Answerer, AskOptions, Turn
from rag.chunking import Chunker
from rag.embedding import Embedder, build_embedder
from rag.errors import EmptyIndexError, QuestionTooLongError
from rag.indexing import Indexer, ensure_lexical_fresh, index_stats
from rag.language import LanguageDetector
from rag.lexical import LexicalIndex
from rag.llm import Health, LLMBackend, build_llm
from rag.loading import BoilerplateFilter, Loader, find_files
from rag.retrieval import HybridRetriever, RetrievalConfig
from rag.settings import Settings
from rag.store import ChromaStore, connect
from rag.streaming import AnswerStream
from rag.types import Answer, IndexStats, IngestReport, Passage

_FRESHNESS_SECONDS = 1.0  # how often a reader checks whether another process changed the index


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
    ) -> None:
        self.settings = settings or Settings()
        s = self.settings
        self.embedder = embedder or build_embedder(s.embedder, s.ollama_host, s.embed_batch_size)
        self.detector = LanguageDetector(s.languages)
        client = chroma_client or connect(s.chroma_dir, s.chroma_host, s.chroma_port)
        self.store = ChromaStore(
            client, s.collection, self.embedder.model_id, self.embedder.dimension, remote=bool(s.chroma_host)
        )
        self.lexical = LexicalIndex(s.lexical_dir / s.collection)
        self.loader = Loader(self.detector, BoilerplateFilter(s.boilerplate_patterns), s.max_file_mb)
        self.chunker = Chunker(s.chunk_size, s.chunk_overlap, self.embedder.token_counter)
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
        self._lock = threading.RLock()  # ingest and BM25 refresh are not concurrent-safe
        self._checked_at = 0.0
        self._nonempty_version: int | None = None  # the store version last seen holding chunks
        self._stats: tuple[int, IndexStats] | None = None  # (store version, stats): the page polls it

    # -- indexing ------------------------------------------------------------------------------------

    def ingest(self, path: str | Path | None = None, *, rebuild: bool = False, progress: bool = False) -> IngestReport:
        """Index a folder or file (default: ``settings.docs_dir``), incrementally."""
        indexer = Indexer(self.loader, self.chunker, self.embedder, self.store, self.lexical,
                          self.settings.embed_batch_size, manifest=self._manifest_path)
        with self._lock:
            report = indexer.ingest(Path(path or self.settings.docs_dir), rebuild=rebuild, progress=progress)
            self._checked_at = time.monotonic()
        return report

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
    ) -> list[Passage]:
        """The ``top_k`` passages for ``question``, in any language; filter by passage language or file.

        The same retrieval answers use (with the model's translations when ``translate``, default the
        setting, is on and a model is reachable).
        """
        self._check_question(question)
        self._ensure_ready()
        opts = self._options(top_k, language, sources, translate)
        answerer = self._answerer(None)
        qlang = self.detector.detect(question)
        translations = None
        if opts.translate and self.llm.health().ok:
            translations = answerer.translate(question, qlang, self.lexical.languages)
        return answerer.retrieve(question, opts, qlang, translations)

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
            top_k=k, language=language, sources=tuple(sources) if sources else None,
            translate=self.settings.translate if translate is None else translate, temperature=temperature,
        )

    def _ensure_ready(self) -> None:
        """Refuse an empty index, and bring BM25 in step with what other processes wrote.

        Both look at the store at most once a second: a ``count()`` costs ~9 ms at 100k chunks, so a
        question does not pay for one unless the store version moved (see ``_is_empty``).
        """
        with self._lock:
            now = time.monotonic()
            due = self.lexical.version is None or now - self._checked_at > _FRESHNESS_SECONDS
            # Between checks, BM25's version is the store's as this process last saw or wrote it.
            version = self.store.version if due else self.lexical.version
            if self._is_empty(version):
                raise EmptyIndexError(
                    f"the index {self.settings.collection!r} is empty: run `rag ingest` "
                    f"(it reads {self.settings.docs_dir}/) or upload articles first"
                )
            if due:
                ensure_lexical_fresh(self.store, self.lexical, version)
                self._checked_at = now

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

    def chat(self, message: str, history: Sequence[Turn] = (), **options: Any) -> Answer:
        """Answer a message in a conversation: a follow-up continues the last question, a new topic does not."""
        return self.ask(message, history=history, **options)

    def _answerer(self, model: str | None) -> Answerer:
        name = model or self.llm.model
        with self._lock:
            if name not in self._llms:
                self._llms[name] = build_llm(self.settings, name)
            if name not in self._answerers:
                s = self.settings
                self._answerers[name] = Answerer(
                    self.retriever, self.embedder, self.detector, self._llms[name],
                    support_threshold=s.support_threshold, translation_weight=s.translation_weight,
                    max_answer_tokens=s.max_answer_tokens, history_turns=s.history_turns,
                    evidence_tokens=s.evidence_tokens, no_answer_threshold=s.no_answer_threshold,
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
                end=int(meta.get("end", 0)), score=0.0,
            )

    def document_hashes(self) -> dict[str, str]:
        """Source file name -> sha256 of the bytes that were indexed, for every document in the index."""
        return {str(meta.get("source", "")): str(meta.get("doc_sha256", "")) for _, meta, _ in self.store.iter_rows()}

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
