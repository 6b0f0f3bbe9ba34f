"""Commands that work as printed: ``embedlab --version`` (issue 20, section 5)."""
import re
import subprocess
import sys
from pathlib import Path

import embedlab

ROOT = Path(__file__).resolve().parents[1]


def test_version_names_the_release_the_commit_and_python():
    p = subprocess.run([sys.executable, "-m", "embedlab.cli", "--version"], capture_output=True, text=True, cwd=ROOT)
    assert p.returncode == 0, p.stderr
    assert re.fullmatch(rf"embedlab {re.escape(embedlab.__version__)} \(commit (\w+(\+dirty)?|unknown); "
                        r"Python 3\.\d+\.\d+\)\n", p.stdout), p.stdout
