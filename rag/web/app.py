"""The Gradio chat page: layout, per-session state, and the handlers that call ``RAG``.

Handlers live on ``ChatPage`` so they can be called (and tested) without a browser; ``build_app``
only wires them to components. Errors are converted here, once, into readable chat messages.

How an answer can be stopped at any moment: every answer belongs to a *generation* of its session;
Stop, New chat and the trash icon bump the generation and cancel the model call, so the abandoned
answer can no longer write into the chat and frees its slot as soon as the model call ends.
"""

from __future__ import annotations

import logging
import os
import secrets
import sys
import threading
import time
import uuid
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import gradio as gr

from rag.errors import RagError
from rag.pipeline import RAG
from rag.settings import Settings
from rag.types import Citation, IndexStats
from rag.web.access import LoginThrottle, exposure_warning
from rag.web.articles import Articles
from rag.web.html import (
    CSS,
    language_choices,
    markdown_text,
    model_choices,
    render_answer,
    render_article,
    render_articles,
    render_error,
    render_jobs,
    render_pending,
    render_stopped,
    render_streaming,
    render_user,
    status_markdown,
    summary_markdown,
)
from rag.web.ingest_queue import IngestQueue, UploadLimits, UploadRefused
from rag.web.streaming import open_stream
from rag.web.uploads import client_name

log = logging.getLogger(__name__)

EXAMPLES = (
    "When did Lavrov meet Kim?",
    "Πού συναντήθηκε ο Λαβρόφ με τον Κιμ;",
    "Quando è stata inaugurata la nuova zona turistica costiera di Wonsan?",
    "Lavrov, Kuzey Kore ile hangi alanlarda işbirliğini derinleştirmek istiyor?",
)

QUEUED = "Queued: waiting for a free slot…"
SEARCHING = "Searching the articles…"
TOP_K_MAX = 20
ALIVE_CHECK_EVERY = 1.0  # seconds an answer waits on a silent model before yielding a no-op (see `respond`)
# What an abandoned answer yields last: Gradio sends a generator's last output again when it ends, and that
# output would otherwise put the abandoned answer back over "Stopped" or over a new chat.
_UNCHANGED = (gr.skip(), gr.skip(), gr.skip())
_SAVED_EXCHANGES = 20  # question/answer pairs kept in the browser's storage

# Page-wide JavaScript, run once when the page loads (Gradio runs `js_on_load` of an HTML component):
# Copy puts the answer's plain text on the clipboard; "Read the article" asks the server to open it.
_PAGE_JS = """
document.addEventListener('click', (e) => {
  const copy = e.target.closest('a.rag-copy');
  if (copy) {
    e.preventDefault();
    const plain = copy.closest('.rag-answer') && copy.closest('.rag-answer').querySelector('.rag-plain');
    const text = plain ? plain.textContent : '';
    const done = () => { copy.textContent = 'Copied'; setTimeout(() => { copy.textContent = 'Copy'; }, 1500); };
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text).then(done, () => {});
    } else {
      const area = document.createElement('textarea'); area.value = text; document.body.appendChild(area);
      area.select(); document.execCommand('copy'); area.remove(); done();
    }
    return;
  }
  const open = e.target.closest('a.rag-open');
  if (open) {
    e.preventDefault();
    const q = new URLSearchParams((open.getAttribute('href') || '').split('?')[1] || '');
    trigger('click', {doc: q.get('doc'), source: q.get('source'), pstart: +q.get('pstart'), pend: +q.get('pend'),
                      start: +q.get('start'), end: +q.get('end')});
  }
});
"""
_READER_JS = """
// The reader may still be hidden (its tab is being shown, or mounted with its value): wait until the mark
// is laid out, then bring it to the middle of the screen.
const go = (tries) => {
  const mark = element.querySelector('mark.rag-hl');
  if (!mark) return;
  if (mark.getClientRects().length === 0 && tries > 0) return setTimeout(() => go(tries - 1), 100);
  mark.scrollIntoView({block: 'center'});
  const box = mark.getBoundingClientRect();  // and the page, should the reader itself be off screen
  if (box.top < 0 || box.bottom > window.innerHeight) window.scrollBy(0, box.top - window.innerHeight / 3);
};
watch('value', () => go(40));
go(40);
"""


