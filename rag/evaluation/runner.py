"""Run a question set against a ``RAG``: retrieval scores always, answer scores when a model answers.

The work is done in three passes, each of which can be interrupted with Ctrl-C (the report then
holds what was scored so far and is marked ``partial``):

1. retrieve the passages of every answerable question (timed, after one untimed warm-up query);
2. score them with :func:`rag.evaluation.retrieval.evaluate_retrieval`;
3. unless ``retrieval_only``: ask every question through ``rag.ask`` and score the answers.

Follow-up questions (with a ``history``) are retrieved with the earlier user turns prepended, because
retrieval alone has no model to condense them; ``rag.ask`` gets the history itself.
"""

from __future__ import annotations

import hashlib
import logging
import re
import subprocess
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from rag.errors import EmptyIndexError, QuestionSetError, RagError
from rag.evaluation import metrics as m
from rag.evaluation.questions import Question, load_questions
from rag.evaluation.retrieval import (
    RetrievalResult,
    evaluate_retrieval,
    group_records,
)
from rag.types import Answer, Passage

log = logging.getLogger(__name__)

_SNIPPET = 160  # characters of a retrieved passage kept in the report, to show what came back instead
_CITATION_MARK = re.compile(r"\[\d+(?:\s*[,;-]\s*\d+)*\]")
_THINK = re.compile(r"<think>.*?</think>", re.S | re.I)
_VERDICT = re.compile(r"\b(not\s+faithful|un-?faithful|faithful)\b")


# -- answers ---------------------------------------------------------------------------------------


@dataclass
class AnswerRecord:
    """One answered question and how it scored. ``None`` means "does not apply to this question"."""

    id: str
    lang: str
    question: str
    answerable: bool
    text: str
    refused: bool
    answer_language: str | None
    language_ok: bool | None
    correct: bool | None  # answerable questions: not refused and every must_include group matched
    refusal_ok: bool | None  # unanswerable questions: refused
    citations: list[dict]  # number, source, start, end, relevant, supported, inferred
    citation_precision: float | None
    citation_recall: float | None
    verdict: str | None  # faithful | unfaithful | unparsable, when judged
    judge_raw: str | None
    mode: str
    model: str | None
    retrieve_ms: float
    translate_ms: float
    first_token_ms: float | None
    total_ms: float
    notice: str | None = None


def _mean(values: Sequence[float | bool]) -> float:
    return sum(float(v) for v in values) / len(values) if values else float("nan")


@dataclass
class AnswerSummary:
    n: int
    answerable: int
    unanswerable: int
    correctness: float  # share of answerable questions answered correctly
    refusal_accuracy: float  # share of unanswerable questions refused
    false_refusal_rate: float  # share of answerable questions refused
    citation_precision: float  # mean over answers to answerable questions that cite something
    citation_recall: float  # mean over non-refusals that were given at least one relevant passage
    language_match: float
    faithfulness: float  # faithful / (faithful + unfaithful)
    judged: int
    judge_unparsable: float  # share of judged answers whose verdict could not be read
    first_token_ms_p50: float
    first_token_ms_p95: float
    total_ms_p50: float
    total_ms_p95: float

    @classmethod
    def of(cls, records: Sequence[AnswerRecord]) -> AnswerSummary:
        ans = [r for r in records if r.answerable]
        una = [r for r in records if not r.answerable]
        verdicts = [r.verdict for r in records if r.verdict is not None]
        readable = [v for v in verdicts if v != "unparsable"]
        first = [r.first_token_ms for r in records if r.first_token_ms is not None]
        total = [r.total_ms for r in records]
        return cls(
            n=len(records), answerable=len(ans), unanswerable=len(una),
            correctness=_mean([bool(r.correct) for r in ans]),
            refusal_accuracy=_mean([bool(r.refusal_ok) for r in una]),
            false_refusal_rate=_mean([r.refused for r in ans]),
            citation_precision=_mean([r.citation_precision for r in ans if r.citation_precision is not None]),
            citation_recall=_mean([r.citation_recall for r in ans if r.citation_recall is not None]),
            language_match=_mean([r.language_ok for r in records if r.language_ok is not None]),
            faithfulness=_mean([v == "faithful" for v in readable]),
            judged=len(verdicts),
            judge_unparsable=_mean([v == "unparsable" for v in verdicts]),
            first_token_ms_p50=m.percentile(first, 50), first_token_ms_p95=m.percentile(first, 95),
            total_ms_p50=m.percentile(total, 50), total_ms_p95=m.percentile(total, 95),
        )


