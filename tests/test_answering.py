"""Answering through a model served by the fake Ollama: what the product does with what the model says.

Every test builds a real ``RAG`` over the shared seeded index (real Chroma, real BM25, the real bundled
embedder) whose settings point at a ``FakeOllama`` on 127.0.0.1; the real ``ollama`` client and
llama-index's ``Ollama`` talk to it. The tests script the model's replies and assert on the ``Answer``,
on what the model was sent, and on what the CLI prints.
"""

from __future__ import annotations

import builtins
import json
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fake_ollama import FakeOllama, Reply
from helpers import SEEDS, free_port, seed_text

from rag import cli
from rag.pipeline import RAG
from rag.prompts import REFUSALS, condense_messages, estimate_tokens, translation_messages
from rag.settings import Settings
from rag.types import Answer

MODEL = "qwen2.5:3b"
WHERE = "Where did Lavrov meet Kim Jong Un?"
WONSAN = "Lavrov met Kim Jong Un in Wonsan [1]."
TRANSLATIONS = {
    "el": "Πού συνάντησε ο Λαβρόφ τον Κιμ Γιονγκ Ουν;",
    "it": "Dove ha incontrato Lavrov Kim Jong Un?",
    "tr": "Lavrov Kim Jong Un ile nerede görüştü?",
}
# How the product's three kinds of requests begin; the fake's replies are chosen by them.
TRANSLATE_SYSTEM = translation_messages("q", ["el"])[0]["content"]
CONDENSE_SYSTEM = condense_messages("q", [])[0]["content"]


def kind(request: dict) -> str:
    """Which of the product's requests this is: "translate", "condense" or "answer"."""
    system = request["messages"][0]["content"]
    return {TRANSLATE_SYSTEM: "translate", CONDENSE_SYSTEM: "condense"}.get(system, "answer")


def model(answer: str, translations: str | None = None, standalone: str = WHERE) -> Callable[[dict], str]:
    """A model that translates (to ``TRANSLATIONS``), condenses to ``standalone`` and answers ``answer``."""
    translated = json.dumps(TRANSLATIONS, ensure_ascii=False) if translations is None else translations
    return lambda req: {"translate": translated, "condense": standalone, "answer": answer}[kind(req)]


def requests_of(fake: FakeOllama, what: str) -> list[dict]:
    return [b for b in fake.bodies("/api/chat") if kind(b) == what]


def split_stream(items: list[str | Answer]) -> tuple[list[str], Answer]:
    *pieces, answer = items
    assert isinstance(answer, Answer) and all(isinstance(p, str) for p in pieces)
    return pieces, answer


def assert_spans_match_the_articles(answer: Answer) -> None:
    for c in answer.citations:
        assert 1 <= c.number <= len(answer.passages) and answer.passages[c.number - 1] == c.passage
        assert seed_text(c.passage.source)[c.start : c.end] == c.sentence
        assert c.passage.start <= c.start < c.end <= c.passage.end


def ids(passages) -> list[str]:  # noqa: ANN001
    return [p.id for p in passages]


@pytest.fixture
def fake() -> Iterator[FakeOllama]:
    with FakeOllama(models={MODEL: 32768}) as f:
        yield f


@pytest.fixture
def make_qa(seeded_rag_dir, make_rag) -> Callable[..., RAG]:
    """A RAG over the seeded index whose model is served at ``url``."""

    def make(url: str, **overrides: Any) -> RAG:
        overrides.setdefault("request_timeout", 5.0)
        overrides.setdefault("top_k", 2)  # few passages: citing embeds every sentence of each
        overrides.setdefault("llm_model", MODEL)
        return make_rag(Settings(data_dir=seeded_rag_dir, docs_dir=SEEDS, ollama_host=url, **overrides))

    return make


@pytest.fixture
def qa(fake, make_qa) -> RAG:
    return make_qa(fake.url)


# ---------------------------------------------------------------------------- the answer


