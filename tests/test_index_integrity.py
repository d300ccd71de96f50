"""An index a user can trust with their only copy: documents are their paths, nothing is removed silently,
the chunking settings are recorded, links and deep folders are walked safely, and the facade the chat page
uses (documents, document_text, remove, progress) tells the truth."""

from __future__ import annotations

import os
import shutil
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from helpers import ITALIAN, SEEDS, TURKISH, seed_text

from rag import manifest
from rag.errors import IngestError
from rag.lexical import LexicalIndex
from rag.loading import decode, walk
from rag.pipeline import RAG
from rag.settings import Settings
from rag.types import IngestProgress, doc_id_for


def chunk_ids_of(rag: RAG, path: Path) -> set[str]:
    return {cid for cid, meta, _ in rag.store.iter_rows() if meta["path"] == str(path.resolve())}


def bm25_ids(rag: RAG) -> set[str]:
    saved = LexicalIndex(rag.lexical.directory)
    assert saved.load()
    return set().union(*(saved.ids(lang) for lang in saved.languages))


@pytest.fixture
def years(tmp_path: Path) -> Path:
    """``news/2024/story.txt`` (Italian) and ``news/2025/story.txt`` (Turkish): one name, two articles."""
    root = tmp_path / "news"
    for year, seed in (("2024", ITALIAN), ("2025", TURKISH)):
        (root / year).mkdir(parents=True)
        shutil.copy(SEEDS / seed, root / year / "story.txt")
    return root


# -- identity by path -------------------------------------------------------------------------------------


def test_files_with_the_same_name_in_two_folders_are_two_documents(rag: RAG, years: Path) -> None:
    report = rag.ingest(years)

    docs = rag.documents()
    assert report.files_indexed == 2 and report.chunks_total == rag.store.count()
    assert [d.source for d in docs] == ["story.txt", "story.txt"]
    assert {d.language for d in docs} == {"it", "tr"}
    assert len({d.doc_id for d in docs}) == 2
    assert chunk_ids_of(rag, years / "2024" / "story.txt").isdisjoint(chunk_ids_of(rag, years / "2025" / "story.txt"))


def test_rebuilding_a_folder_with_same_name_files_keeps_both(rag: RAG, years: Path) -> None:
    rag.ingest(years)

    report = rag.ingest(years, rebuild=True)

    assert report.files_indexed == 2 and len(rag.documents()) == 2


def test_deleting_one_of_two_same_name_files_keeps_the_others_chunks(rag: RAG, years: Path) -> None:
    rag.ingest(years / "2024")
    rag.ingest(years / "2025")
    kept = chunk_ids_of(rag, years / "2025" / "story.txt")
    (years / "2024" / "story.txt").unlink()

    rag.ingest(years / "2024", allow_removals=True)  # the only document under 2024/
    again = rag.ingest(years / "2025")

    assert chunk_ids_of(rag, years / "2025" / "story.txt") == kept
    assert again.files_unchanged == 1 and again.files_indexed == 0
    assert [d.path for d in rag.documents()] == [str((years / "2025" / "story.txt").resolve())]
    assert bm25_ids(rag) == kept


def test_the_source_filter_takes_a_file_name_or_a_relative_path(rag: RAG, years: Path) -> None:
    rag.ingest(years)
    question = "Lavrov Kim Jong Un"

    by_name = rag.retrieve(question, top_k=20, sources=["story.txt"])
    by_path = rag.retrieve(question, top_k=20, sources=["2025/story.txt"])

    assert {p.language for p in by_name} == {"it", "tr"}
    assert by_path and {p.language for p in by_path} == {"tr"}
    assert rag.retrieve(question, sources=["2023/story.txt"]) == []


# -- no silent mass deletion -------------------------------------------------------------------------------


@pytest.fixture
def three(tmp_path: Path, rag: RAG) -> Path:
    """Three articles under ``docs/``, ingested."""
    docs = tmp_path / "docs"
    docs.mkdir()
    for name in (ITALIAN, TURKISH):
        shutil.copy(SEEDS / name, docs / name)
    (docs / "short.txt").write_text("Il festival del tartufo bianco di Alba apre sabato.\n", encoding="utf-8")
    rag.ingest(docs)
    return docs


