"""A small fake of ``ollama serve`` for tests (standard library only), speaking the HTTP protocol.

It serves exactly what the product calls through the real ``ollama`` client and llama-index's
``Ollama``: ``/api/chat`` (NDJSON streaming over chunked HTTP/1.1, or one JSON object), ``/api/tags``,
``/api/show`` and ``/api/version``, with Ollama's error bodies. Failure switches: ``delay`` before the
first byte (client timeouts), ``drop_after`` (the connection cut mid-stream), ``stream_error`` (Ollama's
in-stream ``{"error": ...}`` line), ``fail_status`` (an HTTP error), ``stop()``/``start()`` (Ollama going
down and coming back on the same port).

``cpu=CpuModel()`` simulates a CPU-bound model: prompt reading at 50 tokens/s for the part of the
prompt not shared with the previous request (Ollama's prefix cache), 12 generated tokens/s, one
request at a time (tokens = UTF-8 bytes / 4). ``benchmarks/answer_latency.py`` measures against it.

    with FakeOllama(models={"qwen2.5:3b": 32768}) as fake:
        fake.script("Lavrov met Kim in Wonsan [1].")      # the next chat reply, streamed in pieces
        ...
        assert fake.last("/api/chat")["options"]["num_ctx"] == 4096
"""

from __future__ import annotations

import json
import re
import socket
import threading
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

__all__ = ["EVIDENCE_LINE", "CpuModel", "FakeOllama", "Reply", "grounded_reply", "prompt_tokens", "split_pieces"]

DEFAULT_REPLY = "This is a reply from the fake Ollama server."
# One numbered evidence line of the product's answer prompt: "[n] (source, Language) sentence".
EVIDENCE_LINE = re.compile(r"^\[(\d+)\] \([^)\n]*\) (.+)$", re.M)
_WORD = re.compile(r"\w{3,}")

ReplyText = str | list[str] | tuple[str, ...]
ReplyFn = Callable[[dict], ReplyText]


def split_pieces(text: str, max_piece: int = 12) -> list[str]:
    """A reply cut into token-like stream pieces (words with their spaces); ``"".join`` restores it."""
    pieces: list[str] = []
    for w in re.findall(r"\s*\S+\s*", text) or ([text] if text else []):
        pieces.extend(w[i : i + max_piece] for i in range(0, len(w), max_piece))
    return pieces


def prompt_tokens(text: str) -> int:
    """The token count the CPU model charges: UTF-8 bytes / 4."""
    return len(text.encode("utf-8")) // 4


def _canonical(name: str) -> str:
    """Ollama's default tag: ``qwen2.5`` is ``qwen2.5:latest``."""
    name = name.strip()
    return name if ":" in name.rsplit("/", 1)[-1] else f"{name}:latest"


def _templated(request: Mapping[str, Any]) -> str:
    """The text the model reads, as a chat template lays it out (roles, then contents, in order)."""
    return "".join(f"<|{m.get('role')}|>{m.get('content') or ''}\n" for m in request.get("messages") or [])


@dataclass
class CpuModel:
    """Timing of a small model on a laptop CPU. ``log`` records (prompt tokens, cached tokens, reply tokens)."""

    prompt_tps: float = 50.0
    generate_tps: float = 12.0

    def __post_init__(self) -> None:
        self.busy = threading.Lock()  # one request at a time, as Ollama runs one model slot
        self.cached = ""  # the prompt of the previous request: its shared prefix costs nothing
        self.log: list[tuple[int, int, int]] = []

    def read_prompt(self, prompt: str) -> float:
        """Seconds to read ``prompt`` after the previous one; remembers it for the next request."""
        shared = 0
        for a, b in zip(prompt, self.cached):
            if a != b:
                break
            shared += 1
        total, cached = prompt_tokens(prompt), prompt_tokens(prompt[:shared])
        self.cached = prompt
        self.log.append((total, cached, 0))
        return (total - cached) / self.prompt_tps

    def token_seconds(self, piece: str) -> float:
        return max(1, prompt_tokens(piece)) / self.generate_tps


