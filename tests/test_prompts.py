"""Prompt assembly, refusal detection, translation parsing and the prompt budget: pure, no server."""

from __future__ import annotations

import pytest

from rag.answering import fit_passages, parse_translations
from rag.prompts import (
    REFUSALS,
    answer_messages,
    condense_messages,
    estimate_tokens,
    is_refusal,
    refusal_sentence,
    translation_messages,
)
from rag.types import Passage


def passage(n: int, text: str = "", *, language: str = "el", source: str | None = None) -> Passage:
    text = text or f"Passage number {n}. " + "Lavrov met Kim Jong Un in Wonsan. " * 20
    return Passage(
        id=f"doc-{n:05d}",
        text=text,
        source=source or f"00{n}_article.txt",
        title=f"Title {n}",
        language=language,
        start=0,
        end=len(text),
        score=1.0 / n,
        rank=n,
    )


def prompt_tokens(messages: list[dict[str, str]]) -> int:
    return sum(estimate_tokens(m["content"]) for m in messages)


# ---------------------------------------------------------------------------- refusals


@pytest.mark.parametrize("language", ["en", "el", "it", "tr", "de"])
def test_the_fixed_refusal_sentence_is_recognised_in_every_language(language):
    assert is_refusal(REFUSALS[language])


def test_a_refusal_is_recognised_despite_case_punctuation_and_a_stray_marker():
    assert is_refusal("  the articles do NOT contain the answer to this question [1]")
    assert is_refusal("«Τα άρθρα δεν περιέχουν την απάντηση σε αυτή την ερώτηση»")


def test_an_answer_that_merely_contains_not_is_not_a_refusal():
    assert not is_refusal("Lavrov did not meet Kim in Pyongyang but in Wonsan [1].")
    assert not is_refusal("Gli articoli non dicono il giorno, ma Lavrov ha incontrato Kim a Wonsan [1].")


def test_a_refusal_followed_by_a_real_answer_is_not_a_refusal():
    assert not is_refusal(REFUSALS["en"] + " However, Lavrov met Kim Jong Un in Wonsan on Saturday [2].")


def test_an_empty_answer_is_not_a_refusal():
    assert not is_refusal("")
    assert not is_refusal("[1]")


def test_the_refusal_of_an_unknown_language_is_english():
    assert refusal_sentence("sw") == REFUSALS["en"]


# ---------------------------------------------------------------------------- translation replies


LANGS = ("el", "it", "tr")


def test_translations_are_read_from_a_json_reply():
    reply = (
        '{"el": "Πότε συνάντησε ο Λαβρόφ τον Κιμ;", "it": "Quando Lavrov ha incontrato Kim?", '
        '"tr": "Lavrov Kim ile ne zaman görüştü?"}'
    )
    assert parse_translations(reply, LANGS) == {
        "el": "Πότε συνάντησε ο Λαβρόφ τον Κιμ;",
        "it": "Quando Lavrov ha incontrato Kim?",
        "tr": "Lavrov Kim ile ne zaman görüştü?",
    }


def test_translations_are_read_from_json_inside_prose_and_a_code_fence():
    reply = (
        'Sure! Here are the translations:\n```json\n{\n  "EL": "Πού συναντήθηκαν;",\n'
        '  "it": "Dove si sono incontrati?"\n}\n```\nHope this helps.'
    )
    assert parse_translations(reply, LANGS) == {"el": "Πού συναντήθηκαν;", "it": "Dove si sono incontrati?"}


def test_translations_are_read_from_code_colon_lines_when_there_is_no_json():
    reply = 'el: Πού συναντήθηκαν;\n"it": "Dove si sono incontrati?",\ntr = Nerede buluştular?'
    assert parse_translations(reply, LANGS) == {
        "el": "Πού συναντήθηκαν;",
        "it": "Dove si sono incontrati?",
        "tr": "Nerede buluştular?",
    }


def test_translations_into_languages_not_asked_for_and_empty_ones_are_left_out():
    reply = '{"el": "Πού;", "fr": "Où ?", "it": "  ", "tr": 3}'
    assert parse_translations(reply, LANGS) == {"el": "Πού;"}


@pytest.mark.parametrize(
    "junk", ["", "Sorry, I cannot translate that.", "{not json at all", "```\n```", "[1, 2]"]
)
def test_junk_translation_replies_give_no_translations(junk):
    assert parse_translations(junk, LANGS) == {}