def test_the_answer_streams_in_pieces_then_ends_with_the_answer(qa, fake):
    raw = "Lavrov met Kim Jong Un in the coastal city of Wonsan [1]. The talks lasted over three hours [2]."
    fake.script(raw)
    pieces, answer = split_stream(list(qa.stream(WHERE, translate=False)))
    assert len(pieces) > 5 and "".join(pieces) == raw
    assert answer.text == raw and answer.mode == "llm" and answer.model == MODEL
    assert not answer.refused and not answer.incomplete and answer.notice is None
    assert [c.number for c in answer.citations] == [1, 2]
    assert_spans_match_the_articles(answer)


def test_num_ctx_sent_is_the_setting_capped_by_the_models_context_length(make_qa):
    with FakeOllama(models={MODEL: 4096}, default=model(REFUSALS["en"])) as f:
        make_qa(f.url, num_ctx=8192).ask(WHERE)
        sent = [b["options"]["num_ctx"] for b in f.bodies("/api/chat")]
    assert sent == [4096, 4096]  # the translation and the answer


def test_passages_are_dropped_lowest_ranked_first_when_the_model_context_is_small(make_qa):
    with FakeOllama(models={MODEL: 1024}, default=model(REFUSALS["en"])) as f:
        qa = make_qa(f.url, top_k=5, max_answer_tokens=128)
        answer = qa.ask(WHERE, translate=False)
        body = f.last("/api/chat")
    assert answer.truncated and answer.dropped_passages > 0
    assert len(answer.passages) == 5 - answer.dropped_passages
    assert ids(answer.passages) == ids(qa.retrieve(WHERE, top_k=5))[: len(answer.passages)]
    assert body["options"]["num_ctx"] == 1024
    assert sum(estimate_tokens(m["content"]) for m in body["messages"]) + 128 <= 1024
    assert f"[{len(answer.passages) + 1}] title:" not in body["messages"][1]["content"]


def test_nothing_is_dropped_when_the_passages_fit(qa, fake):
    fake.script(REFUSALS["en"])
    answer = qa.ask(WHERE, translate=False)
    assert not answer.truncated and answer.dropped_passages == 0 and len(answer.passages) == qa.settings.top_k


def test_a_refusal_is_answered_with_the_fixed_sentence_in_the_questions_language(qa, fake):
    fake.script("The articles do not contain the answer to this question.")  # the model refused in English
    answer = qa.ask("Quanti missili ha lanciato la Corea del Nord nel 2023?", translate=False)
    assert answer.refused and answer.language == "it"
    assert answer.text == REFUSALS["it"]
    assert answer.citations == ()


def test_markers_to_no_passage_are_dropped_from_the_answer(qa, fake):
    fake.script("Lavrov met Kim Jong Un in Wonsan [1][7]. [9]")
    answer = qa.ask(WHERE, translate=False)
    assert answer.text.strip() == "Lavrov met Kim Jong Un in Wonsan [1]."
    assert [c.number for c in answer.citations] == [1]


def test_an_answer_without_markers_cites_the_best_passage_as_inferred(qa, fake):
    fake.script("Lavrov met Kim Jong Un in the coastal city of Wonsan.")
    answer = qa.ask(WHERE, translate=False)
    (c,) = answer.citations
    assert c.inferred and answer.text.endswith(f"[{c.number}]")
    assert_spans_match_the_articles(answer)


def test_a_greek_question_asks_the_model_for_a_greek_answer(qa, fake):
    fake.script(REFUSALS["el"])
    answer = qa.ask("Πού συνάντησε ο Λαβρόφ τον Κιμ Γιονγκ Ουν;", translate=False)
    system, user = fake.last("/api/chat")["messages"]
    assert answer.language == "el"
    assert "Answer in Greek" in system["content"] and REFUSALS["el"] in system["content"]
    assert user["content"].endswith("Answer in Greek:")


def test_a_question_with_no_passages_is_refused_without_asking_the_model(qa, fake):
    answer = qa.ask(WHERE, translate=False, sources=["no-such-file.txt"])
    assert answer.refused and answer.text == REFUSALS["en"] and answer.passages == ()
    assert fake.bodies("/api/chat") == []


# ---------------------------------------------------------------------------- translation


