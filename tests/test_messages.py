"""Whether a chat message continues the previous question ("And where?", "Where did they meet?"), asks its own
("Who is Shoigu?") or asks the previous one of a new subject ("And Putin?"), in the seeds' languages and more."""

from __future__ import annotations

import pytest

from rag.messages import asks_previous_of, content_words, names_nothing, points_back

NOTHING_OF_THEIR_OWN = [
    "And where?", "Και πού;", "E dove?", "Peki nerede?",
    "When?", "Πότε;", "Quando?", "Ne zaman?",
    "Why?", "Γιατί;", "Perché?", "Neden?",
    "What did he say?", "Τι είπε;", "Cosa ha detto?", "Ne dedi?",
    "How many?", "In which year?", "Σε ποια πόλη;", "In quale città?", "Hangi şehirde?",
    "Und wo?", "Et où ?", "¿Y dónde?",
]
OWN_SUBJECT = {  # the message, the words it names (folded: lower case, no accents, ı as i)
    "Who is Shoigu?": ["shoigu"],
    "Ποιος είναι ο Σοϊγκού;": ["σοιγκου"],
    "Chi è Shoigu?": ["shoigu"],
    "Şoygu kimdir?": ["soygu"],
    "And who is Shoigu?": ["shoigu"],
    "Şoygu Pyongyang'da neyi görüştü?": ["soygu", "pyongyang", "gorustu"],
}
POINTING_BACK = [  # a word of their own, and a pronoun or adverb that points at what the previous question named
    "Where did they meet?", "What did he say about energy?", "Did Lavrov sign it?", "Dove si sono incontrati loro?",
    "Τι είπε αυτός για την ενέργεια;", "Ne zaman onunla görüştü?", "Wo haben sie sich getroffen, dort?",
]
NOT_POINTING_BACK = [  # articles and conjunctions that read like pronouns in another language once folded
    "Quando è stato firmato il trattato?", "E come ha descritto la Russia lo scopo della visita?",
    "Putin o Lavrov?", "Her iki ülke ne imzaladı?", "Quali sono gli accordi firmati?",
]
AND_PUTIN = ["And Putin?", "What about Putin?", "Και ο Πούτιν;", "E Putin?", "Peki Putin?", "Peki ya Putin?"]


@pytest.mark.parametrize("message", NOTHING_OF_THEIR_OWN)
def test_a_message_of_question_words_conjunctions_and_pronouns_names_nothing(message: str) -> None:
    assert content_words(message) == [] and names_nothing(message)
    assert not asks_previous_of(message)


@pytest.mark.parametrize("message", list(OWN_SUBJECT))
def test_a_message_that_names_its_subject_asks_its_own_question(message: str) -> None:
    assert content_words(message) == OWN_SUBJECT[message]
    assert not names_nothing(message) and not points_back(message) and not asks_previous_of(message)


@pytest.mark.parametrize("message", POINTING_BACK)
def test_a_message_that_points_back_continues_the_previous_question(message: str) -> None:
    assert content_words(message) and points_back(message)


@pytest.mark.parametrize("message", NOT_POINTING_BACK)
def test_an_article_or_conjunction_of_another_language_does_not_point_back(message: str) -> None:
    assert not names_nothing(message) and not points_back(message)


@pytest.mark.parametrize("message", AND_PUTIN)
def test_and_a_name_asks_the_previous_question_of_that_name(message: str) -> None:
    assert not names_nothing(message) and not points_back(message) and asks_previous_of(message)


def test_only_a_short_and_message_borrows_the_previous_question() -> None:
    assert not asks_previous_of("And how many engineers and builders is North Korea sending?")
    assert not asks_previous_of("E come ha descritto la Russia lo scopo della visita?")
