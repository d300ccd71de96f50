"""Citation markers and supporting sentences.

Marker parsing, repair and sentence splitting are pure text handling. Finding the sentence that
supports a claim is cross-lingual (an English answer, a Greek article), so those tests use the real
bundled multilingual embedder over the real seed articles.
"""

from __future__ import annotations

import pytest
from helpers import GREEK, ITALIAN, seed_text

from rag.citations import (
    Claim,
    cite,
    marker_numbers,
    repair_markers,
    sentence_spans,
    split_claims,
    strip_markers,
    supporting_sentences,
    unsupported_numbers,
)
from rag.types import Passage

THRESHOLD = 0.80  # the default support_threshold

# ---------------------------------------------------------------------------- markers


@pytest.mark.parametrize(
    ("text", "numbers"),
    [
        ("Lavrov met Kim [1].", [1]),
        ("Lavrov met Kim [1, 2].", [1, 2]),
        ("Lavrov met Kim [1,2;3].", [1, 2, 3]),
        ("Lavrov met Kim [1][2].", [1, 2]),
        ("Lavrov met Kim [ 2 ] in Wonsan [1].", [2, 1]),
        ("Lavrov met Kim 【1】.", [1]),
        ("Lavrov met Kim ［1］［２］.", [1, 2]),  # full-width brackets and digits
        ("Lavrov met Kim [1] and then Kim [1].", [1, 1]),
    ],
)
def test_marker_numbers_reads_every_marker_style(text, numbers):
    assert marker_numbers(text) == numbers


def test_brackets_that_are_not_markers_are_ignored():
    assert marker_numbers("The treaty [signed in 2024] and the year [2024] and [a].") == []


def test_strip_markers_leaves_clean_text():
    assert strip_markers("Lavrov met Kim [1] in Wonsan [2][3] .") == "Lavrov met Kim in Wonsan."


def test_repair_drops_markers_that_point_at_no_passage():
    repaired = repair_markers("Lavrov met Kim [1, 7]. He stayed [0][2]. Kim smiled [9].", n_passages=2)
    assert marker_numbers(repaired) == [1, 2]
    assert "[7]" not in repaired and "[0]" not in repaired and "[9]" not in repaired


def test_repair_normalises_lists_and_removes_repeats():
    assert repair_markers("Lavrov met Kim [2, 1, 2].", n_passages=3) == "Lavrov met Kim [2][1]."
    assert repair_markers("Lavrov met Kim 【1】.", n_passages=1) == "Lavrov met Kim [1]."


# ---------------------------------------------------------------------------- sentences and claims


def test_sentence_spans_point_into_the_text_with_whitespace_trimmed():
    text = "  Lavrov met Kim.  Did they talk?\nThey did!  "
    spans = sentence_spans(text)
    assert [text[s:e] for s, e in spans] == ["Lavrov met Kim.", "Did they talk?", "They did!"]


def test_a_greek_question_mark_ends_a_sentence():
    text = "Πότε συναντήθηκαν; Το Σάββατο."
    assert [text[s:e] for s, e in sentence_spans(text)] == ["Πότε συναντήθηκαν;", "Το Σάββατο."]


def test_closing_quotes_stay_with_their_sentence():
    text = "Είπε «ήταν καλή συνάντηση.» Μετά έφυγε."
    assert [text[s:e] for s, e in sentence_spans(text)] == ["Είπε «ήταν καλή συνάντηση.»", "Μετά έφυγε."]


def test_a_dot_inside_a_number_does_not_end_a_sentence():
    text = "Più di 6.000 soldati sono morti. Il 13.07.2025 è partito."
    assert [text[s:e] for s, e in sentence_spans(text)] == [
        "Più di 6.000 soldati sono morti.",
        "Il 13.07.2025 è partito.",
    ]


