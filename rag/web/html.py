"""What the chat page shows, as HTML or Markdown strings. Pure: no Gradio, no I/O.

Everything that comes from an article, a model or a user is HTML-escaped here. The chat renders a
message as Markdown, so an answer is one ``<div>`` without blank lines (a blank line would end the
HTML block and let Markdown loose on article text).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from html import escape
from urllib.parse import urlencode

from rag.language import language_name
from rag.llm import Health
from rag.render import UNSUPPORTED_HEADING
from rag.types import Answer, Citation, IndexStats, Passage

# The markers the answerer leaves in an answer after repairing them: always "[n]".
_MARKER = re.compile(r"\[(\d{1,3})\]")

CSS = """
.rag-answer { line-height: 1.5; }
.rag-cite { display: inline-block; min-width: 1.3em; padding: 0 .35em; margin: 0 .1em; border-radius: .7em;
  font-size: .75em; line-height: 1.5; text-align: center; vertical-align: super;
  text-decoration: none !important;
  background: var(--color-accent-soft, #dbeafe); color: var(--body-text-color, #1e3a8a) !important;
  border: 1px solid var(--color-accent, #1d4ed8); }
a.rag-cite:hover { background: var(--color-accent, #1d4ed8); color: #fff !important; }
.rag-notice, .rag-error { margin-top: .5em; padding: .3em .6em; border-radius: .4em; font-size: .9em; }
.rag-notice { background: #fef9c3; color: #713f12; }
.rag-stopped { background: #e0e7ff; color: #1e1b4b; }
.rag-error { background: #fee2e2; color: #7f1d1d; }
.rag-pending { opacity: .75; font-style: italic; }
.rag-cursor { animation: rag-blink 1s steps(1) infinite; }
@keyframes rag-blink { 50% { opacity: 0; } }
.rag-sources { margin-top: .6em; padding-top: .3em;
  border-top: 1px solid var(--border-color-primary, #e5e7eb); }
.rag-sources > summary { cursor: pointer; font-weight: 600; font-size: .9em; min-height: 32px;
  display: list-item; line-height: 32px; }
.rag-source { margin: .5em 0; padding: .4em .6em; border-left: 3px solid var(--color-accent, #1d4ed8);
  border-radius: .3em; scroll-margin-top: 2em; }
.rag-source:target { background: var(--color-accent-soft, #eff6ff); }
.rag-source-title { font-size: .95em; }
.rag-title { font-weight: 600; font-size: .95em; }
.rag-source-meta { font-size: .8em; opacity: .85; }
.rag-passage { margin: .3em 0 0 0; font-size: .9em; white-space: normal; }
mark.rag-hl, .rag-passage mark, .rag-reader mark { background: #fde68a; color: #111827; padding: 0 .1em;
  border-radius: .15em; }
.rag-badge { font-size: .75em; padding: 0 .4em; border-radius: .5em; background: #e5e7eb; color: #374151; }
.rag-footer { margin-top: .5em; font-size: .8em; opacity: .85; display: flex; flex-wrap: wrap; gap: .2em .8em;
  align-items: center; }
.rag-actions a, a.rag-open { display: inline-flex; align-items: center; min-height: 32px; padding: 0 .6em;
  border-radius: .4em; border: 1px solid var(--border-color-primary, #d1d5db); text-decoration: none !important;
  color: var(--body-text-color, #111827) !important; font-size: .85em; cursor: pointer; }
.rag-actions a:hover, a.rag-open:hover { background: var(--background-fill-secondary, #f3f4f6); }
.rag-status p { margin: 0; }
.rag-plain { display: none !important; }
#rag-summary p { margin: 0; font-size: .95em; }
.rag-jobs { list-style: none; margin: .3em 0; padding: 0; font-size: .9em; }
.rag-jobs li { padding: .3em .5em; margin: .2em 0; border-radius: .4em;
  background: var(--background-fill-secondary, #f3f4f6); }
.rag-job-done { border-left: 3px solid #16a34a; }
.rag-job-failed { border-left: 3px solid #dc2626; }
.rag-job-queued, .rag-job-indexing { border-left: 3px solid #ca8a04; }
.rag-articles { width: 100%; border-collapse: collapse; font-size: .9em; }
.rag-articles th, .rag-articles td { text-align: left; padding: .35em .5em;
  border-bottom: 1px solid var(--border-color-primary, #e5e7eb); }
.rag-origin-folder { opacity: .85; }
.rag-reader { white-space: pre-wrap; line-height: 1.6; max-height: 70vh; overflow-y: auto; padding: .5em .8em;
  border: 1px solid var(--border-color-primary, #e5e7eb); border-radius: .5em; }
.rag-reader-meta { font-size: .85em; opacity: .85; margin-bottom: .4em; }
/* Dark theme (Gradio follows the OS, or ?__theme=dark): keep text dark on light marks, light on dark boxes. */
.dark .rag-notice { background: #422006; color: #fef3c7; }
.dark .rag-stopped { background: #1e1b4b; color: #e0e7ff; }
.dark .rag-error { background: #450a0a; color: #fee2e2; }
.dark .rag-badge { background: #374151; color: #f3f4f6; }
.dark .rag-cite { background: #1e3a8a; color: #eff6ff !important; border-color: #93c5fd; }
.dark mark.rag-hl, .dark .rag-passage mark, .dark .rag-reader mark { background: #facc15; color: #111827; }
.dark .rag-source:target { background: #1e293b; }
/* Phones: every thing to tap is at least 32 px. */
@media (max-width: 640px), (pointer: coarse) {
  .rag-cite, a.rag-cite { min-width: 32px; min-height: 32px; line-height: 32px; vertical-align: middle;
    font-size: .85em; padding: 0 .3em; }
  .rag-example, #rag-controls button, #rag-upload { min-height: 40px; }
}
"""


def highlight(text: str, start: int, end: int) -> str:
    """``text`` escaped, with ``text[start:end]`` wrapped in ``<mark>`` (offsets clamped to the text)."""
    start = max(0, min(start, len(text)))
    end = max(start, min(end, len(text)))
    if start == end:
        return escape(text)
    return f"{escape(text[:start])}<mark>{escape(text[start:end])}</mark>{escape(text[end:])}"


def sentence_offsets(citation: Citation) -> tuple[int, int]:
    """Where the supporting sentence lies in the passage text.

    The citation's span is in the source article; the passage starts at ``passage.start`` there.
    Should the span and the text ever disagree, the sentence is looked up in the passage instead.
    """
    text = citation.passage.text
    start = citation.start - citation.passage.start
    end = citation.end - citation.passage.start
    if 0 <= start <= end <= len(text) and text[start:end] == citation.sentence:
        return start, end
    found = text.find(citation.sentence) if citation.sentence else -1
    if found >= 0:
        return found, found + len(citation.sentence)
    return max(0, start), max(0, end)


def source_anchor(answer_id: str, number: int) -> str:
    """The element id of source ``number`` of one answer; unique on the page per answer id."""
    return f"rag-{answer_id}-src-{number}"


def _lines_html(text: str) -> str:
    """Escaped multi-line text with ``- `` lines as a list, other line breaks as ``<br>``."""
    out: list[str] = []
    items: list[str] = []
    for line in text.strip().split("\n"):
        if line.startswith("- "):
            items.append(f"<li>{line[2:]}</li>")
            continue
        if items:
            out.append("<ul>" + "".join(items) + "</ul>")
            items = []
        out.append(line + "<br>")
    if items:
        out.append("<ul>" + "".join(items) + "</ul>")
    return "".join(out).removesuffix("<br>")


def _with_markers(text: str, chip) -> str:  # noqa: ANN001 - chip: int -> str | None
    """Escape ``text`` and replace each ``[n]`` by ``chip(n)`` (kept as text when that is None)."""
    parts: list[str] = []
    pos = 0
    for m in _MARKER.finditer(text):
        parts.append(escape(text[pos : m.start()]))
        parts.append(chip(int(m.group(1))) or escape(m.group(0)))
        pos = m.end()
    parts.append(escape(text[pos:]))
    return "".join(parts)


def answer_text_html(text: str, answer_id: str, numbers: Iterable[int]) -> str:
    """The answer's text with each marker of a known source as a chip linking to that source."""
    known = set(numbers)

    def chip(n: int) -> str | None:
        if n not in known:
            return None
        return f'<a class="rag-cite" href="#{source_anchor(answer_id, n)}" title="source {n}">{n}</a>'

    return _lines_html(_with_markers(text, chip))


def _open_link(p: Passage, start: int, end: int) -> str:
    """A link that opens the article behind a passage in the articles view, ``start:end`` highlighted.

    What to open travels in the link's fragment: the chat's HTML sanitiser drops ``data-`` attributes.
    """
    query = urlencode({"doc": p.doc_id, "source": p.source, "pstart": p.start, "pend": p.end, "start": start,
                       "end": end})
    return f'<a class="rag-open" href="#rag-open?{escape(query)}" role="button">Read the article</a>'


def _meta_html(p: Passage) -> str:
    return " · ".join([f"<code>{escape(p.shown)}</code>", f"{escape(language_name(p.language))} "
                       f"({escape(p.language)})", f"score {p.score:.3f}"])


def _source_html(c: Citation, answer_id: str, mode: str = "llm") -> str:
    p = c.passage
    start, end = sentence_offsets(c)
    lead = len(p.text) - len(p.text.lstrip())
    passage = highlight(p.text.strip(), start - lead, end - lead).replace("\n", "<br>")
    badges = []
    if mode != "evidence":  # before the answer exists there is nothing to say about how it cites
        # In retrieval-only mode every source is "inferred" (no model cited anything): saying so is noise.
        if c.inferred and mode != "retrieval-only":
            badges.append(_badge("matched", "the model cited nothing here; this passage was matched to the answer"))
        if c.better is not None:
            badges.append(_badge(f"[{c.better}] fits better",
                                 f"passage [{c.better}] supports this claim more closely than the one cited"))
        elif not c.supported:
            badges.append(_badge("weak support", "the closest sentence is only weakly related to the claim"))
    meta = f"{_meta_html(p)} · support {c.similarity:.2f}"
    return (
        f'<div class="rag-source" id="{source_anchor(answer_id, c.number)}">'
        f'<div class="rag-source-title"><span class="rag-cite">{c.number}</span> '
        f'<span class="rag-title">{escape(p.title)}</span> {" ".join(badges)}</div>'
        f'<div class="rag-source-meta">{meta}</div>'
        f'<blockquote class="rag-passage">{passage}</blockquote>'
        f"{_open_link(p, c.start, c.end)}"
        "</div>"
    )


def _badge(label: str, why: str) -> str:
    return f'<span class="rag-badge" title="{escape(why)}">{escape(label)}</span>'


def notice_html(notice: str) -> str:
    """A notice with `quoted commands` as code, not as literal backticks."""
    parts = escape(notice).split("`")
    if len(parts) % 2 == 0:  # an unmatched backtick: show the text as it is
        return escape(notice)
    return "".join(f"<code>{part}</code>" if i % 2 else part for i, part in enumerate(parts))


def _ms(value: float | None) -> str:
    if value is None:
        return "–"
    return f"{value / 1000:.1f} s" if value >= 1000 else f"{value:.0f} ms"


def footer_html(answer: Answer) -> str:
    """Model, mode, timings and translation of one answer."""
    model = "no model (retrieval-only)" if answer.mode == "retrieval-only" else (answer.model or "the model")
    items = [f'<span class="rag-model">{escape(model)}</span>',
             f"retrieval {_ms(answer.retrieve_ms)}", f"first token {_ms(answer.first_token_ms)}",
             f"total {_ms(answer.total_ms)}"]
    if answer.translations:
        langs = ", ".join(language_name(code) for code in sorted(answer.translations))
        items.append(f"searched in translation: {escape(langs)}")
    else:
        items.append("no translation")
    return '<div class="rag-footer">' + "".join(f"<span>{i}</span>" for i in items) + "</div>"


def plain_answer_text(answer: Answer) -> str:
    """The answer as plain text with its numbered sources: what Copy puts on the clipboard."""
    lines = [answer.text.strip()]
    if answer.notice:
        lines += ["", f"Note: {answer.notice.replace('`', '')}"]
    if answer.unsupported_claims:
        lines += ["", UNSUPPORTED_HEADING, *(f"- {c}" for c in answer.unsupported_claims)]
    if answer.citations:
        lines += ["", "Sources:"]
        for c in answer.citations:
            p = c.passage
            lines.append(f"[{c.number}] {p.title} ({p.shown}, {language_name(p.language)})")
            lines.append(f"    \u201c{' '.join(c.sentence.split())}\u201d")
    return "\n".join(lines)


def _actions_html(answer: Answer) -> str:
    # The text to copy sits in a hidden block beside the button (the sanitiser drops data- attributes).
    return ('<span class="rag-actions"><a class="rag-copy" href="#rag-copy" role="button" '
            'title="Copy the answer and its sources as text">Copy</a></span>'
            f'<pre class="rag-plain">{escape(plain_answer_text(answer)).replace(chr(10), "&#10;")}</pre>')


def render_answer(answer: Answer, answer_id: str, *, stopped: bool = False) -> str:
    """One finished answer: text with citation chips, any notice, its sources (collapsible) and a footer."""
    text = answer_text_html(answer.text, answer_id, (c.number for c in answer.citations))
    parts = [f'<div class="rag-answer" data-mode="{escape(answer.mode)}">',
             f'<div class="rag-text">{text}</div>']
    if stopped:
        parts.append('<div class="rag-notice rag-stopped"><strong>Stopped</strong>: the answer was cut short '
                     "where you stopped it.</div>")
    elif answer.notice:
        parts.append(f'<div class="rag-notice"><strong>Note:</strong> {notice_html(answer.notice)}</div>')
    if answer.unsupported_claims:
        claims = "".join(f"<li>{escape(c)}</li>" for c in answer.unsupported_claims)
        parts.append(f'<div class="rag-notice rag-unsupported"><strong>{UNSUPPORTED_HEADING}</strong>'
                     f"<ul>{claims}</ul></div>")
    if answer.citations:
        n = len(answer.citations)
        parts.append(f'<details class="rag-sources"><summary>Sources ({n})</summary>')
        parts += [_source_html(c, answer_id, answer.mode) for c in answer.citations]
        parts.append("</details>")
    parts.append(footer_html(answer).removesuffix("</div>") + _actions_html(answer) + "</div>")
    parts.append("</div>")
    return _one_block("".join(parts))


def _plain_chip(n: int) -> str:
    # While streaming the sources are not final yet: the marker is shown as a chip that links nowhere.
    return f'<span class="rag-cite">{n}</span>'


def _evidence_block(evidence: Sequence[Citation], answer_id: str) -> str:
    """The sentences the model was given, numbered as in its prompt: shown before its first word."""
    if not evidence:
        return ""
    cards = "".join(_source_html(c, answer_id, "evidence") for c in evidence)
    return (f'<details class="rag-sources rag-evidence" open><summary>Sources ({len(evidence)})</summary>'
            f"{cards}</details>")


def _live_text(text: str, evidence: Sequence[Citation], answer_id: str) -> str:
    known = {c.number for c in evidence}

    def chip(n: int) -> str:
        if n in known:
            return f'<a class="rag-cite" href="#{source_anchor(answer_id, n)}" title="source {n}">{n}</a>'
        return _plain_chip(n)

    return _lines_html(_with_markers(text, chip))


def render_streaming(text: str, evidence: Sequence[Citation] = (), answer_id: str = "x") -> str:
    """An answer being generated: chips, a cursor, and the evidence it is written from (once known)."""
    body = _live_text(text, evidence, answer_id)
    cursor = '<span class="rag-cursor">▍</span>'
    if not text and evidence:
        body = '<span class="rag-pending">Writing the answer…</span>'
    return _one_block(f'<div class="rag-answer"><div class="rag-text">{body}{cursor}</div>'
                      f"{_evidence_block(evidence, answer_id)}</div>")


def render_stopped(text: str, evidence: Sequence[Citation] = (), answer_id: str = "x") -> str:
    """What was written before Stop, marked as stopped, with the evidence it was written from."""
    body = _live_text(text, evidence, answer_id) if text else "<em>(nothing written yet)</em>"
    return _one_block(
        f'<div class="rag-answer rag-answer-stopped"><div class="rag-text">{body}</div>'
        '<div class="rag-notice rag-stopped"><strong>Stopped</strong>: the answer was cut short where you '
        f"stopped it.</div>{_evidence_block(evidence, answer_id)}</div>"
    )


def render_pending(message: str) -> str:
    """A placeholder in the assistant's bubble (queued, searching)."""
    return f'<div class="rag-answer rag-pending">{escape(message)}</div>'


def render_error(partial: str, message: str) -> str:
    """What was generated before a failure, then the failure as one readable line."""
    body = _lines_html(_with_markers(partial, _plain_chip)) if partial else ""
    return _one_block(
        f'<div class="rag-answer"><div class="rag-text">{body}</div>'
        f'<div class="rag-error"><strong>Error:</strong> {escape(message)}</div></div>'
    )


def render_user(text: str) -> str:
    """A user's message as shown in the chat (escaped: it is rendered as Markdown)."""
    return escape(text.strip())


def _one_block(html: str) -> str:
    # No newline at all: Markdown must see one HTML block (see the module docstring).
    return html.replace("\r", "").replace("\n", "")


# -- the status line and the controls --------------------------------------------------------------


def _articles(n: int) -> str:
    return f"{n} article{'s' if n != 1 else ''}"


def languages_phrase(languages: dict[str, int]) -> str:
    """``3 in Greek, 1 in Italian``: how many articles each language has, the largest first."""
    by_size = sorted(languages.items(), key=lambda kv: (-kv[1], kv[0]))
    return ", ".join(f"{v} in {language_name(k)}" for k, v in by_size)


def status_markdown(health: Health | None, stats: IndexStats | None, index_error: str | None = None,
                    model: str | None = None) -> str:
    """The status line: the model answers will use and whether it can (or the retrieval-only banner), and
    the index. ``model`` is the one picked in the menu, when it differs from the configured one."""
    if health is None:
        line = "Checking the language model…"
    elif not health.reachable or (not health.ok and not model):
        line = f"**retrieval-only**: {health.message}"
    else:
        name = model or health.model
        installed = name == health.model and health.ok or name in health.models or not health.models
        state = "reachable" if installed else "not installed: run `ollama pull " + name + "`"
        line = f"**Model**: {name} via {health.backend} at {health.url} ({state})"
    if stats is not None:
        langs = languages_phrase(stats.languages)
        index = (f"**Index**: {_articles(stats.documents)}" + (f" ({langs})" if langs else "")
                 + f", {stats.chunks} passages")
    else:
        index = f"**Index**: unavailable ({index_error or 'unknown error'})"
    return f"{line}  \n{index}"


def summary_markdown(documents: Sequence, stats: IndexStats | None) -> str:  # documents: DocumentInfo
    """One line on what the index covers: how many articles, their languages, uploads, and a few titles."""
    if stats is None and not documents:
        return "The articles cannot be read right now."
    if not documents:
        n = stats.documents if stats else 0
        return "No articles yet: add one with *Add articles*." if n == 0 else f"{_articles(n)} indexed."
    languages: dict[str, int] = {}
    for d in documents:
        languages[d.language] = languages.get(d.language, 0) + 1
    uploads = sum(d.origin == "upload" for d in documents)
    newest = sorted(documents, key=lambda d: -(d.added or 0))[:3]
    titles = "; ".join(f"“{markdown_text(d.title)}”" for d in newest)
    own = f", {uploads} uploaded here" if uploads else ""
    return (f"**{_articles(len(documents))}** ({languages_phrase(languages)}{own}). "
            f"Newest: {titles}.")


def language_choices(languages: Iterable[str]) -> list[tuple[str, str]]:
    """Dropdown choices for the language filter: (label, code), "" meaning every language."""
    return [("All languages", "")] + [(f"{language_name(c)} ({c})", c) for c in sorted(set(languages)) if c]


def model_choices(health: Health | None, configured: str) -> list[str]:
    """The models a user can pick: Ollama's installed chat models when reachable, else the configured one."""
    names = [configured]
    if health is not None and health.reachable:
        # Embedding models are listed by Ollama too but cannot answer.
        names += [m for m in health.models if "embed" not in m.lower() and m not in names]
    return names


def markdown_text(text: str) -> str:
    """``text`` shown as is by a Markdown component: no HTML, no emphasis from ``_`` in file names.

    Backticks are kept: the package's messages quote commands in them (`iconv ...`, `ollama serve`).
    """
    return re.sub(r"([\\*_\[\]#|~])", r"\\\1", escape(text, quote=False))


# -- uploads and the articles view -------------------------------------------------------------------------


def _duration(seconds: float) -> str:
    return f"{seconds:.0f} s" if seconds < 90 else f"{seconds / 60:.0f} min"


def render_jobs(jobs: Sequence, now: float) -> str:  # jobs: IngestJob
    """This session's uploads: queued, indexing with progress, done, or failed with the reason."""
    if not jobs:
        return ""
    items = []
    for j in jobs:
        name = escape(j.name)
        if j.state == "queued":
            text = f"<strong>{name}</strong>: queued ({j.size / 1000:.0f} kB)"
        elif j.state == "indexing":
            parts = [f"file {j.files_done} of {j.files_total}"]
            if j.chunks_expected:
                parts.append(f"{j.chunks_done} of about {j.chunks_expected} passages")
            left = j.seconds_left(now)
            parts.append(f"about {_duration(left)} left" if left is not None
                         else f"{_duration(now - (j.started or now))} so far")
            text = f"<strong>{name}</strong>: indexing… {', '.join(parts)}"
        else:
            text = escape(j.message)
        items.append(f'<li class="rag-job rag-job-{j.state}" data-state="{j.state}">{text}</li>')
    return '<ul class="rag-jobs">' + "".join(items) + "</ul>"


def _when(epoch: float | None) -> str:
    if not epoch:
        return "–"
    import datetime as _dt

    return _dt.datetime.fromtimestamp(epoch).strftime("%Y-%m-%d %H:%M")


def render_articles(documents: Sequence) -> str:  # documents: DocumentInfo
    """Every indexed article: title, language, passages, when added, and where it comes from."""
    if not documents:
        return "<p>No articles are indexed yet.</p>"
    rows = []
    for d in sorted(documents, key=lambda d: (d.origin != "upload", -(d.added or 0), d.title)):
        origin = ("uploaded here" if d.origin == "upload"
                  else '<span class="rag-origin-folder" title="re-added by the next `rag ingest` of its folder">'
                       "articles folder</span>")
        rows.append(f'<tr data-doc="{escape(d.doc_id)}"><td>{escape(d.title)}<br><code>{escape(d.shown)}</code></td>'
                    f"<td>{escape(language_name(d.language))}</td><td>{d.chunks}</td><td>{_when(d.added)}</td>"
                    f"<td>{origin}</td></tr>")
    return ('<table class="rag-articles"><thead><tr><th>Article</th><th>Language</th><th>Passages</th>'
            "<th>Added</th><th>From</th></tr></thead><tbody>" + "".join(rows) + "</tbody></table>")


def render_article(document, text: str, start: int | None = None, end: int | None = None) -> str:  # noqa: ANN001
    """One article in full, ``text[start:end]`` highlighted (the reader scrolls to it)."""
    origin = ("uploaded on this page: you can remove it" if document.origin == "upload"
              else "from the articles folder: removing it here lasts until the next `rag ingest` of that folder")
    meta = (f'<div class="rag-reader-meta"><code>{escape(document.shown)}</code> · '
            f"{escape(language_name(document.language))} · {document.chunks} passages · added {_when(document.added)}"
            f" · {notice_html(origin)}</div>")
    if start is not None and end is not None and 0 <= start < end <= len(text):
        body = (f"{escape(text[:start])}<mark class=\"rag-hl\" id=\"rag-hl\">{escape(text[start:end])}</mark>"
                f"{escape(text[end:])}")
    else:
        body = escape(text)
    return f'<h3>{escape(document.title)}</h3>{meta}<div class="rag-reader">{body}</div>'
