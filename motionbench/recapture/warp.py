"""Render a source clip along a camera path: the visible part of every target frame and its mask.

:func:`warp_along_path` lifts each source frame (the one the path's time mode selects) with its
depth and splats it into that frame's target camera (:mod:`.splat`). The result is what every
recapture method starts from: ``warp-only`` returns it as is, the inpainting methods fill its
holes.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from motionbench.errors import ConfigError
from motionbench.recapture.depth import check_depth, default_pivot
from motionbench.recapture.splat import DEFAULT_DEPTH_TOLERANCE, DEFAULT_MIN_COVERAGE, forward_splat
from motionbench.recapture.trajectory import CameraPath

#: Frames splatted per batch (bounds memory at 81 frames of 512x512).
FRAME_BATCH = 8


@dataclass(frozen=True)
class Warped:
    """A source clip rendered along a path.

    Attributes:
        frames: uint8 ``[T, H, W, 3]``, black where not visible.
        visible: bool ``[T, H, W]``: True = seen in the source, False = to fill.
        depth: float32 ``[T, H, W]`` target-camera depth, 0 where not visible.
        source_index: int64 ``[T]``, the source frame each output frame was lifted from.
        intrinsics: ``[T, 3, 3]`` target intrinsics.
        relative: ``[T, 4, 4]`` source-camera to target-camera transforms.
        pivot: the pivot distance used.
    """

    frames: np.ndarray
    visible: np.ndarray
    depth: np.ndarray
    source_index: np.ndarray
    intrinsics: np.ndarray
    relative: np.ndarray
    pivot: float

    @property
    def hole_fraction(self) -> np.ndarray:
        """Fraction of pixels to fill, per frame ``[T]``."""
        return 1.0 - self.visible.reshape(len(self.visible), -1).mean(axis=1)


def splat_frames(frames: np.ndarray, depth: np.ndarray, k_src: np.ndarray, k_tgt: np.ndarray, relative: np.ndarray,
                 *, device: str = "cpu", depth_tolerance: float = DEFAULT_DEPTH_TOLERANCE,
                 min_coverage: float = DEFAULT_MIN_COVERAGE) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-frame splat of uint8 frames ``[T, H, W, 3]``: (frames uint8, visible bool, depth float32)."""
    n, h, w = frames.shape[:3]
    k_src = np.broadcast_to(np.asarray(k_src, np.float64), (n, 3, 3))
    k_tgt = np.broadcast_to(np.asarray(k_tgt, np.float64), (n, 3, 3))
    out_f = np.zeros_like(frames)
    out_v = np.zeros((n, h, w), bool)
    out_d = np.zeros((n, h, w), np.float32)
    for s in range(0, n, FRAME_BATCH):
        sl = slice(s, s + FRAME_BATCH)
        img = torch.from_numpy(np.array(frames[sl])).to(device).permute(0, 3, 1, 2).float()
        dep = torch.from_numpy(np.array(depth[sl])).to(device).unsqueeze(1).float()
        res = forward_splat(img, dep, torch.from_numpy(np.array(k_src[sl])).to(device),
                            torch.from_numpy(np.array(k_tgt[sl])).to(device),
                            torch.from_numpy(np.array(relative[sl])).to(device),
                            depth_tolerance=depth_tolerance, min_coverage=min_coverage)
        out_f[sl] = res.image.round().clamp(0, 255).to(torch.uint8).permute(0, 2, 3, 1).cpu().numpy()
        out_v[sl] = (res.visible[:, 0] > 0.5).cpu().numpy()
        out_d[sl] = res.depth[:, 0].cpu().numpy()
    return out_f, out_v, out_d


def warp_along_path(frames: np.ndarray, depth: np.ndarray, k: np.ndarray, path: CameraPath | str, *,
                    pivot: float | None = None, device: str = "cpu",
                    depth_tolerance: float = DEFAULT_DEPTH_TOLERANCE,
                    min_coverage: float = DEFAULT_MIN_COVERAGE) -> Warped:
    """Render the source clip along ``path`` (see the module docstring).

    Args:
        frames: uint8 ``[T, H, W, 3]`` source frames.
        depth: ``[T, H, W]`` source depth.
        k: the source intrinsics ``[3, 3]``.
        path: a :class:`CameraPath` or its short form.
        pivot: the pivot for ``pivot: auto`` paths (default: :func:`default_pivot` of frame 0).

    Raises:
        ConfigError: bad frames/depth, or a path that does not fit the clip.
    """
    if frames.ndim != 4 or frames.shape[-1] != 3 or frames.dtype != np.uint8:
        raise ConfigError(f"source frames must be uint8 [T, H, W, 3], got {frames.dtype} {tuple(frames.shape)}")
    depth = check_depth(depth, frames, "source depth")
    path = CameraPath.parse(path)
    n = len(frames)
    src = path.source_frames(n)
    d = path.resolve_pivot(pivot if pivot is not None else default_pivot(depth[0]))
    relative = path.relative_extrinsics(len(src), d)
    k_tgt = path.intrinsics(k, len(src))
    out_f, out_v, out_d = splat_frames(frames[src], depth[src], k, k_tgt, relative, device=device,
                                       depth_tolerance=depth_tolerance, min_coverage=min_coverage)
    return Warped(frames=out_f, visible=out_v, depth=out_d, source_index=src, intrinsics=k_tgt, relative=relative,
                  pivot=d)
