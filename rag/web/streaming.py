"""One answer being generated, read for the page: evidence first, then text pieces, then the ``Answer``.

``RAG.stream`` returns an ``AnswerStream`` (``evidence`` before the first token, the text pieces,
``answer``, ``cancel()``). The page reads it in a thread of its own and hands the events over through a
queue, so that the page's handler can let go of an answer at any moment (Stop, New chat): it never
waits inside the model call, and so never holds a Gradio slot for an answer nobody reads. A cancelled
stream is drained in that thread until the model call has stopped.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from rag.pipeline import RAG
    from rag.streaming import AnswerStream

log = logging.getLogger(__name__)

Kind = Literal["evidence", "piece", "answer", "waiting"]
_POLL = 0.2  # seconds between checks of whether the answer is still wanted


class PageStream:
    """The events of one answer, read from ``RAG.stream`` in a background thread."""

    def __init__(self, start: Callable[[], AnswerStream]) -> None:
        self._start = start
        self._stream: AnswerStream | None = None
        self._events: queue.Queue[tuple[Kind | Literal["error"], Any]] = queue.Queue()
        self._cancelled = threading.Event()
        self._thread = threading.Thread(target=self._pump, name="answer-stream", daemon=True)
        self._thread.start()

    def _pump(self) -> None:
        try:
            stream = self._stream = self._start()
            if self._cancelled.is_set():
                stream.cancel()
            self._events.put(("evidence", tuple(stream.evidence.citations)))
            for piece in stream:
                self._events.put(("piece", piece))
            self._events.put(("answer", stream.answer))
        except BaseException as exc:  # handed to the reader, which shows it as one line
            self._events.put(("error", exc))

    def events(self, wanted: Callable[[], bool]) -> Iterator[tuple[Kind, Any]]:
        """("evidence", citations), ("piece", text)…, then ("answer", Answer); ("waiting", None) every
        ``_POLL`` s without news. Ends early, without waiting for the model, once ``wanted()`` is False."""
        while True:
            if not wanted():
                return
            try:
                kind, value = self._events.get(timeout=_POLL)
            except queue.Empty:
                yield "waiting", None
                continue
            if kind == "error":
                raise value
            assert kind != "error"
            yield kind, value
            if kind == "answer":
                return

    def cancel(self) -> None:
        """Stop the model call (the partial text is kept by ``RAG``); safe before the stream started."""
        self._cancelled.set()
        if self._stream is not None:
            self._stream.cancel()


def open_stream(rag: RAG, question: str, **options: Any) -> PageStream:
    """Start answering ``question`` in the background."""
    return PageStream(lambda: rag.stream(question, **options))

