"""Evaluation against question sets, a layer above the ``RAG`` facade.

``questions`` (load, validate), ``metrics`` (pure), ``retrieval`` and ``answers`` (scoring), ``judge``
(faithfulness), ``model`` (the report), ``corpus`` (what is searched), ``run`` (the passes), ``gates``
(floors, comparison), ``markdown``/``plots``/``output`` (the report files), ``cli`` (``rag eval``).
"""

from rag.evaluation.questions import Evidence, Question, load_question_sets, load_questions
from rag.evaluation.retrieval import RetrievalResult, evaluate_retrieval

__all__ = ["Evidence", "Question", "load_question_sets", "load_questions", "RetrievalResult", "evaluate_retrieval"]
