"""What a reviewer checks on a rendered report page: every saved figure is shown, no progress-bar lines.

Used by the tests on pages the runner wrote (and handy on any ``reports/<profile>/<run>/``).
"""
from __future__ import annotations

import base64
import re
from pathlib import Path

# tqdm's bar and rate text ("45%|####5     | 9/20 [00:01<00:02, 4.50it/s]")
_PROGRESS = re.compile(r"\d+%\|[^|\n]{0,120}\|\s*\d+/\d+|\[\d\d:\d\d<[\d:?]+,\s*[\d.?]+\s*(?:it|s)/")


def embedded_images(page: str) -> set[bytes]:
    """The PNG bytes of every ``data:image/png;base64`` image in an HTML page."""
    return {base64.b64decode(m) for m in re.findall(r"data:image/png;base64,([A-Za-z0-9+/=\s]+)", page)}


def missing_figures(run_dir: Path, page: Path | None = None) -> list[str]:
    """Figures under ``run_dir/figures`` whose exact bytes are not an image of the run's HTML page."""
    run_dir = Path(run_dir)
    page = page or next(iter(sorted(run_dir.glob("*.html"))), None)
    if page is None:
        return [p.name for p in sorted((run_dir / "figures").glob("*.png"))]
    shown = embedded_images(page.read_text(encoding="utf-8", errors="replace"))
    return [p.name for p in sorted((run_dir / "figures").glob("*.png")) if p.read_bytes() not in shown]


def progress_bar_lines(page_text: str) -> list[str]:
    """Lines of a page that look like progress bars."""
    return [line.strip()[:160] for line in page_text.splitlines() if _PROGRESS.search(line)]
