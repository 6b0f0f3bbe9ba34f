"""The papermill runner: plan validation, failures that do not stop others, reports, caching, Dask."""
import json
import os
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
import yaml

from embedlab import runner
from embedlab.runner import execute

ROOT = Path(__file__).resolve().parents[1]


def _notebook(path: Path, body: str, params: str = 'x = 1\nlabel = "a"') -> Path:
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(params, metadata={"tags": ["parameters"]}),
                nbformat.v4.new_code_cell("import numpy as np\nfrom embedlab import report, seeding\nseeding.seed_everything(0)"),
                nbformat.v4.new_code_cell(body)]
    nb.metadata["kernelspec"] = {"name": "embedlab", "display_name": "Python (embedlab)", "language": "python"}
    nbformat.write(nb, str(path))
    return path


GOOD = ("import matplotlib.pyplot as plt\nfig, ax = plt.subplots(); ax.plot([0, x])\nreport.savefig(fig, 'line')\n"
        "report.record({'x2': x * 2, 'draw': float(np.random.rand())}, {'x': x, 'label': label}, seed=0)")
BAD = "raise ValueError('boom from ' + label)"


@pytest.fixture
def lab(tmp_path):
    """A plans dir with a good and a failing notebook, and an empty reports dir."""
    plans, reports = tmp_path / "plans", tmp_path / "reports"
    plans.mkdir()
    good = _notebook(tmp_path / "good.ipynb", GOOD)
    bad = _notebook(tmp_path / "bad.ipynb", BAD)
    plan = {"runs": [{"name": "bad", "notebook": str(bad), "parameters": {"label": "b"}},
                     {"name": "good", "notebook": str(good), "parameters": {"x": 3}}]}
    (plans / "t.yaml").write_text(yaml.safe_dump(plan))
    return {"plans": plans, "reports": reports, "good": good, "bad": bad, "tmp": tmp_path}


def run(lab, **kw):
    return runner.run_profile("t", plans_dir=lab["plans"], reports_dir=lab["reports"], echo=lambda s: None, **kw)


def test_unknown_profile_lists_known_ones(lab):
    with pytest.raises(runner.PlanError, match="unknown profile 'nope'; known profiles: t"):
        runner.load_plan("nope", plans_dir=lab["plans"])


def test_unknown_parameter_is_rejected_before_running(lab):
    (lab["plans"] / "t.yaml").write_text(yaml.safe_dump(
        {"runs": [{"name": "good", "notebook": str(lab["good"]), "parameters": {"lable": "z"}}]}))
    with pytest.raises(runner.PlanError, match="unknown parameter 'lable' \\(did you mean 'label'\\?\\).*valid parameters: x, label"):
        run(lab)
    assert not lab["reports"].exists()


def test_mistyped_parameter_value_is_rejected(lab):
    (lab["plans"] / "t.yaml").write_text(yaml.safe_dump(
        {"runs": [{"name": "good", "notebook": str(lab["good"]), "parameters": {"x": "three"}}]}))
    with pytest.raises(runner.PlanError, match="parameter 'x' should be int"):
        run(lab)


def test_unknown_run_in_only(lab):
    with pytest.raises(runner.PlanError, match="--only nope: not in profile 't'; runs: bad, good"):
        run(lab, only=["nope"])


