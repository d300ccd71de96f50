"""Prompt texts and the fixed refusal sentence per language. Pure: no I/O."""

from __future__ import annotations

import re
from collections.abc import Sequence

from rag.types import Passage

LANGUAGE_NAMES = {
    "en": "English", "el": "Greek", "it": "Italian", "tr": "Turkish", "de": "German", "fr": "French",
    "es": "Spanish", "pt": "Portuguese", "nl": "Dutch", "ru": "Russian", "uk": "Ukrainian", "pl": "Polish",
    "ro": "Romanian", "bg": "Bulgarian", "sv": "Swedish", "ar": "Arabic", "zh": "Chinese", "ja": "Japanese",
    "ko": "Korean",
}  # fmt: skip

# The one sentence a model must answer with when the passages do not contain the answer.
REFUSALS = {
    "en": "The articles do not contain the answer to this question.",
    "el": "Τα άρθρα δεν περιέχουν την απάντηση σε αυτή την ερώτηση.",
    "it": "Gli articoli non contengono la risposta a questa domanda.",
    "tr": "Makaleler bu sorunun cevabını içermiyor.",
    "de": "Die Artikel enthalten die Antwort auf diese Frage nicht.",
    "fr": "Les articles ne contiennent pas la réponse à cette question.",
    "es": "Los artículos no contienen la respuesta a esta pregunta.",
    "pt": "Os artigos não contêm a resposta a esta pergunta.",
    "nl": "De artikelen bevatten het antwoord op deze vraag niet.",
    "ru": "В статьях нет ответа на этот вопрос.",
}

# Shown in retrieval-only mode, before the supporting sentences.
RETRIEVAL_ONLY_INTRO = {
    "en": "No language model is available; these are the most relevant sentences from the articles:",
    "el": "Δεν υπάρχει διαθέσιμο γλωσσικό μοντέλο· αυτές είναι οι πιο σχετικές προτάσεις από τα άρθρα:",
    "it": "Nessun modello linguistico disponibile; queste sono le frasi più pertinenti degli articoli:",
    "tr": "Dil modeli kullanılamıyor; makalelerdeki en ilgili cümleler şunlar:",
    "de": "Kein Sprachmodell verfügbar; dies sind die relevantesten Sätze aus den Artikeln:",
}

SYSTEM_PROMPT = """You answer questions about news articles using ONLY the numbered passages given to you.
Rules:
1. Use only facts stated in the passages. Never add knowledge of your own.
2. After every claim put the number of the passage that supports it in square brackets, e.g. [1] or [2][3].
3. Copy names, numbers and dates exactly as the passages give them.
4. Answer in {language}, the language of the question, even when the passages are in other languages.
5. If passages disagree, say so and cite each of them.
6. If the passages do not contain the answer, reply with exactly this sentence and nothing else:
{refusal}
Be brief: one to three sentences."""


def language_name(code: str) -> str:
    return LANGUAGE_NAMES.get(code, code)


def refusal_sentence(language: str) -> str:
    return REFUSALS.get(language, REFUSALS["en"])


def _canon(text: str) -> str:
    return re.sub(r"[\W_]+", " ", text.casefold()).strip()


_REFUSAL_CANON = {_canon(s) for s in REFUSALS.values()}


def is_refusal(answer: str) -> bool:
    """True when the answer is (essentially) one of the fixed refusal sentences, in any language."""
    text = _canon(re.sub(r"\[\d+\]", " ", answer))
    return bool(text) and any(text == r or (text.startswith(r) and len(text) < len(r) + 25) for r in _REFUSAL_CANON)


def format_passages(passages: Sequence[Passage]) -> str:
    blocks = []
    for n, p in enumerate(passages, start=1):
        header = f"[{n}] title: {p.title} | source: {p.source} | language: {language_name(p.language)}"
        blocks.append(f"{header}\n{p.text.strip()}")
    return "\n\n".join(blocks)


def answer_messages(question: str, passages: Sequence[Passage], language: str) -> list[dict[str, str]]:
    """The chat messages that ask for a grounded, cited answer."""
    system = SYSTEM_PROMPT.format(language=language_name(language), refusal=refusal_sentence(language))
    user = f"Passages:\n\n{format_passages(passages)}\n\nQuestion: {question}\nAnswer in {language_name(language)}:"
    return [{"role": "system", "content": system}, {"role": "user", "content": user}]


def translation_messages(question: str, languages: Sequence[str]) -> list[dict[str, str]]:
    """Ask for the question in each language at once, as a JSON object keyed by language code."""
    targets = ", ".join(f'"{c}" ({language_name(c)})' for c in languages)
    example = "{" + ", ".join(f'"{c}": "..."' for c in languages) + "}"
    return [
        {"role": "system", "content": "You translate search questions. Reply with JSON only."},
        {
            "role": "user",
            "content": f"Translate this question into {targets}. Keep names and numbers. "
            f"Reply with one JSON object like {example}.\n\nQuestion: {question}",
        },
    ]


def condense_messages(message: str, history: Sequence[dict[str, str]]) -> list[dict[str, str]]:
    """Ask to rewrite a follow-up into a standalone question, in the follow-up's language."""
    turns = "\n".join(f"{t['role']}: {t['content']}" for t in history)
    return [
        {
            "role": "system",
            "content": "Rewrite the user's last message as one standalone question that can be understood "
            "without the conversation. Keep its language. Reply with the question only.",
        },
        {"role": "user", "content": f"Conversation:\n{turns}\n\nLast message: {message}\n\nStandalone question:"},
    ]


def estimate_tokens(text: str) -> int:
    """A deliberately high token estimate (UTF-8 bytes / 2.5) for budgeting the prompt.

    Greek and Turkish cost more tokens per character than English in most LLM vocabularies;
    over-estimating keeps the prompt inside the context window whatever the model.
    """
    return int(len(text.encode("utf-8")) / 2.5) + 4
