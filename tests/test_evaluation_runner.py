"""The evaluation run and the `rag eval` command, on the shared seeded index (five seeds, real embeddings).

The answer tests use ``ScriptedAnswers``: the real ``RAG`` (retrieval, language detection, the judge's
model) with ``ask`` replaced by canned ``Answer`` objects built on really retrieved passages.
"""

from __future__ import annotations

import json
import re
import shutil
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from fake_ollama import FakeOllama
from helpers import GREEK, ITALIAN, SEEDS, TURKISH

from rag.cli import build_parser, main
from rag.errors import QuestionSetError
from rag.evaluation import metrics as m
from rag.evaluation.cli import default_question_files
from rag.evaluation.corpus import corpus_files, fingerprint
from rag.evaluation.markdown import render_markdown
from rag.evaluation.output import report_dict
from rag.evaluation.questions import Question, load_question_sets, retrieval_query
from rag.evaluation.run import evaluate
from rag.pipeline import RAG
from rag.settings import Settings
from rag.types import Answer, Citation

WONSAN_DOC = GREEK[0].removesuffix(".txt")  # Lavrov and Kim in Wonsan
RI_DOC = TURKISH.removesuffix(".txt")  # Lavrov and Ri Son-gwon
KELLOGG_DOC = ITALIAN.removesuffix(".txt")  # Kellogg to Kyiv


