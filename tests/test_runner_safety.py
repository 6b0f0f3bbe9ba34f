"""The runner never shows a wrong result as ok: names, records, skip cache, index, malformed plans, --check.

Fast tests (no kernel); the kernel-level checks (Dask threads, relative reports dir, cleared folders) are in
test_runner.py and marked slow.
"""
import io
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from toys import toy_notebook
import yaml

from embedlab import assets, cli, runner
from embedlab.runner import execute, records
from embedlab.runner.execute import _Monitor
from embedlab.study import Results
from embedlab.util import atomic_write


def _notebook(path: Path, params: str = 'x = 1\nlabel = "a"\nbooks = "NT"\nopt = None') -> Path:
    return toy_notebook(path, params, "print(x)")


@pytest.fixture
def lab(tmp_path):
    plans, reports = tmp_path / "plans", tmp_path / "reports"
    plans.mkdir()
    nb = _notebook(tmp_path / "nb.ipynb")
    return {"plans": plans, "reports": reports, "nb": nb, "tmp": tmp_path}


def _plan(lab, runs, profile="t"):
    (lab["plans"] / f"{profile}.yaml").write_text(yaml.safe_dump({"runs": runs}))


def _fake_execute(calls):
    def execute(spec, monitor=True):
        calls.append(spec.name)
        out = Path(spec.out_dir)
        out.mkdir(parents=True, exist_ok=True)
        r = {"name": spec.name, "notebook": spec.notebook, "parameters": spec.parameters, "status": "ok",
             "error": None, "failed_cell": None, "content_hash": spec.content_hash, "budget_s": spec.budget_s,
             "duration_s": 0.1, "metrics": {}}
        atomic_write(out / "run.json", json.dumps(r))
        return r
    return execute


# --------------------------------------------------------------------------- names (item 11)

def test_hostile_run_and_profile_names_are_rejected(lab):
    _plan(lab, [{"name": "../../escaped_run", "notebook": str(lab["nb"])}])
    with pytest.raises(runner.PlanError, match=r"run name '../../escaped_run' is not allowed"):
        runner.load_plan("t", plans_dir=lab["plans"], reports_dir=lab["reports"])
    _plan(lab, [{"name": 'x" onfocus="alert(1)', "notebook": str(lab["nb"])}])
    with pytest.raises(runner.PlanError, match="is not allowed"):
        runner.load_plan("t", plans_dir=lab["plans"], reports_dir=lab["reports"])
    for bad in ("../../x", "..", "a/b", ""):
        with pytest.raises(runner.PlanError, match="profile name .* is not allowed"):
            runner.load_plan(bad, plans_dir=lab["plans"])
    assert not (lab["tmp"] / "escaped_run").exists() and not lab["reports"].exists()


def test_index_escapes_everything_it_shows(tmp_path):
    prof = tmp_path / "t"
    payload = 'x" onfocus="alert(1)'
    d = prof / payload  # a folder made by hand: the index must not trust folder names either
    d.mkdir(parents=True)
    rec = {"name": payload, "notebook": "<script>alert(2)</script>", "parameters": {"<b>": "<i>"},
           "status": "failed", "error": "<script>alert(3)</script>", "failed_cell": {"execution_count": 2},
           "duration_s": 1.0, "budget_s": 5,
           "headlines": [{"key": "k", "label": "<img src=x onerror=alert(4)>", "value": 0.5, "ci": [0.4, 0.6],
                          "n": 10, "reference": None, "flags": ["<at chance>"]}],
           "key_figure": "figures/a' onerror='alert(5).png", "published": "<u>61.0</u>"}
    (d / "run.json").write_text(json.dumps(rec))
    runner.write_summary("t", prof)
    page = (prof / "index.html").read_text()
    for raw in ('onfocus="alert', "<script>", "<img src=x", "onerror='alert", "<u>61", "<at chance>"):
        assert raw not in page, raw
    assert "&lt;script&gt;alert(3)&lt;/script&gt;" in page and "&lt;u&gt;61.0&lt;/u&gt;" in page
    # every attribute value is quoted and holds no raw quote of either kind
    import html.parser

    class Attrs(html.parser.HTMLParser):
        seen = []

        def handle_starttag(self, tag, attrs):
            self.seen += [(tag, k) for k, _ in attrs]
    p = Attrs()
    p.feed(page)
    assert {k for _, k in p.seen} <= {"href", "src", "class", "alt", "charset"}, p.seen