@dataclass
class AnswerResult:
    """Answer scores, or why there are none (``available`` False and ``reason``)."""

    available: bool
    reason: str = ""
    overall: AnswerSummary | None = None
    by_question_language: dict[str, AnswerSummary] = field(default_factory=dict)
    records: list[AnswerRecord] = field(default_factory=list)
    judge: str = "off"  # off | on | why it was skipped


def parse_verdict(text: str) -> str | None:
    """``faithful`` or ``unfaithful`` from a judge's reply, or None when it cannot be read.

    Tolerates case, punctuation, Markdown, a ``<think>`` block and "not faithful"; a reply that
    names both verdicts (or neither) is unreadable.
    """
    plain = _THINK.sub(" ", text).casefold()
    found = {"faithful" if v == "faithful" else "unfaithful" for v in _VERDICT.findall(plain)}
    return found.pop() if len(found) == 1 else None


def _relevant(q: Question, p: Passage) -> bool:
    return any(m.evidence_in_passage(ev, p.source, p.text, p.start, p.end) for ev in q.evidence)


def score_answer(q: Question, answer: Answer, detect: Callable[[str], str] | None) -> AnswerRecord:
    """Score one answer against its question (the judge's verdict is added by the caller)."""
    cited: dict[str, Passage] = {}
    citations = []
    for c in answer.citations:
        rel = q.answerable and _relevant(q, c.passage)
        cited.setdefault(c.passage.id, c.passage)
        citations.append({"number": c.number, "source": c.passage.source, "start": c.start, "end": c.end,
                          "relevant": rel, "supported": c.supported, "inferred": c.inferred})
    precision = recall = None
    if q.answerable and cited:
        precision = sum(_relevant(q, p) for p in cited.values()) / len(cited)
    # Recall asks whether an answer cites the evidence it was given; refusals are counted elsewhere.
    scored = q.answerable and not answer.refused
    relevant_given = [p for p in answer.passages if _relevant(q, p)] if scored else []
    if relevant_given:
        recall = sum(p.id in cited for p in relevant_given) / len(relevant_given)
    language = language_ok = None
    bare = _CITATION_MARK.sub(" ", answer.text).strip()
    if detect is not None and bare:
        language = detect(bare)
        language_ok = language == q.lang
    return AnswerRecord(
        id=q.id, lang=q.lang, question=q.question, answerable=q.answerable, text=answer.text,
        refused=answer.refused, answer_language=language, language_ok=language_ok,
        correct=(not answer.refused and m.must_include_ok(answer.text, q.must_include))
        if q.answerable else None,
        refusal_ok=answer.refused if not q.answerable else None,
        citations=citations, citation_precision=precision, citation_recall=recall,
        verdict=None, judge_raw=None, mode=answer.mode, model=answer.model,
        retrieve_ms=answer.retrieve_ms, translate_ms=answer.translate_ms,
        first_token_ms=answer.first_token_ms, total_ms=answer.total_ms, notice=answer.notice,
    )


# -- the report ------------------------------------------------------------------------------------


@dataclass
class CorpusInfo:
    """What was searched: the news index or a set's own corpus, with a fingerprint of its files."""

    name: str  # "index" for the configured index, else the corpus folder
    fingerprint: str  # sha256 over the sorted "name<TAB>sha256" lines of its files
    files: int
    data_dir: str
    collection: str


