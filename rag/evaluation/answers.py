"""Answer scoring: correctness, refusals, citations and language of each answer, and their summaries."""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from rag.evaluation import metrics as m
from rag.evaluation.questions import Question
from rag.types import Answer, Passage

_CITATION_MARK = re.compile(r"\[\d+(?:\s*[,;-]\s*\d+)*\]")


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
    citations: list[dict[str, object]]  # number, source, start, end, relevant, supported, inferred
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
    # The answer's own checks (rag.types.Answer): what a small model gets wrong.
    wrong_language: bool = False  # still not in the question's language after the product's repair
    language_repair: str | None = None  # the language of a first reply the product asked again (a 2nd call)
    unknown_citations: list[int] = field(default_factory=list)  # markers naming no given sentence
    unsupported_claims: list[str] = field(default_factory=list)  # claims no given sentence supports


def mean(values: Sequence[float | bool]) -> float:
    """The mean, or NaN (not measured) for no values."""
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
    judge_unparsable: float  # share of judged answers without a verdict (the judge failed or said neither)
    first_token_ms_p50: float
    first_token_ms_p95: float
    total_ms_p50: float
    total_ms_p95: float
    # Answers the product itself flagged (counts, over answers that are not refusals):
    wrong_language: int = 0
    language_repairs: int = 0  # answers whose first reply was in another language (asked again, repaired or not)
    with_unknown_citations: int = 0
    with_unsupported_claims: int = 0

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
            correctness=mean([bool(r.correct) for r in ans]),
            refusal_accuracy=mean([bool(r.refusal_ok) for r in una]),
            false_refusal_rate=mean([r.refused for r in ans]),
            citation_precision=mean([r.citation_precision for r in ans if r.citation_precision is not None]),
            citation_recall=mean([r.citation_recall for r in ans if r.citation_recall is not None]),
            language_match=mean([r.language_ok for r in records if r.language_ok is not None]),
            faithfulness=mean([v == "faithful" for v in readable]),
            judged=len(verdicts),
            judge_unparsable=mean([v == "unparsable" for v in verdicts]),
            first_token_ms_p50=m.percentile(first, 50), first_token_ms_p95=m.percentile(first, 95),
            total_ms_p50=m.percentile(total, 50), total_ms_p95=m.percentile(total, 95),
            wrong_language=sum(r.wrong_language for r in records if not r.refused),
            language_repairs=sum(r.language_repair is not None for r in records),
            with_unknown_citations=sum(bool(r.unknown_citations) for r in records if not r.refused),
            with_unsupported_claims=sum(bool(r.unsupported_claims) for r in records if not r.refused),
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

    @classmethod
    def of(cls, records: Sequence[AnswerRecord], reason: str = "", judge: str = "off") -> AnswerResult:
        """Summaries of ``records`` overall and by question language."""
        by_lang: dict[str, list[AnswerRecord]] = defaultdict(list)
        for r in records:
            by_lang[r.lang].append(r)
        return cls(True, reason, AnswerSummary.of(records),
                   {lang: AnswerSummary.of(rs) for lang, rs in sorted(by_lang.items())}, list(records), judge)


def relevant(q: Question, p: Passage) -> bool:
    """Whether passage ``p`` holds one of ``q``'s evidence quotes (or covers its span)."""
    return any(m.evidence_in_passage(ev, p.source, p.text, p.start, p.end) for ev in q.evidence)


def score_answer(q: Question, answer: Answer, detect: Callable[[str], str]) -> AnswerRecord:
    """Score one answer against its question (the judge's verdict is added by the caller)."""
    cited: dict[str, Passage] = {}
    citations: list[dict[str, object]] = []
    for c in answer.citations:
        rel = q.answerable and relevant(q, c.passage)
        cited.setdefault(c.passage.id, c.passage)
        citations.append({"number": c.number, "source": c.passage.source, "start": c.start, "end": c.end,
                          "relevant": rel, "supported": c.supported, "inferred": c.inferred})
    precision = recall = None
    if q.answerable and cited:
        precision = sum(relevant(q, p) for p in cited.values()) / len(cited)
    # Recall asks whether an answer cites the evidence it was given; refusals are counted elsewhere.
    scored = q.answerable and not answer.refused
    relevant_given = [p for p in answer.passages if relevant(q, p)] if scored else []
    if relevant_given:
        recall = sum(p.id in cited for p in relevant_given) / len(relevant_given)
    language = language_ok = None
    bare = _CITATION_MARK.sub(" ", answer.text).strip()
    if bare:
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
        wrong_language=answer.wrong_language, language_repair=answer.language_repair,
        unknown_citations=list(answer.unknown_citations),
        unsupported_claims=list(answer.unsupported_claims),
    )
