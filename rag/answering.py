"""Grounded answers: translate, retrieve, budget the prompt, stream from the LLM, cite, or fall back.

``Answerer.stream`` yields the answer's text pieces as they arrive, then one final ``Answer``.
Without a reachable model it answers in retrieval-only mode: the best supporting sentences of the
top passages, cited, with the reason the model was not used.
"""

from __future__ import annotations

import json
import logging
import re
import threading
import time
from collections import OrderedDict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace

from rag.citations import cite, supporting_sentences
from rag.embedding import Embedder
from rag.errors import LLMError
from rag.language import LanguageDetector
from rag.llm import LLMBackend
from rag.prompts import (
    RETRIEVAL_ONLY_INTRO,
    answer_messages,
    condense_messages,
    estimate_tokens,
    is_refusal,
    refusal_sentence,
    translation_messages,
)
from rag.retrieval import HybridRetriever
from rag.types import Answer, Passage

log = logging.getLogger(__name__)

Turn = dict[str, str]  # {"role": "user"|"assistant", "content": ...}


@dataclass(frozen=True)
class AskOptions:
    """Per-question choices; ``None`` means the settings' value."""

    top_k: int
    language: str | None = None  # only passages in this language
    sources: tuple[str, ...] | None = None
    translate: bool = True
    temperature: float | None = None


def parse_translations(reply: str, languages: Sequence[str]) -> dict[str, str]:
    """The translations in a model's reply: a JSON object, or ``code: text`` lines as a fallback."""
    found: dict[str, str] = {}
    m = re.search(r"\{.*\}", reply, re.DOTALL)
    if m:
        try:
            data = json.loads(m.group(0))
            if isinstance(data, dict):
                found = {str(k).lower(): str(v) for k, v in data.items() if isinstance(v, str)}
        except json.JSONDecodeError:
            pass
    if not found:
        for line in reply.splitlines():
            lm = re.match(r'\s*"?([a-zA-Z]{2})"?\s*[:=]\s*"?(.+?)"?,?\s*$', line)
            if lm:
                found[lm.group(1).lower()] = lm.group(2)
    return {k: v.strip() for k, v in found.items() if k in languages and v.strip()}


def fit_passages(
    passages: Sequence[Passage], question: str, language: str, context_window: int, answer_tokens: int
) -> tuple[list[Passage], int]:
    """The passages that fit the context window, dropping the lowest-ranked first; and how many were dropped."""
    kept = list(passages)
    while kept:
        prompt = answer_messages(question, kept, language)
        if sum(estimate_tokens(m["content"]) for m in prompt) + answer_tokens <= context_window:
            break
        kept.pop()
    return kept, len(passages) - len(kept)