@dataclass
class Reply:
    """One scripted model turn: text (streamed in pieces), a list of pieces, or a callable(request)."""

    text: ReplyText | ReplyFn
    delay: float | None = None  # seconds before the first byte (None: the server's default)
    chunk_delay: float | None = None  # seconds between stream lines (None: the server's default)
    drop_after: int | None = None  # send N lines, then cut the connection
    stream_error: str | None = None  # Ollama's in-stream {"error": ...} line instead of the done line
    fail_status: int | None = None  # answer with this HTTP status instead
    fail_body: Any = None  # dict -> JSON; str -> text/plain, like a proxy's error page
    done_reason: str = "stop"


class FakeOllama:
    """Fake ``ollama serve`` on 127.0.0.1 (a free port unless ``port`` is given).

    ``models``: ``{name: context_length}`` or a list of names; ``default``: the reply when nothing is
    scripted; ``delay``/``chunk_delay``: defaults of scripted replies; ``cpu``: a ``CpuModel``.
    """

    def __init__(
        self,
        models: Mapping[str, int] | Iterable[str] | None = None,
        *,
        default: ReplyText | ReplyFn | None = DEFAULT_REPLY,
        delay: float = 0.0,
        chunk_delay: float = 0.0,
        cpu: CpuModel | None = None,
        port: int = 0,
    ) -> None:
        self.default = default
        self.delay = delay
        self.chunk_delay = chunk_delay
        self.cpu = cpu
        self.models: dict[str, int] = {}
        items = models.items() if isinstance(models, Mapping) else [(m, 32768) for m in models or ["qwen2.5:3b"]]
        for name, ctx in items:
            self.add_model(name, ctx)
        self.requests: list[tuple[str, Any]] = []  # (path, JSON body or None)
        self.errors: list[BaseException] = []  # exceptions raised by reply callables
        self._port = port
        self._lock = threading.Lock()
        self._queue: deque[Reply] = deque()
        self._server: _Server | None = None
        self._stopping = threading.Event()
        self._conns: set[socket.socket] = set()

    # -- lifecycle -----------------------------------------------------------------------------------

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._port}"

    def start(self) -> FakeOllama:
        """Serve (again on the same port after ``stop()``)."""
        if self._server is None:
            self._stopping = threading.Event()
            self._server = _Server(("127.0.0.1", self._port), _Handler)
            self._server.fake = self
            self._port = self._server.server_address[1]
            threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True).start()
        return self

    def stop(self) -> None:
        """Ollama goes down: new connections are refused and open ones (streams too) are cut."""
        server, self._server = self._server, None
        if server is None:
            return
        with self._lock:
            self._stopping.set()
            conns = list(self._conns)
        server.shutdown()
        server.server_close()
        for conn in conns:
            _cut(conn)

    def __enter__(self) -> FakeOllama:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- scripting and inspection ---------------------------------------------------------------------

    def script(self, *replies: ReplyText | ReplyFn | Reply, **options: Any) -> FakeOllama:
        """Queue replies for the next chat requests, one each; ``options`` are ``Reply`` fields."""
        if not replies and options.get("fail_status") is not None:
            replies = ("",)
        with self._lock:
            self._queue.extend(r if isinstance(r, Reply) else Reply(r, **options) for r in replies)
        return self

    def add_model(self, name: str, context_length: int = 32768) -> None:
        self.models[_canonical(name)] = int(context_length)

    def remove_model(self, name: str) -> None:
        self.models.pop(_canonical(name), None)

    def bodies(self, path: str) -> list[Any]:
        """The JSON bodies of the requests to ``path`` (e.g. "/api/chat"), in order."""
        with self._lock:
            return [b for p, b in self.requests if p == path]

    def last(self, path: str) -> Any:
        return self.bodies(path)[-1]

    @staticmethod
    def prompt_of(request: Mapping[str, Any]) -> str:
        """All the text a chat request gives the model."""
        return "\n".join(str(m.get("content") or "") for m in request.get("messages") or [])

    @staticmethod
    def last_user_message(request: Mapping[str, Any]) -> str:
        return next((str(m.get("content") or "") for m in reversed(request.get("messages") or [])
                     if m.get("role") == "user"), "")

    # -- internals -----------------------------------------------------------------------------------

    def _next_reply(self) -> Reply:
        with self._lock:
            if self._queue:
                return self._queue.popleft()
        return Reply(self.default if self.default is not None else DEFAULT_REPLY)

    def _wait(self, seconds: float | None) -> bool:
        """Sleep; False when the server was stopped meanwhile."""
        return not self._stopping.wait(seconds) if seconds else not self._stopping.is_set()

    def _track(self, conn: socket.socket, add: bool) -> None:
        with self._lock:
            if add:
                self._conns.add(conn)
            else:
                self._conns.discard(conn)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    fake: FakeOllama

    def handle_error(self, request: Any, client_address: Any) -> None:  # cut connections are expected
        import sys

        if not isinstance(sys.exc_info()[1], OSError):
            super().handle_error(request, client_address)


