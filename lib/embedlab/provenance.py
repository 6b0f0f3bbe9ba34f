"""Where a number came from: the git commit, the packages that shape results, the machine, the assets and user
files read, and the lock file (``metrics.json``'s ``provenance``, the report's provenance box)."""
from __future__ import annotations

import os
import platform
import subprocess
import sys
from importlib import metadata
from pathlib import Path
from typing import Any

from . import assets, paths, userfiles

TRACKED_PACKAGES = ("embedlab", "torch", "transformers", "tokenizers", "sentence-transformers", "gensim", "fasttext",
                    "numpy", "scipy", "scikit-learn", "pandas", "numba", "papermill", "matplotlib")


def package_versions(names=TRACKED_PACKAGES) -> dict[str, str]:
    """Installed versions of the packages that shape results."""
    out = {"python": platform.python_version()}
    for n in names:
        try:
            out[n] = metadata.version(n)
        except metadata.PackageNotFoundError:
            out[n] = "not installed"
    return out


def git_commit(root: Path = paths.ROOT) -> str:
    """Current git commit (with ``+dirty`` when the tree has changes), or ``unknown``."""
    try:
        sha = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--", "lib", "notebooks", "data"], cwd=root,
                               capture_output=True, text=True).stdout.strip()
        return sha + ("+dirty" if dirty else "")
    except Exception:
        return "unknown"


def machine() -> dict[str, Any]:
    """Where the numbers were computed: host kind, CPUs, torch threads and device."""
    out = {"platform": f"{platform.system()} {platform.machine()}", "processor": platform.processor() or "",
           "cpus": os.cpu_count(), "python": platform.python_version()}
    try:
        import torch

        out["torch_threads"] = torch.get_num_threads()
        out["device"] = (f"cuda ({torch.cuda.get_device_name(0)})" if torch.cuda.is_available() else "cpu")
    except Exception:  # torch is optional for the assets notebook
        out["device"] = "cpu"
    out["embedlab_device"] = os.environ.get("EMBEDLAB_DEVICE", "")
    return out


def provenance(params: dict | None = None, seed: int | None = None) -> dict[str, Any]:
    """Everything needed to say where a number came from."""
    import datetime

    return {
        "git_commit": git_commit(),
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "parameters": params or {},
        "seed": seed,
        "pythonhashseed": os.environ.get("PYTHONHASHSEED"),
        "assets": assets.used_assets(),
        "user_files": userfiles.used(),
        "packages": package_versions(),
        "lock": assets.lock_file(),
        "machine": machine(),
        "platform": f"{platform.system()} {platform.machine()}",
        "argv": sys.argv[:1],
    }
