"""The sizes MotionBench accepts, stated once: ids, frame sizes and counts, frame rates, seeds, grids.

``motionbench validate`` checks a manifest against these limits and the command-line options of
``run``, ``metric`` and ``metaeval`` are checked against the same ones, so what validates also runs:
a sample id fits in a file name, a clip fits in memory, a seed list is planned in linear time. Each
``*_problem`` function returns what is wrong with a value (a phrase to put after its name) or
``None``; callers add the name of the field or option and raise or collect the problem.

This module imports nothing heavy: the manifest reader and ``motionbench ls`` use it.
"""

from __future__ import annotations

import math
import re
from typing import Any

MAX_ID_LENGTH = 64  # ids become folder and file names (videos/<method>/<sample>/...)
MAX_PROMPT_CHARS = 4000  # one prompt is one argument of an external command (Linux: 128 KiB)
MIN_SIDE, MAX_SIDE = 16, 4096  # pixels, width and height
MIN_FRAMES, MAX_FRAMES = 2, 1024  # frames of one clip or video; motion needs two
MAX_FPS = 240.0
MAX_DECODED_BYTES = 2 * 1024**3  # RGB frames decoded into memory at once
MAX_SEED = 2**32 - 1  # numpy's seed range; torch accepts it too
MAX_SEEDS = 1000  # seeds per run
MIN_GRID, MAX_GRID = 2, 256  # points per side of a tracking grid (MAX_GRID**2 tracks)


def is_integer(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def is_finite_number(value: Any) -> bool:
    """An int or a float that is neither NaN nor infinite (YAML's ``.nan`` and ``.inf`` are not)."""
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def int_range_problem(value: Any, low: int, high: int) -> str | None:
    if not is_integer(value):
        return f"must be an integer from {low} to {high}, got {value!r}"
    if not low <= value <= high:
        return f"must be from {low} to {high}, got {value}"
    return None


def frames_problem(value: Any) -> str | None:
    """A frame count (``frames.count``, ``--num-frames``)."""
    return int_range_problem(value, MIN_FRAMES, MAX_FRAMES)


def side_problem(value: Any) -> str | None:
    return int_range_problem(value, MIN_SIDE, MAX_SIDE)


def fps_problem(value: Any) -> str | None:
    if not is_finite_number(value) or not 0 < value <= MAX_FPS:
        return f"must be a finite number above 0 and at most {MAX_FPS:g}, got {value!r}"
    return None


def decoded_bytes(num_frames: int, width: int, height: int) -> int:
    return num_frames * width * height * 3


def budget_problem(num_frames: int, size: tuple[int, int]) -> str | None:
    """``num_frames`` RGB frames of ``size`` (width, height) must fit the decoding budget."""
    need = decoded_bytes(num_frames, *size)
    if need > MAX_DECODED_BYTES:
        return (f"{num_frames} frames of {size[0]}x{size[1]} take {need / 2**30:.1f} GiB decoded, more than the "
                f"{MAX_DECODED_BYTES / 2**30:.0f} GiB limit; use fewer frames or a smaller size")
    return None


def id_problem(value: Any, pattern: str) -> str | None:
    """A sample id: a string matching ``pattern`` of at most :data:`MAX_ID_LENGTH` characters."""
    if not isinstance(value, str) or not re.fullmatch(pattern, value):
        return f"must match {pattern} (lower-case letters, digits, '_' and '-'), got {value!r}"
    if len(value) > MAX_ID_LENGTH:
        return f"is {len(value)} characters long; at most {MAX_ID_LENGTH} (it becomes a file name)"
    return None


def prompt_problem(value: str) -> str | None:
    """A prompt: printable text (newlines and tabs allowed), at most :data:`MAX_PROMPT_CHARS`."""
    if len(value) > MAX_PROMPT_CHARS:
        return f"is {len(value)} characters long; at most {MAX_PROMPT_CHARS}"
    bad = sorted({c for c in value if (ord(c) < 32 and c not in "\n\t") or ord(c) == 127})
    if bad:
        return ("contains control character(s) " + ", ".join(repr(c) for c in bad)
                + " that no program can be given as an argument; remove them")
    return None