# --------------------------------------------------------------------------- records (items 8, 10)

def test_truncated_run_record_means_rerun_not_crash(lab, monkeypatch):
    _plan(lab, [{"name": "a", "notebook": str(lab["nb"])}, {"name": "b", "notebook": str(lab["nb"])}])
    calls = []
    monkeypatch.setattr(execute, "execute_run", _fake_execute(calls))
    monkeypatch.setattr(execute, "HASHED_TREES", ())
    runner.run_profile("t", plans_dir=lab["plans"], reports_dir=lab["reports"], echo=lambda s: None)
    assert calls == ["a", "b"]
    rj = lab["reports"] / "t" / "a" / "run.json"
    rj.write_text(rj.read_text()[:25])  # a kill in the middle of a write
    runner.write_summary("t", lab["reports"] / "t")  # the index survives it
    summary = json.loads((lab["reports"] / "t" / "summary.json").read_text())
    assert {r["name"]: r["status"] for r in summary} == {"a": "interrupted", "b": "ok"}
    calls.clear()
    runner.run_profile("t", plans_dir=lab["plans"], reports_dir=lab["reports"], echo=lambda s: None)
    assert calls == ["a"], "the unreadable record is rerun, the intact one skipped"


def test_records_are_written_atomically(tmp_path, monkeypatch):
    target = tmp_path / "run.json"
    target.write_text('{"status": "ok"}')

    def killed(*a, **k):
        raise KeyboardInterrupt
    monkeypatch.setattr(os, "replace", killed)
    with pytest.raises(KeyboardInterrupt):
        atomic_write(target, '{"status": "failed", "much": "' + "x" * 10000 + '"}')
    assert json.loads(target.read_text()) == {"status": "ok"}
    assert list(tmp_path.iterdir()) == [target], "no temporary file left behind"


def test_a_running_record_of_a_dead_process_shows_as_interrupted(tmp_path):
    prof = tmp_path / "t"
    for name, pid in (("dead", 2 ** 22 + 12345), ("alive", os.getpid())):
        (prof / name).mkdir(parents=True)
        (prof / name / "run.json").write_text(json.dumps(
            {"name": name, "status": "running", "pid": pid, "host": socket.gethostname(),
             "metrics": {"old": 1.0}, "parameters": {}}))
    runner.write_summary("t", prof)
    status = {r["name"]: r["status"] for r in json.loads((prof / "summary.json").read_text())}
    assert status == {"dead": "interrupted", "alive": "running"}
    assert "dead | interrupted" in (prof / "summary.md").read_text().replace("](dead/dead.html)", "")


# --------------------------------------------------------------------------- skip cache (item 9)

@pytest.mark.parametrize("old_status", ["partial", "failed", "interrupted", "running"])
def test_only_ok_runs_are_skipped(lab, monkeypatch, old_status):
    _plan(lab, [{"name": "a", "notebook": str(lab["nb"])}])
    calls = []
    monkeypatch.setattr(execute, "execute_run", _fake_execute(calls))
    monkeypatch.setattr(execute, "HASHED_TREES", ())
    runner.run_profile("t", plans_dir=lab["plans"], reports_dir=lab["reports"], echo=lambda s: None)
    rj = lab["reports"] / "t" / "a" / "run.json"
    rec = json.loads(rj.read_text())
    runner.run_profile("t", plans_dir=lab["plans"], reports_dir=lab["reports"], echo=lambda s: None)
    assert calls == ["a"], "an ok run with the same hash is skipped"
    rj.write_text(json.dumps({**rec, "status": old_status}))
    runner.run_profile("t", plans_dir=lab["plans"], reports_dir=lab["reports"], echo=lambda s: None)
    assert calls == ["a", "a"], f"a {old_status} run is never skipped"


