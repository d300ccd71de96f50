"""Run a question set against a ``RAG``: retrieval scores always, answer scores when a model answers.

The work is done in three passes, each of which can be interrupted with Ctrl-C (the report then
holds what was scored so far and is marked ``partial``):

1. retrieve the passages of every answerable question (timed, after one untimed warm-up query);
2. score them with :func:`rag.evaluation.retrieval.evaluate_retrieval`;
3. unless ``retrieval_only``: ask every question through ``RAG.ask`` and score the answers.

The evaluation sits above the ``RAG`` facade and uses only its public methods.
"""

from __future__ import annotations

import logging
import re
import subprocess
import time
from collections.abc import Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from tqdm import tqdm

from rag.errors import EmptyIndexError, QuestionSetError, RagError
from rag.evaluation.answers import AnswerRecord, AnswerResult, mean, score_answer
from rag.evaluation.corpus import corpus_rag, index_contents
from rag.evaluation.judge import FaithfulnessJudge
from rag.evaluation.model import EvalReport
from rag.evaluation.questions import Question, load_question_sets, retrieval_query
from rag.evaluation.retrieval import RetrievalResult, evaluate_retrieval, group_records
from rag.pipeline import RAG
from rag.settings import Settings
from rag.types import Passage

log = logging.getLogger(__name__)

_SNIPPET = 160  # characters of a retrieved passage kept in the report, to show what came back instead


def evaluate(
    rag: RAG,
    path: str | Path | Sequence[str | Path],
    *,
    k: int = 5,
    retrieval_only: bool = False,
    corpus: str | Path | None = None,
    translate: bool | None = None,
    judge: bool = False,
    progress: bool = False,
) -> EvalReport:
    """Score retrieval (and, unless ``retrieval_only``, answers) of ``rag`` on a question set.

    ``path`` is one JSONL file or several merged (ids unique across them); the whole set is
    validated before anything runs, and so is every evidence article against the index.
    ``corpus`` indexes that folder into its own cached data folder and evaluates against it instead
    of ``rag``'s index. Ctrl-C returns what was scored so far, with ``partial`` set.
    """
    if k < 1:
        raise ValueError("k must be at least 1")
    files = [path] if isinstance(path, (str, Path)) else list(path)
    questions = load_question_sets(files)
    started = time.perf_counter()
    timestamp = datetime.now(timezone.utc).isoformat(timespec="seconds")
    notes: list[str] = []

    if corpus is not None:
        rag, info = corpus_rag(rag, Path(corpus), progress)
    if rag.stats().chunks == 0:
        raise EmptyIndexError(
            f"the index {rag.settings.collection!r} in {rag.settings.data_dir} is empty: run `rag ingest` "
            "first, or give the set's own articles with --corpus DIR"
        )
    chunks, doc_languages, index_info = index_contents(rag)
    if corpus is None:
        info = index_info
    missing = sorted({ev.doc for q in questions for ev in q.evidence} - set(doc_languages))
    if missing:
        # Their questions could never hit: a wrong doc name or an article not ingested, not a retrieval miss.
        raise QuestionSetError(
            f"evidence articles not in the index {rag.settings.collection!r}: {', '.join(missing)}; "
            "ingest them, give the set's own articles with --corpus DIR, or fix the questions' doc names"
        )

    answerable = [q for q in questions if q.answerable]
    partial = False
    bar = tqdm(total=len(answerable) + (0 if retrieval_only else len(questions)), unit="q", desc="evaluating",
               disable=not progress, leave=False)
    # Pass 1: retrieve, timed. Scoring comes after so an interrupt loses nothing already retrieved.
    retrieved: dict[str, list[Passage]] = {}
    elapsed: dict[str, float] = {}
    try:
        if answerable:  # untimed warm-up: the first query loads the model and BM25, which is not latency
            rag.retrieve(retrieval_query(answerable[0]), top_k=k)
        for q in answerable:
            t0 = time.perf_counter()
            retrieved[q.id] = list(rag.retrieve(retrieval_query(q), top_k=k))[:k]
            elapsed[q.id] = (time.perf_counter() - t0) * 1000
            bar.update(1)
    except KeyboardInterrupt:
        partial = True
        notes.append(
            f"interrupted: retrieval scored for {len(retrieved)} of {len(answerable)} answerable questions"
        )
        log.warning(notes[-1])

    # Pass 2: score what was retrieved, with the times measured above.
    done = [q for q in answerable if q.id in retrieved]
    result = evaluate_retrieval(done, lambda q, _k: retrieved[q.id], k, chunks, doc_languages)
    for rec in result.records:
        rec.retrieve_ms = elapsed[rec.id]
        for entry, p in zip(rec.retrieved, retrieved[rec.id], strict=True):
            entry["language"] = p.language
            entry["snippet"] = _snippet(p.text)
    result = group_records(result.records, k)
    spans = {q.id for q in done if len({ev.doc for ev in q.evidence}) > 1}
    multi = [r.evidence_recall for r in result.records if r.id in spans]

    # Pass 3: answers.
    answers: AnswerResult | None = None
    model: str | None = None
    with_translation: RetrievalResult | None = None
    if retrieval_only:
        if judge:
            notes.append("--judge ignored: answers are not scored with --retrieval-only")
    elif partial:
        answers = AnswerResult(False, "interrupted before answers were scored")
    else:
        translated: set[str] = set()
        answers, partial = _score_answers(rag, questions, translate, judge, bar, notes, translated)
        model = next((r.model for r in answers.records if r.mode == "llm" and r.model), None)
        with_model = [q for q in done if q.id in translated]
        if with_model:
            # The same retrieval with the model's translations fused in (cached from the answers).
            with_translation = evaluate_retrieval(
                with_model, lambda q, k: rag.retrieve(retrieval_query(q), top_k=k, translate=True)[:k], k,
                chunks, doc_languages,
            )
    bar.close()

    return EvalReport(
        questions_files=[str(f) for f in files], k=k, questions=questions, retrieval=result, answers=answers,
        corpus=info, settings=public_settings(rag.settings), embedder=rag.stats().embedder,
        model=model, git_revision=git_revision(), timestamp=timestamp, seconds=time.perf_counter() - started,
        partial=partial, notes=notes, evidence_recall_multi=mean(multi),
        retrieval_with_translation=with_translation,
    )


