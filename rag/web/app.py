"""The Gradio chat page: layout, per-session state, and the handlers that call ``RAG``.

Handlers live on ``ChatPage`` so they can be called (and tested) without a browser; ``build_app``
only wires them to components. Errors are converted here, once, into readable chat messages.
"""

from __future__ import annotations

import logging
import os
import threading
import time
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import gradio as gr

from rag.errors import RagError
from rag.pipeline import RAG
from rag.settings import Settings
from rag.types import Answer, IndexStats
from rag.web.html import (
    CSS,
    language_choices,
    markdown_text,
    model_choices,
    render_answer,
    render_error,
    render_pending,
    render_streaming,
    render_user,
    status_markdown,
)
from rag.web.uploads import accept_upload

log = logging.getLogger(__name__)

EXAMPLES = (
    "When did Lavrov meet Kim?",
    "Πού συναντήθηκε ο Λαβρόφ με τον Κιμ;",
    "Quando è stata inaugurata la nuova zona turistica costiera di Wonsan?",
    "Lavrov, Kuzey Kore ile hangi alanlarda işbirliğini derinleştirmek istiyor?",
)

QUEUED = "Queued: waiting for a free slot…"
SEARCHING = "Searching the articles…"


@dataclass
class ChatSession:
    """One browser session's conversation. Gradio gives every session its own deep copy."""

    messages: list[dict[str, str]] = field(default_factory=list)  # what the chat shows (HTML)
    turns: list[dict[str, str]] = field(default_factory=list)  # plain text, for follow-up questions
    pending: str | None = None  # the accepted question the next `respond` answers
    busy: bool = False  # a question is queued or being answered
    generation: int = 0  # bumped by "New chat", so an abandoned answer cannot write into the new one


def _assistant(html: str) -> dict[str, str]:
    return {"role": "assistant", "content": html}


def describe_failure(exc: Exception) -> str:
    """One readable line for an error that is not a ``RagError`` (never a traceback)."""
    module = type(exc).__module__
    if module.startswith("chromadb") or module.startswith("httpx") or isinstance(exc, ConnectionError):
        return (f"the search index cannot be reached ({type(exc).__name__}: {exc}); if it is a Chroma "
                f"server, check that it is running, then ask again")
    return f"something went wrong ({type(exc).__name__}: {exc}); the details are in the server log"


