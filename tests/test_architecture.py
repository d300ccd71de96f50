"""The package's imports run one way: no cycles, nothing imported from a higher layer, and the
evaluation reaches the index and the model only through the ``RAG`` facade.

Read from the source with ``ast`` (imports inside functions and under ``TYPE_CHECKING`` count too):
``python -c "import rag"`` would not show a cycle that only lazy imports close.
"""

from __future__ import annotations

import ast
from functools import cache
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "rag"

# Lower layers never import higher ones; a module may import its own layer when that makes no cycle.
LAYERS: list[set[str]] = [
    {"rag.types", "rag.errors", "rag.settings", "rag.cache"},
    {"rag.formats", "rag.language", "rag.loading", "rag.chunking", "rag.embedding", "rag.store", "rag.lexical",
     "rag.manifest", "rag.fusion", "rag.messages"},
    {"rag.retrieval", "rag.llm", "rag.prompts", "rag.citations", "rag.evidence", "rag.streaming",
     "rag.sentence_vectors"},
    {"rag.answering", "rag.indexing"},
    {"rag.pipeline"},
    {"rag.evaluation", "rag.web", "rag.cli", "rag.render", "rag"},
]

# What the evaluation may import from the rest of the package: the facade and the types it returns.
EVALUATION_MAY_IMPORT = {"rag.pipeline", "rag.types", "rag.errors", "rag.settings", "rag.llm"}


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(path: Path) -> set[str]:
    """The ``rag`` modules ``path`` imports, anywhere in the file."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name == "rag" or a.name.startswith("rag.")}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            if node.module == "rag" or node.module.startswith("rag."):
                # `from rag.x import y`: y is a submodule (rag.x.y) or a name defined in rag.x.
                found |= {f"{node.module}.{a.name}" if _is_module(f"{node.module}.{a.name}") else node.module
                          for a in node.names}
    return found


def _is_module(name: str) -> bool:
    path = PACKAGE.parent.joinpath(*name.split("."))
    return path.with_suffix(".py").is_file() or (path / "__init__.py").is_file()


@cache  # read once per run: four tests ask (none changes it)
def import_graph() -> dict[str, set[str]]:
    graph = {module_name(p): imports_of(p) for p in sorted(PACKAGE.rglob("*.py"))}
    # A package's own submodules importing each other is fine; "rag.x" importing "rag" (its __init__) is not.
    return {m: {i for i in deps if i in graph and i != m} for m, deps in graph.items()}


def layer_of(module: str) -> int:
    for depth, layer in enumerate(LAYERS):
        if module in layer or any(module.startswith(f"{top}.") for top in layer if top != "rag"):
            return depth
    raise AssertionError(f"{module} has no layer: add it to LAYERS in {Path(__file__).name}")


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle as [a, b, ..., a], or None."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                return [*path[path.index(nxt):], nxt]
            if nxt not in state and (cycle := visit(nxt)):
                return cycle
        state[node] = 2
        path.pop()
        return None

    for start in sorted(graph):
        if start not in state and (cycle := visit(start)):
            return cycle
    return None


def test_the_package_has_no_import_cycle() -> None:
    cycle = find_cycle(import_graph())

    assert cycle is None, "import cycle: " + " -> ".join(cycle or [])


def test_no_module_imports_from_a_higher_layer() -> None:
    upward = [f"{m} (layer {layer_of(m)}) imports {d} (layer {layer_of(d)})"
              for m, deps in import_graph().items() for d in sorted(deps) if layer_of(d) > layer_of(m)]

    assert upward == []


def test_every_module_has_a_layer() -> None:
    for module in import_graph():
        layer_of(module)


def test_the_evaluation_uses_the_facade_only() -> None:
    reaching_past = [f"{m} imports {d}" for m, deps in import_graph().items() if m.startswith("rag.evaluation")
                     for d in sorted(deps) if not d.startswith("rag.evaluation") and d not in EVALUATION_MAY_IMPORT]

    assert reaching_past == []


@pytest.mark.parametrize(
    ("graph", "cycle"),
    [
        ({"a": {"b"}, "b": {"c"}, "c": {"a"}}, ["a", "b", "c", "a"]),
        ({"a": {"b"}, "b": set(), "c": {"b"}}, None),
        ({"a": {"a"}}, ["a", "a"]),
    ],
)
def test_find_cycle_finds_a_cycle_and_only_a_cycle(graph: dict[str, set[str]], cycle: list[str] | None) -> None:
    assert find_cycle(graph) == cycle


def test_lazy_imports_inside_functions_are_seen(tmp_path: Path) -> None:
    source = tmp_path / "m.py"
    source.write_text("def f():\n    from rag.pipeline import RAG\n    import rag.store\n", encoding="utf-8")

    assert imports_of(source) == {"rag.pipeline", "rag.store"}


def test_a_submodule_imported_from_its_package_is_that_submodule(tmp_path: Path) -> None:
    source = tmp_path / "m.py"
    source.write_text("from rag.evaluation import metrics, Question\nfrom rag import RAG\n", encoding="utf-8")

    assert imports_of(source) == {"rag.evaluation.metrics", "rag.evaluation", "rag"}
