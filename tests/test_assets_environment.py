"""Dependencies a maintainer would choose (issue 20, item 7): no declared-but-unused pooch, Dask as an optional
extra with a one-line error without it, a lock file that pins the whole environment (used by `make install`,
recorded in provenance), and a README that says which torch build one gets."""
import re
import sys
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement

from embedlab import assets, cli

ROOT = Path(__file__).resolve().parents[1]
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
LOCK = ROOT / "requirements.lock"


def _names(reqs) -> set[str]:
    return {Requirement(r).name.lower() for r in reqs}


def _pins() -> dict[str, str]:
    pins = {}
    for line in LOCK.read_text().splitlines():
        m = re.match(r"^([A-Za-z0-9_.\-]+)==([^\s;]+)", line)
        if m:
            pins.setdefault(m[1].lower().replace("_", "-"), m[2])
    return pins


def test_pooch_is_not_declared_since_nothing_uses_it():
    assert "pooch" not in _names(PROJECT["dependencies"])
    assert "pooch" not in (ROOT / "environment.yml").read_text()
    lib = ROOT / "lib" / "embedlab"
    assert not [p for p in lib.rglob("*.py") if "pooch" in p.read_text(encoding="utf-8")]


def test_dask_is_an_optional_extra():
    assert not _names(PROJECT["dependencies"]) & {"dask", "distributed"}
    assert _names(PROJECT["optional-dependencies"]["dask"]) == {"dask", "distributed"}


def test_the_dask_executor_without_the_extra_is_a_one_line_error(monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "distributed", None)  # import distributed -> ImportError
    code = cli.main(["run", "--profile", "smoke", "--executor", "dask", "--scheduler", "tcp://127.0.0.1:9"])
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1 and ".[dask]" in err and "Traceback" not in err


def test_the_lock_file_pins_every_dependency_within_pyproject_bounds():
    pins = _pins()
    reqs = [Requirement(r) for r in PROJECT["dependencies"] + PROJECT["optional-dependencies"]["dev"]
            + PROJECT["optional-dependencies"]["dask"]]
    for r in reqs:
        name = r.name.lower().replace("_", "-")
        assert name in pins, f"{name} is not pinned in {LOCK.name}"
        assert r.specifier.contains(pins[name], prereleases=True), f"{name}=={pins[name]} outside {r.specifier}"
    assert len(pins) > 100  # the whole environment, not only the direct dependencies


def test_make_install_uses_the_lock_file():
    make = (ROOT / "Makefile").read_text()
    stamp = re.search(r"^\$\(STAMP\):(.*)$", make, re.M)[1]
    assert "$(LOCK)" in stamp and re.search(r"^LOCK\s*:=\s*requirements\.lock$", make, re.M)
    recipe = make.split("$(STAMP):", 1)[1].split("\n\n", 1)[0]
    assert "-c $(LOCK) -e '.[dev,dask]'" in recipe and "TORCH_INDEX" in recipe


def test_provenance_can_record_the_lock_files_sha256(tmp_path):
    import hashlib

    info = assets.lock_file()
    assert info["file"] == "requirements.lock" and info["sha256"] == hashlib.sha256(LOCK.read_bytes()).hexdigest()
    (tmp_path / "requirements.lock").write_bytes(b"x==1\n")
    assert assets.lock_file(prefix=tmp_path)["installed_sha256"] == hashlib.sha256(b"x==1\n").hexdigest()


def test_readme_says_which_torch_one_gets():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert not re.search(r"torch[^\n]{0,20}CPU\b(?! ?-only build)", readme.split("## ")[0]), "no CPU-only promise"
    assert "make install TORCH_INDEX=https://download.pytorch.org/whl/cpu" in readme
    assert re.search(r"CUDA build", readme)


@pytest.mark.parametrize("tool", ["pooch"])
def test_readme_says_why_a_tool_is_not_used(tool):
    assert re.search(rf"\b{tool}\b[^\n]*not used|not use[^\n]*\b{tool}\b", (ROOT / "README.md").read_text())
