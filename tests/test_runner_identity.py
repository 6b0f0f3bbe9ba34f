"""Issue 20, sections 1-3 at the runner: a run's identity (user files, settings, models), the index of the plan's
runs only, a report page that cannot be written, names, one runner per profile, one-line errors.

Fast tests: papermill and the run itself are stubbed (no kernel starts); the kernel-level checks (kill -9 with
--jobs 2, Ctrl-C, Dask environment) are in test_runner_processes.py and marked slow.
"""
import json
import os
import socket
import threading
import time
from pathlib import Path

import nbformat
import pytest
from toys import toy_notebook
import yaml

from embedlab import cli, runner
from embedlab.runner import execute
from embedlab.util import atomic_write


def _notebook(path: Path, params: str = 'x = 1\nlabel = "a"\nuser_paths = []') -> Path:
    return toy_notebook(path, params, "print(x)")


@pytest.fixture
def lab(tmp_path, monkeypatch):
    plans, reports = tmp_path / "plans", tmp_path / "reports"
    plans.mkdir()
    monkeypatch.setattr(execute, "HASHED_TREES", ())  # edits elsewhere in lib/ must not change the hashes here
    return {"plans": plans, "reports": reports, "nb": _notebook(tmp_path / "nb.ipynb"), "tmp": tmp_path}


def _plan(lab, runs, profile="t"):
    (lab["plans"] / f"{profile}.yaml").write_text(yaml.safe_dump({"runs": runs}))


def _run(lab, **kw):
    return runner.run_profile("t", plans_dir=lab["plans"], reports_dir=lab["reports"], echo=lambda s: None, **kw)


def _fake_execute(calls, seen=None):
    def fake(spec, monitor=True):
        calls.append(spec.name)
        if seen is not None:
            seen.append(spec)
        out = Path(spec.out_dir)
        out.mkdir(parents=True, exist_ok=True)
        r = {"name": spec.name, "notebook": spec.notebook, "parameters": spec.parameters, "status": "ok",
             "error": None, "failed_cell": None, "content_hash": spec.content_hash, "budget_s": spec.budget_s,
             "duration_s": 0.1, "metrics": {}}
        atomic_write(out / "run.json", json.dumps(r))
        return r
    return fake


def _stub_papermill(monkeypatch, provenance=None):
    """papermill.execute_notebook replaced by a writer of the executed notebook and a metrics.json."""
    import papermill

    def fake(input_path, output_path, parameters=None, kernel_env=None, **kw):
        nbformat.write(nbformat.read(input_path, as_version=4), output_path)
        doc = {"status": "ok", "metrics": {"x": 1}, "provenance": {"assets": provenance or {}}}
        (Path(kernel_env["EMBEDLAB_RUN_DIR"]) / "metrics.json").write_text(json.dumps(doc))
    monkeypatch.setattr(papermill, "execute_notebook", fake)


def _cli(lab, *extra, profile="t"):
    return cli.main(["run", "--profile", profile, "--plans-dir", str(lab["plans"]), "--reports-dir",
                     str(lab["reports"]), *extra])


# --------------------------------------------------------------------------- 1: user data is part of the identity

def test_relative_user_paths_resolve_against_the_plan_folder(lab, monkeypatch):
    sets = lab["plans"] / "sets"
    sets.mkdir()
    (sets / "q.txt").write_text("a b c d\n")
    (sets / "corpus").mkdir()
    monkeypatch.chdir(lab["tmp"])  # a same-named file beside the caller or the notebook is never used
    (lab["tmp"] / "sets").mkdir()
    (lab["tmp"] / "sets" / "q.txt").write_text("decoy\n")
    _plan(lab, [{"name": "a", "notebook": str(lab["nb"]),
                 "parameters": {"label": "file:sets/q.txt", "user_paths": ["sets/corpus", "gensim-testdata"]}}])
    spec = runner.load_plan("t", plans_dir=lab["plans"], reports_dir=lab["reports"])[0]
    assert spec.parameters["label"] == f"file:{sets / 'q.txt'}"
    assert spec.parameters["user_paths"] == [str(sets / "corpus"), "gensim-testdata"]


