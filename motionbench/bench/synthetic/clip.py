"""The rendered clip together with its ground truth."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from motionbench.video import Clip


@dataclass(frozen=True)
class SynthClip:
    """A synthetic clip and the true motion of points on its surfaces.

    Coordinates are pixels with pixel centres on integers (OpenCV's convention): the top-left
    pixel's centre is (0, 0) and a point at (x, y) lies in column round(x), row round(y).

    Attributes:
        frames: uint8 ``[T, H, W, 3]`` RGB.
        tracks: float32 ``[N, T, 2]``, the (x, y) position of N surface points in every frame (also
            where hidden or outside the frame).
        visibility: bool ``[N, T]``; False where the point is outside the frame or covered by a
            surface drawn in front of it (within ``OCCLUSION_MARGIN`` pixels of its edge).
        fps: frames per second.
        labels: int ``[N]``, which surface each point lies on: 0 = the static background (or the
            scene, for camera clips), k >= 1 = ``label_names[k]``.
        label_names: the name of each label value.
        foreground: bool ``[T, H, W]``, pixels mostly covered by a moving object or body part
            (all False for camera clips, where nothing moves but the camera).
    """

    frames: np.ndarray
    tracks: np.ndarray
    visibility: np.ndarray
    fps: float
    labels: np.ndarray
    label_names: tuple[str, ...]
    foreground: np.ndarray

    @property
    def num_points(self) -> int:
        return int(self.tracks.shape[0])

    @property
    def clip(self) -> Clip:
        """The frames as a :class:`~motionbench.video.Clip`."""
        return Clip(self.frames, self.fps)

    def foreground_box(self) -> tuple[int, int, int, int] | None:
        """``(x0, y0, x1, y1)`` around every foreground pixel of every frame, None if there is none."""
        union = self.foreground.any(axis=0)
        if not union.any():
            return None
        rows, cols = np.nonzero(union.any(axis=1))[0], np.nonzero(union.any(axis=0))[0]
        return int(cols[0]), int(rows[0]), int(cols[-1]) + 1, int(rows[-1]) + 1
