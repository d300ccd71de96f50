"""BM25 saved beside the store: several savers on one data folder always leave a whole, loadable index."""

from __future__ import annotations

import threading
from pathlib import Path

import bm25s
import pytest

from rag.language import language_name, snowball_algorithm
from rag.lexical import LexicalIndex

ENGLISH = [("en#0", "The foreign ministers met in Wonsan on Tuesday."), ("en#1", "Energy supplies were discussed.")]
ITALIAN = [("it#0", "Lavrov ha incontrato Kim Jong Un a Wonsan."), ("it#1", "Si è parlato di energia.")]
GREEK = [("el#0", "Ο Λαβρόφ συναντήθηκε με τον Κιμ Γιονγκ Ουν."), ("el#1", "Συζητήθηκε η ενέργεια.")]


def index_of(directory: Path, **languages: list[tuple[str, str]]) -> LexicalIndex:
    """A LexicalIndex on ``directory`` holding the given languages' rows (not saved yet)."""
    index = LexicalIndex(directory)
    for language, rows in languages.items():
        index.build(language, rows)
    return index


def side_folders(directory: Path) -> list[str]:
    """Whatever a save left beside the index folder."""
    return sorted(p.name for p in directory.parent.iterdir() if p != directory)


def test_a_saved_index_loads_with_its_version_and_finds_its_chunks(tmp_path: Path) -> None:
    folder = tmp_path / "bm25" / "news"
    index_of(folder, en=ENGLISH, it=ITALIAN).save(7)

    loaded = LexicalIndex(folder)

    assert loaded.load()
    assert (loaded.version, loaded.languages) == (7, ["en", "it"])
    assert loaded.search("ministers in Wonsan", "en", 5)[0][0] == "en#0"
    assert side_folders(folder) == []


def test_indexes_saved_alternately_by_two_savers_leave_the_last_one(tmp_path: Path) -> None:
    folder = tmp_path / "bm25" / "news"
    first, second = index_of(folder, en=ENGLISH, it=ITALIAN), index_of(folder, en=ENGLISH, el=GREEK)

    first.save(1)
    second.save(2)
    first.save(3)

    loaded = LexicalIndex(folder)
    assert loaded.load()
    assert (loaded.version, loaded.languages) == (3, ["en", "it"])
    assert side_folders(folder) == []


def test_two_savers_on_one_folder_at_once_leave_a_whole_loadable_index(tmp_path: Path) -> None:
    # Two processes sharing a data folder (chat-page workers, `rag ingest`) may save at the same moment.
    folder = tmp_path / "bm25" / "news"
    savers = {"it": index_of(folder, en=ENGLISH, it=ITALIAN), "el": index_of(folder, en=ENGLISH, el=GREEK)}
    start = threading.Barrier(len(savers))
    errors: list[BaseException] = []

    def save_repeatedly(index: LexicalIndex, version: int) -> None:
        start.wait()
        try:
            for i in range(25):
                index.save(version + i)
        except BaseException as exc:  # reported by the main thread
            errors.append(exc)

    threads = [threading.Thread(target=save_repeatedly, args=(index, 100 * n)) for n, index in
               enumerate(savers.values(), start=1)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert errors == []
    loaded = LexicalIndex(folder)
    assert loaded.load()
    other = "it" if loaded.version < 200 else "el"  # the last save to land wins, whole
    assert loaded.languages == sorted(["en", other])
    assert loaded.search("Wonsan", "en", 5)[0][0] == "en#0"
    assert side_folders(folder) == []


def test_a_save_that_fails_keeps_the_previous_index_and_leaves_nothing_beside_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "bm25" / "news"
    index = index_of(folder, en=ENGLISH, it=ITALIAN)
    index.save(1)
    index.build("el", GREEK)

    def disk_full(*args: object, **kwargs: object) -> None:
        raise OSError("disk full")

    with monkeypatch.context() as mp:
        mp.setattr(bm25s.BM25, "save", disk_full)
        with pytest.raises(OSError, match="disk full"):
            index.save(2)

    loaded = LexicalIndex(folder)
    assert loaded.load()
    assert (loaded.version, loaded.languages) == (1, ["en", "it"])
    assert side_folders(folder) == []


@pytest.mark.parametrize(
    ("code", "algorithm"),
    [("el", "greek"), ("it", "italian"), ("tr", "turkish"), ("en", "english"), ("no", "norwegian"),
     ("zh", None), ("ja", None), ("xx", None)],
)
def test_the_stemmer_is_snowballs_for_the_language_or_none(code: str, algorithm: str | None) -> None:
    assert snowball_algorithm(code) == algorithm


@pytest.mark.parametrize(("code", "name"), [("el", "Greek"), ("tr", "Turkish"), ("zh", "Chinese"), ("xx", "xx")])
def test_language_names_come_from_the_iso_code(code: str, name: str) -> None:
    assert language_name(code) == name
