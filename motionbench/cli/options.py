"""Command-line values several commands share: sizes, frame counts, tracking grids, frame windows.

Each parser checks its value against :mod:`motionbench.limits`, the same limits ``motionbench
validate`` applies to a manifest, and raises :class:`~motionbench.errors.ConfigError` naming the
option, so a value a command accepts is one the rest of the program can handle.
"""

from __future__ import annotations

import re

from motionbench import limits
from motionbench.errors import ConfigError


def parse_size(text: str | None, option: str = "--size") -> tuple[int, int] | None:
    """``"WxH"`` -> (width, height), each side within the limits."""
    if text is None:
        return None
    m = re.fullmatch(r"\s*(\d{1,9})\s*[xX]\s*(\d{1,9})\s*", text)
    if not m or any(limits.side_problem(int(v)) for v in m.groups()):
        raise ConfigError(f"{option} {text!r} is not WIDTHxHEIGHT with each side from {limits.MIN_SIDE} to "
                          f"{limits.MAX_SIDE} pixels (e.g. {option} 128x128)")
    return int(m.group(1)), int(m.group(2))


def check_num_frames(value: int | None, option: str = "--num-frames") -> int | None:
    if value is not None and (problem := limits.frames_problem(value)) is not None:
        raise ConfigError(f"{option} {problem}")
    return value


def check_budget(num_frames: int | None, size: tuple[int, int] | None, options: str = "--num-frames and --size") -> None:
    """Both given: the frames must fit the decoding budget."""
    if num_frames is not None and size is not None and (problem := limits.budget_problem(num_frames, size)):
        raise ConfigError(f"{options}: {problem}")


def check_grid(value: int | None, option: str = "--grid") -> int | None:
    if value is not None and (problem := limits.int_range_problem(value, limits.MIN_GRID, limits.MAX_GRID)):
        raise ConfigError(f"{option} (points per side of the tracking grid) {problem}")
    return value


def check_window(start: int, count: int | None) -> None:
    """``--start``/``--count``: a window of source frames."""
    if start < 0:
        raise ConfigError(f"--start must be >= 0, got {start}")
    if count is not None and (problem := limits.frames_problem(count)) is not None:
        raise ConfigError(f"--count {problem}")
