"""Sentence-aware chunks with overlap, stable ids and character spans in the original article.

Chunk sizes are counted in the *embedder's* tokens. llama-index's default counter is an English
tokenizer, under which a Greek chunk of 256 "tokens" holds a third of the characters of a Turkish one;
the embedder sees them very differently. Counting with the embedder's own tokenizer gives every language
the same share of its window.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable

from llama_index.core.node_parser import SentenceSplitter

from rag.types import Chunk, Document

TokenCounter = Callable[[str], int]


def chunk_id(source: str, doc_sha256: str, index: int) -> str:
    """Stable id: the same file content always gives the same ids, a changed file new ones."""
    key = hashlib.sha1(f"{source}\x00{doc_sha256}".encode()).hexdigest()[:16]
    return f"{key}-{index:05d}"


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

    def __init__(self, chunk_size: int, chunk_overlap: int, count_tokens: TokenCounter | None = None) -> None:
        if chunk_overlap >= chunk_size:
            raise ValueError(f"chunk_overlap ({chunk_overlap}) must be smaller than chunk_size ({chunk_size})")
        tokenizer = None
        if count_tokens is not None:
            # SentenceSplitter only takes len() of what the tokenizer returns.
            def tokenizer(text: str) -> list[str]:
                return [""] * count_tokens(text)
        self._splitter = SentenceSplitter(
            chunk_size=chunk_size, chunk_overlap=chunk_overlap, paragraph_separator="\n\n", tokenizer=tokenizer
        )

    def split(self, doc: Document) -> list[Chunk]:
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
        return [
            Chunk(
                id=chunk_id(doc.source, doc.sha256, i),
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
            )
            for i, (start, end) in enumerate(spans)
        ]
