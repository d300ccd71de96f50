"""Retrieval and answer metrics: pure functions over plain values, no I/O."""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Sequence

import numpy as np

from rag.evaluation.questions import Evidence


def normalise(text: str) -> str:
    """Case- and whitespace-insensitive form used to match evidence quotes."""
    return re.sub(r"\s+", " ", text).strip().casefold()


def fold(text: str) -> str:
    """Case- and accent-insensitive form used to match answer facts (``must_include``)."""
    decomposed = unicodedata.normalize("NFD", text.casefold())
    return normalise("".join(c for c in decomposed if unicodedata.category(c) != "Mn"))


def doc_key(source: str) -> str:
    """The evidence ``doc`` of a source file name: the name without its extension."""
    return source.rsplit(".", 1)[0] if "." in source else source


def evidence_in_passage(ev: Evidence, source: str, text: str, start: int, end: int) -> bool:
    """A passage holds the evidence when it contains the quote or covers the answer's span."""
    if doc_key(source) != ev.doc:
        return False
    if normalise(ev.quote) in normalise(text):
        return True
    return ev.start is not None and ev.end is not None and start <= ev.start and ev.end <= end


def first_relevant_rank(relevance: Sequence[bool]) -> int | None:
    return next((i for i, r in enumerate(relevance, start=1) if r), None)


def hit_at(relevance: Sequence[bool], k: int) -> float:
    return 1.0 if any(relevance[:k]) else 0.0


def reciprocal_rank(relevance: Sequence[bool]) -> float:
    rank = first_relevant_rank(relevance)
    return 1.0 / rank if rank else 0.0


def ndcg_at(relevance: Sequence[bool], k: int, n_relevant: int | None = None) -> float:
    """Binary nDCG@k. ``n_relevant`` (the ideal count) defaults to the relevant items seen."""
    dcg = sum(1.0 / math.log2(i + 1) for i, r in enumerate(relevance[:k], start=1) if r)
    ideal_n = min(k, n_relevant if n_relevant is not None else sum(relevance))
    idcg = sum(1.0 / math.log2(i + 1) for i in range(1, ideal_n + 1))
    return dcg / idcg if idcg else 0.0


def evidence_recall(found: Sequence[bool]) -> float:
    """Share of a question's evidence quotes found in the retrieved passages."""
    return sum(found) / len(found) if found else 0.0


def must_include_ok(answer: str, groups: Sequence[Sequence[str]]) -> bool:
    """Every group is matched by at least one of its alternatives (case and accent insensitive)."""
    text = fold(answer)
    return all(any(fold(alt) in text for alt in group) for group in groups)


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0-100), linearly interpolated; NaN for no values."""
    return float(np.percentile(values, q)) if len(values) else float("nan")
