"""docs/architecture.md, enforced: every module imports, no import cycle, no forbidden import.

The import graph is read from each file's AST (so a module that is never imported is still
checked). Cycles are looked for among module-level imports; forbidden imports count wherever they
stand, function bodies included: a lazy import of click in the engine is still the engine
depending on click.
"""

from __future__ import annotations

import ast
import importlib
import pkgutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

import drkit

ROOT = Path(drkit.__file__).parent

# Only the CLI layer talks to the terminal through click.
CLICK_ALLOWED = ("drkit.cli", "drkit.commands", "drkit.lab.cli")
# The pure core: plain values in and out, tested without servers. Checked with everything it
# imports from drkit at module level.
PURE = ("drkit.mm2.codec", "drkit.mm2.policy", "drkit.mm2.model", "drkit.mm2.versions",
        "drkit.kafka.groups", "drkit.offsets.plan", "drkit.offsets.inputs",
        "drkit.offsets.checkpoint_planner", "drkit.offsets.options",
        "drkit.offsets.readiness", "drkit.runbook.spec",
        "drkit.runbook.condition", "drkit.status.model", "drkit.status.evaluate", "drkit.text",
        "drkit.textsafe", "drkit.errors", "drkit.drill.report", "drkit.drill.content")
IO_LIBRARIES = ("confluent_kafka", "socket", "boto3", "botocore", "dns", "subprocess",
                "tenacity", "click")
# package -> drkit packages it must not import (docs/architecture.md, "What each package owns").
UPPER = ("drkit.offsets", "drkit.dns", "drkit.drill", "drkit.runbook", "drkit.status",
         "drkit.commands", "drkit.cli", "drkit.lab")
FORBIDDEN: dict[str, tuple[str, ...]] = {
    "drkit.errors": ("drkit.",),
    # text clips through textsafe (one clip), so it may import that one base module.
    "drkit.text": ("drkit.config", "drkit.errors", "drkit.statedir", "drkit.failpoints",
                   "drkit.kafka", "drkit.mm2", *UPPER),
    "drkit.textsafe": ("drkit.",),
    # statedir raises errors.StateDirError (exit 2), so it may import that one base module.
    "drkit.statedir": ("drkit.config", "drkit.text", "drkit.textsafe", "drkit.failpoints",
                       "drkit.kafka", "drkit.mm2", *UPPER),
    "drkit.failpoints": ("drkit.",),
    # the test clock (DRKIT_NOW_MS) refuses a bad value with errors.ConfigError: that one only.
    "drkit.clock": ("drkit.config", "drkit.text", "drkit.textsafe", "drkit.statedir",
                    "drkit.failpoints", "drkit.kafka", "drkit.mm2", *UPPER),
    # the one readiness rule judges facts it is given, "now" included: it imports no drkit
    # module (not even the clock), so status, plan and preflight feed it the same way.
    "drkit.offsets.readiness": ("drkit.",),
    "drkit.config": ("drkit.kafka", *UPPER),
    "drkit.kafka": UPPER,
    "drkit.mm2": UPPER,
    "drkit.offsets": ("drkit.dns", "drkit.drill", "drkit.runbook", "drkit.status",
                      "drkit.commands", "drkit.cli", "drkit.lab"),
    "drkit.dns": ("drkit.kafka", "drkit.mm2", "drkit.offsets", "drkit.drill", "drkit.runbook",
                  "drkit.status", "drkit.commands", "drkit.cli", "drkit.lab"),
    # the drill's report model, content matching, windows, history and renderers: base
    # modules, kafka (clients) and mm2.model; the runbook's drill steps drive them.
    "drkit.drill": ("drkit.config", "drkit.offsets", "drkit.dns", "drkit.runbook",
                    "drkit.status", "drkit.commands", "drkit.cli", "drkit.lab"),
    "drkit.runbook": ("drkit.status", "drkit.commands", "drkit.cli", "drkit.lab"),
    "drkit.status": ("drkit.commands", "drkit.cli", "drkit.lab"),
}
# The kafka layer hands plain values to the planners; it never imports one (only mm2.model).
KAFKA_MAY_IMPORT_FROM_MM2 = ("drkit.mm2.model",)
# status shows the last passing drill: it reads the drill history, nothing else of drill/.
STATUS_MAY_IMPORT_FROM_DRILL = ("drkit.drill.history",)


@dataclass(frozen=True)
class Import:
    target: str  # absolute module name (a drkit module, or a third-party top-level name)
    line: int
    top_level: bool


def module_files() -> dict[str, Path]:
    out = {}
    for path in ROOT.rglob("*.py"):
        rel = path.relative_to(ROOT.parent).with_suffix("")
        parts = list(rel.parts)
        if parts[-1] == "__init__":
            parts.pop()
        out[".".join(parts)] = path
    return out


MODULES = module_files()


def _resolve(name: str, module: str, is_package: bool, level: int) -> str:
    if level == 0:
        return name
    base = module.split(".")
    base = base if is_package else base[:-1]
    base = base[: len(base) - (level - 1)]
    return ".".join([*base, name] if name else base)