def test_an_emptied_folder_is_refused_and_nothing_is_removed(rag: RAG, three: Path) -> None:
    before = rag.store.count()
    for f in three.iterdir():
        f.unlink()

    with pytest.raises(IngestError, match="--allow-removals") as exc:
        rag.ingest(three)

    assert "3 of the 3 documents" in str(exc.value)
    assert rag.store.count() == before and len(rag.documents()) == 3


def test_removing_most_of_a_folder_is_refused_but_a_few_files_go(rag: RAG, three: Path) -> None:
    (three / "short.txt").unlink()
    assert rag.ingest(three).files_removed == 1  # one of three: an ordinary deletion

    (three / ITALIAN).unlink()
    (three / TURKISH).unlink()
    with pytest.raises(IngestError, match="--allow-removals"):
        rag.ingest(three)
    assert len(rag.documents()) == 2


def test_allow_removals_confirms_a_mass_removal(rag: RAG, three: Path) -> None:
    for f in three.iterdir():
        f.unlink()

    report = rag.ingest(three, allow_removals=True)

    assert report.files_removed == 3 and rag.store.count() == 0 and rag.documents() == []


def test_a_rebuild_from_an_empty_folder_is_refused(rag: RAG, three: Path, tmp_path: Path) -> None:
    before = rag.store.count()
    empty = tmp_path / "empty"
    empty.mkdir()

    with pytest.raises(IngestError, match="--allow-removals"):
        rag.ingest(empty, rebuild=True)
    assert rag.store.count() == before


def test_a_missing_folder_is_an_error_and_removes_nothing(rag: RAG, three: Path) -> None:
    before = rag.store.count()
    shutil.rmtree(three)

    with pytest.raises(IngestError, match="does not exist"):
        rag.ingest(three, allow_removals=True)
    assert rag.store.count() == before


