"""Seeded synthetic clips with ground-truth motion: the embedded MotionBench benchmark.

Four generators cover the benchmark's categories:

- ``camera``: a static textured scene seen through a moving camera (pan, tilt, zoom, roll, orbit);
- ``single_object``: one textured object on a non-trivial path over a textured background;
- ``multi_object``: two to four objects with independent paths, one occluding another;
- ``human``: an articulated figure (forward kinematics over twelve textured parts) walking,
  jumping, waving or squatting.

``seed`` and ``params`` fix the motion; ``appearance`` (0 = the reference look) changes only the
look: textures, colours, object shapes, background. Renders of one motion in different looks have
bitwise-identical ``tracks`` and ``visibility``: that pair is what a perfect motion transfer would
produce, and the metrics' validity checks rely on it. The same arguments give the same bits (with
the same numpy and OpenCV builds; across builds, pixels may differ in the last bit of rounding).

Manifest samples are rendered through :func:`motionbench.bench.clips.load_sample`, which applies
the sample's frame window, fps and size.

Motion is defined in seconds, so ``fps`` and ``num_frames`` set how it is sampled and for how long:
the default 17 frames at 8 fps span two seconds.

Example::

    clip = render("human", seed=3, params={"action": "wave"})
    clip.frames.shape, clip.tracks.shape       # (17, 128, 128, 3), (N, 17, 2)
    render("human", seed=3, params={"action": "wave"}, appearance=1).tracks == clip.tracks  # all True
"""

from __future__ import annotations

from typing import Any, Callable, Mapping

from motionbench.bench.synthetic import camera, human, objects
from motionbench.bench.synthetic.clip import SynthClip
from motionbench.bench.synthetic.params import ParamSpec, check, resolve
from motionbench.bench.synthetic.streams import look_rng, motion_rng
from motionbench.errors import ConfigError

__all__ = ["GENERATORS", "SynthClip", "render", "check_params", "describe_params"]

# New generators are appended: a generator's index keys its random streams. The toy world's
# generators (motionbench.bench.toy) are looked up lazily: that package builds on this one.
GENERATORS: tuple[str, ...] = ("camera", "single_object", "multi_object", "human",
                               "toy_camera", "toy_single_object", "toy_multi_object", "toy_human")
_SPECS: dict[str, dict[str, ParamSpec]] = {
    "camera": camera.PARAMS,
    "single_object": objects.SINGLE_PARAMS,
    "multi_object": objects.MULTI_PARAMS,
    "human": human.PARAMS,
}
_RENDER: dict[str, Callable[..., SynthClip]] = {
    "camera": camera.render,
    "single_object": objects.render_single,
    "multi_object": objects.render_multi,
    "human": human.render,
}


def _tables() -> tuple[dict[str, dict[str, ParamSpec]], dict[str, Callable[..., SynthClip]]]:
    if "toy_camera" not in _SPECS:
        from motionbench.bench.toy.world import PARAMS as TOY_PARAMS, make_renderer

        _SPECS.update(TOY_PARAMS)
        _RENDER.update({name: make_renderer(name) for name in TOY_PARAMS})
    return _SPECS, _RENDER


DEFAULT_NUM_FRAMES = 17
DEFAULT_SIZE = (128, 128)
DEFAULT_FPS = 8.0


def _unknown_generator(generator: Any) -> str:
    return f"unknown generator {generator!r}; allowed: {', '.join(GENERATORS)}"


def check_params(generator: str, params: Mapping[str, Any]) -> list[str]:
    """Every problem with a generator name and its params, as sentences naming the allowed values.

    Returns:
        An empty list when ``generator`` exists and every param is known and in range.
    """
    specs, _ = _tables()
    if generator not in specs:
        return [_unknown_generator(generator)]
    if not isinstance(params, Mapping):
        return [f"{generator}: params must be a mapping of name -> value, got {type(params).__name__}"]
    return check(generator, specs[generator], params)


def describe_params(generator: str) -> dict[str, str]:
    """Param name -> its allowed values, default and meaning.

    Raises:
        ConfigError: if ``generator`` is unknown.
    """
    specs, _ = _tables()
    if generator not in specs:
        raise ConfigError(_unknown_generator(generator))
    return {name: spec.describe() for name, spec in specs[generator].items()}


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def render(
    generator: str,
    *,
    seed: int,
    params: Mapping[str, Any] | None = None,
    num_frames: int = DEFAULT_NUM_FRAMES,
    size: tuple[int, int] = DEFAULT_SIZE,
    fps: float = DEFAULT_FPS,
    appearance: int = 0,
) -> SynthClip:
    """Render a synthetic clip with its ground-truth point tracks.

    Args:
        generator: one of :data:`GENERATORS`.
        seed: fixes the motion (and, with ``appearance``, the look); an integer >= 0.
        params: generator params (see :func:`describe_params`); missing ones take their defaults.
        num_frames: number of frames, >= 1.
        size: ``(width, height)`` in pixels, each >= 16.
        fps: frame rate; motion is defined in seconds, frame ``i`` shows time ``i / fps``.
        appearance: 0 for the reference look, 1, 2, ... for other looks of the same motion.

    Returns:
        A :class:`SynthClip`.

    Raises:
        ConfigError: naming the bad argument and the allowed values.
    """
    specs, renderers = _tables()
    if generator not in specs:
        raise ConfigError(_unknown_generator(generator))
    problems = []
    if not _is_int(seed) or seed < 0:
        problems.append(f"seed must be an integer >= 0, got {seed!r}")
    if not _is_int(appearance) or appearance < 0:
        problems.append(f"appearance must be an integer >= 0 (0 = the reference look), got {appearance!r}")
    if not _is_int(num_frames) or num_frames < 1:
        problems.append(f"num_frames must be an integer >= 1, got {num_frames!r}")
    if not (isinstance(size, (tuple, list)) and len(size) == 2 and all(_is_int(v) and v >= 16 for v in size)):
        problems.append(f"size must be (width, height) with each an integer >= 16, got {size!r}")
    if isinstance(fps, bool) or not isinstance(fps, (int, float)) or not fps > 0:
        problems.append(f"fps must be a positive number, got {fps!r}")
    if problems:
        raise ConfigError(f"render({generator!r}): " + "; ".join(problems))
    resolved = resolve(generator, specs[generator], params or {})
    index = GENERATORS.index(generator)
    return renderers[generator](
        resolved,
        motion=motion_rng(seed, index),
        look=look_rng(seed, index, appearance),
        num_frames=num_frames,
        size=(int(size[0]), int(size[1])),
        fps=float(fps),
        appearance=appearance,
    )
