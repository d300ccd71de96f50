"""Citation markers: parsing, repair, and the supporting sentence of every cited passage.

The matching is cross-lingual (an English claim, a Greek passage), so sentences are compared with
the multilingual embedder, never by word overlap. The embedding functions are passed in; the text
handling here is pure.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from rag.types import Citation, Passage

EmbedQuery = Callable[[str], np.ndarray]
EmbedPassages = Callable[[list[str]], np.ndarray]

# [1]  [1, 2]  [1,2,3]  [1][2]  also full-width brackets some models emit
_MARKER = re.compile(r"[\[【［]\s*(\d{1,3}(?:\s*[,;]\s*\d{1,3})*)\s*[\]】］]")
# A dot between digits (6.000, 13.07.2025) does not end a sentence.
_SENTENCE = re.compile(r"(?:[^.!?;…\n]|(?<=\d)\.(?=\d))+(?:[.!?;…]+[\"'»”’)]*|\n|$)")


# How much closer another passage's best sentence must be to a claim for the citation to count as
# pointing at the wrong passage. e5 similarities are compressed (unrelated ~0.75, a paraphrase ~0.9).
BETTER_MARGIN = 0.03


@dataclass(frozen=True)
class Claim:
    text: str  # without markers
    numbers: tuple[int, ...]


def marker_numbers(text: str) -> list[int]:
    """Every passage number cited in ``text``, in order, with repeats."""
    return [int(n) for m in _MARKER.finditer(text) for n in re.split(r"\s*[,;]\s*", m.group(1))]


# A number as written in any of the languages: 6,000 / 6.000 / 6 000 / 3,5 / 1°.
_NUMBER = re.compile(r"\d+(?:[.,\u00a0\u202f ]\d{3})*(?:[.,]\d+)?")


def _number_forms(text: str) -> list[tuple[str, tuple[str, ...]]]:
    """Each number in ``text`` (markers excepted): (its digits, its digit runs), "6.000" -> ("6000", ("6", "000"))."""
    return [(re.sub(r"\D", "", m.group(0)), tuple(re.findall(r"\d+", m.group(0))))
            for m in _NUMBER.finditer(_MARKER.sub(" ", text))]


def unsupported_numbers(claim: str, sentences: Sequence[str]) -> list[str]:
    """The numbers of ``claim`` that none of ``sentences`` holds, in any common way of writing them.

    Digits are the same in every script, so a number the answer gives and no given sentence holds is a
    claim the articles do not make, whatever the languages of the two. "6,000" matches "6.000" and
    "6 000"; "13" matches the day of "13.07.2025".
    """
    known: set[str] = set()
    for sentence in sentences:
        for digits, runs in _number_forms(sentence):
            known.add(digits)
            known.update(runs)
    return [digits for digits, runs in _number_forms(claim)
            if digits not in known and not all(r in known for r in runs)]


def strip_markers(text: str) -> str:
    return re.sub(r" {2,}", " ", re.sub(r"\s+([.,;:!?])", r"\1", _MARKER.sub("", text))).strip()


def repair_markers(text: str, n_passages: int) -> str:
    """Drop the numbers that point at no passage; normalise ``[1, 2]`` to ``[1][2]``."""

    def fix(m: re.Match[str]) -> str:
        nums = [int(n) for n in re.split(r"\s*[,;]\s*", m.group(1))]
        return "".join(f"[{n}]" for n in dict.fromkeys(nums) if 1 <= n <= n_passages)

    # A dropped marker leaves "claim ." or a trailing space behind: tidy both.
    return re.sub(r"[ \t]+([.,;:!?])", r"\1", _MARKER.sub(fix, text)).strip()


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """(start, end) of each sentence of ``text``, whitespace trimmed; empty sentences left out."""
    spans = []
    for m in _SENTENCE.finditer(text):
        start, end = m.start(), m.end()
        while start < end and text[start].isspace():
            start += 1
        while end > start and text[end - 1].isspace():
            end -= 1
        if end - start > 1:
            spans.append((start, end))
    return spans


def split_claims(answer: str) -> list[Claim]:
    """The answer's sentences with the passage numbers each cites.

    A marker standing alone after a sentence (``Claim. [1]``) belongs to the sentence before it.
    """
    claims: list[Claim] = []
    for start, end in sentence_spans(answer):
        piece = answer[start:end]
        lead = re.match(r"(?:\s*" + _MARKER.pattern + r")+", piece)
        if lead and claims:  # "Claim. [1] Next claim": leading markers belong to the claim before
            last = claims[-1]
            claims[-1] = Claim(last.text, last.numbers + tuple(marker_numbers(lead.group(0))))
            piece = piece[lead.end():]
        numbers = tuple(marker_numbers(piece))
        text = strip_markers(piece)
        if not re.search(r"\w", text):  # markers only
            if claims and numbers:
                last = claims[-1]
                claims[-1] = Claim(last.text, last.numbers + numbers)
            continue
        claims.append(Claim(text, numbers))
    return claims


def best_sentence(
    claim_vec: np.ndarray, passage: Passage, embed_passages: EmbedPassages
) -> tuple[str, int, int, float]:
    """The passage sentence closest to the claim: (sentence, start, end in the article, similarity)."""
    spans = sentence_spans(passage.text) or [(0, len(passage.text))]
    sentences = [passage.text[s:e] for s, e in spans]
    sims = embed_passages(sentences) @ claim_vec
    i = int(np.argmax(sims))
    s, e = spans[i]
    return sentences[i], passage.start + s, passage.start + e, float(sims[i])


def cite(
    answer: str,
    passages: Sequence[Passage],
    embed_query: EmbedQuery,
    embed_passages: EmbedPassages,
    threshold: float,
) -> tuple[str, list[Citation]]:
    """Repair the answer's markers and build one ``Citation`` per cited passage.

    When the model cited nothing, the passage that best supports the whole answer is attached,
    flagged ``inferred``, and its marker appended to the text.
    """
    text = repair_markers(answer, len(passages))
    claims = split_claims(text)
    cited: dict[int, list[str]] = {}
    for claim in claims:
        for n in claim.numbers:
            cited.setdefault(n, []).append(claim.text)
    inferred = False
    if not cited and passages and strip_markers(text):
        whole = strip_markers(text)
        vec = embed_query(whole)
        scores = [best_sentence(vec, p, embed_passages)[3] for p in passages]
        best = int(np.argmax(scores)) + 1
        cited = {best: [whole]}
        text = text.rstrip() + f" [{best}]"
        inferred = True
    citations = []
    for n in sorted(cited):
        passage = passages[n - 1]
        # The weakest of the claims citing this passage decides whether it is supported.
        weakest: tuple[tuple[str, int, int, float], np.ndarray] | None = None
        for claim_text in cited[n]:
            vec = embed_query(claim_text)
            found = best_sentence(vec, passage, embed_passages)
            if weakest is None or found[3] < weakest[0][3]:
                weakest = (found, vec)
        assert weakest is not None  # every cited number has at least one claim
        (sentence, start, end, sim), vec = weakest
        # Small models often cite the wrong passage: name one that supports the claim clearly better.
        better = None
        if not inferred and len(passages) > 1:
            others = {m: best_sentence(vec, p, embed_passages)[3]
                      for m, p in enumerate(passages, start=1) if m != n}
            m, other_sim = max(others.items(), key=lambda kv: kv[1])
            if other_sim >= sim + BETTER_MARGIN:
                better = m
        citations.append(
            Citation(number=n, passage=passage, sentence=sentence, start=start, end=end, similarity=sim,
                     supported=sim >= threshold and better is None, inferred=inferred, better=better)
        )
    return text, citations


def supporting_sentences(
    question: str, passages: Sequence[Passage], embed_query: EmbedQuery, embed_passages: EmbedPassages,
    threshold: float,
) -> list[Citation]:
    """For retrieval-only answers: the sentence of each passage that best answers the question."""
    vec = embed_query(question)
    out = []
    for n, p in enumerate(passages, start=1):
        sentence, start, end, sim = best_sentence(vec, p, embed_passages)
        out.append(Citation(n, p, sentence, start, end, sim, supported=sim >= threshold, inferred=True))
    return out
