"""What the benchmarks share: passes timed in interleaved rounds, a ratio with its spread, the matmul peak.

Import after setting ``OMP_WAIT_POLICY=PASSIVE`` (each script does so before importing numpy or torch: idle OpenMP
threads then sleep instead of spinning, which otherwise steals the CPU from the other side of a comparison).
"""
from __future__ import annotations

import os
import statistics
import time
from typing import Callable

assert os.environ.get("OMP_WAIT_POLICY", "").upper() == "PASSIVE", "set OMP_WAIT_POLICY=PASSIVE before importing"


def interleave(passes: dict[str, Callable[[], object]], repeats: int, keep_all: bool = False
               ) -> tuple[dict[str, list[float]], dict]:
    """Run every pass once per round for ``repeats`` rounds, the order rotated each round, so load on the machine
    falls on all alike: ``({name: [seconds per round]}, {name: last result, or every round's with keep_all})``."""
    names, times, results = list(passes), {n: [] for n in passes}, {n: [] for n in passes}
    for r in range(repeats):
        for name in names[r % len(names):] + names[:r % len(names)]:
            t0 = time.perf_counter()
            out = passes[name]()
            times[name].append(time.perf_counter() - t0)
            results[name] = results[name] + [out] if keep_all else out
    return times, results


def ratio(baseline: list[float], ours: list[float]) -> str:
    """``baseline / ours`` per round: median, and min-max over rounds (the spread)."""
    per = [b / o for b, o in zip(baseline, ours)]
    return f"{statistics.median(per):.2f}x (rounds {min(per):.2f}x-{max(per):.2f}x, n={len(per)})"


def spread(times: list[float]) -> str:
    """Median seconds and min-max over rounds."""
    return f"{statistics.median(times):.2f} s (min {min(times):.2f}, max {max(times):.2f})"


def matmul_peak(dtype=None, seconds: float = 1.5) -> float:
    """Best GFLOP/s of a few torch matmul shapes typical of a small encoder (batch of ~2,000 tokens x 384/1536),
    in ``dtype`` (torch.float32 by default), on the current torch thread count."""
    import torch

    dtype = dtype or torch.float32
    best = 0.0
    for m, k, n in ((2048, 384, 1536), (2048, 1536, 384), (2048, 384, 384)):
        a, b = torch.randn(m, k, dtype=dtype), torch.randn(k, n, dtype=dtype)
        torch.matmul(a, b)
        reps, t0 = 0, time.perf_counter()
        while time.perf_counter() - t0 < seconds / 3:
            torch.matmul(a, b)
            reps += 1
        best = max(best, 2 * m * k * n * reps / (time.perf_counter() - t0) / 1e9)
    return best


def load_average() -> str:
    return " ".join(f"{x:.1f}" for x in os.getloadavg())
