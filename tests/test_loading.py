"""Loading: titles, languages, boilerplate, and files that cannot be used (skipped with a reason)."""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers import GREEK, SEED_003_BOILERPLATE, SEED_LANGUAGES, SEEDS, loader_for, seed_text

from rag.errors import IngestError
from rag.loading import BoilerplateFilter
from rag.settings import Settings
from rag.types import Document, Skipped


def load(loader, path: Path) -> Document:
    doc = loader.load_file(path)
    assert isinstance(doc, Document), doc
    return doc


def write(folder: Path, name: str, data: bytes | str) -> Path:
    path = folder / name
    if isinstance(data, str):
        path.write_text(data, encoding="utf-8")
    else:
        path.write_bytes(data)
    return path


# -- titles ---------------------------------------------------------------------------------------------


def test_title_is_the_first_line_when_it_is_short(loader, tmp_path: Path) -> None:
    path = write(
        tmp_path, "a.txt", "Lavrov meets Kim in Wonsan\n\nThe Russian foreign minister met the leader.\n"
    )

    assert load(loader, path).title == "Lavrov meets Kim in Wonsan"


def test_title_is_the_first_sentence_when_the_first_line_is_a_paragraph(loader, tmp_path: Path) -> None:
    first = "Lavrov met Kim in Wonsan."
    paragraph = first + " " + "The two sides discussed their strategic partnership at length. " * 5
    path = write(tmp_path, "a.txt", paragraph + "\nSecond paragraph.\n")

    assert load(loader, path).title == first


def test_title_longer_than_160_characters_is_cut_at_a_word_with_an_ellipsis(loader) -> None:
    doc = load(loader, SEEDS / GREEK[0])  # its first sentence is a 250-character paragraph opener
    first_line = seed_text(GREEK[0]).split("\n", 1)[0]

    assert len(doc.title) <= 160
    assert doc.title.endswith("…")
    assert first_line.startswith(doc.title[:-1])
    assert first_line[len(doc.title) - 1] == " "  # cut between words


def test_title_skips_a_leading_boilerplate_line(loader, tmp_path: Path) -> None:
    path = write(
        tmp_path, "a.txt", "Seguici su Telegram per le notizie\nLavrov incontra Kim a Wonsan\nTesto.\n"
    )

    assert load(loader, path).title == "Lavrov incontra Kim a Wonsan"


# -- language -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("name", "language"), sorted(SEED_LANGUAGES.items()))
def test_language_is_detected_for_each_seed(loader, name: str, language: str) -> None:
    assert load(loader, SEEDS / name).language == language


# -- boilerplate ----------------------------------------------------------------------------------------


def test_closing_promotion_lines_of_003_are_removed_and_reported(loader) -> None:
    doc = load(loader, SEEDS / GREEK[2])
    kept = "".join(doc.text[s:e] for s, e in doc.kept)

    assert doc.removed_lines == SEED_003_BOILERPLATE
    for line in SEED_003_BOILERPLATE:
        assert line in doc.text  # the original text is untouched ...
        assert line not in kept  # ... but the line is not part of the news


@pytest.mark.parametrize("name", sorted(set(SEED_LANGUAGES) - {GREEK[2]}))
def test_seeds_without_promotion_lines_lose_nothing(loader, name: str) -> None:
    doc = load(loader, SEEDS / name)

    assert doc.removed_lines == ()
    assert "".join(doc.text[s:e] for s, e in doc.kept) == doc.text


def test_user_patterns_replace_the_default_boilerplate_patterns(tmp_path: Path) -> None:
    kremlin = (
        "Ο επικεφαλής του Κρεμλίνου είχε δηλώσει πως η συμμαχία αυτή προβλέπει"  # a news line, for the test
    )
    settings = Settings(
        data_dir=tmp_path / "data", boilerplate_patterns=[r"^Ο επικεφαλής του Κρεμλίνου\b.*$"]
    )

    doc = load(loader_for(settings), SEEDS / GREEK[2])
    kept = "".join(doc.text[s:e] for s, e in doc.kept)

    assert len(doc.removed_lines) == 1
    assert doc.removed_lines[0].startswith(kremlin)
    assert kremlin not in kept
    for line in SEED_003_BOILERPLATE:  # the defaults no longer apply
        assert line in kept