def test_translation_is_one_extra_call_asking_for_every_other_language_of_the_index(qa, fake):
    fake.default = model(REFUSALS["en"])
    answer = qa.ask(WHERE)
    translate, answer_request = fake.bodies("/api/chat")
    assert kind(translate) == "translate" and kind(answer_request) == "answer"
    assert translate["stream"] is False
    prompt = FakeOllama.last_user_message(translate)
    assert all(
        f'"{code}" ({name})' in prompt
        for code, name in (("el", "Greek"), ("it", "Italian"), ("tr", "Turkish"))
    )
    assert '"en"' not in prompt and WHERE in prompt  # the question's own language is not asked for
    assert answer.translations == TRANSLATIONS


def test_the_fused_retrieval_weighs_the_translations_rankings_in(qa, fake):
    # The "translations" are deliberately about another fact (the reopened air link, in 001), so the
    # passage that states it can only move up through the fusion of the translations' rankings.
    question = "Where did Lavrov meet Kim Jong Un?"
    translations = {
        "el": "Πότε άρχισε να λειτουργεί ξανά η αεροπορική σύνδεση των δύο πρωτευουσών;",
        "it": "Quando è ripreso il collegamento aereo tra le due capitali?",
        "tr": "İki başkent arasındaki hava bağlantısı ne zaman yeniden başladı?",
    }
    fake.default = model(REFUSALS["en"], translations=json.dumps(translations, ensure_ascii=False))
    answer = qa.ask(question, top_k=3)

    retriever = qa.retriever
    rankings = [retriever.rank(question)] + [retriever.rank(t, query_language=lang) for lang, t in translations.items()]
    expected = retriever.fuse(rankings, [1.0] + [qa.settings.translation_weight] * 3, 3)
    plain = ids(qa.retrieve(question, top_k=3))
    air_link = next(p for p in answer.passages if "αεροπορική σύνδεση" in p.text)

    assert ids(answer.passages) == ids(expected)
    assert ids(answer.passages).index(air_link.id) < plain.index(air_link.id) if air_link.id in plain else True
    assert any(p.id in plain for p in answer.passages)  # the original question still counts


def test_translations_are_cached(qa, fake):
    fake.default = model(REFUSALS["en"])
    first = qa.ask(WHERE)
    second = qa.ask(WHERE)
    assert len(requests_of(fake, "translate")) == 1
    assert len(requests_of(fake, "answer")) == 2
    assert second.translations == first.translations == TRANSLATIONS
    assert ids(second.passages) == ids(first.passages)


def test_translate_false_makes_no_translation_call(qa, fake):
    fake.default = model(REFUSALS["en"])
    answer = qa.ask(WHERE, translate=False)
    assert [kind(b) for b in fake.bodies("/api/chat")] == ["answer"]
    assert answer.translations == {} and answer.translate_ms < 50


def test_translation_is_off_when_the_settings_say_so(make_qa, fake):
    fake.default = model(REFUSALS["en"])
    make_qa(fake.url, translate=False).ask(WHERE)
    assert requests_of(fake, "translate") == []


@pytest.mark.parametrize(
    "failure",
    [
        Reply("Sorry, as an AI I cannot translate questions."),
        Reply(""),
        Reply("", fail_status=500),
        Reply("", delay=3),
    ],
    ids=["garbage", "empty", "http-500", "timeout"],
)
def test_a_failed_translation_keeps_the_original_questions_passages(make_qa, fake, failure):
    qa = make_qa(fake.url, request_timeout=1)
    fake.script(failure, REFUSALS["en"])
    answer = qa.ask(WHERE)
    assert answer.mode == "llm" and answer.translations == {}
    assert ids(answer.passages) == ids(qa.retrieve(WHERE))


def test_timings_are_measured_and_ordered(qa, fake):
    fake.script(Reply(json.dumps(TRANSLATIONS), delay=0.1), Reply(REFUSALS["en"], delay=0.2))
    a = qa.ask(WHERE)
    assert a.translate_ms >= 100 and a.retrieve_ms > 0
    assert a.first_token_ms is not None
    assert a.first_token_ms >= a.translate_ms + a.retrieve_ms + 200  # three disjoint stretches before it
    assert a.total_ms >= a.first_token_ms


# ---------------------------------------------------------------------------- conversations


