"""Question sets: loading and validation (``file:line: what is wrong``; nothing runs on an invalid set)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from rag.errors import QuestionSetError


@dataclass(frozen=True)
class Evidence:
    doc: str  # file name without extension
    quote: str
    start: int | None = None  # character span of the answer in the article, when known
    end: int | None = None


@dataclass(frozen=True)
class Question:
    id: str
    lang: str
    question: str
    answerable: bool
    reference_answer: str = ""
    must_include: tuple[tuple[str, ...], ...] = ()
    evidence: tuple[Evidence, ...] = ()
    history: tuple[dict[str, str], ...] = field(default_factory=tuple)  # earlier {role, content} turns
    line: int = 0


def _is_int(x: object) -> bool:
    return isinstance(x, int) and not isinstance(x, bool)


def _problem(path: Path, line: int, msg: str) -> str:
    return f"{path}:{line}: {msg}"


def _parse(row: object, path: Path, line: int, problems: list[str]) -> Question | None:
    if not isinstance(row, dict):
        problems.append(_problem(path, line, "expected a JSON object"))
        return None
    before = len(problems)
    for key, kind in (("id", str), ("lang", str), ("question", str), ("answerable", bool)):
        if key not in row:
            problems.append(_problem(path, line, f"missing field {key!r}"))
        elif not isinstance(row[key], kind):
            problems.append(_problem(path, line, f"field {key!r} must be a {kind.__name__}"))
    if isinstance(row.get("question"), str) and not row["question"].strip():
        problems.append(_problem(path, line, "empty question"))
    groups = row.get("must_include", [])
    if not isinstance(groups, list) or not all(
        isinstance(g, list) and g and all(isinstance(a, str) and a for a in g) for g in groups
    ):
        problems.append(_problem(path, line, "must_include must be a list of non-empty lists of strings"))
        groups = []
    evidence = []
    raw_evidence = row.get("evidence", [])
    if not isinstance(raw_evidence, list):
        problems.append(_problem(path, line, "evidence must be a list"))
        raw_evidence = []
    for i, ev in enumerate(raw_evidence):
        if not isinstance(ev, dict) or not isinstance(ev.get("doc"), str) or not isinstance(ev.get("quote"), str):
            problems.append(_problem(path, line, f"evidence[{i}] needs string fields 'doc' and 'quote'"))
            continue
        if not ev["quote"].strip():
            problems.append(_problem(path, line, f"evidence[{i}] has an empty quote"))
        start, end = ev.get("start"), ev.get("end")
        if (start is None) != (end is None) or (
            start is not None and not (_is_int(start) and _is_int(end) and 0 <= start < end)
        ):
            problems.append(
                _problem(path, line, f"evidence[{i}] start/end must both be given as integers, 0 <= start < end")
            )
        evidence.append(Evidence(ev["doc"], ev["quote"], start, end))
    if row.get("answerable") is True and not evidence:
        problems.append(_problem(path, line, "an answerable question needs at least one evidence quote"))
    if row.get("answerable") is False and evidence:
        problems.append(_problem(path, line, "an unanswerable question cannot have evidence"))
    history = row.get("history", [])
    if not isinstance(history, list):
        problems.append(_problem(path, line, "history must be a list of {role, content} turns"))
        history = []
    for i, turn in enumerate(history):
        if not (isinstance(turn, dict) and turn.get("role") in ("user", "assistant")
                and isinstance(turn.get("content"), str) and set(turn) == {"role", "content"}):
            problems.append(_problem(
                path, line, f'history[{i}] must be {{"role": "user" or "assistant", "content": "..."}}'
            ))
    if len(problems) > before:
        return None
    return Question(
        id=row["id"], lang=row["lang"], question=row["question"], answerable=row["answerable"],
        reference_answer=str(row.get("reference_answer", "")),
        must_include=tuple(tuple(g) for g in groups), evidence=tuple(evidence), history=tuple(history), line=line,
    )


def load_questions(path: str | Path) -> list[Question]:
    """Read and validate a JSONL question set; raise ``QuestionSetError`` listing every problem."""
    path = Path(path)
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise QuestionSetError(f"{path}: cannot read the question set ({exc})") from exc
    problems: list[str] = []
    questions: list[Question] = []
    seen: dict[str, int] = {}
    for n, text in enumerate(lines, start=1):
        if not text.strip():
            continue
        try:
            row = json.loads(text)
        except json.JSONDecodeError as exc:
            problems.append(_problem(path, n, f"invalid JSON ({exc.msg} at column {exc.colno})"))
            continue
        q = _parse(row, path, n, problems)
        if q is None:
            continue
        if q.id in seen:
            problems.append(_problem(path, n, f"duplicate id {q.id!r} (first on line {seen[q.id]})"))
            continue
        seen[q.id] = n
        questions.append(q)
    if not questions and not problems:
        problems.append(f"{path}: no questions")
    if problems:
        raise QuestionSetError("invalid question set:\n" + "\n".join(problems))
    return questions


def load_question_sets(paths: str | Path | Sequence[str | Path]) -> list[Question]:
    """Load and validate one or more question files as one set; ids must be unique across them.

    Every problem of every file is collected before raising, so nothing runs on an invalid set.
    """
    if isinstance(paths, (str, Path)):
        paths = [paths]
    if not paths:
        raise QuestionSetError("no question set given")
    problems: list[str] = []
    questions: list[Question] = []
    first_seen: dict[str, str] = {}
    for path in paths:
        try:
            loaded = load_questions(path)
        except QuestionSetError as exc:
            problems += str(exc).removeprefix("invalid question set:\n").splitlines()
            continue
        for q in loaded:
            where = f"{path}:{q.line}"
            if q.id in first_seen:
                problems.append(f"{where}: duplicate id {q.id!r} (first at {first_seen[q.id]})")
                continue
            first_seen[q.id] = where
            questions.append(q)
    if problems:
        raise QuestionSetError("invalid question set:\n" + "\n".join(problems))
    return questions


def retrieval_query(q: Question) -> str:
    """The text retrieved for ``q``: earlier user turns first, so a follow-up keeps its subject.

    Retrieval alone has no model to condense a follow-up; ``RAG.ask`` gets the history itself.
    """
    turns = [t["content"] for t in q.history if t["role"] == "user"]
    return "\n".join([*turns, q.question]) if turns else q.question