def write_set(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return path


def question(
    id: str, lang: str, text: str, *evidence: tuple[str, str], must: list | None = None, **extra
) -> dict:
    return {"id": id, "lang": lang, "question": text, "answerable": bool(evidence),
            "must_include": must or [], "evidence": [{"doc": d, "quote": q} for d, q in evidence], **extra}


WONSAN = question("w", "en", "Where did Lavrov meet Kim Jong Un?",
                  (WONSAN_DOC, "στην παραθαλάσσια πόλη Γουονσάν"), must=[["Wonsan"]])
RI = question("r", "tr", "Lavrov'un Kuzey Koreli mevkidaşı kimdi?",
              (RI_DOC, "Kuzey Koreli mevkidaşı Ri Son-gwon"), must=[["Ri Son-gwon"]])
KELLOGG = question("k", "it", "Quale inviato statunitense sarà mandato a Kiev?", (KELLOGG_DOC, "Keith Kellogg"),
                   must=[["Kellogg"]])
WORLD_CUP = question("u", "en", "Who won the 2022 FIFA World Cup?")
IRAN = question("i", "it", "Cosa ha detto Lavrov sull'accordo nucleare iraniano?")


@pytest.fixture
def news_set(tmp_path: Path) -> Path:
    return write_set(tmp_path / "set.jsonl", [WONSAN, RI, KELLOGG, WORLD_CUP])


@pytest.fixture
def news_rag(seeded_rag: RAG) -> RAG:
    """The shared index of the five seeds (read-only)."""
    return seeded_rag


# -- retrieval -------------------------------------------------------------------------------------


def test_retrieval_is_scored_per_question_and_evidence_language(news_rag: RAG, news_set: Path) -> None:
    report = evaluate(news_rag, news_set, k=5, retrieval_only=True)

    records = {r.id: r for r in report.retrieval.records}
    assert set(records) == {"w", "r", "k"}  # unanswerable questions have nothing to retrieve
    assert records["w"].hitk == records["r"].hitk == records["k"].hitk == 1.0
    assert set(report.retrieval.by_question_language) == {"en", "tr", "it"}
    assert set(report.retrieval.by_evidence_language) == {"en->el", "tr->tr", "it->it"}
    assert report.metrics()["hit@5"] == 1.0
    assert report.answers is None


def test_an_evidence_article_missing_from_the_index_stops_the_run_before_retrieval(
    news_rag: RAG, tmp_path: Path
) -> None:
    path = write_set(tmp_path / "s.jsonl", [WONSAN, question("x", "en", "Who?", ("999_not_ingested", "Someone"))])
    watched = InterruptedAfter(news_rag, "retrieve", 0)

    with pytest.raises(QuestionSetError, match="evidence articles not in the index 'news': 999_not_ingested"):
        evaluate(watched, path, retrieval_only=True)

    assert watched.calls == 0


def test_retrieved_passages_are_recorded_with_language_and_snippet(news_rag: RAG, news_set: Path) -> None:
    report = evaluate(news_rag, news_set, k=3, retrieval_only=True)

    first = report.retrieval.records[0].retrieved
    assert [p["rank"] for p in first] == [1, 2, 3]
    assert all(p["language"] in ("el", "it", "tr") and p["snippet"] for p in first)
    assert all(r.retrieve_ms > 0 for r in report.retrieval.records)


def test_the_index_fingerprint_matches_the_fingerprint_of_its_files(news_rag: RAG, news_set: Path) -> None:
    report = evaluate(news_rag, news_set, retrieval_only=True)

    assert report.corpus.fingerprint == fingerprint(corpus_files(SEEDS))
    assert report.corpus.files == 5


def test_follow_ups_are_retrieved_with_the_earlier_user_turns() -> None:
    turns = ({"role": "user", "content": "Who did Lavrov meet?"}, {"role": "assistant", "content": "Choe"})
    q = Question("f", "en", "How long did they last?", True, history=turns)

    assert retrieval_query(q) == "Who did Lavrov meet?\nHow long did they last?"


# -- validation ------------------------------------------------------------------------------------


class Untouchable:
    """A RAG that fails the test if the run uses it at all."""

    def __getattr__(self, name: str) -> Any:
        raise AssertionError(f"the run used rag.{name} although the question set is invalid")


def test_an_invalid_set_aborts_before_anything_runs(tmp_path: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps(WONSAN) + "\n" + '{"id": "x", "lang": "en"}\n' + "not json\n", encoding="utf-8")

    with pytest.raises(QuestionSetError) as err:
        evaluate(Untouchable(), bad, corpus=tmp_path / "never-indexed")

    assert f"{bad}:2: missing field 'question'" in str(err.value)
    assert f"{bad}:3: invalid JSON" in str(err.value)
    assert not (tmp_path / "never-indexed").exists()


def test_ids_must_be_unique_across_merged_files(tmp_path: Path) -> None:
    a = write_set(tmp_path / "a.jsonl", [WONSAN, RI])
    b = write_set(tmp_path / "b.jsonl", [KELLOGG, {**WONSAN, "question": "Again?"}])

    with pytest.raises(QuestionSetError, match=re.escape(f"{b}:2: duplicate id 'w' (first at {a}:1)")):
        evaluate(Untouchable(), [a, b])


def test_problems_of_every_file_are_listed_together(tmp_path: Path) -> None:
    a = write_set(tmp_path / "a.jsonl", [{**WONSAN, "evidence": []}])
    b = write_set(tmp_path / "b.jsonl", [{**RI, "answerable": "yes"}])

    with pytest.raises(QuestionSetError) as err:
        load_question_sets([a, b])

    assert f"{a}:1:" in str(err.value) and f"{b}:1:" in str(err.value)


# -- answers ---------------------------------------------------------------------------------------


class ScriptedAnswers:
    """The real RAG with ``ask`` replaced: real retrieval, canned answer texts.

    ``replies`` maps a question to (text, refused, quote of the passage to cite or None).
    """

    def __init__(self, rag: RAG, replies: dict[str, tuple[str, bool, str | None]], mode: str = "llm") -> None:
        self._rag = rag
        self.replies = replies
        self.mode = mode
        self.asked: list[tuple[str, list, bool | None]] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self._rag, name)

    def ask(self, question: str, *, history: list | None = None, translate: bool | None = None) -> Answer:
        self.asked.append((question, history or [], translate))
        text, refused, quote = self.replies[question]
        passages = tuple(self._rag.retrieve(question, top_k=5))
        if quote and not any(m.normalise(quote) in m.normalise(p.text) for p in passages):
            # The passage to cite, wherever it ranks: the answer cites what it was given.
            passages += tuple(p for p in self._rag.corpus_passages() if m.normalise(quote) in m.normalise(p.text))
        cited = [p for p in passages if quote and m.normalise(quote) in m.normalise(p.text)][:1]
        citations = tuple(Citation(i, p, quote or "", p.start, p.end, 0.9, True)
                          for i, p in enumerate(cited, 1))
        if self.mode != "llm":
            return Answer("", (), passages, False, "en", None, "retrieval-only",
                          notice="cannot reach Ollama at http://127.0.0.1:1: start it with `ollama serve`")
        return Answer(text, citations, passages, refused, "en", "stand-in:1b", "llm",
                      retrieve_ms=4.0, first_token_ms=120.0, total_ms=900.0)


