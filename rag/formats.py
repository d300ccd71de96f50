"""Text out of saved web pages and PDFs, for the loader.

The extracted text is what gets chunked, so chunk and citation spans index into it, and it is what the
chat page shows when an article is opened (``Loader.load_file`` gives the same text every time for the
same bytes). Nothing here raises for one bad file: it returns ``Skipped`` with a reason.
"""

from __future__ import annotations

import io
import logging
import re

from rag.types import Skipped

log = logging.getLogger(__name__)

HTML_SUFFIXES = (".html", ".htm")
PDF_SUFFIXES = (".pdf",)

_BLANK_RUNS = re.compile(r"\n{3,}")
_TRAILING_SPACE = re.compile(r"[ \t]+\n")


def _tidy(text: str) -> str:
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\x00", "")
    return _BLANK_RUNS.sub("\n\n", _TRAILING_SPACE.sub("\n", text)).strip() + "\n"


def html_text(raw: bytes, name: str) -> str | Skipped:
    """The main text of a saved web page (menus, footers and scripts left out), its title first."""
    import trafilatura  # imported on first use: lxml and friends cost ~0.3 s

    try:
        body = trafilatura.extract(raw, include_comments=False, include_tables=True, favor_recall=True)
        meta = trafilatura.extract_metadata(raw)
    except Exception as exc:  # a broken page is one skipped file, never a failed ingest
        log.warning("cannot extract %s: %s", name, exc)
        return Skipped(name, f"cannot read this web page ({type(exc).__name__}); save it again or as .txt")
    if not body or not body.strip():
        return Skipped(name, "no article text found in this web page; save the article itself, or copy it "
                             "into a .txt file")
    title = (meta.title or "").strip() if meta is not None else ""
    # The loader takes the first line as the title: keep the page's own title there when the body lacks it.
    if title and not body.lstrip().startswith(title):
        body = f"{title}\n\n{body}"
    return _tidy(body)


def pdf_text(raw: bytes, name: str) -> str | Skipped:
    """The text layer of a PDF, pages separated by a blank line."""
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        reader = PdfReader(io.BytesIO(raw))
        if reader.is_encrypted:
            return Skipped(name, "the PDF is password-protected: save an unprotected copy")
        pages = [page.extract_text() or "" for page in reader.pages]
    except (PdfReadError, ValueError, KeyError, TypeError) as exc:
        return Skipped(name, f"cannot read this PDF ({exc}); it may be damaged: save it again")
    text = "\n\n".join(p.strip() for p in pages if p.strip())
    if not text.strip():
        return Skipped(name, "the PDF has no text layer (a scan?): run OCR on it, or paste its text into a "
                             ".txt file")
    return _tidy(text)
