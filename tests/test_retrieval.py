"""Retrieval over the seeded index: passages true to the files, filters, limits, and the quality gate."""

from __future__ import annotations

import inspect
import math
import time
from pathlib import Path

import pytest
from helpers import GREEK, ITALIAN, QUESTIONS, SEED_LANGUAGES, SEEDS, TURKISH, loader_for, seed_text

from rag.errors import EmptyIndexError
from rag.evaluation import evaluate_retrieval, load_questions
from rag.evaluation.metrics import doc_key, normalise
from rag.fusion import convex_combination, reciprocal_rank_fusion
from rag.pipeline import RAG
from rag.retrieval import HybridRetriever, RetrievalConfig
from rag.settings import Settings
from rag.types import Passage

slow = pytest.mark.slow

# The quality gate: the answerable questions of eval/questions.jsonl, top 5 passages.
# The foundation issue's targets with the offline embedder: hit@5 >= 0.80 and MRR >= 0.60. The default
# measures 0.875 / 0.610 (docs/retrieval.md); with RRF instead of the convex combination, 0.833 / 0.581.
MIN_HIT_AT_5 = 0.80
MIN_MRR = 0.60

# Questions whose nearest chunks are in different languages (the seeds: 9 Greek chunks, 4 Italian, 3 Turkish).
MIXED_QUESTIONS = (
    "Lavrov and Kim Jong Un", "Λαβρόφ Πιονγιάνγκ", "Lavrov ha incontrato Kim Jong Un",
    "Lavrov Kuzey Kore enerji işbirliği",
)


def record_dense_searches(rag: RAG, monkeypatch: pytest.MonkeyPatch) -> list[dict | None]:
    """The ``where`` of every dense search ``rag`` makes from now on, in order."""
    wheres: list[dict | None] = []
    query = rag.store.query

    def recording(vector, n, where=None):  # noqa: ANN001, ANN202 - ChromaStore.query's signature
        wheres.append(where)
        return query(vector, n, where)

    monkeypatch.setattr(rag.store, "query", recording)
    return wheres


