"""Fusing the rankings of several retrievers: pure functions, no I/O."""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from typing import TypeVar

K = TypeVar("K", bound=Hashable)


def reciprocal_rank_fusion(
    rankings: Sequence[Sequence[K]], weights: Sequence[float] | None = None, k: int = 60
) -> list[tuple[K, float]]:
    """Weighted reciprocal rank fusion (Cormack et al., 2009).

    Each item scores ``sum(w_i / (k + rank_i))`` over the rankings it appears in (rank from 1).
    Returns (item, score), best first; ties keep the order in which items were first seen.
    """
    if weights is None:
        weights = [1.0] * len(rankings)
    if len(weights) != len(rankings):
        raise ValueError("one weight per ranking")
    if k < 1:
        raise ValueError("k must be at least 1")
    scores: dict[K, float] = {}
    for ranking, weight in zip(rankings, weights):
        for rank, item in enumerate(ranking, start=1):
            scores[item] = scores.get(item, 0.0) + weight / (k + rank)
    return sorted(scores.items(), key=lambda kv: -kv[1])


def min_max(scores: Mapping[K, float]) -> dict[K, float]:
    """Scores rescaled to [0, 1] over the given candidates (all 1.0 when they are equal)."""
    if not scores:
        return {}
    low, high = min(scores.values()), max(scores.values())
    if high == low:
        return dict.fromkeys(scores, 1.0)
    return {key: (s - low) / (high - low) for key, s in scores.items()}


def convex_combination(
    scores: Sequence[Mapping[K, float]], weights: Sequence[float]
) -> list[tuple[K, float]]:
    """Weighted sum of min-max normalised scores (the convex combination of Bruch et al., 2023).

    Unlike rank fusion it keeps how far apart the scores are: a BM25 list whose best match is weak
    barely moves a dense ranking, where RRF gives its first item as much as any list's first item.
    An item missing from a list gets that list's minimum (0). Weights are divided by their sum.
    Returns (item, score), best first; ties keep the order in which items were first seen.
    """
    if len(weights) != len(scores):
        raise ValueError("one weight per score list")
    total = sum(weights)
    if total <= 0 or any(w < 0 for w in weights):
        raise ValueError("weights must be non-negative and not all zero")
    fused: dict[K, float] = {}
    for listed, weight in zip(scores, weights):
        for key, s in min_max(listed).items():
            fused[key] = fused.get(key, 0.0) + weight / total * s
    return sorted(fused.items(), key=lambda kv: -kv[1])
