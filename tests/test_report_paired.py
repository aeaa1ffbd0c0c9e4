"""Paired comparisons with the best method: the sign-flip test and intervals against hand computation."""

from __future__ import annotations

import numpy as np
import pytest

from motionbench.report.paired import compare, sign_flip_p


def test_sign_flip_p_enumerates_every_sign_pattern():
    rng = np.random.default_rng(0)
    # |±1 ±2 ±3| over the 8 patterns: 6 4 2 0 0 2 4 6; the observed 6 is reached twice -> 2/8.
    p, exact = sign_flip_p([1.0, 2.0, 3.0], [1 / 3] * 3, rng=rng)
    assert exact and p == pytest.approx(0.25)
    p, _ = sign_flip_p([1.0] * 8, [1 / 8] * 8, rng=rng)
    assert p == pytest.approx(2 / 256)
    p, _ = sign_flip_p([1.0, -1.0, 1.0, -1.0], [0.25] * 4, rng=rng)
    assert p == pytest.approx(1.0)  # a zero mean difference is as extreme as anything
    # Weights matter: with equal weights the big difference decides (8 of 16 patterns as extreme); with
    # weight ~0 on it, the three small ones do (10 of 16).
    assert sign_flip_p([5.0, 0.1, -0.1, 0.1], [0.25] * 4, rng=rng)[0] == pytest.approx(8 / 16)
    assert sign_flip_p([5.0, 0.1, -0.1, 0.1], [1e-6, 1 / 3, 1 / 3, 1 / 3], rng=rng)[0] == pytest.approx(10 / 16)
    # Beyond 16 samples: Monte Carlo, never 0, reproducible.
    p_mc, exact = sign_flip_p([1.0] * 20, [0.05] * 20, rng=np.random.default_rng(1), n_perm=5000)
    assert not exact and 0 < p_mc < 0.001
    assert p_mc == sign_flip_p([1.0] * 20, [0.05] * 20, rng=np.random.default_rng(1), n_perm=5000)[0]


def test_compare_uses_the_groups_statistic_and_shared_samples_only():
    best = {"a1": ("cam", 0.9), "a2": ("cam", 0.7), "b1": ("obj", 0.8), "b2": ("obj", 0.6), "b3": ("obj", 0.7)}
    row = {"a1": ("cam", 0.5), "a2": ("cam", 0.4), "b1": ("obj", 0.7), "b2": ("obj", 0.6), "b3": ("obj", 0.3),
           "extra": ("obj", 0.0)}
    flat = compare("overall (mean of samples)", "m", "r", "b", row, best, mean_of_categories=False, seed=0,
                   n_boot=500, level=0.95)
    assert flat.n == 5 and flat.delta == pytest.approx(np.mean([-0.4, -0.3, -0.1, 0.0, -0.4]))
    cats = compare("overall (mean of categories)", "m", "r", "b", row, best, mean_of_categories=True, seed=0,
                   n_boot=500, level=0.95)
    assert cats.delta == pytest.approx((np.mean([-0.4, -0.3]) + np.mean([-0.1, 0.0, -0.4])) / 2)
    assert cats.lo <= cats.delta <= cats.hi and cats.hi < 0
    assert cats.exact and 0 < cats.p <= 1
    # A category the best has but the row does not: no mean-of-categories comparison.
    assert compare("g", "m", "r", "b", {"a1": ("cam", 0.5)}, best, mean_of_categories=True, seed=0, n_boot=500,
                   level=0.95) is None
    assert compare("g", "m", "r", "b", {"zz": ("cam", 0.5)}, best, mean_of_categories=False, seed=0, n_boot=500,
                   level=0.95) is None


def test_leaderboard_marks_ties_and_reports_clear_leads(tmp_path):
    """On 12 samples a method that trails on every sample is significantly worse; one within noise is not."""
    from motionbench.report import build
    from motionbench.report.model import MARK_TIED, OVERALL_CATEGORIES
    from motionbench.report.render import to_json_data, to_markdown
    from tests.test_report_aggregate import cell, write_store

    rng = np.random.default_rng(0)
    entries = []
    for k in range(12):
        sample, category = f"s{k}", ("camera", "single_object", "multi_object", "human")[k % 4]
        base = rng.uniform(0.4, 0.8)
        entries += [("fym", sample, category, 0, base + 0.2), ("ditflow", sample, category, 0, base + 0.2 + rng.normal(0, 0.05)),
                    ("two-stage-lora", sample, category, 0, base), ("reference", sample, category, 0, 1.0)]
    lb = build([write_store(tmp_path / "r", entries)])
    col = "motion_fidelity/dmt"
    best = "fym" if cell(lb, OVERALL_CATEGORIES, "fym", col).best else "ditflow"
    other = "ditflow" if best == "fym" else "fym"
    assert cell(lb, OVERALL_CATEGORIES, "two-stage-lora", col).p_vs_best < 0.001  # trails on all 12 samples
    assert not cell(lb, OVERALL_CATEGORIES, "two-stage-lora", col).tied_with_best
    assert cell(lb, OVERALL_CATEGORIES, other, col).tied_with_best
    assert cell(lb, OVERALL_CATEGORIES, "reference", col).p_vs_best is None  # anchors are not compared
    # Within a category of 3 samples no difference can reach p < 0.05 (2 / 2^3 = 0.25): all ties.
    assert cell(lb, "camera", "two-stage-lora", col).tied_with_best
    md = to_markdown(lb)
    assert MARK_TIED in md and "sign-flip permutation" in md
    assert any(line.startswith("vs best in Motion fid. (dmt)") and "two-stage-lora -0.2" in line
               for line in lb.footer_lines())
    comps = [c for c in to_json_data(lb)["comparisons"] if c["group"] == OVERALL_CATEGORIES and c["row"] == "two-stage-lora"]
    assert comps and comps[0]["significant"] and comps[0]["hi"] < 0