def test_the_translation_prompt_names_every_target_language_and_keeps_the_question():
    messages = translation_messages("When did Lavrov meet Kim?", ["el", "it", "tr"])
    text = "\n".join(m["content"] for m in messages)
    assert all(name in text for name in ("Greek", "Italian", "Turkish"))
    assert '"el"' in text and "When did Lavrov meet Kim?" in text and "JSON" in text


# ---------------------------------------------------------------------------- the answer prompt


def test_the_answer_prompt_numbers_the_passages_with_title_source_and_language():
    passages = [
        passage(1, "Ο Λαβρόφ συναντήθηκε με τον Κιμ.", language="el"),
        passage(2, "Lavrov ha incontrato Kim a Wonsan.", language="it", source="002_it.txt"),
    ]
    system, user = answer_messages("When did Lavrov meet Kim?", passages, "en")
    assert (system["role"], user["role"]) == ("system", "user")
    body = user["content"]
    assert (
        "[1] title: Title 1 | source: 001_article.txt | language: Greek\nΟ Λαβρόφ συναντήθηκε με τον Κιμ."
        in body
    )
    assert (
        "[2] title: Title 2 | source: 002_it.txt | language: Italian\nLavrov ha incontrato Kim a Wonsan."
        in body
    )
    assert (
        body.index("[1] title") < body.index("[2] title") < body.index("Question: When did Lavrov meet Kim?")
    )


def test_the_answer_prompt_asks_for_the_questions_language_and_its_refusal_sentence():
    system, user = answer_messages("Quando Lavrov ha incontrato Kim?", [passage(1)], "it")
    assert "Answer in Italian" in system["content"] and user["content"].endswith("Answer in Italian:")
    assert REFUSALS["it"] in system["content"] and REFUSALS["en"] not in system["content"]


def test_the_answer_prompt_states_the_grounding_rules():
    system = answer_messages("q", [passage(1)], "en")[0]["content"]
    assert "ONLY the numbered passages" in system
    assert "[1]" in system  # how to cite
    assert "disagree" in system  # conflicting passages are cited both


def test_the_condense_prompt_carries_the_history_and_the_follow_up():
    history = [
        {"role": "user", "content": "When did Lavrov meet Kim?"},
        {"role": "assistant", "content": "On Saturday [1]."},
    ]
    text = "\n".join(m["content"] for m in condense_messages("And where?", history))
    assert "user: When did Lavrov meet Kim?" in text and "assistant: On Saturday [1]." in text
    assert "Last message: And where?" in text


# ---------------------------------------------------------------------------- the prompt budget


def test_estimate_tokens_grows_with_the_text_and_counts_greek_higher_than_english():
    assert (
        estimate_tokens("") < estimate_tokens("Lavrov") < estimate_tokens("Lavrov met Kim Jong Un in Wonsan.")
    )
    # Greek letters are two UTF-8 bytes: a Greek text costs more than an English text of the same length.
    assert estimate_tokens("Λαβρόφ Κιμ") > estimate_tokens("Lavrov Kim")


def test_fit_passages_keeps_everything_when_the_window_is_large():
    passages = [passage(n) for n in range(1, 6)]
    kept, dropped = fit_passages(passages, "When?", "en", context_window=100_000, answer_tokens=512)
    assert (kept, dropped) == (passages, 0)


def test_fit_passages_drops_the_lowest_ranked_passages_first_and_reports_how_many():
    passages = [passage(n) for n in range(1, 6)]
    two = prompt_tokens(answer_messages("When?", passages[:2], "en"))
    kept, dropped = fit_passages(passages, "When?", "en", context_window=two + 100, answer_tokens=100)
    assert [p.rank for p in kept] == [1, 2]
    assert dropped == 3


def test_the_kept_passages_and_the_answer_fit_the_window():
    passages = [passage(n) for n in range(1, 6)]
    for window in (1024, 1500, 2048, 3000):
        kept, dropped = fit_passages(passages, "When?", "en", context_window=window, answer_tokens=256)
        assert prompt_tokens(answer_messages("When?", kept, "en")) + 256 <= window
        assert len(kept) + dropped == 5


def test_fit_passages_never_exceeds_the_window_even_if_no_passage_is_left():
    kept, dropped = fit_passages(
        [passage(1), passage(2)], "When?", "en", context_window=600, answer_tokens=512
    )
    assert (kept, dropped) == ([], 2)