HISTORY = [
    {"role": "user", "content": "When did Lavrov meet Kim Jong Un?"},
    {"role": "assistant", "content": "On Saturday, during a visit that lasted until 13 July [1]."},
]


def test_a_follow_up_is_rewritten_with_the_history_and_retrieved_as_a_standalone_question(qa, fake):
    fake.default = model(WONSAN, standalone=WHERE)
    answer = qa.chat("And where?", history=HISTORY, translate=False)
    condense, answer_request = fake.bodies("/api/chat")
    assert kind(condense) == "condense" and condense["stream"] is False
    prompt = FakeOllama.prompt_of(condense)
    assert all(turn["content"] in prompt for turn in HISTORY) and "And where?" in prompt
    assert answer.question == "And where?" and answer.standalone_question == WHERE
    assert f"Question: {WHERE}" in FakeOllama.last_user_message(answer_request)
    assert ids(answer.passages) == ids(qa.retrieve(WHERE))


def test_the_history_sent_for_condensing_is_bounded_by_history_turns(make_qa, fake):
    qa = make_qa(fake.url, history_turns=1)
    fake.default = model(REFUSALS["en"], standalone=WHERE)
    history = [
        {"role": "user", "content": "Who is Shoigu?"},
        {"role": "assistant", "content": "OLDEST ANSWER"},
        {"role": "user", "content": "Who is Choe Son Hui?"},
        {"role": "assistant", "content": "MIDDLE ANSWER"},
        {"role": "user", "content": "When did Lavrov meet Kim?"},
        {"role": "assistant", "content": "NEWEST ANSWER"},
    ]
    qa.chat("And where?", history=history, translate=False)
    prompt = FakeOllama.prompt_of(requests_of(fake, "condense")[0])
    assert "When did Lavrov meet Kim?" in prompt and "NEWEST ANSWER" in prompt
    assert "MIDDLE ANSWER" not in prompt and "Shoigu" not in prompt


def test_a_first_message_is_not_condensed(qa, fake):
    fake.default = model(REFUSALS["en"])
    answer = qa.chat(WHERE, history=[], translate=False)
    assert requests_of(fake, "condense") == [] and answer.standalone_question == WHERE


# ---------------------------------------------------------------------------- when the model is not there


def test_with_ollama_down_ask_answers_retrieval_only_with_cited_sentences_fast(make_qa):
    qa = make_qa(f"http://127.0.0.1:{free_port()}", request_timeout=120)
    answer = qa.ask(WHERE)
    assert answer.mode == "retrieval-only" and answer.model is None and not answer.refused
    assert "ollama serve" in answer.notice
    assert answer.citations and all(c.inferred for c in answer.citations)
    assert_spans_match_the_articles(answer)
    assert all(" ".join(c.sentence.split()) in answer.text for c in answer.citations)
    assert answer.translations == {}  # no model, no translation

    assert qa.health() is qa.health()  # the reachability check is cached
    t0 = time.monotonic()
    again = qa.ask(WHERE, top_k=1)
    assert time.monotonic() - t0 < 60  # well under the 120 s request timeout: nothing waits for Ollama
    assert again.mode == "retrieval-only"


def test_with_the_model_not_pulled_the_notice_says_ollama_pull(make_qa):
    with FakeOllama(models={"llama3.2:1b": 8192}) as f:
        answer = make_qa(f.url, top_k=1).ask(WHERE)
        assert f.bodies("/api/chat") == []
    assert answer.mode == "retrieval-only" and answer.citations
    assert f"ollama pull {MODEL}" in answer.notice


def test_a_model_slower_than_the_request_timeout_falls_back_to_retrieval_only(make_qa, fake):
    qa = make_qa(fake.url, request_timeout=1, top_k=1)
    fake.script(WONSAN, delay=3)
    answer = qa.ask(WHERE, translate=False)
    assert answer.mode == "retrieval-only" and answer.citations
    assert "did not answer within 1 s" in answer.notice and "RAG_REQUEST_TIMEOUT" in answer.notice
    assert_spans_match_the_articles(answer)


