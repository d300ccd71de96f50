"""Read article files into ``Document`` objects: decoding, checks, language, title, boilerplate.

Nothing here raises for one bad file: it is returned as ``Skipped`` with a reason a user can act on.
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Iterable, Sequence
from pathlib import Path

from rag.errors import IngestError
from rag.formats import HTML_SUFFIXES, PDF_SUFFIXES, html_text, pdf_text
from rag.language import LanguageDetector
from rag.types import Document, Skipped

log = logging.getLogger(__name__)

SUPPORTED_SUFFIXES = (".txt", ".md", *HTML_SUFFIXES, *PDF_SUFFIXES)
_TITLE_MAX = 160
_SENTENCE_END = re.compile(r"(?<=[.!?;…])\s+")


class BoilerplateFilter:
    """Drops whole lines that match any of the user's patterns (site promotion, sharing prompts)."""

    def __init__(self, patterns: Sequence[str]) -> None:
        try:
            self._patterns = [re.compile(p, re.IGNORECASE) for p in patterns]
        except re.error as exc:
            raise IngestError(f"invalid boilerplate pattern: {exc}; fix RAG_BOILERPLATE_PATTERNS") from exc

    def is_boilerplate(self, line: str) -> bool:
        stripped = line.strip()
        return bool(stripped) and any(p.search(stripped) for p in self._patterns)

    def kept_ranges(self, text: str) -> tuple[tuple[tuple[int, int], ...], tuple[str, ...]]:
        """Character ranges of ``text`` that are not boilerplate lines, and the lines removed."""
        kept: list[tuple[int, int]] = []
        removed: list[str] = []
        pos = 0
        for line in text.splitlines(keepends=True):
            end = pos + len(line)
            if self.is_boilerplate(line):
                removed.append(line.strip())
            elif kept and kept[-1][1] == pos:
                kept[-1] = (kept[-1][0], end)
            else:
                kept.append((pos, end))
            pos = end
        return tuple(kept), tuple(removed)


def find_files(path: Path) -> list[Path]:
    """Every file under ``path`` (or ``path`` itself), sorted, hidden files left out."""
    if not path.exists():
        raise IngestError(f"{path} does not exist: give a folder of articles (.txt, .md, .html, .pdf) or one such file")
    if path.is_file():
        return [path]
    hidden = lambda p: any(part.startswith(".") for part in p.relative_to(path).parts)  # noqa: E731
    return sorted(p for p in path.rglob("*") if p.is_file() and not hidden(p))


def decode(raw: bytes, name: str, max_bytes: int) -> str | Skipped:
    """The text of a file's bytes, or the reason it cannot be used."""
    if len(raw) > max_bytes:
        return Skipped(name, f"larger than {max_bytes / 1e6:.1f} MB ({len(raw) / 1e6:.1f} MB); raise RAG_MAX_FILE_MB")
    if b"\x00" in raw[:8192]:
        return Skipped(name, "binary file (contains NUL bytes): save the article as UTF-8 .txt or .md")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        return Skipped(
            name,
            f"not UTF-8 (invalid byte 0x{raw[exc.start]:02x} at offset {exc.start}); "
            f"convert it, e.g. `iconv -f WINDOWS-1253 -t UTF-8 {name}`",
        )
    if not text.strip():
        return Skipped(name, "empty file: put the article's text in it, or remove it from the folder")
    return text.replace("\r\n", "\n").replace("\r", "\n")


def file_text(raw: bytes, name: str, max_bytes: int) -> str | Skipped:
    """The text of a file's bytes by its type: plain text decoded, web pages and PDFs extracted."""
    suffix = Path(name).suffix.lower()
    if suffix not in HTML_SUFFIXES + PDF_SUFFIXES:
        return decode(raw, name, max_bytes)
    if len(raw) > max_bytes:
        return decode(raw, name, max_bytes)  # the same "too large" reason as for text files
    return html_text(raw, name) if suffix in HTML_SUFFIXES else pdf_text(raw, name)


def make_title(text: str, kept: Sequence[tuple[int, int]]) -> str:
    """The first line of news, or its first sentence when that line is a whole paragraph."""
    body = "".join(text[s:e] for s, e in kept).strip()
    first_line = body.split("\n", 1)[0].strip()
    title = first_line if len(first_line) <= _TITLE_MAX else _SENTENCE_END.split(first_line, 1)[0]
    if len(title) > _TITLE_MAX:
        title = title[: _TITLE_MAX - 1].rsplit(" ", 1)[0] + "…"
    return title


class Loader:
    """Turns files into documents. Collaborators are passed in; nothing loads at import."""

    def __init__(self, detector: LanguageDetector, boilerplate: BoilerplateFilter, max_file_mb: float) -> None:
        self.detector = detector
        self.boilerplate = boilerplate
        self.max_bytes = int(max_file_mb * 1_000_000)

    def load_text(self, text: str, path: Path, sha256: str) -> Document | Skipped:
        kept, removed = self.boilerplate.kept_ranges(text)
        body = "".join(text[s:e] for s, e in kept)
        if not body.strip():
            return Skipped(path.name, "only boilerplate lines, no news text")
        return Document(
            path=path,
            source=path.name,
            text=text,
            language=self.detector.detect(body),
            title=make_title(text, kept),
            sha256=sha256,
            kept=kept,
            removed_lines=removed,
        )

    def load_file(self, path: Path) -> Document | Skipped:
        path = path.resolve()
        if path.suffix.lower() not in SUPPORTED_SUFFIXES:
            kinds = ", ".join(SUPPORTED_SUFFIXES)
            return Skipped(path.name, f"unsupported type {path.suffix or '(none)'}: only {kinds} are read")
        try:
            raw = path.read_bytes()
        except OSError as exc:
            return Skipped(path.name, f"cannot read: {exc.strerror}")
        text = file_text(raw, path.name, self.max_bytes)
        if isinstance(text, Skipped):
            return text
        return self.load_text(text, path, hashlib.sha256(raw).hexdigest())

    def load(self, paths: Iterable[Path]) -> tuple[list[Document], list[Skipped]]:
        docs: list[Document] = []
        skipped: list[Skipped] = []
        for path in paths:
            result = self.load_file(path)
            if isinstance(result, Skipped):
                log.warning("skipped %s: %s", result.path, result.reason)
                skipped.append(result)
            else:
                docs.append(result)
        return docs, skipped