def test_content_hash_covers_the_mirror(lab, monkeypatch, tmp_path):
    _plan(lab, [{"name": "a", "notebook": str(lab["nb"])}])
    monkeypatch.setattr(execute, "HASHED_TREES", ())
    monkeypatch.delenv("EMBEDLAB_MIRROR", raising=False)
    assets.set_mirror(None)
    spec = runner.load_plan("t", plans_dir=lab["plans"])[0]
    none = runner.content_hash(spec)
    monkeypatch.setenv("EMBEDLAB_MIRROR", str(tmp_path / "mirror"))
    absent = runner.content_hash(spec)
    (tmp_path / "mirror").mkdir()
    present = runner.content_hash(spec)
    assert len({none, absent, present}) == 3


def test_status_partial_when_something_is_unavailable_or_flagged():
    """A run's status is its results' own (``Results.status``), read back from metrics.json through from_dict."""
    read = Results.from_dict
    assert records.outcome(read({"metrics": {"a": 1}})) == ("ok", [])  # older files: no schema_version, no status
    assert read({"status": "ok", "headlines": [{"key": "a", "label": "A", "value": 1.0, "flags": []}]}).status == "ok"
    status, why = records.outcome(read({"status": "ok", "unavailable": [{"name": "stsb", "kind": "sts",
                                                                          "reason": "offline"}]}))
    assert status == "partial" and "stsb" in why[0]
    status, why = records.outcome(read({"headlines": [{"key": "a", "label": "A vs B", "value": 0.5,
                                                        "flags": ["at chance"]}]}))
    assert status == "partial" and "A vs B" in why[0]
    assert records.outcome(None) == ("partial", [records.NO_METRICS])
    assert records.read_results({"headlines": "not a list"}) is None  # unreadable: rerun, never a crash


# --------------------------------------------------------------------------- index content (issue 10)

def test_index_shows_declared_headlines_in_order_with_ci_flags_figure_and_published(tmp_path):
    prof = tmp_path / "t"
    (prof / "new" / "figures").mkdir(parents=True)
    heads = [{"key": f"k{i}", "label": f"H{i} ours vs theirs", "value": 0.1 * i, "ci": [0.1 * i - 0.05, 0.1 * i + 0.05],
              "n": 100 + i, "reference": {"kind": "chance", "value": 0.25}, "flags": ["at chance"] if i == 2 else []}
             for i in (5, 2, 9, 7, 1)]
    metrics = {"study": "s", "status": "partial", "metrics": {"aaa": 0.0, "zzz": 1.0}, "headlines": heads,
               "flags": [], "unavailable": [], "findings": [], "timings": {}, "key_figure": "figures/main.png",
               "published": "61.0 (Table 2)", "parameters": {}, "provenance": {}}
    (prof / "new" / "metrics.json").write_text(json.dumps(metrics))
    (prof / "new" / "run.json").write_text(json.dumps({"name": "new", "status": "partial", "duration_s": 12.0,
                                                       "budget_s": 10, "parameters": {}, "notebook": "n.ipynb",
                                                       **records.result_fields(Results.from_dict(metrics))}))
    (prof / "old").mkdir()
    (prof / "old" / "run.json").write_text(json.dumps({"name": "old", "status": "ok", "duration_s": 3,
                                                       "parameters": {"x": 1}, "metrics": {"x2": 2}}))
    (prof / "old" / "metrics.json").write_text(json.dumps({"metrics": {"x2": 2}, "provenance": {}}))
    runner.write_summary("t", prof)
    page = (prof / "index.html").read_text()
    order = [page.index(f"H{i} ours") for i in (5, 2, 9, 7)]
    assert order == sorted(order) and "H1 ours" not in page and "1 more in the report" in page
    assert "0.2 [0.15, 0.25] n=102 (chance 0.25)" in page and "<span class='flag'>at chance</span>" in page
    assert "<img class='key' src='new/figures/main.png'" in page and "61.0 (Table 2)" in page
    assert "12 s / 10 s (over budget)" in page and "badge partial" in page
    assert "x2: <b>2</b>" in page  # an older metrics.json still shows
    md = (prof / "summary.md").read_text()
    assert "H5 ours vs theirs: 0.5 [0.45, 0.55] n=105 (chance 0.25)" in md and "**[at chance]**" in md


