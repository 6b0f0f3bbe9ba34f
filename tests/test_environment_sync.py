"""pyproject.toml and environment.yml must declare the same dependencies with the same pins."""
import re
import tomllib
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]


def _split(spec: str) -> tuple[str, str]:
    m = re.match(r"^\s*([A-Za-z0-9_.\-]+)\s*(.*)$", spec)
    return m.group(1).lower().replace("_", "-"), m.group(2).replace(" ", "")


def test_environment_yml_matches_pyproject():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    extras = project.get("optional-dependencies", {})
    deps = project["dependencies"] + extras.get("dev", []) + extras.get("dask", [])
    ours = dict(_split(d) for d in deps)
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    conda, pip = {}, {}
    for d in env["dependencies"]:
        if isinstance(d, dict):
            pip.update(_split(x) for x in d["pip"] if not x.startswith("-e"))
        elif not d.startswith(("python=", "pip")) or d.startswith("pip "):
            conda.update([_split(d)])
    theirs = {**conda, **pip}
    assert theirs == ours, {"only in pyproject": sorted(set(ours) - set(theirs)),
                            "only in environment.yml": sorted(set(theirs) - set(ours)),
                            "different pins": sorted(k for k in ours if k in theirs and ours[k] != theirs[k])}
    assert "channels" in env and env["channels"] == ["conda-forge"]
    assert pip.get("torch") == "==2.13.0", "torch must be pinned in the pip section"