REPLIES = {
    WONSAN["question"]: ("Lavrov met Kim Jong Un in the coastal resort city of Wonsan [1].", False,
                         "στην παραθαλάσσια πόλη Γουονσάν"),
    RI["question"]: ("Makaleler bunu söylemiyor.", True, None),  # a false refusal
    WORLD_CUP["question"]: ("The articles do not say who won the 2022 World Cup.", True, None),
    IRAN["question"]: ("Lavrov ha detto che la Russia sostiene l'accordo [1].", False,
                       "Kuzey Koreli mevkidaşı Ri Son-gwon"),  # answered although unanswerable
}


@pytest.fixture
def answer_set(tmp_path: Path) -> Path:
    return write_set(tmp_path / "answers.jsonl", [WONSAN, RI, WORLD_CUP, IRAN])


def test_answers_are_scored_for_correctness_refusals_citations_and_language(
    news_rag: RAG, answer_set: Path
) -> None:
    report = evaluate(ScriptedAnswers(news_rag, REPLIES), answer_set)

    a = report.answers
    assert a is not None and a.available
    s = a.overall
    assert (s.correctness, s.false_refusal_rate) == (0.5, 0.5)
    assert s.refusal_accuracy == 0.5
    assert s.citation_precision == 1.0  # the one answer to an answerable question cites its evidence
    assert s.citation_recall == 1.0
    assert s.language_match == 1.0
    assert (s.first_token_ms_p50, s.total_ms_p50) == (120.0, 900.0)
    assert set(a.by_question_language) == {"en", "tr", "it"}
    assert a.by_question_language["en"].correctness == 1.0
    assert report.model == "stand-in:1b"
    assert report.metrics()["correctness"] == 0.5


def test_the_answers_own_checks_are_counted_in_the_summary(news_rag: RAG, answer_set: Path) -> None:
    class Flagged(ScriptedAnswers):
        def ask(self, question: str, **kwargs: Any) -> Answer:
            answer = super().ask(question, **kwargs)
            if question == IRAN["question"]:  # answered although unanswerable, and badly
                return replace(answer, wrong_language=True, unknown_citations=(7,), language_repair="en",
                               unsupported_claims=("la Russia sostiene l'accordo",))
            if question == RI["question"]:  # a refusal: its flags are not counted
                return replace(answer, wrong_language=True, unknown_citations=(3,))
            return answer

    report = evaluate(Flagged(news_rag, REPLIES), answer_set)

    s = report.answers.overall
    assert (s.wrong_language, s.with_unknown_citations, s.with_unsupported_claims) == (1, 1, 1)
    assert s.language_repairs == 1  # the second model call its first, English reply cost
    assert {r.id: r.unknown_citations for r in report.answers.records} == {"w": [], "r": [3], "u": [], "i": [7]}
    assert {r.id: r.language_repair for r in report.answers.records} == {"w": None, "r": None, "u": None, "i": "en"}
    markdown = render_markdown(report)
    assert "1 answers in the wrong language" in markdown and "1 first replies were in another language" in markdown


def test_an_answer_in_another_language_fails_the_language_check(news_rag: RAG, tmp_path: Path) -> None:
    path = write_set(tmp_path / "s.jsonl", [RI])
    replies = {RI["question"]: ("Lavrov's counterpart was Ri Son-gwon, the report says.", False, None)}

    report = evaluate(ScriptedAnswers(news_rag, replies), path)

    record = report.answers.records[0]
    assert (record.answer_language, record.language_ok, record.correct) == ("en", False, True)


def test_history_and_translate_reach_ask(news_rag: RAG, tmp_path: Path) -> None:
    turns = [{"role": "user", "content": "Who did Lavrov meet?"}, {"role": "assistant", "content": "Kim."}]
    path = write_set(tmp_path / "s.jsonl", [{**WONSAN, "history": turns}])
    fake = ScriptedAnswers(news_rag, REPLIES)

    evaluate(fake, path, translate=False)

    assert fake.asked == [(WONSAN["question"], turns, False)]


