"""The fake Ollama server is faithful enough for the real clients: `ollama.Client` and llama-index's
`Ollama` talk to it unmodified, and its failure modes surface as the exceptions the real server's
failures produce (these tests pin those exception classes for the product's error handling)."""

from __future__ import annotations

import asyncio
import json
import math
import sys
import time
from pathlib import Path

import httpx
import ollama
import pytest
from llama_index.core.base.llms.types import ChatMessage
from llama_index.llms.ollama import Ollama

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:  # pytest's default rootdir/prepend import puts it there; importlib mode doesn't
    sys.path.insert(0, str(HERE))

from fake_ollama import FakeOllama, embed_text, split_pieces  # noqa: E402

LLM = "qwen2.5:3b"
EMB = "nomic-embed-text"
USER = [{"role": "user", "content": "Who won?"}]


@pytest.fixture
def fake():
    with FakeOllama(models={LLM: 32768, EMB: 2048}, embed_dim=64) as f:
        yield f


@pytest.fixture
def client(fake):
    with ollama.Client(host=fake.url, timeout=5) as c:
        yield c


def _llm(fake, **kw):
    kw.setdefault("request_timeout", 5.0)
    kw.setdefault("context_window", 8192)
    return Ollama(model=LLM, base_url=fake.url, **kw)


def _cos(a, b):
    return sum(x * y for x, y in zip(a, b, strict=True))


# ---------------------------------------------------------------------------- plain HTTP surface


def test_root_version_and_unknown_route(fake):
    assert httpx.get(fake.url + "/").text == "Ollama is running"
    head = httpx.head(fake.url + "/")
    assert head.status_code == 200 and head.content == b""
    assert httpx.get(fake.url + "/api/version").json() == {"version": "0.12.0"}
    r = httpx.get(fake.url + "/api/nope")
    assert (r.status_code, r.text) == (404, "404 page not found")
    assert fake.url.startswith("http://127.0.0.1:") and fake.host == fake.url[len("http://") :]


def test_bad_json_and_missing_body_are_400(fake):
    r = httpx.post(fake.url + "/api/chat", content=b"{not json", headers={"Content-Type": "application/json"})
    assert r.status_code == 400 and "invalid character" in r.json()["error"]
    r = httpx.post(fake.url + "/api/generate", content=b"")
    assert (r.status_code, r.json()) == (400, {"error": "missing request body"})
    r = httpx.post(fake.url + "/api/embed", json=[1, 2])
    assert r.status_code == 400 and "cannot unmarshal array" in r.json()["error"]
    r = httpx.post(fake.url + "/api/embed", json={"model": EMB, "input": [1, 2]})
    assert (r.status_code, r.json()) == (400, {"error": "invalid input type"})


def test_wire_format_of_a_stream_is_ndjson_over_chunked_http(fake):
    fake.script("alpha beta gamma")
    with httpx.stream("POST", fake.url + "/api/chat", json={"model": LLM, "messages": USER}) as r:
        assert r.headers["content-type"] == "application/x-ndjson"
        assert r.headers["transfer-encoding"] == "chunked"
        lines = [json.loads(x) for x in r.iter_lines() if x]
    assert [x["message"]["content"] for x in lines] == ["alpha ", "beta ", "gamma", ""]
    assert all(x["done"] is False and x["message"]["role"] == "assistant" for x in lines[:-1])
    last = lines[-1]
    assert last["done"] is True and last["done_reason"] == "stop"
    stats = ("total_duration", "load_duration", "prompt_eval_count", "prompt_eval_duration", "eval_count")
    for k in (*stats, "eval_duration"):
        assert isinstance(last[k], int) and last[k] > 0
    assert last["model"] == LLM and last["created_at"].endswith("Z")


# ---------------------------------------------------------------------------- ollama.Client


def test_client_list_and_show(client):
    names = [m.model for m in client.list().models]
    assert names == [LLM, f"{EMB}:latest"]
    m = client.list().models[0]
    assert m.size and m.digest and m.modified_at and m.details.family == "qwen2"

    info = client.show(LLM)
    assert info.modelinfo["general.architecture"] == "qwen2"
    assert info.modelinfo["qwen2.context_length"] == 32768
    assert "completion" in info.capabilities and info.details.quantization_level
    assert info.template and info.parameters
    emb = client.show(EMB)  # tag-less name resolves to :latest, as in Ollama
    assert emb.capabilities == ["embedding"] and emb.modelinfo["nomic-bert.context_length"] == 2048


