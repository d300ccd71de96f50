"""Grounded answers: retrieve, choose the evidence sentences, show them, stream the model, check, cite.

``Answerer.stream`` returns an ``AnswerStream``: the evidence (numbered sentences with their exact
spans) is ready as soon as retrieval ends, before the model reads a token; the model's text streams
after it; the final ``Answer`` carries the citations and the checks a small model needs (language,
unknown markers, unsupported claims). Without a reachable model the answer is the evidence itself
(retrieval-only mode); when the articles hold nothing close to the question, it is the refusal.
"""

from __future__ import annotations

import json
import logging
import re
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace

import numpy as np

from rag.cache import LRU
from rag.citations import cite, marker_numbers, sentence_spans, split_claims, strip_markers, unsupported_numbers
from rag.embedding import Embedder
from rag.errors import LLMError
from rag.evidence import NoAnswerGate, SentenceScores, prompt_tokens, score_sentences, select_evidence
from rag.language import LanguageDetector, language_name
from rag.llm import LLMBackend
from rag.messages import asks_previous_of, names_nothing, points_back
from rag.prompts import (
    RETRIEVAL_ONLY_INTRO,
    SYSTEM_PROMPT,
    answer_messages,
    is_refusal,
    refusal_sentence,
    repair_language_messages,
    translation_messages,
)
from rag.retrieval import HybridRetriever
from rag.sentence_vectors import SentenceVectors
from rag.streaming import AnswerStream, Evidence
from rag.types import Answer, Citation, Passage

log = logging.getLogger(__name__)

Turn = dict[str, str]  # {"role": "user"|"assistant", "content": ...}

# Passages whose sentences are scored for the evidence (the rest are still returned as passages).
EVIDENCE_PASSAGES = 3
# Below this many letters a language detector guesses; a short answer ("Wonsan [1].") is not checked.
MIN_LANGUAGE_CHECK_CHARS = 40
STOPPED = "stopped: the answer was cancelled before it ended"  # the notice of a cancelled answer


@dataclass(frozen=True)
class AskOptions:
    """Per-question choices; ``None`` means the settings' value."""

    top_k: int
    language: str | None = None  # only passages in this language
    sources: tuple[str, ...] | None = None
    translate: bool = False
    temperature: float | None = None


@dataclass(frozen=True)
class _Search:
    """The passages found for one message, and the question text they were found with."""

    query: str
    context: str  # the earlier question given to the model with a follow-up, or ""
    also: tuple[str, ...]  # texts searched with the query, their rankings fused with its own
    passages: list[Passage]
    scores: SentenceScores
    unanswerable: bool


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


def _snippet(c: Citation) -> Passage:
    """An evidence snippet as a passage of its own (its text, its span), for citing inside it."""
    p = c.passage
    return replace(p, text=c.sentence, start=c.start, end=c.end)


