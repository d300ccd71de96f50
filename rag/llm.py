"""LLM backends (Ollama, or any OpenAI-compatible server), health checks and errors users can act on.

Generation goes through llama-index's ``Ollama`` and ``OpenAILike`` LLMs. Every failure becomes an
``LLMError`` whose message says what to do (``ollama serve``, ``ollama pull <model>``, a timeout setting).
Reachability is checked with a short timeout and cached briefly, so a down server costs a question
milliseconds, not a request timeout.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

import httpx

from rag.errors import LLMError
from rag.settings import Settings

log = logging.getLogger(__name__)

Messages = Sequence[dict[str, str]]

HEALTH_TIMEOUT = 1.5  # seconds for a reachability probe
HEALTH_TTL = 5.0  # seconds a probe result is reused


@dataclass(frozen=True)
class Health:
    """Whether the model can answer now, and if not, what to do about it."""

    reachable: bool
    model_available: bool
    model: str
    backend: str
    url: str
    context_length: int | None = None
    models: tuple[str, ...] = ()
    message: str = ""
    checked_at: float = field(default_factory=time.monotonic)

    @property
    def ok(self) -> bool:
        return self.reachable and self.model_available


Clock = Callable[[], float]


class LLMBackend(Protocol):
    """What the answerer needs from a language model."""

    model: str

    def health(self, refresh: bool = False) -> Health: ...

    def context_window(self) -> int: ...

    def stream(self, messages: Messages, *, temperature: float | None = None,
               max_tokens: int | None = None) -> Iterator[str]: ...

    def complete(self, messages: Messages, *, temperature: float | None = None,
                 max_tokens: int | None = None) -> str: ...


class Busy(Exception):
    """A probe's connection was taken but not answered in time: a server busy generating (llama.cpp's
    serves one request at a time) or hung. ``health`` is what to report if it was never seen answering."""

    def __init__(self, health: Health) -> None:
        super().__init__(health.message)
        self.health = health


class _CachedHealth:
    """The last probe's result, reused for ``ttl`` seconds of ``clock`` (injectable: tests need no sleep).

    A probe that finds the server busy (``Busy``) keeps the last good result: a question asked while another
    answer is being generated waits its turn at the model instead of falling back to retrieval-only. A
    server never seen answering is reported as not answering.
    """

    def __init__(self, ttl: float = HEALTH_TTL, clock: Clock = time.monotonic) -> None:
        self._lock = threading.Lock()
        self._value: Health | None = None
        self._last_ok: Health | None = None
        self._at = 0.0
        self.ttl = ttl
        self.clock = clock

    def get(self, probe: Callable[[], Health], refresh: bool) -> Health:
        with self._lock:
            now = self.clock()
            if refresh or self._value is None or now - self._at > self.ttl:
                try:
                    value = probe()
                except Busy as busy:
                    value = busy.health
                    if self._last_ok is not None:
                        log.info("%s; it answered before: taken as busy", busy)
                        value = replace(self._last_ok, message=f"{self._last_ok.message} (busy)", checked_at=now)
                if value.ok:
                    self._last_ok = value
                self._value, self._at = value, now
            return self._value

    def invalidate(self) -> None:
        with self._lock:
            self._value = None


def _to_messages(messages: Messages):  # noqa: ANN202
    from llama_index.core.llms import ChatMessage

    return [ChatMessage(role=m["role"], content=m["content"]) for m in messages]


class _LlamaIndexBackend:
    """Generation through a llama-index LLM; subclasses build it (``_llm``) and explain its errors."""

    _health: _CachedHealth

    def _llm(self, temperature: float | None, max_tokens: int | None):  # noqa: ANN202
        raise NotImplementedError

    def explain(self, exc: Exception) -> LLMError:
        raise NotImplementedError

    def stream(self, messages: Messages, *, temperature: float | None = None,
               max_tokens: int | None = None) -> Iterator[str]:
        """The reply's pieces; closing this generator (a cancelled answer) closes the HTTP stream."""
        chunks = None
        try:
            chunks = self._llm(temperature, max_tokens).stream_chat(_to_messages(messages))
            for chunk in chunks:
                if chunk.delta:
                    yield chunk.delta
        except GeneratorExit:
            raise
        except Exception as exc:
            self._health.invalidate()
            raise self.explain(exc) from exc
        finally:
            if chunks is not None:
                chunks.close()

    def complete(self, messages: Messages, *, temperature: float | None = None,
                 max_tokens: int | None = None) -> str:
        try:
            return self._llm(temperature, max_tokens).chat(_to_messages(messages)).message.content or ""
        except Exception as exc:
            self._health.invalidate()
            raise self.explain(exc) from exc


