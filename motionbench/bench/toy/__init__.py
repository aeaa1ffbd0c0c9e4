"""The toy world: small procedural clips whose captions name appearance only (see :mod:`.vocab`, :mod:`.world`).

Registered as the synthetic generators ``toy_camera``, ``toy_single_object``, ``toy_multi_object``
and ``toy_human`` (:mod:`motionbench.bench.synthetic`), so ``data/toy.yaml`` samples are manifest
samples like any other, with ground-truth tracks and visibility.
"""

from motionbench.bench.toy.vocab import (
    BACKGROUNDS, CATEGORIES, COLOURS, PATTERNS, SHAPES, Look, Thing, all_looks, caption, parse_caption, random_look, words,
)
from motionbench.bench.toy.world import (
    DEFAULT_FPS, DEFAULT_NUM_FRAMES, DEFAULT_SIZE, PARAMS, TOY_GENERATORS, category_of, generator_of, look_from_params,
    make_renderer, params_for_look, render_look,
)

__all__ = [
    "BACKGROUNDS", "CATEGORIES", "COLOURS", "DEFAULT_FPS", "DEFAULT_NUM_FRAMES", "DEFAULT_SIZE", "Look", "PARAMS",
    "PATTERNS", "SHAPES", "TOY_GENERATORS", "Thing", "all_looks", "caption", "category_of", "generator_of",
    "look_from_params", "make_renderer", "params_for_look", "parse_caption", "random_look", "render_look", "words",
]
