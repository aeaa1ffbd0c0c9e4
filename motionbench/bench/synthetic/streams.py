"""Independent random streams for motion and look.

A clip's motion (paths, joint angles, which surface points are tracked) is drawn only from the
motion stream, keyed by (seed, generator); its look (textures, colours, shapes) only from the look
stream, keyed by (seed, generator, appearance). So changing ``appearance`` cannot change a single
bit of the ground truth, however the look code evolves.
"""

from __future__ import annotations

import numpy as np

_MOTION, _LOOK = 0, 1


def motion_rng(seed: int, generator_index: int) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence([seed, generator_index, _MOTION]))


def look_rng(seed: int, generator_index: int, appearance: int) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence([seed, generator_index, _LOOK, appearance]))