def _cut(conn: socket.socket) -> None:
    try:
        conn.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass


class _Dropped(Exception):
    """The response was abandoned: the connection is already cut."""


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def setup(self) -> None:
        super().setup()
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # as Go's net/http
        self.server.fake._track(self.connection, True)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.server.fake._track(self.connection, False)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - no access log
        pass

    def do_GET(self) -> None:
        self._dispatch(None)

    def do_POST(self) -> None:
        n = int(self.headers.get("Content-Length") or 0)
        try:
            body = json.loads(self.rfile.read(n) or b"null")
        except json.JSONDecodeError:
            body = None
        self._dispatch(body)

    def _dispatch(self, body: Any) -> None:
        fake, path = self.server.fake, self.path.split("?", 1)[0]
        with fake._lock:
            fake.requests.append((path, body))
        try:
            if path == "/api/version":
                self._json(200, {"version": "0.12.0"})
            elif path == "/api/tags":
                self._json(200, {"models": [{"name": n, "model": n, "modified_at": "2025-09-18T10:15:42Z",
                                             "size": 1_929_912_432, "digest": "0" * 64, "details": {}}
                                            for n in fake.models]})
            elif path in ("/api/show", "/api/chat") and self.command == "POST":
                if not isinstance(body, dict) or not body.get("model"):
                    self._json(400, {"error": "model is required"})
                elif _canonical(body["model"]) not in fake.models:
                    self._json(404, {"error": f"model {json.dumps(body['model'])} not found, try pulling it first"})
                elif path == "/api/show":
                    ctx = fake.models[_canonical(body["model"])]
                    self._json(200, {"details": {"family": "qwen2"}, "capabilities": ["completion"],
                                     "model_info": {"general.architecture": "qwen2", "qwen2.context_length": ctx}})
                else:
                    self._chat(body)
            else:
                self._send(404, b"404 page not found", "text/plain")
        except _Dropped:
            pass
        except OSError:  # the client went away, or the server stopped
            self.close_connection = True

    def _send(self, status: int, data: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _json(self, status: int, obj: Any) -> None:
        self._send(status, json.dumps(obj, ensure_ascii=False).encode("utf-8"), "application/json; charset=utf-8")

    def _line(self, obj: Any) -> None:
        data = json.dumps(obj, ensure_ascii=False).encode("utf-8") + b"\n"
        self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
        self.wfile.flush()

    def _drop(self) -> None:
        _cut(self.connection)
        self.close_connection = True
        raise _Dropped

    def _chat(self, req: dict) -> None:
        fake = self.server.fake
        if not req.get("messages"):  # a load/unload request: no output, no scripted reply consumed
            self._json(200, {"model": req["model"], "message": {"role": "assistant", "content": ""},
                             "done": True, "done_reason": "load"})
            return
        reply = fake._next_reply()
        if not fake._wait(fake.delay if reply.delay is None else reply.delay):
            self._drop()
        if reply.fail_status is not None:
            body = reply.fail_body if reply.fail_body is not None else {"error": "fake failure"}
            if isinstance(body, dict):
                self._json(reply.fail_status, body)
            else:
                self._send(reply.fail_status, str(body).encode("utf-8"), "text/plain; charset=utf-8")
            return
        text: Any = reply.text
        if callable(text):
            try:
                text = text(req)
            except Exception as exc:  # surface the test's bug, answer like a crashed runner
                fake.errors.append(exc)
                self._json(500, {"error": f"fake ollama: reply callable raised {exc!r}"})
                return
        pieces = split_pieces(text) if isinstance(text, str) else [str(p) for p in text]
        gap = fake.chunk_delay if reply.chunk_delay is None else reply.chunk_delay
        cpu = fake.cpu
        if cpu is not None:
            cpu.busy.acquire()  # released in finally: one request at a time
        try:
            if cpu is not None and not fake._wait(cpu.read_prompt(_templated(req))):
                self._drop()
            self._reply(req, reply, pieces, gap)
        finally:
            if cpu is not None:
                cpu.busy.release()

    def _reply(self, req: dict, reply: Reply, pieces: list[str], gap: float) -> None:
        fake, cpu = self.server.fake, self.server.fake.cpu
        message = lambda text: {"model": req["model"], "message": {"role": "assistant", "content": text}}  # noqa: E731
        done = {"done": True, "done_reason": reply.done_reason,
                "prompt_eval_count": prompt_tokens(_templated(req)), "eval_count": len(pieces)}
        if cpu is not None:  # the reply's tokens, as generated
            cpu.log[-1] = (*cpu.log[-1][:2], sum(max(1, prompt_tokens(p)) for p in pieces))
        if req.get("stream", True) is False:
            if reply.drop_after is not None or not fake._wait(sum(map(cpu.token_seconds, pieces)) if cpu else 0):
                self._drop()
            if reply.stream_error is not None:
                self._json(500, {"error": reply.stream_error})
            else:
                self._json(200, {**message("".join(pieces)), **done})
            return
        self.send_response(200)
        self.send_header("Content-Type", "application/x-ndjson")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        for i, piece in enumerate(pieces):
            if reply.drop_after is not None and i >= reply.drop_after:
                self._drop()
            wait = gap + (cpu.token_seconds(piece) if cpu is not None else 0.0)
            if (i or cpu is not None) and not fake._wait(wait):
                self._drop()
            self._line({**message(piece), "done": False})
        if reply.drop_after is not None:
            self._drop()
        self._line({"error": reply.stream_error} if reply.stream_error is not None else {**message(""), **done})
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()


def _words(text: str) -> set[str]:
    return {w.casefold() for w in _WORD.findall(text)}


def grounded_reply(request: Mapping[str, Any]) -> str | list[str]:
    """A grounded small model: translations as JSON; an answer is the evidence sentence sharing most words
    with the question (then the longest), with its marker; asked again in another language (the language
    repair), the same sentence (a model that cannot translate)."""
    prompt = FakeOllama.prompt_of(request)
    if "Translate this question" in prompt:
        codes = re.findall(r'"([a-z]{2})" \(', prompt)
        question = prompt.rsplit("Question:", 1)[1].strip()
        return [json.dumps({c: question for c in codes}, ensure_ascii=False)]  # one piece: not streamed
    user = FakeOllama.last_user_message(request)
    found = EVIDENCE_LINE.findall(user)
    if not found:
        return "I cannot find this in the articles."
    question = _words(user.rsplit("\nQuestion:", 1)[-1].split("\n", 1)[0])
    candidates = [((len(question & _words(sentence)), len(sentence)), int(number), sentence.strip())
                  for number, sentence in found]
    _, number, sentence = max(candidates, key=lambda c: c[0])
    return f"{sentence} [{number}]"