# Metrics where a lower value is better: deltas read the other way and --min cannot floor them.
LOWER_IS_BETTER = ("false_refusal_rate", "judge_unparsable", "_ms_p50", "_ms_p95")


def lower_is_better(metric: str) -> bool:
    return any(metric == s or (s.startswith("_") and metric.endswith(s)) for s in LOWER_IS_BETTER)


@dataclass
class EvalReport:
    """Everything one evaluation run measured. :mod:`rag.evaluation.report` writes and compares it."""

    questions_files: list[str]
    k: int
    questions: list[Question]
    retrieval: RetrievalResult
    answers: AnswerResult | None  # None with retrieval_only
    corpus: CorpusInfo
    settings: dict[str, Any]
    embedder: str
    model: str | None
    git_revision: str | None
    timestamp: str
    seconds: float
    partial: bool = False
    notes: list[str] = field(default_factory=list)
    evidence_recall_multi: float = float("nan")  # questions whose evidence spans several articles
    comparison: Any = None  # rag.evaluation.report.Comparison, set by --compare
    # Retrieval scored on the passages the answers used: with the model's translations fused in
    # (when translation is on), to set beside ``retrieval`` (the question as asked only).
    retrieval_with_translation: RetrievalResult | None = None

    @property
    def n_answerable(self) -> int:
        return sum(q.answerable for q in self.questions)

    def metrics(self) -> dict[str, float]:
        """Every headline number under the name ``--min`` and ``--compare`` use (NaN: not measured)."""
        s, k = self.retrieval.overall, self.k
        out = {
            "hit@1": s.hit1, "hit@3": s.hit3, f"hit@{k}": s.hitk, "mrr": s.mrr, f"ndcg@{k}": s.ndcg,
            "evidence_recall": s.evidence_recall, "evidence_recall_multi": self.evidence_recall_multi,
            "retrieve_ms_p50": s.retrieve_ms_p50, "retrieve_ms_p95": s.retrieve_ms_p95,
        }
        a = self.answers.overall if self.answers and self.answers.available else None
        for name in ANSWER_METRICS:
            out[name] = getattr(a, name) if a else float("nan")
        return out

    def hits(self) -> dict[str, int | None]:
        """Question id -> rank of the first relevant passage (None: a miss), for comparisons."""
        return {r.id: r.first_relevant for r in self.retrieval.records}


ANSWER_METRICS = (
    "correctness", "refusal_accuracy", "false_refusal_rate", "citation_precision", "citation_recall",
    "language_match", "faithfulness", "judge_unparsable",
    "first_token_ms_p50", "first_token_ms_p95", "total_ms_p50", "total_ms_p95",
)


def metric_names(k: int) -> list[str]:
    """The metric names of a report made with ``k`` (what ``--min`` accepts)."""
    return list(dict.fromkeys([
        "hit@1", "hit@3", f"hit@{k}", "mrr", f"ndcg@{k}", "evidence_recall", "evidence_recall_multi",
        "retrieve_ms_p50", "retrieve_ms_p95", *ANSWER_METRICS,
    ]))


# -- helpers ---------------------------------------------------------------------------------------


def load_question_sets(paths: str | Path | Sequence[str | Path]) -> list[Question]:
    """Load and validate one or more question files as one set; ids must be unique across them.

    Every problem of every file is collected before raising, so nothing runs on an invalid set.
    """
    if isinstance(paths, (str, Path)):
        paths = [paths]
    if not paths:
        raise QuestionSetError("no question set given")
    problems: list[str] = []
    questions: list[Question] = []
    first_seen: dict[str, str] = {}
    for path in paths:
        try:
            loaded = load_questions(path)
        except QuestionSetError as exc:
            problems += str(exc).removeprefix("invalid question set:\n").splitlines()
            continue
        for q in loaded:
            where = f"{path}:{q.line}"
            if q.id in first_seen:
                problems.append(f"{where}: duplicate id {q.id!r} (first at {first_seen[q.id]})")
                continue
            first_seen[q.id] = where
            questions.append(q)
    if problems:
        raise QuestionSetError("invalid question set:\n" + "\n".join(problems))
    return questions


