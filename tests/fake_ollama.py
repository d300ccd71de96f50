"""A small, protocol-faithful fake Ollama HTTP server for tests (standard library only).

The real ``ollama`` Python client and llama-index's ``Ollama`` LLM / ``OllamaEmbedding`` talk to it
unmodified: it speaks Ollama's wire format (NDJSON streaming over chunked HTTP/1.1, the same JSON
fields, statuses and error bodies as ``ollama serve``), so product code is exercised end to end
without an Ollama binary or a model.

Usage::

    from fake_ollama import FakeOllama

    with FakeOllama(models={"qwen2.5:3b": 32768}) as fake:
        fake.script("Paris is the capital [1].")            # next chat/generate reply (streamed in pieces)
        fake.script(lambda req: "translated" if "Translate" in FakeOllama.prompt_of(req) else "answer")
        llm = Ollama(model="qwen2.5:3b", base_url=fake.url, request_timeout=5, context_window=4096)
        ...
        assert fake.bodies("/api/chat")[0]["options"]["num_ctx"] == 4096

    # as a pytest fixture
    @pytest.fixture
    def fake():
        with FakeOllama() as f:
            yield f

Failure simulation (per scripted reply): ``delay`` (seconds before the first byte -> client read
timeout), ``chunk_delay`` (between stream lines), ``drop_after=N`` (send N stream lines then close the
connection without the final ``done`` line / without the chunked terminator; for a non-streamed request
the connection is closed before any response), ``stream_error`` (Ollama's in-stream ``{"error": ...}``
line), ``fail_status``/``fail_body`` (HTTP error instead of a reply). ``fail_next()`` makes the next
request(s) to any endpoint fail. ``stop()``/``start()`` take the server down and bring it back on the
same port.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import socket
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

__all__ = ["FakeOllama", "Reply", "DEFAULT_REPLY", "embed_text", "split_pieces"]

DEFAULT_REPLY = "This is a reply from the fake Ollama server."
DEFAULT_MODELS: dict[str, int] = {"qwen2.5:3b": 32768, "nomic-embed-text:latest": 2048}
DEFAULT_NUM_CTX = 4096  # what Ollama loads a model with when the request sets no num_ctx
MODIFIED_AT = "2025-09-18T10:15:42.123456789+02:00"  # Go's RFC3339Nano, as `ollama serve` sends it

ReplyText = str | list[str] | tuple[str, ...]
ReplyFn = Callable[[dict], ReplyText]


# --------------------------------------------------------------------------------------------------
# helpers usable on their own
# --------------------------------------------------------------------------------------------------


def split_pieces(text: str, max_piece: int = 12) -> list[str]:
    """Split a reply into small stream pieces like tokens: words with their trailing spaces kept
    (``"a b"`` -> ``["a ", "b"]``), long runs (e.g. CJK text without spaces) cut to ``max_piece``
    characters. ``"".join(pieces) == text``."""
    if not text:
        return []
    words = re.findall(r"\s*\S+\s*", text) or [text]
    pieces: list[str] = []
    for w in words:
        pieces.extend(w[i : i + max_piece] for i in range(0, len(w), max_piece))
    return pieces


def embed_text(text: str, dim: int = 384) -> list[float]:
    """Deterministic embedding: hashed bag of character trigrams (case-folded, whitespace-collapsed),
    L2-normalised, so texts sharing many trigrams get a high cosine similarity."""
    t = " " + " ".join(text.casefold().split()) + " "
    vec = [0.0] * dim
    grams = [t[i : i + 3] for i in range(len(t) - 2)] or [t]
    for g in grams:
        h = hashlib.blake2b(g.encode("utf-8"), digest_size=8).digest()
        vec[int.from_bytes(h[:4], "little") % dim] += 1.0
    return _normalize(vec)


def _normalize(vec: list[float]) -> list[float]:
    norm = math.sqrt(sum(v * v for v in vec))
    return [v / max(norm, 1e-12) for v in vec]


def _tokens(text: str) -> int:
    return max(1, len(text) // 4) if text else 0


def _now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f") + "Z"


def _canonical(name: str) -> str:
    """Ollama's default tag: ``qwen2.5`` is ``qwen2.5:latest``."""
    name = name.strip()
    return name if ":" in name.rsplit("/", 1)[-1] else f"{name}:latest"