def test_without_a_model_answer_metrics_are_not_available_with_the_reason(
    news_rag: RAG, answer_set: Path
) -> None:
    fake = ScriptedAnswers(news_rag, REPLIES, mode="retrieval-only")

    report = evaluate(fake, answer_set)

    assert not report.answers.available
    assert "cannot reach Ollama" in report.answers.reason
    assert len(fake.asked) == 1  # no point asking the rest
    assert report.metrics()["correctness"] != report.metrics()["correctness"]  # NaN: not measured
    assert report.retrieval.overall.n == 2


def test_with_the_real_ask_and_no_model_reachable_answers_are_not_available(
    seeded_rag_dir: Path, make_rag, answer_set: Path
) -> None:
    # Port 1: nothing listens there, so RAG.ask cannot reach a model.
    settings = Settings(data_dir=seeded_rag_dir, ollama_host="http://127.0.0.1:1",
                        openai_base_url="http://127.0.0.1:1/v1")
    report = evaluate(make_rag(settings), answer_set)

    assert not report.answers.available and report.answers.reason
    assert report.retrieval.overall.n == 2


# -- the judge (llama-index's FaithfulnessEvaluator against the configured model) ----------------------


def judge_reply(request: dict) -> str:
    """The fake model as a judge: the Iranian answer gets no verdict, every other one is supported."""
    prompt = FakeOllama.prompt_of(request)
    assert "supported by the context" in prompt or "existing YES/NO answer" in prompt, prompt[:300]
    return "Hmm, hard to say." if "sostiene l'accordo" in prompt else "YES"


@pytest.fixture
def judging_rag(seeded_rag_dir: Path, make_rag) -> Any:
    with FakeOllama(models={"judge:1b": 8192}, default=judge_reply) as fake:
        yield make_rag(Settings(data_dir=seeded_rag_dir, ollama_host=fake.url, llm_model="judge:1b"))


def test_the_judge_asks_the_configured_model_and_counts_replies_without_a_verdict_apart(
    judging_rag: RAG, answer_set: Path
) -> None:
    report = evaluate(ScriptedAnswers(judging_rag, REPLIES), answer_set, judge=True)

    s = report.answers.overall
    assert report.answers.judge == "on"
    assert (s.judged, s.faithfulness, s.judge_unparsable) == (2, 1.0, 0.5)  # refusals are not judged
    assert {r.id: r.verdict for r in report.answers.records if r.verdict} == {"w": "faithful", "i": "unparsable"}
    assert [r.judge_raw for r in report.answers.records if r.verdict] == ["YES", "Hmm, hard to say."]


def test_a_no_from_the_judge_is_an_unfaithful_answer(seeded_rag_dir: Path, make_rag, tmp_path: Path) -> None:
    path = write_set(tmp_path / "s.jsonl", [WONSAN])
    with FakeOllama(models={"judge:1b": 8192}, default="NO") as fake:
        rag = make_rag(Settings(data_dir=seeded_rag_dir, ollama_host=fake.url, llm_model="judge:1b"))
        report = evaluate(ScriptedAnswers(rag, REPLIES), path, judge=True)

    assert [r.verdict for r in report.answers.records] == ["unfaithful"]
    assert report.answers.overall.faithfulness == 0.0


def test_a_judge_that_cannot_be_reached_leaves_the_verdict_unparsable_with_the_error(
    news_rag: RAG, tmp_path: Path
) -> None:
    path = write_set(tmp_path / "s.jsonl", [WONSAN])  # news_rag's model is at port 1: nothing answers

    report = evaluate(ScriptedAnswers(news_rag, REPLIES), path, judge=True)

    record = report.answers.records[0]
    assert record.verdict == "unparsable" and record.judge_raw.startswith("error: ")


# -- Ctrl-C ----------------------------------------------------------------------------------------


