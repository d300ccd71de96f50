"""One answer being generated, as the page needs it: evidence first, then text pieces, then the ``Answer``;
and a ``cancel()`` that stops the model call.

``RAG.stream`` returns an ``AnswerStream`` with exactly these (``evidence`` before the first token,
``answer``, ``cancel``); ``PageStream`` adds only the page's reading of it. Should the facade hand back
a plain generator of pieces ending with the ``Answer`` (older versions), it is read the same way, with
the passages known at the end and cancel taking effect at the next piece.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from rag.errors import RagError
from rag.types import Answer, Citation

if TYPE_CHECKING:
    from rag.pipeline import RAG


class PageStream:
    """Iterate for the text pieces; ``evidence()`` blocks until retrieval ended; ``answer`` at the end."""

    def __init__(self, stream: Any) -> None:
        self._stream = stream
        self._native = hasattr(stream, "cancel") and hasattr(stream, "evidence")
        self._cancelled = threading.Event()
        self._answer: Answer | None = None

    def evidence(self) -> tuple[Citation, ...]:
        """The numbered sentences the model is given (waits for retrieval, never for the model)."""
        if not self._native:
            return ()
        return tuple(getattr(self._stream.evidence, "citations", ()) or ())

    def __iter__(self) -> Iterator[str]:
        for item in self._stream:
            if self._cancelled.is_set():
                break
            if isinstance(item, Answer):
                self._answer = item
            else:
                yield item

    @property
    def answer(self) -> Answer:
        if self._native:
            return self._stream.answer
        if self._answer is None:
            raise RagError("the answer ended without a result; please ask again")
        return self._answer

    def cancel(self) -> None:
        self._cancelled.set()
        if self._native:
            self._stream.cancel()


def open_stream(rag: RAG, question: str, **options: Any) -> PageStream:
    """Start answering ``question`` (nothing runs until the passages or the pieces are asked for)."""
    return PageStream(rag.stream(question, **options))
