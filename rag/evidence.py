"""Evidence-sized prompts: the sentences of the retrieved passages that answer the question.

A small model on a CPU spends most of an answer reading its prompt (50 tokens/s), so it is given the
few sentences that matter instead of five whole chunks. Sentences are scored with the multilingual
embedder (cross-lingual: an English question, a Greek sentence) and BM25 over the candidate sentences
(names and numbers), with a small prior for the passage's rank. Each chosen sentence becomes one
numbered snippet, with its neighbours for context while the budget allows; a snippet is article text
with its exact character span, so a citation points at the very words the model read.

The no-answer decision is made here too: when even the best sentence is far from the question, the
articles do not say (``NoAnswerGate``, calibrated on the question sets' unanswerable questions).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from rag.citations import sentence_spans
from rag.lexical import Analyzer
from rag.types import Citation, Passage

EmbedQuery = Callable[[str], np.ndarray]
EmbedSentences = Callable[[list[str]], np.ndarray]

LEXICAL_WEIGHT = 0.25  # BM25 helps with names; more of it favours Latin-script sentences (measured)
RANK_PRIOR = 0.2  # the fused passage ranking already weighed whole passages: a little of it carries over
MIN_CORE_CHARS = 20  # a fragment ("Pyongyang.") is context, not evidence on its own
NEIGHBOUR_SHARE = 0.5  # neighbours are added while the evidence uses less than this share of its budget


def prompt_tokens(text: str) -> int:
    """The prompt cost the budgets are set in: UTF-8 bytes / 4 (Greek costs about twice English)."""
    return len(text.encode("utf-8")) // 4


@dataclass(frozen=True)
class _Sentence:
    passage: int  # index into the passages
    index: int  # position in the passage's sentences
    start: int  # span in the passage text
    end: int


def _bm25(query: list[str], docs: list[list[str]], k1: float = 1.2, b: float = 0.75) -> np.ndarray:
    n = len(docs)
    if not n or not query:
        return np.zeros(n)
    avg = sum(len(d) for d in docs) / n or 1.0
    df = Counter(t for d in docs for t in set(d))
    scores = np.zeros(n)
    for i, doc in enumerate(docs):
        tf = Counter(doc)
        for term in set(query):
            if tf[term]:
                idf = math.log(1 + (n - df[term] + 0.5) / (df[term] + 0.5))
                scores[i] += idf * tf[term] * (k1 + 1) / (tf[term] + k1 * (1 - b + b * len(doc) / avg))
    return scores


def _minmax(x: np.ndarray) -> np.ndarray:
    if not len(x):
        return x
    lo, hi = float(x.min()), float(x.max())
    return (x - lo) / (hi - lo) if hi > lo else np.zeros_like(x)


@dataclass(frozen=True)
class SentenceScores:
    """Every sentence of the passages with its dense similarity to the question and its combined score."""

    sentences: tuple[_Sentence, ...]
    spans: tuple[tuple[tuple[int, int], ...], ...]  # per passage, all its sentence spans
    similarity: np.ndarray
    score: np.ndarray

    @property
    def best_similarity(self) -> float:
        return float(self.similarity.max()) if len(self.similarity) else 0.0


def score_sentences(
    question: str, question_language: str, passages: Sequence[Passage], embed_query: EmbedQuery,
    embed_sentences: EmbedSentences,
) -> SentenceScores:
    spans = tuple(tuple(sentence_spans(p.text)) for p in passages)
    sentences = tuple(_Sentence(pi, si, s, e) for pi, sp in enumerate(spans) for si, (s, e) in enumerate(sp))
    if not sentences:
        return SentenceScores((), spans, np.zeros(0), np.zeros(0))
    texts = [passages[s.passage].text[s.start:s.end] for s in sentences]
    similarity = embed_sentences(texts) @ embed_query(question)
    analyzers: dict[str, Analyzer] = {}

    def analyze(text: str, language: str) -> list[str]:
        if language not in analyzers:
            analyzers[language] = Analyzer(language)
        return analyzers[language](text)

    # The question analysed as its own language and as each passage's: "Lavrov" stems alike in en/it/tr.
    query = [t for lang in dict.fromkeys([question_language, *(p.language for p in passages)])
             for t in analyze(question, lang)]
    docs = [analyze(text, passages[s.passage].language) for s, text in zip(sentences, texts)]
    lexical = _bm25(list(dict.fromkeys(query)), docs)
    prior = np.array([1.0 - s.passage / max(1, len(passages)) for s in sentences])
    short = np.array([(s.end - s.start) < MIN_CORE_CHARS for s in sentences])
    score = _minmax(similarity) + LEXICAL_WEIGHT * _minmax(lexical) + RANK_PRIOR * prior - short * 10.0
    return SentenceScores(sentences, spans, similarity, score)


def select_evidence(
    passages: Sequence[Passage], scores: SentenceScores, budget_tokens: int, max_snippets: int = 6,
    support_threshold: float = 0.8,
) -> list[Citation]:
    """The best sentences as numbered snippets (best first), with neighbours while ``budget_tokens`` allows.

    A sentence is chosen once, by its text: in two overlapping chunks of an article, and in two copies of an
    article (the same file in two folders, two documents since their paths differ).
    """
    order = np.argsort(-scores.score, kind="stable")
    chosen: list[tuple[int, int, int, float]] = []  # (passage, first sentence, last sentence, similarity)
    taken: set[str] = set()  # the text of every sentence used, whitespace folded
    used = 0

    def key(pi: int, si: int) -> str:
        start, end = scores.spans[pi][si]
        return " ".join(passages[pi].text[start:end].split())

    def cost(pi: int, first: int, last: int) -> int:
        p = passages[pi]
        return prompt_tokens(p.text[scores.spans[pi][first][0]:scores.spans[pi][last][1]]) + 12  # + "[n] (source)"

    for i in order:
        s = scores.sentences[int(i)]
        if len(chosen) >= max_snippets or scores.score[int(i)] < -1:
            break
        if key(s.passage, s.index) in taken:
            continue
        c = cost(s.passage, s.index, s.index)
        if used + c > budget_tokens:
            continue  # a shorter sentence further down may still fit
        first = last = s.index
        # The sentence before usually names who or what "he" and "it" are; the one after, the outcome.
        for neighbour in (s.index - 1, s.index + 1):
            if 0 <= neighbour < len(scores.spans[s.passage]) and key(s.passage, neighbour) not in taken:
                lo, hi = min(first, neighbour), max(last, neighbour)
                extra = cost(s.passage, lo, hi) - cost(s.passage, first, last)
                if used + c + extra <= budget_tokens * NEIGHBOUR_SHARE:  # only while the budget is loose
                    first, last, c = lo, hi, c + extra
        for si in range(first, last + 1):
            taken.add(key(s.passage, si))
        chosen.append((s.passage, first, last, float(scores.similarity[int(i)])))
        used += c
    out = []
    for n, (pi, first, last, sim) in enumerate(chosen, start=1):
        p = passages[pi]
        start, end = scores.spans[pi][first][0], scores.spans[pi][last][1]
        out.append(Citation(number=n, passage=p, sentence=p.text[start:end], start=p.start + start,
                            end=p.start + end, similarity=sim, supported=sim >= support_threshold, inferred=True))
    return out


@dataclass(frozen=True)
class NoAnswerGate:
    """Whether the articles say anything close to the question, from the best sentence's similarity.

    ``threshold`` is calibrated on the question sets (docs/evaluation.md): below it, no answerable
    question of either set ever scored, and the off-topic unanswerable ones do.
    """

    threshold: float

    def unanswerable(self, scores: SentenceScores) -> bool:
        return scores.best_similarity < self.threshold