class InterruptedAfter:
    """Delegates to a RAG and raises KeyboardInterrupt on the n-th call of ``method`` (never for n=0)."""

    def __init__(self, inner: Any, method: str, n: int) -> None:
        self._inner, self._method, self._n, self.calls = inner, method, n, 0

    def __getattr__(self, name: str) -> Any:
        target = getattr(self._inner, name)
        if name != self._method:
            return target

        def call(*args: Any, **kwargs: Any) -> Any:
            self.calls += 1
            if self.calls == self._n:
                raise KeyboardInterrupt
            return target(*args, **kwargs)

        return call


def test_ctrl_c_during_retrieval_returns_what_was_scored(news_rag: RAG, news_set: Path) -> None:
    # Call 1 is the untimed warm-up, call 2 scores the first question, call 3 is interrupted.
    report = evaluate(InterruptedAfter(news_rag, "retrieve", 3), news_set)

    assert report.partial
    assert [r.id for r in report.retrieval.records] == ["w"]
    assert report.retrieval.overall.n == 1
    assert not report.answers.available and "interrupted" in report.answers.reason
    assert any("interrupted" in note for note in report.notes)


def test_ctrl_c_during_answers_keeps_the_answers_scored(news_rag: RAG, answer_set: Path) -> None:
    report = evaluate(InterruptedAfter(ScriptedAnswers(news_rag, REPLIES), "ask", 2), answer_set)

    assert report.partial
    assert report.retrieval.overall.n == 2  # retrieval finished before the answers began
    assert [r.id for r in report.answers.records] == ["w"]
    assert report.answers.overall.correctness == 1.0


# -- a set's own corpus ----------------------------------------------------------------------------


