"""The shape of the code: module dependencies form a DAG, and modules keep out of each
other's private names. Read from the source with ``ast``; nothing is imported or run.

**The import graph** (:func:`import_graph`), one node per module file (a package is its
``__init__.py``), one edge per import of another node:

* every import counts, wherever it is: at the top level, inside a function (a lazy import
  is still a dependency of the design), under ``if TYPE_CHECKING:``;
* ``import a.b.c``, ``from a.b import c`` and ``from .b import c`` with ``c`` a submodule
  are edges to ``a.b.c``; relative imports are resolved against the importing module's
  package (``from .. import x`` climbs one package more). The parent packages that Python
  runs first (``a``, ``a.b``) are not edges: importing a submodule does not use its
  package's ``__init__``;
* ``from P import n`` with ``n`` not a submodule is an edge to the module that defines
  ``n``: when ``P/__init__.py`` re-exports it (a top-level ``from .m import n``), to
  ``P.m``, following re-exports further; else to ``P`` itself (``n`` defined in the
  ``__init__``, or made there on demand by a module ``__getattr__``);
* ``import P`` is an edge to ``P``.

So a package's ``__init__`` importing its own submodules to re-export names never makes a
cycle by itself: ``from resim import NetlistError`` depends on ``resim.errors``, not on
everything ``resim/__init__.py`` imports. But a module that uses the facade itself
(``import resim; resim.solve(...)``: ``resim.__getattr__`` imports ``resim.api``) depends
on the ``__init__`` and, through it, on ``resim.api``: inside resim that is a cycle
whenever ``resim.api`` reaches the module back, and it is reported.

``resim/`` and ``bench/`` are checked separately; bench's scripts import each other by
their plain names (``sys.path`` holds ``bench/``), so there a module's name is its file
stem. A module importing itself is not a cycle.

**Layers** (:data:`LAYERS`, :func:`layer_violations`): resim's modules in layers, lowest
first, as docs/architecture.md draws them. A module may import modules of its own layer
and of the layers below, never one above: the element graph knows no solver, the solvers
no command line. Every module must be in a layer (a new one is placed on purpose).

**Private names** (:func:`private_uses`): a name that starts with one underscore (not a
``__dunder__``) belongs to its module. Reported, as (module, name) pairs: ``from m import
_n``, and ``m._n`` for every attribute chain rooted at a name bound to an imported module
(``cd._x``, ``resim.solvers.cd._x``). A private *module* (``resim/_launch.py``) belongs to
its package: modules inside that package may import it. The rule holds for ``resim/`` and
for ``bench/`` (a benchmark is a client of resim: what it needs should be public), not for
``tests/``, which test private helpers directly on purpose.
"""

from __future__ import annotations

import ast
import textwrap
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]

Graph = dict[str, set[str]]


# ---- reading the source ------------------------------------------------------------------


