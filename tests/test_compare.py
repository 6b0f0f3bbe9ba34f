"""``embedlab compare A B`` on two toy runs: one table of every shared headline and metric, moved headlines first
(issue 20, section 6)."""
import io
import subprocess
import sys
from pathlib import Path

import nbformat
import pandas as pd
import pytest
import yaml

from embedlab import cli, report
from embedlab.runner import compare
from embedlab.study import Reference, Results

ROOT = Path(__file__).resolve().parents[1]


def _toy_run(folder: Path, monkeypatch, acc: float, ci: tuple, diff: float, extra: str = "") -> Path:
    """A run folder as a notebook leaves it: metrics.json written by report.record."""
    monkeypatch.setenv("EMBEDLAB_RUN_DIR", str(folder))
    r = Results("toy")
    r.headline("task/model/acc", "accuracy of the model", acc, ci=ci, n=200, reference=Reference("chance", 0.25))
    r.compare("task/model-base/acc", "model minus base", "model", "base", diff, ci=(diff - 0.02, diff + 0.02), n=200)
    if extra:
        r.headline(extra, "only here", 1.0)
    r.metrics.update({"task/model/acc": acc, "task/model/n": 200, "task/base/acc": 0.5})
    report.record(r, {"x": 1})
    return folder


@pytest.fixture
def two_profiles(tmp_path, monkeypatch):
    reports = tmp_path / "reports"
    _toy_run(reports / "old" / "r1", monkeypatch, 0.60, (0.55, 0.65), 0.10)
    _toy_run(reports / "old" / "r2", monkeypatch, 0.70, (0.66, 0.74), 0.05, extra="old/only")
    _toy_run(reports / "old" / "gone", monkeypatch, 0.70, (0.66, 0.74), 0.05)
    _toy_run(reports / "new" / "r1", monkeypatch, 0.80, (0.76, 0.84), 0.11)   # moved beyond its interval
    _toy_run(reports / "new" / "r2", monkeypatch, 0.71, (0.67, 0.75), 0.05)   # within noise
    return reports


def test_two_profiles_give_one_table_with_moved_headlines_first(two_profiles, capsys):
    rc = cli.main(["compare", "old", "new", "--reports-dir", str(two_profiles), "--format", "csv"])
    got = capsys.readouterr()
    assert rc == 0
    df = pd.read_csv(io.StringIO(got.out))
    first = df.iloc[0]
    assert (first.run, first.kind, first.key) == ("r1", "headline", "task/model/acc")
    assert first.a == 0.60 and first.b == 0.80 and first.b_minus_a == pytest.approx(0.20)
    assert not first.intervals_overlap and (first.a_ci_low, first.b_ci_high) == (0.55, 0.84)
    headlines = df[df.kind == "headline"]
    assert len(headlines) == 4 and headlines.intervals_overlap.tolist() == [False, True, True, True]
    metrics = df[df.kind == "metric"]
    assert len(metrics) == 6 and set(df.kind.iloc[4:]) == {"metric"}, "headlines before metrics"
    assert "old/only" not in set(df.key)
    assert "runs on one side only (not compared): gone" in got.err
    assert "1 headline(s) moved beyond their intervals" in got.err


def test_two_run_folders_in_markdown_and_latex(two_profiles, capsys):
    a, b = two_profiles / "old" / "r2", two_profiles / "new" / "r2"
    assert cli.main(["compare", str(a), str(b)]) == 0
    md = capsys.readouterr().out.splitlines()
    assert md[0] == "| " + " | ".join(compare.COLUMNS) + " |"
    assert md[2].startswith("|  | headline | task/model/acc | accuracy of the model | 0.7 | 0.71 | 0.01 |")
    assert cli.main(["compare", str(a), str(b), "--format", "latex"]) == 0
    tex = capsys.readouterr().out
    assert r"\toprule" in tex and r"\bottomrule" in tex and r"task/model/acc & accuracy of the model" in tex


def test_mismatched_sides_and_missing_targets_are_one_line_errors(two_profiles, capsys):
    assert cli.main(["compare", str(two_profiles / "old" / "r1"), "new", "--reports-dir", str(two_profiles)]) == 2
    assert "compare a run folder with a run folder" in capsys.readouterr().err
    assert cli.main(["compare", "nope", "new", "--reports-dir", str(two_profiles)]) == 2
    assert "nope: not a run folder" in capsys.readouterr().err


def test_two_reports_folders_pair_profile_and_run(two_profiles, tmp_path, monkeypatch):
    _toy_run(tmp_path / "reports2" / "old" / "r1", monkeypatch, 0.61, (0.56, 0.66), 0.10)
    pairs, alone = compare.pair(compare.resolve(str(two_profiles), two_profiles),
                                compare.resolve(str(tmp_path / "reports2"), two_profiles))
    assert [p[0] for p in pairs] == ["old/r1"] and "new/r1" in alone


@pytest.mark.slow
def test_compare_two_toy_notebook_runs_through_the_runner(tmp_path):
    """Two profiles of a toy notebook executed by `embedlab run`, then compared through the CLI."""
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("acc = 0.5", metadata={"tags": ["parameters"]}),
                nbformat.v4.new_code_cell(
                    "from embedlab import report\nfrom embedlab.study import Results\nr = Results('toy')\n"
                    "r.headline('t/acc', 'accuracy', acc, ci=(acc - 0.05, acc + 0.05), n=100)\n"
                    "r.metrics['t/acc'] = acc\nreport.record(r, {'acc': acc})")]
    nb.metadata["kernelspec"] = {"name": "embedlab", "display_name": "Python (embedlab)", "language": "python"}
    nbformat.write(nb, str(tmp_path / "toy.ipynb"))
    (tmp_path / "plans").mkdir()
    for profile, acc in (("before", 0.5), ("after", 0.9)):
        (tmp_path / "plans" / f"{profile}.yaml").write_text(yaml.safe_dump(
            {"runs": [{"name": "toy", "notebook": str(tmp_path / "toy.ipynb"), "parameters": {"acc": acc}}]}))
        subprocess.run([sys.executable, "-m", "embedlab.cli", "run", "--profile", profile, "--plans-dir",
                        str(tmp_path / "plans"), "--reports-dir", str(tmp_path / "reports")], check=True, cwd=ROOT,
                       capture_output=True, timeout=300)
    p = subprocess.run([sys.executable, "-m", "embedlab.cli", "compare", "before", "after", "--reports-dir",
                        str(tmp_path / "reports"), "--format", "csv"], capture_output=True, text=True, cwd=ROOT)
    df = pd.read_csv(io.StringIO(p.stdout))
    row = df.iloc[0]
    assert (row.key, row.kind, row.a, row.b) == ("t/acc", "headline", 0.5, 0.9) and not row.intervals_overlap
