"""Read article files into ``Document`` objects: decoding, checks, language, title, boilerplate.

Nothing here raises for one bad file: it is returned as ``Skipped`` with a reason a user can act on.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
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


@dataclass
class Walk:
    """What a folder holds for ingest."""

    files: list[Path] = field(default_factory=list)  # sorted; inside the root (links resolved inside it)
    skipped: list[Skipped] = field(default_factory=list)  # links out of the root, not followed
    unreadable: list[Path] = field(default_factory=list)  # sub-folders that could not be listed


def walk(path: Path) -> Walk:
    """Every file under ``path`` (or ``path`` itself), sorted, hidden files and folders left out.

    Iterative, so a folder any number of levels deep works. Symbolic links are not followed out of the
    root: a link to a file inside it is kept (the file is indexed once, by its real path), a link to a
    file elsewhere is skipped with its reason, and links to folders are never followed (no cycles).
    A root that does not exist or cannot be listed is an error: an unmounted disk must not read as
    "every article was deleted".
    """
    if not path.exists():
        raise IngestError(f"{path} does not exist: give a folder of articles (.txt, .md, .html, .pdf) or one such file")
    if path.is_file():
        return Walk(files=[path])
    if not path.is_dir():
        raise IngestError(f"{path} is not a folder or a regular file: give a folder of .txt/.md articles")
    root = path.resolve()
    out = Walk()
    stack = [path]
    while stack:
        folder = stack.pop()
        try:
            with os.scandir(folder) as entries:
                listed = list(entries)
        except OSError as exc:
            if folder == path:
                raise IngestError(
                    f"cannot read the folder {path} ({exc.strerror}); check its permissions "
                    f"(nothing was changed in the index)"
                ) from exc
            log.warning("cannot read the folder %s (%s): what the index holds from it is kept", folder, exc.strerror)
            out.unreadable.append(Path(folder))
            continue
        for entry in listed:
            if entry.name.startswith("."):
                continue
            item = Path(entry.path)
            if entry.is_symlink():
                target = item.resolve()
                if not target.is_file():
                    log.info("not following the link %s (to a folder, or broken)", item)
                elif target == root or root in target.parents:
                    out.files.append(item)
                else:
                    out.skipped.append(Skipped(
                        str(item.relative_to(path)),
                        f"a link to {target}, outside {path}: not followed (copy the file into the folder)",
                    ))
            elif entry.is_dir(follow_symlinks=False):
                stack.append(item)
            elif entry.is_file(follow_symlinks=False):
                out.files.append(item)
    out.files.sort()
    return out


def find_files(path: Path) -> list[Path]:
    """Every file under ``path`` (or ``path`` itself), sorted (see ``walk``)."""
    return walk(path).files


def _legacy_hint(raw: bytes, name: str) -> str:
    """An ``iconv`` command for a file in a legacy 8-bit encoding, guessed from its bytes."""
    high = sum(1 for b in raw if b >= 0xC0)
    letters = high + sum(1 for b in raw if 0x41 <= b <= 0x5A or 0x61 <= b <= 0x7A)
    if letters and high / letters > 0.3:  # mostly non-ASCII letters: Greek (or Cyrillic) text
        return f"`iconv -f WINDOWS-1253 -t UTF-8 {name}` (Greek)"
    return f"`iconv -f WINDOWS-1252 -t UTF-8 {name}` (Western European, Latin-1; WINDOWS-1254 for Turkish)"


def decode(raw: bytes, name: str, max_bytes: int) -> str | Skipped:
    """The text of a file's bytes, or the reason it cannot be used."""
    if len(raw) > max_bytes:
        return Skipped(name, f"larger than {max_bytes / 1e6:.1f} MB ({len(raw) / 1e6:.1f} MB); raise RAG_MAX_FILE_MB")
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):  # UTF-16 with its byte-order mark (Windows "Unicode")
        try:
            text = raw.decode("utf-16")
        except UnicodeDecodeError as exc:
            return Skipped(name, f"broken UTF-16 (at byte {exc.start}); save the article as UTF-8")
    elif b"\x00" in raw[:8192]:
        return Skipped(name, "binary file (contains NUL bytes): save the article as UTF-8 .txt or .md")
    else:
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            return Skipped(
                name,
                f"not UTF-8 (invalid byte 0x{raw[exc.start]:02x} at offset {exc.start}); "
                f"convert it, e.g. {_legacy_hint(raw, name)}",
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

    def read_text(self, path: Path, sha256: str | None = None) -> str | None:
        """The text of ``path`` as the loader indexes it, or None when it cannot be read, or its bytes no
        longer hash to ``sha256`` (when given)."""
        try:
            raw = path.read_bytes()
        except OSError:
            return None
        if sha256 is not None and hashlib.sha256(raw).hexdigest() != sha256:
            return None
        text = file_text(raw, path.name, max(self.max_bytes, len(raw)))
        return None if isinstance(text, Skipped) else text

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
