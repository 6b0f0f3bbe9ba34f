"""The runner's terminal shows the runner's lines, not ipykernel's: its "running over TCP without encryption" and
"KeyboardInterrupt caught in kernel" go to the run's ``kernel.log`` (issue 20, section 5)."""
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]

KERNEL_NOISE = ("from ipykernel.kernelapp import IPKernelApp\n"
                "IPKernelApp.instance().log.error('KeyboardInterrupt caught in kernel')  # what a late Ctrl-C logs\n"
                "from embedlab import report\nreport.record({'x': x})")


@pytest.mark.slow
def test_ipykernel_lines_stay_out_of_the_terminal(tmp_path):
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("x = 1", metadata={"tags": ["parameters"]}),
                nbformat.v4.new_code_cell(KERNEL_NOISE)]
    nb.metadata["kernelspec"] = {"name": "embedlab", "display_name": "Python (embedlab)", "language": "python"}
    nbformat.write(nb, str(tmp_path / "noise.ipynb"))
    (tmp_path / "plans").mkdir()
    (tmp_path / "plans" / "t.yaml").write_text(yaml.safe_dump(
        {"runs": [{"name": "noise", "notebook": str(tmp_path / "noise.ipynb")}]}))
    p = subprocess.run([sys.executable, "-m", "embedlab.cli", "run", "--profile", "t", "--plans-dir",
                        str(tmp_path / "plans"), "--reports-dir", str(tmp_path / "reports")],
                       capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert p.returncode == 0, p.stderr[-2000:]
    terminal = p.stdout + p.stderr
    assert "without encryption" not in terminal and "KeyboardInterrupt caught in kernel" not in terminal, terminal
    log = (tmp_path / "reports" / "t" / "noise" / "kernel.log").read_text()
    assert "without encryption" in log and "KeyboardInterrupt caught in kernel" in log
