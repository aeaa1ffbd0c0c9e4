"""Paired comparisons with the best method: is a lead a claim, or two overlapping means?

Two methods run on the same samples, so their difference is measured per sample: ``d_s`` = (the
method's sample mean) - (the best method's sample mean), on the samples both have. The group's
statistic is the same weighted mean the table shows (a category's mean, the mean over samples, or
the mean of category means: weights ``1 / (K n_c)``), applied to ``d``. Reported for it:

* a **paired bootstrap interval** (percentile; samples resampled, within categories for the mean of
  categories), seeded per comparison like every cell;
* a two-sided **sign-flip permutation test** of "no difference": under the null each ``d_s`` is as
  likely to be negated, so the p-value is the share of the ``2^n`` sign patterns whose statistic is
  at least as far from 0 as the observed one; exact for ``n <= 16``, else ``n_perm`` random patterns
  (plus the observed one, so p is never 0).

A difference is called significant at :data:`ALPHA`. Nothing is corrected for multiple comparisons;
the footer says so.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import product
from typing import Sequence

import numpy as np

from motionbench.report.bootstrap import bootstrap_mean, bootstrap_mean_of_groups, cell_rng

ALPHA = 0.05
EXACT_MAX_N = 16
TEST_NAME = "paired sign-flip permutation test (two-sided)"


@dataclass(frozen=True)
class Comparison:
    """One method against the best of its group and column."""

    group: str
    column: str
    row: str  # the compared row's label
    best: str  # the best row's label
    n: int  # paired samples
    delta: float  # statistic of (row - best) per-sample differences
    lo: float | None
    hi: float | None
    p: float
    exact: bool

    @property
    def significant(self) -> bool:
        return self.p < ALPHA


def sign_flip_p(diffs: Sequence[float], weights: Sequence[float], *, rng: np.random.Generator,
                n_perm: int = 20000) -> tuple[float, bool]:
    """Two-sided sign-flip p-value of ``sum(w * d)`` and whether it was exact (see the module docstring)."""
    d = np.asarray(diffs, np.float64) * np.asarray(weights, np.float64)
    observed = abs(d.sum())
    tol = 1e-12 * max(1.0, float(np.abs(d).sum()))
    if d.size <= EXACT_MAX_N:
        signs = np.array(list(product((1.0, -1.0), repeat=d.size)))
        stats = np.abs(signs @ d)
        return float(np.mean(stats >= observed - tol)), True
    signs = rng.choice((1.0, -1.0), size=(n_perm, d.size))
    stats = np.abs(signs @ d)
    return float((np.sum(stats >= observed - tol) + 1) / (n_perm + 1)), False


def compare(group: str, column: str, row: str, best: str, row_values: dict[str, tuple[str, float]],
            best_values: dict[str, tuple[str, float]], *, mean_of_categories: bool, seed: int, n_boot: int,
            level: float) -> Comparison | None:
    """``row`` against ``best`` on their shared samples (``sample -> (category, sample mean)``); None if none shared.

    With ``mean_of_categories`` the statistic is the mean of per-category means (every category of
    ``best_values`` must have a shared sample, else None).
    """
    shared = sorted(set(row_values) & set(best_values))
    if not shared:
        return None
    cats = [best_values[s][0] for s in shared]
    diffs = np.array([row_values[s][1] - best_values[s][1] for s in shared])
    if mean_of_categories:
        wanted = sorted({c for c, _ in best_values.values()})
        if sorted(set(cats)) != wanted:
            return None
        counts = {c: cats.count(c) for c in wanted}
        weights = np.array([1.0 / (len(wanted) * counts[c]) for c in cats])
    else:
        weights = np.full(len(shared), 1.0 / len(shared))
    rng = cell_rng(seed, "paired", row, best, column, group)
    if mean_of_categories:
        interval = bootstrap_mean_of_groups([[d for d, c in zip(diffs, cats) if c == k] for k in sorted(set(cats))],
                                            rng=rng, n_boot=n_boot, level=level)
    else:
        interval = bootstrap_mean(diffs, rng=rng, n_boot=n_boot, level=level)
    p, exact = sign_flip_p(diffs, weights, rng=rng)
    lo, hi = interval if interval is not None else (None, None)
    return Comparison(group=group, column=column, row=row, best=best, n=len(shared),
                      delta=float(np.dot(weights, diffs)), lo=lo, hi=hi, p=p, exact=exact)
