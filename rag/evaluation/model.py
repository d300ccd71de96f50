"""The report model: what one evaluation run measured, the names of its metrics, and a comparison."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from rag.evaluation.answers import AnswerResult
from rag.evaluation.questions import Question
from rag.evaluation.retrieval import RetrievalResult

ANSWER_METRICS = (
    "correctness", "refusal_accuracy", "false_refusal_rate", "citation_precision", "citation_recall",
    "language_match", "faithfulness", "judge_unparsable",
    "first_token_ms_p50", "first_token_ms_p95", "total_ms_p50", "total_ms_p95",
)

# Metrics where a lower value is better: deltas read the other way and --min cannot floor them.
LOWER_IS_BETTER = ("false_refusal_rate", "judge_unparsable", "_ms_p50", "_ms_p95")


def lower_is_better(metric: str) -> bool:
    return any(metric == s or (s.startswith("_") and metric.endswith(s)) for s in LOWER_IS_BETTER)


def retrieval_metric_names(k: int) -> set[str]:
    return {"hit@1", "hit@3", f"hit@{k}", "mrr", f"ndcg@{k}", "evidence_recall", "evidence_recall_multi"}


def metric_names(k: int) -> list[str]:
    """The metric names of a report made with ``k`` (what ``--min`` accepts)."""
    return list(dict.fromkeys([
        "hit@1", "hit@3", f"hit@{k}", "mrr", f"ndcg@{k}", "evidence_recall", "evidence_recall_multi",
        "retrieve_ms_p50", "retrieve_ms_p95", *ANSWER_METRICS,
    ]))


@dataclass
class CorpusInfo:
    """What was searched: the news index or a set's own corpus, with a fingerprint of its files."""

    name: str  # "index" for the configured index, else the corpus folder
    fingerprint: str  # sha256 over the sorted "name<TAB>sha256" lines of its files
    files: int
    data_dir: str
    collection: str


@dataclass(frozen=True)
class Delta:
    metric: str  # e.g. "hit@5", or "hit@5 [el]" for a question language
    previous: float | None
    current: float | None
    change: float | None  # current - previous
    better: str  # "higher" or "lower": which direction is an improvement

    @property
    def improved(self) -> bool | None:
        if self.change is None or self.change == 0:
            return None
        return (self.change > 0) == (self.better == "higher")


@dataclass
class Comparison:
    """Deltas against an earlier report and the questions whose hit@k flipped."""

    previous: str  # the earlier report's path (or "<dict>")
    previous_timestamp: str | None
    k: int  # the k both reports are judged at: the smaller of the two
    deltas: list[Delta] = field(default_factory=list)
    hit_to_miss: list[str] = field(default_factory=list)
    miss_to_hit: list[str] = field(default_factory=list)


@dataclass
class EvalReport:
    """Everything one evaluation run measured."""

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
    comparison: Comparison | None = None  # set by --compare
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