# --------------------------------------------------------------------------- parameters (item 13)

def test_type_check_rejects_only_clear_mismatches(lab):
    def check(params):
        _plan(lab, [{"name": "a", "notebook": str(lab["nb"]), "parameters": params}])
        runner.validate_parameters(runner.load_plan("t", plans_dir=lab["plans"])[0])

    check({"books": ["MAT", "MRK"]})  # a list where the default is the string "NT": documented, accepted
    check({"books": None, "opt": {"any": [1]}, "x": 2.5, "label": "b"})
    for bad, want in (({"x": "three"}, "should be int"), ({"x": True}, "should be int"),
                      ({"label": 3}, "should be str"), ({"lable": "z"}, "did you mean 'label'")):
        with pytest.raises(runner.PlanError, match=want):
            check(bad)


# --------------------------------------------------------------------------- CLI (items 12, 14)

MALFORMED = {
    "bad_yaml": ("runs: [\n  - name: a\n", "not valid YAML"),
    "top_list": ("- name: a\n  notebook: x.ipynb\n", "must be a mapping with a 'runs' list, got list"),
    "no_notebook": ("runs:\n  - name: a\n", "run 'a' has no 'notebook'"),
    "names_only": ("runs: [a, b]\n", "run #1 must be a mapping"),
    "params_list": ("runs:\n  - name: a\n    notebook: NB\n    parameters: [x, 1]\n", "'parameters' must be a mapping"),
    "bad_budget": ("runs:\n  - name: a\n    notebook: NB\n    budget_s: -1\n", "budget_s must be a positive number"),
    "runs_dict": ("runs: {a: 1}\n", "'runs' must be a list"),
}


@pytest.mark.parametrize("case", sorted(MALFORMED))
def test_malformed_plans_give_one_line_error_and_rc_2(lab, case, capsys):
    text, message = MALFORMED[case]
    (lab["plans"] / f"{case}.yaml").write_text(text.replace("NB", str(lab["nb"])))
    rc = cli.main(["run", "--profile", case, "--plans-dir", str(lab["plans"]), "--reports-dir", str(lab["reports"])])
    err = capsys.readouterr().err
    assert rc == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error: {lab['plans'] / case}.yaml: ") and message in lines[0], err


def test_cli_errors_without_traceback(lab):
    (lab["plans"] / "broken.yaml").write_text("runs: [a]\n")
    cmd = [sys.executable, "-m", "embedlab.cli", "run", "--plans-dir", str(lab["plans"]), "--reports-dir",
           str(lab["reports"]), "--profile"]
    for profile, message in (("broken", "broken.yaml: run #1 must be a mapping"), ("nope", "unknown profile 'nope'"),
                             ("../../x", "profile name '../../x' is not allowed")):
        p = subprocess.run(cmd + [profile], capture_output=True, text=True)
        assert p.returncode == 2 and message in p.stderr and "Traceback" not in p.stderr, p.stderr
        assert len(p.stderr.strip().splitlines()) == 1, p.stderr


@pytest.mark.parametrize("jobs", ["-3", "0", "two"])
def test_jobs_must_be_positive(jobs, capsys):
    with pytest.raises(SystemExit) as exc:
        cli.main(["run", "--profile", "smoke", "--plans-dir", "/nonexistent", "--jobs", jobs])
    assert exc.value.code == 2 and "--jobs: must be a whole number >= 1" in capsys.readouterr().err


# --check: tests/test_check.py


# --------------------------------------------------------------------------- kernel environment (item 1, issue 10)

