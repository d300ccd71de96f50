"""The chat page in a real browser: Debian's chromium driven by playwright, the app served in-process.

The index is a copy of the session's seeded index; the language model is the fake Ollama server, which
answers like a grounded model: it copies the passage sentence that best matches the question and cites
that passage. Every test leaves a screenshot in ``test-artifacts/``.
"""

from __future__ import annotations

import json
import re
import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fake_ollama import FakeOllama
from helpers import REPO, SEEDS, free_port, isolated

from rag.pipeline import RAG
from rag.settings import Settings
from rag.web import build_app

playwright_api = pytest.importorskip("playwright.sync_api")
expect = playwright_api.expect

pytestmark = [
    pytest.mark.browser,
    # Gradio's queue statistics use pandas options that pandas 3 deprecates; not ours to fix.
    pytest.mark.filterwarnings("ignore:.*no_silent_downcasting"),
    pytest.mark.filterwarnings("ignore:The copy keyword is deprecated"),
]

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run"]
ARTIFACTS = REPO / "test-artifacts"
ANSWER_TIMEOUT = 90_000  # ms; real embeddings on a busy CI machine take seconds per answer

ENGLISH = "When did Lavrov meet Kim?"
GREEK = "Πού συναντήθηκε ο Λαβρόφ με τον Κιμ;"
ITALIAN_EXAMPLE = "Quando è stata inaugurata la nuova zona turistica costiera di Wonsan?"

UPLOAD_TEXT = """The Harbor Lantern Festival returns to Port Velmora

The Harbor Lantern Festival of Port Velmora opened on 3 March 2025 with twelve thousand paper lanterns.
The mayor of Port Velmora, Ilse Marrak, said the festival will now be held every spring.
"""
UPLOAD_QUESTION = "When did the Harbor Lantern Festival of Port Velmora open?"


# -- a grounded fake model ----------------------------------------------------------------------------

_WORD = re.compile(r"\w{3,}")
_PASSAGE = re.compile(r"^\[(\d+)\] title: [^\n]*\n(.*?)(?=\n\n\[\d+\] title: |\n\nQuestion: )", re.S | re.M)


def _words(text: str) -> set[str]:
    return {w.casefold() for w in _WORD.findall(text)}


def grounded_reply(request: dict) -> str | list[str]:
    """Translations as JSON, follow-ups echoed, answers = the best-matching passage sentence + its marker."""
    prompt = FakeOllama.prompt_of(request)
    if "Translate this question" in prompt:
        codes = re.findall(r'"([a-z]{2})" \(', prompt)
        question = prompt.rsplit("Question:", 1)[1].strip()
        return [json.dumps({c: question for c in codes}, ensure_ascii=False)]  # one piece: not streamed
    if "Standalone question:" in prompt:
        return [prompt.split("Last message:", 1)[1].split("\n", 1)[0].strip()]
    user = FakeOllama.last_user_message(request)
    question = _words(user.rsplit("Question:", 1)[1].split("\n", 1)[0])
    candidates = [
        ((len(question & _words(sentence)), len(sentence)), int(number), sentence.strip())
        for number, text in _PASSAGE.findall(user)
        for sentence in re.split(r"(?<=[.!?;])\s+|\n+", text.strip())
        if len(sentence.strip()) > 20
    ]
    _, number, sentence = max(candidates, key=lambda c: c[0])  # most shared words, then the longest
    return f"{sentence} [{number}]"


# -- servers ------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def browser() -> Iterator:
    if not CHROMIUM.exists():
        pytest.fail("chromium is missing: run `apt-get install -y chromium` (the tests drive Debian's build)")
    ARTIFACTS.mkdir(exist_ok=True)
    with playwright_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        yield b
        b.close()


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeOllama]:
    # A short pause between stream lines, so the page can be seen streaming.
    with FakeOllama(models={"gemma3:4b": 32768}, default=grounded_reply, chunk_delay=0.03) as f:
        yield f


