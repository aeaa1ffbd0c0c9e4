"""Re-rendering fidelity against the exact novel view: PSNR and SSIM, overall and inside the holes.

Synthetic scenes give the true re-rendering of every camera path, and the true *holes* (what the
source never saw: :meth:`motionbench.bench.scenes.SceneClip.seen_from_source`), so a re-rendering
can be scored where it copies visible content and, separately, where it must invent it.

Conventions (recorded because published numbers differ in them):

* Inputs are uint8 ``[T, H, W, 3]`` videos (or float in ``[0, data_range]``), compared in RGB.
* **PSNR** (overall) is the mean over frames of each frame's PSNR, ``10 log10(R^2 / MSE)``; MSE is
  floored at ``1e-10 R^2`` so identical frames score 100 dB instead of infinity.
* **PSNR in the holes** pools the squared errors of all hole pixels of the video (a frame with
  three hole pixels would otherwise weigh as much as one with three thousand).
* **SSIM** is Wang et al. (2004): Gaussian window sigma 1.5 (11 taps), ``K1 = 0.01``,
  ``K2 = 0.03``, per colour channel then averaged, computed as a per-pixel map with
  reflect-padded borders (so every pixel, holes included, has a value). Overall: the mean of each
  frame's map, averaged over frames; in the holes: the mean of the maps over the hole pixels.
* A video without holes has no hole scores (``None``), never 0 or NaN.

:class:`NovelView` is the registered metric (``novel_view``, variants ``psnr``, ``ssim``,
``psnr_holes``, ``ssim_holes``); its hole variants are *skipped* on a path that reveals no hole.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from motionbench.errors import ConfigError
from motionbench.metrics.base import Metric
from motionbench.metrics.features import FeatureUnavailable

PSNR_FLOOR = 1e-10  # relative MSE floor: 100 dB
SSIM_SIGMA, SSIM_TAPS, SSIM_K1, SSIM_K2 = 1.5, 11, 0.01, 0.03


def _pair(pred: np.ndarray, target: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    pred, target = np.asarray(pred), np.asarray(target)
    if pred.shape != target.shape:
        raise ConfigError(f"re-rendering has shape {tuple(pred.shape)} but the truth has {tuple(target.shape)}")
    if pred.ndim != 4 or pred.shape[-1] != 3:
        raise ConfigError(f"videos must be [T, H, W, 3], got {tuple(pred.shape)}")
    return pred.astype(np.float64), target.astype(np.float64)


def _mask(mask: np.ndarray | None, shape: tuple[int, ...]) -> np.ndarray | None:
    if mask is None:
        return None
    mask = np.asarray(mask, dtype=bool)
    if mask.shape != shape[:3]:
        raise ConfigError(f"mask must be [T, H, W] = {tuple(shape[:3])}, got {tuple(mask.shape)}")
    return mask


def _psnr_from_mse(mse: float, data_range: float) -> float:
    return 10.0 * math.log10(data_range ** 2 / max(mse, PSNR_FLOOR * data_range ** 2))


def psnr(pred: np.ndarray, target: np.ndarray, *, data_range: float = 255.0) -> float:
    """Mean over frames of per-frame PSNR (dB)."""
    p, t = _pair(pred, target)
    mse = ((p - t) ** 2).reshape(len(p), -1).mean(axis=1)
    return float(np.mean([_psnr_from_mse(m, data_range) for m in mse]))


def masked_psnr(pred: np.ndarray, target: np.ndarray, mask: np.ndarray, *, data_range: float = 255.0) -> float | None:
    """PSNR of the pixels where ``mask`` (``[T, H, W]``) is True, pooled over the video; None if none."""
    p, t = _pair(pred, target)
    m = _mask(mask, p.shape)
    if not m.any():
        return None
    return _psnr_from_mse(float(((p - t) ** 2)[m].mean()), data_range)


def _gaussian(device: torch.device) -> torch.Tensor:
    x = torch.arange(SSIM_TAPS, dtype=torch.float64, device=device) - (SSIM_TAPS - 1) / 2
    g = torch.exp(-x ** 2 / (2 * SSIM_SIGMA ** 2))
    return g / g.sum()


def ssim_map(pred: np.ndarray, target: np.ndarray, *, data_range: float = 255.0, chunk: int = 8) -> np.ndarray:
    """Per-pixel SSIM ``[T, H, W]`` (channel mean; see the module docstring), ``chunk`` frames at a time."""
    p, t = _pair(pred, target)
    pad = SSIM_TAPS // 2
    if min(p.shape[1:3]) <= pad:
        raise ConfigError(f"SSIM needs frames larger than {pad} pixels, got {p.shape[2]}x{p.shape[1]}")
    g = _gaussian(torch.device("cpu"))
    c1, c2 = (SSIM_K1 * data_range) ** 2, (SSIM_K2 * data_range) ** 2

    def blur(z: torch.Tensor) -> torch.Tensor:
        z = F.pad(z, (pad, pad, pad, pad), mode="reflect")
        z = F.conv2d(z, g.view(1, 1, 1, -1))
        return F.conv2d(z, g.view(1, 1, -1, 1))

    out = np.empty(p.shape[:3])
    for s in range(0, len(p), chunk):
        x = torch.from_numpy(p[s:s + chunk]).permute(0, 3, 1, 2).reshape(-1, 1, *p.shape[1:3])
        y = torch.from_numpy(t[s:s + chunk]).permute(0, 3, 1, 2).reshape(-1, 1, *t.shape[1:3])
        mx, my = blur(x), blur(y)
        sxx = blur(x * x) - mx * mx
        syy = blur(y * y) - my * my
        sxy = blur(x * y) - mx * my
        m = ((2 * mx * my + c1) * (2 * sxy + c2)) / ((mx * mx + my * my + c1) * (sxx + syy + c2))
        out[s:s + chunk] = m.view(-1, 3, *p.shape[1:3]).mean(dim=1).numpy()
    return out


def ssim(pred: np.ndarray, target: np.ndarray, *, data_range: float = 255.0) -> float:
    """Mean over frames of each frame's mean SSIM."""
    return float(ssim_map(pred, target, data_range=data_range).reshape(len(pred), -1).mean(axis=1).mean())