class OllamaBackend(_LlamaIndexBackend):
    """A model served by Ollama. ``num_ctx`` is always sent, capped by the model's own context length.

    One ``ollama.Client`` (injectable) serves every request, and llama-index's ``Ollama`` is built once
    per (temperature, answer length, context) around it, not once per question.
    """

    backend = "ollama"

    def __init__(self, settings: Settings, model: str | None = None, *, client: Any | None = None,
                 health_ttl: float = HEALTH_TTL, clock: Clock = time.monotonic) -> None:
        self.settings = settings
        self.model = model or settings.llm_model
        self.url = settings.ollama_host.rstrip("/")
        self._health = _CachedHealth(health_ttl, clock)
        self._client = client
        self._probe_client: Any | None = None
        self._llms: dict[tuple, Any] = {}
        self._llms_lock = threading.Lock()

    @property
    def client(self) -> Any:
        if self._client is None:
            import ollama

            self._client = ollama.Client(host=self.url, timeout=self.settings.request_timeout)
        return self._client

    # -- health --------------------------------------------------------------------------------------

    def health(self, refresh: bool = False) -> Health:
        return self._health.get(self._probe, refresh)

    def _probe(self) -> Health:
        import ollama

        if self._probe_client is None:  # its own short timeout: a hung Ollama costs a probe seconds, not minutes
            self._probe_client = ollama.Client(host=self.url, timeout=HEALTH_TIMEOUT)
        client = self._probe_client
        base: dict[str, Any] = {"model": self.model, "backend": self.backend, "url": self.url}
        try:
            models = tuple(m.model for m in client.list().models if m.model)
        except httpx.ReadTimeout as exc:
            raise Busy(Health(False, False, message=f"Ollama at {self.url} did not answer within "
                              f"{HEALTH_TIMEOUT:g} s", **base)) from exc
        except (ConnectionError, httpx.HTTPError) as exc:
            log.info("Ollama unreachable at %s: %s", self.url, exc)
            return Health(False, False, message=f"Ollama is not running at {self.url} (start it with `ollama serve`)",
                          **base)
        except ollama.ResponseError as exc:
            return Health(False, False, message=f"Ollama at {self.url} answered an error: {exc.error}", **base)
        if not _has_model(models, self.model):
            return Health(True, False, models=models,
                          message=f"model {self.model} is not installed in Ollama: run `ollama pull {self.model}`",
                          **base)
        context = None
        try:
            info = client.show(self.model).modelinfo or {}
            context = next((int(v) for k, v in info.items() if k.endswith(".context_length")), None)
        except (ConnectionError, httpx.HTTPError, ollama.ResponseError) as exc:
            log.warning("could not read the context length of %s: %s", self.model, exc)
        return Health(True, True, context_length=context, models=models, message=f"{self.model} via Ollama",
                      **base)

    def context_window(self) -> int:
        """The ``num_ctx`` to send: the setting, capped by the model's trained context length."""
        model_ctx = self.health().context_length
        return min(self.settings.num_ctx, model_ctx) if model_ctx else self.settings.num_ctx

    # -- generation ----------------------------------------------------------------------------------

    def _llm(self, temperature: float | None, max_tokens: int | None):  # noqa: ANN202
        from llama_index.llms.ollama import Ollama

        key = (self.settings.temperature if temperature is None else temperature,
               max_tokens or self.settings.max_answer_tokens, self.context_window())
        with self._llms_lock:
            if key not in self._llms:
                self._llms[key] = Ollama(
                    model=self.model, base_url=self.url, request_timeout=self.settings.request_timeout,
                    temperature=key[0], context_window=key[2], keep_alive=self.settings.keep_alive,
                    additional_kwargs={"num_predict": key[1]}, client=self.client,
                )
            return self._llms[key]

    def explain(self, exc: Exception) -> LLMError:
        import ollama

        if isinstance(exc, LLMError):
            return exc
        if isinstance(exc, ollama.ResponseError):
            if exc.status_code == 404 and "not found" in str(exc.error):
                return LLMError(f"model {self.model} is not installed in Ollama: run `ollama pull {self.model}`")
            if exc.status_code == -1:
                return LLMError(f"Ollama stopped the answer: {exc.error}")
            return LLMError(f"Ollama answered an error ({exc.status_code}): {exc.error}")
        return _transport_error(exc, f"Ollama at {self.url}", "start it with `ollama serve`", self.settings)


