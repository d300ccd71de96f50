"""``rag eval``: score the product on a question set, write a report, compare, enforce floors.

``rag.cli`` adds the subcommand with ``register``. Heavy imports (Chroma, matplotlib) happen inside
the command, not when the CLI starts.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from rag.errors import ConfigError, QuestionSetError

# The project's question set, relative to the working directory: the starting set, and the
# grown set when it is there.
DEFAULT_QUESTIONS = Path("eval/questions.jsonl")
EXTRA_QUESTIONS = Path("eval/questions_extra.jsonl")
DEFAULT_OUT = Path("eval-report")


def default_question_files(cwd: Path | None = None) -> list[Path]:
    """``eval/questions.jsonl`` (required) and ``eval/questions_extra.jsonl`` (when present)."""
    base = cwd or Path.cwd()
    if not (base / DEFAULT_QUESTIONS).is_file():
        raise QuestionSetError(
            f"no question set at {base / DEFAULT_QUESTIONS}: run `rag eval` from the project folder "
            "or give QUESTIONS.jsonl"
        )
    files = [DEFAULT_QUESTIONS] + ([EXTRA_QUESTIONS] if (base / EXTRA_QUESTIONS).is_file() else [])
    return files if cwd is None else [base / f for f in files]


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``eval`` to the ``rag`` command."""
    p = subparsers.add_parser(
        "eval", help="score retrieval (and answers) on a question set and write a report",
        description="Score the product on a JSONL question set: retrieval always, answers when a model "
        "is reachable. Writes report.json, report.md and plots to --out.",
    )
    p.add_argument("questions", nargs="*", type=Path, metavar="QUESTIONS.jsonl",
                   help=f"question files, merged (default: {DEFAULT_QUESTIONS} and {EXTRA_QUESTIONS})")
    p.add_argument("--retrieval-only", action="store_true", help="score retrieval only; needs no model (CI)")
    p.add_argument("--k", type=int, default=5, help="passages retrieved per question (default 5)")
    p.add_argument("--out", type=Path, default=DEFAULT_OUT, help=f"report folder (default {DEFAULT_OUT}/)")
    p.add_argument("--compare", type=Path, metavar="PREVIOUS.json",
                   help="an earlier report.json to compare with")
    p.add_argument("--min", action="append", default=[], metavar="METRIC=VALUE", dest="floors",
                   help="fail (exit 1) when METRIC is below VALUE, e.g. hit@5=0.8 (repeatable)")
    p.add_argument("--corpus", type=Path, metavar="DIR",
                   help="index this folder (the set's own articles) into its own cached data folder and "
                   "evaluate against it instead of the news index")
    p.add_argument("--no-translate", action="store_true", help="ask without translating the question")
    p.add_argument("--judge", action="store_true",
                   help="also ask the model to judge each answer's faithfulness")
    p.set_defaults(func=cmd_eval)


def cmd_eval(args: argparse.Namespace) -> int:
    from rag.evaluation.gates import check_floors, compare, parse_floors
    from rag.evaluation.markdown import render_comparison, summary_table
    from rag.evaluation.output import check_out_dir, write_report
    from rag.evaluation.questions import load_question_sets
    from rag.evaluation.run import evaluate
    from rag.pipeline import RAG
    from rag.settings import Settings

    if args.k < 1:
        raise ConfigError("--k must be at least 1")
    # Everything that can be wrong with the arguments is reported before anything runs.
    floors = parse_floors(args.floors, args.k, args.retrieval_only)
    files = list(args.questions) or default_question_files()
    load_question_sets(files)
    if args.compare is not None and not args.compare.is_file():
        raise ConfigError(f"--compare {args.compare}: no such file (give an earlier report.json)")
    check_out_dir(args.out)

    settings = Settings(**({"data_dir": args.data_dir} if getattr(args, "data_dir", None) else {}))
    rag = RAG(settings)
    report = evaluate(
        rag, files, k=args.k, retrieval_only=args.retrieval_only, corpus=args.corpus,
        translate=False if args.no_translate else None, judge=args.judge, progress=sys.stderr.isatty(),
    )
    if args.compare is not None:
        report.comparison = compare(report, args.compare)
    paths = write_report(report, args.out)
    print(summary_table(report))
    if report.comparison is not None:
        print(render_comparison(report.comparison))
    print(f"report: {paths['markdown']} (data: {paths['json']}; plots: {paths['hit_plot'].name}, "
          f"{paths['latency_plot'].name})")
    failed = check_floors(report, floors)
    for message in failed:
        print(f"floor not met: {message}", file=sys.stderr)
    if report.partial:
        print("interrupted: the report holds what was scored so far", file=sys.stderr)
        return 130
    return 1 if failed else 0