def test_client_chat_streamed_and_not(client, fake):
    fake.script("Le président a été élu hier.", "Second answer.")
    parts = list(client.chat(LLM, messages=USER, stream=True, options={"num_ctx": 4096}))
    contents = [p.message.content for p in parts[:-1]]
    assert len(contents) > 2 and "".join(contents) == "Le président a été élu hier."
    assert parts[-1].done and parts[-1].done_reason == "stop" and parts[-1].eval_count == len(contents)

    r = client.chat(LLM, messages=USER)
    assert r.message.content == "Second answer." and r.done and r.message.role == "assistant"
    assert fake.pending == 0
    assert fake.bodies("/api/chat")[0]["options"]["num_ctx"] == 4096
    assert fake.bodies("/api/chat")[1]["stream"] is False
    assert client.ps().models[0].context_length == 4096


def test_client_generate_streamed_and_not(client, fake):
    fake.script("one two three", "four")
    parts = list(client.generate(LLM, "count", stream=True))
    assert "".join(p.response for p in parts) == "one two three" and parts[-1].done and parts[-1].context
    assert client.generate(LLM, "count", system="be brief").response == "four"
    assert fake.last("/api/generate")["system"] == "be brief"


def test_default_reply_and_load_requests(client, fake):
    assert client.chat(LLM, messages=USER).message.content == "This is a reply from the fake Ollama server."
    fake.default = lambda req: "echo: " + FakeOllama.last_user_message(req)
    assert client.chat(LLM, messages=USER).message.content == "echo: Who won?"
    # an empty chat is Ollama's "load the model" call: no output, no scripted reply consumed
    fake.script("kept")
    r = client.chat(LLM, messages=[])
    assert (r.done_reason, r.message.content) == ("load", "")
    assert client.generate(LLM, "", keep_alive=0).done_reason == "unload"
    assert fake.pending == 1


def test_reply_callable_sees_the_request(client, fake):
    def model(req):
        prompt = FakeOllama.prompt_of(req)
        if "Translate" in prompt:
            return "Who won the election?"
        assert "[1]" in prompt  # the answer prompt carries the passages
        return f"Answer (num_ctx={req['options']['num_ctx']}) [1]."

    fake.default = model
    tr = client.chat(LLM, messages=[{"role": "user", "content": "Translate to English: Wer hat gewonnen?"}])
    assert tr.message.content == "Who won the election?"
    ans = client.chat(
        LLM,
        messages=[{"role": "system", "content": "[1] passage text"}, {"role": "user", "content": "Q?"}],
        options={"num_ctx": 2048},
    )
    assert ans.message.content == "Answer (num_ctx=2048) [1]."
    fake.script(["exact", " pieces"])  # a list is streamed as given
    streamed = [p.message.content for p in client.chat(LLM, messages=USER, stream=True)]
    assert streamed == ["exact", " pieces", ""]


def test_reply_callable_error_is_reported(client, fake):
    fake.script(lambda req: 1 / 0)
    with pytest.raises(ollama.ResponseError) as ei:
        client.chat(LLM, messages=USER)
    assert ei.value.status_code == 500
    assert isinstance(fake.errors[0], ZeroDivisionError)


def test_embed(client, fake):
    one = client.embed(EMB, "Die Wahl in Berlin").embeddings
    assert len(one) == 1 and len(one[0]) == 64
    assert math.isclose(sum(x * x for x in one[0]), 1.0, rel_tol=1e-9)
    texts = ["Die Wahl in Berlin", "die wahl in berlin!", "Football results from Madrid"]
    many = client.embed(EMB, texts).embeddings
    assert many[0] == one[0]  # deterministic
    assert _cos(many[0], many[1]) > 0.8 > _cos(many[0], many[2])
    assert len(set(map(tuple, many))) == 3  # not a constant
    assert client.embed(EMB, "").embeddings == []  # Ollama: empty string -> no embeddings
    short = client.embed(EMB, "the quick brown fox jumps over the lazy dog", dimensions=16).embeddings[0]
    assert len(short) == 16 and math.isclose(sum(x * x for x in short), 1.0, rel_tol=1e-9)
    assert embed_text("abc", 64) == embed_text("ABC", 64)
    assert fake.last("/api/embed")["dimensions"] == 16


