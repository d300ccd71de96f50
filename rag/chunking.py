"""Sentence-aware chunks with overlap, stable ids and character spans in the original article.

Chunk sizes are counted in the *embedder's* tokens. llama-index's default counter is an English
tokenizer, under which a Greek chunk of 256 "tokens" holds a third of the characters of a Turkish one;
the embedder sees them very differently. Counting with the embedder's own tokenizer gives every language
the same share of its window.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from llama_index.core.node_parser import SentenceSplitter

from rag.types import Chunk, Document

TokenCounter = Callable[[str], int]


# Bump when the splitting itself changes (same settings, other chunks): indexed files are re-chunked.
CHUNKER_VERSION = 2


@dataclass(frozen=True)
class IndexShape:
    """Everything besides the embedder that decides how a file is cut into chunks.

    Recorded in every chunk (``key``) and in the collection metadata (``describe``): a file cut with
    another shape is re-chunked by the next ingest instead of being called unchanged.
    """

    chunk_size: int
    chunk_overlap: int
    boilerplate: tuple[str, ...] = ()
    chunker: int = CHUNKER_VERSION

    def describe(self) -> str:
        return json.dumps({"chunk_size": self.chunk_size, "chunk_overlap": self.chunk_overlap,
                           "boilerplate": list(self.boilerplate), "chunker": self.chunker},
                          ensure_ascii=False, separators=(",", ":"))

    @property
    def key(self) -> str:
        return hashlib.sha1(self.describe().encode()).hexdigest()[:12]


def chunk_id(language: str, doc_id: str, doc_sha256: str, shape_key: str, index: int) -> str:
    """Stable id ``<language>-<doc id>-<content>-<index>``.

    The same file (by path) with the same content and shape always gives the same ids; a changed file or
    shape gives new ones, and two files can never share one (``doc_id`` derives from the path). The
    language prefix lets BM25 check what it holds against the store from the ids alone.
    """
    content = hashlib.sha1(f"{doc_sha256}\x00{shape_key}".encode()).hexdigest()[:12]
    return f"{language}-{doc_id}-{content}-{index:05d}"


def language_of_id(cid: str) -> str | None:
    """The language a chunk id records, or None for an id of an older index (no prefix)."""
    head, sep, _ = cid.partition("-")
    return head if sep and cid.count("-") == 3 else None


def _locate(haystack: str, needle: str, cursor: int) -> tuple[int, int]:
    """Span of ``needle`` in ``haystack`` at or after ``cursor``, tolerant of whitespace changes."""
    at = haystack.find(needle, cursor)
    if at < 0:
        at = haystack.find(needle)
    if at >= 0:
        return at, at + len(needle)
    # The splitter may have normalised whitespace: match word by word.
    pattern = r"\s+".join(re.escape(w) for w in needle.split())
    m = re.compile(pattern).search(haystack, cursor) or re.compile(pattern).search(haystack)
    if m is None:
        raise ValueError("chunk text not found in its document")
    return m.start(), m.end()


class Chunker:
    """Splits documents into overlapping, sentence-aligned chunks."""

    def __init__(
        self, chunk_size: int, chunk_overlap: int, count_tokens: TokenCounter | None = None,
        boilerplate: Sequence[str] = (),
    ) -> None:
        self.shape = IndexShape(chunk_size, chunk_overlap, tuple(boilerplate))
        if chunk_overlap >= chunk_size:
            raise ValueError(f"chunk_overlap ({chunk_overlap}) must be smaller than chunk_size ({chunk_size})")
        kwargs = {}
        if count_tokens is not None:
            # SentenceSplitter only takes len() of what the tokenizer returns.
            kwargs["tokenizer"] = lambda text: range(count_tokens(text))
        self._splitter = SentenceSplitter(
            chunk_size=chunk_size, chunk_overlap=chunk_overlap, paragraph_separator="\n\n", **kwargs
        )

    def split(self, doc: Document, added: float = 0.0) -> list[Chunk]:
        # Each run of news text between removed boilerplate lines is split on its own, so that no
        # chunk spans a removed line and every chunk is exactly ``doc.text[start:end]``.
        spans: list[tuple[int, int]] = []
        for seg_start, seg_end in doc.kept:
            segment = doc.text[seg_start:seg_end]
            cursor = 0
            for piece in self._splitter.split_text(segment):
                if not piece.strip():
                    continue
                start, end = _locate(segment, piece, cursor)
                spans.append((seg_start + start, seg_start + end))
                cursor = start + 1
        doc_id, shape = doc.doc_id, self.shape.key
        return [
            Chunk(
                id=chunk_id(doc.language, doc_id, doc.sha256, shape, i),
                text=doc.text[start:end],
                source=doc.source,
                path=str(doc.path),
                language=doc.language,
                title=doc.title,
                start=start,
                end=end,
                index=i,
                doc_sha256=doc.sha256,
                n_chunks=len(spans),
                doc_id=doc_id,
                shape=shape,
                added=added,
            )
            for i, (start, end) in enumerate(spans)
        ]
