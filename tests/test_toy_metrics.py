"""Toy appearance metrics: the prompt's colours against the reference's, on renders whose truth is known."""

from __future__ import annotations

import numpy as np

from motionbench.bench.synthetic import GENERATORS, render
from motionbench.bench.synthetic.params import resolve
from motionbench.bench.synthetic.streams import motion_rng
from motionbench.bench.toy import PARAMS, parse_caption, render_look
from motionbench.metrics.scorer import build_scorer
from motionbench.metrics.api import ScoringItem
from motionbench.metrics.appearance import colour_leakage_score, prompt_colour_score
from motionbench.video import Clip

GEOMETRY = dict(num_frames=33, size=(32, 32), fps=8.0)


def _pair(generator: str, params: dict, prompt: str, seed: int = 3):
    """The reference clip, and its motion rendered in the prompt's look (the ideal transfer)."""
    ref = render(generator, seed=seed, params=params, **GEOMETRY)
    ideal = render_look(generator, resolve(generator, PARAMS[generator], params), parse_caption(prompt),
                        motion=motion_rng(seed, GENERATORS.index(generator)), **GEOMETRY)
    return ref.frames, ideal.frames


def test_ideal_transfer_shows_the_prompt_and_a_copy_leaks_the_reference():
    cases = [("toy_single_object", {"colour": "green", "shape": "circle"}, "a red triangle on a gray background"),
             ("toy_multi_object", {"colour": "red", "colour2": "blue"}, "a yellow triangle and a white circle on a gray background"),
             ("toy_human", {"action": "jump", "colour": "white", "background": "black"}, "a cyan stick figure on a black background"),
             ("toy_camera", {"pattern": "dots", "colour": "white", "colour2": "blue"}, "purple dots on white")]
    for generator, params, prompt in cases:
        ref, ideal = _pair(generator, params, prompt)
        assert prompt_colour_score(ideal, prompt) == 1.0, generator
        assert colour_leakage_score(ideal, ref, prompt) == 0.0, generator
        assert prompt_colour_score(ref, prompt) == 0.0, generator  # the reference's own look is not the prompt's
        assert colour_leakage_score(ref, ref, prompt) == 1.0, generator
    # Half the frames in each look: the prompt's colours still cover the most, but the reference's leak in
    # for a two-colour scene only when they outnumber one of the prompt's.
    ref, ideal = _pair("toy_single_object", {"colour": "green"}, "a blue square on a black background")
    mixed = np.concatenate([ideal[:25], ref[25:]])
    assert prompt_colour_score(mixed, "a blue square on a black background") == 1.0


def test_scorer_skips_toy_metrics_for_other_prompts():
    ref, ideal = _pair("toy_single_object", {"colour": "green"}, "a blue square on a black background")
    scorer = build_scorer(["toy_prompt_colour", "toy_colour_leakage"])
    items = [ScoringItem("toy", Clip(ideal, 8.0), "a blue square on a black background"),
             ScoringItem("real", Clip(ideal, 8.0), "a slow aerial drone shot over a coral reef")]
    scored = scorer.score_sample(Clip(ref, 8.0), items)
    assert [(v.metric, v.status, v.value) for v in scored["toy"]] == [
        ("toy_prompt_colour", "ok", 1.0), ("toy_colour_leakage", "ok", 0.0)]
    assert {v.status for v in scored["real"]} == {"skipped"}
    assert "not a toy-world caption" in scored["real"][0].reason