def _guess_arch(name: str) -> str:
    n = name.lower()
    for prefix, arch in (
        ("qwen3", "qwen3"),
        ("qwen2.5vl", "qwen25vl"),
        ("qwen", "qwen2"),
        ("gemma3", "gemma3"),
        ("gemma2", "gemma2"),
        ("gemma", "gemma"),
        ("phi3", "phi3"),
        ("phi4", "phi3"),
        ("nomic-embed", "nomic-bert"),
        ("bge", "bert"),
        ("mxbai", "bert"),
        ("all-minilm", "bert"),
        ("snowflake-arctic-embed", "bert"),
        ("embeddinggemma", "gemma3"),
        ("granite", "granite"),
    ):
        if n.startswith(prefix):
            return arch
    return "llama"


def _is_embedding_name(name: str) -> bool:
    n = name.lower()
    return any(k in n for k in ("embed", "bge", "minilm", "e5", "gte"))


# --------------------------------------------------------------------------------------------------
# scripting
# --------------------------------------------------------------------------------------------------


@dataclass
class Reply:
    """One scripted model turn. ``text``: a string (streamed in pieces), a list of pieces (streamed as
    given), or a callable receiving the request JSON and returning either."""

    text: ReplyText | ReplyFn
    delay: float | None = None  # seconds before the first byte (None: the server's default)
    chunk_delay: float | None = None  # seconds between stream lines (None: the server's default)
    drop_after: int | None = None  # send N lines then close the connection abruptly
    stream_error: str | None = None  # Ollama's in-stream {"error": ...} line instead of the done line
    error_after: int | None = None  # ... after this many pieces (None: after all of them)
    fail_status: int | None = None  # answer with this HTTP status instead
    fail_body: Any = None  # dict -> JSON; str/bytes -> sent as is (text/plain)
    done_reason: str = "stop"  # e.g. "length" to simulate num_predict truncation


@dataclass
class _Failure:
    status: int
    body: Any
    path: str | None
    remaining: int


@dataclass
class _Model:
    name: str
    context_length: int
    arch: str
    capabilities: list[str]
    embedding_length: int | None
    parameter_size: str
    quantization_level: str
    size: int
    digest: str


# --------------------------------------------------------------------------------------------------
# the server
# --------------------------------------------------------------------------------------------------


