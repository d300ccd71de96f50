"""Saved web pages and PDFs: their main text is extracted, indexed, and cited with spans into that text."""

from __future__ import annotations

from pathlib import Path

import pytest

from rag.formats import html_text, pdf_text
from rag.types import Skipped

FESTIVAL = ("The Harbor Lantern Festival of Port Velmora opened on 3 March 2025 with twelve thousand paper "
            "lanterns.")
MAYOR = "The mayor of Port Velmora, Ilse Marrak, said the festival will now be held every spring."

PAGE = f"""<!doctype html><html><head><title>Lanterns return to Port Velmora</title>
<script>var tracking = "do not index me";</script><style>p {{ color: red }}</style></head>
<body><nav><a href="/">Home</a> | <a href="/news">News</a> | <a href="/login">Subscribe now</a></nav>
<article><h1>Lanterns return to Port Velmora</h1><p>{FESTIVAL}</p><p>{MAYOR}</p>
<p>Visitors came from the whole coast, and the harbour stayed open until midnight on every festival night.</p>
</article><footer>Copyright 2025 Velmora Daily. All rights reserved. Cookie settings.</footer></body></html>"""


def make_pdf(path: Path, paragraphs: list[str]) -> Path:
    """A real PDF with a text layer, written by fpdf2 (pages of Helvetica text)."""
    from fpdf import FPDF

    pdf = FPDF()
    pdf.add_page()
    pdf.set_font("Helvetica", size=12)
    for paragraph in paragraphs:
        pdf.multi_cell(0, 8, paragraph)
        pdf.ln(4)
    pdf.output(str(path))
    return path


def test_a_web_page_gives_its_article_text_without_menus_scripts_or_footer() -> None:
    text = html_text(PAGE.encode(), "page.html")
    assert isinstance(text, str)
    assert text.startswith("Lanterns return to Port Velmora")
    assert FESTIVAL in text and MAYOR in text
    for chrome in ("Subscribe now", "do not index me", "Cookie settings", "color: red"):
        assert chrome not in text


def test_a_web_page_without_article_text_is_skipped_with_a_reason() -> None:
    result = html_text(b"<html><head><script>var a = 1;</script></head><body> </body></html>", "empty.html")
    assert isinstance(result, Skipped) and "no article text" in result.reason


def test_a_pdf_gives_its_text_layer(tmp_path: Path) -> None:
    raw = make_pdf(tmp_path / "a.pdf", ["Lanterns return to Port Velmora", FESTIVAL, MAYOR]).read_bytes()
    text = pdf_text(raw, "a.pdf")
    assert isinstance(text, str)
    flat = " ".join(text.split())
    assert "Lanterns return to Port Velmora" in flat and "3 March 2025" in flat and "Ilse Marrak" in flat


def test_a_damaged_pdf_is_skipped_with_a_reason() -> None:
    result = pdf_text(b"%PDF-1.7\nthis is not a pdf body", "broken.pdf")
    assert isinstance(result, Skipped) and "PDF" in result.reason


def test_a_pdf_without_text_is_skipped_as_a_scan(tmp_path: Path) -> None:
    from fpdf import FPDF

    pdf = FPDF()
    pdf.add_page()
    pdf.rect(10, 10, 50, 50)
    pdf.output(str(tmp_path / "scan.pdf"))
    result = pdf_text((tmp_path / "scan.pdf").read_bytes(), "scan.pdf")
    assert isinstance(result, Skipped) and "no text layer" in result.reason


@pytest.mark.slow
def test_html_and_pdf_articles_are_ingested_and_spans_index_into_the_extracted_text(
    tmp_path: Path, settings, make_rag
) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "lanterns.html").write_text(PAGE, encoding="utf-8")
    make_pdf(docs / "report.pdf", ["Quarry report of the Orlen valley",
                                   "The Orlen valley quarry closed on 12 May 2024 after ninety years of work.",
                                   "Its last owner, Dario Vesk, sold the land to the region."])
    rag = make_rag(settings)
    report = rag.ingest(docs)
    assert report.files_indexed == 2 and not report.skipped
    extracted = {
        "lanterns.html": html_text((docs / "lanterns.html").read_bytes(), "lanterns.html"),
        "report.pdf": pdf_text((docs / "report.pdf").read_bytes(), "report.pdf"),
    }
    for question, source, words in [("When did the Harbor Lantern Festival open?", "lanterns.html", "3 March"),
                                    ("When did the Orlen valley quarry close?", "report.pdf", "12 May")]:
        passage = rag.retrieve(question, top_k=1)[0]
        assert passage.source == source
        # The span is meaningful: it cuts the passage's text out of the extracted article text.
        assert extracted[source][passage.start:passage.end] == passage.text
        assert words in passage.text
        # The articles view shows the same extracted text, so highlights land where they should.
        doc = next(d for d in rag.documents() if d.source == source)
        assert rag.document_text(doc.doc_id) == extracted[source]