@pytest.mark.parametrize(
    "call",
    [
        lambda c: c.chat("ghost:7b", messages=USER),
        lambda c: list(c.chat("ghost:7b", messages=USER, stream=True)),
        lambda c: c.generate("ghost:7b", "hi"),
        lambda c: c.show("ghost:7b"),
        lambda c: c.embed("ghost:7b", "hi"),
    ],
    ids=["chat", "chat-stream", "generate", "show", "embed"],
)
def test_unknown_model_is_404_with_pull_hint(client, call):
    with pytest.raises(ollama.ResponseError) as ei:
        call(client)
    assert ei.value.status_code == 404
    assert ei.value.error == 'model "ghost:7b" not found, try pulling it first'
    assert "not found, try pulling it first" in str(ei.value)


def test_unknown_model_short_style_and_removed_model():
    with FakeOllama(models={LLM: 32768}, not_found="short") as fake, ollama.Client(host=fake.url) as c:
        with pytest.raises(ollama.ResponseError) as ei:
            c.chat("ghost", messages=USER)
        assert (ei.value.status_code, ei.value.error) == (404, "model 'ghost' not found")
        fake.remove_model(LLM)
        with pytest.raises(ollama.ResponseError) as ei:
            c.embed(LLM, "x")
        assert ei.value.status_code == 404 and "try pulling it first" in ei.value.error
        assert c.list().models == []


def test_embedding_model_cannot_chat(client):
    with pytest.raises(ollama.ResponseError) as ei:
        client.chat(EMB, messages=USER)
    assert ei.value.status_code == 400 and "does not support chat" in ei.value.error


# ---------------------------------------------------------------------------- llama-index Ollama


def test_llama_index_complete_and_chat(fake):
    fake.script("Complete reply.", "Chat reply.")
    llm = _llm(fake)
    assert llm.complete("Who won?").text == "Complete reply."
    r = llm.chat([ChatMessage(role="system", content="ctx"), ChatMessage(role="user", content="Who won?")])
    assert r.message.content == "Chat reply."
    assert r.raw["prompt_eval_count"] > 0
    bodies = fake.bodies("/api/chat")
    assert [b["options"]["num_ctx"] for b in bodies] == [8192, 8192]
    assert bodies[1]["messages"][0] == {"role": "system", "content": "ctx"}
    assert fake.bodies("/api/show") == []  # context_window given: no /api/show round trip


def test_llama_index_streams(fake):
    fake.script("Streamed completion here.", "Streamed chat here.")
    llm = _llm(fake)
    deltas = [r.delta for r in llm.stream_complete("Who won?")]
    assert len(deltas) > 1 and "".join(deltas) == "Streamed completion here."
    chunks = list(llm.stream_chat([ChatMessage(role="user", content="Who won?")]))
    assert chunks[-1].message.content == "Streamed chat here."
    assert "".join(c.delta or "" for c in chunks) == "Streamed chat here."


def test_llama_index_reads_context_window_from_show(fake):
    llm = _llm(fake, context_window=-1)
    assert llm.metadata.context_window == 32768
    assert fake.bodies("/api/show") == [{"model": LLM}]


def test_llama_index_unknown_model_is_the_same_response_error(fake):
    for window in (4096, -1):  # -1: the 404 comes from /api/show
        with pytest.raises(ollama.ResponseError) as ei:
            Ollama(model="ghost", base_url=fake.url, context_window=window).complete("q")
        assert ei.value.status_code == 404 and "try pulling it first" in ei.value.error
    with pytest.raises(ollama.ResponseError):
        list(Ollama(model="ghost", base_url=fake.url, context_window=4096).stream_complete("q"))


def test_llama_index_async(fake):
    fake.script("async one", "async two three")
    llm = _llm(fake)

    async def run():
        a = await llm.achat([ChatMessage(role="user", content="q")])
        gen = await llm.astream_chat([ChatMessage(role="user", content="q")])
        b = [c.delta async for c in gen]
        return a.message.content, "".join(b)

    assert asyncio.run(run()) == ("async one", "async two three")


# ---------------------------------------------------------------------------- failure modes


def test_dropped_stream_raises_remote_protocol_error_after_first_pieces(client, fake):
    fake.script("one two three four five", drop_after=2)
    got = []
    with pytest.raises(httpx.RemoteProtocolError, match="incomplete chunked read"):
        for part in client.chat(LLM, messages=USER, stream=True):
            got.append(part.message.content)
    assert got == ["one ", "two "]

    fake.script("one two three four five", drop_after=3)
    got = []
    with pytest.raises(httpx.RemoteProtocolError):
        for r in _llm(fake).stream_chat([ChatMessage(role="user", content="q")]):
            got.append(r.delta)
    assert got == ["one ", "two ", "three "]

    fake.script("whole", drop_after=0)  # non-streamed: the connection dies before any response
    with pytest.raises(httpx.RemoteProtocolError, match="Server disconnected without sending a response"):
        client.chat(LLM, messages=USER)
    assert client.chat(LLM, messages=USER).message.content  # the client recovers on a new connection