class OpenAICompatibleBackend(_LlamaIndexBackend):
    """Any server speaking the OpenAI chat API: llama.cpp's server, vLLM, LM Studio, a GPU host."""

    backend = "openai"

    def __init__(self, settings: Settings, model: str | None = None, *, health_ttl: float = HEALTH_TTL,
                 clock: Clock = time.monotonic) -> None:
        self.settings = settings
        self.model = model or settings.llm_model
        self.url = settings.openai_base_url.rstrip("/")
        self._health = _CachedHealth(health_ttl, clock)
        self._llms: dict[tuple, Any] = {}
        self._llms_lock = threading.Lock()

    def health(self, refresh: bool = False) -> Health:
        return self._health.get(self._probe, refresh)

    def _probe(self) -> Health:
        base: dict[str, Any] = {"model": self.model, "backend": self.backend, "url": self.url}
        try:
            r = httpx.get(f"{self.url}/models", timeout=HEALTH_TIMEOUT,
                          headers={"Authorization": f"Bearer {self.settings.openai_api_key.get_secret_value()}"})
            r.raise_for_status()
            models = tuple(m.get("id", "") for m in r.json().get("data", []))
        except httpx.ReadTimeout as exc:
            raise Busy(Health(False, False, message=f"the OpenAI-compatible server at {self.url} did not answer "
                              f"within {HEALTH_TIMEOUT:g} s", **base)) from exc
        except (httpx.HTTPError, ValueError) as exc:
            return Health(False, False, message=f"the OpenAI-compatible server at {self.url} is not reachable ({exc})",
                          **base)
        # Servers such as llama.cpp answer for any model name; do not refuse a name they do not list.
        return Health(True, True, models=models, message=f"{self.model} via {self.url}", **base)

    def context_window(self) -> int:
        return self.settings.num_ctx

    def _llm(self, temperature: float | None, max_tokens: int | None):  # noqa: ANN202
        from llama_index.llms.openai_like import OpenAILike

        key = (self.settings.temperature if temperature is None else temperature,
               max_tokens or self.settings.max_answer_tokens)
        with self._llms_lock:
            if key not in self._llms:
                self._llms[key] = OpenAILike(
                    model=self.model, api_base=self.url, api_key=self.settings.openai_api_key.get_secret_value(),
                    is_chat_model=True, context_window=self.settings.num_ctx, max_tokens=key[1],
                    temperature=key[0], timeout=self.settings.request_timeout, max_retries=0,
                )
            return self._llms[key]

    def explain(self, exc: Exception) -> LLMError:
        import openai

        if isinstance(exc, LLMError):
            return exc
        if isinstance(exc, openai.NotFoundError):
            return LLMError(f"model {self.model} is not served at {self.url}: check RAG_LLM_MODEL")
        if isinstance(exc, openai.APITimeoutError):
            return LLMError(f"the model at {self.url} did not answer within {self.settings.request_timeout:g} s; "
                            f"raise RAG_REQUEST_TIMEOUT or use a smaller model")
        if isinstance(exc, openai.APIConnectionError):
            return LLMError(f"the OpenAI-compatible server at {self.url} is not reachable: start it, "
                            f"or set RAG_OPENAI_BASE_URL")
        if isinstance(exc, openai.APIStatusError):
            return LLMError(f"the server at {self.url} answered an error ({exc.status_code}): {exc.message}")
        return _transport_error(exc, f"the server at {self.url}", "check that it is running", self.settings)


def _transport_error(exc: Exception, what: str, fix: str, settings: Settings) -> LLMError:
    if isinstance(exc, httpx.TimeoutException):
        return LLMError(f"{what} did not answer within {settings.request_timeout:g} s; "
                        f"raise RAG_REQUEST_TIMEOUT or use a smaller model")
    if isinstance(exc, httpx.RemoteProtocolError):
        return LLMError(f"{what} dropped the connection in the middle of the answer")
    if isinstance(exc, (ConnectionError, httpx.ConnectError)):
        return LLMError(f"{what} is not reachable: {fix}")
    if isinstance(exc, httpx.HTTPError):
        return LLMError(f"{what} failed: {exc}")
    return LLMError(f"{what} failed unexpectedly: {type(exc).__name__}: {exc}")


def _has_model(installed: Sequence[str], wanted: str) -> bool:
    tagged = wanted if ":" in wanted else f"{wanted}:latest"
    return wanted in installed or tagged in installed


def build_llm(settings: Settings, model: str | None = None) -> LLMBackend:
    """The backend the settings name."""
    if settings.llm_backend == "openai":
        return OpenAICompatibleBackend(settings, model)
    return OllamaBackend(settings, model)
