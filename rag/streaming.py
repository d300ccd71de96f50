"""The stream of one answer: the evidence first, then the model's text as it arrives, then the ``Answer``.

Modelled on simonw/llm's ``Response``: iterate it for text; ``.evidence`` is ready as soon as retrieval
ends (before the model's first token); ``.answer`` finishes the stream and returns the final
``Answer``; ``.cancel()`` stops the model and keeps the partial text.

    stream = rag.stream("When did Lavrov meet Kim?")
    for citation in stream.evidence.citations:   # shown while the model reads its prompt
        print(citation.number, citation.sentence)
    for piece in stream:
        print(piece, end="")
    answer = stream.answer
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass

from rag.types import Answer, Citation, Passage


@dataclass(frozen=True)
class Evidence:
    """What the answer rests on: the retrieved passages and the sentences given to the model.

    ``citations`` are numbered as in the prompt; each carries its passage, its text as it stands in the
    article and its character span there. ``unanswerable`` is the retrieval's own verdict that the
    articles hold nothing close to the question.
    """

    passages: tuple[Passage, ...]
    citations: tuple[Citation, ...]
    question_language: str = "en"
    unanswerable: bool = False


class AnswerStream:
    """Iterate for the answer's text pieces; ``evidence``, ``answer`` and ``cancel()`` as described above.

    Built from a generator of events: one ``Evidence``, then ``str`` pieces, then one ``Answer``. The
    generator reads ``cancelled`` between pieces and then closes the model's HTTP stream.
    """

    def __init__(self, events: Iterator[Evidence | str | Answer], cancelled: threading.Event | None = None) -> None:
        self._events = events
        self.cancelled = cancelled or threading.Event()
        self._evidence: Evidence | None = None
        self._answer: Answer | None = None
        self._pending: list[str] = []  # text read while looking for the evidence (never: it comes first)
        self._lock = threading.Lock()

    def _next(self) -> Evidence | str | Answer | None:
        with self._lock:
            if self._answer is not None:
                return None
            event = next(self._events, None)
            if isinstance(event, Evidence):
                self._evidence = event
            elif isinstance(event, Answer):
                self._answer = event
            return event

    @property
    def evidence(self) -> Evidence:
        """The passages and numbered supporting sentences; waits for retrieval only, never for the model."""
        while self._evidence is None:
            event = self._next()
            if isinstance(event, str):
                self._pending.append(event)
            elif event is None and self._evidence is None:
                raise RuntimeError("the answer stream ended without evidence")
        return self._evidence

    def __iter__(self) -> Iterator[str]:
        while self._pending:
            yield self._pending.pop(0)
        while True:
            event = self._next()
            if event is None or isinstance(event, Answer):
                return
            if isinstance(event, str) and event:
                yield event

    @property
    def answer(self) -> Answer:
        """The final ``Answer``, reading whatever of the stream is left."""
        for _ in self:
            pass
        if self._answer is None:
            raise RuntimeError("the answer stream ended without an answer")
        return self._answer

    def cancel(self) -> None:
        """Stop the model (its HTTP stream is closed at the next piece); the answer keeps the partial text."""
        self.cancelled.set()

    def text(self) -> str:
        """The whole answer text (simonw/llm's ``Response.text()``)."""
        return self.answer.text