@dataclass
class ChatSession:
    """One browser tab's conversation. Gradio gives every session its own deep copy."""

    messages: list[dict[str, str]] = field(default_factory=list)  # what the chat shows (HTML)
    turns: list[dict[str, str]] = field(default_factory=list)  # plain text, for follow-up questions
    pending: str | None = None  # the accepted question the next `respond` answers
    busy: bool = False  # a question is queued or being answered
    generation: int = 0  # bumped by Stop / New chat: an abandoned answer cannot write any more
    stream: Any = None  # the answer being generated (``cancel()`` stops its model call)
    partial: str = ""  # its text so far
    evidence: tuple[Citation, ...] = ()  # the numbered sentences it is written from, once retrieval ended
    answer_id: str = ""

    def saved(self) -> dict[str, list]:
        """What the browser keeps across reloads (the last exchanges)."""
        return {"messages": self.messages[-2 * _SAVED_EXCHANGES:], "turns": self.turns[-2 * _SAVED_EXCHANGES:]}


def _assistant(html: str) -> dict[str, str]:
    return {"role": "assistant", "content": html}


def describe_failure(exc: Exception) -> str:
    """One readable line for an error that is not a ``RagError`` (never a traceback)."""
    module = type(exc).__module__
    if module.startswith("chromadb") or module.startswith("httpx") or isinstance(exc, ConnectionError):
        return (f"the search index cannot be reached ({type(exc).__name__}: {exc}); if it is a Chroma "
                f"server, check that it is running, then ask again")
    return f"something went wrong ({type(exc).__name__}: {exc}); the details are in the server log"


def _session_id(request: gr.Request | None) -> str:
    return getattr(request, "session_hash", None) or "local"


