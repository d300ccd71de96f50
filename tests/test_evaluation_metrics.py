"""Metrics on hand-made rankings with known values, evidence matching, and question-set validation."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from rag.errors import QuestionSetError
from rag.evaluation import Evidence, Question, load_questions
from rag.evaluation.metrics import (
    doc_key,
    evidence_in_passage,
    evidence_recall,
    first_relevant_rank,
    fold,
    hit_at,
    must_include_ok,
    ndcg_at,
    normalise,
    percentile,
    reciprocal_rank,
)

F, T = False, True

# -- rank metrics -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("relevance", "k", "expected"),
    [
        ([F, T, F], 1, 0.0),
        ([F, T, F], 2, 1.0),
        ([F, T, F], 5, 1.0),
        ([F, F, F], 3, 0.0),
        ([], 5, 0.0),
    ],
)
def test_hit_at_k_is_one_when_a_relevant_passage_is_in_the_top_k(
    relevance: list[bool], k: int, expected: float
) -> None:
    assert hit_at(relevance, k) == expected


@pytest.mark.parametrize(
    ("relevance", "expected"),
    [
        ([T, F, F], 1.0),
        ([F, T, F], 0.5),
        ([F, F, T, T], 1 / 3),
        ([F, F, F], 0.0),
        ([], 0.0),
    ],
)
def test_reciprocal_rank_is_one_over_the_first_relevant_rank(relevance: list[bool], expected: float) -> None:
    assert reciprocal_rank(relevance) == pytest.approx(expected)


def test_first_relevant_rank_counts_from_one_and_is_none_without_a_hit() -> None:
    assert first_relevant_rank([F, F, T]) == 3
    assert first_relevant_rank([F, F]) is None


def test_ndcg_with_the_one_relevant_passage_at_rank_two() -> None:
    assert ndcg_at([F, T, F], 3) == pytest.approx(1 / math.log2(3))


def test_ndcg_is_one_when_every_relevant_passage_is_on_top() -> None:
    assert ndcg_at([T, T, F], 3) == pytest.approx(1.0)


def test_ndcg_counts_relevant_passages_that_were_not_retrieved() -> None:
    # Two relevant chunks exist; only one was found, at rank 1.
    assert ndcg_at([T, F, F], 3, n_relevant=2) == pytest.approx(1 / (1 + 1 / math.log2(3)))


def test_ndcg_ideal_is_capped_at_k() -> None:
    assert ndcg_at([T, F], 1, n_relevant=5) == pytest.approx(1.0)


def test_ndcg_ignores_passages_below_k() -> None:
    assert ndcg_at([F, F, T], 2, n_relevant=1) == 0.0


def test_ndcg_without_any_relevant_passage_is_zero() -> None:
    assert ndcg_at([F, F, F], 3) == 0.0
    assert ndcg_at([], 3, n_relevant=0) == 0.0


def test_evidence_recall_is_the_share_of_quotes_found() -> None:
    assert evidence_recall([T, F]) == 0.5
    assert evidence_recall([T, T, T]) == 1.0
    assert evidence_recall([]) == 0.0


# -- evidence matching --------------------------------------------------------------------------------------

DOC = "002_4a01d9418e012f08"
SOURCE = DOC + ".txt"
PASSAGE = "Più di 6.000 soldati\nnordcoreani sono MORTI nella guerra russa-ucraina."


def test_doc_key_is_the_file_name_without_its_extension() -> None:
    assert doc_key(SOURCE) == DOC
    assert doc_key("notes.v2.md") == "notes.v2"
    assert doc_key("README") == "README"


def test_evidence_matches_a_quote_regardless_of_whitespace_and_case() -> None:
    ev = Evidence(DOC, "6.000 soldati nordcoreani  sono morti")

    assert evidence_in_passage(ev, SOURCE, PASSAGE, 100, 170)


def test_evidence_does_not_match_another_article() -> None:
    ev = Evidence("000_3826467bcfade4bc", "6.000 soldati nordcoreani sono morti")

    assert not evidence_in_passage(ev, SOURCE, PASSAGE, 100, 170)


def test_evidence_does_not_match_a_passage_without_the_quote_or_the_span() -> None:
    ev = Evidence(DOC, "ingegneri e costruttori militari")

    assert not evidence_in_passage(ev, SOURCE, PASSAGE, 100, 170)


def test_evidence_matches_by_span_when_the_passage_covers_it() -> None:
    ev = Evidence(DOC, "a quote worded differently from the passage", start=120, end=150)

    assert evidence_in_passage(ev, SOURCE, PASSAGE, 100, 170)
    assert evidence_in_passage(ev, SOURCE, PASSAGE, 120, 150)  # exactly the span


def test_evidence_span_only_partly_covered_does_not_match() -> None:
    ev = Evidence(DOC, "a quote worded differently from the passage", start=160, end=190)

    assert not evidence_in_passage(ev, SOURCE, PASSAGE, 100, 170)


def test_normalise_collapses_whitespace_and_case_but_keeps_accents() -> None:
    assert normalise("  Città\n\tdi  WONSAN ") == "città di wonsan"


def test_fold_also_removes_accents() -> None:
    assert fold("Città di ΓΟΥΟΝΣΆΝ") == fold("citta di Γουονσαν") == "citta di γουονσαν"


# -- must_include -------------------------------------------------------------------------------------------


def test_must_include_ignores_case_and_accents() -> None:
    assert must_include_ok("Ο ΠΟΥΤΙΝ μίλησε με τον Κιμ.", [["Πούτιν"]])
    assert must_include_ok("La citta di Wonsan", [["città"]])


def test_must_include_needs_one_alternative_of_every_group() -> None:
    groups = [["6,000", "6.000", "six thousand"], ["Kursk"]]

    assert must_include_ok("Six thousand soldiers fought in Kursk.", groups)
    assert not must_include_ok("Six thousand soldiers fought.", groups)


def test_must_include_with_no_groups_always_holds() -> None:
    assert must_include_ok("anything", [])


# -- percentile ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("q", "expected"), [(0, 1.0), (50, 2.5), (100, 4.0), (25, 1.75)])
def test_percentile_interpolates_linearly(q: float, expected: float) -> None:
    assert percentile([4.0, 1.0, 3.0, 2.0], q) == pytest.approx(expected)


def test_percentile_of_one_value_is_that_value() -> None:
    assert percentile([7.0], 95) == 7.0


def test_percentile_of_nothing_is_nan() -> None:
    assert math.isnan(percentile([], 50))


# -- question sets ------------------------------------------------------------------------------------------

GOOD = {
    "id": "q1",
    "lang": "en",
    "question": "Where did Lavrov meet Kim?",
    "answerable": True,
    "must_include": [["Wonsan"]],
    "evidence": [{"doc": DOC, "quote": "a Wonsan"}],
}
UNANSWERABLE = {"id": "q9", "lang": "it", "question": "Chi ha vinto il Giro d'Italia?", "answerable": False}


def write_set(tmp_path: Path, *lines: dict | str) -> Path:
    path = tmp_path / "questions.jsonl"
    path.write_text(
        "\n".join(x if isinstance(x, str) else json.dumps(x, ensure_ascii=False) for x in lines) + "\n",
        encoding="utf-8",
    )
    return path


def problems(path: Path) -> list[str]:
    with pytest.raises(QuestionSetError) as exc:
        load_questions(path)
    return str(exc.value).splitlines()[1:]  # after "invalid question set:"


def test_a_valid_set_loads_into_questions(tmp_path: Path) -> None:
    questions = load_questions(write_set(tmp_path, GOOD, "", UNANSWERABLE))

    assert questions == [
        Question(
            id="q1",
            lang="en",
            question="Where did Lavrov meet Kim?",
            answerable=True,
            must_include=(("Wonsan",),),
            evidence=(Evidence(DOC, "a Wonsan"),),
            line=1,
        ),
        Question(id="q9", lang="it", question="Chi ha vinto il Giro d'Italia?", answerable=False, line=3),
    ]


def test_invalid_json_is_reported_with_file_and_line(tmp_path: Path) -> None:
    path = write_set(tmp_path, GOOD, '{"id": "q2", "lang": ')

    [problem] = problems(path)
    assert problem.startswith(f"{path}:2: invalid JSON")


def test_a_missing_field_is_reported_with_file_and_line(tmp_path: Path) -> None:
    row = {k: v for k, v in GOOD.items() if k != "question"} | {"id": "q2"}
    path = write_set(tmp_path, GOOD, row)

    assert problems(path) == [f"{path}:2: missing field 'question'"]


def test_a_field_of_the_wrong_type_is_reported(tmp_path: Path) -> None:
    path = write_set(tmp_path, GOOD | {"answerable": "yes"})

    assert problems(path) == [f"{path}:1: field 'answerable' must be a bool"]


def test_a_duplicate_id_is_reported_with_the_first_line(tmp_path: Path) -> None:
    path = write_set(tmp_path, GOOD, UNANSWERABLE, GOOD)

    assert problems(path) == [f"{path}:3: duplicate id 'q1' (first on line 1)"]


def test_an_answerable_question_without_evidence_is_reported(tmp_path: Path) -> None:
    path = write_set(tmp_path, GOOD | {"evidence": []})

    assert problems(path) == [f"{path}:1: an answerable question needs at least one evidence quote"]


def test_an_unanswerable_question_with_evidence_is_reported(tmp_path: Path) -> None:
    path = write_set(tmp_path, UNANSWERABLE | {"evidence": GOOD["evidence"]})

    assert problems(path) == [f"{path}:1: an unanswerable question cannot have evidence"]


def test_an_evidence_span_must_be_complete_and_ordered(tmp_path: Path) -> None:
    path = write_set(
        tmp_path, GOOD | {"evidence": [{"doc": DOC, "quote": "a Wonsan", "start": 50, "end": 10}]}
    )

    assert problems(path) == [f"{path}:1: evidence[0] start/end must both be given as integers, 0 <= start < end"]


@pytest.mark.parametrize("end", ["20", 20.5, True, None])
def test_an_evidence_span_that_is_not_two_integers_is_reported_not_a_traceback(tmp_path: Path, end: object) -> None:
    path = write_set(tmp_path, GOOD | {"evidence": [{"doc": DOC, "quote": "a Wonsan", "start": 1, "end": end}]})

    assert problems(path) == [f"{path}:1: evidence[0] start/end must both be given as integers, 0 <= start < end"]


@pytest.mark.parametrize(
    "turn",
    ["Who did Lavrov meet?", {"role": "user"}, {"role": "system", "content": "x"},
     {"role": "user", "content": 3}, {"role": "user", "content": "x", "extra": 1}],
)
def test_a_history_turn_that_is_not_a_role_and_content_is_reported(tmp_path: Path, turn: object) -> None:
    path = write_set(tmp_path, GOOD | {"history": [{"role": "user", "content": "Hi"}, turn]})

    assert problems(path) == [
        f'{path}:1: history[1] must be {{"role": "user" or "assistant", "content": "..."}}'
    ]


def test_every_problem_of_a_set_is_listed_at_once(tmp_path: Path) -> None:
    path = write_set(
        tmp_path, GOOD, "not json", {"id": "q3", "lang": "en"}, GOOD, GOOD | {"id": "q5", "evidence": []}
    )

    listed = problems(path)

    assert [p.split(": ", 1)[0] for p in listed] == [
        f"{path}:2",
        f"{path}:3",
        f"{path}:3",
        f"{path}:4",
        f"{path}:5",
    ]


def test_an_empty_set_is_refused(tmp_path: Path) -> None:
    path = write_set(tmp_path, "")

    with pytest.raises(QuestionSetError, match="no questions"):
        load_questions(path)


def test_an_unreadable_set_is_refused_with_its_path(tmp_path: Path) -> None:
    path = tmp_path / "questions.jsonl"
    path.write_bytes("Ερώτηση".encode("cp1253"))

    with pytest.raises(QuestionSetError, match="cannot read the question set"):
        load_questions(path)
