"""The README's architecture holds: data flows one way.

Between the diagram's entries a module imports only entries on lower floors; inside each package (an entry
such as ``assets/`` or ``defsent/``) its modules import each other without cycles. Imports inside functions
(lazy imports) count. A package counts as its entry on the diagram, whatever its depth.
"""
import ast
from pathlib import Path

import pytest

LIB = Path(__file__).resolve().parents[1] / "lib" / "embedlab"
README = LIB.parents[1] / "README.md"
# the aside entries execute notebooks and check pages; they import only these (no study package, no encoder)
ASIDE_MAY_IMPORT = {"assets", "cite", "embedcache", "seeding", "report", "runner", "notebook_checks", "paths",
                    "progress", "study", "util", "userfiles"}

Module = tuple[str, ...]          # ("embedlab", "defsent", "study"); a package is named by its folder


def diagram_entries(readme: Path = README) -> dict[str, int]:
    """``floor N  a.py  b/ ...`` lines of the README's diagram, as written (``b/``); ``aside`` entries get floor 0."""
    entries = {}
    for line in readme.read_text(encoding="utf-8").splitlines():
        words = line.split("<-")[0].split()
        if len(words) > 2 and words[0] == "floor" and words[1].isdigit() or words[:1] == ["aside"]:
            level = int(words[1]) if words[0] == "floor" else 0
            for w in words[2 if level else 1:]:
                entries[w] = level
    return entries


def floors_from_readme(readme: Path = README) -> dict[str, int]:
    """Floor of each entry by name (``assets`` for both ``assets.py`` and ``assets/``)."""
    return {w.rstrip("/").removesuffix(".py"): level for w, level in diagram_entries(readme).items()}


def module_of(path: Path, root: Path = LIB) -> Module:
    """The dotted name of a source file under ``root`` (a package's ``__init__.py`` is the package)."""
    parts = path.relative_to(root).with_suffix("").parts
    return (root.name, *parts[:-1]) if parts[-1] == "__init__" else (root.name, *parts)


def _exists(name: Module, root: Path) -> bool:
    path = root.joinpath(*name[1:])
    return (path / "__init__.py").is_file() or len(name) > 1 and path.with_suffix(".py").is_file()


def _resolve(name: Module, root: Path) -> Module | None:
    """The longest prefix of ``name`` that is a module or package under ``root``; None outside the library."""
    if name[:1] != (root.name,):
        return None
    for k in range(len(name), 0, -1):
        if _exists(name[:k], root):
            return name[:k]
    return None