def test_boilerplate_patterns_are_case_insensitive_and_match_whole_stripped_lines() -> None:
    flt = BoilerplateFilter([r"^read more\b.*$"])

    assert flt.is_boilerplate("   READ MORE: the full story  \n")
    assert not flt.is_boilerplate("We will read more news tomorrow.")
    assert not flt.is_boilerplate("   \n")


def test_an_invalid_boilerplate_pattern_is_reported_with_the_setting_to_fix() -> None:
    with pytest.raises(IngestError, match="RAG_BOILERPLATE_PATTERNS"):
        BoilerplateFilter(["(unclosed"])


def test_a_file_of_only_boilerplate_is_skipped(loader, tmp_path: Path) -> None:
    path = write(tmp_path, "promo.txt", "Seguici su Instagram\nIscriviti alla newsletter\n")

    result = loader.load_file(path)

    assert isinstance(result, Skipped)
    assert "only boilerplate" in result.reason


# -- files that cannot be used ----------------------------------------------------------------------------

GREEK_SENTENCE = "Ο Λαβρόφ συναντήθηκε με τον Κιμ Γιονγκ Ουν στη Γουονσάν.\n"


@pytest.mark.parametrize(
    ("name", "data", "problem", "what_to_do"),
    [
        pytest.param("photo.txt", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "binary", ".txt", id="binary"),
        pytest.param("empty.txt", b"", "empty", "remove", id="empty"),
        pytest.param("blank.md", b"  \n\t\n\n", "empty", "remove", id="whitespace-only"),
        pytest.param("greek.txt", GREEK_SENTENCE.encode("cp1253"), "not UTF-8", "iconv", id="cp1253"),
        pytest.param(
            "article.docx", b"PK\x03\x04" + GREEK_SENTENCE.encode(), "unsupported type .docx", ".txt", id="docx"
        ),
        # A PDF is read (tests/test_formats.py); one that is not really a PDF says so.
        pytest.param("article.pdf", b"%PDF-1.7\n" + GREEK_SENTENCE.encode(), "cannot read this PDF", "save it",
                     id="broken-pdf"),
    ],
)
def test_unusable_file_is_skipped_with_a_reason_that_says_what_to_do(
    loader, tmp_path: Path, name: str, data: bytes, problem: str, what_to_do: str
) -> None:
    result = loader.load_file(write(tmp_path, name, data))

    assert isinstance(result, Skipped)
    assert result.path == name
    assert problem in result.reason
    assert what_to_do in result.reason


def test_a_file_above_the_size_limit_is_skipped_with_the_setting_to_raise(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "data", max_file_mb=0.001)  # 1000 bytes; the seed has ~4000

    result = loader_for(settings).load_file(SEEDS / GREEK[0])

    assert isinstance(result, Skipped)
    assert "larger than" in result.reason
    assert "RAG_MAX_FILE_MB" in result.reason


def test_load_keeps_going_past_bad_files_and_lists_them(loader, tmp_path: Path) -> None:
    good = write(tmp_path, "good.txt", GREEK_SENTENCE)
    bad = write(tmp_path, "bad.txt", b"\x00\x01")

    docs, skipped = loader.load([bad, good])

    assert [d.source for d in docs] == ["good.txt"]
    assert [s.path for s in skipped] == ["bad.txt"]


# -- encodings and line endings that are accepted ---------------------------------------------------------


def test_a_utf8_bom_is_accepted_and_not_part_of_the_text(loader, tmp_path: Path) -> None:
    path = write(tmp_path, "bom.txt", b"\xef\xbb\xbf" + ("Τίτλος άρθρου\n" + GREEK_SENTENCE).encode())

    doc = load(loader, path)

    assert not doc.text.startswith("\ufeff")
    assert doc.title == "Τίτλος άρθρου"
    assert doc.language == "el"


def test_windows_line_endings_are_accepted_and_normalised(loader, tmp_path: Path) -> None:
    crlf = ("Τίτλος άρθρου\n\n" + GREEK_SENTENCE).replace("\n", "\r\n")
    path = write(tmp_path, "crlf.txt", crlf.encode())

    doc = load(loader, path)

    assert doc.text == "Τίτλος άρθρου\n\n" + GREEK_SENTENCE
    assert doc.title == "Τίτλος άρθρου"