class ChatPage:
    """The page's behaviour over one shared ``RAG``; per-user data lives in ``ChatSession``."""

    def __init__(self, rag: RAG, *, status_every: float = 5.0) -> None:
        self.rag = rag
        self.status_every = status_every
        self.articles = Articles(rag)
        self.uploads = IngestQueue(rag, UploadLimits.from_settings(rag.settings))
        self.uploads.on_finished(lambda job: self.forget_stats())
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
    ) -> Iterator[tuple[Any, Any, Any]]:
        """Stream the answer to the pending question into the last chat message.

        Yields (chat, question box, saved history). Once Stop or New chat bumped the session's
        generation, nothing more is written.
        """
        question = session.pending
        if question is None:
            yield _UNCHANGED
            return
        session.pending = None
        generation = session.generation
        messages = session.messages
        answer_id = session.answer_id = uuid.uuid4().hex[:8]
        session.partial, session.evidence = "", ()
        current = lambda: session.generation == generation  # noqa: E731
        text = ""
        stream = None
        try:
            k = int(top_k)
            if not 1 <= k <= TOP_K_MAX:
                raise ValueError(f"the number of passages must be between 1 and {TOP_K_MAX} (it is {top_k:g})")
            messages[-1] = _assistant(render_pending(SEARCHING))
            yield messages, gr.skip(), gr.skip()
            stream = session.stream = open_stream(
                self.rag, question, history=list(session.turns), top_k=k, language=language or None,
                model=model or None, temperature=temperature,
            )
            answer = None
            quiet_since = time.monotonic()
            for kind, value in stream.events(current):
                # Stop or New chat may have come while this event was awaited: then the chat belongs to the
                # next question, and a write here would put this answer's text over it.
                if not current():
                    break
                if kind == "waiting":
                    # Gradio notices a closed tab only when the handler yields: a no-op now and then while
                    # the model is silent lets it close this generator (below) instead of keeping the slot.
                    if time.monotonic() - quiet_since >= ALIVE_CHECK_EVERY:
                        quiet_since = time.monotonic()
                        yield _UNCHANGED
                    continue
                quiet_since = time.monotonic()
                if kind == "evidence" and value:  # retrieval ended: the sources show before the first token
                    session.evidence = value
                    messages[-1] = _assistant(render_streaming("", value, answer_id))
                    yield messages, gr.skip(), gr.skip()
                elif kind == "piece":
                    session.partial += value
                    messages[-1] = _assistant(render_streaming(session.partial, session.evidence, answer_id))
                    yield messages, gr.skip(), gr.skip()
                elif kind == "answer":
                    answer = value
            if not current() or answer is None:
                yield _UNCHANGED
                return
            html, text = render_answer(answer, answer_id), answer.text
        except GeneratorExit:
            # Gradio closes the generator of a tab that went away (closed, reloaded): nobody reads this answer,
            # so its model call is cancelled, as Stop would, instead of running on for nobody.
            if current():
                self._abandon(session)
            elif stream is not None:
                stream.cancel()
            raise
        except (RagError, ValueError) as exc:
            html, text = render_error(session.partial, str(exc)), session.partial
        except Exception as exc:  # the page's edge: log the cause, show one line, keep the partial answer
            log.exception("answering %r failed", question)
            html, text = render_error(session.partial, describe_failure(exc)), session.partial
        if not current():
            yield _UNCHANGED
            return
        session.busy, session.stream = False, None
        messages[-1] = _assistant(html)
        if text.strip():
            session.turns = [*session.turns, {"role": "user", "content": question},
                             {"role": "assistant", "content": text}]
        yield messages, gr.Textbox(interactive=True), session.saved()

    def _abandon(self, session: ChatSession) -> None:
        """Stop the answer in progress (if any): cancel its model call, let nothing more be written."""
        session.generation += 1
        stream, session.stream = session.stream, None
        if stream is not None:
            stream.cancel()
        session.pending, session.busy = None, False

    def stop(self, session: ChatSession) -> tuple[Any, Any, Any]:
        """Stop the answer being written; keep what it wrote, marked as stopped."""
        if not session.busy:
            return gr.skip(), gr.Textbox(interactive=True), gr.skip()
        partial, evidence, answer_id = session.partial, session.evidence, session.answer_id or "x"
        self._abandon(session)
        if session.messages and session.messages[-1]["role"] == "assistant":
            session.messages[-1] = _assistant(render_stopped(partial, evidence, answer_id))
            question = session.messages[-2]["content"] if len(session.messages) > 1 else ""
            if partial.strip():
                session.turns = [*session.turns, {"role": "user", "content": question},
                                 {"role": "assistant", "content": partial}]
        return session.messages, gr.Textbox(interactive=True), session.saved()

    def new_chat(self, session: ChatSession) -> tuple[list, Any, dict]:
        """A fresh conversation, whatever is going on (an answer in progress is stopped)."""
        self._abandon(session)
        session.messages, session.turns, session.partial, session.evidence = [], [], "", ()
        return [], gr.Textbox(value="", interactive=True), session.saved()

    def regenerate(self, session: ChatSession) -> tuple[Any, Any]:
        """Ask the last question again, in place of its answer."""
        if session.busy or len(session.messages) < 2 or session.messages[-2]["role"] != "user":
            return gr.skip(), gr.skip()
        question = _unescape(session.messages[-2]["content"])
        if session.turns[-2:] and session.turns[-2]["content"] == question:
            session.turns = session.turns[:-2]
        session.messages = session.messages[:-2]
        return self.accept(question, session)

    def restore(self, saved: dict | None, session: ChatSession) -> tuple[Any, Any]:
        """Bring back this browser's conversation after a reload."""
        saved = saved or {}
        messages, turns = saved.get("messages") or [], saved.get("turns") or []
        if not isinstance(messages, list) or not isinstance(turns, list) or session.messages:
            return gr.skip(), gr.skip()
        session.messages = [m for m in messages if isinstance(m, dict) and m.get("role") in ("user", "assistant")]
        session.turns = [t for t in turns if isinstance(t, dict) and t.get("role") in ("user", "assistant")]
        return session.messages, gr.Textbox(interactive=True)

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

    def summary(self) -> str:
        stats, _ = self.index_stats()
        try:
            documents = self.articles.list()
        except Exception as exc:  # the summary is a nicety: never let it break the page
            log.warning("listing the articles failed: %s", exc)
            documents = []
        return summary_markdown(documents, stats)

    def refresh_status(self, shown: dict | None, model: str | None = None) -> tuple[Any, Any, Any, dict, Any]:
        """The status line (for the model picked), new model / language choices when they changed, the summary."""
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
        chosen = model if model and model != health.model else None
        summary_key = (stats.documents, stats.chunks) if stats else None
        summary = self.summary() if shown.get("summary") != summary_key else gr.skip()
        shown["summary"] = summary_key
        return status_markdown(health, stats, error, chosen), model_update, lang_update, shown, summary

    # -- uploads -------------------------------------------------------------------------------------

    def upload(self, paths: list[str] | str | None, request: gr.Request | None = None) -> tuple[Any, Any]:
        """Queue the chosen files for indexing; what happens to each is shown beside the button."""
        if not paths:
            return gr.skip(), gr.skip()
        session = _session_id(request)
        refused: list[str] = []
        for path in [paths] if isinstance(paths, str) else paths:
            name = client_name(getattr(path, "orig_name", None) or str(path))
            try:
                self.uploads.submit(session, _original_name(path), Path(path).read_bytes())
            except UploadRefused as exc:
                refused.append(str(exc))
            except OSError as exc:
                refused.append(f"{name} was not added: the upload did not arrive ({exc.strerror}); try again")
        return self._jobs_html(session, refused), gr.Timer(active=True)

    def poll_uploads(self, request: gr.Request | None = None) -> tuple[Any, Any]:
        """The session's uploads as they progress; the timer stops once none is pending."""
        session = _session_id(request)
        jobs = self.uploads.jobs(session)
        pending = any(j.pending for j in jobs)
        return self._jobs_html(session), gr.Timer(active=pending)

    def _jobs_html(self, session: str, refused: Sequence[str] = ()) -> str:
        html = render_jobs(self.uploads.jobs(session), time.monotonic())
        if refused:
            html += '<ul class="rag-jobs">' + "".join(
                f'<li class="rag-job rag-job-failed" data-state="refused">{markdown_text(m)}</li>' for m in refused
            ) + "</ul>"
        return html

    # -- the articles view ---------------------------------------------------------------------------

    def article_list(self) -> tuple[str, Any]:
        try:
            documents = self.articles.list()
        except RagError as exc:
            return f"<p>{markdown_text(str(exc))}</p>", gr.skip()
        return render_articles(documents), gr.Dropdown(choices=_article_choices(documents))

    def open_article(self, doc_id: str | None, start: int | None = None, end: int | None = None) -> tuple[Any, Any]:
        if not doc_id:
            return "", gr.skip()
        doc = self.articles.get(doc_id)
        if doc is None:
            return "", "That article is no longer in the index."
        try:
            text = self.articles.text(doc_id)
        except RagError as exc:
            return "", markdown_text(str(exc))
        return render_article(doc, text, start, end), ""

    def open_from_source(self, evt: gr.EventData) -> tuple[Any, Any, Any, Any]:
        """A source card's "Read the article": switch to the articles view, the sentence highlighted."""
        data = getattr(evt, "_data", None) or {}
        source, pstart, pend = data.get("source", ""), int(data.get("pstart", 0)), int(data.get("pend", 0))
        start, end = int(data.get("start", 0)), int(data.get("end", 0))
        # The passage's document by its id; by file name and span for a link made before ids were passed.
        doc = self.articles.get(data.get("doc") or "") or self.articles.find(source, pstart, pend)
        if doc is None:
            return gr.skip(), gr.skip(), "", f"{markdown_text(source)} is no longer in the index."
        if end <= start:
            start, end = pstart, pend
        reader, message = self.open_article(doc.doc_id, start, end)
        picked = gr.Dropdown(choices=_article_choices(self.articles.list()), value=doc.doc_id)
        return gr.Tabs(selected="articles"), picked, reader, message

    def remove_article(self, doc_id: str | None) -> tuple[Any, Any, Any, Any]:
        if not doc_id:
            return "Pick an article first.", gr.skip(), gr.skip(), gr.skip()
        try:
            message = self.articles.remove(doc_id)
        except RagError as exc:
            message = str(exc)
        self.forget_stats()
        table, choices = self.article_list()
        return markdown_text(message), table, choices, ""


