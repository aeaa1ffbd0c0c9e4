"""Reference methods: four trivial "methods" that need no weights and anchor every metric's scale.

Each one places a known point on every metric's axis, so a leaderboard reads relative to them:

``reference``
    Returns the reference clip itself (resampled to the requested frames and size): the best
    possible motion fidelity and a text alignment that ignores the prompt.
``static``
    The reference's first frame, repeated: perfect temporal consistency and no motion at all.
``shuffle``
    The reference's frames in a seeded random order (never the identity): the right appearance and
    the right set of positions, but the wrong motion.
``noise``
    Seeded uniform noise: the floor of every metric.

None of them reads the prompt; all are deterministic given the seed. ``reference`` also serves the
recapture task, where it returns the source clip unchanged (the camera never moves): the anchor
every re-rendering along a new path must beat.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from motionbench.methods.base import GenerationRequest, Method, Reference
from motionbench.tasks import MOTION_TRANSFER, RECAPTURE
from motionbench.video import sample_indices, stretch_frames


@dataclass
class NoOptions:
    """The reference methods take no options."""


def resampled_reference(reference: Reference, request: GenerationRequest) -> np.ndarray:
    """The reference frames evenly resampled to ``request.num_frames`` and resized to ``request.size``."""
    frames = reference.clip.frames
    idx = sample_indices(len(frames), num_frames=request.num_frames)
    return stretch_frames(frames[idx], request.size)


class ReferenceMethod(Method):
    name = "reference"
    Config = NoOptions
    # In the recapture task it returns the source clip unchanged: the anchor every re-rendering must beat.
    tasks = (MOTION_TRANSFER, RECAPTURE)

    def generate(self, state: Any, reference: Reference, request: GenerationRequest) -> np.ndarray:
        return np.ascontiguousarray(resampled_reference(reference, request))


class StaticMethod(Method):
    name = "static"
    Config = NoOptions

    def generate(self, state: Any, reference: Reference, request: GenerationRequest) -> np.ndarray:
        first = stretch_frames(reference.clip.frames[:1], request.size)
        return np.ascontiguousarray(np.repeat(first, request.num_frames, axis=0))


def non_identity_permutation(n: int, seed: int) -> np.ndarray:
    """A seeded permutation of ``range(n)`` that is not the identity (for ``n >= 2``)."""
    rng = np.random.default_rng(seed)
    if n < 2:
        return np.arange(n)
    while True:
        perm = rng.permutation(n)
        if not np.array_equal(perm, np.arange(n)):
            return perm


class ShuffleMethod(Method):
    name = "shuffle"
    Config = NoOptions

    def generate(self, state: Any, reference: Reference, request: GenerationRequest) -> np.ndarray:
        frames = resampled_reference(reference, request)
        return np.ascontiguousarray(frames[non_identity_permutation(len(frames), request.seed)])


class NoiseMethod(Method):
    name = "noise"
    Config = NoOptions

    def generate(self, state: Any, reference: Reference, request: GenerationRequest) -> np.ndarray:
        w, h = request.size
        rng = np.random.default_rng(request.seed)
        return rng.integers(0, 256, size=(request.num_frames, h, w, 3), dtype=np.uint8)