def test_kernel_env_is_per_run_and_leaves_os_environ_alone(lab, monkeypatch):
    monkeypatch.setenv("MPLBACKEND", "Agg")
    before = dict(os.environ)
    _plan(lab, [{"name": "a", "notebook": str(lab["nb"])}, {"name": "b", "notebook": str(lab["nb"])}])
    a, b = runner.load_plan("t", plans_dir=lab["plans"], reports_dir=Path(os.path.relpath(lab["reports"])))
    ea, eb = runner.kernel_env(a), runner.kernel_env(b)
    assert dict(os.environ) == before
    assert "MPLBACKEND" not in ea, "figures must stay inline"
    assert ea["EMBEDLAB_RUN_DIR"] != eb["EMBEDLAB_RUN_DIR"] and Path(ea["EMBEDLAB_RUN_DIR"]).is_absolute()
    assert ea["EMBEDLAB_RUN_DIR"] == str(lab["reports"].resolve() / "t" / "a")
    assert ea["EMBEDLAB_PROGRESS_LOG"] == str(lab["reports"].resolve() / "t" / "a" / "progress.log")
    for k, v in {"TQDM_DISABLE": "1", "PYTHONHASHSEED": "0", "TOKENIZERS_PARALLELISM": "false",
                 "HF_HUB_DISABLE_PROGRESS_BARS": "1", "TRANSFORMERS_VERBOSITY": "error", "EMBEDLAB_RUN_NAME": "a"}.items():
        assert ea[k] == v, k


def test_monitor_prints_run_elapsed_budget_and_latest_progress_line(tmp_path):
    spec = runner.RunSpec(name="r1", notebook="n.ipynb", parameters={}, budget_s=90, out_dir=str(tmp_path))
    stream = io.StringIO()
    m = _Monitor(spec, time.time(), every=0.05, heartbeat=60, stream=stream)
    m.start()
    (tmp_path / "progress.log").write_text("loading corpus\ntraining 3/10\n")
    time.sleep(0.4)
    (tmp_path / "progress.log").write_text("loading corpus\ntraining 3/10\ntraining 4/10\n")
    time.sleep(0.4)
    m.stop.set()
    m.join()
    lines = stream.getvalue().splitlines()
    assert lines[0].startswith("[r1] 0/90 s") and lines[0].endswith("training 3/10")
    assert lines[-1].endswith("training 4/10") and len(lines) == 2, lines


def test_index_never_shows_an_earlier_result_of_a_run_being_replaced(lab, monkeypatch):
    _plan(lab, [{"name": "a", "notebook": str(lab["nb"])}, {"name": "b", "notebook": str(lab["nb"])}])
    monkeypatch.setattr(execute, "HASHED_TREES", ())
    calls = []
    monkeypatch.setattr(execute, "execute_run", _fake_execute(calls))
    runner.run_profile("t", plans_dir=lab["plans"], reports_dir=lab["reports"], echo=lambda s: None)
    (lab["reports"] / "t" / "a" / "metrics.json").write_text(json.dumps({"metrics": {"old": 1}}))
    seen = []

    def killed(spec, monitor=True):
        seen.append({r["name"]: r["status"] for r in json.loads((lab["reports"] / "t" / "summary.json").read_text())})
        raise KeyboardInterrupt  # Ctrl-C (or a kill) while the first run starts
    monkeypatch.setattr(execute, "execute_run", killed)
    with pytest.raises(KeyboardInterrupt):
        runner.run_profile("t", plans_dir=lab["plans"], reports_dir=lab["reports"], echo=lambda s: None, force=True)
    assert seen == [{"a": "queued", "b": "queued"}]
    after = json.loads((lab["reports"] / "t" / "summary.json").read_text())
    assert {r["name"]: r["status"] for r in after} == {"a": "interrupted", "b": "interrupted"}
    assert all(not r.get("metrics") for r in after), "no stale metrics shown for an interrupted run"
    assert "interrupted" in (lab["reports"] / "t" / "index.html").read_text()