def _snippet(text: str) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= _SNIPPET else flat[: _SNIPPET - 1] + "…"


def _score_answers(
    rag: RAG, questions: Sequence[Question], translate: bool | None, judge: bool, bar: tqdm,
    notes: list[str], translated: set[str],
) -> tuple[AnswerResult, bool]:
    judge_fn = FaithfulnessJudge(rag.judge_llm()) if judge else None
    judge_state = "on" if judge else "off"
    records: list[AnswerRecord] = []
    reason = ""
    partial = False
    try:
        for q in questions:
            try:
                answer = rag.ask(q.question, history=[dict(t) for t in q.history], translate=translate)
            except RagError as exc:  # the model is missing or broke off: stop asking, keep what we have
                reason = f"the model could not answer: {exc}"
                break
            if answer.mode != "llm":
                # No model reachable: every further answer would be retrieval-only too.
                reason = f"no model answered: {answer.notice or 'retrieval-only mode'}"
                break
            rec = score_answer(q, answer, rag.detect_language)
            if answer.translations:
                translated.add(q.id)
            if judge_fn is not None and not answer.refused:
                rec.verdict, rec.judge_raw = judge_fn(answer.text, answer.passages)
            records.append(rec)
            bar.update(1)
    except KeyboardInterrupt:
        partial = True
        notes.append(f"interrupted: answers scored for {len(records)} of {len(questions)} questions")
        log.warning(notes[-1])
    if reason and records:
        partial = True
        notes.append(f"answers stopped after {len(records)} questions: {reason}")
    if not records:
        return AnswerResult(False, reason or "no answers were scored", judge=judge_state), partial
    return AnswerResult.of(records, reason, judge_state), partial


def git_revision(cwd: Path | None = None) -> str | None:
    """``git rev-parse HEAD`` of the product's checkout, or None outside a repository."""
    cwd = cwd or Path(__file__).resolve().parents[2]
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], cwd=cwd, capture_output=True, text=True,
                             timeout=10, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    rev = out.stdout.strip()
    return rev if out.returncode == 0 and re.fullmatch(r"[0-9a-f]{40}", rev) else None


def public_settings(settings: Settings) -> dict[str, Any]:
    """The settings as JSON, with secrets masked."""
    data = settings.model_dump(mode="json")
    if data.get("auth"):
        data["auth"] = str(data["auth"]).split(":", 1)[0] + ":***"
    if data.get("openai_api_key") not in (None, "", "none"):
        data["openai_api_key"] = "***"
    return data
