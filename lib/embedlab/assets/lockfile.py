"""The lock file that pins the whole environment (``requirements.lock``, written by ``make lock``, installed from
by ``make install``): its sha256 for provenance."""
from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from .. import paths
from .integrity import sha256_file

LOCK_FILE = paths.ROOT / "requirements.lock"


def lock_file(path: Path = LOCK_FILE, prefix: str | Path = sys.prefix) -> dict[str, Any]:
    """``{"file", "sha256", "installed_sha256"}``: the repository's lock file and the copy ``make install`` left
    in the environment (``<prefix>/requirements.lock``: the pins this environment was installed from); a missing
    file gives ``None``."""
    installed = Path(prefix) / path.name
    return {"file": path.name, "sha256": sha256_file(path) if path.is_file() else None,
            "installed_sha256": sha256_file(installed) if installed.is_file() else None}