def module_table(root: Path, base: Path) -> dict[str, Path]:
    """Dotted module names of the ``.py`` files under ``root``, relative to ``base``
    (``base/resim/solvers/cd.py`` -> ``resim.solvers.cd``; a package is its ``__init__``)."""
    table = {}
    for path in sorted(root.rglob("*.py")):
        parts = list(path.relative_to(base).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        table[".".join(parts)] = path
    return table


def _package(name: str, path: Path) -> str:
    """The package a module's relative imports start from."""
    return name if path.name == "__init__.py" else name.rpartition(".")[0]


def _base(name: str, path: Path, node: ast.ImportFrom) -> str | None:
    """The absolute module ``node`` imports from (None: above the top package)."""
    if not node.level:
        return node.module
    package = _package(name, path)
    parts = package.split(".") if package else []
    if node.level - 1 > len(parts):
        return None
    parts = parts[: len(parts) - (node.level - 1)]
    return ".".join(parts + ([node.module] if node.module else [])) or None


class Source:
    """The parsed modules of one or more trees, and how names resolve among them."""

    def __init__(self, table: dict[str, Path]) -> None:
        self.table = table
        self.trees = {name: ast.parse(path.read_text(), str(path)) for name, path in table.items()}

    def _reexported(self, package: str) -> dict[str, str]:
        """Names ``package/__init__.py`` binds at its top level by ``from M import n``: n -> M."""
        out = {}
        for node in self.trees[package].body:
            src = _base(package, self.table[package], node) if isinstance(node, ast.ImportFrom) else None
            if src is not None:
                out.update((alias.asname or alias.name, src) for alias in node.names if alias.name != "*")
        return out

    def definer(self, module: str, name: str, depth: int = 0) -> str:
        """The module that defines ``name`` as seen in ``module``: its submodule ``name``, or
        where a package's ``__init__`` re-exports it from (followed further), or ``module``."""
        if f"{module}.{name}" in self.table:
            return f"{module}.{name}"
        if module not in self.table or self.table[module].name != "__init__.py" or depth > 20:
            return module
        src = self._reexported(module).get(name)
        return module if src is None or src not in self.table else self.definer(src, name, depth + 1)

    def imports(self, name: str) -> list[tuple[str, str | None]]:
        """Every import in module ``name``, anywhere in it: (module imported, name taken
        from it or None), modules resolved to absolute names, unknown modules dropped."""
        out = []
        for node in ast.walk(self.trees[name]):
            if isinstance(node, ast.Import):
                out += [(alias.name, None) for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                src = _base(name, self.table[name], node)
                if src is not None:
                    out += [(src, alias.name) for alias in node.names]
        return [(m, n) for m, n in out if _known(self.table, m)]

    def edges(self, name: str) -> set[str]:
        """The modules ``name`` depends on (the rules of the module docstring)."""
        out = set()
        for module, taken in self.imports(name):
            if taken is None or taken == "*":
                out.add(_longest_known(self.table, module))
            else:
                out.add(self.definer(_longest_known(self.table, module), taken))
        out.discard(name)
        return out


def _known(table: dict[str, Path], module: str) -> bool:
    return any(module == m or module.startswith(m + ".") for m in table)


def _longest_known(table: dict[str, Path], module: str) -> str:
    """``module``, or the longest prefix of it that is a module of ``table``."""
    parts = module.split(".")
    while ".".join(parts) not in table:
        parts.pop()
    return ".".join(parts)


def import_graph(source: Source, names: list[str] | None = None) -> Graph:
    """Module -> the modules it imports, for ``names`` (default: all), within them."""
    names = sorted(source.table) if names is None else names
    keep = set(names)
    return {n: {m for m in source.edges(n) if m in keep} for n in names}


def find_cycles(graph: Graph) -> list[list[str]]:
    """One cycle ``[a, b, ..., a]`` in each strongly connected part of ``graph`` that has one."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    parts: list[list[str]] = []

    def connect(v: str) -> None:  # Tarjan's algorithm
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                connect(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            part = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                part.append(w)
                if w == v:
                    break
            parts.append(part)

    for v in sorted(graph):
        if v not in index:
            connect(v)
    return [_cycle_in(graph, set(p)) for p in parts if len(p) > 1 or min(p) in graph[min(p)]]


def _cycle_in(graph: Graph, part: set[str]) -> list[str]:
    """A cycle through the smallest module of the strongly connected ``part`` (breadth first: a shortest one)."""
    start = min(part)
    came_from: dict[str, str] = {}
    frontier = [start]
    while frontier:
        nxt = []
        for v in frontier:
            for w in sorted(graph[v] & part):
                if w == start:
                    path = [v]
                    while path[-1] != start:
                        path.append(came_from[path[-1]])
                    return [start, *reversed(path[:-1]), start]
                if w not in came_from:
                    came_from[w] = v
                    nxt.append(w)
        frontier = nxt
    raise AssertionError(f"no cycle in the strongly connected part {sorted(part)}")


def _private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def private_uses(source: Source, names: list[str]) -> set[tuple[str, str, str]]:
    """(user, module, private name) for each use of another module's private name in
    ``names`` (the rules of the module docstring)."""
    table, found = source.table, set()
    for user in names:
        bound: dict[str, str] = {}  # local name -> module (any scope: a lazy import binds too)
        for node in ast.walk(source.trees[user]):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    if _known(table, alias.name):
                        target = alias.name if alias.asname else alias.name.split(".")[0]
                        if target in table:
                            bound[alias.asname or target] = target
            elif isinstance(node, ast.ImportFrom):
                src = _base(user, table[user], node)
                if src is None or not _known(table, src):
                    continue
                src = _longest_known(table, src)
                for alias in node.names:
                    sub = f"{src}.{alias.name}"
                    if sub in table:
                        bound[alias.asname or alias.name] = sub
                        if _private(alias.name) and not (user == src or user.startswith(src + ".")):
                            found.add((user, src, alias.name))
                    elif _private(alias.name) and src != user:
                        found.add((user, source.definer(src, alias.name), alias.name))
        for node in ast.walk(source.trees[user]):
            if isinstance(node, ast.Attribute):
                chain = _chain(node)
                if chain and chain[0] in bound:
                    module, rest = bound[chain[0]], chain[1:]
                    while rest and f"{module}.{rest[0]}" in table:
                        module, rest = f"{module}.{rest[0]}", rest[1:]
                    if rest and _private(rest[0]) and module != user:
                        found.add((user, module, rest[0]))
    return found


def _chain(node: ast.Attribute) -> list[str] | None:
    """``a.b.c`` as ``["a", "b", "c"]``; None when the chain is not rooted at a plain name."""
    attrs = []
    while isinstance(node, ast.Attribute):
        attrs.append(node.attr)
        node = node.value
    return [node.id, *reversed(attrs)] if isinstance(node, ast.Name) else None


def _tree(tmp_path: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        path = tmp_path / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))
    return tmp_path


# ---- layers --------------------------------------------------------------------------------

#: resim's layers, lowest first: (name, module prefixes). docs/architecture.md, "Layers".
LAYERS: list[tuple[str, tuple[str, ...]]] = [
    ("foundation", ("resim.errors", "resim.junction", "resim.memory", "resim.atomic", "resim.streams",
                    "resim.tomlfile", "resim.figure", "resim.status", "resim.scheduler", "resim.ngspice")),
    ("element kinds", ("resim.elements",)),
    ("element graph", ("resim.circuit",)),
    ("front end", ("resim.netlist",)),
    ("compilation", ("resim.compile",)),
    ("results", ("resim.result", "resim.select")),
    ("solvers", ("resim.solvers",)),
    ("api", ("resim.api", "resim.format", "resim.translate")),
    ("around the core", ("resim.sweep", "resim.distribute", "resim.sweep_output", "resim.compare",
                         "resim.client", "resim.server", "resim.serve_jobs", "resim.serve_preload")),
    ("trainer", ("resim.drn", "resim.hardware", "resim.synth", "resim.plot")),
    ("shell", ("resim.cli", "resim._launch", "resim.__main__", "resim")),
]


def layer_of(module: str, layers: list[tuple[str, tuple[str, ...]]] = LAYERS) -> int | None:
    """The index of ``module``'s layer: that of the longest prefix naming it, a package
    and its submodules (``resim`` itself, the facade, names only itself); None: none."""
    best = None
    for k, (_, prefixes) in enumerate(layers):
        for prefix in prefixes:
            inside = "." in prefix and module.startswith(prefix + ".")
            if (module == prefix or inside) and (best is None or len(prefix) > best[1]):
                best = (k, len(prefix))
    return None if best is None else best[0]


def layer_violations(graph: Graph, layers: list[tuple[str, tuple[str, ...]]] = LAYERS) -> list[str]:
    """Each import of a higher layer, and each module in no layer, as a sentence."""
    out = []
    for module in sorted(graph):
        mine = layer_of(module, layers)
        if mine is None:
            out.append(f"{module} is in no layer (add it to LAYERS and to docs/architecture.md)")
            continue
        for target in sorted(graph[module]):
            theirs = layer_of(target, layers)
            if theirs is not None and theirs > mine:
                out.append(f"{module} ({layers[mine][0]}) imports {target} ({layers[theirs][0]}), a higher layer")
    return out


# ---- the project -------------------------------------------------------------------------


def _project() -> Source:
    return Source({**module_table(REPO / "resim", REPO), **module_table(REPO / "bench", REPO / "bench")})


@pytest.mark.parametrize("tree", ["resim", "bench"])
def test_imports_form_a_dag(tree):
    """No import cycle among resim's modules, nor among bench's scripts."""
    source = _project()
    names = [n for n in source.table if source.table[n].is_relative_to(REPO / tree)]
    assert len(names) > 10, f"{tree}/: too few modules found to be a real check: {names}"
    cycles = find_cycles(import_graph(source, names))
    assert not cycles, f"import cycles in {tree}/:\n" + "\n".join(" -> ".join(c) for c in cycles)


def test_no_module_uses_another_modules_private_names():
    """resim's modules and bench's scripts use only each other's public names (tests/ may not)."""
    source = _project()
    uses = private_uses(source, sorted(source.table))
    assert not uses, "private names used from another module:\n" + "\n".join(
        f"{user}: {module}.{name}" for user, module, name in sorted(uses))


def _resim_graph() -> Graph:
    source = _project()
    return import_graph(source, [n for n in source.table if source.table[n].is_relative_to(REPO / "resim")])


def test_no_module_imports_a_higher_layer():
    """The layers of docs/architecture.md hold: no lower layer imports a higher one."""
    graph = _resim_graph()
    assert len(graph) > 50
    problems = layer_violations(graph)
    assert not problems, "layering broken:\n" + "\n".join(problems)


def test_a_lower_layer_importing_a_higher_one_is_reported(tmp_path):
    """The check fails on a deliberate bad import: resim's own modules, copied, with the
    junction law (the foundation) importing the exact solver, and the element kinds the
    command line; and on a module placed in no layer."""
    copy = tmp_path / "resim"
    for path in sorted((REPO / "resim").rglob("*.py")):
        target = copy / path.relative_to(REPO / "resim")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(path.read_text())
    (copy / "junction.py").write_text((copy / "junction.py").read_text() + "\nfrom .solvers import exact\n")
    (copy / "elements" / "kind.py").write_text((copy / "elements" / "kind.py").read_text()
                                               + "\n\ndef f():\n    from .. import cli\n")
    (copy / "stray.py").write_text("import numpy\n")
    source = Source(module_table(copy, tmp_path))
    problems = layer_violations(import_graph(source, sorted(source.table)))
    assert "resim.junction (foundation) imports resim.solvers.exact (solvers), a higher layer" in problems
    assert any(p.startswith("resim.elements.kind (element kinds) imports resim.cli") for p in problems)
    assert "resim.stray is in no layer (add it to LAYERS and to docs/architecture.md)" in problems
    assert len(problems) == 3, problems


MAX_FUNCTION_LINES = 80


def long_functions(root: Path, limit: int = MAX_FUNCTION_LINES) -> list[str]:
    """``path:line name (n lines)`` of each function under ``root`` longer than ``limit``
    lines (its decorators, signature, docstring and body)."""
    out = []
    for path in sorted(root.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                lines = node.end_lineno - node.lineno + 1
                if lines > limit:
                    out.append(f"{path.relative_to(root.parent)}:{node.lineno} {node.name} ({lines} lines)")
    return out


def test_no_function_of_resim_is_longer_than_80_lines(tmp_path):
    """A function that long does several jobs: split it. (And the check finds one.)"""
    assert not long_functions(REPO / "resim"), "\n".join(long_functions(REPO / "resim"))
    body = "\n".join(f"    x{k} = {k}" for k in range(MAX_FUNCTION_LINES))
    _tree(tmp_path, {"pkg/long.py": f"def f():\n{body}\n"})
    assert long_functions(tmp_path / "pkg") == [f"pkg/long.py:1 f ({MAX_FUNCTION_LINES + 1} lines)"]


# ---- the checks themselves, on small made-up trees -----------------------------------------


def _graph(tmp_path: Path, files: dict[str, str]) -> Graph:
    root = _tree(tmp_path, files)
    return import_graph(Source(module_table(root / "pkg", root)))


def test_a_lazy_import_cycle_is_found_and_named(tmp_path):
    files = {
        "pkg/__init__.py": "",
        "pkg/a.py": "from .b import f\n",
        "pkg/b.py": "def f():\n    from . import c\n",
        "pkg/c.py": "def g():\n    import pkg.a\n",
        "pkg/d.py": "from pkg import a\n",
    }
    graph = _graph(tmp_path / "one", files)
    assert graph["pkg.d"] == {"pkg.a"}
    assert find_cycles(graph) == [["pkg.a", "pkg.b", "pkg.c", "pkg.a"]]
    graph = _graph(tmp_path / "two", {**files, "pkg/c.py": "def g():\n    import os, pkg\n"})
    assert graph["pkg.c"] == {"pkg"} and find_cycles(graph) == []


def test_relative_imports_resolve_against_the_package(tmp_path):
    graph = _graph(tmp_path, {
        "pkg/__init__.py": "",
        "pkg/top.py": "",
        "pkg/sub/__init__.py": "from . import inner\n",
        "pkg/sub/inner.py": "from .. import top\nfrom ..sub import leaf\nfrom .leaf import x as y, z\n",
        "pkg/sub/leaf.py": "import numpy\nfrom os import path\n",
    })
    assert graph == {"pkg": set(), "pkg.top": set(), "pkg.sub": {"pkg.sub.inner"},
                     "pkg.sub.inner": {"pkg.top", "pkg.sub.leaf"}, "pkg.sub.leaf": set()}


def test_a_reexport_is_an_edge_to_its_definer_but_the_facade_itself_is_not(tmp_path):
    """``pkg/__init__`` re-exports ``E`` from ``pkg.errors`` and makes ``g`` on demand from
    ``pkg.core``, which imports ``pkg.user``: ``from pkg import E`` in ``pkg.user`` is no
    cycle (it depends on ``pkg.errors``), ``import pkg; pkg.g()`` is one."""
    files = {
        "pkg/__init__.py": """\
            from .errors import E

            def __getattr__(name):
                from . import core
                return getattr(core, name)
            """,
        "pkg/errors.py": "class E(Exception): pass\n",
        "pkg/core.py": "from . import user\ndef g(): pass\n",
        "pkg/user.py": "from pkg import E\n",
    }
    graph = _graph(tmp_path / "one", files)
    assert graph["pkg.user"] == {"pkg.errors"} and graph["pkg"] == {"pkg.errors", "pkg.core"}
    assert find_cycles(graph) == []
    for user in ("def h():\n    import pkg\n    pkg.g()\n", "from pkg import g\n"):
        graph = _graph(tmp_path / str(len(user)), {**files, "pkg/user.py": user})
        assert find_cycles(graph) == [["pkg", "pkg.core", "pkg.user", "pkg"]]


def test_private_names_of_another_module_are_reported(tmp_path):
    root = _tree(tmp_path, {
        "pkg/__init__.py": "from .a import _h as h\nfrom . import _impl\n",
        "pkg/_impl.py": "",
        "pkg/a.py": "def _h(): pass\ndef pub(): _h()\n",
        "pkg/b.py": """\
            from . import a, _impl
            from .a import _h, pub
            import pkg.a as pa
            import pkg

            def f():
                from pkg import a as late
                return a._h, pa._h, pkg.a._h, late._h, a.pub, a.__name__, pkg.a.pub
            """,
        "script.py": "from pkg import _impl\nimport pkg.a\npkg.a._h()\n",
    })
    source = Source({**module_table(root / "pkg", root), "script": root / "script.py"})
    assert private_uses(source, ["pkg", "pkg.a", "pkg.b", "pkg._impl", "script"]) == {
        ("pkg", "pkg.a", "_h"),  # an __init__ is a module like the others (its _impl is its own)
        ("pkg.b", "pkg.a", "_h"),  # from .a import _h, and a._h, pa._h, pkg.a._h, late._h
        ("script", "pkg", "_impl"),  # a private module of pkg, from outside pkg
        ("script", "pkg.a", "_h"),
    }
