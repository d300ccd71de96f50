"""Plain-text rendering of answers and passages, for the CLI."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rag.types import Answer, Passage

if TYPE_CHECKING:
    from rag.streaming import Evidence


# Over the claims of an answer that no given sentence supports (``Answer.unsupported_claims``), here and on the page.
UNSUPPORTED_HEADING = "Not found in the sources (check before relying on it):"


def render_passage(p: Passage, width: int = 300) -> str:
    text = " ".join(p.text.split())
    if len(text) > width:
        text = text[: width - 1] + "…"
    return f"{p.rank}. {p.shown} [{p.language}] chars {p.start}-{p.end}  score {p.score:.4f}\n   {p.title}\n   {text}"


def render_answer_text(answer: Answer) -> str:
    lines = [answer.text.strip()]
    if answer.notice:
        lines += ["", f"({answer.notice})"]
    if answer.unsupported_claims:
        lines += ["", UNSUPPORTED_HEADING, *(f"  - {c}" for c in answer.unsupported_claims)]
    if answer.citations:
        lines += ["", "Sources:"]
        for c in answer.citations:
            flags = []
            if c.inferred:
                flags.append("inferred")
            if c.better is not None:
                flags.append(f"[{c.better}] supports it better")
            elif not c.supported:
                flags.append("weak support")
            flag = f" ({', '.join(flags)})" if flags else ""
            lines.append(f"[{c.number}] {c.passage.shown} [{c.passage.language}] chars {c.start}-{c.end}{flag}")
            lines.append(f"    \u201c{' '.join(c.sentence.split())}\u201d")
    return "\n".join(lines)


def render_evidence(evidence: Evidence) -> str:
    """The numbered sentences an answer rests on, shown before the model's text."""
    lines = ["Evidence:"]
    for c in evidence.citations:
        lines.append(f"[{c.number}] {c.passage.shown} [{c.passage.language}] chars {c.start}-{c.end}")
        lines.append(f"    \u201c{' '.join(c.sentence.split())}\u201d")
    return "\n".join(lines)
