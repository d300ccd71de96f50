"""Sentence vectors kept at ingest: a question's evidence embeds the question, not every candidate sentence,
and the kept vectors are a cache that can fall behind the index but never disagree with it or lose an answer."""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

import numpy as np
import pytest
from helpers import ITALIAN, SEEDS

from rag.embedding import Embedder
from rag.pipeline import RAG
from rag.sentence_vectors import SentenceVectors, sentences_of
from rag.settings import Settings

QUESTION = "Di che cosa ha discusso Shoigu a Pyongyang?"


class CountingEmbedder(Embedder):
    """The shared real embedder, recording every text it embeds as a passage (chunks and sentences)."""

    def __init__(self, real: Embedder) -> None:
        super().__init__(real.model, real.model_id)
        self.embedded: list[str] = []

    def embed_passages(self, texts: list[str]) -> np.ndarray:
        self.embedded += texts
        return super().embed_passages(texts)


@pytest.fixture
def counting(embedder: Embedder) -> CountingEmbedder:
    return CountingEmbedder(embedder)


@pytest.fixture
def no_model(settings: Settings) -> Settings:
    """The test's settings with nothing listening where the model should be: answers are the evidence."""
    return settings.model_copy(update={"ollama_host": "http://127.0.0.1:1"})


def store_path(settings: Settings) -> Path:
    return settings.sentences_dir / f"{settings.collection}.sqlite"


def every_sentence(rag: RAG) -> list[str]:
    return list(dict.fromkeys(s for _, _, text in rag.store.iter_rows(include_documents=True)
                              for s in sentences_of(text)))


def test_an_ingest_keeps_the_vector_of_every_sentence_of_every_chunk_it_writes(
    no_model: Settings, make_rag, small_docs: Path, counting: CountingEmbedder, embedder: Embedder
) -> None:
    rag = make_rag(no_model)
    rag.ingest(small_docs)
    sentences = every_sentence(rag)
    assert len(sentences) > 20

    kept = SentenceVectors(counting, store_path(no_model)).embed(sentences)

    assert counting.embedded == []  # all read back, none embedded again
    assert np.array_equal(kept, embedder.embed_passages(sentences))  # exactly the embedder's vectors


def test_a_question_embeds_no_sentence_when_the_index_was_ingested_with_them(
    no_model: Settings, make_rag, small_docs: Path, counting: CountingEmbedder
) -> None:
    make_rag(no_model).ingest(small_docs)
    asking = make_rag(no_model, embedder=counting)  # another process, as the page is to `rag ingest`

    stream = asking.stream(QUESTION)
    evidence = stream.evidence.citations
    answer = stream.answer

    assert evidence and answer.mode == "retrieval-only"
    assert counting.embedded == []


def test_with_sentence_vectors_off_ingest_embeds_no_sentence_and_a_question_keeps_those_it_embeds(
    no_model: Settings, make_rag, small_docs: Path, counting: CountingEmbedder
) -> None:
    off = no_model.model_copy(update={"sentence_vectors": False})
    rag = make_rag(off, embedder=counting)
    report = rag.ingest(small_docs)
    assert len(counting.embedded) == report.chunks_embedded  # the chunks only

    counting.embedded.clear()
    assert rag.stream(QUESTION).evidence.citations
    first = list(counting.embedded)
    assert first  # the candidate sentences, embedded at question time ...

    again = CountingEmbedder(counting)
    assert make_rag(off, embedder=again).stream(QUESTION).evidence.citations
    assert again.embedded == []  # ... and kept for the next process that asks


def test_an_index_built_before_sentence_vectors_gets_them_at_its_next_ingest(
    no_model: Settings, make_rag, small_docs: Path, counting: CountingEmbedder
) -> None:
    make_rag(no_model).ingest(small_docs)
    for leftover in store_path(no_model).parent.iterdir():
        leftover.unlink()

    report = make_rag(no_model, embedder=counting).ingest(small_docs)

    assert report.chunks_embedded == 0  # the chunks are unchanged ...
    rag = make_rag(no_model)
    assert set(counting.embedded) == set(every_sentence(rag))  # ... and their sentences are embedded once
    assert rag.sentences.count() == len(every_sentence(rag))


def test_a_rebuild_forgets_the_sentences_of_what_it_no_longer_holds(
    no_model: Settings, make_rag, small_docs: Path, tmp_path: Path
) -> None:
    rag = make_rag(no_model)
    rag.ingest(small_docs)
    one = tmp_path / "one"
    one.mkdir()
    shutil.copy(SEEDS / ITALIAN, one / ITALIAN)

    rag.ingest(one, rebuild=True, allow_removals=True)

    assert rag.sentences.count() == len(every_sentence(rag))


def test_an_unreadable_sentence_file_costs_speed_and_never_an_answer(
    no_model: Settings, make_rag, small_docs: Path, caplog: pytest.LogCaptureFixture
) -> None:
    make_rag(no_model).ingest(small_docs)
    for leftover in store_path(no_model).parent.iterdir():
        leftover.unlink()
    store_path(no_model).write_bytes(b"\x00\xffnot a database\x00" * 512)

    with caplog.at_level(logging.WARNING, logger="rag.sentence_vectors"):
        answer = make_rag(no_model).ask(QUESTION)

    assert answer.citations and answer.mode == "retrieval-only"
    assert any(str(store_path(no_model)) in r.getMessage() and "delete the file" in r.getMessage()
               for r in caplog.records)