def test_in_stream_error_line_raises_response_error(client, fake):
    fake.script("a b c", stream_error="llama runner process has terminated: exit status 2", error_after=1)
    got = []
    with pytest.raises(ollama.ResponseError) as ei:
        for part in client.chat(LLM, messages=USER, stream=True):
            got.append(part.message.content)
    assert got == ["a "] and ei.value.status_code == -1 and "runner process" in ei.value.error


def test_slow_reply_times_out(fake):
    fake.script("late", delay=5)
    t0 = time.monotonic()
    with pytest.raises(httpx.ReadTimeout), ollama.Client(host=fake.url, timeout=0.25) as c:
        c.chat(LLM, messages=USER)
    fake.script("late", delay=5)
    with pytest.raises(httpx.ReadTimeout):
        _llm(fake, request_timeout=0.25).complete("q")
    fake.script("a b c", chunk_delay=5)  # stalls after the first piece
    got = []
    with pytest.raises(httpx.ReadTimeout), ollama.Client(host=fake.url, timeout=0.25) as c:
        for part in c.chat(LLM, messages=USER, stream=True):
            got.append(part.message.content)
    assert got == ["a "]
    assert time.monotonic() - t0 < 3


def test_fail_next_and_scripted_failure(client, fake):
    fake.fail_next(500, {"error": "llama runner process has terminated: signal: killed"}, path="/api/chat")
    client.embed(EMB, "unaffected")  # other paths are not hit
    with pytest.raises(ollama.ResponseError) as ei:
        client.chat(LLM, messages=USER)
    assert ei.value.status_code == 500
    assert ei.value.error == "llama runner process has terminated: signal: killed"
    busy = "server busy, please try again.  maximum pending requests exceeded"
    fake.script(fail_status=503, fail_body={"error": busy})
    fake.script("recovered")
    with pytest.raises(ollama.ResponseError) as ei:
        list(client.chat(LLM, messages=USER, stream=True))
    assert ei.value.status_code == 503
    assert client.chat(LLM, messages=USER).message.content == "recovered"
    fake.fail_next(502, "<html>Bad Gateway</html>")  # a proxy's non-JSON error page
    with pytest.raises(ollama.ResponseError) as ei:
        client.list()
    assert (ei.value.status_code, ei.value.error) == (502, "<html>Bad Gateway</html>")


def test_stopped_server_refuses_then_comes_back_on_same_port(client, fake):
    assert client.chat(LLM, messages=USER).message.content  # leaves a keep-alive connection in the pool
    url = fake.url
    fake.stop()
    with pytest.raises(ConnectionError, match="Failed to connect to Ollama"):  # builtins.ConnectionError
        client.chat(LLM, messages=USER)
    with pytest.raises(ConnectionError):
        client.list()
    with pytest.raises(httpx.ConnectError):  # streamed calls are not wrapped by the ollama client
        list(client.chat(LLM, messages=USER, stream=True))
    with pytest.raises(ConnectionError):
        _llm(fake).complete("q")
    with pytest.raises(httpx.ConnectError):
        list(_llm(fake).stream_complete("q"))
    fake.start()
    assert fake.url == url
    fake.script("back again")
    assert client.chat(LLM, messages=USER).message.content == "back again"


def test_stop_cuts_a_stream_in_progress(client, fake):
    fake.script("a b c d", chunk_delay=5)
    parts = client.chat(LLM, messages=USER, stream=True)
    assert next(parts).message.content == "a "
    fake.stop()
    with pytest.raises(httpx.RemoteProtocolError):
        next(parts)


def test_requests_are_recorded_and_reset(client, fake):
    client.list()
    client.chat(LLM, messages=USER, options={"num_ctx": 1024, "temperature": 0})
    assert [p for p, _ in fake.requests] == ["/api/tags", "/api/chat"]
    assert fake.requests[0][1] is None
    assert fake.last("/api/chat")["options"] == {"num_ctx": 1024, "temperature": 0}
    fake.script("x")
    fake.reset()
    assert fake.requests == [] and fake.pending == 0


def test_split_pieces_keeps_text():
    for text in ["", "a", "  lead and trail  ", "中文没有空格的很长的一句话就是这样子的", "x\ny\n\nz"]:
        assert "".join(split_pieces(text)) == text
    assert split_pieces("a b") == ["a ", "b"]
    assert len(split_pieces("中文没有空格的很长的一句话就是这样子的")) > 1
