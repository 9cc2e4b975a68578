"""The package's dependencies point one way: a run file's path through compose -> validate -> rules ->
check -> changes -> plan/submit -> commands. Read from the source with ast, so a new import that
points upward, or a cycle between modules, fails here before anyone has to untangle it."""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

from runrepo_testing import ROOT

PACKAGE = ROOT / "tools" / "runrepo"
LAYERS = (  # each may import only from its own layer and the ones above it in this list
    ("errors",),
    ("findings", "git", "releases"),
    ("report", "compose"),
    ("validate", "estimate"),
    ("rules",),
    ("check",),
    ("changes",),
    ("plan", "submit"),
    ("author", "lifecycle"),
    ("commands",),
    ("cli",),
)
STANDALONE = ("emulator",)  # the local platform: imports nothing of runrepo's
LEVEL = {unit: i for i, units in enumerate(LAYERS) for unit in units}


def _module(path: Path) -> str:
    rel = path.relative_to(PACKAGE).with_suffix("")
    parts = rel.parts[:-1] if rel.name == "__init__" else rel.parts
    return ".".join(parts)


def imports() -> dict[str, set[str]]:
    """module -> runrepo modules it imports (dotted, relative to the package)."""
    graph: dict[str, set[str]] = defaultdict(set)
    modules = {_module(p) for p in PACKAGE.rglob("*.py")}
    for path in PACKAGE.rglob("*.py"):
        mod = _module(path)
        package = mod.split(".") if path.name == "__init__.py" else mod.split(".")[:-1]
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.ImportFrom):
                continue
            if node.level:
                base = package[: len(package) - node.level + 1]
                target = [*base, *(node.module.split(".") if node.module else [])]
            elif node.module and node.module.split(".")[0] == "runrepo":
                target = node.module.split(".")[1:]
            else:
                continue
            names = [".".join([*target, a.name]) for a in node.names]
            found = [n for n in names if n in modules] or [".".join(target)]
            graph[mod].update(f for f in found if f and f != mod)
    return graph


def unit(module: str) -> str:
    return module.split(".")[0]


def test_every_top_level_unit_has_a_place():
    units = {unit(_module(p)) for p in PACKAGE.rglob("*.py")} - {""}
    assert units - set(LEVEL) - set(STANDALONE) == set(), "add the new package to LAYERS"


def test_no_import_points_upward():
    upward = []
    for mod, targets in imports().items():
        for target in targets:
            src, dst = unit(mod), unit(target)
            if src == dst:
                continue
            if src in STANDALONE or dst in STANDALONE and src not in ("commands", "cli"):
                upward.append(f"{mod} -> {target} (the emulator stands alone)")
            elif LEVEL.get(dst, -1) > LEVEL.get(src, -1):
                upward.append(f"{mod} -> {target}")
    assert upward == []


def test_no_import_cycles():
    graph = imports()
    state: dict[str, int] = {}
    cycles = []

    def visit(node: str, stack: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                cycles.append(" -> ".join(stack[stack.index(nxt):] + [nxt]))
            elif nxt not in state:
                visit(nxt, [*stack, nxt])
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node, [node])
    assert cycles == []