def imports_of(path: Path, root: Path = LIB) -> set[Module]:
    """Library modules that ``path`` imports anywhere in it (top level, functions, branches), resolved."""
    me = module_of(path, root)
    package = me if path.name == "__init__.py" else me[:-1]
    out = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            targets = [tuple(a.name.split(".")) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = package[:len(package) - node.level + 1] if node.level else ()
            base = (*base, *(node.module.split(".") if node.module else ()))
            # `from pkg import sub` imports the submodule when there is one, else a name of pkg itself
            targets = [(*base, a.name) for a in node.names]
        else:
            continue
        out |= {m for m in (_resolve(t, root) for t in targets) if m is not None and m != me}
    return out


def import_graph(root: Path = LIB) -> dict[Module, set[Module]]:
    """Every library module and what it imports."""
    return {module_of(p, root): imports_of(p, root) for p in sorted(root.rglob("*.py"))}


def floor_violations(root: Path = LIB, floors: dict[str, int] | None = None) -> list[str]:
    """Imports between the diagram's entries that do not go down a floor."""
    floors = floors_from_readme() if floors is None else floors
    bad = []
    for mod, deps in import_graph(root).items():
        if len(mod) < 2 or mod[1] not in floors:
            continue                       # the package root, or an entry the diagram lacks (another test)
        top = mod[1]
        for dep in sorted({d[1] for d in deps if len(d) > 1} & set(floors) - {top}):
            ok = dep in ASIDE_MAY_IMPORT if floors[top] == 0 else 0 < floors[dep] < floors[top]
            if not ok:
                bad.append(f"{'.'.join(mod)} (floor {floors[top]}) imports {dep} (floor {floors[dep]})")
    return bad


def package_cycles(root: Path = LIB) -> list[list[Module]]:
    """Import cycles between the modules of one package (strongly connected components of two or more)."""
    graph = import_graph(root)
    edges = {m: {d for d in deps if len(m) > 1 and len(d) > 1 and d[1] == m[1]} for m, deps in graph.items()}
    index, low, stack, on_stack, cycles = {}, {}, [], set(), []

    def visit(v):                          # Tarjan's algorithm; the packages are small, recursion is fine
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(edges.get(v, ())):
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
                cycles.append(sorted(component))

    for v in sorted(edges):
        if v not in index:
            visit(v)
    return cycles


def _describe(cycles: list[list[Module]]) -> str:
    return "\n".join(" <-> ".join(".".join(m[1:]) or m[0] for m in c) for c in cycles)


# --------------------------------------------------------------------------- the library

def test_every_module_is_on_a_floor_of_the_readme_diagram():
    floors = floors_from_readme()
    modules = {p.stem for p in LIB.glob("*.py") if p.stem != "__init__"} | {p.name for p in LIB.iterdir()
                                                                            if (p / "__init__.py").exists()}
    assert modules <= set(floors), f"add to the README's architecture diagram: {sorted(modules - set(floors))}"


def test_every_diagram_entry_exists_as_written():
    """``a.py`` is a module and ``b/`` a package: the diagram follows a module that becomes a package."""
    wrong = [w for w in diagram_entries() if not (LIB / w / "__init__.py" if w.endswith("/") else LIB / w).is_file()]
    assert not wrong, f"README diagram entries that are not in lib/embedlab as written: {wrong}"


def test_imports_only_go_down():
    bad = floor_violations()
    assert not bad, "imports against the one-way flow:\n" + "\n".join(bad)


def test_no_import_cycles_inside_a_package():
    cycles = package_cycles()
    assert not cycles, "modules of one package that import each other (move the shared part down):\n" + \
        _describe(cycles)


# --------------------------------------------------------------------------- the checks themselves

def _write(root: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    return root


@pytest.fixture
def fake_lib(tmp_path):
    """A small library ``embedlab`` with a floor-1 module, a floor-2 package (nested) and a floor-3 package."""
    root = tmp_path / "embedlab"
    return _write(root, {
        "__init__.py": "",
        "paths.py": "ROOT = 1\n",
        "assets/__init__.py": "from .registry import get\n",
        "assets/registry.py": "from ..paths import ROOT\nfrom .sources import pypi\n\ndef get():\n    return ROOT\n",
        "assets/sources/__init__.py": "",
        "assets/sources/pypi.py": "from ...paths import ROOT\n",
        "study/__init__.py": "from .run import run_study\n",
        "study/run.py": "from embedlab.assets import get\nfrom . import steps\n\ndef run_study():\n    return 1\n",
        "study/steps.py": "from embedlab.assets.sources import pypi\nx = 1\n",
    })


FAKE_FLOORS = {"paths": 1, "assets": 2, "study": 3}


def test_the_fake_library_is_clean(fake_lib):
    assert import_graph(fake_lib)[("embedlab", "assets", "sources", "pypi")] == {("embedlab", "paths")}
    assert floor_violations(fake_lib, FAKE_FLOORS) == []
    assert package_cycles(fake_lib) == []


def test_a_lazy_cycle_inside_a_package_is_found(fake_lib):
    (fake_lib / "study" / "steps.py").write_text("x = 1\n\ndef again():\n    from .run import run_study\n"
                                                 "    return run_study()\n")
    assert package_cycles(fake_lib) == [[("embedlab", "study", "run"), ("embedlab", "study", "steps")]]


def test_a_cycle_through_the_package_init_is_found(fake_lib):
    (fake_lib / "assets" / "sources" / "pypi.py").write_text("from embedlab.assets import get\n")
    cycles = package_cycles(fake_lib)
    assert len(cycles) == 1 and set(cycles[0]) == {("embedlab", "assets"), ("embedlab", "assets", "registry"),
                                                   ("embedlab", "assets", "sources", "pypi")}


def test_an_upward_import_from_deep_in_a_package_is_found(fake_lib):
    (fake_lib / "assets" / "sources" / "pypi.py").write_text("def f():\n    from ... import study\n")
    assert floor_violations(fake_lib, FAKE_FLOORS) == ["embedlab.assets.sources.pypi (floor 2) imports study (floor 3)"]


STUDY_SHAPE = {"__init__.py", "config.py", "data.py", "study.py", "results.py", "plots.py"}


def test_every_study_package_has_the_same_shape():
    """Learning one study teaches the others: each package with a ``study.py`` has the same five files (and may
    add method modules of its own), and ``study.py`` defines ``run_study``."""
    studies = sorted(p.parent for p in LIB.glob("*/study.py"))
    assert {p.name for p in studies} == {"static_vs_contextual", "cade", "matryoshka", "defsent", "data_card"}
    for pkg in studies:
        names = {f.name for f in pkg.glob("*.py")}
        assert STUDY_SHAPE <= names, f"{pkg.name} lacks {sorted(STUDY_SHAPE - names)}"
        assert "def run_study(" in (pkg / "study.py").read_text(encoding="utf-8"), pkg.name