@pytest.mark.slow
def test_failure_does_not_stop_others_and_reports_are_written(lab, monkeypatch):
    monkeypatch.setattr(execute, "HASHED_TREES", ())  # other edits to lib/ must not defeat the cache check here
    results = {r["name"]: r for r in run(lab)}
    assert results["bad"]["status"] == "failed"
    assert "ValueError: boom from b" in results["bad"]["error"]
    assert results["bad"]["failed_cell"]["execution_count"] == 4  # papermill injects a parameters cell
    assert results["good"]["status"] == "ok" and results["good"]["metrics"]["x2"] == 6
    out = lab["reports"] / "t"
    for f in ("index.html", "summary.md", "summary.json", "good/good.ipynb", "good/good.html", "good/figures/line.png"):
        assert (out / f).exists(), f
    metrics = json.loads((out / "good" / "metrics.json").read_text())
    prov = metrics["provenance"]
    assert prov["parameters"] == {"x": 3, "label": "a"} and prov["seed"] == 0 and prov["pythonhashseed"] == "0"
    assert prov["packages"]["numpy"] and prov["git_commit"]
    summary = (out / "summary.md").read_text()
    assert "failed: ValueError: boom from b in cell [4]" in summary and "x2: 6" in summary
    assert "boom from b" in (out / "index.html").read_text()

    # a rerun skips the unchanged good run, retries the failed one; --force reruns everything
    again = {r["name"]: r for r in run(lab)}
    assert again["good"].get("skipped") and not again["bad"].get("skipped")
    assert again["good"]["metrics"] == results["good"]["metrics"]
    forced = {r["name"]: r for r in run(lab, force=True, only=["good"])}
    assert not forced["good"].get("skipped")
    assert forced["good"]["metrics"] == results["good"]["metrics"], "same parameters and seed must give the same metrics"


def test_content_hash_covers_library_and_data(tmp_path, lab):
    spec = runner.load_plan("t", plans_dir=lab["plans"])[1]
    (tmp_path / "lib/embedlab").mkdir(parents=True)
    (tmp_path / "data").mkdir()
    code = tmp_path / "lib/embedlab/mod.py"
    code.write_text("A = 1\n")
    before = runner.content_hash(spec, root=tmp_path)
    code.write_text("A = 2\n")
    assert runner.content_hash(spec, root=tmp_path) != before
    (tmp_path / "data/assets.yaml").write_text("[]\n")
    changed = runner.content_hash(spec, root=tmp_path)
    spec.parameters["x"] = 9
    assert runner.content_hash(spec, root=tmp_path) != changed


@pytest.mark.slow
def test_changed_parameters_invalidate_the_cache(lab, monkeypatch):
    monkeypatch.setattr(execute, "HASHED_TREES", ())
    run(lab, only=["good"])
    plan = yaml.safe_load((lab["plans"] / "t.yaml").read_text())
    plan["runs"][1]["parameters"]["x"] = 5
    (lab["plans"] / "t.yaml").write_text(yaml.safe_dump(plan))
    r = run(lab, only=["good"])[0]
    assert not r.get("skipped") and r["metrics"]["x2"] == 10


@pytest.mark.slow
def test_dask_executor_with_a_local_cluster(lab):
    """One worker with two threads runs two notebooks at once: each run's metrics land in its own folder."""
    from distributed import LocalCluster

    plan = yaml.safe_load((lab["plans"] / "t.yaml").read_text())
    # the two good runs first, so that they start together on the worker's two threads
    plan["runs"] = [plan["runs"][1], {"name": "good2", "notebook": str(lab["good"]), "parameters": {"x": 5}},
                    plan["runs"][0]]
    (lab["plans"] / "t.yaml").write_text(yaml.safe_dump(plan))
    with LocalCluster(n_workers=1, threads_per_worker=2, processes=True, dashboard_address=None) as cluster:
        results = {r["name"]: r for r in run(lab, executor="dask", scheduler=cluster.scheduler_address)}
    assert results["good"]["status"] == "ok" and results["good"]["metrics"] == {"x2": 6, "draw": results["good"]["metrics"]["draw"]}
    assert results["good2"]["status"] == "ok" and results["good2"]["metrics"]["x2"] == 10
    for name, x in (("good", 3), ("good2", 5)):
        doc = json.loads((lab["reports"] / "t" / name / "metrics.json").read_text())
        assert doc["metrics"]["x2"] == 2 * x and doc["provenance"]["parameters"]["x"] == x, name
    assert results["bad"]["status"] == "failed"
    assert (lab["reports"] / "t" / "index.html").exists()


