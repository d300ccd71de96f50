"""Chunking: spans into the original article, full coverage, stable ids, sizes in the embedder's tokens."""

from __future__ import annotations

import shutil
import statistics
from pathlib import Path

import pytest
from helpers import GREEK, SEED_003_BOILERPLATE, SEED_LANGUAGES, SEEDS, TURKISH

from rag.chunking import Chunker, chunk_id, language_of_id
from rag.settings import Settings
from rag.types import Chunk, Document

ALL_SEEDS = sorted(SEED_LANGUAGES)


@pytest.fixture
def chunker(settings: Settings, embedder) -> Chunker:  # noqa: ANN001
    """The chunker RAG builds: default sizes, counted in the real embedder's tokens."""
    return Chunker(settings.chunk_size, settings.chunk_overlap, embedder.token_counter)


def load(loader, path: Path) -> Document:  # noqa: ANN001
    doc = loader.load_file(path)
    assert isinstance(doc, Document), doc
    return doc


def chunks_of(loader, chunker: Chunker, name: str) -> tuple[Document, list[Chunk]]:  # noqa: ANN001
    doc = load(loader, SEEDS / name)
    return doc, chunker.split(doc)


# -- spans ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ALL_SEEDS)
def test_chunk_text_is_the_original_text_at_its_span(loader, chunker: Chunker, name: str) -> None:
    doc, chunks = chunks_of(loader, chunker, name)

    assert chunks
    for c in chunks:
        assert c.text == doc.text[c.start : c.end]


@pytest.mark.parametrize("name", ALL_SEEDS)
def test_chunks_cover_every_character_of_the_news_text(loader, chunker: Chunker, name: str) -> None:
    doc, chunks = chunks_of(loader, chunker, name)
    covered = set()
    for c in chunks:
        covered.update(range(c.start, c.end))

    news = {i for s, e in doc.kept for i in range(s, e) if not doc.text[i].isspace()}
    assert news - covered == set()


def test_spans_point_into_the_original_file_after_boilerplate_removal(loader, chunker: Chunker) -> None:
    doc, chunks = chunks_of(loader, chunker, GREEK[2])
    boilerplate_start = doc.text.index(SEED_003_BOILERPLATE[0])

    assert doc.text == (SEEDS / GREEK[2]).read_text(encoding="utf-8")  # offsets are into the file as it is
    assert all(c.end <= boilerplate_start for c in chunks)
    assert not any(line in c.text for c in chunks for line in SEED_003_BOILERPLATE)


def test_chunks_are_numbered_in_document_order(loader, chunker: Chunker) -> None:
    _, chunks = chunks_of(loader, chunker, GREEK[0])

    assert [c.index for c in chunks] == list(range(len(chunks)))
    assert {c.n_chunks for c in chunks} == {len(chunks)}
    assert [c.start for c in chunks] == sorted(c.start for c in chunks)


def test_chunks_carry_the_metadata_of_their_document(loader, chunker: Chunker) -> None:
    doc, chunks = chunks_of(loader, chunker, TURKISH)

    for c in chunks:
        assert (c.source, c.language, c.title, c.doc_sha256) == (TURKISH, "tr", doc.title, doc.sha256)
        assert c.metadata()["start"] == c.start and c.metadata()["end"] == c.end


# -- ids --------------------------------------------------------------------------------------------------


def test_chunk_ids_are_the_same_on_every_run(loader, settings: Settings, embedder) -> None:  # noqa: ANN001
    first = Chunker(settings.chunk_size, settings.chunk_overlap, embedder.token_counter)
    second = Chunker(settings.chunk_size, settings.chunk_overlap, embedder.token_counter)

    ids = [c.id for c in first.split(load(loader, SEEDS / GREEK[1]))]

    assert ids == [c.id for c in second.split(load(loader, SEEDS / GREEK[1]))]
    assert len(set(ids)) == len(ids)


def test_chunk_ids_change_when_the_content_changes(loader, chunker: Chunker, tmp_path: Path) -> None:
    path = tmp_path / TURKISH
    shutil.copy(SEEDS / TURKISH, path)
    before = {c.id for c in chunker.split(load(loader, path))}

    path.write_text(path.read_text(encoding="utf-8").replace("Lavrov", "Lavrov'un", 1), encoding="utf-8")
    after = {c.id for c in chunker.split(load(loader, path))}

    assert before.isdisjoint(after)


def test_chunk_id_depends_on_document_content_hash_shape_and_position() -> None:
    base = chunk_id("el", "d" * 16, "f" * 64, "s" * 12, 0)

    assert chunk_id("el", "d" * 16, "f" * 64, "s" * 12, 0) == base
    assert chunk_id("el", "e" * 16, "f" * 64, "s" * 12, 0) != base  # another document (another path)
    assert chunk_id("el", "d" * 16, "e" * 64, "s" * 12, 0) != base  # other content
    assert chunk_id("el", "d" * 16, "f" * 64, "t" * 12, 0) != base  # other chunking settings
    assert chunk_id("el", "d" * 16, "f" * 64, "s" * 12, 1) != base