def test_changed_user_files_and_slices_folders_are_rerun(lab, monkeypatch):
    """Adding text to a slices: folder, or editing a file: set, reruns the run (it was `[skip] unchanged`)."""
    corpus = lab["plans"] / "slices"
    corpus.mkdir()
    (corpus / "old.txt").write_text("in the beginning\n")
    (lab["plans"] / "pairs.tsv").write_text("a\tb\t1.0\n")
    _plan(lab, [{"name": "a", "notebook": str(lab["nb"]), "parameters": {"label": "slices:slices"}},
                {"name": "b", "notebook": str(lab["nb"]), "parameters": {"label": "file:pairs.tsv"}}])
    calls = []
    monkeypatch.setattr(execute, "execute_run", _fake_execute(calls))
    _run(lab)
    _run(lab)
    assert calls == ["a", "b"], "unchanged: both skipped"
    (corpus / "new.txt").write_text("more tokens " * 15000)
    _run(lab)
    assert calls == ["a", "b", "a"], "a slices: folder with one more file is a changed run"
    (lab["plans"] / "pairs.tsv").write_text("a\tb\t2.0\n")
    _run(lab)
    assert calls == ["a", "b", "a", "b"], "an edited file: set is a changed run"


def test_cade_user_paths_are_hashed(lab):
    folder = lab["plans"] / "periods"
    folder.mkdir()
    (folder / "1900.txt").write_text("old text\n")
    _plan(lab, [{"name": "a", "notebook": str(lab["nb"]), "parameters": {"user_paths": ["periods"]}}])
    spec = runner.load_plan("t", plans_dir=lab["plans"], reports_dir=lab["reports"])[0]
    before = runner.content_hash(spec)
    (folder / "1900.txt").write_text("old text, edited\n")
    assert runner.content_hash(spec) != before


# --------------------------------------------------------------------------- 2: settings and models

@pytest.mark.parametrize("setting", ["EMBEDLAB_REQUIRE_REVISION", "EMBEDLAB_DEVICE", "HF_HUB_OFFLINE"])
def test_content_hash_covers_result_changing_settings(lab, monkeypatch, setting):
    _plan(lab, [{"name": "a", "notebook": str(lab["nb"])}])
    spec = runner.load_plan("t", plans_dir=lab["plans"], reports_dir=lab["reports"])[0]
    monkeypatch.delenv(setting, raising=False)
    before = runner.content_hash(spec)
    monkeypatch.setenv(setting, "cpu" if setting == "EMBEDLAB_DEVICE" else "1")
    assert runner.content_hash(spec) != before, setting


def test_a_changed_model_snapshot_is_never_skipped(lab, monkeypatch):
    """The Hugging Face commit each model of the last run resolves to is part of the hash."""
    from embedlab.runner import identity

    _plan(lab, [{"name": "a", "notebook": str(lab["nb"]), "parameters": {"label": "owner/some-model"}}])
    _stub_papermill(monkeypatch, provenance={"e5-base": {"kind": "huggingface", "commit": "1" * 40}})
    commits = {"e5-base": "1" * 40, "owner/some-model": "2" * 40}
    monkeypatch.setattr(identity, "_commit", lambda name, env: commits[name])
    assert _run(lab)[0]["status"] == "ok"
    rec = json.loads((lab["reports"] / "t" / "a" / "run.json").read_text())
    assert rec["models"] == ["e5-base", "owner/some-model"]
    assert _run(lab)[0].get("skipped"), "same snapshots: skipped"
    commits["e5-base"] = "3" * 40
    assert not _run(lab)[0].get("skipped"), "a model that resolves to another commit now: rerun"
    commits["owner/some-model"] = "4" * 40
    assert not _run(lab)[0].get("skipped"), "a hub id in the parameters that resolves to another commit: rerun"


def test_index_and_summary_show_only_the_plans_runs(lab, monkeypatch):
    calls = []
    monkeypatch.setattr(execute, "execute_run", _fake_execute(calls))
    _plan(lab, [{"name": "a", "notebook": str(lab["nb"])}, {"name": "old", "notebook": str(lab["nb"])}])
    _run(lab)
    _plan(lab, [{"name": "new", "notebook": str(lab["nb"])}, {"name": "a", "notebook": str(lab["nb"])}])
    _run(lab, only=["new"])
    prof = lab["reports"] / "t"
    assert [r["name"] for r in json.loads((prof / "summary.json").read_text())] == ["new", "a"]
    index, md = (prof / "index.html").read_text(), (prof / "summary.md").read_text()
    assert "Not in the plan" in index and "old/old.html" not in index
    assert "Not in the plan (folders left on disk, not shown): old" in md and "(old/old.html)" not in md
    assert (prof / "old" / "run.json").exists(), "the removed run's folder stays on disk"


