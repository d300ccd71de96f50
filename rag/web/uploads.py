"""Articles uploaded from the chat page: checked, stored under a generated name, ingested on their own.

The client's file name is only ever used as a label and as the readable tail of the stored name;
the path on disk is ``<uploads_dir>/<sha256[:16]>-<sanitised stem><suffix>`` (a supported suffix). Ingesting that one
file leaves everything else in the index alone (the indexer only removes missing files under the
path it is given, and that path is the new file).
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath, PureWindowsPath
from typing import TYPE_CHECKING, Any

from rag.loading import SUPPORTED_SUFFIXES, file_text
from rag.types import Skipped

if TYPE_CHECKING:
    from rag.pipeline import RAG

log = logging.getLogger(__name__)

_STEM_MAX = 48
UPLOAD_TYPES_HINT = "add an article as .txt, .md, a saved web page (.html) or a .pdf"


@dataclass(frozen=True)
class UploadResult:
    """What happened to one uploaded file, as one line for the page."""

    ok: bool
    message: str
    stored: Path | None = None


def client_name(name: str) -> str:
    """The bare file name a browser sent, whatever path separators it contained."""
    return PureWindowsPath(PurePosixPath(name).name).name or "upload"


def safe_upload_name(name: str, raw: bytes) -> str:
    """``<sha256[:16]>-<stem><suffix>``: content-addressed, readable, and never a path."""
    base = client_name(name)
    suffix = Path(base).suffix.lower()
    suffix = suffix if suffix in SUPPORTED_SUFFIXES else ".txt"
    stem = unicodedata.normalize("NFKC", Path(base).stem)
    stem = re.sub(r"[^\w-]+", "-", stem).strip("-_")[:_STEM_MAX].strip("-_") or "upload"
    return f"{hashlib.sha256(raw).hexdigest()[:16]}-{stem}{suffix}"


def validate_upload(name: str, raw: bytes, max_bytes: int) -> str | Skipped:
    """The text of an uploaded file, or why it is refused (type, size, binary, encoding, empty)."""
    base = client_name(name)
    suffix = Path(base).suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        return Skipped(base, f"unsupported type {suffix or '(none)'}: {UPLOAD_TYPES_HINT}")
    if len(raw) > max_bytes:
        return Skipped(base, f"it is {len(raw) / 1e6:.1f} MB, over the {max_bytes / 1e6:g} MB limit for one file: "
                             "split it or add only the article's text")
    return file_text(raw, base, max_bytes)


def store_upload(folder: Path, name: str, raw: bytes) -> Path:
    """Write the upload under ``folder`` with its generated name (atomically; identical files share it)."""
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / safe_upload_name(name, raw)
    if not target.exists():
        tmp = target.with_name(f".{target.name}.{os.getpid()}.part")  # hidden: ingest skips dot files
        tmp.write_bytes(raw)
        tmp.replace(target)
    return target


def accept_upload(rag: RAG, path: str | Path, name: str | None = None,
                  on_progress: Callable[[Any], None] | None = None) -> UploadResult:
    """Check, store and ingest one uploaded file. ``path`` is Gradio's temporary copy of it."""
    return ingest_upload(rag, client_name(name or str(path)), Path(path).read_bytes(), on_progress)


def ingest_upload(rag: RAG, label: str, raw: bytes, on_progress: Callable[[Any], None] | None = None,
                  on_text: Callable[[str], None] | None = None) -> UploadResult:
    """Check, store and ingest one uploaded file's bytes; ``label`` is the name the browser gave.

    ``on_progress`` receives the indexer's progress (when ``RAG.ingest`` reports it); ``on_text``
    the extracted text once it is known (the queue estimates the work from its length).
    """
    max_bytes = int(rag.settings.max_file_mb * 1_000_000)
    checked = validate_upload(label, raw, max_bytes)
    if isinstance(checked, Skipped):
        return UploadResult(False, f"{label} was not added: {checked.reason}")
    if on_text is not None:
        on_text(checked)
    stored = store_upload(rag.settings.uploads_dir, label, raw)
    report = rag.ingest(stored, on_progress=on_progress)
    if report.skipped:
        stored.unlink(missing_ok=True)
        return UploadResult(False, f"{label} was not added: {report.skipped[0].reason}")
    if report.files_unchanged:
        return UploadResult(True, f"{label} is already in the articles (as {stored.name})", stored)
    log.info("uploaded %s as %s: %d chunks", label, stored, report.chunks_embedded)
    chunks = f"{report.chunks_embedded} passage{'s' if report.chunks_embedded != 1 else ''}"
    message = f"{label} added as {stored.name}: {chunks}; the index now holds {report.chunks_total} passages"
    return UploadResult(True, message, stored)