class FakeOllama:
    """Fake ``ollama serve`` on 127.0.0.1 (ephemeral port unless ``port`` is given).

    models: ``{name: context_length}`` or ``{name: {"context_length": .., "arch": .., "capabilities":
        [..], "embedding_length": .., "parameter_size": .., "quantization_level": ..}}`` or a list
        of names. Names without a tag get ``:latest`` as in Ollama.
    default: reply used when the script queue is empty (str, list of pieces, or callable(request)).
    embed_dim: dimension of ``/api/embed`` vectors (per model: ``embedding_length``).
    delay / chunk_delay: defaults for scripted replies (seconds).
    not_found: ``"pull_hint"`` -> every endpoint answers an unknown model with 404
        ``model "X" not found, try pulling it first`` (Ollama's scheduler message);
        ``"short"`` -> newer Ollama's per-endpoint texts: ``model 'X' not found`` on chat, generate,
        show, and the pull hint on embed.
    """

    def __init__(
        self,
        models: Mapping[str, Any] | Iterable[str] | None = None,
        *,
        default: ReplyText | ReplyFn | None = DEFAULT_REPLY,
        embed_dim: int = 384,
        delay: float = 0.0,
        chunk_delay: float = 0.0,
        host: str = "127.0.0.1",
        port: int = 0,
        version: str = "0.12.0",
        not_found: str = "pull_hint",
    ) -> None:
        if not_found not in ("pull_hint", "short"):
            raise ValueError("not_found must be 'pull_hint' or 'short'")
        self.default = default
        self.embed_dim = embed_dim
        self.delay = delay
        self.chunk_delay = chunk_delay
        self.version = version
        self.not_found = not_found
        self.models: dict[str, _Model] = {}
        for name, spec in self._model_items(DEFAULT_MODELS if models is None else models):
            self.add_model(name, spec)

        self.requests: list[tuple[str, Any]] = []  # (path, parsed JSON body | None | raw text if bad)
        self.errors: list[BaseException] = []  # exceptions raised by reply callables
        self.loaded: dict[str, int] = {}  # model -> num_ctx it was last "loaded" with (for /api/ps)

        self._host = host
        self._port = port
        self._lock = threading.Lock()
        self._queue: deque[Reply] = deque()
        self._failures: list[_Failure] = []
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()
        self._conns: set[socket.socket] = set()

    # ---------------------------------------------------------------- lifecycle

    @property
    def port(self) -> int:
        return self._port

    @property
    def host(self) -> str:
        """``127.0.0.1:PORT`` (the form OLLAMA_HOST takes)."""
        return f"{self._host}:{self._port}"

    @property
    def url(self) -> str:
        """``http://127.0.0.1:PORT`` (for ``ollama.Client(host=...)`` / ``Ollama(base_url=...)``)."""
        return f"http://{self._host}:{self._port}"

    @property
    def running(self) -> bool:
        return self._server is not None

    def start(self) -> FakeOllama:
        """Start serving (again on the same port after ``stop()``). Idempotent."""
        if self._server is not None:
            return self
        self._stopping = threading.Event()
        server = _Server((self._host, self._port), _Handler)
        server.fake = self
        self._port = server.server_address[1]
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.02},
            name=f"fake-ollama-{self._port}",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Simulate Ollama going down: stop listening (new connections are refused) and cut every
        open connection, including streams in progress and idle keep-alive ones. Idempotent."""
        server = self._server
        if server is None:
            return
        with self._lock:
            self._server = None
            self._stopping.set()
            conns = list(self._conns)
        server.shutdown()
        server.server_close()
        for conn in conns:
            _hard_close(conn)
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> FakeOllama:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    # ---------------------------------------------------------------- scripting API

    def script(
        self,
        *replies: ReplyText | ReplyFn | Reply,
        delay: float | None = None,
        chunk_delay: float | None = None,
        drop_after: int | None = None,
        stream_error: str | None = None,
        error_after: int | None = None,
        fail_status: int | None = None,
        fail_body: Any = None,
        done_reason: str = "stop",
    ) -> FakeOllama:
        """Queue replies consumed in order by /api/chat and /api/generate (one per request). The
        keyword options apply to each reply queued by this call. ``script(fail_status=500)`` with no
        reply queues a single failing turn. Returns self."""
        if not replies and fail_status is not None:
            replies = ("",)
        with self._lock:
            for r in replies:
                if not isinstance(r, Reply):
                    r = Reply(
                        r,
                        delay,
                        chunk_delay,
                        drop_after,
                        stream_error,
                        error_after,
                        fail_status,
                        fail_body,
                        done_reason,
                    )
                self._queue.append(r)
        return self

    def fail_next(
        self, status: int = 500, body: Any = None, *, path: str | None = None, times: int = 1
    ) -> FakeOllama:
        """The next ``times`` requests (to ``path`` only, if given, e.g. "/api/embed") get ``status``
        with ``body`` (default ``{"error": "fake failure"}``; a str/bytes body is sent as text/plain,
        like a proxy's error page). Scripted replies are not consumed."""
        with self._lock:
            self._failures.append(_Failure(status, body, path, times))
        return self

    def add_model(self, name: str, spec: int | Mapping[str, Any] | None = None) -> None:
        """Install a model (as if pulled). ``spec``: context length or a dict (see class doc)."""
        name = _canonical(name)
        spec = {"context_length": spec} if isinstance(spec, int) else dict(spec or {})
        emb = _is_embedding_name(name)
        m = re.search(r":(\d+(?:\.\d+)?)([bm])", name.lower())
        default_psize = f"{m.group(1)}{m.group(2).upper()}" if m else ("137M" if emb else "3.1B")
        digest = hashlib.sha256(name.encode()).hexdigest()
        default_caps = ["embedding"] if emb else ["completion", "tools"]
        self.models[name] = _Model(
            name=name,
            context_length=int(spec.get("context_length", 2048 if emb else 32768)),
            arch=spec.get("arch") or _guess_arch(name.split("/")[-1]),
            capabilities=list(spec.get("capabilities") or default_caps),
            embedding_length=spec.get("embedding_length"),
            parameter_size=spec.get("parameter_size", default_psize),
            quantization_level=spec.get("quantization_level", "F16" if emb else "Q4_K_M"),
            size=int(spec.get("size", 274_302_450 if emb else 1_929_912_432)),
            digest=digest,
        )

    def remove_model(self, name: str) -> None:
        """Delete a model (as if ``ollama rm``): later requests for it get 404."""
        self.models.pop(_canonical(name), None)
        self.loaded.pop(_canonical(name), None)

    def reset(self) -> None:
        """Forget scripted replies, pending failures, recorded requests and errors (for a server
        shared by several tests)."""
        with self._lock:
            self._queue.clear()
            self._failures.clear()
            self.requests.clear()
            self.errors.clear()
            self.loaded.clear()

    @property
    def pending(self) -> int:
        """Number of scripted replies not consumed yet."""
        with self._lock:
            return len(self._queue)

    def bodies(self, path: str) -> list[Any]:
        """Bodies of the recorded requests to ``path`` (e.g. "/api/chat"), in order."""
        with self._lock:
            return [b for p, b in self.requests if p == path]

    def last(self, path: str) -> Any:
        """Body of the last recorded request to ``path`` (IndexError if none)."""
        return self.bodies(path)[-1]

    @staticmethod
    def prompt_of(request: Mapping[str, Any]) -> str:
        """All the text a chat/generate request gives the model (system + messages, or system +
        prompt), for reply callables and assertions."""
        if "messages" in request:
            return "\n".join(str(m.get("content") or "") for m in request.get("messages") or [])
        return "\n".join(s for s in (request.get("system") or "", request.get("prompt") or "") if s)

    @staticmethod
    def last_user_message(request: Mapping[str, Any]) -> str:
        """Content of the last user message of a chat request (the prompt of a generate request)."""
        for m in reversed(request.get("messages") or []):
            if m.get("role") == "user":
                return str(m.get("content") or "")
        return str(request.get("prompt") or "")

    # ---------------------------------------------------------------- internals

    @staticmethod
    def _model_items(models: Mapping[str, Any] | Iterable[str]) -> list[tuple[str, Any]]:
        if isinstance(models, Mapping):
            return list(models.items())
        return [(m, None) for m in models]

    def _track(self, conn: socket.socket, add: bool) -> None:
        with self._lock:
            if not add:
                self._conns.discard(conn)
                return
            self._conns.add(conn)
            down = self._stopping.is_set()
        if down:  # accepted just as stop() ran: this server is down
            _hard_close(conn)

    def _record(self, path: str, body: Any) -> None:
        with self._lock:
            self.requests.append((path, body))

    def _take_failure(self, path: str) -> _Failure | None:
        with self._lock:
            for f in self._failures:
                if f.path is None or f.path == path:
                    f.remaining -= 1
                    if f.remaining <= 0:
                        self._failures.remove(f)
                    return f
        return None

    def _next_reply(self) -> Reply:
        with self._lock:
            if self._queue:
                return self._queue.popleft()
        return Reply(self.default if self.default is not None else DEFAULT_REPLY)

    def _lookup(self, name: Any) -> _Model | None:
        if not isinstance(name, str) or not name.strip():
            return None
        return self.models.get(_canonical(name))

    def _not_found(self, endpoint: str, name: str) -> str:
        if self.not_found == "short" and endpoint in ("chat", "generate", "show"):
            return f"model '{name}' not found"
        return f"model {json.dumps(name)} not found, try pulling it first"

    def _sleep(self, seconds: float | None) -> bool:
        """Sleep unless the server is stopped meanwhile; False if it was."""
        if seconds:
            return not self._stopping.wait(seconds)
        return not self._stopping.is_set()


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    fake: FakeOllama

    def handle_error(self, request: Any, client_address: Any) -> None:  # quiet on cut connections
        import sys

        if isinstance(sys.exc_info()[1], OSError):
            return
        super().handle_error(request, client_address)


def _hard_close(conn: socket.socket) -> None:
    try:
        conn.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass


class _Dropped(Exception):
    """Raised inside the handler to abandon a response (connection already cut)."""


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    # ---------------------------------------------------------------- plumbing

    def setup(self) -> None:
        super().setup()
        # like Go's net/http: no Nagle, or header + body writes cost a delayed-ACK round (~40 ms)
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.server.fake._track(self.connection, True)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.server.fake._track(self.connection, False)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - silence the access log
        pass

    def send_response(self, code: int, message: str | None = None) -> None:
        # Go's net/http sends Date but no Server header
        self.log_request(code)
        self.send_response_only(code, message)
        self.send_header("Date", self.date_time_string())

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_HEAD(self) -> None:
        self._dispatch("HEAD")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def do_DELETE(self) -> None:
        self._dispatch("DELETE")

    def do_PUT(self) -> None:
        self._dispatch("PUT")

    @property
    def fake(self) -> FakeOllama:
        return self.server.fake

    def _read_body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            out = b""
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return out
                out += self.rfile.read(size)
                self.rfile.readline()
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n else b""

    def _send_bytes(self, status: int, data: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def _send_json(self, status: int, obj: Any) -> None:
        data = json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        self._send_bytes(status, data, "application/json; charset=utf-8")

    def _send_error_body(self, status: int, body: Any) -> None:
        if body is None:
            body = {"error": "fake failure"}
        if isinstance(body, (dict, list)):
            self._send_json(status, body)
        else:
            data = body if isinstance(body, bytes) else str(body).encode("utf-8")
            self._send_bytes(status, data, "text/plain; charset=utf-8")

    def _error(self, status: int, message: str) -> None:
        self._send_json(status, {"error": message})

    def _start_stream(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "application/x-ndjson")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        self.wfile.flush()

    def _stream_line(self, obj: Any) -> None:
        data = json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode("utf-8") + b"\n"
        self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
        self.wfile.flush()

    def _end_stream(self) -> None:
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()

    def _drop(self) -> None:
        """Close the connection abruptly (FIN, no final chunk / no response)."""
        try:
            self.wfile.flush()
        except OSError:
            pass
        _hard_close(self.connection)
        self.close_connection = True
        raise _Dropped

    # ---------------------------------------------------------------- routing

    def _dispatch(self, method: str) -> None:
        path = self.path.split("?", 1)[0]
        fake = self.fake
        try:
            raw = self._read_body() if method in ("POST", "PUT", "DELETE") else b""
            body: Any = None
            parse_error: str | None = None
            if raw:
                text = raw.decode("utf-8", errors="replace")
                try:
                    body = json.loads(text)
                except json.JSONDecodeError as e:
                    body = text
                    parse_error = (
                        "unexpected EOF"
                        if e.pos >= len(text.rstrip())
                        else f"invalid character {text[e.pos]!r} looking for beginning of value"
                    )
            fake._record(path, body)

            failure = fake._take_failure(path)
            if failure is not None:
                self._send_error_body(failure.status, failure.body)
                return

            if path == "/" and method in ("GET", "HEAD"):
                self._send_bytes(200, b"Ollama is running", "text/plain; charset=utf-8")
                return
            if path == "/api/version" and method in ("GET", "HEAD"):
                self._send_json(200, {"version": fake.version})
                return
            if path == "/api/tags" and method in ("GET", "HEAD"):
                self._send_json(200, self._tags())
                return
            if path == "/api/ps" and method in ("GET", "HEAD"):
                self._send_json(200, self._ps())
                return

            handlers = {
                "/api/chat": self._chat,
                "/api/generate": self._generate,
                "/api/show": self._show,
                "/api/embed": self._embed,
                "/api/embeddings": self._embeddings,
            }
            handler = handlers.get(path)
            if handler is None or method != "POST":
                # gin's default for unknown routes and wrong methods
                self._send_bytes(404, b"404 page not found", "text/plain")
                return
            if not raw:
                self._error(400, "missing request body")
                return
            if parse_error is not None:
                self._error(400, parse_error)
                return
            if not isinstance(body, dict):
                kind = {list: "array", str: "string", int: "number", float: "number", bool: "bool"}.get(
                    type(body), "value"
                )
                target = {"/api/chat": "ChatRequest", "/api/generate": "GenerateRequest"}.get(path, "Request")
                self._error(400, f"json: cannot unmarshal {kind} into Go value of type api.{target}")
                return
            handler(body)
        except _Dropped:
            return
        except OSError:  # client went away / server stopped
            self.close_connection = True

    # ---------------------------------------------------------------- GET endpoints

    def _details(self, m: _Model) -> dict:
        return {
            "parent_model": "",
            "format": "gguf",
            "family": m.arch,
            "families": [m.arch],
            "parameter_size": m.parameter_size,
            "quantization_level": m.quantization_level,
        }

    def _tags(self) -> dict:
        return {
            "models": [
                {
                    "name": m.name,
                    "model": m.name,
                    "modified_at": MODIFIED_AT,
                    "size": m.size,
                    "digest": m.digest,
                    "details": self._details(m),
                }
                for m in self.fake.models.values()
            ]
        }

    def _ps(self) -> dict:
        fake = self.fake
        expires = (datetime.now(timezone.utc) + timedelta(minutes=5)).isoformat()
        models = []
        for name, num_ctx in list(fake.loaded.items()):
            m = fake.models.get(name)
            if m is None:
                continue
            models.append(
                {
                    "name": m.name,
                    "model": m.name,
                    "size": m.size,
                    "digest": m.digest,
                    "details": self._details(m),
                    "expires_at": expires,
                    "size_vram": m.size,
                    "context_length": num_ctx,
                }
            )
        return {"models": models}

    # ---------------------------------------------------------------- POST endpoints

    def _show(self, req: dict) -> None:
        fake = self.fake
        name = req.get("model") or req.get("name") or ""
        if not name:
            self._error(400, "model is required")
            return
        m = fake._lookup(name)
        if m is None:
            self._error(404, fake._not_found("show", name))
            return
        emb_len = m.embedding_length or (fake.embed_dim if "embedding" in m.capabilities else 2048)
        a = m.arch
        model_info = {
            "general.architecture": a,
            "general.basename": m.name.split(":")[0],
            "general.file_type": 15,
            "general.parameter_count": 3_085_938_688,
            "general.quantization_version": 2,
            f"{a}.attention.head_count": 16,
            f"{a}.attention.head_count_kv": 2,
            f"{a}.block_count": 36,
            f"{a}.context_length": m.context_length,
            f"{a}.embedding_length": emb_len,
            f"{a}.feed_forward_length": 11008,
            "tokenizer.ggml.model": "gpt2",
        }
        if "embedding" in m.capabilities:
            template, parameters = "{{ .Prompt }}", f"num_ctx                        {m.context_length}"
        else:
            template = (
                "{{- if .System }}<|im_start|>system\n{{ .System }}<|im_end|>\n{{ end }}"
                "{{- range .Messages }}<|im_start|>{{ .Role }}\n{{ .Content }}<|im_end|>\n{{ end }}"
                "<|im_start|>assistant\n"
            )
            stop = "stop" + " " * 27
            parameters = f'{stop}"<|im_start|>"\n{stop}"<|im_end|>"'
        self._send_json(
            200,
            {
                "license": "Apache License 2.0",
                "modelfile": f'# Modelfile generated by "ollama show"\n# FROM {m.name}\n\nFROM {m.name}\n',
                "parameters": parameters,
                "template": template,
                "details": self._details(m),
                "model_info": model_info,
                "tensors": [],
                "capabilities": m.capabilities,
                "modified_at": MODIFIED_AT,
            },
        )

    def _embed(self, req: dict) -> None:
        fake = self.fake
        started = time.monotonic_ns()
        inp = req.get("input")
        if isinstance(inp, str):
            texts = [inp] if inp else []
        elif isinstance(inp, list):
            if not all(isinstance(t, str) for t in inp):
                self._error(400, "invalid input type")
                return
            texts = inp
        elif inp is None:
            texts = []
        else:
            self._error(400, "invalid input type")
            return
        name = req.get("model") or ""
        if not name:
            self._error(400, "model is required")
            return
        m = fake._lookup(name)
        if m is None:
            self._error(404, fake._not_found("embed", name))
            return
        fake.loaded[m.name] = int((req.get("options") or {}).get("num_ctx") or m.context_length)
        if not texts:
            self._send_json(200, {"model": name, "embeddings": []})
            return
        dim = m.embedding_length or fake.embed_dim
        vecs = [embed_text(t, dim) for t in texts]
        dims = req.get("dimensions")
        if isinstance(dims, int) and 0 < dims < dim:
            vecs = [_normalize(v[:dims]) for v in vecs]
        self._send_json(
            200,
            {
                "model": name,
                "embeddings": vecs,
                "total_duration": time.monotonic_ns() - started + 1_000_000,
                "load_duration": 500_000,
                "prompt_eval_count": sum(_tokens(t) for t in texts),
            },
        )

    def _embeddings(self, req: dict) -> None:  # legacy /api/embeddings
        fake = self.fake
        name = req.get("model") or ""
        if not name:
            self._error(400, "model is required")
            return
        m = fake._lookup(name)
        if m is None:
            self._error(404, fake._not_found("embed", name))
            return
        prompt = req.get("prompt") or ""
        vec = embed_text(prompt, m.embedding_length or fake.embed_dim) if prompt else []
        self._send_json(200, {"embedding": vec})

    def _chat(self, req: dict) -> None:
        self._complete(req, "chat")

    def _generate(self, req: dict) -> None:
        self._complete(req, "generate")

    def _complete(self, req: dict, kind: str) -> None:
        fake = self.fake
        started = time.monotonic_ns()
        name = req.get("model") or ""
        if not name:
            if kind == "chat":
                self._error(400, "model is required")
            else:
                self._error(404, "model '' not found")
            return
        m = fake._lookup(name)
        if m is None:
            self._error(404, fake._not_found(kind, name))
            return
        if "completion" not in m.capabilities:
            self._error(400, f"{json.dumps(name)} does not support {kind}")
            return
        stream = req.get("stream", True) is not False  # Ollama streams unless told otherwise
        options = req.get("options") or {}
        empty = not req.get("messages") if kind == "chat" else not req.get("prompt")
        if empty:  # a load / unload request: no model output, no scripted reply consumed
            keep_alive = req.get("keep_alive")
            reason = "unload" if keep_alive in (0, "0", "0s", "0m") else "load"
            if reason == "load":
                fake.loaded[m.name] = int(options.get("num_ctx") or DEFAULT_NUM_CTX)
            else:
                fake.loaded.pop(m.name, None)
            out = {"model": name, "created_at": _now()}
            if kind == "chat":
                out["message"] = {"role": "assistant", "content": ""}
            else:
                out["response"] = ""

            out.update({"done": True, "done_reason": reason})
            self._send_json(200, out)
            return

        reply = fake._next_reply()
        delay = fake.delay if reply.delay is None else reply.delay
        chunk_delay = fake.chunk_delay if reply.chunk_delay is None else reply.chunk_delay
        if not fake._sleep(delay):
            self._drop()
        if reply.fail_status is not None:
            self._send_error_body(reply.fail_status, reply.fail_body)
            return

        text: Any = reply.text
        if callable(text):
            try:
                text = text(req)
            except Exception as e:  # surface the bug to the test, answer like a crashed runner
                fake.errors.append(e)
                self._error(500, f"fake ollama: reply callable raised {e!r}")
                return
        pieces = split_pieces(text) if isinstance(text, str) else [str(p) for p in text]
        full = "".join(pieces)
        fake.loaded[m.name] = int(options.get("num_ctx") or DEFAULT_NUM_CTX)

        prompt_tokens = _tokens(FakeOllama.prompt_of(req)) + 10

        def line(piece: str) -> dict:
            out: dict[str, Any] = {"model": name, "created_at": _now()}
            if kind == "chat":
                out["message"] = {"role": "assistant", "content": piece}
            else:
                out["response"] = piece
            return out

        def done_line(content: str) -> dict:
            out = line(content)
            eval_ns = max(1, len(pieces)) * 20_000_000
            out.update(
                {
                    "done": True,
                    "done_reason": reply.done_reason,
                    "total_duration": time.monotonic_ns() - started + eval_ns,
                    "load_duration": 5_000_000,
                    "prompt_eval_count": prompt_tokens,
                    "prompt_eval_duration": prompt_tokens * 1_000_000,
                    "eval_count": len(pieces),
                    "eval_duration": eval_ns,
                }
            )
            if kind == "generate" and not req.get("raw"):
                out["context"] = list(range(1, min(prompt_tokens + len(pieces), 64) + 1))
            return out

        if not stream:
            if reply.drop_after is not None:  # connection dies before any response
                self._drop()
            for _ in pieces:
                if not fake._sleep(chunk_delay):
                    self._drop()
            if reply.stream_error is not None:
                self._error(500, reply.stream_error)
                return
            self._send_json(200, done_line(full))
            return

        self._start_stream()
        sent = 0
        for i, piece in enumerate(pieces):
            if reply.drop_after is not None and sent >= reply.drop_after:
                self._drop()
            if reply.stream_error is not None and reply.error_after is not None and i >= reply.error_after:
                break
            if i and not fake._sleep(chunk_delay):
                self._drop()
            out = line(piece)
            out["done"] = False
            self._stream_line(out)
            sent += 1
        if reply.drop_after is not None and sent >= reply.drop_after:
            self._drop()
        if reply.stream_error is not None:
            self._stream_line({"error": reply.stream_error})
        else:
            if pieces and not fake._sleep(chunk_delay):
                self._drop()
            self._stream_line(done_line(""))
        self._end_stream()