def test_a_corpus_is_indexed_into_its_own_cached_folder(
    rag: RAG, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    corpus = tmp_path / "mycorpus"
    corpus.mkdir()
    shutil.copy(SEEDS / ITALIAN, corpus)
    path = write_set(tmp_path / "s.jsonl", [KELLOGG])
    embedded: list[int] = []
    real = rag.embedder.embed_passages
    monkeypatch.setattr(rag.embedder, "embed_passages", lambda texts: embedded.append(len(texts)) or real(texts))

    first = evaluate(rag, path, corpus=corpus, retrieval_only=True)
    embedded_first = sum(embedded)
    second = evaluate(rag, path, corpus=corpus, retrieval_only=True)

    data_dir = Path(first.corpus.data_dir)
    assert data_dir.parent == rag.settings.data_dir and data_dir.name.startswith("eval-mycorpus-")
    assert first.corpus.collection == "eval" and second.corpus.data_dir == first.corpus.data_dir
    assert first.retrieval.overall.hitk == 1.0  # the Italian article is found in its own index
    assert embedded_first > 0 and sum(embedded) == embedded_first  # the second run reused the index
    assert rag.stats().chunks == 0  # the configured index is untouched
    assert first.corpus.fingerprint == fingerprint(corpus_files(corpus))


def test_a_changed_corpus_gets_a_fresh_folder(rag: RAG, tmp_path: Path) -> None:
    corpus = tmp_path / "c"
    corpus.mkdir()
    (corpus / "a.txt").write_text("Keith Kellogg andrà a Kiev la prossima settimana.\n", encoding="utf-8")
    path = write_set(tmp_path / "s.jsonl", [question("q", "it", "Chi va a Kiev?", ("a", "Keith Kellogg"))])

    before = evaluate(rag, path, corpus=corpus, retrieval_only=True).corpus
    (corpus / "a.txt").write_text("Keith Kellogg andrà a Kiev lunedì.\n", encoding="utf-8")
    after = evaluate(rag, path, corpus=corpus, retrieval_only=True).corpus

    assert after.data_dir != before.data_dir and after.fingerprint != before.fingerprint


# -- the command -----------------------------------------------------------------------------------


def run_eval(data_dir: Path, *args: str) -> int:
    return main(["--data-dir", str(data_dir), "eval", *args])


def test_eval_command_writes_the_report_and_prints_the_summary(
    seeded_rag_dir: Path, news_set: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = run_eval(seeded_rag_dir, str(news_set), "--retrieval-only", "--out", str(tmp_path / "out"))

    out = capsys.readouterr().out
    assert code == 0
    assert "hit@5" in out and "mrr" in out and str(tmp_path / "out" / "report.md") in out
    assert {p.name for p in (tmp_path / "out").iterdir()} == {
        "report.json", "report.md", "hit_by_language.png", "latency.png"}


OFF_TOPIC = question("o", "en", "Who won the 2022 FIFA World Cup?", (RI_DOC, "Kuzey Koreli mevkidaşı Ri Son-gwon"))


def test_eval_command_exits_1_naming_the_floor_not_met(
    seeded_rag_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_set(tmp_path / "s.jsonl", [RI, OFF_TOPIC])  # the second cannot find its evidence first

    code = run_eval(seeded_rag_dir, str(path), "--retrieval-only", "--k", "1", "--out", str(tmp_path / "out"),
                    "--min", "hit@1=0.9", "--min", "evidence_recall=0.1")

    err = capsys.readouterr().err
    assert code == 1
    assert "hit@1 = 0.500 is below the floor 0.9" in err
    assert "evidence_recall" not in err


def test_eval_command_exits_0_when_every_floor_is_met(seeded_rag_dir: Path, tmp_path: Path) -> None:
    path = write_set(tmp_path / "easy.jsonl", [WONSAN, RI])

    code = run_eval(seeded_rag_dir, str(path), "--retrieval-only", "--out", str(tmp_path), "--min", "hit@5=1")

    assert code == 0


def test_eval_command_rejects_an_unknown_metric_before_running(
    tmp_path: Path, news_set: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["--data-dir", str(tmp_path / "none"), "eval", str(news_set), "--min", "recall@5=0.8"])

    err = capsys.readouterr().err
    assert code == 1 and "unknown metric 'recall@5'" in err and "hit@5" in err
    assert not (tmp_path / "none").exists()


def test_eval_command_rejects_an_unwritable_out_before_running(
    tmp_path: Path, news_set: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "a-file").write_text("", encoding="utf-8")

    code = main(["--data-dir", str(tmp_path / "none"), "eval", str(news_set), "--out", str(tmp_path / "a-file")])

    assert code == 1 and "--out" in capsys.readouterr().err
    assert not (tmp_path / "none").exists()  # nothing was opened, let alone run


def test_eval_command_merges_the_default_files_and_says_when_they_are_missing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--data-dir", str(tmp_path / "d"), "eval", "--retrieval-only"]) == 1
    assert "no question set at" in capsys.readouterr().err

    (tmp_path / "eval").mkdir()
    write_set(tmp_path / "eval" / "questions.jsonl", [WONSAN])
    assert default_question_files() == [Path("eval/questions.jsonl")]
    write_set(tmp_path / "eval" / "questions_extra.jsonl", [RI])
    assert default_question_files() == [Path("eval/questions.jsonl"), Path("eval/questions_extra.jsonl")]


def test_the_eval_subcommand_takes_its_options() -> None:
    argv = ["eval", "a.jsonl", "b.jsonl", "--k", "3", "--min", "mrr=0.5", "--judge"]

    args = build_parser().parse_args(argv)

    assert [str(p) for p in args.questions] == ["a.jsonl", "b.jsonl"]
    assert (args.k, args.floors, args.judge, args.retrieval_only) == (3, ["mrr=0.5"], True, False)


def test_retrieval_with_the_models_translations_is_reported_beside_retrieval_as_asked(
    seeded_rag_dir: Path, make_rag, tmp_path: Path
) -> None:
    def reply(req: dict) -> str:
        prompt = FakeOllama.prompt_of(req)
        if "Translate this question" in prompt:
            return '{"el": "Πού συναντήθηκε ο Λαβρόφ με τον Κιμ;", "tr": "Lavrov Kim ile nerede görüştü?"}'
        return "Lavrov met Kim in Wonsan [1]."

    path = write_set(tmp_path / "q.jsonl", [WONSAN])
    with FakeOllama(models={"gemma3:4b": 32768}, default=reply) as fake:
        rag = make_rag(Settings(data_dir=seeded_rag_dir, ollama_host=fake.url, llm_model="gemma3:4b"))
        report = evaluate(rag, path, k=3, translate=True)  # translation is off by default

    assert report.retrieval_with_translation is not None
    assert [r.id for r in report.retrieval_with_translation.records] == ["w"]
    assert report_dict(report)["retrieval_with_translation"]["overall"]["n"] == 1
    assert "## Retrieval with and without the model's translations" in render_markdown(report)
