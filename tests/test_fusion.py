"""Fusion (pure): weighted reciprocal rank fusion and the convex combination of normalised scores."""

from __future__ import annotations

import pytest

from rag.fusion import convex_combination, min_max, reciprocal_rank_fusion


def test_scores_are_the_sum_of_reciprocal_ranks() -> None:
    fused = dict(reciprocal_rank_fusion([["a", "b", "c"], ["b", "c"]], k=60))

    assert fused["a"] == pytest.approx(0.016393, abs=1e-6)  # 1/61
    assert fused["b"] == pytest.approx(0.032522, abs=1e-6)  # 1/62 + 1/61
    assert fused["c"] == pytest.approx(0.032002, abs=1e-6)  # 1/63 + 1/62


def test_items_found_by_both_rankings_come_first() -> None:
    fused = reciprocal_rank_fusion([["a", "b", "c"], ["b", "c"]], k=60)

    assert [item for item, _ in fused] == ["b", "c", "a"]


def test_result_is_sorted_best_first() -> None:
    fused = reciprocal_rank_fusion([["x", "y", "z"], ["z", "q"], ["q", "y"]], k=1)
    scores = [s for _, s in fused]

    assert scores == sorted(scores, reverse=True)


def test_a_heavier_ranking_decides_between_its_own_top_and_the_others() -> None:
    rankings = [["dense1", "shared"], ["lexical1", "shared"]]

    dense_heavy = reciprocal_rank_fusion(rankings, weights=[1.0, 0.5], k=60)
    lexical_heavy = reciprocal_rank_fusion(rankings, weights=[0.5, 1.0], k=60)

    assert [i for i, _ in dense_heavy][:2] == ["shared", "dense1"]
    assert dict(dense_heavy)["dense1"] > dict(dense_heavy)["lexical1"]
    assert dict(lexical_heavy)["lexical1"] > dict(lexical_heavy)["dense1"]


def test_weights_scale_each_rankings_contribution() -> None:
    fused = dict(reciprocal_rank_fusion([["a"], ["a", "b"]], weights=[2.0, 0.5], k=10))

    assert fused["a"] == pytest.approx(0.227273, abs=1e-6)  # 2/11 + 0.5/11
    assert fused["b"] == pytest.approx(0.041667, abs=1e-6)  # 0.5/12


def test_a_zero_weight_ranking_adds_nothing() -> None:
    fused = dict(reciprocal_rank_fusion([["a", "b"], ["b", "a"]], weights=[1.0, 0.0], k=60))

    assert fused["a"] == pytest.approx(0.016393, abs=1e-6)  # 1/61
    assert fused["b"] == pytest.approx(0.016129, abs=1e-6)  # 1/62


def test_a_smaller_k_makes_the_top_ranks_count_more() -> None:
    def gap(k: int) -> float:
        scores = dict(reciprocal_rank_fusion([["top", "second"]], k=k))
        return scores["top"] / scores["second"]

    assert gap(1) == pytest.approx(1.5)  # (1/2) / (1/3)
    assert gap(60) == pytest.approx(1.016393, abs=1e-6)  # (1/61) / (1/62)


def test_ties_keep_the_order_in_which_items_were_first_seen() -> None:
    fused = reciprocal_rank_fusion([["a", "b"], ["b", "a"]], k=60)

    assert [item for item, _ in fused] == ["a", "b"]
    assert fused[0][1] == pytest.approx(fused[1][1])


def test_no_rankings_give_nothing() -> None:
    assert reciprocal_rank_fusion([]) == []
    assert reciprocal_rank_fusion([[], []]) == []


def test_one_weight_per_ranking_is_required() -> None:
    with pytest.raises(ValueError, match="one weight per ranking"):
        reciprocal_rank_fusion([["a"], ["b"]], weights=[1.0])


@pytest.mark.parametrize("k", [0, -5])
def test_k_below_one_is_refused(k: int) -> None:
    with pytest.raises(ValueError, match="k must be at least 1"):
        reciprocal_rank_fusion([["a"]], k=k)


# -- convex combination ---------------------------------------------------------------------------


def test_min_max_maps_the_best_to_one_and_the_worst_to_zero() -> None:
    assert min_max({"a": 0.9, "b": 0.7, "c": 0.8}) == pytest.approx({"a": 1.0, "b": 0.0, "c": 0.5})


def test_min_max_of_equal_scores_gives_all_one_and_of_nothing_gives_nothing() -> None:
    assert min_max({"a": 3.0, "b": 3.0}) == {"a": 1.0, "b": 1.0}
    assert min_max({}) == {}


def test_convex_scores_are_the_weighted_mean_of_normalised_scores() -> None:
    dense = {"a": 0.90, "b": 0.80, "c": 0.70}
    lexical = {"c": 12.0, "b": 6.0, "d": 0.0}

    fused = dict(convex_combination([dense, lexical], [1.0, 0.5]))

    # weights 1 and 0.5 are 2/3 and 1/3; normalised dense a 1, b 0.5, c 0; lexical c 1, b 0.5, d 0
    assert fused["a"] == pytest.approx(0.666667, abs=1e-6)
    assert fused["b"] == pytest.approx(0.5, abs=1e-6)
    assert fused["c"] == pytest.approx(0.333333, abs=1e-6)
    assert fused["d"] == pytest.approx(0.0)  # found by one list, at its bottom


def test_convex_follows_how_far_apart_the_bm25_scores_are_where_rrf_sees_only_their_order() -> None:
    dense = {"a": 0.9, "b": 0.5, "c": 0.1}
    strong_b = {"b": 10.0, "a": 1.0, "c": 0.0}  # BM25 clearly prefers b
    weak_b = {"b": 1.01, "a": 1.0, "c": 0.0}  # b and a match the same words, almost equally

    def first(fused: list[tuple[str, float]]) -> str:
        return fused[0][0]

    assert first(convex_combination([dense, strong_b], [1.0, 1.0])) == "b"
    assert first(convex_combination([dense, weak_b], [1.0, 1.0])) == "a"
    # Both BM25 lists rank b, a, c: RRF gives a and b the same score either way (a first: seen first).
    for bm25 in (strong_b, weak_b):
        assert [item for item, _ in reciprocal_rank_fusion([list(dense), list(bm25)])] == ["a", "b", "c"]


def test_convex_with_one_list_keeps_its_order() -> None:
    fused = convex_combination([{"a": 0.2, "b": 0.9, "c": 0.5}, {}], [1.0, 0.5])

    assert [item for item, _ in fused] == ["b", "c", "a"]


@pytest.mark.parametrize("weights", [[1.0], [0.0, 0.0], [-1.0, 2.0]])
def test_convex_refuses_bad_weights(weights: list[float]) -> None:
    with pytest.raises(ValueError):
        convex_combination([{"a": 1.0}, {"a": 2.0}], weights)
