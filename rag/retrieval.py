"""Hybrid retrieval: dense search in Chroma and BM25 in the question's language, fused by weighted RRF."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field

from rag.embedding import Embedder
from rag.fusion import reciprocal_rank_fusion
from rag.language import LanguageDetector
from rag.lexical import LexicalIndex
from rag.store import ChromaStore, Hit
from rag.types import Passage

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RetrievalConfig:
    """How the rankings are made and fused."""

    candidates: int = 30
    dense_weight: float = 1.0
    lexical_weight: float = 0.5
    rrf_k: int = 60

    def __post_init__(self) -> None:
        if self.candidates < 1:
            raise ValueError("candidates must be at least 1")
        if self.dense_weight < 0 or self.lexical_weight < 0 or self.dense_weight + self.lexical_weight == 0:
            raise ValueError("weights must be non-negative and not both zero")


@dataclass
class Rankings:
    """The separate rankings of one query, kept for fusion across query variants."""

    dense: list[str] = field(default_factory=list)
    lexical: list[str] = field(default_factory=list)
    hits: dict[str, Hit] = field(default_factory=dict)
    dense_scores: dict[str, float] = field(default_factory=dict)
    lexical_scores: dict[str, float] = field(default_factory=dict)


def build_where(language: str | None = None, sources: Sequence[str] | None = None) -> dict | None:
    """A Chroma ``where`` filter for a passage language and/or source file names."""
    clauses: list[dict] = []
    if language:
        clauses.append({"language": language})
    if sources:
        clauses.append({"source": {"$in": list(sources)}})
    if not clauses:
        return None
    return clauses[0] if len(clauses) == 1 else {"$and": clauses}


class HybridRetriever:
    """Dense + BM25 retrieval over one store, returning ranked ``Passage`` objects."""

    def __init__(
        self,
        store: ChromaStore,
        lexical: LexicalIndex,
        embedder: Embedder,
        detector: LanguageDetector,
        config: RetrievalConfig | None = None,
    ) -> None:
        self.store = store
        self.lexical = lexical
        self.embedder = embedder
        self.detector = detector
        self.config = config or RetrievalConfig()

    def rank(
        self, query: str, *, language: str | None = None, sources: Sequence[str] | None = None,
        query_language: str | None = None,
    ) -> Rankings:
        """Dense and lexical rankings of one query string."""
        where = build_where(language, sources)
        n = self.config.candidates
        out = Rankings()
        for hit in self.store.query(self.embedder.embed_query(query), n, where):
            out.dense.append(hit.id)
            out.hits[hit.id] = hit
            out.dense_scores[hit.id] = hit.similarity
        if self.config.lexical_weight > 0:
            qlang = query_language or self.detector.detect(query)
            if language is None or language == qlang:
                for cid, score in self.lexical.search(query, qlang, n):
                    out.lexical.append(cid)
                    out.lexical_scores[cid] = score
        if sources and out.lexical:  # BM25 knows no metadata: apply the source filter here
            keep = self._ids_with_sources(out.lexical, sources)
            out.lexical = [c for c in out.lexical if c in keep]
        return out

    def fuse(self, rankings: Sequence[Rankings], weights: Sequence[float], top_k: int) -> list[Passage]:
        """Fuse the rankings of one or more query variants (each weighted) into ``top_k`` passages."""
        lists: list[list[str]] = []
        list_weights: list[float] = []
        for r, w in zip(rankings, weights):
            lists += [r.dense, r.lexical]
            list_weights += [w * self.config.dense_weight, w * self.config.lexical_weight]
        fused = reciprocal_rank_fusion(lists, list_weights, k=self.config.rrf_k)[:top_k]
        hits: dict[str, Hit] = {}
        dense: dict[str, float] = {}
        lexical: dict[str, float] = {}
        for r in rankings:
            hits.update(r.hits)
            for cid, s in r.dense_scores.items():
                dense[cid] = max(s, dense.get(cid, s))
            for cid, s in r.lexical_scores.items():
                lexical[cid] = max(s, lexical.get(cid, s))
        missing = [cid for cid, _ in fused if cid not in hits]
        if missing:  # found by BM25 only: fetch text and metadata
            page = self.store.collection.get(ids=missing, include=["documents", "metadatas"])
            for cid, text, meta in zip(page["ids"], page["documents"], page["metadatas"]):
                hits[cid] = Hit(cid, text, meta, similarity=float("nan"))
        passages = []
        for rank, (cid, score) in enumerate(fused, start=1):
            hit = hits.get(cid)
            if hit is None:  # deleted by another process since the BM25 index was built
                continue
            m = hit.metadata
            passages.append(
                Passage(
                    id=cid, text=hit.text, source=str(m["source"]), title=str(m.get("title", "")),
                    language=str(m.get("language", "")), start=int(m["start"]), end=int(m["end"]),
                    score=score, rank=rank, dense_score=dense.get(cid), lexical_score=lexical.get(cid),
                )
            )
        return passages

    def retrieve(
        self, query: str, top_k: int = 5, *, language: str | None = None, sources: Sequence[str] | None = None
    ) -> list[Passage]:
        if top_k < 1:
            raise ValueError("top_k must be at least 1")
        return self.fuse([self.rank(query, language=language, sources=sources)], [1.0], top_k)

    def _ids_with_sources(self, ids: list[str], sources: Sequence[str]) -> set[str]:
        page = self.store.collection.get(ids=ids, include=["metadatas"])
        wanted = set(sources)
        return {i for i, m in zip(page["ids"], page["metadatas"]) if m.get("source") in wanted}
