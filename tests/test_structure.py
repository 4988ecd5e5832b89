"""The package's import graph: no circles, and no import from a lower layer up to a higher one
(the layers are described in gansweep/__init__.py)."""
from __future__ import annotations

import ast
from pathlib import Path

import gansweep

PACKAGE = Path(gansweep.__file__).parent
# The layers of gansweep/__init__.py's docstring, lowest first (kept out of the package, whose
# __init__ every stage imports: a dvc.yaml dep of all of them).
LAYERS = (
    ("registry", "seeding", "overrides", "paths", "tracking", "budget", "stats", "grids", "ema", "regularizers"),
    ("nn", "augment", "losses", "data", "metrics"),
    ("config", "space", "protocol"),
    ("stage", "module", "callbacks", "generators", "train", "evaluate"),
    ("storage", "study", "study_results", "report"),
    ("cli",),
)


def modules() -> dict[str, Path]:
    found = {}
    for path in PACKAGE.rglob("*.py"):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


def import_graph() -> dict[str, set[str]]:
    """Module -> the gansweep modules it imports (at the top or inside functions)."""
    known = modules()
    graph = {}
    for name, path in known.items():
        deps = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "gansweep":
                for alias in node.names:  # `from gansweep import tracking` imports the module gansweep.tracking
                    full = f"{node.module}.{alias.name}"
                    deps.add(full if full in known else node.module)
            elif isinstance(node, ast.Import):
                deps.update(alias.name for alias in node.names if alias.name.split(".")[0] == "gansweep")
        graph[name] = {dep for dep in deps if dep != name and dep != "gansweep"}
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    found = []
    for start in sorted(graph):
        stack = [(start, [start])]
        while stack:
            node, path = stack.pop()
            for dep in sorted(graph.get(node, ())):
                if dep == start:
                    found.append(path + [dep])
                elif dep not in path and dep > start:  # each circle once, from its smallest module
                    stack.append((dep, path + [dep]))
    return found


def layer_of(module: str) -> int:
    top = module.split(".")[1]
    for index, layer in enumerate(LAYERS):
        if top in layer:
            return index
    raise AssertionError(f"{module} is in no layer of LAYERS: declare it there")


def test_the_checks_find_a_circle_and_an_upward_import():
    """The checks themselves, on a graph that has both faults."""
    graph = {"gansweep.config": {"gansweep.space"}, "gansweep.space": {"gansweep.config"}, "gansweep.losses": {"gansweep.study"}}
    assert cycles(graph) == [["gansweep.config", "gansweep.space", "gansweep.config"]]
    assert layer_of("gansweep.losses") < layer_of("gansweep.study")


def test_the_graph_sees_every_kind_of_import():
    graph = import_graph()
    assert "gansweep.tracking" in graph["gansweep.study"]  # from gansweep import tracking
    assert "gansweep.nn.networks" in graph["gansweep.config"]  # from gansweep.nn.networks import ...
    assert "gansweep.config" in graph["gansweep.cli"]  # only inside functions


def test_no_import_circles():
    assert cycles(import_graph()) == []


def test_no_module_imports_from_a_higher_layer():
    upward = [f"{module} (layer {layer_of(module) + 1}) imports {dep} (layer {layer_of(dep) + 1})"
              for module, deps in sorted(import_graph().items()) if module != "gansweep"
              for dep in sorted(deps) if layer_of(dep) > layer_of(module)]
    assert upward == []
