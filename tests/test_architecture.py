"""The package layout: no import circles, and no import from a lower layer up into a higher one.

The import graph comes from grimp, which reads every import statement, the ones inside functions included (most of
seaembed imports lazily, inside the function that needs the module). The layers are in tests/architecture_layers.py.
"""

from __future__ import annotations

import grimp
import pytest
from architecture_layers import LAYERS, PACKAGE


def layer_of(name: str) -> int:
    for i, names in enumerate(LAYERS):
        if name in names:
            return i
    raise KeyError(name)


def upward_imports(graph: grimp.ImportGraph, package: str = PACKAGE) -> list[str]:
    """One line per import from a top-level name of `package` into a name of a higher layer."""
    found = []
    names = [n for layer in LAYERS for n in layer]
    for low in names:
        for high in names:
            if layer_of(high) <= layer_of(low):
                continue
            importer, imported = f"{package}.{low}", f"{package}.{high}"
            if importer not in graph.modules or imported not in graph.modules:
                continue
            if graph.direct_import_exists(importer=importer, imported=imported, as_packages=True):
                chain = graph.find_shortest_chain(importer=importer, imported=imported, as_packages=True) or ()
                found.append(f"{low} (layer {layer_of(low)}) imports {high} (layer {layer_of(high)}): "
                             + " -> ".join(chain))
    return found


def cycles_between_children(graph: grimp.ImportGraph, package: str) -> list[list[str]]:
    """The import circles between the direct children of `package` (each child taken with its descendants):
    the strongly connected components of more than one child, and children that import themselves via others."""
    children = sorted(graph.find_children(package))
    edges = {a: [b for b in children if b != a and graph.direct_import_exists(importer=a, imported=b,
                                                                              as_packages=True)]
             for a in children}
    # Tarjan's strongly connected components
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in edges[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                components.append(sorted(component))

    for v in children:
        if v not in index:
            visit(v)
    return components


def all_cycles(graph: grimp.ImportGraph, package: str = PACKAGE) -> list[str]:
    """Circles between the top-level names of `package`, and between the children of every subpackage."""
    found = []
    packages = [package] + sorted(m for m in graph.find_descendants(package) if graph.find_children(m))
    for p in packages:
        for component in cycles_between_children(graph, p):
            found.append(f"within {p}: " + ", ".join(component))
    return found


@pytest.fixture(scope="module")
def graph() -> grimp.ImportGraph:
    return grimp.build_graph(PACKAGE, cache_dir=None)


def test_every_top_level_name_has_a_layer(graph):
    top = {m.removeprefix(PACKAGE + ".") for m in graph.find_children(PACKAGE)}
    listed = {n for layer in LAYERS for n in layer}
    assert not top - listed, f"give these a layer in tests/architecture_layers.py: {sorted(top - listed)}"
    assert not listed - top, f"listed in tests/architecture_layers.py but not in {PACKAGE}: {sorted(listed - top)}"


def test_no_import_circles(graph):
    assert all_cycles(graph) == []


def test_no_upward_imports(graph):
    assert upward_imports(graph) == []


def test_serve_has_no_circles_between_its_modules(graph):
    assert cycles_between_children(graph, f"{PACKAGE}.serve") == []


def test_an_added_upward_import_is_reported():
    graph = grimp.build_graph(PACKAGE, cache_dir=None)  # a fresh one: this test changes it
    graph.add_import(importer=f"{PACKAGE}.engine.batching", imported=f"{PACKAGE}.serve.app")
    found = upward_imports(graph)
    assert len(found) == 1 and found[0].startswith("engine (layer 3) imports serve (layer 5)")


def test_an_added_circle_is_reported():
    graph = grimp.build_graph(PACKAGE, cache_dir=None)
    graph.add_import(importer=f"{PACKAGE}.serve.metrics", imported=f"{PACKAGE}.serve.app")
    graph.add_import(importer=f"{PACKAGE}.engine.batching", imported=f"{PACKAGE}.search.fusion")
    assert all_cycles(graph) == [f"within {PACKAGE}: {PACKAGE}.engine, {PACKAGE}.search",
                                 f"within {PACKAGE}.serve: {PACKAGE}.serve.app, {PACKAGE}.serve.metrics"]


def test_the_checks_on_a_small_graph():
    graph = grimp.ImportGraph()
    for m in ("pkg", "pkg.errors", "pkg.data", "pkg.data.io", "pkg.serve", "pkg.serve.app"):
        graph.add_module(m)
    graph.add_import(importer="pkg.serve.app", imported="pkg.data.io")
    assert upward_imports(graph, "pkg") == [] and all_cycles(graph, "pkg") == []
    graph.add_import(importer="pkg.data.io", imported="pkg.serve.app")
    assert upward_imports(graph, "pkg") == ["data (layer 1) imports serve (layer 5): pkg.data.io -> pkg.serve.app"]
    assert all_cycles(graph, "pkg") == ["within pkg: pkg.data, pkg.serve"]