def test_split_claims_gives_each_sentence_its_own_markers_without_the_markers_in_the_text():
    claims = split_claims("Lavrov met Kim in Wonsan [1]. The talks lasted three hours [2][3].")
    assert claims == [
        Claim("Lavrov met Kim in Wonsan.", (1,)),
        Claim("The talks lasted three hours.", (2, 3)),
    ]


def test_a_marker_after_the_full_stop_belongs_to_the_sentence_before_it():
    claims = split_claims("Lavrov met Kim in Wonsan. [1] The talks lasted three hours. [2]")
    assert claims == [Claim("Lavrov met Kim in Wonsan.", (1,)), Claim("The talks lasted three hours.", (2,))]


def test_a_sentence_without_markers_is_a_claim_citing_nothing():
    claims = split_claims("Lavrov met Kim [1]. Nobody knows why.")
    assert claims == [Claim("Lavrov met Kim.", (1,)), Claim("Nobody knows why.", ())]


def test_markers_before_the_first_sentence_start_no_claim_of_their_own():
    assert split_claims("[1] Lavrov met Kim.") == [Claim("Lavrov met Kim.", (1,))]


# ---------------------------------------------------------------- supporting sentences (real embedder)

PESKOV_EL = "Ο εκπρόσωπος του Κρεμλίνου, Ντμίτρι Πεσκόφ"
STAY_EL = "Η παραμονή του Ρώσου ΥΠΕΞ στη Βόρεια Κορέα"


def article_passage(
    name: str, first_words: str, last_words: str | None = None, language: str = "el"
) -> Passage:
    """A seed article from ``first_words`` to ``last_words`` (or the end), as retrieval returns it."""
    article = seed_text(name)
    start = article.index(first_words)
    end = article.index(last_words, start) if last_words else len(article)
    return Passage(
        id=f"{name}-{start}",
        text=article[start:end],
        source=name,
        title="",
        language=language,
        start=start,
        end=end,
        score=1.0,
        rank=1,
    )


@pytest.fixture
def greek_passage() -> Passage:
    """Seed 000's paragraph about Peskov's announcement and Lavrov's stay until 13 July (two sentences)."""
    return article_passage(GREEK[0], PESKOV_EL, "Η συνάντηση Λαβρόφ – Κιμ")


@pytest.fixture
def italian_passage() -> Passage:
    """Seed 002's lines on soldiers killed and engineers sent."""
    return article_passage(ITALIAN, "Più di 6.000 soldati", "Il servizio di intelligence", language="it")


def test_an_english_claim_citing_a_greek_passage_gets_the_greek_sentence_that_says_it(
    embedder, greek_passage
):
    answer = (
        "Lavrov's stay in North Korea was expected to last until 13 July, before he travelled to China [1]."
    )
    text, citations = cite(answer, [greek_passage], embedder.embed_query, embedder.embed_passages, THRESHOLD)
    (c,) = citations
    assert c.number == 1 and c.passage == greek_passage
    assert c.sentence.startswith(STAY_EL) and "13 Ιουλίου" in c.sentence
    assert seed_text(GREEK[0])[c.start : c.end] == c.sentence
    assert c.supported and not c.inferred
    assert text == answer


def test_each_cited_passage_gets_the_sentence_of_the_claim_that_cites_it(
    embedder, greek_passage, italian_passage
):
    answer = (
        "Kremlin spokesman Dmitry Peskov had announced that Lavrov would deliver a personal message "
        "from Putin to Kim [1]. More than 6,000 North Korean soldiers died in the war [2]."
    )
    _, citations = cite(
        answer, [greek_passage, italian_passage], embedder.embed_query, embedder.embed_passages, THRESHOLD
    )
    first, second = citations
    assert first.number == 1 and first.sentence.startswith(PESKOV_EL)
    assert second.number == 2 and second.sentence.startswith("Più di 6.000 soldati nordcoreani sono morti")
    assert seed_text(GREEK[0])[first.start : first.end] == first.sentence
    assert seed_text(ITALIAN)[second.start : second.end] == second.sentence