def record_counts(rag: RAG, monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """What every ``count()`` of ``rag``'s store returns from now on."""
    counts: list[int] = []
    count = rag.store.count

    def recording() -> int:
        counts.append(count())
        return counts[-1]

    monkeypatch.setattr(rag.store, "count", recording)
    return counts


# -- passages -----------------------------------------------------------------------------------------------


@slow
def test_passages_are_typed_and_true_to_their_files(seeded_rag: RAG, settings: Settings) -> None:
    loader = loader_for(settings)
    titles = {name: loader.load_file(SEEDS / name).title for name in SEED_LANGUAGES}

    passages = seeded_rag.retrieve("Where did Lavrov meet Kim Jong Un?", top_k=5)

    assert len(passages) == 5
    for p in passages:
        assert isinstance(p, Passage)
        assert p.text == seed_text(p.source)[p.start : p.end]
        assert p.language == SEED_LANGUAGES[p.source]
        assert p.title == titles[p.source]


@slow
def test_passages_are_ranked_best_first(seeded_rag: RAG) -> None:
    passages = seeded_rag.retrieve("Where did Lavrov meet Kim Jong Un?", top_k=5)

    assert [p.rank for p in passages] == [1, 2, 3, 4, 5]
    assert [p.score for p in passages] == sorted((p.score for p in passages), reverse=True)
    assert all(p.score > 0 for p in passages)


@slow
def test_by_default_a_passage_ranks_by_its_weighted_mean_of_normalised_dense_and_bm25_scores(
    seeded_rag: RAG,
) -> None:
    question = "Λαβρόφ Γουονσάν Κιμ Γιονγκ Ουν"  # Greek: BM25 in Greek takes part

    passages = seeded_rag.retrieve(question, top_k=16)

    rankings = seeded_rag.retriever.rank(question)  # after retrieve(), which loads BM25

    assert rankings.lexical, "a Greek question should match Greek chunks in BM25"
    expected = convex_combination([rankings.dense_scores, rankings.lexical_scores], [1.0, 0.5])
    best = expected[0][1]
    assert [(p.id, p.score) for p in passages] == [(cid, pytest.approx(s / best)) for cid, s in expected[:16]]


@slow
@pytest.mark.parametrize("fusion", ["convex", "rrf"])
def test_a_passage_score_is_relative_to_the_best_passage_whatever_the_fusion(
    seeded_rag: RAG, make_rag, fusion: str
) -> None:
    rag = make_rag(seeded_rag.settings.model_copy(update={"fusion": fusion}))

    passages = rag.retrieve("Λαβρόφ Γουονσάν Κιμ Γιονγκ Ουν", top_k=8)

    assert passages[0].score == 1.0
    assert all(0.0 <= p.score <= 1.0 for p in passages)
    assert [p.score for p in passages] == sorted((p.score for p in passages), reverse=True)


@slow
def test_rrf_fusion_is_a_setting_away(seeded_rag: RAG, make_rag) -> None:
    rrf = make_rag(seeded_rag.settings.model_copy(update={"fusion": "rrf"}))
    question = "Λαβρόφ Γουονσάν Κιμ Γιονγκ Ουν"

    passages = rrf.retrieve(question, top_k=5)

    rankings = rrf.retriever.rank(question)
    assert rankings.lexical

    expected = reciprocal_rank_fusion([rankings.dense, rankings.lexical], [1.0, 0.5], k=60)[:5]
    best = expected[0][1]
    assert [(p.id, p.score) for p in passages] == [(cid, pytest.approx(s / best)) for cid, s in expected]


@slow
def test_a_question_and_its_translation_are_fused_by_their_rankings(seeded_rag: RAG) -> None:
    seeded_rag.retrieve("Lavrov", top_k=1)  # loads BM25
    retriever = seeded_rag.retriever
    original = retriever.rank("Where did Lavrov meet Kim Jong Un?")
    translated = retriever.rank("Πού συναντήθηκε ο Λαβρόφ με τον Κιμ Γιονγκ Ουν;", query_language="el")

    passages = retriever.fuse([original, translated], [1.0, 0.5], top_k=16)

    own = [[cid for cid, _ in convex_combination([r.dense_scores, r.lexical_scores], [1.0, 0.5])]
           for r in (original, translated)]
    assert [p.id for p in passages] == [cid for cid, _ in reciprocal_rank_fusion(own, [1.0, 0.5], k=60)][:16]


@slow
def test_dense_scores_are_cosine_similarities(seeded_rag: RAG) -> None:
    passages = seeded_rag.retrieve("Sergei Shoigu visited Pyongyang", top_k=5)
    dense = [p.dense_score for p in passages if p.dense_score is not None and not math.isnan(p.dense_score)]

    assert dense and all(-1.0 <= s <= 1.0 for s in dense)


@slow
def test_an_english_question_finds_the_italian_answer(seeded_rag: RAG) -> None:
    passages = seeded_rag.retrieve(
        "How many North Korean soldiers have died in the war in Ukraine, according to British intelligence?",
        top_k=3,
    )

    assert passages[0].source == ITALIAN
    assert "Più di 6.000 soldati nordcoreani sono morti" in passages[0].text


@slow
def test_a_greek_question_finds_the_greek_answer_with_bm25_in_greek(seeded_rag: RAG) -> None:
    passages = seeded_rag.retrieve("Πόσο διήρκεσαν οι συνομιλίες του Λαβρόφ με την Τσόε Σον-χούι;", top_k=3)

    assert passages[0].source == GREEK[0]
    assert "διήρκεσαν πάνω από τρεις ώρες" in passages[0].text
    assert passages[0].lexical_score is not None


# -- filters and limits --------------------------------------------------------------------------------------


@slow
@pytest.mark.parametrize("language", ["el", "it", "tr"])
def test_language_filter_returns_only_passages_in_that_language(seeded_rag: RAG, language: str) -> None:
    passages = seeded_rag.retrieve("Lavrov and Kim Jong Un", top_k=5, language=language)

    assert passages
    assert {p.language for p in passages} == {language}


@slow
def test_language_filter_for_a_language_not_in_the_index_returns_nothing(seeded_rag: RAG) -> None:
    assert seeded_rag.retrieve("Lavrov and Kim Jong Un", top_k=5, language="de") == []


@slow
@pytest.mark.parametrize("candidates", [1, 2, 30])
def test_language_filter_finds_the_dense_candidates_that_chromas_filter_finds(
    seeded_rag: RAG, candidates: int
) -> None:
    # Each question is said to be in the filter's language, so that an unfiltered search is tried every
    # time. 1 and 2 candidates: 4 and 8 searched, too few in Italian or Turkish after a Greek question,
    # so Chroma's filter is used after all; 30: the whole index is searched, which is always enough.
    rag = seeded_rag
    retriever = HybridRetriever(rag.store, rag.lexical, rag.embedder, rag.detector, RetrievalConfig(candidates))

    for question in MIXED_QUESTIONS:
        vector = rag.embedder.embed_query(question)
        for language in ("el", "it", "tr", "de"):
            filtered = rag.store.query(vector, candidates, {"language": language})
            dense = retriever.rank(question, language=language, query_language=language)

            assert dense.dense == [h.id for h in filtered], (question, language)
            assert dense.dense_scores == {h.id: h.similarity for h in filtered}, (question, language)


@slow
def test_a_filter_on_the_questions_own_language_alone_is_applied_after_an_unfiltered_dense_search(
    seeded_rag: RAG, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Chroma's metadata filter makes the dense search linear in the collection (docs/benchmarks.md, fix 6);
    # a question's nearest chunks are mostly in its own language, and seldom in another one.
    question = "Lavrov ha incontrato Kim Jong Un"
    wheres = record_dense_searches(seeded_rag, monkeypatch)

    seeded_rag.retrieve(question, top_k=5, language="it")
    seeded_rag.retrieve(question, top_k=5, language="el")
    seeded_rag.retrieve(question, top_k=5, language="it", sources=[ITALIAN])

    by_source = {"$or": [{"source": {"$in": [ITALIAN]}}, {"doc_id": {"$in": [ITALIAN]}}]}
    assert wheres == [None, {"language": "el"}, {"$and": [{"language": "it"}, by_source]}]


@slow
def test_source_filter_returns_only_passages_of_those_files(seeded_rag: RAG) -> None:
    passages = seeded_rag.retrieve("Lavrov and Kim Jong Un", top_k=5, sources=[TURKISH, GREEK[2]])

    assert passages
    assert {p.source for p in passages} <= {TURKISH, GREEK[2]}


@slow
def test_source_filter_also_applies_to_bm25_matches(seeded_rag: RAG) -> None:
    # A Turkish question matches the Turkish article in BM25; the filter must still keep it out.
    passages = seeded_rag.retrieve("Lavrov Kuzey Kore enerji işbirliği", top_k=5, sources=[ITALIAN])

    assert passages
    assert {p.source for p in passages} == {ITALIAN}


@slow
@pytest.mark.parametrize("top_k", [1, 3, 7])
def test_top_k_passages_are_returned(seeded_rag: RAG, top_k: int) -> None:
    assert len(seeded_rag.retrieve("Lavrov and Kim Jong Un", top_k=top_k)) == top_k


@slow
def test_top_k_defaults_to_the_setting(seeded_rag: RAG) -> None:
    assert len(seeded_rag.retrieve("Lavrov and Kim Jong Un")) == seeded_rag.settings.top_k == 5


@slow
def test_top_k_beyond_the_index_returns_every_chunk_once(seeded_rag: RAG) -> None:
    passages = seeded_rag.retrieve("Lavrov and Kim Jong Un", top_k=100)

    assert len(passages) == len({p.id for p in passages}) == seeded_rag.store.count()


@slow
@pytest.mark.parametrize("question", ["", "   \n\t"])
def test_an_empty_question_is_refused(seeded_rag: RAG, question: str) -> None:
    with pytest.raises(ValueError, match="empty"):
        seeded_rag.retrieve(question)


@slow
@pytest.mark.parametrize("top_k", [0, -1])
def test_top_k_below_one_is_refused(seeded_rag: RAG, top_k: int) -> None:
    with pytest.raises(ValueError, match="top_k"):
        seeded_rag.retrieve("Lavrov and Kim Jong Un", top_k=top_k)


def test_retrieving_from_an_empty_index_says_to_run_rag_ingest(rag: RAG) -> None:
    with pytest.raises(EmptyIndexError, match="rag ingest"):
        rag.retrieve("Where did Lavrov meet Kim Jong Un?")


@slow
def test_questions_do_not_count_the_chunks_while_the_index_is_unchanged(
    seeded_rag: RAG, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A count() costs ~9 ms at 100k chunks (docs/benchmarks.md, fix 4). Every question here checks
    # whether another process changed the index, as in the chat page, where questions come > 1 s apart.
    seeded_rag.retrieve("Lavrov and Kim Jong Un")
    monkeypatch.setattr(seeded_rag, "_freshness_seconds", 0.0)
    counts = record_counts(seeded_rag, monkeypatch)

    for question in MIXED_QUESTIONS:
        assert seeded_rag.retrieve(question, top_k=3)
        assert seeded_rag.retrieve(question, top_k=3, language="el")

    assert counts == []


def test_chunks_written_by_another_rag_object_are_found_at_once(
    settings: Settings, make_rag, small_docs: Path
) -> None:
    writer, reader = make_rag(settings), make_rag(settings)  # two processes on one data folder
    with pytest.raises(EmptyIndexError):
        reader.retrieve("Lavrov ha incontrato Kim Jong Un")

    writer.ingest(small_docs)

    assert reader.retrieve("Lavrov ha incontrato Kim Jong Un")  # "empty" is never remembered


def test_an_index_emptied_by_an_ingest_is_refused_at_once_and_by_other_rag_objects_within_a_second(
    settings: Settings, make_rag, small_docs: Path
) -> None:
    # Readers look for changes made by others once per freshness interval: a second unless injected (this
    # reader's is shorter, so that the test need not wait a second).
    assert inspect.signature(RAG).parameters["freshness_seconds"].default <= 1.0
    writer, reader = make_rag(settings), make_rag(settings, freshness_seconds=0.2)
    writer.ingest(small_docs)
    assert writer.retrieve("Lavrov ha incontrato Kim Jong Un")
    assert reader.retrieve("Lavrov ha incontrato Kim Jong Un")
    for f in small_docs.iterdir():
        f.unlink()

    assert writer.ingest(small_docs, allow_removals=True).chunks_total == 0
    with pytest.raises(EmptyIndexError, match="rag ingest"):
        writer.retrieve("Lavrov ha incontrato Kim Jong Un")
    time.sleep(0.3)  # the reader's freshness interval has passed
    with pytest.raises(EmptyIndexError, match="rag ingest"):
        reader.retrieve("Lavrov ha incontrato Kim Jong Un")


# -- the question set and the quality gate -------------------------------------------------------------------


def test_the_question_set_is_valid_and_every_evidence_quote_is_in_its_article() -> None:
    questions = load_questions(QUESTIONS)
    articles = {doc_key(name): normalise(seed_text(name)) for name in SEED_LANGUAGES}

    missing = [
        f"{q.id}: {ev.doc}: {ev.quote!r}"
        for q in questions
        for ev in q.evidence
        if ev.doc not in articles or normalise(ev.quote) not in articles[ev.doc]
    ]

    assert questions and any(q.answerable for q in questions)
    assert missing == []


def test_evidence_spans_when_given_lie_inside_their_article() -> None:
    lengths = {doc_key(name): len(seed_text(name)) for name in SEED_LANGUAGES}

    for q in load_questions(QUESTIONS):
        for ev in q.evidence:
            if ev.start is not None:
                assert 0 <= ev.start < ev.end <= lengths[ev.doc], q.id


@slow
def test_retrieval_quality_gate_on_the_question_set(seeded_rag: RAG) -> None:
    rag = seeded_rag
    rows = [(m["source"], t, m["start"], m["end"]) for _, m, t in rag.store.iter_rows(include_documents=True)]
    langs = {doc_key(m["source"]): m["language"] for _, m, _ in rag.store.iter_rows()}

    res = evaluate_retrieval(
        load_questions(QUESTIONS), lambda q, k: rag.retrieve(q.question, top_k=k), 5, rows, langs
    )

    misses = [f"{r.id} (first relevant: {r.first_relevant})" for r in res.records if r.first_relevant != 1]
    summary = (
        f"hit@5 {res.overall.hitk:.3f}, MRR {res.overall.mrr:.3f}, n={res.overall.n}; not first: {misses}"
    )
    assert res.overall.n == sum(q.answerable for q in load_questions(QUESTIONS))
    assert res.overall.hitk >= MIN_HIT_AT_5, summary
    assert res.overall.mrr >= MIN_MRR, summary