class ChatPage:
    """The page's behaviour over one shared ``RAG``; per-user data lives in ``ChatSession``."""

    def __init__(self, rag: RAG, *, status_every: float = 5.0) -> None:
        self.rag = rag
        self.status_every = status_every
        self._stats_lock = threading.Lock()
        self._stats: tuple[float, IndexStats | None, str | None] | None = None

    # -- asking --------------------------------------------------------------------------------------

    def accept(self, question: str | None, session: ChatSession) -> tuple[Any, Any]:
        """Show the question at once with a "queued" placeholder; `respond` answers it."""
        text = (question or "").strip()
        if session.busy or not text:
            return gr.skip(), gr.skip()
        session.busy = True
        session.pending = text
        session.messages = [*session.messages, {"role": "user", "content": render_user(text)},
                            _assistant(render_pending(QUEUED))]
        return session.messages, gr.Textbox(value="", interactive=False)

    def respond(
        self, session: ChatSession, top_k: float, language: str | None, model: str | None, temperature: float
    ) -> Iterator[tuple[Any, Any]]:
        """Stream the answer to the pending question into the last chat message."""
        question = session.pending
        if question is None:
            yield gr.skip(), gr.skip()
            return
        session.pending = None
        generation = session.generation
        messages = session.messages  # "New chat" replaces the list; this answer keeps writing here
        answer_id = uuid.uuid4().hex[:8]
        partial = ""
        text = ""
        try:
            messages[-1] = _assistant(render_pending(SEARCHING))
            yield messages, gr.skip()
            answer: Answer | None = None
            for item in self.rag.stream(
                question, history=list(session.turns), top_k=int(top_k), language=language or None,
                model=model or None, temperature=temperature,
            ):
                if isinstance(item, Answer):
                    answer = item
                else:
                    partial += item
                    messages[-1] = _assistant(render_streaming(partial))
                    yield messages, gr.skip()
            if answer is None:  # the stream always ends with an Answer; be safe if it does not
                raise RagError("the answer ended without a result; please ask again")
            html, text = render_answer(answer, answer_id), answer.text
        except (RagError, ValueError) as exc:
            html, text = render_error(partial, str(exc)), partial
        except Exception as exc:  # the page's edge: log the cause, show one line, keep the partial answer
            log.exception("answering %r failed", question)
            html, text = render_error(partial, describe_failure(exc)), partial
        finally:
            if session.generation == generation:
                session.busy = False
        messages[-1] = _assistant(html)
        if session.generation == generation and text.strip():
            session.turns = [*session.turns, {"role": "user", "content": question},
                             {"role": "assistant", "content": text}]
        yield messages, gr.Textbox(interactive=True)

    def new_chat(self, session: ChatSession) -> tuple[list, Any]:
        session.generation += 1
        session.messages, session.turns = [], []
        session.pending, session.busy = None, False
        return [], gr.Textbox(value="", interactive=True)

    # -- status --------------------------------------------------------------------------------------

    def index_stats(self) -> tuple[IndexStats | None, str | None]:
        """The index's stats, cached for one refresh period (counting scans the whole collection)."""
        with self._stats_lock:
            now = time.monotonic()
            if self._stats is None or now - self._stats[0] > self.status_every * 0.8:
                try:
                    self._stats = (now, self.rag.stats(), None)
                except RagError as exc:
                    self._stats = (now, None, str(exc))
                except Exception as exc:  # Chroma gone: say so in the status line, keep the page alive
                    log.warning("index stats failed: %s", exc)
                    self._stats = (now, None, describe_failure(exc))
            return self._stats[1], self._stats[2]

    def forget_stats(self) -> None:
        with self._stats_lock:
            self._stats = None

    def refresh_status(self, shown: dict | None) -> tuple[Any, Any, Any, dict]:
        """The status line, and new model / language choices when they changed for this session."""
        health = self.rag.health()
        stats, error = self.index_stats()
        models = model_choices(health, self.rag.settings.llm_model)
        languages = language_choices(stats.languages if stats else ())
        shown = dict(shown or {})
        model_update = gr.Dropdown(choices=models) if shown.get("models") != models else gr.skip()
        lang_changed = stats is not None and shown.get("languages") != languages
        lang_update = gr.Dropdown(choices=languages) if lang_changed else gr.skip()
        shown["models"] = models
        if stats:
            shown["languages"] = languages
        return status_markdown(health, stats, error), model_update, lang_update, shown

    # -- uploads -------------------------------------------------------------------------------------

    def upload(self, path: str | None) -> str:
        """Check, store and ingest an uploaded article; one line saying what happened."""
        if not path:
            return gr.skip()
        try:
            result = accept_upload(self.rag, path)
        except RagError as exc:
            return markdown_text(str(exc))
        except Exception as exc:  # the page's edge, as in `respond`
            log.exception("upload of %s failed", path)
            return markdown_text(describe_failure(exc))
        finally:
            self.forget_stats()
        return markdown_text(result.message)


