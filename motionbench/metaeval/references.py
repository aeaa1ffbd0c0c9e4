"""The reference clips metaeval judges metrics on, and how to render them.

A :class:`SyntheticReference` is a synthetic clip named by its generator, seed and params (a manifest sample
or one of the built-in :data:`DEFAULT_REFERENCES`) with its frame window, size and fps. Every video
metaeval builds carries its true tracks: renders come with the generator's ground truth, and the
perturbed and negative videos derive theirs from it (see :mod:`motionbench.metaeval.pairs`).

The built-in set has three clips per category whose motions differ in kind (a pan, a zoom, a roll;
a curve, a zigzag, a spiral; ...), so "another sample of the same category" is a different motion,
and none is symmetric in time, so its time reversal is a different motion too (tests pin both).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

import numpy as np

from motionbench.errors import ConfigError


@dataclass(frozen=True)
class Video:
    """Frames with their true point tracks.

    Attributes:
        frames: uint8 ``[T, H, W, 3]`` RGB.
        tracks: float64 ``[N, T, 2]`` true (x, y) pixel positions of surface points.
        visibility: bool ``[N, T]``.
        fps: frames per second.
        foreground: bool ``[T, H, W]``, pixels of moving objects, when known (renders only).
    """

    frames: np.ndarray
    tracks: np.ndarray
    visibility: np.ndarray
    fps: float
    foreground: np.ndarray | None = None

    @property
    def num_frames(self) -> int:
        return int(self.frames.shape[0])

    @property
    def size(self) -> tuple[int, int]:
        """(width, height)."""
        return int(self.frames.shape[2]), int(self.frames.shape[1])


@dataclass(frozen=True)
class SyntheticReference:
    """One synthetic reference clip: generator, seed and params, with its window, size and fps."""

    id: str
    category: str
    generator: str
    seed: int
    params: Mapping[str, Any] = field(default_factory=dict)
    start: int = 0
    num_frames: int = 17
    size: tuple[int, int] = (128, 128)
    fps: float = 8.0

    def render(self, appearance: int = 0, *, oversample: int = 1) -> Video:
        """The clip in look ``appearance``; ``oversample`` = k renders k times as many frames per second.

        With ``oversample`` k, frame ``k * i`` of the result is exactly frame ``i`` of the plain render
        (motion is defined in seconds), and the frames between sample the motion in between: this is
        how time warps get exact frames and exact tracks.
        """
        from motionbench.bench import synthetic

        k = int(oversample)
        last = self.start + self.num_frames - 1
        clip = synthetic.render(self.generator, seed=self.seed, params=dict(self.params), num_frames=k * last + 1,
                                size=self.size, fps=self.fps * k, appearance=appearance)
        s = slice(k * self.start, None)
        return Video(np.ascontiguousarray(clip.frames[s]), clip.tracks[:, s].astype(np.float64),
                     clip.visibility[:, s].copy(), self.fps, clip.foreground[s])


def _ref(id: str, category: str, generator: str, seed: int, **params: Any) -> SyntheticReference:
    return SyntheticReference(id=id, category=category, generator=generator, seed=seed, params=params)


#: Three references per benchmark category, with motions that differ in kind within a category.
DEFAULT_REFERENCES: tuple[SyntheticReference, ...] = (
    _ref("camera-pan", "camera", "camera", 11, path="pan"),
    _ref("camera-zoom", "camera", "camera", 12, path="zoom_in"),
    _ref("camera-rotate", "camera", "camera", 13, path="rotate"),
    _ref("object-curve", "single_object", "single_object", 21, path="curve"),
    _ref("object-zigzag", "single_object", "single_object", 22, path="zigzag"),
    _ref("object-spiral", "single_object", "single_object", 23, path="spiral"),
    _ref("multi-crossing", "multi_object", "multi_object", 31, pattern="crossing"),
    _ref("multi-overtake", "multi_object", "multi_object", 32, pattern="overtake"),
    _ref("multi-orbit", "multi_object", "multi_object", 33, pattern="orbit"),
    _ref("human-walk", "human", "human", 41, action="walk"),
    _ref("human-wave", "human", "human", 42, action="wave"),
    _ref("human-jump", "human", "human", 43, action="jump"),
)


def references_from_manifest(path: Path | str | None = None) -> tuple[SyntheticReference, ...]:
    """The synthetic samples of a manifest as references (file and URL samples have no true motion).

    Raises:
        ManifestError: the manifest cannot be read.
        ConfigError: it has no synthetic sample, or a category has only one (a "different motion of
            the same category" needs two).
    """
    from motionbench.bench.manifest import SyntheticSource, load_manifest

    manifest = load_manifest(path)
    refs = []
    for s in manifest.samples:
        src = s.source
        if not isinstance(src, SyntheticSource):
            continue
        refs.append(SyntheticReference(id=s.id, category=s.category, generator=src.generator, seed=src.seed,
                              params=dict(src.params), start=s.frames.start,
                              num_frames=s.frames.count or 17, size=tuple(s.size or (128, 128)),  # type: ignore[arg-type]
                              fps=float(s.fps or 8.0)))
    if not refs:
        raise ConfigError(f"{manifest.path}: has no synthetic sample; metaeval needs clips with known motion")
    check_references(refs, where=str(manifest.path))
    return tuple(refs)


def check_references(refs: list[SyntheticReference] | tuple[SyntheticReference, ...], where: str = "references") -> None:
    """Every category needs two references; ids must be unique.

    Raises:
        ConfigError: naming the category or id at fault.
    """
    ids = [r.id for r in refs]
    dup = sorted({i for i in ids if ids.count(i) > 1})
    if dup:
        raise ConfigError(f"{where}: duplicate reference id(s) {', '.join(dup)}")
    counts: dict[str, int] = {}
    for r in refs:
        counts[r.category] = counts.get(r.category, 0) + 1
    lonely = sorted(c for c, n in counts.items() if n < 2)
    if lonely:
        raise ConfigError(f"{where}: category {', '.join(lonely)} has a single synthetic sample; metaeval needs two per "
                          "category to build the 'different motion of the same category' negative (add one, or drop "
                          "the category with --category)")
