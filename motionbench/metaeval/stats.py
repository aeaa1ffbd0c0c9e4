"""Statistics of metaeval: AUC, Spearman's rho, and bootstrap intervals over references.

Intervals resample *references* (with replacement), not single videos: the candidates of one
reference share its content, so they are not independent draws, and the interval should say how
the figure would move on another set of clips.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Mapping, Sequence

import numpy as np


@dataclass(frozen=True)
class Estimate:
    """A statistic with its bootstrap interval (``low``/``high``: the 2.5 and 97.5 percentiles)."""

    value: float
    low: float
    high: float

    def to_dict(self) -> dict[str, float | None]:
        """JSON-ready; a figure that could not be computed (NaN) is None."""
        return {k: (v if np.isfinite(v) else None) for k, v in (("value", self.value), ("low", self.low), ("high", self.high))}


def auc(positives: Sequence[float], negatives: Sequence[float]) -> float:
    """Probability that a random positive scores above a random negative; ties count one half.

    This is the area under the ROC curve (the Mann-Whitney U statistic divided by ``P * N``).

    Raises:
        ValueError: either side is empty or holds NaN.

    Example:
        >>> auc([0.9, 0.5], [0.5, 0.1])
        0.875
    """
    p = np.asarray(positives, np.float64)
    n = np.asarray(negatives, np.float64)
    if p.size == 0 or n.size == 0:
        raise ValueError(f"AUC needs positives and negatives, got {p.size} and {n.size}")
    if np.isnan(p).any() or np.isnan(n).any():
        raise ValueError("AUC got a NaN score; drop or fix it first")
    diff = p[:, None] - n[None, :]
    return float(((diff > 0).sum() + 0.5 * (diff == 0).sum()) / diff.size)


def average_ranks(x: Sequence[float]) -> np.ndarray:
    """Ranks 1..n, tied values sharing the mean of their ranks."""
    x = np.asarray(x, np.float64)
    order = np.argsort(x, kind="mergesort")
    ranks = np.empty(len(x), np.float64)
    sorted_x = x[order]
    i = 0
    while i < len(x):
        j = i
        while j + 1 < len(x) and sorted_x[j + 1] == sorted_x[i]:
            j += 1
        ranks[order[i:j + 1]] = (i + j) / 2 + 1
        i = j + 1
    return ranks


def spearman(x: Sequence[float], y: Sequence[float]) -> float:
    """Spearman's rank correlation (Pearson correlation of average ranks).

    A constant ``x`` or ``y`` has no ordering to agree with: the result is 0 (not NaN), so a metric
    that does not react to a perturbation at all counts as uncorrelated with it.

    Raises:
        ValueError: lengths differ, fewer than 2 values, or NaN.

    Example:
        >>> spearman([1, 2, 3, 4], [10, 20, 20, 40])
        0.9486832980505138
    """
    xa, ya = np.asarray(x, np.float64), np.asarray(y, np.float64)
    if xa.shape != ya.shape or xa.size < 2:
        raise ValueError(f"spearman needs two equal-length sequences of at least 2 values, got {xa.size} and {ya.size}")
    if np.isnan(xa).any() or np.isnan(ya).any():
        raise ValueError("spearman got NaN")
    rx, ry = average_ranks(xa), average_ranks(ya)
    rx, ry = rx - rx.mean(), ry - ry.mean()
    denom = np.sqrt((rx ** 2).sum() * (ry ** 2).sum())
    return float((rx * ry).sum() / denom) if denom > 0 else 0.0


def cluster_bootstrap(groups: Mapping[str, object], statistic: Callable[[list[object]], float], *,
                      resamples: int, seed: int) -> Estimate:
    """``statistic`` of the groups, with a percentile interval from resampling the groups.

    Args:
        groups: group id (a reference) -> its data.
        statistic: maps a list of group data (with repeats, when resampled) to a number.
        resamples: number of bootstrap resamples (0: the interval is the value itself).
        seed: seeds the resampling.
    """
    keys = sorted(groups)
    data = [groups[k] for k in keys]
    value = statistic(data)
    if resamples <= 0 or len(keys) < 2:
        return Estimate(value, value, value)
    rng = np.random.default_rng(seed)
    draws = np.empty(resamples)
    for b in range(resamples):
        pick = rng.integers(0, len(keys), len(keys))
        draws[b] = statistic([data[i] for i in pick])
    low, high = np.percentile(draws, [2.5, 97.5])
    return Estimate(value, float(low), float(high))
