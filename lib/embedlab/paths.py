"""Every repository path in one place (the project root, plans, reports, data, papers, notebooks)."""
from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "data"
ASSET_REGISTRY = DATA / "assets.yaml"
PAPERS = DATA / "papers"
PLANS = ROOT / "plans"
REPORTS = ROOT / "reports"
NOTEBOOKS = ROOT / "notebooks"
