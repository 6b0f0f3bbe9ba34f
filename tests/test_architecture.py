"""The README's architecture holds: a module imports only modules on lower floors (data flows one way)."""
import ast
from pathlib import Path

LIB = Path(__file__).resolve().parents[1] / "lib" / "embedlab"
README = LIB.parents[1] / "README.md"


def floors_from_readme() -> dict[str, int]:
    """``floor N  a.py  b/ ...`` lines of the README's diagram; ``aside`` modules get floor 0."""
    floors = {}
    for line in README.read_text(encoding="utf-8").splitlines():
        words = line.split("<-")[0].split()
        if len(words) > 2 and words[0] == "floor" and words[1].isdigit() or words[:1] == ["aside"]:
            level = int(words[1]) if words[0] == "floor" else 0
            for w in words[2 if level else 1:]:
                floors[w.rstrip("/").removesuffix(".py")] = level
    return floors


def imported_siblings(path: Path) -> set[str]:
    """Top-level embedlab modules or packages that ``path`` imports."""
    in_package = path.parent != LIB
    out = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level == (2 if in_package else 1):
                out |= {base.split(".")[0]} if base else {a.name for a in node.names}
            elif node.level == 0 and base.startswith("embedlab"):
                parts = base.split(".")
                out |= {parts[1]} if len(parts) > 1 else {a.name for a in node.names}
        elif isinstance(node, ast.Import):
            out |= {a.name.split(".")[1] for a in node.names if a.name.startswith("embedlab.")}
    return out


def test_every_module_is_on_a_floor_of_the_readme_diagram():
    floors = floors_from_readme()
    modules = {p.stem for p in LIB.glob("*.py") if p.stem != "__init__"} | {p.name for p in LIB.iterdir()
                                                                            if (p / "__init__.py").exists()}
    assert modules <= set(floors), f"add to the README's architecture diagram: {sorted(modules - set(floors))}"


def test_imports_only_go_down():
    floors = floors_from_readme()
    bad = []
    for path in LIB.rglob("*.py"):
        top = path.relative_to(LIB).parts[0].removesuffix(".py")
        if top == "__init__":
            continue
        for dep in imported_siblings(path) & set(floors) - {top}:
            if floors[top] == 0:
                ok = dep in ("assets", "seeding", "report", "runner", "notebook_checks", "paths", "progress", "study")  # the runner executes notebooks
            else:
                ok = 0 < floors[dep] < floors[top]
            if not ok:
                bad.append(f"{path.relative_to(LIB)} (floor {floors[top]}) imports {dep} (floor {floors[dep]})")
    assert not bad, "imports against the one-way flow:\n" + "\n".join(bad)