PROBE = """import json, os, time
from pathlib import Path
run_dir = Path(os.environ["EMBEDLAB_RUN_DIR"])
with open(os.environ["EMBEDLAB_PROGRESS_LOG"], "a") as f:
    f.write("probe step 1/1\\n")
time.sleep(2.5)  # the runner's monitor polls every 2 s
env = {k: os.environ.get(k) for k in ("MPLBACKEND", "TQDM_DISABLE", "EMBEDLAB_RUN_NAME", "PYTHONHASHSEED")}
record = json.loads((run_dir / "run.json").read_text())
(run_dir / "figures").mkdir(exist_ok=True)
(run_dir / "figures" / "new.png").write_bytes(b"png")
(run_dir / "metrics.json").write_text(json.dumps({"status": "ok", "metrics": {"x": x}, "env": env,
    "status_while_running": record["status"], "cwd": os.getcwd(), "backend": __import__("matplotlib").get_backend()}))"""


@pytest.mark.slow
def test_relative_reports_dir_cleared_folder_running_record_and_kernel_env(lab, monkeypatch, capfd):
    monkeypatch.setattr(execute, "HASHED_TREES", ())
    monkeypatch.setenv("MPLBACKEND", "Agg")
    probe = _notebook(lab["tmp"] / "probe.ipynb", PROBE)
    (lab["plans"] / "t.yaml").write_text(yaml.safe_dump(
        {"runs": [{"name": "probe", "notebook": str(probe), "parameters": {"x": 7}, "budget_s": 60}]}))
    work = lab["tmp"] / "work"
    stale = work / "rel" / "t" / "probe" / "figures" / "stale.png"
    stale.parent.mkdir(parents=True)
    stale.write_bytes(b"old")
    monkeypatch.chdir(work)
    r = runner.run_profile("t", plans_dir=Path("../plans"), reports_dir=Path("rel"), echo=lambda s: None)[0]
    out = work / "rel" / "t" / "probe"
    assert r["status"] == "ok", r
    doc = json.loads((out / "metrics.json").read_text())
    assert doc["metrics"] == {"x": 7} and r["metrics"] == {"x": 7}
    assert not (lab["tmp"] / "rel").exists(), "nothing written relative to the kernel's working directory"
    assert not stale.exists() and (out / "figures" / "new.png").exists(), "the run's folder is cleared at start"
    assert doc["status_while_running"] == "running"
    assert "inline" in doc["env"].pop("MPLBACKEND") and "inline" in doc["backend"], "figures stay inline (not Agg)"
    assert doc["env"] == {"TQDM_DISABLE": "1", "EMBEDLAB_RUN_NAME": "probe", "PYTHONHASHSEED": "0"}
    assert os.environ["MPLBACKEND"] == "Agg" and Path.cwd() == work, "the runner's own process is untouched"
    err = capfd.readouterr().err
    assert "[probe] " in err and "/60 s  probe step 1/1" in err
    assert json.loads((out / "run.json").read_text())["status"] == "ok"


def test_cli_exit_codes_for_bad_input(tmp_path):
    cli = [sys.executable, "-m", "embedlab.cli"]
    p = subprocess.run(cli + ["run", "--profile", "nope", "--reports-dir", str(tmp_path)], capture_output=True, text=True)
    assert p.returncode == 2 and "unknown profile 'nope'" in p.stderr and "smoke" in p.stderr
    p = subprocess.run(cli + ["assets", "fetch", "no-such-asset"], capture_output=True, text=True)
    assert p.returncode == 2 and "unknown asset 'no-such-asset'" in p.stderr
    p = subprocess.run(cli + ["assets", "list"], capture_output=True, text=True)
    assert p.returncode == 0 and "turkish-treebanks" in p.stdout and "cached" in p.stdout


@pytest.mark.slow
@pytest.mark.slow
def test_smoke_profile_end_to_end(smoke_run):
    """`embedlab run --profile smoke` executes every smoke run into reports/smoke/ with an index."""
    p, out = smoke_run.process, smoke_run.folder
    assert p.returncode == 0, p.stdout[-3000:] + p.stderr[-3000:]
    assert (out / "index.html").exists() and (out / "summary.md").exists()
    names = [s.name for s in runner.load_plan("smoke")]
    for name in names:
        doc = json.loads((out / name / "metrics.json").read_text())
        assert doc["metrics"], name
        assert doc["provenance"]["assets"], f"{name}: no asset provenance recorded"