def test_a_chunk_id_tells_its_language(loader, chunker: Chunker) -> None:  # noqa: ANN001
    chunks = chunker.split(load(loader, SEEDS / TURKISH))

    assert {language_of_id(c.id) for c in chunks} == {"tr"}
    assert language_of_id("0123456789abcdef-00003") is None  # an id from an index older than the prefix


def test_same_name_files_in_two_folders_get_different_ids(loader, chunker: Chunker, tmp_path: Path) -> None:  # noqa: ANN001
    for year in ("2024", "2025"):
        (tmp_path / year).mkdir()
        shutil.copy(SEEDS / TURKISH, tmp_path / year / "story.txt")

    ids = [{c.id for c in chunker.split(load(loader, tmp_path / y / "story.txt"))} for y in ("2024", "2025")]

    assert ids[0].isdisjoint(ids[1])


def test_other_chunking_settings_give_other_ids_for_the_same_file(loader, embedder) -> None:  # noqa: ANN001
    doc = load(loader, SEEDS / TURKISH)
    plain = Chunker(256, 32, embedder.token_counter)
    other_rules = Chunker(256, 32, embedder.token_counter, boilerplate=["^never$"])

    assert plain.shape.key != other_rules.shape.key
    assert {c.id for c in plain.split(doc)}.isdisjoint({c.id for c in other_rules.split(doc)})


# -- sizes in the embedder's tokens -------------------------------------------------------------------------


@pytest.mark.parametrize("name", ALL_SEEDS)
def test_every_chunk_fits_the_chunk_size_in_embedder_tokens(
    loader,
    chunker: Chunker,
    settings: Settings,
    embedder,
    name: str,  # noqa: ANN001
) -> None:
    _, chunks = chunks_of(loader, chunker, name)

    assert all(embedder.count_tokens(c.text) <= settings.chunk_size for c in chunks)


def test_greek_and_turkish_chunks_fill_a_comparable_share_of_the_window(
    loader,
    chunker: Chunker,
    settings: Settings,
    embedder,  # noqa: ANN001
) -> None:
    def full_chunks(names: list[str]) -> list[Chunk]:  # every chunk but a document's last (shorter) one
        return [c for n in names for c in chunks_of(loader, chunker, n)[1][:-1]]

    greek, turkish = full_chunks(list(GREEK)), full_chunks([TURKISH])
    greek_tokens = statistics.mean(embedder.count_tokens(c.text) for c in greek)
    turkish_tokens = statistics.mean(embedder.count_tokens(c.text) for c in turkish)
    greek_chars = statistics.mean(len(c.text) for c in greek)
    turkish_chars = statistics.mean(len(c.text) for c in turkish)

    # The same token budget holds many more Turkish characters than Greek ones ...
    assert turkish_chars > 1.2 * greek_chars
    # ... yet both languages fill the embedder's window alike.
    assert min(greek_tokens, turkish_tokens) >= 0.7 * settings.chunk_size
    assert max(greek_tokens, turkish_tokens) <= 1.2 * min(greek_tokens, turkish_tokens)


def test_a_smaller_chunk_size_gives_more_and_smaller_chunks(loader, embedder) -> None:  # noqa: ANN001
    doc = load(loader, SEEDS / TURKISH)

    large = Chunker(256, 32, embedder.token_counter).split(doc)
    small = Chunker(64, 8, embedder.token_counter).split(doc)

    assert len(small) > len(large)
    assert all(embedder.count_tokens(c.text) <= 64 for c in small)


@pytest.mark.parametrize(("size", "overlap"), [(64, 64), (64, 100)])
def test_overlap_not_smaller_than_the_size_is_refused(size: int, overlap: int) -> None:
    with pytest.raises(ValueError, match="chunk_overlap"):
        Chunker(size, overlap)


def test_settings_refuse_an_overlap_not_smaller_than_the_size(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="must be smaller than chunk_size"):
        Settings(data_dir=tmp_path, chunk_size=64, chunk_overlap=64)


def test_boilerplate_in_the_middle_of_an_article_is_in_no_chunk(settings) -> None:
    from rag.language import LanguageDetector
    from rag.loading import BoilerplateFilter, Loader

    text = ("Il ministro Lavrov ha incontrato Kim a Wonsan.\n"
            "Leggi anche: le ultime notizie dal mondo.\n"
            "La visita è durata fino al 13 luglio.\n")
    loader = Loader(LanguageDetector(settings.languages), BoilerplateFilter(settings.boilerplate_patterns), 5)
    doc = loader.load_text(text, Path("mid.txt"), "0" * 64)
    chunks = Chunker(settings.chunk_size, settings.chunk_overlap).split(doc)

    assert doc.removed_lines == ("Leggi anche: le ultime notizie dal mondo.",)
    assert all("Leggi anche" not in c.text for c in chunks)
    assert all(c.text == text[c.start : c.end] for c in chunks)
    assert any("Wonsan" in c.text for c in chunks) and any("13 luglio" in c.text for c in chunks)
