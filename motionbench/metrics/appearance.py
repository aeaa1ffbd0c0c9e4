"""Appearance metrics of the toy world: does a video show the prompt's colours, or the reference's?

Toy prompts name their colours exactly (:mod:`motionbench.bench.toy.vocab`) and the toy palette
can be read back pixel by pixel (:mod:`motionbench.bench.toy.detect`), so on toy samples
appearance transfer is measured directly instead of through CLIP:

- ``toy_prompt_colour``: 1 when the ``n`` palette colours covering most of the video are exactly
  the prompt's ``n`` colours (objects, figures; both colours of a scene), else 0. Per sample the
  report averages it: the share of videos in the prompt's colours.
- ``toy_colour_leakage``: 1 when the video shows a colour of the *reference* clip that the prompt
  does not ask for among its ``n`` most covering colours (the reference's colours read from its
  frames the same way), else 0: the reference's appearance leaking into the transfer.

A prompt outside the toy grammar makes both *skipped* (they mean nothing there).
"""

from __future__ import annotations

import numpy as np

from motionbench.metrics.base import Metric
from motionbench.metrics.features import FeatureUnavailable

CONVENTION_PROMPT = ("1 if the n palette colours covering the most pixels of the video (over all frames; pixels "
                     "within RGB distance 70 of a palette colour) are exactly the n colours of the toy prompt, else 0; "
                     "averaged per sample; toy prompts only")
CONVENTION_LEAKAGE = ("1 if one of the n palette colours covering the most pixels of the video is a colour the "
                      "reference clip shows (its n most covering) and the toy prompt does not name, else 0; "
                      "averaged per sample; toy prompts only")


def _prompt_colours(prompt: str) -> tuple[str, ...]:
    from motionbench.bench.toy.vocab import parse_caption
    from motionbench.errors import ConfigError

    try:
        look = parse_caption(prompt)
    except ConfigError:
        raise FeatureUnavailable("the prompt is not a toy-world caption; toy appearance metrics apply to "
                                 "data/toy.yaml samples only") from None
    return tuple(dict.fromkeys(look.colour_names()))


def prompt_colour_score(generated_frames: np.ndarray, prompt: str) -> float:
    """``toy_prompt_colour`` of one video (see the module docstring)."""
    from motionbench.bench.toy.detect import dominant_colours

    wanted = _prompt_colours(prompt)
    return float(set(dominant_colours(generated_frames, len(wanted))) == set(wanted))


def colour_leakage_score(generated_frames: np.ndarray, reference_frames: np.ndarray, prompt: str) -> float:
    """``toy_colour_leakage`` of one video (see the module docstring)."""
    from motionbench.bench.toy.detect import dominant_colours

    wanted = _prompt_colours(prompt)
    reference = set(dominant_colours(reference_frames, len(wanted))) - set(wanted)
    return float(bool(reference & set(dominant_colours(generated_frames, len(wanted)))))


class ToyPromptColour(Metric):
    """Whether a toy video shows its prompt's colours."""

    name = "toy_prompt_colour"
    summary = "Toy world: share of videos showing exactly the prompt's colours (palette detector)"
    higher_is_better = True
    version = "1"
    convention = CONVENTION_PROMPT
    needs = ("generated_frames", "prompt")

    def __call__(self, generated_frames: np.ndarray, prompt: str) -> float:  # type: ignore[override]
        return prompt_colour_score(generated_frames, prompt)


class ToyColourLeakage(Metric):
    """Whether a toy video shows the reference's colours instead of the prompt's."""

    name = "toy_colour_leakage"
    summary = "Toy world: share of videos showing a reference colour the prompt does not name (appearance leakage)"
    higher_is_better = False
    version = "1"
    convention = CONVENTION_LEAKAGE
    needs = ("generated_frames", "reference_frames", "prompt")

    def __call__(self, generated_frames: np.ndarray, reference_frames: np.ndarray,  # type: ignore[override]
                 prompt: str) -> float:
        return colour_leakage_score(generated_frames, reference_frames, prompt)
