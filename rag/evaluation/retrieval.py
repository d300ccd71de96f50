"""Retrieval scoring: hit@k, MRR, nDCG and evidence recall of every answerable question's passages."""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from rag.evaluation import metrics as m
from rag.evaluation.questions import Question
from rag.types import Passage

Retrieve = Callable[[Question, int], Sequence[Passage]]


@dataclass
class RetrievalRecord:
    id: str
    lang: str
    question: str
    evidence_languages: list[str]
    retrieved: list[dict[str, object]]  # rank, source, start, end, score, relevant (+ language, snippet)
    first_relevant: int | None
    hit1: float
    hit3: float
    hitk: float
    rr: float
    ndcg: float
    evidence_recall: float
    retrieve_ms: float


@dataclass
class RetrievalSummary:
    n: int
    hit1: float
    hit3: float
    hitk: float
    mrr: float
    ndcg: float
    evidence_recall: float
    retrieve_ms_p50: float
    retrieve_ms_p95: float

    @classmethod
    def of(cls, records: Sequence[RetrievalRecord]) -> RetrievalSummary:
        n = len(records)

        def mean(attr: str) -> float:
            return sum(getattr(r, attr) for r in records) / n if n else float("nan")

        ms = [r.retrieve_ms for r in records]
        return cls(n, mean("hit1"), mean("hit3"), mean("hitk"), mean("rr"), mean("ndcg"),
                   mean("evidence_recall"), m.percentile(ms, 50), m.percentile(ms, 95))


@dataclass
class RetrievalResult:
    k: int
    overall: RetrievalSummary
    by_question_language: dict[str, RetrievalSummary]
    by_evidence_language: dict[str, RetrievalSummary]  # e.g. "en->el"
    records: list[RetrievalRecord] = field(default_factory=list)


def _relevant_count(q: Question, corpus: Sequence[tuple[str, str, int, int]]) -> int:
    return sum(any(m.evidence_in_passage(ev, *row) for ev in q.evidence) for row in corpus)


def evaluate_retrieval(
    questions: Sequence[Question],
    retrieve: Retrieve,
    k: int,
    corpus: Sequence[tuple[str, str, int, int]],
    doc_languages: dict[str, str],
) -> RetrievalResult:
    """Score ``retrieve`` on the answerable questions.

    ``corpus`` is every indexed chunk as (source, text, start, end), used for the ideal nDCG;
    ``doc_languages`` maps an evidence doc key to its article's language.
    """
    records: list[RetrievalRecord] = []
    for q in questions:
        if not q.answerable:
            continue
        t0 = time.perf_counter()
        passages = list(retrieve(q, k))[:k]
        ms = (time.perf_counter() - t0) * 1000
        relevance = [any(m.evidence_in_passage(ev, p.source, p.text, p.start, p.end) for ev in q.evidence)
                     for p in passages]
        found = [any(m.evidence_in_passage(ev, p.source, p.text, p.start, p.end) for p in passages)
                 for ev in q.evidence]
        records.append(RetrievalRecord(
            id=q.id, lang=q.lang, question=q.question,
            evidence_languages=sorted({doc_languages.get(ev.doc, "?") for ev in q.evidence}),
            retrieved=[{"rank": p.rank, "source": p.source, "start": p.start, "end": p.end,
                        "score": round(p.score, 6), "relevant": rel} for p, rel in zip(passages, relevance)],
            first_relevant=m.first_relevant_rank(relevance),
            hit1=m.hit_at(relevance, 1), hit3=m.hit_at(relevance, 3), hitk=m.hit_at(relevance, k),
            rr=m.reciprocal_rank(relevance), ndcg=m.ndcg_at(relevance, k, _relevant_count(q, corpus)),
            evidence_recall=m.evidence_recall(found), retrieve_ms=ms,
        ))
    return group_records(records, k)


def group_records(records: Sequence[RetrievalRecord], k: int) -> RetrievalResult:
    """Summaries of ``records`` overall, by question language and by evidence-article language."""
    by_lang: dict[str, list[RetrievalRecord]] = defaultdict(list)
    by_pair: dict[str, list[RetrievalRecord]] = defaultdict(list)
    for r in records:
        by_lang[r.lang].append(r)
        for el in r.evidence_languages:
            by_pair[f"{r.lang}->{el}"].append(r)
    return RetrievalResult(
        k=k,
        overall=RetrievalSummary.of(records),
        by_question_language={lang: RetrievalSummary.of(rs) for lang, rs in sorted(by_lang.items())},
        by_evidence_language={pair: RetrievalSummary.of(rs) for pair, rs in sorted(by_pair.items())},
        records=list(records),
    )
