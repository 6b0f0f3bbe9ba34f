"""Report pages a reviewer can read: every saved figure appears inline, progress stays out of the page."""
import io

import nbformat
import pytest

from embedlab import page_checks

NOTEBOOK = '''
import matplotlib.pyplot as plt
from embedlab import progress, report
for _ in progress.bar(range(50), desc="toy loop"):
    pass
progress.step("trained the toy model")
fig, ax = plt.subplots()
ax.plot([0, 1], [1, 0])
report.savefig(fig, "toy line")
fig, ax = plt.subplots()
ax.bar(["a", "b"], [1, 2])
report.savefig(fig, "file:/tmp/odd name")
'''


@pytest.mark.slow
def test_saved_figures_are_inline_and_no_progress_bars(tmp_path, monkeypatch):
    import papermill
    from nbconvert import HTMLExporter

    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(NOTEBOOK)])
    nb.metadata["kernelspec"] = {"name": "embedlab", "display_name": "Python (embedlab)", "language": "python"}
    src, out = tmp_path / "toy.ipynb", tmp_path / "run" / "toy.ipynb"
    out.parent.mkdir()
    nbformat.write(nb, src)
    monkeypatch.setenv("EMBEDLAB_RUN_DIR", str(out.parent))
    monkeypatch.setenv("EMBEDLAB_PROGRESS_LOG", str(out.parent / "progress.log"))
    monkeypatch.setenv("TQDM_DISABLE", "1")
    papermill.execute_notebook(str(src), str(out), kernel_name="embedlab", progress_bar=False, cwd=str(tmp_path))
    body, _ = HTMLExporter().from_filename(str(out))
    (out.parent / "toy.html").write_text(body)
    figures = sorted(p.name for p in (out.parent / "figures").glob("*.png"))
    assert figures == ["file_tmp_odd_name.png", "toy_line.png"]
    assert page_checks.missing_figures(out.parent) == []
    assert page_checks.progress_bar_lines(body) == []
    assert "trained the toy model" in body  # one line per long step stays in the report
    assert "toy loop: done 50" in (out.parent / "progress.log").read_text()  # progress went to the terminal log


def test_the_checks_can_fail(tmp_path):
    from tqdm import tqdm

    (tmp_path / "figures").mkdir()
    (tmp_path / "figures" / "a.png").write_bytes(b"\x89PNG fake")
    (tmp_path / "page.html").write_text("<html><p>PosixPath('figures/a.png')</p></html>")
    assert page_checks.missing_figures(tmp_path) == ["a.png"]
    buf = io.StringIO()
    for _ in tqdm(range(20), file=buf, mininterval=0):
        pass
    assert page_checks.progress_bar_lines(buf.getvalue().replace("\r", "\n"))
