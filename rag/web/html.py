"""What the chat page shows, as HTML or Markdown strings. Pure: no Gradio, no I/O.

Everything that comes from an article, a model or a user is HTML-escaped here. The chat renders a
message as Markdown, so an answer is one ``<div>`` without blank lines (a blank line would end the
HTML block and let Markdown loose on article text).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from html import escape

from rag.llm import Health
from rag.prompts import language_name
from rag.types import Answer, Citation, IndexStats

# The markers the answerer leaves in an answer after repairing them: always "[n]".
_MARKER = re.compile(r"\[(\d{1,3})\]")

CSS = """
.rag-answer { line-height: 1.5; }
.rag-cite { display: inline-block; min-width: 1.3em; padding: 0 .35em; margin: 0 .1em; border-radius: .7em;
  font-size: .75em; line-height: 1.5; text-align: center; vertical-align: super;
  text-decoration: none !important;
  background: var(--color-accent-soft, #dbeafe); color: var(--color-accent, #1d4ed8) !important;
  border: 1px solid var(--color-accent, #1d4ed8); }
a.rag-cite:hover { background: var(--color-accent, #1d4ed8); color: #fff !important; }
.rag-notice, .rag-error { margin-top: .5em; padding: .3em .6em; border-radius: .4em; font-size: .9em; }
.rag-notice { background: #fef9c3; color: #713f12; }
.rag-error { background: #fee2e2; color: #7f1d1d; }
.rag-pending { opacity: .7; font-style: italic; }
.rag-cursor { animation: rag-blink 1s steps(1) infinite; }
@keyframes rag-blink { 50% { opacity: 0; } }
.rag-sources { margin-top: .6em; padding-top: .3em;
  border-top: 1px solid var(--border-color-primary, #e5e7eb); }
.rag-sources > summary { cursor: pointer; font-weight: 600; font-size: .9em; }
.rag-source { margin: .5em 0; padding: .4em .6em; border-left: 3px solid var(--color-accent, #1d4ed8);
  border-radius: .3em; scroll-margin-top: 2em; }
.rag-source:target { background: var(--color-accent-soft, #eff6ff); }
.rag-source-title { font-size: .95em; }
.rag-title { font-weight: 600; font-size: .95em; }
.rag-source-meta { font-size: .8em; opacity: .8; }
.rag-passage { margin: .3em 0 0 0; font-size: .9em; white-space: normal; }
.rag-passage mark { background: #fde68a; color: inherit; padding: 0 .1em; }
.rag-badge { font-size: .75em; padding: 0 .4em; border-radius: .5em; background: #e5e7eb; color: #374151; }
.rag-status p { margin: 0; }
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


def _source_html(c: Citation, answer_id: str) -> str:
    p = c.passage
    start, end = sentence_offsets(c)
    lead = len(p.text) - len(p.text.lstrip())
    passage = highlight(p.text.strip(), start - lead, end - lead).replace("\n", "<br>")
    badges = []
    if c.inferred:
        badges.append(_badge("inferred", "the model cited nothing; this passage was matched to the answer"))
    if c.better is not None:
        badges.append(_badge(f"[{c.better}] fits better",
                             f"passage [{c.better}] supports this claim more closely than the one cited"))
    elif not c.supported:
        badges.append(_badge("weak support", "the closest sentence is only weakly related to the claim"))
    meta = " · ".join([
        f"<code>{escape(p.source)}</code>",
        f"{escape(language_name(p.language))} ({escape(p.language)})",
        f"score {p.score:.3f}",
        f"support {c.similarity:.2f}",
    ])
    return (
        f'<div class="rag-source" id="{source_anchor(answer_id, c.number)}">'
        f'<div class="rag-source-title"><span class="rag-cite">{c.number}</span> '
        f'<span class="rag-title">{escape(p.title)}</span> {" ".join(badges)}</div>'
        f'<div class="rag-source-meta">{meta}</div>'
        f'<blockquote class="rag-passage">{passage}</blockquote>'
        "</div>"
    )


def _badge(label: str, why: str) -> str:
    return f'<span class="rag-badge" title="{escape(why)}">{escape(label)}</span>'


def render_answer(answer: Answer, answer_id: str) -> str:
    """One finished answer: text with citation chips, any notice, and its sources (collapsible)."""
    text = answer_text_html(answer.text, answer_id, (c.number for c in answer.citations))
    parts = [f'<div class="rag-answer" data-mode="{escape(answer.mode)}">',
             f'<div class="rag-text">{text}</div>']
    if answer.notice:
        parts.append(f'<div class="rag-notice"><strong>Note:</strong> {escape(answer.notice)}</div>')
    if answer.citations:
        n = len(answer.citations)
        parts.append(f'<details class="rag-sources"><summary>Sources ({n})</summary>')
        parts += [_source_html(c, answer_id) for c in answer.citations]
        parts.append("</details>")
    parts.append("</div>")
    return _one_block("".join(parts))


def _plain_chip(n: int) -> str:
    # While streaming the sources are not known yet: the marker is shown as a chip that links nowhere.
    return f'<span class="rag-cite">{n}</span>'


def render_streaming(text: str) -> str:
    """An answer while it is being generated: markers as plain chips, and a cursor."""
    body = _lines_html(_with_markers(text, _plain_chip))
    cursor = '<span class="rag-cursor">▍</span>'
    return _one_block(f'<div class="rag-answer"><div class="rag-text">{body}{cursor}</div></div>')


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


def status_markdown(health: Health | None, stats: IndexStats | None, index_error: str | None = None) -> str:
    """The status line: the model and whether it can answer (or the retrieval-only banner), and the index."""
    if health is None:
        model = "Checking the language model…"
    elif health.ok:
        model = f"**Model**: {health.model} via {health.backend} at {health.url} (reachable)"
    else:
        model = f"**retrieval-only**: {health.message}"
    if stats is not None:
        by_size = sorted(stats.languages.items(), key=lambda kv: (-kv[1], kv[0]))
        langs = ", ".join(f"{language_name(k)} {v}" for k, v in by_size)
        index = (f"**Index**: {stats.documents} article{'s' if stats.documents != 1 else ''}, "
                 f"{stats.chunks} chunks" + (f" ({langs})" if langs else ""))
    else:
        index = f"**Index**: unavailable ({index_error or 'unknown error'})"
    return f"{model}  \n{index}"


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