def fingerprint(entries: Sequence[tuple[str, str]]) -> str:
    """sha256 over sorted ``name<TAB>sha256`` lines: the same files give the same fingerprint."""
    h = hashlib.sha256()
    for name, digest in sorted(entries):
        h.update(f"{name}\t{digest}\n".encode())
    return h.hexdigest()


def corpus_files(folder: Path) -> list[tuple[str, str]]:
    """(path relative to ``folder``, sha256 of its bytes) for every file ingest would read."""
    from rag.loading import find_files

    folder = Path(folder)
    if not folder.is_dir():
        raise EmptyIndexError(f"--corpus {folder}: not a folder; give the folder of the set's articles")
    return [(p.relative_to(folder).as_posix(), hashlib.sha256(p.read_bytes()).hexdigest())
            for p in find_files(folder)]


def corpus_data_dir(settings: Any, folder: Path, files: Sequence[tuple[str, str]]) -> Path:
    """``<data_dir>/eval-<folder name>-<short hash>`` for a set's own corpus.

    The hash covers the corpus files and the settings that shape an index (embedder, chunking,
    boilerplate rules, languages), so changing any of them builds a fresh index instead of
    silently reusing chunks made another way.
    """
    shape = {key: getattr(settings, key) for key in
             ("embedder", "chunk_size", "chunk_overlap", "boilerplate_patterns", "languages")}
    digest = hashlib.sha256((fingerprint(files) + repr(sorted(shape.items()))).encode()).hexdigest()[:12]
    name = re.sub(r"[^A-Za-z0-9_.-]+", "-", Path(folder).resolve().name) or "corpus"
    return Path(settings.data_dir) / f"eval-{name}-{digest}"


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


def public_settings(settings: Any) -> dict[str, Any]:
    """The settings as JSON, with secrets masked."""
    data = settings.model_dump(mode="json")
    if data.get("auth"):
        data["auth"] = str(data["auth"]).split(":", 1)[0] + ":***"
    if data.get("openai_api_key") not in (None, "", "none"):
        data["openai_api_key"] = "***"
    return data


def retrieval_query(q: Question) -> str:
    """The text retrieved for ``q``: earlier user turns first, so a follow-up keeps its subject."""
    turns = [str(t.get("content", "")) for t in q.history if isinstance(t, dict) and t.get("role") == "user"]
    return "\n".join([*turns, q.question]) if turns else q.question


def _progress(total: int, enabled: bool):  # noqa: ANN202 - tqdm
    from tqdm import tqdm

    return tqdm(total=total, unit="q", desc="evaluating", disable=not enabled or total == 0, leave=False)


# -- the run ---------------------------------------------------------------------------------------


def _corpus_rag(rag: Any, folder: Path, progress: bool) -> tuple[Any, CorpusInfo]:
    """A RAG over the set's own corpus, in its own cached data folder (never the news index)."""
    from rag.pipeline import RAG

    files = corpus_files(folder)
    if not files:
        raise EmptyIndexError(f"--corpus {folder}: no files to index")
    data_dir = corpus_data_dir(rag.settings, folder, files)
    # chroma_host unset: a server would hold every corpus in one namespace, next to the news index.
    settings = rag.settings.model_copy(
        update={"data_dir": data_dir, "collection": "eval", "chroma_host": None}
    )
    eval_rag = RAG(settings, embedder=rag.embedder)
    log.info("indexing %s into %s (cached between runs)", folder, data_dir)
    eval_rag.ingest(folder, progress=progress)  # incremental: a cached index embeds nothing
    info = CorpusInfo(str(folder), fingerprint(files), len(files), str(data_dir), "eval")
    return eval_rag, info