class Answerer:
    """Runs one question through retrieval, evidence selection, generation, checks and citation."""

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
        evidence_tokens: int = 320,
        prompt_tokens: int = 600,
        no_answer_threshold: float = 0.0,
        prompt_refusal: bool = True,
        names: Callable[[Sequence[Passage]], list[Passage]] | None = None,
        sentences: SentenceVectors | None = None,
    ) -> None:
        """``names``: the passages with the names users see (``RAG.named``), for the evidence and the answer;
        ``sentences``: the index's stored sentence vectors (without them every sentence is embedded)."""
        self.retriever = retriever
        self.embedder = embedder
        self.embed_sentences = (sentences or SentenceVectors(embedder)).embed
        self.detector = detector
        self.llm = llm
        self.support_threshold = support_threshold
        self.translation_weight = translation_weight
        self.max_answer_tokens = max_answer_tokens
        self.history_turns = history_turns
        self.evidence_tokens = evidence_tokens
        self.prompt_tokens = prompt_tokens
        self.gate = NoAnswerGate(no_answer_threshold)
        self.prompt_refusal = prompt_refusal
        self.names = names or list
        self._translations: LRU[tuple, dict[str, str]] = LRU(256)

    # -- retrieval: the one path `RAG.retrieve`, `rag search`, the evaluation and answers share --------

    def retrieve(self, question: str, opts: AskOptions, question_language: str,
                 translations: dict[str, str] | None = None, also: Sequence[str] = ()) -> list[Passage]:
        """The fused top passages for the question, the texts ``also`` searched with it (in its language, of
        equal weight), and its translations (each weighted)."""
        rank = self.retriever.rank
        rankings = [rank(text, language=opts.language, sources=opts.sources, query_language=question_language)
                    for text in (question, *also)]
        weights = [1.0] * len(rankings)
        for lang, text in (translations or {}).items():
            rankings.append(rank(text, language=opts.language, sources=opts.sources, query_language=lang))
            weights.append(self.translation_weight)
        return self.retriever.fuse(rankings, weights, opts.top_k)

    def translate(self, question: str, source_language: str, languages: Sequence[str]) -> dict[str, str]:
        """The question in each of ``languages`` (one LLM call, cached). Never raises: {} on failure."""
        targets = [lang for lang in languages if lang != source_language]
        if not targets:
            return {}
        key = (self.llm.model, question, tuple(targets))
        cached = self._translations.get(key)
        if cached is not None:
            return cached
        try:
            reply = self.llm.complete(translation_messages(question, targets), temperature=0.0, max_tokens=300)
        except LLMError as exc:
            log.warning("translation failed, searching with the original question only: %s", exc)
            return {}
        result = {k: v for k, v in parse_translations(reply, targets).items() if v.casefold() != question.casefold()}
        self._translations.put(key, result)
        return result

    def _search(self, query: str, language: str, opts: AskOptions, context: str = "",
                also: Sequence[str] = ()) -> _Search:
        passages = self.retrieve(query, opts, language, also=also)
        # Embedding sentences is the evidence's cost on a CPU (~0.1 s a sentence under load): the top
        # passages hold the answer sentences (docs/evaluation.md), the rest stay passages, not evidence.
        scores = score_sentences(query, language, passages[:EVIDENCE_PASSAGES], self.embedder.embed_query,
                                 self.embed_sentences)
        return _Search(query, context, tuple(also), passages, scores, not passages or self.gate.unanswerable(scores))

    def question_language(self, message: str, languages: Sequence[str], history: Sequence[Turn] = ()) -> str:
        """The language to search and answer a message in. A short message is a near tie for the detector
        ("Who is Shoigu?" reads as German): it keeps the conversation's language (the earlier question's)
        when that is nearly as likely, or takes English or an article language (``languages``) over an
        unlikely stranger (``LanguageDetector.detect``)."""
        previous = self._previous_question(history)
        conversation = self.detector.detect(previous, prefer=languages) if previous else None
        return self.detector.detect(message, conversation=conversation, prefer=languages)

    def _previous_question(self, history: Sequence[Turn]) -> str:
        recent = list(history)[-2 * self.history_turns:] if self.history_turns else []
        return next((t["content"] for t in reversed(recent) if t.get("role") == "user"), "")

    def search(self, message: str, language: str, opts: AskOptions, history: Sequence[Turn] = ()) -> _Search:
        """Passages for a message of a conversation, without letting an earlier topic leak into a new one.

        The message is searched alone. The earlier question joins the search when the message names nothing
        of its own ("And where?", ``names_nothing``); when it points back at what the earlier question named
        ("Where did they meet?", ``points_back``), the joined text and the message alone are searched and
        their rankings fused, so that its own words ("how long", "talks") keep their weight. The earlier
        question joins too when the message alone finds nothing close and, searched with the earlier
        question, finds sentences close to the message itself. A new topic, however short ("Who is
        Shoigu?"), keeps its own passages and is answered without the earlier question. "And Putin?"
        (``asks_previous_of``) is searched alone too, its evidence being about Putin, and the model is given
        the earlier question it continues.
        """
        previous = self._previous_question(history)
        if previous and names_nothing(message):
            return self._search(f"{previous} {message}", language, opts, context=previous)
        if previous and points_back(message):
            return self._search(f"{previous} {message}", language, opts, context=previous, also=(message,))
        if previous and asks_previous_of(message):
            return self._search(message, language, opts, context=previous)
        own = self._search(message, language, opts)
        if not previous or not own.unanswerable:
            return own
        joined = self._search(f"{previous} {message}", language, opts, context=previous)
        alone = score_sentences(message, language, joined.passages[:EVIDENCE_PASSAGES], self.embedder.embed_query,
                                self.embed_sentences)
        if joined.passages and not self.gate.unanswerable(alone):
            return joined
        return own

    def warm_up(self) -> bool:
        """Load the model and have it read the constant rules, so the first question reads only its own part.

        Ollama keeps the last prompt's prefix cached: every answer's prompt starts with the same rules.
        Returns whether the model was reached; never raises.
        """
        if not self.llm.health().ok:
            return False
        try:
            self.llm.complete([{"role": "system", "content": SYSTEM_PROMPT}, {"role": "user", "content": "OK?"}],
                              temperature=0.0, max_tokens=1)
        except LLMError as exc:
            log.info("warming the model up failed: %s", exc)
            return False
        return True

    # -- the whole question --------------------------------------------------------------------------

    def stream(self, question: str, opts: AskOptions, languages: Sequence[str],
               history: Sequence[Turn] = ()) -> AnswerStream:
        cancelled = threading.Event()
        return AnswerStream(self._events(question, opts, languages, history, cancelled), cancelled)

    def _events(self, question: str, opts: AskOptions, languages: Sequence[str], history: Sequence[Turn],
                cancelled: threading.Event) -> Iterator[Evidence | str | Answer]:
        started = time.perf_counter()
        language = self.question_language(question, languages, history)  # once: retrieval and answer use it
        health = self.llm.health()
        found = self.search(question, language, opts, history)
        retrieve_ms = _ms(started)
        found = replace(found, passages=self.names(found.passages))
        evidence = [] if found.unanswerable else select_evidence(
            found.passages[:EVIDENCE_PASSAGES], found.scores, self._evidence_budget(health.ok, question, language,
                                                                                   found.context),
            support_threshold=self.support_threshold)
        evidence_ms = _ms(started)  # measured before the consumer gets it (and maybe prints it)
        yield Evidence(passages=() if found.unanswerable else tuple(found.passages), citations=tuple(evidence),
                       question_language=language, unanswerable=found.unanswerable)
        base = Answer(
            text="", citations=(), passages=tuple(found.passages), refused=False, language=language,
            model=self.llm.model if health.ok else None, mode="llm" if health.ok else "retrieval-only",
            question=question, standalone_question=found.query, retrieve_ms=retrieve_ms,
            evidence_ms=evidence_ms, evidence=tuple(evidence), unanswerable=found.unanswerable,
        )
        if found.unanswerable or not evidence:
            text = refusal_sentence(language)
            yield text
            notice = "nothing in the articles is close to this question"
            if not health.ok:
                notice += f"; retrieval-only: {health.message}"
            yield replace(base, text=text, refused=True, notice=notice, total_ms=_ms(started))
            return
        if not health.ok:
            answer = self._retrieval_only(base, health.message, started)
            yield answer.text
            yield answer
            return
        if opts.translate and not cancelled.is_set():
            base, evidence = self._add_translated(base, evidence, found, opts, languages)
        if cancelled.is_set():  # stopped before the model was asked: it is not asked at all (a CPU model would
            # read the whole prompt, tens of seconds, before the first token could show the cancel)
            yield replace(base, incomplete=True, notice=STOPPED, total_ms=_ms(started))
            return
        yield from self._generate(base, evidence, found, opts, started, cancelled)

    def _evidence_budget(self, with_model: bool, question: str, language: str, context: str) -> int:
        """What the evidence may cost: ``evidence_tokens``, less what a long question or earlier question takes
        beyond the prompt cap, and within the model's context window with room for the answer."""
        if not with_model:
            return self.evidence_tokens
        rest = sum(prompt_tokens(m["content"]) for m in answer_messages(question, [], language, context=context,
                                                                          refusal=self.prompt_refusal))
        room = self.llm.context_window() - self.max_answer_tokens - rest
        return max(64, min(self.evidence_tokens, self.prompt_tokens - rest, room))

    def _add_translated(self, base: Answer, evidence: list[Citation], found: _Search, opts: AskOptions,
                        languages: Sequence[str]) -> tuple[Answer, list[Citation]]:
        """Translation, when on, runs after the evidence is out: it can only add sentences, numbered on."""
        t0 = time.perf_counter()
        translations = self.translate(found.query, base.language, languages)
        if not translations:
            return replace(base, translate_ms=_ms(t0)), evidence
        fused = self.retrieve(found.query, opts, base.language, translations, also=found.also)
        seen = {p.id for p in found.passages}
        extra = self.names([p for p in fused if p.id not in seen])
        used = sum(prompt_tokens(c.sentence) + 12 for c in evidence)
        more: list[Citation] = []
        if extra and used < self.evidence_tokens:
            extra = extra[:EVIDENCE_PASSAGES]
            scores = score_sentences(found.query, base.language, extra, self.embedder.embed_query,
                                     self.embed_sentences)
            more = [replace(c, number=c.number + len(evidence))
                    for c in select_evidence(extra, scores, self.evidence_tokens - used, max_snippets=2,
                                             support_threshold=self.support_threshold)]
        evidence = evidence + more
        return replace(base, passages=base.passages + tuple(extra), evidence=tuple(evidence),
                       translations=translations, translate_ms=_ms(t0)), evidence

    def _generate(self, base: Answer, evidence: list[Citation], found: _Search, opts: AskOptions, started: float,
                  cancelled: threading.Event) -> Iterator[str | Answer]:
        messages = answer_messages(base.question, evidence, base.language, context=found.context,
                                   refusal=self.prompt_refusal)
        base = replace(base, prompt_tokens=sum(prompt_tokens(m["content"]) for m in messages))
        pieces: list[str] = []
        first_token_ms = None
        notice = None
        incomplete = False
        stream = self.llm.stream(messages, temperature=opts.temperature)
        try:
            for piece in stream:
                if first_token_ms is None:
                    first_token_ms = _ms(started)
                pieces.append(piece)
                yield piece
                if cancelled.is_set():
                    incomplete, notice = True, STOPPED
                    break
        except LLMError as exc:
            if not pieces:
                answer = self._retrieval_only(base, str(exc), started)
                yield answer.text
                yield answer
                return
            incomplete, notice = True, f"the answer is incomplete: {exc}"
        finally:
            close = getattr(stream, "close", None)
            if close is not None:
                close()  # closes the model's HTTP stream when the answer was cancelled
        raw = "".join(pieces).strip()
        answer = self._finish(base, raw, messages, evidence, first_token_ms, incomplete, notice, opts)
        yield replace(answer, total_ms=_ms(started))

    def _finish(self, base: Answer, raw: str, messages: list[dict[str, str]], evidence: list[Citation],
                first_token_ms: float | None, incomplete: bool, notice: str | None, opts: AskOptions) -> Answer:
        """Checks (language, unknown markers, unsupported claims) and citations of the model's reply."""
        done = replace(base, first_token_ms=first_token_ms, incomplete=incomplete, notice=notice)
        if is_refusal(raw):
            return replace(done, text=refusal_sentence(base.language), refused=True)
        wrong_language = False
        repaired_from: str | None = None  # the language of a first reply that had to be asked again
        if not incomplete and self._wrong_language(raw, base.language):
            # Asked once more, in a prompt no longer than the answer's and sharing its cached prefix.
            repaired_from = self.detector.detect(strip_markers(raw))
            try:
                repaired = self.llm.complete(repair_language_messages(messages, base.language, repaired_from),
                                             temperature=opts.temperature).strip()
            except LLMError as exc:
                log.warning("could not repair the answer's language: %s", exc)
                repaired = ""
            if repaired and not self._wrong_language(repaired, base.language):
                raw = repaired
                if is_refusal(raw):
                    return replace(done, text=refusal_sentence(base.language), refused=True,
                                   language_repair=repaired_from)
            else:
                wrong_language = True
                notice = f"the model answered in {language_name(repaired_from)}, not {language_name(base.language)}"
        unknown = tuple(sorted({n for n in marker_numbers(raw) if not 1 <= n <= len(evidence)}))
        snippets = [_snippet(c) for c in evidence]
        text, citations = cite(raw, snippets, self.embedder.embed_query, self.embed_sentences,
                               self.support_threshold)
        # Citations point at the retrieved passage; the sentence and span are the words inside the snippet.
        by_number = {c.number: c.passage for c in evidence}
        citations = [replace(c, passage=by_number[c.number]) for c in citations]
        return replace(done, text=text, citations=tuple(citations), wrong_language=wrong_language,
                       language_repair=repaired_from,
                       unknown_citations=unknown, unsupported_claims=self._unsupported(text, snippets, base.question),
                       notice=notice or done.notice)

    def _wrong_language(self, text: str, language: str) -> bool:
        plain = strip_markers(text)
        if len(re.sub(r"\W", "", plain)) < MIN_LANGUAGE_CHECK_CHARS:
            return False
        return self.detector.detect(plain) != language

    def _unsupported(self, text: str, snippets: Sequence[Passage], question: str) -> tuple[str, ...]:
        """Claims with a number that neither a given sentence nor the question holds, or whose best sentence
        (in the snippets they cite, or in any when they cite none) is weak."""
        out = []
        given = [question, *(p.text for p in snippets)]
        for claim in split_claims(text):
            if unsupported_numbers(claim.text, given):  # an invented date or figure, in any language
                out.append(claim.text)
                continue
            cited = [snippets[n - 1] for n in claim.numbers if 1 <= n <= len(snippets)] or list(snippets)
            sentences = [p.text[s:e] for p in cited for s, e in (sentence_spans(p.text) or [(0, len(p.text))])]
            if not sentences:
                continue
            best = float(np.max(self.embed_sentences(sentences) @ self.embedder.embed_query(claim.text)))
            if best < self.support_threshold:
                out.append(claim.text)
        return tuple(out)

    def _retrieval_only(self, base: Answer, reason: str, started: float) -> Answer:
        """The evidence as the answer: the best sentences, cited, and why the model was not used."""
        shown = list(base.evidence[:3])
        intro = RETRIEVAL_ONLY_INTRO.get(base.language, RETRIEVAL_ONLY_INTRO["en"])
        text = "\n".join([intro] + [f"- {' '.join(c.sentence.split())} [{c.number}]" for c in shown])
        return replace(base, text=text, citations=tuple(shown), mode="retrieval-only", model=None,
                       refused=False, notice=f"retrieval-only: {reason}", total_ms=_ms(started))


def _ms(since: float) -> float:
    return (time.perf_counter() - since) * 1000