def test_a_report_page_that_cannot_be_written_fails_the_run(lab, monkeypatch):
    _plan(lab, [{"name": "a", "notebook": str(lab["nb"])}])
    _stub_papermill(monkeypatch)

    def disk_full(ipynb, dest):
        raise OSError(28, "No space left on device")
    monkeypatch.setattr(execute, "_to_html", disk_full)
    r = _run(lab)[0]
    assert r["status"] == "failed" and "a.html could not be written" in r["error"] and "No space left" in r["error"]
    assert json.loads((lab["reports"] / "t" / "a" / "run.json").read_text())["status"] == "failed"


# --------------------------------------------------------------------------- 3: names, lock, environment, errors

@pytest.mark.parametrize("name", [".", "..", "index.html", "summary.md", "summary.json", "interactive", "r" * 101])
def test_dangerous_run_names_are_refused_with_rc_2(lab, monkeypatch, capsys, name):
    sibling = lab["reports"] / "t" / "keep"
    sibling.mkdir(parents=True)
    (sibling / "run.json").write_text("{}")
    calls = []
    monkeypatch.setattr(execute, "execute_run", _fake_execute(calls))
    _plan(lab, [{"name": name, "notebook": str(lab["nb"])}])
    assert _cli(lab) == 2 and calls == []
    err = capsys.readouterr().err.strip()
    assert "is not allowed" in err and len(err.splitlines()) == 1 and "Traceback" not in err
    assert (sibling / "run.json").exists(), "a sibling run's folder is never touched"


@pytest.mark.parametrize("profile", [".", "interactive", "index.html", "p" * 101])
def test_dangerous_profile_names_are_refused_with_rc_2(lab, capsys, profile):
    if len(profile) < 100 and profile != ".":
        _plan(lab, [{"name": "a", "notebook": str(lab["nb"])}], profile=profile)
    assert _cli(lab, profile=profile) == 2
    assert "profile name" in capsys.readouterr().err and not (lab["reports"] / "interactive" / "a").exists()


def test_one_runner_at_a_time_per_profile_and_reports_folder(lab, monkeypatch, capsys):
    _plan(lab, [{"name": "a", "notebook": str(lab["nb"])}])
    started, release = threading.Event(), threading.Event()
    calls = []
    fake = _fake_execute(calls)

    def slow(spec, monitor=True):
        started.set()
        release.wait(30)
        return fake(spec, monitor)
    monkeypatch.setattr(execute, "execute_run", slow)
    first = threading.Thread(target=_run, args=(lab,))
    first.start()
    try:
        assert started.wait(30)
        assert _cli(lab) == 2, "a second runner on the same profile and reports folder is refused"
        err = capsys.readouterr().err.strip()
        assert "already being run" in err and f"process {os.getpid()}" in err and len(err.splitlines()) == 1
    finally:
        release.set()
        first.join(30)
    assert calls == ["a"]
    assert _run(lab)[0].get("skipped"), "the lock is released when the first runner ends"


def test_kernels_get_the_clients_embedlab_and_hf_settings_wherever_they_run(lab, monkeypatch):
    """A Dask worker's own environment is the kernel's base: the client's EMBEDLAB_* and HF_* travel with the run."""
    _plan(lab, [{"name": "a", "notebook": str(lab["nb"])}])
    seen, calls = [], []
    monkeypatch.setattr(execute, "execute_run", _fake_execute(calls, seen))
    monkeypatch.setenv("EMBEDLAB_REQUIRE_REVISION", "e5-base=" + "1" * 40)
    monkeypatch.setenv("HF_HOME", "/somewhere/hf")
    monkeypatch.setenv("EMBEDLAB_RUN_DIR", "/not/this/run")
    _run(lab)
    env = execute.kernel_env(seen[0], base={"PATH": "/usr/bin"})  # a worker started without them
    assert env["EMBEDLAB_REQUIRE_REVISION"] == "e5-base=" + "1" * 40 and env["HF_HOME"] == "/somewhere/hf"
    assert env["EMBEDLAB_RUN_DIR"] == str(lab["reports"] / "t" / "a"), "the run's own folder always wins"


