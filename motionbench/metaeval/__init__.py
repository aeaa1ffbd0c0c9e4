"""Metric validity ("metaeval"): how well each motion-fidelity variant and tracker separates the same
motion from other motion, on synthetic clips whose true motion is known.

- :mod:`~motionbench.metaeval.references`: the reference clips (built-in set or a manifest's synthetic samples);
- :mod:`~motionbench.metaeval.pairs`: positives, named negatives and graded perturbations, with true tracks;
- :mod:`~motionbench.metaeval.stats`: AUC, Spearman's rho, bootstrap intervals over references;
- :mod:`~motionbench.metaeval.evaluate`: scoring and summary (:func:`run_metaeval`);
- :mod:`~motionbench.metaeval.card`: the metric card for the HTML report (:func:`metric_card`).
"""

from __future__ import annotations

from motionbench.metaeval.evaluate import MetaevalConfig, MetaevalResult, Row, run_metaeval

__all__ = ["MetaevalConfig", "MetaevalResult", "Row", "metric_card", "run_metaeval"]


def metric_card(result: MetaevalResult) -> dict:
    """The metric card of a metaeval result; see :func:`motionbench.metaeval.card.metric_card`."""
    from motionbench.metaeval.card import metric_card as _card

    return _card(result)
