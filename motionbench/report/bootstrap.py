"""Seeded percentile-bootstrap intervals over samples.

The unit of resampling is the *sample* (one reference clip): its prompts and seeds are already
averaged into one number, so the interval reflects which clips the benchmark happens to contain.
Each cell gets its own generator, derived from the report seed and the cell's names, so an interval
does not change when other rows or metrics are added to or filtered out of the table.
"""

from __future__ import annotations

import hashlib
from typing import Sequence

import numpy as np


def cell_rng(seed: int, *names: str) -> np.random.Generator:
    """A generator that depends only on the report seed and the cell's names (stable across runs)."""
    digest = hashlib.sha256("\x1f".join(names).encode("utf-8")).digest()
    return np.random.default_rng([int(seed), int.from_bytes(digest[:8], "little")])


def _percentiles(stats: np.ndarray, level: float) -> tuple[float, float]:
    tail = (1.0 - level) / 2.0 * 100.0
    lo, hi = np.percentile(stats, [tail, 100.0 - tail])
    return float(lo), float(hi)


def bootstrap_mean(values: Sequence[float], *, rng: np.random.Generator, n_boot: int = 2000,
                   level: float = 0.95) -> tuple[float, float] | None:
    """Percentile interval of the mean of ``values``, resampling them with replacement.

    Returns:
        (lo, hi), or None with fewer than 2 values (one sample has no spread to resample).
    """
    x = np.asarray(values, dtype=np.float64)
    if x.size < 2:
        return None
    idx = rng.integers(0, x.size, size=(n_boot, x.size))
    return _percentiles(x[idx].mean(axis=1), level)


def bootstrap_mean_of_groups(groups: Sequence[Sequence[float]], *, rng: np.random.Generator,
                             n_boot: int = 2000, level: float = 0.95) -> tuple[float, float] | None:
    """Percentile interval of the unweighted mean of group means, resampling within each group.

    A stratified bootstrap: every replicate keeps each category's sample count, so the statistic is
    the same "mean of categories" as the point estimate. Groups with one value stay fixed.

    Returns:
        (lo, hi), or None when no group has 2 or more values.
    """
    arrays = [np.asarray(g, dtype=np.float64) for g in groups]
    if not arrays or any(a.size == 0 for a in arrays):
        raise ValueError("every group needs at least one value")
    if all(a.size < 2 for a in arrays):
        return None
    total = np.zeros(n_boot)
    for a in arrays:
        if a.size == 1:
            total += a[0]
        else:
            total += a[rng.integers(0, a.size, size=(n_boot, a.size))].mean(axis=1)
    return _percentiles(total / len(arrays), level)
