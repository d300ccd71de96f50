"""The articles view's data: the indexed articles, one article's text, and removing an upload.

Everything goes through the ``RAG`` facade (``documents``, ``document_text``, ``remove``). The one
thing added here is finding the article behind a passage, which the chat's source cards need: a
passage names its file and its span, and two folders may hold files of the same name, so the article
whose text has the passage at that span is the one.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING

from rag.errors import RagError

if TYPE_CHECKING:
    from rag.pipeline import RAG
    from rag.types import DocumentInfo

log = logging.getLogger(__name__)


class Articles:
    """The page's view of what the index holds."""

    def __init__(self, rag: RAG) -> None:
        self.rag = rag

    def list(self) -> list[DocumentInfo]:
        return list(self.rag.documents())

    def get(self, doc_id: str) -> DocumentInfo | None:
        return next((d for d in self.list() if d.doc_id == doc_id), None)

    def text(self, doc_id: str) -> str:
        return self.rag.document_text(doc_id)

    def find(self, source: str, start: int, end: int, passage_text: str | None = None) -> DocumentInfo | None:
        """The article a passage comes from: by file name, and by its text at the span when names repeat."""
        named = [d for d in self.list() if d.source == source]
        if len(named) <= 1 or passage_text is None:
            return named[0] if named else None
        for d in named:
            try:
                if self.text(d.doc_id)[start:end] == passage_text:
                    return d
            except RagError:
                continue
        return named[0]

    def remove(self, doc_id: str) -> str:
        """Remove an uploaded article (its passages, and its stored file); a sentence saying what happened."""
        doc = self.get(doc_id)
        if doc is None:
            return "That article is no longer in the index."
        if doc.origin != "upload":
            return (f"{doc.title} comes from the articles folder: remove the file there and run `rag ingest`, "
                    "or it comes back at the next ingest.")
        removed = self.rag.remove(doc_id)
        stored = Path(doc.path)
        uploads = self.rag.settings.uploads_dir.resolve()
        # Only files the page itself stored are deleted, never anything outside the uploads folder.
        if stored.resolve().parent == uploads:
            stored.unlink(missing_ok=True)
        log.info("removed the upload %s (%d passages)", doc.path, removed)
        return f"Removed “{doc.title}” ({removed} passages)."