def imports_of(module: str) -> Iterator[Import]:
    path = MODULES[module]
    tree = ast.parse(path.read_text(), str(path))
    is_package = path.name == "__init__.py"
    top = {id(n) for n in tree.body}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield Import(alias.name, node.lineno, id(node) in top)
        elif isinstance(node, ast.ImportFrom):
            if node.module == "__future__":
                continue
            base = _resolve(node.module or "", module, is_package, node.level)
            for alias in node.names:  # ``from drkit.kafka import clients`` imports a module
                sub = f"{base}.{alias.name}"
                yield Import(sub if sub in MODULES else base, node.lineno, id(node) in top)


def drkit_graph(top_level_only: bool) -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {m: set() for m in MODULES}
    for module in MODULES:
        for imp in imports_of(module):
            if imp.target in MODULES and imp.target != module and (
                    imp.top_level or not top_level_only):
                graph[module].add(imp.target)
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                found.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def _in(module: str, prefixes: tuple[str, ...]) -> bool:
    return any(module == p or module.startswith(p if p.endswith(".") else p + ".")
               for p in prefixes)


def test_every_module_imports() -> None:
    names = [m.name for m in pkgutil.walk_packages(drkit.__path__, "drkit.")
             if not m.name.endswith("__main__")]
    assert set(names) | {"drkit"} >= set(MODULES) - {"drkit.__main__"}
    for name in names:
        importlib.import_module(name)


def test_no_import_cycle_among_drkit_modules() -> None:
    assert cycles(drkit_graph(top_level_only=True)) == []


def test_the_cycle_finder_finds_a_cycle() -> None:
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def violations() -> list[str]:
    found = []
    graph_all = drkit_graph(top_level_only=False)
    for module in sorted(MODULES):
        for imp in imports_of(module):
            where = f"{module}:{imp.line} imports {imp.target}"
            if imp.target.split(".")[0] == "click" and not _in(module, CLICK_ALLOWED):
                found.append(f"{where}: only the CLI layer ({', '.join(CLICK_ALLOWED)}) may")
            for pkg, banned in FORBIDDEN.items():
                if _in(module, (pkg,)) and imp.target.startswith("drkit.") and _in(
                        imp.target, banned) and not _in(imp.target, (pkg,)):
                    found.append(f"{where}: {pkg} must not import {', '.join(banned)}")
            if (_in(module, ("drkit.kafka",)) and _in(imp.target, ("drkit.mm2",))
                    and imp.target not in KAFKA_MAY_IMPORT_FROM_MM2):
                found.append(f"{where}: the kafka layer imports only drkit.mm2.model from mm2")
            if (_in(module, ("drkit.status",)) and _in(imp.target, ("drkit.drill",))
                    and imp.target not in STATUS_MAY_IMPORT_FROM_DRILL):
                found.append(f"{where}: status imports only drkit.drill.history from drill")
    for module in PURE:
        for dep in sorted(_closure(module, graph_all)):
            for imp in imports_of(dep):
                if imp.top_level and imp.target.split(".")[0] in IO_LIBRARIES:
                    via = "" if dep == module else f" (via {dep})"
                    found.append(f"pure {module} imports {imp.target}{via}")
    return found


def _closure(module: str, graph: dict[str, set[str]]) -> set[str]:
    seen, todo = {module}, [module]
    while todo:
        for dep in graph[todo.pop()]:
            if dep not in seen and not dep.endswith("__init__"):
                seen.add(dep)
                todo.append(dep)
    return seen


def test_no_forbidden_import() -> None:
    assert violations() == []


@pytest.mark.parametrize(("module", "source", "expected"), [
    ("drkit.runbook.steps.approve", "import click\n", "only the CLI layer"),
    ("drkit.kafka.admin", "from drkit.offsets.checkpoint_planner import build_plan\n",
     "drkit.kafka must not import"),
    ("drkit.offsets.plan", "import confluent_kafka\n", "pure drkit.offsets.plan imports"),
    ("drkit.status.collect", "from drkit.drill.render import table\n",
     "status imports only drkit.drill.history"),
    ("drkit.drill.history", "from drkit.runbook.state import RunState\n",
     "drkit.drill must not import"),
    ("drkit.drill.content", "import confluent_kafka\n", "pure drkit.drill.content imports"),
    ("drkit.offsets.readiness", "import confluent_kafka\n",
     "pure drkit.offsets.readiness imports"),
    ("drkit.offsets.readiness", "from drkit import clock\n",
     "drkit.offsets.readiness must not import"),
    ("drkit.clock", "from drkit.config import Settings\n", "drkit.clock must not import"),
])
def test_the_rules_catch_a_bad_import(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                      module: str, source: str, expected: str) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text(MODULES[module].read_text() + "\n" + source)
    monkeypatch.setitem(MODULES, module, bad)
    assert any(expected in v for v in violations())