def build_app(rag: RAG, *, status_every: float = 5.0) -> gr.Blocks:
    """The chat page over ``rag``. Nothing here waits for the language model."""
    page = ChatPage(rag, status_every=status_every)
    s = rag.settings
    stats, error = page.index_stats()
    with gr.Blocks(title="Polyglot news QA") as app:
        # Styles travel with the page (Gradio 6 takes `css` only in `launch`, which callers may not pass).
        gr.HTML(f"<style>{CSS}</style>", js_on_load=None, padding=False, elem_id="rag-style")
        gr.Markdown("## Polyglot news QA\nAsk about the news articles in any language; every answer "
                    "cites the passages it comes from, with the supporting sentence highlighted.")
        status = gr.Markdown(status_markdown(None, stats, error), elem_id="rag-status")
        session = gr.State(ChatSession())
        shown = gr.State({})
        chatbot = gr.Chatbot(
            elem_id="rag-chat", label="Chat", height="68vh", min_height=420, buttons=["copy"],
            latex_delimiters=[], feedback_options=None,  # "$" in news is money, not LaTeX
            placeholder="Ask a question below, or pick an example.",
        )
        question = gr.Textbox(
            elem_id="rag-question", show_label=False, submit_btn="Ask", autofocus=True,
            placeholder="Ask about the articles, in English, Greek, Italian, Turkish…",
        )
        with gr.Row(elem_id="rag-examples"):
            examples = [gr.Button(text, size="sm", elem_classes="rag-example") for text in EXAMPLES]
        with gr.Row():
            new_chat = gr.Button("New chat", size="sm", elem_id="rag-new-chat")
            upload = gr.UploadButton(
                f"Add an article (.txt/.md, up to {s.max_file_mb:g} MB)", file_types=[".txt", ".md"],
                type="filepath", size="sm", elem_id="rag-upload",
            )
        upload_status = gr.Markdown("", elem_id="rag-upload-status")
        with gr.Accordion("Search and model settings", open=False, elem_id="rag-settings"):
            with gr.Row():
                top_k = gr.Slider(1, max(20, s.top_k), value=s.top_k, step=1, label="Passages",
                                  elem_id="rag-top-k")
                language = gr.Dropdown(language_choices(stats.languages if stats else ()), value="",
                                       label="Passage language", elem_id="rag-language")
                model = gr.Dropdown([s.llm_model], value=s.llm_model, label="Model", allow_custom_value=True,
                                    elem_id="rag-model")
                temperature = gr.Slider(0.0, 2.0, value=s.temperature, step=0.05, label="Temperature",
                                        elem_id="rag-temperature")
        timer = gr.Timer(status_every)

        controls = [session, top_k, language, model, temperature]
        answer_events = []
        for trigger, source in [(question.submit, question)] + [(b.click, b) for b in examples]:
            accepted = trigger(page.accept, [source, session], [chatbot, question], queue=False)
            answer_events.append(accepted.then(
                page.respond, controls, [chatbot, question], concurrency_id="answer",
                show_progress="minimal",
            ))
        new_chat.click(page.new_chat, [session], [chatbot, question], cancels=answer_events, queue=False)

        refresh = dict(fn=page.refresh_status, inputs=[shown], outputs=[status, model, language, shown],
                       concurrency_limit=None, show_progress="hidden")
        app.load(**refresh)
        timer.tick(**refresh)
        upload.upload(page.upload, [upload], [upload_status], concurrency_limit=1).then(**refresh)
    app.queue(default_concurrency_limit=s.concurrency)
    return app


# -- running it ------------------------------------------------------------------------------------


def launch_options(settings: Settings, environ: Mapping[str, str] = os.environ) -> dict[str, Any]:
    """Keyword arguments for ``Blocks.launch``: host, port and login from the settings.

    Gradio's own GRADIO_SERVER_NAME / GRADIO_SERVER_PORT apply when the setting was not given.
    """
    given = settings.model_fields_set
    options: dict[str, Any] = {
        "server_name": None if "host" not in given and environ.get("GRADIO_SERVER_NAME") else settings.host,
        "server_port": None if "port" not in given and environ.get("GRADIO_SERVER_PORT") else settings.port,
        # Bigger files are refused by the page with a reason; far bigger ones never reach the disk.
        "max_file_size": int(settings.max_file_mb * 1_000_000 * 4),
    }
    credentials = settings.auth_credentials()
    if credentials:
        options["auth"] = credentials
    return options


def _ingest_if_empty(rag: RAG) -> None:
    """On a fresh clone, index the articles folder in the background so the page comes up at once."""
    try:
        empty = rag.stats().chunks == 0
    except RagError as exc:
        log.warning("cannot read the index: %s", exc)
        return
    folder = rag.settings.docs_dir
    if not empty or not folder.exists():
        return

    def run() -> None:
        try:
            log.info("the index is empty: ingesting %s", folder)
            log.info("ingested %s:\n%s", folder, rag.ingest(folder))
        except RagError as exc:
            log.error("could not ingest %s: %s", folder, exc)

    threading.Thread(target=run, name="initial-ingest", daemon=True).start()


def main(settings: Settings | None = None) -> None:
    """Build ``RAG`` from the settings and serve the chat page until interrupted."""
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    settings = settings or Settings()
    try:
        rag = RAG(settings)
    except RagError as exc:
        raise SystemExit(f"error: {exc}") from None
    _ingest_if_empty(rag)
    build_app(rag).launch(**launch_options(settings))