def test_an_unwritable_reports_dir_is_a_one_line_error(lab, capsys):
    _plan(lab, [{"name": "a", "notebook": str(lab["nb"])}])
    blocker = lab["tmp"] / "a-file"
    blocker.write_text("not a folder")
    assert cli.main(["run", "--profile", "t", "--plans-dir", str(lab["plans"]), "--reports-dir",
                     str(blocker / "reports")]) == 2
    err = capsys.readouterr().err.strip()
    assert "cannot write there" in err and len(err.splitlines()) == 1


def test_ctrl_c_marks_the_run_interrupted_with_a_one_line_message(lab, monkeypatch, capsys):
    _plan(lab, [{"name": "a", "notebook": str(lab["nb"])}, {"name": "b", "notebook": str(lab["nb"])}])

    def interrupted(spec, monitor=True):
        Path(spec.out_dir).mkdir(parents=True, exist_ok=True)
        atomic_write(Path(spec.out_dir) / "run.json", json.dumps({"name": spec.name, "status": "running",
                                                                  "pid": os.getpid(), "host": socket.gethostname()}))
        raise KeyboardInterrupt
    monkeypatch.setattr(execute, "execute_run", interrupted)
    assert _cli(lab) == 130
    err = capsys.readouterr().err.strip()
    assert err.startswith("interrupted") and len(err.splitlines()) == 1
    for name in ("a", "b"):
        assert json.loads((lab["reports"] / "t" / name / "run.json").read_text())["status"] == "interrupted"


def test_an_unreachable_scheduler_answers_within_10_s(lab, capsys):
    pytest.importorskip("distributed")
    _plan(lab, [{"name": "a", "notebook": str(lab["nb"])}])
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    t0 = time.time()
    assert _cli(lab, "--executor", "dask", "--scheduler", f"tcp://127.0.0.1:{port}") == 2
    assert time.time() - t0 < 10
    err = capsys.readouterr().err.strip()
    assert f"--scheduler tcp://127.0.0.1:{port}" in err and len(err.splitlines()) == 1 and "Traceback" not in err


# --------------------------------------------------------------------------- 1 with a real kernel

TOY_STUDY = '''import dataclasses
from embedlab import report
from embedlab.study import Config, Int, ListOf, Results, Str, param

@dataclasses.dataclass
class Toy(Config):
    study = "toy"
    sets: list = param([], ListOf(Str(), min_len=0), "user sets (file:<path>)")
    seed: int = param(0, Int(min=0), "seed")

cfg = report.begin(Toy.from_parameters(globals()))
results = Results("toy", metrics={"words": float(len(open(cfg.sets[0][5:]).read().split()))})
report.show(results, cfg)
report.record(results, cfg)'''


@pytest.mark.slow
def test_a_relative_file_set_runs_from_the_plan_folder_and_a_missing_one_fails(lab):
    nb_dir = lab["tmp"] / "nb"
    (nb_dir / "data").mkdir(parents=True)
    (nb_dir / "data" / "q.txt").write_text("a decoy beside the notebook\n")  # the kernel's working directory
    nb = _notebook(nb_dir / "toy.ipynb", 'sets = []\nseed = 0')
    doc = nbformat.read(str(nb), as_version=4)
    doc.cells[1] = nbformat.v4.new_code_cell(TOY_STUDY)
    nbformat.write(doc, str(nb))
    (lab["plans"] / "data").mkdir()
    mine = lab["plans"] / "data" / "q.txt"
    mine.write_text("gel geldi git gitti\n")
    _plan(lab, [{"name": "mine", "notebook": str(nb), "parameters": {"sets": ["file:data/q.txt"]}},
                {"name": "missing", "notebook": str(nb), "parameters": {"sets": ["file:data/nope.txt"]}}])
    results = {r["name"]: r for r in _run(lab)}
    assert results["mine"]["status"] == "ok", results["mine"]
    assert results["mine"]["metrics"] == {"words": 4.0}, "the plan folder's file, not the notebook folder's"
    out = lab["reports"] / "t" / "mine"
    prov = json.loads((out / "metrics.json").read_text())["provenance"]
    assert prov["user_files"][f"file:{mine}"]["sha256"] == {"q.txt": __import__("hashlib").sha256(
        mine.read_bytes()).hexdigest()}
    page = (out / "mine.html").read_text()
    assert "Assets and user files used" in page and str(mine) in page
    nope = lab["plans"] / "data" / "nope.txt"
    assert results["missing"]["status"] == "failed"
    assert results["missing"]["error"] == (f"UserFileMissing: parameter 'sets': 'file:{nope}': no such file or "
                                           f"folder {nope}")
