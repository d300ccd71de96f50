"""The fake Ollama speaks what the product uses of Ollama's protocol, fails on demand, and simulates a CPU.

Checked with the real ``ollama`` client, the one the product's backend uses.
"""

from __future__ import annotations

import threading
import time

import httpx
import ollama
import pytest
from fake_ollama import CpuModel, FakeOllama, Reply, prompt_tokens, split_pieces

MODEL = "qwen2.5:3b"
USER = [{"role": "user", "content": "When did Lavrov meet Kim?"}]


@pytest.fixture
def fake() -> FakeOllama:
    with FakeOllama(models={MODEL: 8192}) as f:
        yield f


@pytest.fixture
def client(fake: FakeOllama) -> ollama.Client:
    return ollama.Client(host=fake.url, timeout=5)


def test_list_show_and_version_describe_the_installed_models(client, fake):
    assert [m.model for m in client.list().models] == [MODEL]
    assert client.show(MODEL).modelinfo["qwen2.context_length"] == 8192
    assert httpx.get(f"{fake.url}/api/version").json()["version"]


def test_chat_streams_the_scripted_reply_in_pieces_and_records_the_request(client, fake):
    fake.script("Lavrov met Kim in Wonsan [1].", "Second.")
    pieces = [c.message.content for c in client.chat(MODEL, USER, stream=True)]
    assert len(pieces) > 3 and "".join(pieces) == "Lavrov met Kim in Wonsan [1]."
    assert client.chat(MODEL, USER).message.content == "Second."
    assert fake.last("/api/chat")["messages"] == USER


def test_a_reply_function_sees_the_request(client, fake):
    fake.default = lambda req: FakeOllama.last_user_message(req).upper()
    assert client.chat(MODEL, USER).message.content == "WHEN DID LAVROV MEET KIM?"


def test_an_unknown_model_is_a_404_with_the_pull_hint(client):
    with pytest.raises(ollama.ResponseError) as err:
        client.chat("gemma3:4b", USER)
    assert err.value.status_code == 404 and "try pulling it first" in err.value.error


def test_a_dropped_stream_raises_after_the_first_pieces(client, fake):
    fake.script(["a ", "b ", "c ", "d"], drop_after=2)
    got = []
    with pytest.raises((httpx.RemoteProtocolError, ollama.ResponseError, ConnectionError)):
        for chunk in client.chat(MODEL, USER, stream=True):
            got.append(chunk.message.content)
    assert got == ["a ", "b "]


def test_an_in_stream_error_line_raises_its_message(client, fake):
    fake.script("a b", stream_error="llama runner process has terminated")
    with pytest.raises(ollama.ResponseError, match="llama runner"):
        list(client.chat(MODEL, USER, stream=True))


def test_an_error_status_carries_its_body(client, fake):
    fake.script(fail_status=500, fail_body={"error": "out of memory"})
    with pytest.raises(ollama.ResponseError, match="out of memory"):
        client.chat(MODEL, USER)


def test_a_slow_reply_times_out_on_the_client(fake):
    fake.script(Reply("late", delay=2))
    with pytest.raises(httpx.TimeoutException):
        ollama.Client(host=fake.url, timeout=0.5).chat(MODEL, USER)


def test_stop_refuses_connections_and_start_serves_again_on_the_same_port(client, fake):
    fake.stop()
    with pytest.raises(ConnectionError):
        client.list()
    fake.start()
    assert client.list().models


def test_split_pieces_keeps_the_text():
    text = "Ο Λαβρόφ met Kim   in Wonsan [1].\nNext"
    assert "".join(split_pieces(text)) == text and len(split_pieces(text)) > 4


# ---------------------------------------------------------------------------- the simulated CPU


def test_the_cpu_model_charges_only_the_prompt_not_shared_with_the_previous_request():
    cpu = CpuModel(prompt_tps=1e6, generate_tps=1e6)
    system = {"role": "system", "content": "rules " * 100}
    with FakeOllama(models={MODEL: 8192}, cpu=cpu, default="ok") as fake:
        c = ollama.Client(host=fake.url, timeout=5)
        c.chat(MODEL, [system, {"role": "user", "content": "first question"}])
        c.chat(MODEL, [system, {"role": "user", "content": "second question"}])
    (total1, cached1, out1), (total2, cached2, _) = cpu.log
    assert cached1 == 0 and out1 >= 1
    assert cached2 >= prompt_tokens(system["content"]) and total2 - cached2 < 10


def test_the_cpu_model_takes_prompt_tokens_over_its_reading_speed_one_request_at_a_time():
    cpu = CpuModel(prompt_tps=1000, generate_tps=1e6)
    prompts = ["x" * 1200, "y" * 1200]  # 300 tokens each, nothing shared: 0.3 s each
    with FakeOllama(models={MODEL: 8192}, cpu=cpu, default="ok") as fake:
        c = ollama.Client(host=fake.url, timeout=5)
        started = time.monotonic()
        threads = [threading.Thread(target=c.chat, args=(MODEL, [{"role": "user", "content": p}]))
                   for p in prompts]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        elapsed = time.monotonic() - started
    assert elapsed >= 0.6  # the two requests were read one after the other
    assert [cached for _, cached, _ in cpu.log] == [0, 2]  # only the "<|user|>" role tag is shared
