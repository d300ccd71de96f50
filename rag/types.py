"""Data types that cross module borders. Immutable where they can be."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path, PurePath
from typing import Literal


@dataclass(frozen=True)
class Document:
    """One source article after loading and cleaning.

    ``text`` is the original file text (so offsets point into what the user sees);
    ``kept`` lists the (start, end) ranges of it that are news, not boilerplate.
    """

    path: Path  # absolute, symlinks resolved: the document's identity (see ``doc_id``)
    source: str  # file name, as shown to users
    text: str
    language: str  # ISO 639-1, e.g. "el"
    title: str
    sha256: str
    kept: tuple[tuple[int, int], ...]
    removed_lines: tuple[str, ...] = ()

    @property
    def doc_id(self) -> str:
        return doc_id_for(self.path)


def doc_id_for(path: str | Path) -> str:
    """The stable id of the document at ``path`` (absolute, resolved): two folders can never share one,
    and the same file keeps it whatever its content. Chunk ids begin with it."""
    import hashlib

    return hashlib.sha1(str(path).encode("utf-8", "surrogateescape")).hexdigest()[:16]


def shown_names(paths: Iterable[str]) -> dict[str, str]:
    """How to name each document to users so that no two look alike: its file name when no other of
    ``paths`` has that name, else the shortest end of its path that no other one ends with
    (``2024/story.txt`` and ``2025/story.txt`` for two ``story.txt``; the path relative to the folder they
    were ingested from when they share one). Such a name also works as a ``--source`` filter."""
    parts = {p: PurePath(p).parts for p in set(paths)}
    by_name: dict[str, list[str]] = {}
    for p, pieces in parts.items():
        by_name.setdefault(pieces[-1] if pieces else p, []).append(p)
    out: dict[str, str] = {}
    for group in by_name.values():
        for p in group:
            mine = parts[p]
            k = 1
            while k < len(mine) and any(parts[q][-k:] == mine[-k:] for q in group if q != p):
                k += 1
            out[p] = "/".join(mine[-k:]) if k < len(mine) else p
    return out


@dataclass(frozen=True)
class Chunk:
    """A retrievable piece of a document with its character span in the original text."""

    id: str
    text: str
    source: str
    path: str
    language: str
    title: str
    start: int
    end: int
    index: int  # position of the chunk in its document
    doc_sha256: str
    n_chunks: int
    doc_id: str = ""
    shape: str = ""  # the chunking settings that cut it (``Chunker.shape``): a change re-chunks the file
    added: float = 0.0  # epoch seconds when this content of the document was indexed

    def metadata(self) -> dict[str, str | int | float]:
        return {
            "source": self.source,
            "path": self.path,
            "doc_id": self.doc_id,
            "shape": self.shape,
            "added": self.added,
            "language": self.language,
            "title": self.title,
            "start": self.start,
            "end": self.end,
            "index": self.index,
            "doc_sha256": self.doc_sha256,
            "n_chunks": self.n_chunks,
        }


@dataclass(frozen=True)
class Passage:
    """A retrieved chunk, ranked.

    ``score`` means the same whatever the fusion: the fused score relative to the best passage of the
    same result list, in [0, 1] (the first passage scores 1.0; 0.5 means half the best one's fused
    score). It ranks passages of one question; it is not a probability and not comparable across
    questions. ``dense_score`` (cosine similarity) and ``lexical_score`` (BM25) keep the raw evidence.
    """

    id: str
    text: str
    source: str
    title: str
    language: str
    start: int
    end: int
    score: float
    rank: int = 0
    dense_score: float | None = None  # cosine similarity, when the dense search found it
    lexical_score: float | None = None  # BM25, when the lexical search found it
    doc_id: str = ""  # the document's id (``doc_id_for`` its path)
    path: str = ""  # the document's absolute path
    shown: str = ""  # how users see the document: ``source``, or more of its path when names repeat

    def __post_init__(self) -> None:
        if not self.shown:
            object.__setattr__(self, "shown", self.source)


@dataclass(frozen=True)
class DocumentInfo:
    """One indexed document, as a page lists it."""

    doc_id: str  # stable: derived from the resolved path (``doc_id_for``)
    path: str  # absolute
    source: str  # file name shown to users
    title: str
    language: str
    chunks: int
    added: float | None  # epoch seconds when its current content was indexed; None when unknown
    origin: Literal["upload", "folder"]  # "upload" when under ``settings.uploads_dir``
    shown: str = ""  # how users see it: ``source``, or more of its path when names repeat (``shown_names``)

    def __post_init__(self) -> None:
        if not self.shown:
            object.__setattr__(self, "shown", self.source)


@dataclass(frozen=True)
class IngestProgress:
    """How far an ingest is: reported at least once per file and once per write batch."""

    files_done: int
    files_total: int
    chunks_done: int  # chunks embedded so far
    seconds: float


@dataclass(frozen=True)
class Skipped:
    """A file that was not ingested, and why."""

    path: str
    reason: str


@dataclass
class IngestReport:
    """What an ingest did. ``str(report)`` is the summary printed by ``rag ingest``."""

    files_seen: int = 0
    files_indexed: int = 0  # new or changed files (re)embedded
    files_unchanged: int = 0
    files_removed: int = 0
    files_rechunked: int = 0  # unchanged files cut again because the chunking settings changed
    chunks_embedded: int = 0
    chunks_removed: int = 0
    chunks_total: int = 0
    languages: dict[str, int] = field(default_factory=dict)  # language -> documents in the index
    skipped: list[Skipped] = field(default_factory=list)
    boilerplate_lines: int = 0
    seconds: float = 0.0

    def __str__(self) -> str:
        langs = ", ".join(f"{k}: {v}" for k, v in sorted(self.languages.items())) or "none"
        lines = [
            f"files: {self.files_seen} seen, {self.files_indexed} indexed, {self.files_unchanged} unchanged, "
            f"{self.files_removed} removed, {len(self.skipped)} skipped"
            + (f" ({self.files_rechunked} re-chunked: the chunking settings changed)" if self.files_rechunked else ""),
            f"chunks: {self.chunks_embedded} embedded, {self.chunks_removed} removed, "
            f"{self.chunks_total} in the index",
            f"languages (documents): {langs}",
            f"boilerplate lines left out: {self.boilerplate_lines}",
            f"seconds: {self.seconds:.1f}",
        ]
        lines += [f"skipped {s.path}: {s.reason}" for s in self.skipped]
        return "\n".join(lines)


@dataclass(frozen=True)
class IndexStats:
    """What the index holds."""

    documents: int
    chunks: int
    languages: dict[str, int]  # language -> documents
    embedder: str


@dataclass(frozen=True)
class Citation:
    """A numbered source of an answer and the sentence in it that supports the claim."""

    number: int
    passage: Passage
    sentence: str  # the supporting sentence, as it stands in the source article
    start: int  # its character span in the source article
    end: int
    similarity: float  # cosine similarity between the claim and the sentence
    supported: bool  # False when even the best sentence is weakly related to the claim
    inferred: bool = False  # True when the model cited nothing and the code attached the source
    better: int | None = None  # the number of a passage that supports the claim clearly better


Mode = Literal["llm", "retrieval-only"]


@dataclass(frozen=True)
class Answer:
    """A grounded answer (``rag.render.render_answer_text`` shows it with its numbered sources)."""

    text: str
    citations: tuple[Citation, ...]
    passages: tuple[Passage, ...]
    refused: bool
    language: str
    model: str | None
    mode: Mode
    truncated: bool = False  # passages were dropped to fit the model's context
    dropped_passages: int = 0
    incomplete: bool = False  # the stream broke off; ``text`` is the partial answer
    notice: str | None = None  # why the model was not used, or what went wrong
    question: str = ""
    standalone_question: str = ""  # the question after condensing a follow-up
    translations: dict[str, str] = field(default_factory=dict)
    prompt_tokens: int = 0  # the answer prompt's size (UTF-8 bytes / 4)
    retrieve_ms: float = 0.0
    translate_ms: float = 0.0
    first_token_ms: float | None = None
    total_ms: float = 0.0
    evidence_ms: float = 0.0  # from the question to the evidence (shown before the model's first token)
    evidence: tuple[Citation, ...] = ()  # the numbered sentences given to the model (``citations`` name some)
    unanswerable: bool = False  # retrieval found nothing close to the question (the no-answer gate)
    # Checks a small model needs (counted by `rag eval`):
    wrong_language: bool = False  # still not in the question's language after one repair
    # The language of the model's first reply when it was not the question's, so the model was asked once
    # more (a second model call the reader waited for); None when the first reply was in the right language.
    language_repair: str | None = None
    unknown_citations: tuple[int, ...] = ()  # markers the model wrote that name no given sentence
    unsupported_claims: tuple[str, ...] = ()  # claims no given sentence supports
