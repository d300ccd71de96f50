"""The LLM backends against servers speaking the real protocols: health, num_ctx, streaming, errors.

Ollama is the fake in ``fake_ollama.py`` (the real ``ollama`` client and llama-index's ``Ollama`` talk to
it); the OpenAI-compatible server is the small ``FakeOpenAI`` below (llama-index's ``OpenAILike`` and the
``openai`` client talk to it), standing in for llama.cpp's server, vLLM or LM Studio.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections import deque
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from fake_ollama import FakeOllama, split_pieces
from helpers import SEEDS, free_port

from rag.errors import LLMError
from rag.llm import HEALTH_TIMEOUT, OllamaBackend, OpenAICompatibleBackend, build_llm
from rag.settings import Settings
from rag.types import Answer

MODEL = "qwen2.5:3b"
USER = [{"role": "user", "content": "When did Lavrov meet Kim?"}]


@pytest.fixture
def fake() -> Iterator[FakeOllama]:
    with FakeOllama(models={MODEL: 4096}) as f:
        yield f


def ollama_settings(url: str, tmp_path: Path, **overrides: Any) -> Settings:
    overrides.setdefault("request_timeout", 5.0)
    return Settings(data_dir=tmp_path / "data", ollama_host=url, llm_model=MODEL, **overrides)


@pytest.fixture
def backend(fake: FakeOllama, tmp_path: Path) -> OllamaBackend:
    return OllamaBackend(ollama_settings(fake.url, tmp_path))


# ---------------------------------------------------------------------------- Ollama: health


def test_health_reports_the_model_and_its_context_length_from_api_show(backend, fake):
    h = backend.health()
    assert h.ok and h.reachable and h.model_available
    assert (h.model, h.backend, h.url) == (MODEL, "ollama", fake.url)
    assert h.context_length == 4096
    assert MODEL in h.models
    assert fake.last("/api/show")["model"] == MODEL


def test_health_of_a_model_that_is_not_pulled_says_ollama_pull(fake, tmp_path):
    h = OllamaBackend(ollama_settings(fake.url, tmp_path), model="gemma3:4b").health()
    assert h.reachable and not h.model_available and not h.ok
    assert "ollama pull gemma3:4b" in h.message


def test_a_model_name_without_a_tag_matches_its_latest_tag(tmp_path):
    with FakeOllama(models={"gemma3:latest": 8192}) as f:
        assert OllamaBackend(ollama_settings(f.url, tmp_path), model="gemma3").health().ok


def test_health_of_a_stopped_ollama_says_ollama_serve(tmp_path):
    url = f"http://127.0.0.1:{free_port()}"
    h = OllamaBackend(ollama_settings(url, tmp_path)).health()
    assert not h.reachable and not h.ok
    assert "ollama serve" in h.message and url in h.message


def test_health_is_cached_and_refresh_probes_again(backend, fake):
    first = backend.health()
    assert backend.health() is first
    assert len(fake.bodies("/api/tags")) == 1
    assert backend.health(refresh=True) is not first
    assert len(fake.bodies("/api/tags")) == 2


def test_health_is_probed_again_once_its_ttl_has_passed_on_the_injected_clock(fake, tmp_path):
    now = [100.0]
    b = OllamaBackend(ollama_settings(fake.url, tmp_path), health_ttl=5.0, clock=lambda: now[0])
    first = b.health()
    now[0] += 4.9
    assert b.health() is first
    now[0] += 0.2
    assert b.health() is not first and len(fake.bodies("/api/tags")) == 2


def test_the_backend_uses_the_injected_ollama_client_for_every_answer(fake, tmp_path):
    import ollama

    calls = []

    class Recording(ollama.Client):
        def chat(self, *args, **kwargs):  # noqa: ANN002, ANN003, ANN202
            calls.append(kwargs.get("model"))
            return super().chat(*args, **kwargs)

    b = OllamaBackend(ollama_settings(fake.url, tmp_path), client=Recording(host=fake.url))
    list(b.stream(USER))
    b.complete(USER)
    list(b.stream(USER))
    assert calls == [MODEL] * 3
    assert len(b._llms) == 1  # built once per (temperature, length, context), not once per call


def test_closing_a_stream_early_ends_the_request(fake, tmp_path):
    b = OllamaBackend(ollama_settings(fake.url, tmp_path))
    fake.script("word " * 100, chunk_delay=0.05)
    stream = b.stream(USER)
    t0 = time.monotonic()
    assert next(stream) and next(stream)
    stream.close()
    assert time.monotonic() - t0 < 1.0


def test_health_recovers_when_ollama_comes_back(backend, fake):
    assert backend.health().ok
    fake.stop()
    down = backend.health(refresh=True)
    assert not down.ok and "ollama serve" in down.message
    assert backend.health() is down  # cached: no new probe while it is fresh
    fake.start()
    assert backend.health(refresh=True).ok


def test_a_hung_ollama_costs_one_short_probe_then_the_cached_answer(tmp_path):
    # Listens but never answers: the TCP handshake succeeds, the HTTP reply never comes.
    with socket.socket() as hung:
        hung.bind(("127.0.0.1", 0))
        hung.listen(8)
        url = f"http://127.0.0.1:{hung.getsockname()[1]}"
        b = OllamaBackend(ollama_settings(url, tmp_path, request_timeout=60))
        t0 = time.monotonic()
        h = b.health()
        first = time.monotonic() - t0
        t1 = time.monotonic()
        assert b.health() is h
        second = time.monotonic() - t1
    assert not h.ok
    assert first < HEALTH_TIMEOUT * 3  # a probe timeout, not the 60 s request timeout
    assert second < 0.1


# ---------------------------------------------------------------------------- Ollama: generation


@pytest.mark.parametrize(("setting", "model_ctx", "sent"), [(8192, 4096, 4096), (2048, 4096, 2048)])
def test_num_ctx_sent_is_the_setting_capped_by_the_models_context_length(
    fake, tmp_path, setting, model_ctx, sent
):
    fake.add_model(MODEL, model_ctx)
    b = OllamaBackend(ollama_settings(fake.url, tmp_path, num_ctx=setting))
    assert b.context_window() == sent
    b.complete(USER)
    list(b.stream(USER))
    assert [body["options"]["num_ctx"] for body in fake.bodies("/api/chat")] == [sent, sent]


def test_stream_yields_the_models_pieces_and_sends_the_settings(fake, tmp_path):
    b = OllamaBackend(
        ollama_settings(fake.url, tmp_path, temperature=0.2, keep_alive="3m", max_answer_tokens=200)
    )
    fake.script(["Lavrov ", "met ", "Kim ", "[1]."])
    assert list(b.stream(USER)) == ["Lavrov ", "met ", "Kim ", "[1]."]
    body = fake.last("/api/chat")
    assert body["stream"] is True and body["model"] == MODEL and body["keep_alive"] == "3m"
    assert body["options"]["temperature"] == 0.2 and body["options"]["num_predict"] == 200
    assert body["messages"] == USER


def test_complete_returns_the_whole_reply_with_per_call_temperature_and_length(backend, fake):
    fake.script('{"el": "Πότε;"}')
    assert backend.complete(USER, temperature=0.0, max_tokens=50) == '{"el": "Πότε;"}'
    body = fake.last("/api/chat")
    assert body["stream"] is False
    assert body["options"]["temperature"] == 0.0 and body["options"]["num_predict"] == 50


def test_a_slow_model_raises_a_readable_timeout_naming_rag_request_timeout(fake, tmp_path):
    b = OllamaBackend(ollama_settings(fake.url, tmp_path, request_timeout=1))
    fake.script("too late", delay=3)
    t0 = time.monotonic()
    with pytest.raises(LLMError, match="did not answer within 1 s; raise RAG_REQUEST_TIMEOUT"):
        list(b.stream(USER))
    assert time.monotonic() - t0 < 2.5


def test_a_model_removed_after_the_health_check_raises_ollama_pull(backend, fake):
    assert backend.health().ok
    fake.remove_model(MODEL)
    with pytest.raises(LLMError, match=f"ollama pull {MODEL}"):
        list(backend.stream(USER))
    with pytest.raises(LLMError, match=f"ollama pull {MODEL}"):
        backend.complete(USER)


def test_a_dropped_stream_raises_after_the_pieces_already_given(backend, fake):
    fake.script(["Lavrov ", "met ", "Kim ", "in ", "Wonsan."], drop_after=2)
    got = []
    with pytest.raises(LLMError, match="dropped the connection in the middle of the answer"):
        for piece in backend.stream(USER):
            got.append(piece)
    assert got == ["Lavrov ", "met "]


def test_an_in_stream_ollama_error_is_reported_with_its_text(backend, fake):
    fake.script("a b c", stream_error="llama runner process has terminated: exit status 2")
    with pytest.raises(LLMError, match="Ollama stopped the answer: llama runner process has terminated"):
        list(backend.stream(USER))


def test_an_ollama_error_status_is_reported_with_its_message(backend, fake):
    fake.script(fail_status=500, fail_body={"error": "out of memory"})
    with pytest.raises(LLMError, match=r"Ollama answered an error \(500\): out of memory"):
        backend.complete(USER)


def test_a_stopped_ollama_raises_ollama_serve(backend, fake):
    fake.stop()
    with pytest.raises(LLMError, match="ollama serve"):
        list(backend.stream(USER))
    with pytest.raises(LLMError, match="ollama serve"):
        backend.complete(USER)


def test_a_failed_call_makes_the_next_health_check_probe_again(backend, fake):
    assert backend.health().ok
    fake.script(fail_status=500)
    with pytest.raises(LLMError):
        backend.complete(USER)
    backend.health()
    assert len(fake.bodies("/api/tags")) == 2


def test_build_llm_picks_the_backend_the_settings_name(tmp_path):
    assert isinstance(build_llm(Settings(data_dir=tmp_path)), OllamaBackend)
    openai = build_llm(Settings(data_dir=tmp_path, llm_backend="openai"), model="other")
    assert isinstance(openai, OpenAICompatibleBackend) and openai.model == "other"


# ---------------------------------------------------------------------------- an OpenAI-compatible fake


class FakeOpenAI:
    """A tiny OpenAI-compatible server (like llama.cpp's): ``GET /v1/models``, ``POST /v1/chat/completions``
    streamed as server-sent events (``data: {chunk}`` lines, then ``data: [DONE]``) or as one JSON object.

    ``script(text, delay=...)`` queues the next replies; ``requests`` records ``(path, body)``.
    """

    def __init__(
        self,
        models: tuple[str, ...] = ("qwen2.5-coder-1.5b-instruct",),
        default: str = "This is a reply from the fake OpenAI-compatible server.",
    ) -> None:
        self.models = models
        self.default = default
        self.models_delay = 0.0  # seconds before answering GET /v1/models (llama.cpp busy with an answer)
        self.requests: list[tuple[str, Any]] = []
        self._queue: deque[tuple[str, float]] = deque()
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}/v1"

    def script(self, *texts: str, delay: float = 0.0) -> FakeOpenAI:
        with self._lock:
            self._queue.extend((t, delay) for t in texts)
        return self

    def bodies(self, path: str) -> list[Any]:
        with self._lock:
            return [b for p, b in self.requests if p == path]

    def __enter__(self) -> FakeOpenAI:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def _json(self, status: int, obj: Any) -> None:
                data = json.dumps(obj).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:
                with fake._lock:
                    fake.requests.append((self.path, None))
                if self.path == "/v1/models":
                    time.sleep(fake.models_delay)
                    self._json(
                        200,
                        {
                            "object": "list",
                            "data": [
                                {"id": m, "object": "model", "created": 0, "owned_by": "me"}
                                for m in fake.models
                            ],
                        },
                    )
                else:
                    self._json(404, {"error": {"message": "not found", "type": "invalid_request_error"}})

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)) or b"{}")
                with fake._lock:
                    fake.requests.append((self.path, body))
                    text, delay = fake._queue.popleft() if fake._queue else (fake.default, 0.0)
                if self.path != "/v1/chat/completions":
                    self._json(404, {"error": {"message": "not found", "type": "invalid_request_error"}})
                    return
                time.sleep(delay)
                base = {"id": "chatcmpl-1", "created": int(time.time()), "model": body.get("model", "")}
                if not body.get("stream"):
                    self._json(
                        200,
                        {
                            **base,
                            "object": "chat.completion",
                            "choices": [
                                {
                                    "index": 0,
                                    "message": {"role": "assistant", "content": text},
                                    "finish_reason": "stop",
                                }
                            ],
                            "usage": {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15},
                        },
                    )
                    return
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.send_header("Cache-Control", "no-cache")
                self.end_headers()

                def event(delta: dict, finish: str | None = None) -> None:
                    chunk = {
                        **base,
                        "object": "chat.completion.chunk",
                        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
                    }
                    self.wfile.write(f"data: {json.dumps(chunk)}\n\n".encode())
                    self.wfile.flush()

                event({"role": "assistant", "content": ""})
                for piece in split_pieces(text):
                    event({"content": piece})
                event({}, "stop")
                self.wfile.write(b"data: [DONE]\n\n")
                self.wfile.flush()

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        ).start()
        return self

    def __exit__(self, *exc: Any) -> None:
        assert self._server is not None
        self._server.shutdown()
        self._server.server_close()


OPENAI_MODEL = "qwen2.5-coder-1.5b-instruct"


@pytest.fixture
def openai_fake() -> Iterator[FakeOpenAI]:
    with FakeOpenAI() as f:
        yield f


def openai_settings(url: str, tmp_path: Path, **overrides: Any) -> Settings:
    overrides.setdefault("request_timeout", 5.0)
    return Settings(
        data_dir=tmp_path / "data",
        llm_backend="openai",
        openai_base_url=url,
        llm_model=OPENAI_MODEL,
        **overrides,
    )


def test_openai_health_lists_the_servers_models(openai_fake, tmp_path):
    h = OpenAICompatibleBackend(openai_settings(openai_fake.url, tmp_path)).health()
    assert h.ok and h.backend == "openai" and h.models == (OPENAI_MODEL,)


def test_openai_health_of_an_unreachable_server_names_its_url(tmp_path):
    url = f"http://127.0.0.1:{free_port()}/v1"
    h = OpenAICompatibleBackend(openai_settings(url, tmp_path)).health()
    assert not h.ok and url in h.message and "not reachable" in h.message


def test_openai_stream_yields_the_server_sent_pieces(openai_fake, tmp_path):
    b = OpenAICompatibleBackend(
        openai_settings(openai_fake.url, tmp_path, temperature=0.3, max_answer_tokens=99)
    )
    openai_fake.script("Lavrov met Kim in Wonsan [1].")
    assert list(b.stream(USER)) == ["Lavrov ", "met ", "Kim ", "in ", "Wonsan ", "[1]."]
    body = openai_fake.bodies("/v1/chat/completions")[-1]
    assert body["stream"] is True and body["model"] == OPENAI_MODEL
    assert body["temperature"] == 0.3 and body["max_tokens"] == 99
    assert body["messages"] == USER


def test_openai_complete_returns_the_whole_reply(openai_fake, tmp_path):
    b = OpenAICompatibleBackend(openai_settings(openai_fake.url, tmp_path))
    openai_fake.script('{"el": "Πότε;"}')
    assert b.complete(USER) == '{"el": "Πότε;"}'
    assert not openai_fake.bodies("/v1/chat/completions")[-1].get("stream")


def test_a_server_busy_generating_is_still_asked_when_it_answered_before(openai_fake, tmp_path):
    backend = OpenAICompatibleBackend(openai_settings(openai_fake.url, tmp_path))
    assert backend.health().ok
    openai_fake.models_delay = HEALTH_TIMEOUT + 1  # llama.cpp answers nothing while it generates

    busy = backend.health(refresh=True)

    assert busy.ok and "busy" in busy.message  # the question waits its turn instead of going retrieval-only


def test_a_server_that_never_answered_its_probe_is_not_taken_as_busy(openai_fake, tmp_path):
    openai_fake.models_delay = HEALTH_TIMEOUT + 1
    health = OpenAICompatibleBackend(openai_settings(openai_fake.url, tmp_path)).health()
    assert not health.ok and "did not answer within" in health.message


def test_openai_slow_server_raises_a_readable_timeout(openai_fake, tmp_path):
    b = OpenAICompatibleBackend(openai_settings(openai_fake.url, tmp_path, request_timeout=1))
    openai_fake.script("too late", delay=2.5)
    with pytest.raises(LLMError, match="RAG_REQUEST_TIMEOUT"):
        b.complete(USER)


def test_openai_unreachable_server_raises_what_to_set(tmp_path):
    b = OpenAICompatibleBackend(openai_settings(f"http://127.0.0.1:{free_port()}/v1", tmp_path))
    with pytest.raises(LLMError, match="RAG_OPENAI_BASE_URL"):
        list(b.stream(USER))


# ---------------------------------------------------------------------------- the whole pipeline on OpenAI


def test_rag_with_the_openai_backend_answers_streamed_with_citations(openai_fake, seeded_rag_dir, make_rag):
    from rag.pipeline import RAG

    settings = Settings(
        data_dir=seeded_rag_dir,
        docs_dir=SEEDS,
        llm_backend="openai",
        openai_base_url=openai_fake.url,
        llm_model=OPENAI_MODEL,
        request_timeout=5,
        top_k=2,
    )
    rag: RAG = make_rag(settings)
    openai_fake.script("Lavrov met Kim Jong Un in Wonsan [1].")
    stream = rag.stream("Where did Lavrov meet Kim Jong Un?", translate=False)
    assert stream.evidence.citations
    pieces = list(stream)
    answer = stream.answer
    assert isinstance(answer, Answer) and len(pieces) > 2
    assert answer.mode == "llm" and answer.model == OPENAI_MODEL and not answer.refused
    assert answer.text == "Lavrov met Kim Jong Un in Wonsan [1]."
    (c,) = answer.citations
    assert c.number == 1 and c.passage == answer.evidence[0].passage
    assert (SEEDS / c.passage.source).read_text(encoding="utf-8")[c.start : c.end] == c.sentence
    prompt = openai_fake.bodies("/v1/chat/completions")[-1]["messages"]
    assert "[1] (" in prompt[1]["content"] and "Question: Where did Lavrov meet Kim Jong Un?" in prompt[1]["content"]


def test_rag_with_an_unreachable_openai_server_answers_retrieval_only(seeded_rag_dir, make_rag):
    url = f"http://127.0.0.1:{free_port()}/v1"
    settings = Settings(
        data_dir=seeded_rag_dir,
        docs_dir=SEEDS,
        llm_backend="openai",
        openai_base_url=url,
        llm_model=OPENAI_MODEL,
        top_k=1,
    )
    answer = make_rag(settings).ask("Where did Lavrov meet Kim Jong Un?")
    assert answer.mode == "retrieval-only" and answer.citations
    assert url in answer.notice
