"""Choosing the evidence sentences: relevance across languages, the budget, exact spans, the no-answer gate.

Real passages cut from the seed articles, the real bundled embedder; no index, no model.
"""

from __future__ import annotations

from dataclasses import replace

import pytest
from helpers import seed_text

from rag.citations import sentence_spans
from rag.evidence import NoAnswerGate, prompt_tokens, score_sentences, select_evidence
from rag.types import Passage

GREEK_SEED = "000_3826467bcfade4bc.txt"
ITALIAN_SEED = "002_4a01d9418e012f08.txt"


def cut(source: str, start: int, end: int, language: str, rank: int) -> Passage:
    text = seed_text(source)[start:end]
    return Passage(id=f"{source}:{start}", text=text, source=source, title="t", language=language, start=start,
                   end=end, score=1.0 / rank, rank=rank)


@pytest.fixture
def passages() -> list[Passage]:
    greek, italian = seed_text(GREEK_SEED), seed_text(ITALIAN_SEED)
    return [cut(GREEK_SEED, 0, min(1200, len(greek)), "el", 1),
            cut(ITALIAN_SEED, 0, min(1200, len(italian)), "it", 2),
            cut(GREEK_SEED, 800, min(1800, len(greek)), "el", 3)]  # overlaps the first


def choose(embedder, passages, question: str, language: str = "en", budget: int = 280):  # noqa: ANN001, ANN201
    scores = score_sentences(question, language, passages, embedder.embed_query, embedder.embed_sentences)
    return scores, select_evidence(passages, scores, budget)


def test_the_evidence_spans_are_the_article_text_they_quote(embedder, passages):
    _, evidence = choose(embedder, passages, "Where did Lavrov meet Kim Jong Un?")
    assert evidence
    for c in evidence:
        assert seed_text(c.passage.source)[c.start : c.end] == c.sentence


def test_the_evidence_fits_its_budget(embedder, passages):
    for budget in (60, 150, 280):
        _, evidence = choose(embedder, passages, "Where did Lavrov meet Kim Jong Un?", budget=budget)
        assert sum(prompt_tokens(c.sentence) + 12 for c in evidence) <= budget


def test_an_english_question_finds_the_greek_sentence_that_answers_it(embedder, passages):
    greek = [p for p in passages if p.language == "el"]
    _, evidence = choose(embedder, greek, "How long did Lavrov's talks with Choe Son Hui last?")
    assert any("τρεις ώρες" in c.sentence for c in evidence[:3])


def test_a_sentence_in_two_overlapping_passages_is_quoted_once(embedder, passages):
    _, evidence = choose(embedder, passages, "Where did Lavrov meet Kim Jong Un?", budget=2000)
    spans = [(c.passage.source, s) for c in evidence
             for s, _ in [(c.start + a, 0) for a, _ in sentence_spans(c.sentence)]]
    assert len(spans) == len(set(spans))


def test_a_sentence_in_two_copies_of_an_article_is_quoted_once(embedder, passages):
    italian = passages[1]
    copies = [replace(italian, id=f"{folder}:{italian.id}", doc_id=folder, path=f"/{folder}/{ITALIAN_SEED}")
              for folder in ("news", "backup")]  # the same file in two folders: two documents
    _, evidence = choose(embedder, copies, "Where did Lavrov meet Kim Jong Un?", language="en", budget=2000)
    sentences = [" ".join(italian.text[a:b].split()) for c in evidence for a, b in
                 [(c.start - italian.start + x, c.start - italian.start + y) for x, y in sentence_spans(c.sentence)]]
    assert len(evidence) >= 2 and len(sentences) == len(set(sentences))


def test_the_best_sentence_comes_first_and_numbers_follow_in_order(embedder, passages):
    _, evidence = choose(embedder, passages, "Where did Lavrov meet Kim Jong Un?")
    assert [c.number for c in evidence] == list(range(1, len(evidence) + 1))
    assert "Γουονσάν" in evidence[0].sentence or "Wonsan" in evidence[0].sentence


def test_the_gate_turns_away_an_off_topic_question_and_keeps_an_answerable_one(embedder, passages):
    gate = NoAnswerGate(0.78)  # the calibrated default (docs/evaluation.md)
    off, _ = choose(embedder, passages, "What is the capital of Australia?")
    on, _ = choose(embedder, passages, "Where did Lavrov meet Kim Jong Un?")
    assert gate.unanswerable(off) and not gate.unanswerable(on)