def _index_corpus(rag: Any) -> tuple[list[tuple[str, str, int, int]], dict[str, str], CorpusInfo]:
    """Every chunk as (source, text, start, end), each doc's language, and the index's fingerprint."""
    chunks: list[tuple[str, str, int, int]] = []
    languages: dict[str, str] = {}
    docs: dict[str, str] = {}
    for _, meta, text in rag.store.iter_rows(include_documents=True):
        source = str(meta.get("source", ""))
        chunks.append((source, text, int(meta.get("start", 0)), int(meta.get("end", 0))))
        languages[m.doc_key(source)] = str(meta.get("language", "?"))
        docs[source] = str(meta.get("doc_sha256", ""))
    s = rag.settings
    info = CorpusInfo("index", fingerprint(list(docs.items())), len(docs), str(s.data_dir), s.collection)
    return chunks, languages, info


def evaluate(
    rag: Any,
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
    validated before anything runs. ``corpus`` indexes that folder into its own cached data
    folder and evaluates against it instead of ``rag``'s index. Ctrl-C returns what was scored so
    far, with ``partial`` set.
    """
    if k < 1:
        raise ValueError("k must be at least 1")
    files = [path] if isinstance(path, (str, Path)) else list(path)
    questions = load_question_sets(files)
    started = time.perf_counter()
    timestamp = datetime.now(timezone.utc).isoformat(timespec="seconds")
    notes: list[str] = []

    if corpus is not None:
        rag, info = _corpus_rag(rag, Path(corpus), progress)
    if rag.store.count() == 0:
        raise EmptyIndexError(
            f"the index {rag.settings.collection!r} in {rag.settings.data_dir} is empty: run `rag ingest` "
            "first, or give the set's own articles with --corpus DIR"
        )
    chunks, doc_languages, index_info = _index_corpus(rag)
    if corpus is None:
        info = index_info
    missing = sorted({ev.doc for q in questions for ev in q.evidence} - set(doc_languages))
    if missing:
        notes.append(f"evidence articles not in the index (their questions cannot hit): {', '.join(missing)}")
        log.warning(notes[-1])

    answerable = [q for q in questions if q.answerable]
    partial = False
    bar = _progress(len(answerable) + (0 if retrieval_only else len(questions)), progress)
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
    elif not callable(getattr(rag, "ask", None)):
        answers = AnswerResult(False, "this RAG has no ask(): nothing can answer the questions")
    else:
        used: dict[str, list[Passage]] = {}
        answers, partial = _score_answers(rag, questions, translate, judge, bar, notes, used)
        model = next((r.model for r in answers.records if r.mode == "llm" and r.model), None)
        translated = [q for q in done if used.get(q.id)]
        if translated:
            with_translation = evaluate_retrieval(
                translated, lambda q, _k: used[q.id][:k], k, chunks, doc_languages
            )
    bar.close()

    return EvalReport(
        questions_files=[str(f) for f in files], k=k, questions=questions, retrieval=result, answers=answers,
        corpus=info, settings=public_settings(rag.settings), embedder=getattr(rag.embedder, "model_id", "?"),
        model=model, git_revision=git_revision(), timestamp=timestamp, seconds=time.perf_counter() - started,
        partial=partial, notes=notes, evidence_recall_multi=_mean(multi),
        retrieval_with_translation=with_translation,
    )


def _snippet(text: str) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= _SNIPPET else flat[: _SNIPPET - 1] + "…"


def _score_answers(
    rag: Any, questions: Sequence[Question], translate: bool | None, judge: bool, bar: Any, notes: list[str],
    used: dict[str, list[Passage]] | None = None,
) -> tuple[AnswerResult, bool]:
    detector = getattr(rag, "detector", None)
    detect = detector.detect if detector is not None else None
    if detect is None:
        notes.append("answer language not checked: this RAG has no language detector")
    judge_fn = getattr(rag, "judge", None) if judge else None
    judge_state = "off"
    if judge:
        judge_state = "on" if judge_fn is not None else "skipped: this RAG has no judge()"
        if judge_fn is None:
            notes.append("--judge skipped: this RAG has no judge() method")
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
            rec = score_answer(q, answer, detect)
            if used is not None and answer.translations:
                used[q.id] = list(answer.passages)
            if judge_fn is not None and not answer.refused:
                try:
                    rec.judge_raw = str(judge_fn(q.question, answer.text, list(answer.passages)))
                    rec.verdict = parse_verdict(rec.judge_raw) or "unparsable"
                except RagError as exc:
                    rec.judge_raw, rec.verdict = f"error: {exc}", "unparsable"
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
    by_lang: dict[str, list[AnswerRecord]] = defaultdict(list)
    for r in records:
        by_lang[r.lang].append(r)
    return AnswerResult(
        True, reason, AnswerSummary.of(records),
        {lang: AnswerSummary.of(rs) for lang, rs in sorted(by_lang.items())}, records, judge_state,
    ), partial


def report_dict(report: EvalReport) -> dict[str, Any]:
    """The report as plain JSON-ready data (NaN becomes None)."""
    by_id_r = {r.id: asdict(r) for r in report.retrieval.records}
    by_id_a = {r.id: asdict(r) for r in (report.answers.records if report.answers else [])}
    records = []
    for q in report.questions:
        records.append({
            "id": q.id, "lang": q.lang, "question": q.question, "answerable": q.answerable,
            "history": list(q.history), "reference_answer": q.reference_answer,
            "must_include": [list(g) for g in q.must_include],
            "evidence": [{k: v for k, v in asdict(ev).items() if v is not None} for ev in q.evidence],
            "retrieval": _strip(by_id_r.get(q.id), ("id", "lang", "question")),
            "answer": _strip(by_id_a.get(q.id), ("id", "lang", "question", "answerable")),
        })
    r = report.retrieval
    answers = None
    if report.answers is not None:
        a = report.answers
        answers = {"available": a.available, "reason": a.reason, "judge": a.judge,
                   "overall": asdict(a.overall) if a.overall else None,
                   "by_question_language": {k: asdict(v) for k, v in a.by_question_language.items()}}
    data = {
        "format": 1,
        "timestamp": report.timestamp,
        "partial": report.partial,
        "notes": report.notes,
        "questions_files": report.questions_files,
        "k": report.k,
        "counts": {"questions": len(report.questions), "answerable": report.n_answerable,
                   "unanswerable": len(report.questions) - report.n_answerable,
                   "retrieval_scored": len(r.records),
                   "answers_scored": len(report.answers.records) if report.answers else 0},
        "metrics": report.metrics(),
        "retrieval": {"overall": asdict(r.overall),
                      "by_question_language": {k: asdict(v) for k, v in r.by_question_language.items()},
                      "by_evidence_language": {k: asdict(v) for k, v in r.by_evidence_language.items()}},
        "retrieval_with_translation": None if report.retrieval_with_translation is None else {
            "overall": asdict(report.retrieval_with_translation.overall),
            "by_question_language": {
                k: asdict(v) for k, v in report.retrieval_with_translation.by_question_language.items()
            },
        },
        "answers": answers,
        "embedder": report.embedder,
        "model": report.model,
        "corpus": asdict(report.corpus),
        "git_revision": report.git_revision,
        "seconds": round(report.seconds, 3),
        "settings": report.settings,
        "comparison": report.comparison.to_dict() if report.comparison is not None else None,
        "records": records,
    }
    return _json_safe(data)


def _strip(d: dict | None, keys: Sequence[str]) -> dict | None:
    return None if d is None else {k: v for k, v in d.items() if k not in keys}


def _json_safe(x: Any) -> Any:
    if isinstance(x, float):
        return None if x != x or x in (float("inf"), float("-inf")) else round(x, 6)
    if isinstance(x, dict):
        return {str(k): _json_safe(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_json_safe(v) for v in x]
    return x
