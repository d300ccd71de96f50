"""Question answering over a multilingual news corpus.

>>> from rag import RAG
>>> rag = RAG()                                  # doctest: +SKIP
>>> rag.ingest()                                 # doctest: +SKIP
>>> rag.retrieve("When did Lavrov meet Kim?")    # doctest: +SKIP
"""

from rag.errors import RagError
from rag.pipeline import RAG
from rag.settings import Settings
from rag.streaming import AnswerStream, Evidence
from rag.types import Answer, Citation, IngestReport, Passage

__all__ = ["RAG", "Settings", "Passage", "Answer", "AnswerStream", "Citation", "Evidence", "IngestReport", "RagError"]