def test_a_dropped_stream_keeps_the_partial_answer_and_marks_it_incomplete(qa, fake):
    fake.script(["Lavrov ", "met ", "Kim ", "Jong ", "Un ", "in ", "Wonsan ", "[1]."], drop_after=4)
    pieces, answer = split_stream(list(qa.stream(WHERE, translate=False, top_k=1)))
    assert pieces == ["Lavrov ", "met ", "Kim ", "Jong "]
    assert answer.incomplete and answer.mode == "llm"
    assert answer.text.startswith("Lavrov met Kim Jong")
    assert "incomplete" in answer.notice and "dropped the connection" in answer.notice


def test_ollama_coming_back_is_used_again_after_a_refresh(qa, fake):
    fake.stop()
    assert qa.ask(WHERE, translate=False, top_k=1).mode == "retrieval-only"
    fake.start()
    assert qa.health(refresh=True).ok
    fake.script(WONSAN)
    answer = qa.ask(WHERE, translate=False, top_k=1)
    assert answer.mode == "llm" and answer.text == WONSAN


# ---------------------------------------------------------------------------- the CLI


@pytest.fixture
def cli_env(monkeypatch, seeded_rag_dir, embedder):
    """`rag` reads its settings from RAG_* variables; the shared embedder saves loading the model again."""

    def use(url: str) -> None:
        monkeypatch.setenv("RAG_DATA_DIR", str(seeded_rag_dir))
        monkeypatch.setenv("RAG_OLLAMA_HOST", url)
        monkeypatch.setenv("RAG_LLM_MODEL", MODEL)
        monkeypatch.setenv("RAG_TOP_K", "2")
        monkeypatch.setattr(cli, "_rag", lambda args: RAG(cli._settings(args), embedder=embedder))

    return use


def test_cli_ask_streams_the_answer_and_ends_with_the_sources(cli_env, fake, capsys):
    cli_env(fake.url)
    fake.script(WONSAN)
    assert cli.main(["ask", WHERE, "--no-translate"]) == 0
    out = capsys.readouterr().out
    assert out.startswith(WONSAN)
    assert "\nSources:\n[1] " in out and out.index("Sources:") > out.index(WONSAN)
    assert [kind(b) for b in fake.bodies("/api/chat")] == ["answer"]


def test_cli_ask_json_prints_the_answer_as_json(cli_env, fake, capsys):
    cli_env(fake.url)
    fake.script(WONSAN)
    assert cli.main(["ask", WHERE, "--no-translate", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["text"] == WONSAN and data["mode"] == "llm" and data["model"] == MODEL
    (c,) = data["citations"]
    assert c["number"] == 1 and seed_text(c["passage"]["source"])[c["start"] : c["end"]] == c["sentence"]


def test_cli_ask_with_ollama_down_prints_the_retrieval_only_answer_and_succeeds(cli_env, capsys):
    cli_env(f"http://127.0.0.1:{free_port()}")
    assert cli.main(["ask", WHERE]) == 0
    captured = capsys.readouterr()
    assert "most relevant sentences" in captured.out and "\nSources:\n[1] " in captured.out
    assert "ollama serve" in captured.err
    assert "Traceback" not in captured.err


def test_cli_chat_condenses_the_second_message_with_the_first_exchange(cli_env, fake, capsys, monkeypatch):
    cli_env(fake.url)
    lines = iter(["When did Lavrov meet Kim Jong Un?", "And where?", ""])
    monkeypatch.setattr(builtins, "input", lambda prompt="": next(lines))
    fake.default = model(WONSAN, standalone=WHERE)
    assert cli.main(["chat", "--no-translate"]) == 0
    first_answer, condense, second_answer = fake.bodies("/api/chat")
    assert [kind(first_answer), kind(condense), kind(second_answer)] == ["answer", "condense", "answer"]
    prompt = FakeOllama.prompt_of(condense)
    assert "user: When did Lavrov meet Kim Jong Un?" in prompt and f"assistant: {WONSAN}" in prompt
    assert "Last message: And where?" in prompt
    assert f"Question: {WHERE}" in FakeOllama.last_user_message(second_answer)
    assert capsys.readouterr().out.count("Sources:") == 2