def test_a_claim_unrelated_to_the_cited_passage_is_flagged_unsupported(embedder, greek_passage):
    _, (c,) = cite(
        "Argentina won the 2022 FIFA World Cup [1].",
        [greek_passage],
        embedder.embed_query,
        embedder.embed_passages,
        THRESHOLD,
    )
    assert not c.supported and c.similarity < THRESHOLD
    assert seed_text(GREEK[0])[c.start : c.end] == c.sentence  # still a real sentence of the article


def test_an_answer_without_markers_gets_the_best_passage_attached_and_flagged_inferred(
    embedder, greek_passage, italian_passage
):
    answer = "Kremlin spokesman Dmitry Peskov had announced that Lavrov would deliver a message from Putin."
    text, citations = cite(
        answer, [italian_passage, greek_passage], embedder.embed_query, embedder.embed_passages, THRESHOLD
    )
    (c,) = citations
    assert c.number == 2 and c.passage == greek_passage and c.inferred
    assert c.sentence.startswith(PESKOV_EL)
    assert text == answer + " [2]"


def test_markers_to_missing_passages_are_dropped_before_citing(embedder, greek_passage):
    answer = "Peskov had announced that Lavrov would deliver a personal message from Putin to Kim [1][4]."
    text, citations = cite(answer, [greek_passage], embedder.embed_query, embedder.embed_passages, THRESHOLD)
    assert [c.number for c in citations] == [1]
    assert marker_numbers(text) == [1]


def test_retrieval_only_citations_give_each_passages_best_sentence_for_the_question(embedder, greek_passage):
    (c,) = supporting_sentences(
        "Until when was the Russian foreign minister expected to stay in North Korea?",
        [greek_passage],
        embedder.embed_query,
        embedder.embed_passages,
        THRESHOLD,
    )
    assert c.number == 1 and c.inferred
    assert c.sentence.startswith(STAY_EL)
    assert seed_text(GREEK[0])[c.start : c.end] == c.sentence


def test_a_claim_citing_the_wrong_passage_names_the_passage_that_supports_it_and_is_unsupported(
    embedder, italian_passage, greek_passage
):
    # The claim restates the Greek passage's Peskov sentence but cites the Italian passage.
    answer = "Kremlin spokesman Peskov had announced that Lavrov would deliver a personal message from Putin [1]."
    _, citations = cite(answer, [italian_passage, greek_passage], embedder.embed_query, embedder.embed_passages,
                        THRESHOLD)
    (c,) = citations
    assert c.number == 1 and c.better == 2 and not c.supported


def test_a_claim_citing_the_right_passage_names_no_better_one(embedder, italian_passage, greek_passage):
    answer = "Kremlin spokesman Peskov had announced that Lavrov would deliver a personal message from Putin [2]."
    _, citations = cite(answer, [italian_passage, greek_passage], embedder.embed_query, embedder.embed_passages,
                        THRESHOLD)
    (c,) = citations
    assert c.number == 2 and c.better is None


@pytest.mark.parametrize(("claim", "sentence"), [
    ("More than 6,000 soldiers died [1].", "Più di 6.000 soldati nordcoreani sono morti."),
    ("More than 6000 soldiers died.", "Πάνω από 6 000 στρατιώτες σκοτώθηκαν."),
    ("They met on 13 July 2025.", "Si sono incontrati il 13.07.2025."),
    ("The talks lasted 3.5 hours.", "I colloqui sono durati 3,5 ore."),
    ("It opened on 1 July.", "Il 1° luglio è stata inaugurata."),
])
def test_a_number_the_sentences_hold_written_another_way_is_supported(claim, sentence):
    assert unsupported_numbers(claim, [sentence]) == []


def test_numbers_no_sentence_holds_are_named_and_citation_markers_are_not_numbers():
    sentences = ["Il 1° luglio è stata inaugurata la zona turistica di Wonsan."]
    assert unsupported_numbers("It opened on 1 July 2023 and cost 10 million [1][7].", sentences) == ["2023", "10"]