def _article_choices(documents: list) -> list[tuple[str, str]]:
    """The article menu: uploads first, newest first."""
    ordered = sorted(documents, key=lambda d: (d.origin != "upload", -(d.added or 0), d.title))
    return [(f"{d.title} ({d.shown})", d.doc_id) for d in ordered]


def _original_name(path: Any) -> str:
    # Gradio keeps the browser's file name as the temporary file's name.
    return client_name(str(path))


def _unescape(html: str) -> str:
    from html import unescape

    return unescape(html)


def _page_secret(settings: Settings) -> str:
    """The key the browser's saved history is encrypted with, kept beside the index so a restart keeps it."""
    path = settings.data_dir / ".page-secret"
    try:
        if path.exists():
            return path.read_text().strip()
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        secret = secrets.token_urlsafe(24)
        path.write_text(secret)
        path.chmod(0o600)
        return secret
    except OSError as exc:  # a read-only data folder: history then lasts until the server restarts
        log.warning("cannot keep the page secret in %s: %s", path, exc)
        return secrets.token_urlsafe(24)


def build_app(rag: RAG, *, status_every: float = 5.0) -> gr.Blocks:
    """The chat page over ``rag``. Nothing here waits for the language model."""
    page = ChatPage(rag, status_every=status_every)
    s = rag.settings
    stats, error = page.index_stats()
    with gr.Blocks(title="Polyglot news QA") as app:
        # Styles travel with the page (Gradio 6 takes `css` only in `launch`, which callers may not pass).
        page_js = gr.HTML(f"<style>{CSS}</style>", js_on_load=_PAGE_JS, padding=False, elem_id="rag-style")
        gr.Markdown("## Polyglot news QA\nAsk about the news articles in any language; every answer "
                    "cites the passages it comes from, with the supporting sentence highlighted.")
        summary = gr.Markdown(page.summary(), elem_id="rag-summary")
        status = gr.Markdown(status_markdown(None, stats, error), elem_id="rag-status")
        session = gr.State(ChatSession())
        saved = gr.BrowserState({"messages": [], "turns": []}, storage_key="rag-chat-history",
                                secret=_page_secret(s))
        shown = gr.State({})
        with gr.Tabs(selected="chat", elem_id="rag-tabs") as tabs:
            with gr.Tab("Chat", id="chat", elem_id="rag-tab-chat"):
                with gr.Row(equal_height=False):
                    with gr.Column(scale=3, min_width=320):
                        chatbot = gr.Chatbot(
                            elem_id="rag-chat", label="Chat", height="62vh", min_height=360,
                            latex_delimiters=[], feedback_options=None, buttons=[],  # "$" is money, not LaTeX
                            placeholder="Ask a question below, or pick an example.",
                        )
                        question = gr.Textbox(
                            elem_id="rag-question", show_label=False, submit_btn="Ask", autofocus=True,
                            placeholder="Ask about the articles, in English, Greek, Italian, Turkish…",
                        )
                        with gr.Row(elem_id="rag-controls"):
                            stop = gr.Button("Stop", size="sm", elem_id="rag-stop")
                            regenerate = gr.Button("Regenerate", size="sm", elem_id="rag-regenerate")
                            new_chat = gr.Button("New chat", size="sm", elem_id="rag-new-chat")
                        with gr.Row(elem_id="rag-examples"):
                            examples = [gr.Button(text, size="sm", elem_classes="rag-example") for text in EXAMPLES]
                    with gr.Column(scale=1, min_width=260, elem_id="rag-side"):
                        upload = gr.UploadButton(
                            "Add articles", file_types=[".txt", ".md", ".html", ".htm", ".pdf"],
                            file_count="multiple", type="filepath", size="sm", elem_id="rag-upload",
                        )
                        gr.Markdown(f".txt, .md, saved web pages (.html) or .pdf, up to {s.max_file_mb:g} MB "
                                    "each; they are indexed in the background.", elem_id="rag-upload-help")
                        jobs = gr.HTML("", elem_id="rag-upload-status", js_on_load=None)
                        with gr.Accordion("Search and model settings", open=False, elem_id="rag-settings"):
                            top_k = gr.Slider(1, TOP_K_MAX, value=min(s.top_k, TOP_K_MAX), step=1,
                                              label="Passages", elem_id="rag-top-k")
                            language = gr.Dropdown(language_choices(stats.languages if stats else ()), value="",
                                                   label="Passage language", elem_id="rag-language")
                            model = gr.Dropdown([s.llm_model], value=s.llm_model, label="Model",
                                                allow_custom_value=True, elem_id="rag-model")
                            temperature = gr.Slider(0.0, 2.0, value=s.temperature, step=0.05, label="Temperature",
                                                    elem_id="rag-temperature")
            with gr.Tab("Articles", id="articles", elem_id="rag-tab-articles") as articles_tab:
                with gr.Row():
                    pick = gr.Dropdown([], label="Article", elem_id="rag-article-pick", scale=3)
                    remove = gr.Button("Remove this upload", size="sm", elem_id="rag-article-remove",
                                       variant="stop", scale=1)
                article_message = gr.Markdown("", elem_id="rag-article-message")
                reader = gr.HTML("", elem_id="rag-reader", js_on_load=_READER_JS)
                articles_table = gr.HTML("", elem_id="rag-articles", js_on_load=None)
        timer = gr.Timer(status_every)
        upload_timer = gr.Timer(1.0, active=False)

        controls = [session, top_k, language, model, temperature]
        answer_outputs = [chatbot, question, saved]
        answer_events = []
        # trigger_mode "multiple": the browser sends the next question's `respond` even while it still waits for
        # the end of an answer that Stop or New chat abandoned (that end comes within `_POLL` s). With Gradio's
        # default ("once") it silently dropped that `respond`, and the question stayed at "Queued" for good.
        respond = dict(fn=page.respond, inputs=controls, outputs=answer_outputs, concurrency_id="answer",
                       concurrency_limit=s.concurrency, show_progress="minimal", trigger_mode="multiple")
        for trigger, source in [(question.submit, question)] + [(b.click, b) for b in examples]:
            accepted = trigger(page.accept, [source, session], [chatbot, question], queue=False)
            answer_events.append(accepted.then(**respond))
        for trigger in (regenerate.click, chatbot.retry):
            answer_events.append(trigger(page.regenerate, [session], [chatbot, question], queue=False)
                                 .then(**respond))
        # Stop and New chat end a running answer through its session (generation + model call cancelled),
        # not with Gradio's `cancels=`: cancelling a running generator that way kept its concurrency slot,
        # and the next question waited at "Queued" until the abandoned model call ended.
        stop.click(page.stop, [session], answer_outputs, queue=False)
        for trigger in (new_chat.click, chatbot.clear):
            trigger(page.new_chat, [session], answer_outputs, queue=False)

        refresh: dict[str, Any] = dict(fn=page.refresh_status, inputs=[shown, model],
                                       outputs=[status, model, language, shown, summary],
                                       concurrency_limit=None, show_progress="hidden")
        app.load(page.restore, [saved, session], [chatbot, question], queue=False)
        app.load(**refresh)
        timer.tick(**refresh)
        model.change(**refresh)
        upload.upload(page.upload, [upload], [jobs, upload_timer], concurrency_limit=None, show_progress="hidden")
        upload_timer.tick(page.poll_uploads, None, [jobs, upload_timer], concurrency_limit=None,
                          show_progress="hidden")

        listing = dict(fn=page.article_list, outputs=[articles_table, pick], concurrency_limit=None,
                       show_progress="hidden")
        articles_tab.select(**listing)
        pick.input(page.open_article, [pick], [reader, article_message], concurrency_limit=None)
        page_js.click(page.open_from_source, None, [tabs, pick, reader, article_message],
                      concurrency_limit=None).then(**listing)
        remove.click(page.remove_article, [pick], [article_message, articles_table, pick, reader],
                     concurrency_limit=1)
    app.queue(default_concurrency_limit=s.concurrency)
    app.page = page  # for tests and scripts: the handlers and the upload queue behind this page
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
        options["auth"] = LoginThrottle(*credentials, per_minute=settings.login_attempts_per_minute)
    return options


def warn_if_exposed(options: Mapping[str, Any], environ: Mapping[str, str] = os.environ) -> str | None:
    """Log and print the warning for a page open to the network without a login (None when it is not)."""
    host = options.get("server_name") or environ.get("GRADIO_SERVER_NAME") or "127.0.0.1"
    warning = exposure_warning(host, options.get("auth") is not None)
    if warning:
        log.warning(warning)
        print(warning, file=sys.stderr, flush=True)
    return warning


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
    # The language detector, the embedder and the model's constant rules load while the page comes up.
    threading.Thread(target=rag.warm_up, name="warm-up", daemon=True).start()
    options = launch_options(settings)
    warn_if_exposed(options)
    build_app(rag).launch(**options)


__all__ = ["ChatPage", "ChatSession", "build_app", "launch_options", "main", "warn_if_exposed"]