@pytest.fixture(scope="module")
def down_ollama() -> Iterator[FakeOllama]:
    """A fake Ollama that is not running (its port is known, so a test can start it)."""
    f = FakeOllama(models={"gemma3:4b": 32768}, default=grounded_reply).start()
    f.stop()
    yield f
    f.stop()


def _serve(rag: RAG, status_every: float = 5.0) -> tuple:
    app = build_app(rag, status_every=status_every)
    port = free_port()
    app.launch(prevent_thread_lock=True, server_name="127.0.0.1", server_port=port, quiet=True)
    return app, f"http://127.0.0.1:{port}/"


@pytest.fixture(scope="module")
def _copies(seeded_rag_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("browser")


def _make_rag(root: Path, seeded: Path, embedder, **settings) -> RAG:  # noqa: ANN001
    data = root / "data"
    shutil.copytree(seeded, data)
    with isolated(root):
        return RAG(Settings(data_dir=data, docs_dir=SEEDS, **settings), embedder=embedder)


@pytest.fixture(scope="module")
def live(_copies: Path, seeded_rag_dir: Path, embedder, fake: FakeOllama) -> Iterator[tuple[RAG, str]]:
    """The page with the fake model up; uploads are limited to 50 kB so "too large" is cheap to test."""
    rag = _make_rag(_copies / "live", seeded_rag_dir, embedder, ollama_host=fake.url, max_file_mb=0.05,
                    concurrency=2)
    app, url = _serve(rag)
    yield rag, url
    app.close()


@pytest.fixture(scope="module")
def offline(_copies: Path, seeded_rag_dir: Path, embedder, down_ollama: FakeOllama) -> Iterator[str]:
    """The page with Ollama down; the status refreshes every second."""
    rag = _make_rag(_copies / "offline", seeded_rag_dir, embedder, ollama_host=down_ollama.url)
    app, url = _serve(rag, status_every=1.0)
    yield url
    app.close()


# -- pages --------------------------------------------------------------------------------------------


def _shot(page, name: str) -> None:  # noqa: ANN001
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


@pytest.fixture
def open_page(browser, request: pytest.FixtureRequest):  # noqa: ANN001, ANN201
    """Open a URL in a fresh browser context (a new user); a screenshot of each page is saved at the end."""
    contexts = []

    def open_(url: str):  # noqa: ANN202
        context = browser.new_context(viewport={"width": 1200, "height": 900})
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(30_000)
        page.goto(url)
        expect(page.locator("#rag-question textarea")).to_be_editable()
        return page

    yield open_
    for i, context in enumerate(contexts):
        for page in context.pages:
            suffix = f"-{i + 1}" if len(contexts) > 1 else ""
            try:
                _shot(page, f"{request.node.name}{suffix}")
            finally:
                context.close()


def ask(page, question: str) -> None:  # noqa: ANN001
    box = page.locator("#rag-question textarea")
    box.fill(question)
    box.press("Enter")


def upload(page, path: Path) -> None:  # noqa: ANN001
    """Pick a file with the upload button, as a person would."""
    with page.expect_file_chooser() as chooser:
        page.locator("#rag-upload").click()
    chooser.value.set_files(str(path))


def last_answer(page, n: int = 1):  # noqa: ANN001, ANN201
    """The last answer, once the ``n``-th finished answer of the page is there."""
    finished = page.locator("#rag-chat .rag-answer:not(.rag-pending):not(:has(.rag-cursor))")
    expect(finished).to_have_count(n, timeout=ANSWER_TIMEOUT)
    return finished.last


def assert_cited_and_highlighted(answer) -> None:  # noqa: ANN001
    chips = answer.locator("a.rag-cite")
    assert chips.count() >= 1, answer.inner_html()
    sources = answer.locator("details.rag-sources .rag-source")
    assert sources.count() >= 1
    # The chip jumps to its own source, which opens the collapsed list.
    target = chips.first.get_attribute("href")
    chips.first.click()
    source = answer.locator(target)
    expect(source).to_be_visible()
    mark = source.locator("mark")
    expect(mark).to_have_count(1)
    assert len(mark.inner_text().strip()) > 20
    assert re.search(r"\d{3}_[0-9a-f]{16}\.txt|-[\w-]+\.txt", source.locator(".rag-source-meta").inner_text())


# -- the tests ------------------------------------------------------------------------------------------


def test_page_loads_with_status_examples_and_controls(live, open_page) -> None:
    _, url = live
    page = open_page(url)
    expect(page).to_have_title("Polyglot news QA")
    status = page.locator("#rag-status")
    expect(status).to_contain_text("gemma3:4b", timeout=15_000)
    expect(status).to_contain_text("reachable")
    expect(status).to_contain_text("5 articles")
    expect(page.locator(".rag-example")).to_have_count(4)
    page.get_by_text("Search and model settings").click()
    for control in ("#rag-top-k", "#rag-language", "#rag-model", "#rag-temperature"):
        expect(page.locator(control)).to_be_visible()


def test_english_question_streams_an_answer_citing_a_highlighted_sentence(live, open_page) -> None:
    _, url = live
    page = open_page(url)
    ask(page, ENGLISH)
    expect(page.locator("#rag-chat .rag-cursor")).to_have_count(1, timeout=ANSWER_TIMEOUT)  # streaming
    answer = last_answer(page)
    assert "Lavrov" in answer.locator(".rag-text").inner_text()
    assert_cited_and_highlighted(answer)


def test_greek_question_gets_a_cited_answer_with_a_highlighted_sentence(live, open_page) -> None:
    _, url = live
    page = open_page(url)
    ask(page, GREEK)
    answer = last_answer(page)
    assert re.search("[α-ω]", answer.locator(".rag-text").inner_text())  # the fake copied a Greek sentence
    assert_cited_and_highlighted(answer)


def test_an_example_button_asks_its_question(live, open_page) -> None:
    _, url = live
    page = open_page(url)
    page.locator(".rag-example", has_text="Wonsan").click()
    expect(page.locator("#rag-chat")).to_contain_text(ITALIAN_EXAMPLE)
    assert_cited_and_highlighted(last_answer(page))


def test_an_uploaded_article_is_indexed_and_cited(live, open_page, tmp_path: Path) -> None:
    rag, url = live
    article = tmp_path / "velmora festival.txt"
    article.write_text(UPLOAD_TEXT, encoding="utf-8")
    page = open_page(url)
    upload(page, article)
    expect(page.locator("#rag-upload-status")).to_contain_text("added as", timeout=ANSWER_TIMEOUT)
    expect(page.locator("#rag-status")).to_contain_text("6 articles", timeout=15_000)
    stored = list(rag.settings.uploads_dir.iterdir())
    assert [p.name for p in stored] == [re.sub(r".*added as (\S+):.*", r"\1",
                                               page.locator("#rag-upload-status").inner_text())]
    ask(page, UPLOAD_QUESTION)
    answer = last_answer(page)
    assert_cited_and_highlighted(answer)
    assert "velmora-festival.txt" in answer.locator(".rag-sources").inner_text()
    assert "3 March 2025" in answer.locator("mark").first.inner_text()


def test_bad_uploads_show_their_reason_and_leave_the_index_alone(live, open_page, tmp_path: Path) -> None:
    rag, url = live
    before = rag.stats()
    page = open_page(url)
    status = page.locator("#rag-upload-status")
    cases = {
        "scan.txt": (b"%PDF-1.7\x00\x01\x02binary" * 10, "binary file"),
        "huge.txt": (b"news " * 12_000, "larger than 0.1 MB"),  # 60 kB, over the 50 kB limit
        "greek-1253.txt": ("Ο Λαβρόφ συναντήθηκε με τον Κιμ.".encode("cp1253"), "not UTF-8"),
    }
    for name, (raw, reason) in cases.items():
        (tmp_path / name).write_bytes(raw)
        upload(page, tmp_path / name)
        expect(status).to_contain_text(f"{name} was not added", timeout=30_000)
        expect(status).to_contain_text(reason)
    assert rag.stats() == before
    stored = rag.settings.uploads_dir.iterdir() if rag.settings.uploads_dir.exists() else []
    assert not [p for p in stored if p.name.endswith(("-scan.txt", "-huge.txt", "-greek-1253.txt"))]


def test_retrieval_only_banner_and_cited_answer_when_ollama_is_down(offline, down_ollama, open_page) -> None:
    down_ollama.stop()
    page = open_page(offline)
    expect(page.locator("#rag-status")).to_contain_text(
        f"retrieval-only: Ollama is not running at {down_ollama.url}", timeout=15_000)
    ask(page, ENGLISH)
    answer = last_answer(page)
    expect(answer.locator(".rag-notice")).to_contain_text("retrieval-only")
    assert_cited_and_highlighted(answer)


def test_status_line_notices_when_ollama_comes_back_without_a_reload(offline, down_ollama, open_page) -> None:
    down_ollama.stop()
    page = open_page(offline)
    status = page.locator("#rag-status")
    expect(status).to_contain_text("retrieval-only", timeout=15_000)
    down_ollama.start()
    try:
        expect(status).to_contain_text("reachable", timeout=20_000)  # timer 1 s + health cache 5 s
        expect(status).not_to_contain_text("retrieval-only")
    finally:
        down_ollama.stop()


def test_two_browser_contexts_keep_separate_histories(live, fake: FakeOllama, open_page) -> None:
    _, url = live
    alice, bob = open_page(url), open_page(url)
    ask(alice, ENGLISH)
    ask(bob, ITALIAN_EXAMPLE)
    last_answer(alice)
    last_answer(bob)
    before = len(fake.bodies("/api/chat"))
    ask(alice, "Where did they meet?")
    last_answer(alice, 2)
    expect(alice.locator("#rag-chat")).not_to_contain_text(ITALIAN_EXAMPLE)
    expect(bob.locator("#rag-chat")).not_to_contain_text(ENGLISH)
    expect(bob.locator("#rag-chat .rag-answer")).to_have_count(1)
    # The follow-up was condensed with Alice's history only.
    condense = [FakeOllama.prompt_of(b) for b in fake.bodies("/api/chat")[before:]
                if "Standalone question:" in FakeOllama.prompt_of(b)]
    assert condense and ENGLISH in condense[0] and ITALIAN_EXAMPLE not in condense[0]


def test_new_chat_clears_the_conversation(live, open_page) -> None:
    _, url = live
    page = open_page(url)
    ask(page, ENGLISH)
    last_answer(page)
    page.locator("#rag-new-chat").click()
    expect(page.locator("#rag-chat .rag-answer")).to_have_count(0)
    expect(page.locator("#rag-question textarea")).to_be_editable()


def test_five_concurrent_questions_all_get_answers(live, open_page) -> None:
    _, url = live
    questions = [ENGLISH, GREEK, ITALIAN_EXAMPLE, "Lavrov, Kuzey Kore ile hangi alanlarda işbirliğini "
                 "derinleştirmek istiyor?", "Who received Lavrov in Wonsan?"]
    pages = [open_page(url) for _ in questions]
    started = time.monotonic()
    for page, question in zip(pages, questions, strict=True):
        ask(page, question)
    # Two answers at a time (settings.concurrency): the last question waits, and its page says so.
    expect(pages[-1].locator("#rag-chat")).to_contain_text("queue:")
    for page, question in zip(pages, questions, strict=True):
        expect(page.locator("#rag-chat")).to_contain_text(question)
        answer = last_answer(page)
        assert answer.locator("a.rag-cite").count() >= 1
        expect(answer.locator(".rag-error")).to_have_count(0)
    assert time.monotonic() - started < ANSWER_TIMEOUT / 1000
