"""The language a question is answered in. Long questions are detected as they are; a short message is a near
tie for the detector ("Who is Shoigu?" reads as German), so it keeps the conversation's language or takes
English or an article language over an unlikely stranger."""

from __future__ import annotations

import json

import pytest
from helpers import QUESTIONS

from rag.language import LanguageDetector
from rag.settings import Settings

ARTICLES = ("el", "it", "tr")  # the languages of the seeds


@pytest.fixture(scope="module")
def detector() -> LanguageDetector:
    return LanguageDetector(Settings().languages)


@pytest.mark.parametrize(("message", "language"), [
    ("Who is Shoigu?", "en"),  # German 0.26, English 0.17
    ("And Putin?", "en"),  # Romanian first
    ("Chi è Shoigu?", "it"),  # French 0.25, Italian 0.23
    ("Quando?", "it"),  # Portuguese first
    ("Peki Putin?", "tr"),
    ("Και ο Πούτιν;", "el"),
    ("Wer ist Schoigu?", "de"),  # no article language is close: German stands
    ("Qui est Choïgou?", "fr"),
])
def test_a_short_message_outside_a_conversation_prefers_english_or_an_article_language_when_close(
    detector: LanguageDetector, message: str, language: str
) -> None:
    assert detector.detect(message, prefer=ARTICLES) == language


@pytest.mark.parametrize(("message", "conversation", "language"), [
    ("E Putin?", "it", "it"),  # Romanian first, Italian fourth
    ("Chi?", "it", "it"),
    ("Wonsan?", "tr", "tr"),
    ("Who is Shoigu?", "tr", "en"),  # Turkish is not close: the user switched to English
    ("Chi è Shoigu?", "en", "it"),
    ("Wer ist Schoigu?", "it", "de"),
    ("Και ο Πούτιν;", "it", "el"),  # another script: sure, whatever the conversation
])
def test_a_short_message_keeps_the_conversations_language_only_when_it_is_nearly_as_likely(
    detector: LanguageDetector, message: str, conversation: str, language: str
) -> None:
    assert detector.detect(message, conversation=conversation, prefer=ARTICLES) == language


def test_every_question_of_the_news_set_is_detected_in_its_own_language(detector: LanguageDetector) -> None:
    questions = [json.loads(line) for line in QUESTIONS.read_text(encoding="utf-8").splitlines() if line.strip()]
    assert {q["question"]: detector.detect(q["question"], prefer=ARTICLES) for q in questions} == {
        q["question"]: q["lang"] for q in questions}


def test_text_with_no_letters_falls_back_to_the_conversation_then_english(detector: LanguageDetector) -> None:
    assert detector.detect("2025?", conversation="tr") == "tr"
    assert detector.detect("2025?") == "en"
