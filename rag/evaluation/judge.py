"""``rag eval --judge``: llama-index's ``FaithfulnessEvaluator`` asks the configured model whether an
answer is supported by the passages it was given.

The evaluator runs through the product's own backend (``RAG.judge_llm()``), wrapped as a llama-index
LLM, so the judge uses the same server, model and errors as the answers it judges.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from llama_index.core.evaluation import FaithfulnessEvaluator
from llama_index.core.llms import CompletionResponse, CompletionResponseGen, CustomLLM, LLMMetadata
from llama_index.core.llms.callbacks import llm_completion_callback
from pydantic import PrivateAttr

from rag.errors import RagError
from rag.llm import LLMBackend
from rag.types import Passage

_YES_NO = re.compile(r"\b(yes|no)\b", re.I)


class _BackendLLM(CustomLLM):
    """A ``LLMBackend`` as a llama-index completion LLM (temperature 0: a verdict, not prose)."""

    _backend: Any = PrivateAttr()

    def __init__(self, backend: LLMBackend) -> None:
        super().__init__()
        self._backend = backend

    @property
    def metadata(self) -> LLMMetadata:
        return LLMMetadata(model_name=self._backend.model, is_chat_model=False)

    @llm_completion_callback()
    def complete(self, prompt: str, formatted: bool = False, **kwargs: Any) -> CompletionResponse:
        return CompletionResponse(text=self._backend.complete([{"role": "user", "content": prompt}], temperature=0.0))

    @llm_completion_callback()
    def stream_complete(self, prompt: str, formatted: bool = False, **kwargs: Any) -> CompletionResponseGen:
        text = self.complete(prompt, formatted).text
        yield CompletionResponse(text=text, delta=text)


class FaithfulnessJudge:
    """Judges answers against their passages with one model."""

    def __init__(self, backend: LLMBackend) -> None:
        self._evaluator = FaithfulnessEvaluator(llm=_BackendLLM(backend))

    def __call__(self, answer: str, passages: Sequence[Passage]) -> tuple[str, str]:
        """(verdict, the model's reply): ``faithful``, ``unfaithful``, or ``unparsable`` when the reply
        says neither yes nor no or the model failed (the reply is then ``error: ...``)."""
        try:
            result = self._evaluator.evaluate(response=answer, contexts=[p.text for p in passages])
        except RagError as exc:
            return "unparsable", f"error: {exc}"
        raw = result.feedback or ""
        if not _YES_NO.search(raw):
            return "unparsable", raw
        return ("faithful" if result.passing else "unfaithful"), raw