def masked_ssim(pred: np.ndarray, target: np.ndarray, mask: np.ndarray, *, data_range: float = 255.0) -> float | None:
    """Mean of the SSIM map over the pixels where ``mask`` is True; None if none."""
    m = _mask(mask, np.shape(pred))
    if not m.any():
        return None
    return float(ssim_map(pred, target, data_range=data_range)[m].mean())


@dataclass(frozen=True)
class NovelViewScores:
    """PSNR (dB) and SSIM of a re-rendering, overall and inside the true holes.

    ``hole_fraction`` is the share of pixels the source never saw; the hole scores are None when
    it is 0.
    """

    psnr: float
    ssim: float
    psnr_holes: float | None
    ssim_holes: float | None
    hole_fraction: float


def novel_view_scores(pred: np.ndarray, target: np.ndarray, holes: np.ndarray, *,
                      data_range: float = 255.0) -> NovelViewScores:
    """All four scores (see the module docstring) in one pass over the SSIM map.

    Args:
        pred: the re-rendering ``[T, H, W, 3]``.
        target: the exact re-rendering.
        holes: bool ``[T, H, W]``, True where the source never saw the target's surface.

    Example::

        s = novel_view_scores(video, truth.frames, ~clip.seen_from_source(path, truth))
        s.psnr, s.psnr_holes
    """
    p, t = _pair(pred, target)
    m = _mask(holes, p.shape)
    smap = ssim_map(p, t, data_range=data_range)
    has_holes = bool(m.any())
    return NovelViewScores(
        psnr=psnr(p, t, data_range=data_range),
        ssim=float(smap.reshape(len(p), -1).mean(axis=1).mean()),
        psnr_holes=masked_psnr(p, t, m, data_range=data_range) if has_holes else None,
        ssim_holes=float(smap[m].mean()) if has_holes else None,
        hole_fraction=float(m.mean()),
    )


CONVENTION = ("against the exact re-rendering of the 3-D scene along the path, RGB uint8 (range 255), same size and "
              "frames; psnr = mean over frames of 10 log10(255^2 / MSE), MSE floored at 1e-10 * 255^2 (100 dB); "
              "psnr_holes = the same over the squared errors of every hole pixel of the video pooled; ssim = Wang et "
              "al. 2004, Gaussian window sigma 1.5 (11 taps), K1 0.01, K2 0.03, per channel then averaged, "
              "reflect-padded map, mean per frame then over frames; ssim_holes = mean of the map over the hole "
              "pixels; holes = target pixels whose surface the source frame never saw (exact, from the scene); a "
              "path without holes skips the hole variants; 3-D scene samples only")


def novel_view_score(generated_frames: np.ndarray, target_frames: np.ndarray, hole_mask: np.ndarray,
                     variant: str) -> float:
    """``novel_view`` of one video in one variant (see the module docstring).

    Raises:
        FeatureUnavailable: a hole variant on a path without holes (the score is skipped).
        ConfigError: the video's shape is not the truth's.
    """
    if variant == "psnr":
        return psnr(generated_frames, target_frames)
    if variant == "ssim":
        return ssim(generated_frames, target_frames)
    value = (masked_psnr if variant == "psnr_holes" else masked_ssim)(generated_frames, target_frames, hole_mask)
    if value is None:
        raise FeatureUnavailable("this path reveals no hole: the source saw every pixel of the target")
    return value


class NovelView(Metric):
    """PSNR and SSIM of a re-rendering against the exact novel view, overall and in the holes."""

    name = "novel_view"
    summary = "Recapture: PSNR and SSIM against the exact re-rendering, overall and in the holes (3-D scenes)"
    higher_is_better = True
    version = "1"
    convention = CONVENTION
    needs = ("generated_frames", "target_frames", "hole_mask")
    variants = ("psnr", "ssim", "psnr_holes", "ssim_holes")

    def __call__(self, generated_frames: np.ndarray, target_frames: np.ndarray,  # type: ignore[override]
                 hole_mask: np.ndarray) -> float:
        return novel_view_score(generated_frames, target_frames, hole_mask, self.variant)
