"""Determinism: one call seeds Python, NumPy and PyTorch and pins thread counts."""
from __future__ import annotations

import os
import random

import numpy as np


def seed_everything(seed: int = 0, threads: int | None = None, deterministic_torch: bool = True) -> int:
    """Seed ``random``, NumPy and torch (if installed); optionally fix torch's thread count.

    ``PYTHONHASHSEED`` cannot be changed inside a running interpreter: the runner sets it for the
    kernel, and a warning-free check is available as :func:`hash_seed_fixed`.
    """
    random.seed(seed)
    np.random.seed(seed)
    try:
        import torch

        torch.manual_seed(seed)
        if threads:
            torch.set_num_threads(threads)
        if deterministic_torch:
            torch.use_deterministic_algorithms(True, warn_only=True)
    except ImportError:  # torch is optional for some notebooks
        pass
    return seed


def passive_openmp() -> None:
    """Let idle OpenMP threads sleep (``OMP_WAIT_POLICY=PASSIVE``) unless the environment already says otherwise:
    spinning threads slow a shared 2-CPU machine many times over. OpenMP reads it once, when it loads (with torch),
    so call this before torch is imported; the runner sets it for every kernel it starts."""
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")


def hash_seed_fixed() -> bool:
    """Whether string hashing is reproducible in this interpreter (``PYTHONHASHSEED`` set)."""
    return os.environ.get("PYTHONHASHSEED") not in (None, "", "random")
