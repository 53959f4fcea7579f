"""Layers point down only. Every import in src/ (function-level ones too: they hide cycles, they
do not remove them) is read with ``ast``; imports under ``if TYPE_CHECKING:`` are annotations,
not dependencies."""
from __future__ import annotations

import ast
from pathlib import Path

PKG = "seg_by_interaction"
SRC = Path(__file__).resolve().parents[1] / "src" / PKG

# The lower layers: the building blocks the loop, the evaluation and the nodes are made of.
LOWER = ("types", "cameras", "assets", "sim", "perception", "labeling", "grasping", "data")
# What they may never import: the applications built on them.
UPPER = ("ros", "rearrangement", "evaluation")
# Packages beside the product that the product never imports: research and test support.
OUTSIDE = ("sbi_research", "support")


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _type_checking_only(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or \
        (isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def imports_of(source: str) -> set[str]:
    """The package's modules that ``source`` imports, at any nesting level."""
    found: set[str] = set()

    def visit(node):
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and _type_checking_only(child):
                for sub in child.orelse:
                    visit(sub)
                continue
            if isinstance(child, ast.Import):
                found.update(a.name for a in child.names)
            elif isinstance(child, ast.ImportFrom) and child.level == 0 and child.module:
                found.add(child.module)
                found.update(f"{child.module}.{a.name}" for a in child.names)
            visit(child)

    visit(ast.parse(source))
    return {m for m in found if m == PKG or m.startswith(PKG + ".")
            or m.split(".")[0] in OUTSIDE or m.split(".")[0] == "rospy"}


def import_graph() -> dict[str, set[str]]:
    modules = {_module_name(p): p for p in SRC.rglob("*.py")}
    graph = {}
    for name, path in modules.items():
        targets = set()
        for imported in imports_of(path.read_text()):
            while imported not in modules and "." in imported:   # pkg.mod.Name -> pkg.mod
                imported = imported.rsplit(".", 1)[0]
            if imported in modules and imported != name:
                targets.add(imported)
            elif imported.split(".")[0] in OUTSIDE + ("rospy",):
                targets.add(imported.split(".")[0])
        graph[name] = targets
    return graph


def layer(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def layer_violations(graph: dict[str, set[str]]) -> list[str]:
    bad = []
    for mod, targets in sorted(graph.items()):
        for t in sorted(targets):
            if layer(mod) in LOWER and layer(t) in UPPER:
                bad.append(f"{mod} imports {t}")
            if layer(mod) == "perception" and layer(t) == "training":
                bad.append(f"{mod} imports {t} (training is built on perception)")
            if layer(mod) == "types" and layer(t) != "types":
                bad.append(f"{mod} imports {t} (types is the bottom layer)")
            if layer(mod) == "assets" and layer(t) not in ("assets", "types", "config", "cli"):
                bad.append(f"{mod} imports {t} (the asset build step sits below the simulator)")
            if t in OUTSIDE:
                bad.append(f"{mod} imports {t} (the product never imports research or test support)")
            if t == "rospy" and layer(mod) != "ros":
                bad.append(f"{mod} imports rospy (only seg_by_interaction.ros talks to ROS)")
    return bad


def layer_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Cycles between the package's subpackages (strongly connected components > 1)."""
    edges: dict[str, set[str]] = {}
    for mod, targets in graph.items():
        for t in targets:
            if t in OUTSIDE or t == "rospy":
                continue
            if layer(mod) != layer(t):
                edges.setdefault(layer(mod), set()).add(layer(t))
    index, low, stack, on, out = {}, {}, [], set(), []

    def strong(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in edges.get(v, ()):
            if w not in index:
                strong(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(edges):
        if v not in index:
            strong(v)
    return out


def test_lower_layers_do_not_import_upper_ones():
    assert layer_violations(import_graph()) == []


def test_no_import_cycles_between_subpackages():
    assert layer_cycles(import_graph()) == []


def test_rules_catch_hidden_upward_imports():
    src = ("from typing import TYPE_CHECKING\n"
           "if TYPE_CHECKING:\n    from seg_by_interaction.ros.params import node_config\n"
           "def f():\n    from seg_by_interaction.training.trainer import Trainer\n")
    assert imports_of(src) == {"seg_by_interaction.training.trainer",
                               "seg_by_interaction.training.trainer.Trainer"}
    graph = {"seg_by_interaction.perception.inference": {"seg_by_interaction.training.trainer"},
             "seg_by_interaction.training.trainer": {"seg_by_interaction.perception.inference"},
             "seg_by_interaction.sim.arena": {"seg_by_interaction.ros.nodes.sim_arena"},
             "seg_by_interaction.ros.nodes.sim_arena": set(),
             "seg_by_interaction.loop.runner": {"sbi_research", "rospy"}}
    assert layer_violations(graph) == [
        "seg_by_interaction.loop.runner imports rospy (only seg_by_interaction.ros talks to ROS)",
        "seg_by_interaction.loop.runner imports sbi_research (the product never imports research "
        "or test support)",
        "seg_by_interaction.perception.inference imports seg_by_interaction.training.trainer "
        "(training is built on perception)",
        "seg_by_interaction.sim.arena imports seg_by_interaction.ros.nodes.sim_arena"]
    assert layer_cycles(graph) == [["perception", "training"]]


def _loaded_by(module: str) -> set[str]:
    import subprocess
    import sys
    code = (f"import sys, {module}; "
            f"print('\\n'.join(m for m in sys.modules if m.startswith('{PKG}')))")
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True)
    return set(out.stdout.split())


def test_fresh_interpreter_imports_stay_in_their_layer():
    assert _loaded_by(f"{PKG}.types") == {PKG, f"{PKG}.types"}
    loaded = {layer(m) for m in _loaded_by(f"{PKG}.perception.inference")}
    assert not loaded & {"training", *UPPER}, loaded
