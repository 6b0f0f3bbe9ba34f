"""A notebook opened by hand: ``report.begin`` gives it ``reports/interactive/<notebook>/`` (emptied of an earlier
session's outputs) and still shows its warnings, which the report's box also collects (issue 20, section 5)."""
import sys
import warnings

import pytest

from embedlab import data_card, paths, report


def _to_stderr(message, category, filename, lineno, file=None, line=None):
    sys.stderr.write(warnings.formatwarning(message, category, filename, lineno, line))


@pytest.fixture
def session(tmp_path, monkeypatch):
    """An interactive session of notebooks/my_study.ipynb, its reports under tmp_path."""
    monkeypatch.delenv("EMBEDLAB_RUN_DIR", raising=False)
    monkeypatch.delenv("EMBEDLAB_RUN_NAME", raising=False)
    monkeypatch.setenv("JPY_SESSION_NAME", "/home/me/lab/notebooks/my_study.ipynb")
    monkeypatch.setattr(paths, "REPORTS", tmp_path / "reports")
    monkeypatch.setattr(report, "_INTERACTIVE", [], raising=False)
    with warnings.catch_warnings():  # begin() sets the warning hooks; they are put back afterwards
        warnings.showwarning = _to_stderr  # as in a kernel (pytest's own hook records warnings instead)
        yield tmp_path / "reports" / "interactive" / "my_study"


def test_interactive_runs_write_to_their_notebooks_folder_which_begin_clears(session):
    stale = session / "figures" / "from_last_week.png"
    stale.parent.mkdir(parents=True)
    stale.write_bytes(b"old")
    report.begin(data_card.Config())
    assert not stale.exists(), "an earlier session's figure must not sit beside this one's"
    import pandas as pd

    report.save_table(pd.DataFrame({"a": [1]}), "t")
    report.record({"m": 1.0}, {"x": 1})
    assert (session / "tables" / "t.csv").exists() and (session / "metrics.json").exists()
    assert report.run_dir() == session


def test_without_a_notebook_name_the_study_names_the_folder(session, monkeypatch):
    monkeypatch.delenv("JPY_SESSION_NAME")
    report.begin(data_card.Config())
    assert report.run_dir() == session.parent / "assets"


def test_begin_still_shows_warnings_in_an_interactive_session(session, capsys):
    report.begin(data_card.Config())
    warnings.warn("a loader fell back to something", UserWarning)
    assert "a loader fell back to something" in capsys.readouterr().err
    assert report.collected_warnings() == ["UserWarning: a loader fell back to something"]
    report.begin(data_card.Config())  # a second begin() shows each warning once, not twice
    warnings.warn("again", UserWarning)
    assert capsys.readouterr().err.count("UserWarning: again") == 1


def test_under_the_runner_warnings_are_collected_not_printed(session, monkeypatch, tmp_path, capsys):
    monkeypatch.setenv("EMBEDLAB_RUN_DIR", str(tmp_path / "run"))
    report.begin(data_card.Config())
    warnings.warn("quiet please", UserWarning)
    assert "quiet please" not in capsys.readouterr().err
    assert report.collected_warnings() == ["UserWarning: quiet please"]
    assert report.run_dir() == tmp_path / "run" and not session.exists()