class Answerer:
    """Runs one question through translation, retrieval, generation and citation."""

    def __init__(
        self,
        retriever: HybridRetriever,
        embedder: Embedder,
        detector: LanguageDetector,
        llm: LLMBackend,
        *,
        support_threshold: float = 0.8,
        translation_weight: float = 0.5,
        max_answer_tokens: int = 512,
        history_turns: int = 6,
    ) -> None:
        self.retriever = retriever
        self.embedder = embedder
        self.detector = detector
        self.llm = llm
        self.support_threshold = support_threshold
        self.translation_weight = translation_weight
        self.max_answer_tokens = max_answer_tokens
        self.history_turns = history_turns
        self._translations: OrderedDict[tuple, dict[str, str]] = OrderedDict()
        self._translations_lock = threading.Lock()  # answers run concurrently on the chat page

    # -- steps ---------------------------------------------------------------------------------------

    def translate(self, question: str, source_language: str, languages: Sequence[str]) -> dict[str, str]:
        """The question in each of ``languages`` (one LLM call, cached). Never raises: {} on failure."""
        targets = [lang for lang in languages if lang != source_language]
        if not targets:
            return {}
        key = (self.llm.model, question, tuple(targets))
        with self._translations_lock:
            if key in self._translations:
                return self._translations[key]
        try:
            reply = self.llm.complete(translation_messages(question, targets), temperature=0.0, max_tokens=300)
        except LLMError as exc:
            log.warning("translation failed, searching with the original question only: %s", exc)
            return {}
        result = {k: v for k, v in parse_translations(reply, targets).items() if v.casefold() != question.casefold()}
        with self._translations_lock:
            self._translations[key] = result
            if len(self._translations) > 256:
                self._translations.popitem(last=False)
        return result

    def condense(self, message: str, history: Sequence[Turn]) -> str:
        """A follow-up rewritten into a standalone question using the recent history."""
        recent = list(history)[-2 * self.history_turns :] if self.history_turns else []
        if not recent:
            return message
        if self.llm.health().ok:
            try:
                reply = self.llm.complete(condense_messages(message, recent), temperature=0.0, max_tokens=120)
                standalone = reply.strip().strip('"').splitlines()[0].strip() if reply.strip() else ""
                if standalone:
                    return standalone
            except LLMError as exc:
                log.warning("could not condense the follow-up: %s", exc)
        # No model: search with the previous question as context, so "And where?" still finds something.
        last_user = next((t["content"] for t in reversed(recent) if t.get("role") == "user"), "")
        return f"{last_user} {message}".strip()

    def retrieve(self, question: str, opts: AskOptions, languages: Sequence[str], use_llm: bool
                 ) -> tuple[list[Passage], dict[str, str], float, float]:
        """Passages for the question and its translations: (passages, translations, retrieve ms, translate ms)."""
        qlang = self.detector.detect(question)
        translations: dict[str, str] = {}
        t0 = time.perf_counter()
        if opts.translate and use_llm:
            translations = self.translate(question, qlang, languages)
        translate_ms = (time.perf_counter() - t0) * 1000
        t1 = time.perf_counter()
        rankings = [self.retriever.rank(question, language=opts.language, sources=opts.sources, query_language=qlang)]
        weights = [1.0]
        for lang, text in translations.items():
            rankings.append(
                self.retriever.rank(text, language=opts.language, sources=opts.sources, query_language=lang)
            )
            weights.append(self.translation_weight)
        passages = self.retriever.fuse(rankings, weights, opts.top_k)
        return passages, translations, (time.perf_counter() - t1) * 1000, translate_ms

    # -- the whole question --------------------------------------------------------------------------

    def stream(
        self, question: str, opts: AskOptions, languages: Sequence[str], history: Sequence[Turn] = ()
    ) -> Iterator[str | Answer]:
        started = time.perf_counter()
        language = self.detector.detect(question)
        health = self.llm.health()
        standalone = self.condense(question, history) if history else question
        passages, translations, retrieve_ms, translate_ms = self.retrieve(standalone, opts, languages, health.ok)
        base = Answer(
            text="", citations=(), passages=tuple(passages), refused=False, language=language,
            model=self.llm.model if health.ok else None, mode="llm" if health.ok else "retrieval-only",
            question=question, standalone_question=standalone, translations=translations,
            retrieve_ms=retrieve_ms, translate_ms=translate_ms,
        )
        if not health.ok:
            answer = self._retrieval_only(base, health.message, started)
            yield answer.text
            yield answer
            return
        if not passages:
            text = refusal_sentence(language)
            yield text
            yield replace(base, text=text, refused=True, total_ms=_ms(started))
            return
        yield from self._generate(base, standalone, language, opts, started)

    def _generate(self, base: Answer, question: str, language: str, opts: AskOptions, started: float
                  ) -> Iterator[str | Answer]:
        kept, dropped = fit_passages(
            base.passages, question, language, self.llm.context_window(), self.max_answer_tokens
        )
        if dropped:
            log.info("dropped %d lowest-ranked passages to fit the context window", dropped)
        if not kept:
            reason = (f"no passage fits the model's context window ({self.llm.context_window()} tokens) with "
                      f"{self.max_answer_tokens} tokens kept for the answer; raise RAG_NUM_CTX or lower "
                      f"RAG_MAX_ANSWER_TOKENS")
            answer = self._retrieval_only(base, reason, started)
            yield answer.text
            yield answer
            return
        pieces: list[str] = []
        first_token_ms = None
        notice = None
        incomplete = False
        try:
            for piece in self.llm.stream(answer_messages(question, kept, language), temperature=opts.temperature):
                if first_token_ms is None:
                    first_token_ms = _ms(started)
                pieces.append(piece)
                yield piece
        except LLMError as exc:
            if not pieces:
                answer = self._retrieval_only(replace(base, passages=tuple(kept)), str(exc), started)
                yield answer.text
                yield answer
                return
            incomplete, notice = True, f"the answer is incomplete: {exc}"
        raw = "".join(pieces).strip()
        refused = is_refusal(raw)
        if refused:
            text, citations = refusal_sentence(language), []
        else:
            text, citations = cite(raw, kept, self.embedder.embed_query, self.embedder.embed_sentences,
                                   self.support_threshold)
        yield replace(
            base, text=text, citations=tuple(citations), passages=tuple(kept), refused=refused,
            truncated=dropped > 0, dropped_passages=dropped, incomplete=incomplete, notice=notice,
            first_token_ms=first_token_ms, total_ms=_ms(started),
        )

    def _retrieval_only(self, base: Answer, reason: str, started: float) -> Answer:
        top = list(base.passages[:3])
        citations = supporting_sentences(
            base.standalone_question or base.question, top, self.embedder.embed_query,
            self.embedder.embed_sentences, self.support_threshold,
        )
        intro = RETRIEVAL_ONLY_INTRO.get(base.language, RETRIEVAL_ONLY_INTRO["en"])
        lines = [intro] + [f"- {' '.join(c.sentence.split())} [{c.number}]" for c in citations]
        text = "\n".join(lines) if citations else refusal_sentence(base.language)
        return replace(
            base, text=text, citations=tuple(citations), mode="retrieval-only", model=None,
            refused=not citations, notice=f"retrieval-only: {reason}", total_ms=_ms(started),
        )


def _ms(since: float) -> float:
    return (time.perf_counter() - since) * 1000
