"""Uploads are indexed in the background, one file at a time, so that questions never wait for them.

``IngestQueue.submit`` refuses at once what the limits forbid (file size, uploads per minute per
browser session, megabytes waiting to be indexed) and queues the rest; one worker thread indexes the
jobs in order and records each one's state: queued, indexing (files, passages, time left), done, or
failed with the reason. The page polls ``jobs(session)`` to show them next to the upload button.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from rag.loading import SUPPORTED_SUFFIXES
from rag.web.uploads import UPLOAD_TYPES_HINT, client_name, ingest_upload

if TYPE_CHECKING:
    from rag.pipeline import RAG

log = logging.getLogger(__name__)

State = Literal["queued", "indexing", "done", "failed"]
_CHARS_PER_TOKEN = 3.5  # multilingual-e5's tokenizer on news text in el/it/tr/en, roughly
_KEEP_FINISHED = 8  # finished jobs shown per session


@dataclass(frozen=True)
class UploadLimits:
    """What one browser session may add, and how much may wait in the queue."""

    max_file_bytes: int
    per_minute: int
    max_pending_bytes: int

    @classmethod
    def from_settings(cls, settings: Any) -> UploadLimits:
        return cls(int(settings.max_file_mb * 1_000_000), settings.uploads_per_minute,
                   int(settings.max_pending_mb * 1_000_000))


@dataclass
class IngestJob:
    """One uploaded file on its way into the index."""

    id: str
    session: str
    name: str
    size: int
    state: State = "queued"
    message: str = ""
    submitted: float = field(default_factory=time.monotonic)
    started: float | None = None
    finished: float | None = None
    chunks_done: int = 0
    chunks_expected: int | None = None  # estimated from the text's length, once it is read
    files_done: int = 0
    files_total: int = 1

    @property
    def pending(self) -> bool:
        return self.state in ("queued", "indexing")

    def seconds_left(self, now: float) -> float | None:
        """Time left, from the passages indexed so far and the passages expected."""
        if self.state != "indexing" or self.started is None or not self.chunks_done or not self.chunks_expected:
            return None
        rate = self.chunks_done / max(now - self.started, 1e-3)
        return max(0.0, (self.chunks_expected - self.chunks_done) / rate)


class UploadRefused(Exception):
    """An upload the limits do not allow; the message is for the person who uploaded it."""


class IngestQueue:
    """One worker thread indexing uploaded files in order; jobs are kept per browser session."""

    def __init__(self, rag: RAG, limits: UploadLimits, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.rag = rag
        self.limits = limits
        self.clock = clock
        self._lock = threading.Lock()
        self._jobs: list[IngestJob] = []
        self._recent: dict[str, deque[float]] = {}  # session -> submission times in the last minute
        self._raw: dict[str, bytes] = {}  # job id -> bytes waiting to be indexed
        self._todo: queue.Queue[str | None] = queue.Queue()
        self._listeners: list[Callable[[IngestJob], None]] = []
        self._worker = threading.Thread(target=self._run, name="upload-ingest", daemon=True)
        self._worker.start()

    # -- the page's side ---------------------------------------------------------------------------

    def submit(self, session: str, name: str, raw: bytes) -> IngestJob:
        """Queue one file, or raise ``UploadRefused`` saying why it cannot be added now."""
        label = client_name(name)
        if Path(label).suffix.lower() not in SUPPORTED_SUFFIXES:
            raise UploadRefused(f"{label} was not added: {UPLOAD_TYPES_HINT}")
        limit = self.limits.max_file_bytes
        if len(raw) > limit:
            raise UploadRefused(f"{label} was not added: it is {len(raw) / 1e6:.1f} MB, over the "
                                f"{limit / 1e6:g} MB limit for one file; split it or add only the article's text")
        with self._lock:
            now = self.clock()
            recent = self._recent.setdefault(session, deque())
            while recent and now - recent[0] > 60:
                recent.popleft()
            if len(recent) >= self.limits.per_minute:
                wait = 60 - (now - recent[0])
                raise UploadRefused(f"{label} was not added: {self.limits.per_minute} files a minute is the "
                                    f"most one page can add; try again in {wait:.0f} s")
            pending = sum(len(b) for b in self._raw.values())
            if pending + len(raw) > self.limits.max_pending_bytes:
                raise UploadRefused(f"{label} was not added: {pending / 1e6:.1f} MB of articles are still "
                                    "being indexed; add it once they are done")
            recent.append(now)
            job = IngestJob(id=uuid.uuid4().hex[:12], session=session, name=label, size=len(raw), submitted=now)
            self._jobs.append(job)
            self._raw[job.id] = raw
        self._todo.put(job.id)
        return job

    def jobs(self, session: str) -> list[IngestJob]:
        """This session's pending jobs and its last few finished ones, oldest first (copies)."""
        with self._lock:
            mine = [j for j in self._jobs if j.session == session]
            finished = [j for j in mine if not j.pending][-_KEEP_FINISHED:]
            return [_copy(j) for j in mine if j.pending or j in finished]

    def pending(self) -> int:
        with self._lock:
            return sum(j.pending for j in self._jobs)

    def on_finished(self, listener: Callable[[IngestJob], None]) -> None:
        """Call ``listener`` (in the worker thread) after each job ends, done or failed."""
        self._listeners.append(listener)

    def wait_idle(self, timeout: float) -> bool:
        """Wait until no job is queued or indexing (for tests and scripts)."""
        deadline = time.monotonic() + timeout
        while self.pending():
            if time.monotonic() > deadline:
                return False
            time.sleep(0.05)
        return True

    def close(self) -> None:
        self._todo.put(None)

    # -- the worker ----------------------------------------------------------------------------------

    def _run(self) -> None:
        while (job_id := self._todo.get()) is not None:
            with self._lock:
                job = next(j for j in self._jobs if j.id == job_id)
                raw = self._raw[job_id]
                job.state, job.started = "indexing", self.clock()
            try:
                result = ingest_upload(self.rag, job.name, raw, on_progress=partial(self._progress, job),
                                       on_text=partial(self._expect, job))
                state: State = "done" if result.ok else "failed"
                message = result.message
            except Exception as exc:  # one failed file never stops the queue; the reason is shown
                log.exception("indexing the upload %s failed", job.name)
                state, message = "failed", f"{job.name} was not added: {_reason(exc)}"
            with self._lock:
                job.state, job.message, job.finished = state, message, self.clock()
                del self._raw[job_id]
                self._forget_old()
            for listener in self._listeners:
                try:
                    listener(_copy(job))
                except Exception:  # a listener is the page's cache; never let it stop the queue
                    log.exception("upload listener failed")

    def _progress(self, job: IngestJob, progress: Any) -> None:
        with self._lock:
            job.chunks_done = int(getattr(progress, "chunks_done", 0))
            job.files_done = int(getattr(progress, "files_done", 0))
            job.files_total = max(1, int(getattr(progress, "files_total", 1)))

    def _expect(self, job: IngestJob, text: str) -> None:
        s = self.rag.settings
        per_chunk = max(1, s.chunk_size - s.chunk_overlap) * _CHARS_PER_TOKEN
        with self._lock:
            job.chunks_expected = max(1, round(len(text) / per_chunk))

    def _forget_old(self) -> None:
        # Keep every pending job and the last finished ones of each session.
        keep: list[IngestJob] = []
        finished: dict[str, int] = {}
        for job in reversed(self._jobs):
            if not job.pending:
                finished[job.session] = finished.get(job.session, 0) + 1
                if finished[job.session] > _KEEP_FINISHED:
                    continue
            keep.append(job)
        self._jobs = keep[::-1]


def _copy(job: IngestJob) -> IngestJob:
    return IngestJob(**{name: getattr(job, name) for name in job.__dataclass_fields__})


def _reason(exc: Exception) -> str:
    from rag.errors import RagError

    if isinstance(exc, RagError):
        return str(exc)
    return f"the index could not be updated ({type(exc).__name__}); the details are in the server log"
