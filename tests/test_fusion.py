"""Weighted reciprocal rank fusion (pure): known rankings give known scores and order."""

from __future__ import annotations

import pytest

from rag.fusion import reciprocal_rank_fusion


def test_scores_are_the_sum_of_reciprocal_ranks() -> None:
    fused = dict(reciprocal_rank_fusion([["a", "b", "c"], ["b", "c"]], k=60))

    assert fused["a"] == pytest.approx(1 / 61)
    assert fused["b"] == pytest.approx(1 / 62 + 1 / 61)
    assert fused["c"] == pytest.approx(1 / 63 + 1 / 62)


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

    assert fused["a"] == pytest.approx(2.0 / 11 + 0.5 / 11)
    assert fused["b"] == pytest.approx(0.5 / 12)


def test_a_zero_weight_ranking_adds_nothing() -> None:
    fused = dict(reciprocal_rank_fusion([["a", "b"], ["b", "a"]], weights=[1.0, 0.0], k=60))

    assert fused["a"] == pytest.approx(1 / 61)
    assert fused["b"] == pytest.approx(1 / 62)


def test_a_smaller_k_makes_the_top_ranks_count_more() -> None:
    def gap(k: int) -> float:
        scores = dict(reciprocal_rank_fusion([["top", "second"]], k=k))
        return scores["top"] / scores["second"]

    assert gap(1) > gap(60) > 1


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
