"""The core's imports form a stack: no cycles, no typer/rich (those belong to moltctl.cli)."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "moltctl"
UI_LIBRARIES = {"typer", "rich", "click"}


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _core_files() -> dict[str, Path]:
    files = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE).parts
        if rel[0] in ("cli", "__main__.py"):
            continue
        files[_module_name(path)] = path
    return files


def _imports(path: Path, known: set[str]) -> set[str]:
    """Every module ``path`` imports, at the top or inside a function (a lazy import is still
    an edge: it only hides a cycle until the function runs)."""
    out = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            out.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            for alias in node.names:
                sub = f"{node.module}.{alias.name}"
                # `from moltctl import views` imports a module; `from moltctl.x import y` a name
                out.add(sub if sub in known else node.module)
    return out


def _graph() -> tuple[dict[str, set[str]], dict[str, set[str]]]:
    files = _core_files()
    known = set(files)
    edges, external = {}, {}
    for name, path in files.items():
        found = _imports(path, known)
        edges[name] = {m for m in found if m in known and m != name}
        external[name] = {m.split(".")[0] for m in found if not m.startswith("moltctl")}
    return edges, external


def _cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """One path per cycle found by depth-first search (empty when the graph is a stack)."""
    found, state = [], dict.fromkeys(edges, 0)  # 0 new, 1 on the path, 2 done

    def visit(node: str, path: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(edges[node]):
            if state[nxt] == 1:
                found.append([*path[path.index(nxt) :], nxt])
            elif state[nxt] == 0:
                visit(nxt, [*path, nxt])
        state[node] = 2

    for node in sorted(edges):
        if state[node] == 0:
            visit(node, [node])
    return found


def _ignoring_package_inits(edges: dict[str, set[str]]) -> dict[str, set[str]]:
    # a package's __init__ re-exporting its submodules is the package's face, not a layer:
    # `moltctl.ingest.load` importing `moltctl.ingest.records` goes through it by design
    inits = {n for n, p in _core_files().items() if p.name == "__init__.py"}
    return {n: {m for m in deps if m not in inits} for n, deps in edges.items()}


def test_the_checker_sees_a_cycle():
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == [["a", "b", "c", "a"]]
    assert _cycles({"a": {"b"}, "b": set(), "c": {"a", "b"}}) == []


def test_the_graph_sees_lazy_and_package_imports():
    edges, _ = _graph()
    assert "moltctl.sqlfiles" in edges["moltctl.migrations"]
    assert "moltctl.connection" in edges["moltctl.locks"]
    assert "moltctl.ingest.records" in edges["moltctl.ingest.load"]


def test_core_imports_have_no_cycles():
    edges, _ = _graph()
    assert _cycles(_ignoring_package_inits(edges)) == []


def test_migrations_is_a_leaf():
    """migrations knows files and a connection; the orchestration (lock, connect, the views
    generated from the schema) lives above it in schema.py."""
    edges, _ = _graph()
    assert edges["moltctl.migrations"] <= {
        "moltctl.errors",
        "moltctl.paths",
        "moltctl.rows",
        "moltctl.sqlfiles",
        "moltctl.sqlrun",
    }


def test_core_imports_no_typer_or_rich():
    _, external = _graph()
    offenders = {m: sorted(libs & UI_LIBRARIES) for m, libs in external.items()}
    assert {m: libs for m, libs in offenders.items() if libs} == {}


def _lazy_core_imports() -> set[tuple[str, str]]:
    """(module, imported) for every moltctl import made inside a function of the core."""
    out = set()
    for name, path in _core_files().items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for top in tree.body:
            for node in ast.walk(top):
                if node is top or not isinstance(node, ast.Import | ast.ImportFrom):
                    continue
                mods = [a.name for a in node.names] if isinstance(node, ast.Import) else []
                if isinstance(node, ast.ImportFrom) and node.module:
                    mods = [node.module]
                out.update((name, m) for m in mods if m.startswith("moltctl"))
    return out


def test_core_imports_its_own_modules_at_the_top():
    # lazy imports protect `moltctl --help` from heavy libraries; the CLI layer does that, so
    # inside the core a moltctl import in a function only hides the dependency
    assert _lazy_core_imports() == set()
