"""The "metric card": what the HTML report shows about the validity of motion fidelity.

:func:`metric_card` turns a :class:`~motionbench.metaeval.evaluate.MetaevalResult` into plain,
JSON-ready data (no NaN: a missing figure is ``None``). Its shape::

    {
      "title": str,
      "summary": str,                       # one paragraph: what was measured, on what
      "target": {"min_auc": 0.95},
      "negative_kinds": [{"name": str, "description": str}, ...],
      "perturbations": [{"name": str, "description": str, "grades": [float, ...]}, ...],
      "rows": [                             # one per (tracker, variant), trackers in run order
        {"metric": "motion_fidelity", "variant": str, "tracker": str, "backend": str,
         "auc": {kind: {"value": float, "low": float, "high": float} | None, ...},
         "min_auc": float | None,           # worst negative kind
         "meets_target": bool,              # min_auc >= target
         "spearman": {perturbation: {"value", "low", "high"} | None, ...},   # -1 is ideal
         "mean_score": {kind or "perturbation@grade": float | None, ...},
         "invalid": int},                   # NaN scores left out
        ...],
      "skipped": [{"tracker": str, "reason": str}, ...],
      "dropped": [{"reference": str, "kind": str, "index": int, "motion_change": float}, ...],
                                            # negatives whose true motion is nearly the reference's
      "definitions": {variant: str, ...},   # how each variant is computed
      "footer": str,                        # the full definition of the ``matched`` variant
      "config": {"seed", "grid", "resamples", "references": [id, ...], "counts": {kind: int}},
      "seconds": float,
    }

AUC is the probability that a positive (same motion, new look) scores above a negative of that
kind, ties counting one half, pooled over references; intervals are 95% bootstrap intervals over
references. Spearman's rho is between perturbation grade and score within each reference, averaged.
"""

from __future__ import annotations

import inspect
import math

from motionbench.metaeval.evaluate import MetaevalResult
from motionbench.metaeval.pairs import DESCRIPTIONS, GRADES, NEGATIVE_KINDS, PERTURBATIONS, POSITIVE
from motionbench.metaeval.stats import Estimate
from motionbench.metrics import motion_matched

TARGET_MIN_AUC = 0.95

DEFINITIONS = {
    "dmt": ("The public DMT evaluation code: unit per-step displacements, S[n, m] = mean over steps of their dot "
            "products, score = mean over generated tracks of max over reference tracks of (S - I)."),
    "symmetric": ("The two-sided form of the DMT paper, halved: (mean_n max_m S + mean_m max_n S) / 2, no identity "
                  "subtraction."),
}


def _num(x: float) -> float | None:
    return None if x is None or not math.isfinite(x) else float(x)


def _est(e: Estimate) -> dict | None:
    if not math.isfinite(e.value):
        return None
    return {"value": e.value, "low": _num(e.low), "high": _num(e.high)}


def matched_definition() -> str:
    """The ``matched`` variant's definition, from its module docstring (the report footer)."""
    return inspect.getdoc(motion_matched) or ""


def metric_card(result: MetaevalResult) -> dict:
    """The metric card data of ``result``; the shape is documented in this module's docstring."""
    cfg = result.config
    rows = []
    for r in result.rows:
        min_auc = _num(r.min_auc)
        rows.append({
            "metric": "motion_fidelity", "variant": r.variant, "tracker": r.tracker, "backend": r.backend,
            "auc": {k: _est(e) for k, e in r.auc.items()},
            "min_auc": min_auc,
            "meets_target": min_auc is not None and min_auc >= TARGET_MIN_AUC,
            "spearman": {k: _est(e) for k, e in r.spearman.items()},
            "mean_score": {k: _num(v) for k, v in r.mean.items()},
            "invalid": r.invalid,
        })
    n_refs = len(cfg.references)
    summary = (f"Motion fidelity scored against {n_refs} synthetic reference clips with known motion: "
               f"{result.counts.get(POSITIVE, 0)} positives (the same motion in a new look) against "
               f"{sum(result.counts.get(k, 0) for k in NEGATIVE_KINDS)} negatives of {len(NEGATIVE_KINDS)} kinds, "
               f"and {len(PERTURBATIONS)} perturbations at {len(GRADES)} grades. AUC 1 means every positive "
               "outscores every negative of that kind; Spearman -1 means the score falls strictly as the "
               "perturbation grows. Intervals: 95% bootstrap over references.")
    definitions = dict(DEFINITIONS)
    definitions["matched"] = matched_definition()
    return {
        "title": "Metric card: motion fidelity",
        "summary": summary,
        "target": {"min_auc": TARGET_MIN_AUC},
        "negative_kinds": [{"name": k, "description": DESCRIPTIONS[k]} for k in NEGATIVE_KINDS],
        "perturbations": [{"name": p, "description": DESCRIPTIONS[p], "grades": list(GRADES)} for p in PERTURBATIONS],
        "rows": rows,
        "skipped": [{"tracker": t, "reason": why} for t, why in result.skipped.items()],
        "dropped": [{"reference": r, "kind": k, "index": i, "motion_change": c} for r, k, i, c in result.dropped],
        "definitions": {v: definitions[v] for v in cfg.variants if v in definitions},
        "footer": definitions["matched"],
        "config": {"seed": cfg.seed, "grid": cfg.grid, "resamples": cfg.resamples,
                   "references": [r.id for r in cfg.references], "counts": dict(result.counts)},
        "seconds": round(result.seconds, 2),
    }
