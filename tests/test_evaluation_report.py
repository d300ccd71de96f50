"""Report writing, comparison and floors, on hand-made reports (no index, no model)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rag.errors import ConfigError
from rag.evaluation.answers import AnswerRecord, AnswerResult, AnswerSummary
from rag.evaluation.gates import check_floors, compare, parse_floor, parse_floors
from rag.evaluation.markdown import render_comparison, render_markdown, summary_table
from rag.evaluation.model import CorpusInfo, EvalReport
from rag.evaluation.output import report_dict, write_report
from rag.evaluation.questions import Evidence, Question
from rag.evaluation.retrieval import evaluate_retrieval
from rag.types import Passage

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def passage(i: int, text: str, source: str = "doc_el.txt", language: str = "el") -> Passage:
    return Passage(id=f"c{i}", text=text, source=source, title="", language=language,
                   start=i * 100, end=i * 100 + 99, score=1.0 / i, rank=i)


def make_report(ranks: dict[str, int | None], k: int = 5, lang: str = "en", **kwargs) -> EvalReport:
    """A report where question ``id`` finds its evidence at rank ``ranks[id]`` (None: a miss)."""
    questions = [Question(qid, lang, f"Where is the needle of {qid}?", True, reference_answer="In the hay.",
                          evidence=(Evidence("doc_el", f"needle {qid}"),)) for qid in ranks]
    questions.append(Question("none", "it", "Chi ha vinto i Mondiali?", False))

    def retrieve(q: Question, k: int) -> list[Passage]:
        rank = ranks[q.id]
        texts = [f"the needle {q.id} is here" if i == rank else f"hay number {i}" for i in range(1, k + 1)]
        return [passage(i, text) for i, text in enumerate(texts, start=1)]

    corpus = [("doc_el.txt", f"the needle {qid} is here", 0, 99) for qid in ranks]
    result = evaluate_retrieval(questions, retrieve, k, corpus, {"doc_el": "el"})
    for rec in result.records:
        for entry in rec.retrieved:
            entry["snippet"], entry["language"] = f"hay number {entry['rank']}", "el"
    fields = dict(
        questions_files=["set.jsonl"], k=k, questions=questions, retrieval=result, answers=None,
        corpus=CorpusInfo("index", "ab" * 32, 1, "/tmp/data", "news"), settings={"top_k": k, "auth": None},
        embedder="test-embedder", model=None, git_revision=None, timestamp="2025-07-12T10:00:00+00:00",
        seconds=2.0,
    )
    fields.update(kwargs)
    return EvalReport(**fields)


def answer_record(qid: str, answerable: bool, correct: bool | None, refused: bool) -> AnswerRecord:
    return AnswerRecord(
        id=qid, lang="en", question="?", answerable=answerable, text="It is in the hay [1].", refused=refused,
        answer_language="en", language_ok=True, correct=correct, refusal_ok=None if answerable else refused,
        citations=[], citation_precision=1.0 if answerable else None, citation_recall=None, verdict=None,
        judge_raw=None, mode="llm", model="qwen2.5:3b", retrieve_ms=5.0, translate_ms=0.0,
        first_token_ms=300.0, total_ms=2000.0,
    )


# -- writing ---------------------------------------------------------------------------------------


def test_write_report_writes_json_markdown_and_two_pngs(tmp_path: Path) -> None:
    paths = write_report(make_report({"a": 1, "b": None}), tmp_path / "out")

    assert {p.name for p in (tmp_path / "out").iterdir()} == {
        "report.json", "report.md", "hit_by_language.png", "latency.png"}
    assert paths["hit_plot"].read_bytes().startswith(PNG_MAGIC)
    assert paths["latency_plot"].read_bytes().startswith(PNG_MAGIC)


def test_the_markdown_embeds_the_plots_with_relative_links(tmp_path: Path) -> None:
    md = write_report(make_report({"a": 1}), tmp_path)["markdown"].read_text(encoding="utf-8")

    assert "](hit_by_language.png)" in md
    assert "](latency.png)" in md


def test_report_json_holds_every_number_and_the_per_question_records(tmp_path: Path) -> None:
    path = write_report(make_report({"a": 1, "b": 2, "c": None}), tmp_path)["json"]

    def no_nan(token: str) -> None:
        raise AssertionError(f"{token} in report.json is not valid JSON")

    data = json.loads(path.read_text(encoding="utf-8"), parse_constant=no_nan)
    assert data["metrics"]["hit@1"] == pytest.approx(1 / 3)
    assert data["metrics"]["mrr"] == pytest.approx(0.5)
    assert {"hit@3", "hit@5", "ndcg@5", "evidence_recall", "retrieve_ms_p50"} <= set(data["metrics"])
    assert data["metrics"]["correctness"] is None  # not measured: null, not NaN
    assert [r["id"] for r in data["records"]] == ["a", "b", "c", "none"]
    assert data["records"][1]["retrieval"]["first_relevant"] == 2
    assert data["records"][1]["retrieval"]["retrieved"][1]["relevant"] is True
    assert data["records"][3]["retrieval"] is None  # unanswerable: nothing to retrieve
    assert data["retrieval"]["by_question_language"]["en"]["n"] == 3
    assert data["retrieval"]["by_evidence_language"]["en->el"]["n"] == 3
    assert data["corpus"]["fingerprint"] == "ab" * 32
    assert data["settings"]["top_k"] == 5
    assert {"git_revision", "timestamp", "model", "embedder", "partial"} <= set(data)


def test_the_markdown_lists_failures_with_expected_evidence_and_what_came_back(tmp_path: Path) -> None:
    md = render_markdown(make_report({"a": 1, "b": None}))

    failures = md.split("## Failures", 1)[1]
    assert "Where is the needle of b?" in failures and "Where is the needle of a?" not in failures
    assert "“needle b”" in failures
    assert "`doc_el.txt` [100:199] (el): hay number 1" in failures


def test_the_markdown_has_per_language_and_per_evidence_language_tables() -> None:
    md = render_markdown(make_report({"a": 1, "b": None}, lang="en"))

    assert "## Retrieval by question language" in md and "| en | 2 | 0.500 |" in md
    assert "| en->el | 2 | 0.500 |" in md


def test_the_markdown_says_why_answer_metrics_are_missing() -> None:
    answers = AnswerResult(False, "no model answered: cannot reach Ollama at http://127.0.0.1:11434")

    md = render_markdown(make_report({"a": 1}, answers=answers))

    assert "Answer metrics are not available: no model answered: cannot reach Ollama" in md
    assert "| correctness |" not in md


def test_the_markdown_tables_answers_by_language_when_scored() -> None:
    records = [answer_record("a", True, True, False), answer_record("none", False, None, True)]
    answers = AnswerResult(True, "", AnswerSummary.of(records), {"en": AnswerSummary.of(records)}, records)

    report = make_report({"a": 1}, answers=answers, model="qwen2.5:3b")
    md = render_markdown(report)

    assert "## Answers by question language" in md
    assert "| correctness | 1.000 |" in md and "| first token | 300 ms | 300 ms |" in md
    assert report.metrics()["refusal_accuracy"] == 1.0


def test_a_partial_report_says_so(tmp_path: Path) -> None:
    report = make_report({"a": 1}, partial=True, notes=["interrupted: retrieval scored for 1 of 2"])

    assert "PARTIAL" in summary_table(report)
    assert "**Partial report**" in render_markdown(report)
    assert report_dict(report)["partial"] is True


# -- compare ---------------------------------------------------------------------------------------


def test_compare_gives_per_metric_deltas_and_the_questions_that_flipped() -> None:
    previous = report_dict(make_report({"a": 1, "b": 2, "c": None}))

    c = compare(make_report({"a": None, "b": 1, "c": 3}), previous)

    deltas = {d.metric: d for d in c.deltas}
    assert deltas["mrr"].previous == pytest.approx(0.5)
    assert deltas["mrr"].change == pytest.approx((1 + 1 / 3) / 3 - 0.5, abs=1e-5)  # reports keep 6 digits
    assert deltas["mrr"].improved is False
    assert deltas["hit@5"].change == 0 and deltas["hit@5"].improved is None
    assert "mrr [en]" in deltas
    assert (c.hit_to_miss, c.miss_to_hit) == (["a"], ["c"])


def test_a_slower_retrieval_is_a_worse_delta() -> None:
    previous = report_dict(make_report({"a": 1}))
    previous["metrics"]["retrieve_ms_p50"] = 0.0

    d = {d.metric: d for d in compare(make_report({"a": 1}), previous).deltas}["retrieve_ms_p50"]

    assert d.better == "lower" and d.improved is False


def test_compare_reads_a_report_json_and_is_recorded_in_the_new_report(tmp_path: Path) -> None:
    old = write_report(make_report({"a": 1, "b": None}), tmp_path / "old")["json"]
    current = make_report({"a": None, "b": 4})

    current.comparison = compare(current, old)
    paths = write_report(current, tmp_path / "new")

    data = json.loads(paths["json"].read_text(encoding="utf-8"))
    assert data["comparison"]["previous"] == str(old)
    assert (data["comparison"]["hit_to_miss"], data["comparison"]["miss_to_hit"]) == (["a"], ["b"])
    md = paths["markdown"].read_text(encoding="utf-8")
    assert "hit → miss: `a`" in md and "miss → hit: `b`" in md
    assert "| hit@1 | 0.000 | 0.500 | -0.500 |" in md
    assert "hit@5 -> miss: a" in render_comparison(current.comparison)


def test_compare_judges_hits_at_the_smaller_k() -> None:
    previous = report_dict(make_report({"a": 7, "b": 2}, k=10))

    c = compare(make_report({"a": None, "b": None}, k=5), previous)

    assert c.k == 5
    assert (c.hit_to_miss, c.miss_to_hit) == (["b"], [])  # a was already a miss at rank 7 > 5


@pytest.mark.parametrize("content", ['{"x": 1}', "not json"])
def test_compare_rejects_what_is_not_a_report(tmp_path: Path, content: str) -> None:
    path = tmp_path / "prev.json"
    path.write_text(content, encoding="utf-8")

    with pytest.raises(ConfigError, match="prev.json"):
        compare(make_report({"a": 1}), path)


# -- floors ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("hit@5=0.8", ("hit@5", 0.8)),
        ("mrr=0.6", ("mrr", 0.6)),
        ("hit@1=0.5", ("hit@1", 0.5)),
        ("nDCG@5 = 0.7", ("ndcg@5", 0.7)),
        ("hit@k=0.9", ("hit@5", 0.9)),
        ("evidence_recall=1", ("evidence_recall", 1.0)),
        ("correctness=0.75", ("correctness", 0.75)),
    ],
)
def test_parse_floor(text: str, expected: tuple[str, float]) -> None:
    assert parse_floor(text, k=5) == expected


def test_an_unknown_metric_lists_the_valid_names() -> None:
    with pytest.raises(ConfigError) as err:
        parse_floor("recall@5=0.8", k=5)

    message = str(err.value)
    assert "unknown metric 'recall@5'" in message
    for name in ("hit@1", "hit@5", "mrr", "ndcg@5", "evidence_recall", "correctness"):
        assert name in message


def test_hit_at_another_k_than_the_run_is_unknown() -> None:
    with pytest.raises(ConfigError, match="valid with --k 10: .*hit@10"):
        parse_floor("hit@5=0.8", k=10)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("hit@5", "write METRIC=VALUE"),
        ("hit@5=high", "is not a number"),
        ("hit@5=80", "did you mean 0.8"),
        ("retrieve_ms_p50=100", "unknown metric"),  # lower is better: a floor makes no sense
    ],
)
def test_bad_floors_are_explained(text: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        parse_floor(text, k=5)


def test_an_answer_floor_with_retrieval_only_is_an_error_before_running() -> None:
    with pytest.raises(ConfigError, match="correctness: answers are not scored with --retrieval-only"):
        parse_floors(["hit@5=0.8", "correctness=0.5"], k=5, retrieval_only=True)


def test_check_floors_names_every_floor_not_met() -> None:
    report = make_report({"a": 1, "b": 4, "c": None, "d": None})  # hit@1 0.25, hit@5 0.5

    failed = check_floors(report, [("hit@5", 0.5), ("hit@1", 0.3), ("correctness", 0.5)])

    assert failed == [
        "hit@1 = 0.250 is below the floor 0.3",
        "correctness (floor 0.5) was not measured: answers are not scored with --retrieval-only",
    ]
