"""The package's shape: no import cycles, no private names imported across
modules, backends independent of each other.

The import graph is read from the source (every ``import`` statement,
including those inside functions), so a cycle hidden behind a lazy import is
still found."""
from __future__ import annotations

import ast
from pathlib import Path

PKG = Path(__file__).resolve().parent.parent / "neurohebb"


def _modules():
    mods = {}
    for path in PKG.rglob("*.py"):
        rel = path.relative_to(PKG.parent).with_suffix("")
        parts = list(rel.parts)
        is_pkg = parts[-1] == "__init__"
        if is_pkg:
            parts = parts[:-1]
        mods[".".join(parts)] = (path, is_pkg)
    return mods


MODULES = _modules()


def _resolve(mod, is_pkg, level, name):
    base = mod.split(".") if is_pkg else mod.split(".")[:-1]
    if level:
        base = base[: len(base) - (level - 1)] if level > 1 else base
        return ".".join(base + ([name] if name else []))
    return name


def imports_of(mod):
    """(imported module, imported name or None, line) of every import in ``mod``."""
    path, is_pkg = MODULES[mod]
    tree = ast.parse(path.read_text(), str(path))
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for a in node.names:
                if a.name.startswith("neurohebb"):
                    out.append((a.name, None, node.lineno))
        elif isinstance(node, ast.ImportFrom):
            target = _resolve(mod, is_pkg, node.level, node.module or "")
            if not target.startswith("neurohebb"):
                continue
            for a in node.names:
                sub = f"{target}.{a.name}"
                if sub in MODULES:
                    out.append((sub, None, node.lineno))
                else:
                    out.append((target, a.name, node.lineno))
    return out


def graph():
    g = {m: set() for m in MODULES}
    for m in MODULES:
        for target, _name, _line in imports_of(m):
            if target in MODULES and target != m:
                g[m].add(target)
    return g


def _is_reexport(a, b):
    """A package's ``__init__`` importing its own submodules (re-exports), or
    a module importing its parent package's re-exported names: not design
    dependencies (Python resolves them by package initialisation order)."""
    return b.startswith(a + ".") or a.startswith(b + ".")


def cycles(g=None):
    g = {a: {b for b in bs if not _is_reexport(a, b)} for a, bs in (g or graph()).items()}
    index, low, stack, on, out, counter = {}, {}, [], set(), [], [0]

    def strong(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in g[v]:
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

    for v in g:
        if v not in index:
            strong(v)
    return out


def test_the_walker_sees_imports_and_finds_a_planted_cycle():
    # a check that cannot fail is a defect: the walker finds known edges, and a planted cycle
    g = graph()
    assert "neurohebb.semantics.seeds" in g["neurohebb.semantics.instantiate"]
    assert "neurohebb.backends.reference.engine" in g["neurohebb.backends.reference.simulator"]
    planted = {k: set(v) for k, v in g.items()}
    planted["neurohebb.semantics.seeds"].add("neurohebb.semantics.instantiate")
    assert any("neurohebb.semantics.seeds" in c for c in cycles(planted))


def test_no_import_cycles():
    found = cycles()
    assert not found, "import cycles:\n" + "\n".join(" <-> ".join(c) for c in found)


def test_no_private_name_imported_across_modules():
    bad = []
    for m in MODULES:
        for target, name, line in imports_of(m):
            if name and name.startswith("_") and not name.startswith("__") and target != m:
                bad.append(f"{MODULES[m][0].relative_to(PKG.parent)}:{line} imports {name} from {target}")
    assert not bad, "\n".join(bad)


def test_backends_do_not_import_each_other():
    bad = []
    for m in MODULES:
        if not m.startswith("neurohebb.backends."):
            continue
        mine = m.split(".")[2]
        for target, _name, line in imports_of(m):
            parts = target.split(".")
            if len(parts) > 2 and parts[1] == "backends" and parts[2] not in (mine, "base"):
                bad.append(f"{m}:{line} imports {target}")
    assert not bad, "\n".join(bad)


def test_only_registry_and_cli_name_backends():
    """Outside neurohebb/backends/, nothing but the command line imports a backend's modules."""
    bad = []
    for m in MODULES:
        if m.startswith("neurohebb.backends") or m == "neurohebb.cli":
            continue
        for target, _name, line in imports_of(m):
            parts = target.split(".")
            if len(parts) > 2 and parts[1] == "backends" and parts[2] != "base":
                bad.append(f"{m}:{line} imports {target}")
    assert not bad, "\n".join(bad)
