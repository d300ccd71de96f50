"""An in-process language model for answering tests: the ``LLMBackend`` protocol, no HTTP.

Like simonw/llm's test model it answers from a queue of canned replies (or a function of the
messages), records every request, and can be down, fail, or stop mid-answer. The socket-level
``fake_ollama.FakeOllama`` is kept for what only the wire shows: timeouts and dropped streams.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field

from fake_ollama import split_pieces

from rag.errors import LLMError
from rag.llm import Health

Messages = Sequence[dict[str, str]]
ReplyFn = Callable[[list[dict[str, str]]], str]


@dataclass
class FakeLLM:
    """``replies`` are used in order, then ``default``; ``fail_after`` pieces raise an ``LLMError``."""

    default: str | ReplyFn = "The articles do not contain the answer to this question."
    model: str = "fake-model"
    up: bool = True
    window: int = 8192
    fail_after: int | None = None  # pieces streamed before the connection "drops"
    requests: list[list[dict[str, str]]] = field(default_factory=list)
    replies: deque = field(default_factory=deque)
    closed_streams: int = 0  # streams the answerer closed before their end (a cancelled answer)

    def say(self, *replies: str | ReplyFn) -> FakeLLM:
        self.replies.extend(replies)
        return self

    def health(self, refresh: bool = False) -> Health:
        message = f"{self.model} (fake)" if self.up else "the fake model is down (start it with `ollama serve`)"
        return Health(self.up, self.up, self.model, "fake", "in-process", self.window, (self.model,), message)

    def context_window(self) -> int:
        return self.window

    def _reply(self, messages: Messages) -> str:
        if not self.up:
            raise LLMError("the fake model is down (start it with `ollama serve`)")
        self.requests.append([dict(m) for m in messages])
        reply = self.replies.popleft() if self.replies else self.default
        return reply(list(messages)) if callable(reply) else reply

    def stream(self, messages: Messages, *, temperature: float | None = None,
               max_tokens: int | None = None) -> Iterator[str]:
        pieces = split_pieces(self._reply(messages))
        finished = False
        try:
            for i, piece in enumerate(pieces):
                if self.fail_after is not None and i >= self.fail_after:
                    raise LLMError("Ollama dropped the connection in the middle of the answer")
                yield piece
            finished = True
        finally:
            if not finished:
                self.closed_streams += 1

    def complete(self, messages: Messages, *, temperature: float | None = None,
                 max_tokens: int | None = None) -> str:
        return self._reply(messages)

    @property
    def last_user_message(self) -> str:
        return next(m["content"] for m in reversed(self.requests[-1]) if m["role"] == "user")