def test_an_unreadable_folder_is_an_error_and_removes_nothing(
    rag: RAG, three: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = rag.store.count()
    real_scandir = os.scandir

    def denied(path):  # noqa: ANN001, ANN202 - what a permissions slip or a stale mount gives
        if Path(path) == three:
            raise PermissionError(13, "Permission denied", str(path))
        return real_scandir(path)

    monkeypatch.setattr(os, "scandir", denied)
    with pytest.raises(IngestError, match="cannot read the folder"):
        rag.ingest(three, allow_removals=True)
    assert rag.store.count() == before


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads any folder whatever its permissions")
def test_a_folder_without_read_permission_is_an_error(rag: RAG, three: Path) -> None:
    three.chmod(0)
    try:
        with pytest.raises(IngestError, match="cannot read the folder"):
            rag.ingest(three)
    finally:
        three.chmod(0o755)


def test_documents_under_an_unreadable_sub_folder_are_kept(
    rag: RAG, years: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    rag.ingest(years)
    real_scandir = os.scandir

    def denied(path):  # noqa: ANN001, ANN202
        if Path(path).name == "2024":
            raise PermissionError(13, "Permission denied", str(path))
        return real_scandir(path)

    monkeypatch.setattr(os, "scandir", denied)
    report = rag.ingest(years)

    assert report.files_removed == 0 and len(rag.documents()) == 2


# -- the index records its shape ----------------------------------------------------------------------------


def test_a_chunk_size_change_re_chunks_the_indexed_files(settings: Settings, make_rag, three: Path) -> None:
    before = {cid for cid, _, _ in make_rag(settings).store.iter_rows()}
    smaller = make_rag(settings.model_copy(update={"chunk_size": 96, "chunk_overlap": 16}))

    report = smaller.ingest(three)

    after = {cid for cid, _, _ in smaller.store.iter_rows()}
    assert report.files_rechunked == 3 and report.files_unchanged == 0
    assert "3 re-chunked" in str(report)
    assert after.isdisjoint(before) and len(after) > len(before)
    assert bm25_ids(smaller) == after
    recorded = smaller.store.metadata()["shape"]
    assert '"chunk_size":96' in recorded and '"chunk_overlap":16' in recorded
    assert smaller.ingest(three).files_unchanged == 3  # and then it is settled


def test_a_boilerplate_rule_change_re_chunks_the_indexed_files(
    settings: Settings, make_rag, three: Path
) -> None:
    stricter = make_rag(settings.model_copy(update={"boilerplate_patterns": [r"^nothing matches this$"]}))

    report = stricter.ingest(three)

    assert report.files_rechunked == 3


def test_an_index_made_before_shapes_were_recorded_is_re_chunked(rag: RAG, three: Path) -> None:
    # As an older version left it: no shape in the chunks nor in the manifest.
    rows = list(rag.store.iter_rows())
    rag.store.collection.update(ids=[r[0] for r in rows], metadatas=[{**r[1], "shape": ""} for r in rows])
    rag.store.bump_version()

    assert rag.ingest(three).files_rechunked == 3


# -- links and deep folders ---------------------------------------------------------------------------------


def test_a_link_to_a_file_outside_the_folder_is_not_followed(rag: RAG, tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    shutil.copy(SEEDS / ITALIAN, docs / ITALIAN)
    (docs / "outside.txt").symlink_to(SEEDS / TURKISH)

    report = rag.ingest(docs)

    assert [d.source for d in rag.documents()] == [ITALIAN]
    assert [s.path for s in report.skipped] == ["outside.txt"]
    assert "outside" in report.skipped[0].reason and "not followed" in report.skipped[0].reason


def test_a_link_inside_the_folder_indexes_its_file_once(rag: RAG, tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    shutil.copy(SEEDS / ITALIAN, docs / ITALIAN)
    (docs / "alias.txt").symlink_to(docs / ITALIAN)

    report = rag.ingest(docs)

    assert report.files_indexed == 1 and [d.source for d in rag.documents()] == [ITALIAN]


def test_links_to_folders_are_not_followed(tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "a.txt").write_text("a", encoding="utf-8")
    (docs / "loop").symlink_to(docs)  # a cycle, if followed

    assert walk(docs).files == [docs / "a.txt"]


@pytest.fixture
def deep(tmp_path: Path) -> Iterator[Path]:
    """``deep/d/d/.../d/bottom.txt``, a thousand folders down (made and removed level by level: the
    standard library's recursive helpers would hit Python's recursion limit themselves)."""
    docs = folder = tmp_path / "deep"
    levels = [docs]
    for _ in range(1000):
        folder = folder / "d"
        levels.append(folder)
    for level in levels:
        level.mkdir()
    (folder / "bottom.txt").write_text(seed_text(TURKISH), encoding="utf-8")
    yield docs
    (folder / "bottom.txt").unlink()
    for level in reversed(levels):
        level.rmdir()


def test_a_folder_a_thousand_levels_deep_is_ingested(rag: RAG, deep: Path) -> None:
    report = rag.ingest(deep)

    assert report.files_indexed == 1 and rag.documents()[0].source == "bottom.txt"


# -- encodings ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("codec", ["utf-16", "utf-16-be"])
def test_a_utf16_file_with_its_byte_order_mark_is_decoded(codec: str) -> None:
    text = "Ο Λαβρόφ συναντήθηκε με τον Κιμ.\n"
    raw = ("\ufeff" + text).encode(codec) if codec == "utf-16-be" else text.encode(codec)

    assert decode(raw, "a.txt", 10**6) == text


def test_a_latin1_file_gets_a_western_european_hint() -> None:
    raw = "Il festival è aperto: città, università e caffè.\n".encode("latin-1")

    reason = decode(raw, "a.txt", 10**6).reason

    assert "WINDOWS-1252" in reason and "WINDOWS-1253" not in reason


def test_a_greek_legacy_file_gets_the_greek_hint() -> None:
    raw = "Ο Λαβρόφ συναντήθηκε με τον Κιμ Γιονγκ Ουν.\n".encode("cp1253")

    assert "WINDOWS-1253" in decode(raw, "a.txt", 10**6).reason


# -- the facade the chat page uses ----------------------------------------------------------------------------


def test_documents_describe_each_indexed_file(settings: Settings, make_rag, three: Path) -> None:
    rag = make_rag(settings)
    upload = settings.uploads_dir / "upload.txt"
    upload.parent.mkdir(parents=True)
    shutil.copy(SEEDS / TURKISH, upload)
    started = time.time()
    rag.ingest(upload)

    docs = {d.path: d for d in rag.documents()}

    assert len(docs) == 4  # the single uploaded file did not remove the folder's three
    uploaded = docs[str(upload.resolve())]
    assert uploaded.origin == "upload" and uploaded.source == "upload.txt" and uploaded.language == "tr"
    assert uploaded.added is not None and started - 1 <= uploaded.added <= time.time()
    assert uploaded.doc_id == doc_id_for(upload.resolve())
    italian = docs[str((three / ITALIAN).resolve())]
    assert italian.origin == "folder" and italian.title and italian.chunks == len(chunk_ids_of(rag, three / ITALIAN))


def test_document_text_is_what_the_chunk_spans_index_into(rag: RAG, three: Path) -> None:
    doc = next(d for d in rag.documents() if d.source == ITALIAN)

    text = rag.document_text(doc.doc_id)

    assert text == seed_text(ITALIAN)
    for _, meta, chunk in rag.store.iter_rows(include_documents=True):
        if meta["doc_id"] == doc.doc_id:
            assert text[meta["start"] : meta["end"]] == chunk


def test_document_text_of_a_deleted_file_comes_from_its_chunks(rag: RAG, three: Path) -> None:
    doc = next(d for d in rag.documents() if d.source == ITALIAN)
    (three / ITALIAN).unlink()

    text = rag.document_text(doc.doc_id)

    for _, meta, chunk in rag.store.iter_rows(include_documents=True):
        if meta["doc_id"] == doc.doc_id:
            assert text[meta["start"] : meta["end"]] == chunk


def test_document_text_of_an_unknown_id_says_so(rag: RAG, three: Path) -> None:
    with pytest.raises(IngestError, match="no indexed document"):
        rag.document_text("0" * 16)


def test_remove_takes_one_document_out_of_chroma_bm25_and_the_manifest(rag: RAG, years: Path) -> None:
    rag.ingest(years)
    gone, kept = sorted(rag.documents(), key=lambda d: d.language)  # it, tr
    kept_ids = chunk_ids_of(rag, Path(kept.path))

    removed = rag.remove(gone.doc_id)

    assert removed == gone.chunks > 0
    assert [d.doc_id for d in rag.documents()] == [kept.doc_id]
    assert {cid for cid, _, _ in rag.store.iter_rows()} == kept_ids == bm25_ids(rag)
    saved = manifest.load(rag.settings.manifest_dir / "news.json", rag.store.version)
    assert saved is not None and list(saved) == [kept.path]
    assert rag.remove(gone.doc_id) == 0


def test_progress_is_reported_per_file_and_per_write(settings: Settings, make_rag, three: Path) -> None:
    seen: list[IngestProgress] = []
    rag = make_rag(settings.model_copy(update={"chunk_size": 96, "chunk_overlap": 16}))

    report = rag.ingest(three, on_progress=seen.append)

    assert [p.files_done for p in seen][-1] == 3 and all(p.files_total == 3 for p in seen)
    assert {1, 2, 3} <= {p.files_done for p in seen}
    assert seen[-1].chunks_done == report.chunks_embedded
    assert [p.seconds for p in seen] == sorted(p.seconds for p in seen)


def test_a_question_is_answered_while_an_ingest_runs_in_the_same_process(
    rag: RAG, three: Path, tmp_path: Path
) -> None:
    more = tmp_path / "more"
    more.mkdir()
    (more / "new.txt").write_text(seed_text(TURKISH).replace("Lavrov", "Lavrov'un"), encoding="utf-8")
    inside, release = threading.Event(), threading.Event()

    def hold(_: IngestProgress) -> None:  # the ingest waits here, holding the ingest lock
        inside.set()
        release.wait(30)

    writer = threading.Thread(target=rag.ingest, args=(more,), kwargs={"on_progress": hold})
    writer.start()
    try:
        assert inside.wait(30)
        started = time.perf_counter()
        passages = rag.retrieve("Lavrov ha incontrato Kim Jong Un")
        waited = time.perf_counter() - started
    finally:
        release.set()
        writer.join(60)
    assert passages and waited < 10  # answered, not held until the ingest ends
    assert not writer.is_alive()
