"""Evaluation against question sets: validation, metrics, reports."""

from rag.evaluation.questions import Evidence, Question, load_questions
from rag.evaluation.retrieval import RetrievalResult, evaluate_retrieval

__all__ = ["Evidence", "Question", "load_questions", "RetrievalResult", "evaluate_retrieval"]
