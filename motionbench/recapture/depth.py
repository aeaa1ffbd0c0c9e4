"""Depth for the source clip: exact for synthetic scenes, an off-the-shelf model for real clips.

A depth estimator turns uint8 frames ``[T, H, W, 3]`` into positive float32 depth ``[T, H, W]`` (z in
the camera's frame) and names itself by a ``backend`` id (model and weights), so renderings made
with different depth are never mixed silently.

* :class:`ExactDepth` returns the depth a synthetic scene rendered with its frames.
* :class:`HubDepth` runs a Hugging Face depth-estimation checkpoint through ``transformers``
  (default ``depth-anything/Depth-Anything-V2-Small-hf``; any ``AutoModelForDepthEstimation``
  checkpoint or a local folder holding one). Offline first: it loads from the local hub cache
  only (``local_files_only``) unless ``MOTIONBENCH_ALLOW_DOWNLOAD=1``; missing weights raise
  :class:`~motionbench.weights.WeightsMissing` with the command that fetches them, so a caller can
  skip the clip with that message instead of scoring it.

The paper uses DepthCrafter, a video depth model with its own UNet code outside ``transformers``
and ``diffusers``; it can be plugged in as another estimator. Per-frame models predict
*relative* disparity up to a scale per frame; :class:`HubDepth` turns it into depth with one
convention, documented on the class (a known difference from a video depth model: no temporal
consistency beyond the per-frame scale alignment).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np

from motionbench.errors import ConfigError, WeightsError

DEFAULT_DEPTH_MODEL = "depth-anything/Depth-Anything-V2-Small-hf"
#: Smallest normalised disparity kept (depth at most 50x the first frame's median).
MIN_DISPARITY = 0.02


class DepthEstimator(Protocol):
    backend: str

    def estimate(self, frames: np.ndarray) -> np.ndarray:
        """uint8 ``[T, H, W, 3]`` -> positive float32 depth ``[T, H, W]``."""


def check_depth(depth: np.ndarray, frames: np.ndarray | None = None, where: str = "depth") -> np.ndarray:
    """``depth`` as float32 ``[T, H, W]``, finite and positive, matching ``frames`` if given.

    Raises:
        ConfigError: wrong shape, or non-finite / non-positive values.
    """
    depth = np.asarray(depth, dtype=np.float32)
    if depth.ndim != 3:
        raise ConfigError(f"{where}: expected [T, H, W], got shape {tuple(depth.shape)}")
    if frames is not None and depth.shape != frames.shape[:3]:
        raise ConfigError(f"{where}: shape {tuple(depth.shape)} does not match the frames {tuple(frames.shape[:3])}")
    if not np.isfinite(depth).all() or (depth <= 0).any():
        raise ConfigError(f"{where}: depth must be finite and positive everywhere "
                          f"(min {np.nanmin(depth):g}, {int((~np.isfinite(depth)).sum())} non-finite)")
    return depth


def default_pivot(depth0: np.ndarray) -> float:
    """The orbit pivot for ``pivot: auto``: median depth of the central quarter of the first frame."""
    h, w = depth0.shape[-2:]
    centre = np.asarray(depth0)[..., h // 4: h - h // 4 or h, w // 4: w - w // 4 or w]
    return float(np.median(centre))


@dataclass(frozen=True)
class ExactDepth:
    """The known depth of a synthetic clip (``[T, H, W]``)."""

    depth: np.ndarray
    backend: str = "exact"

    def estimate(self, frames: np.ndarray) -> np.ndarray:
        return check_depth(self.depth, frames, "exact depth")


class HubDepth:
    """A ``transformers`` depth-estimation checkpoint applied frame by frame.

    Convention: a ``relative`` model's output is disparity (larger = nearer, up to scale and
    shift). Each frame's disparity is scaled so its median matches frame 0's (removing per-frame
    scale flicker), normalised by frame 0's median, clamped below at ``MIN_DISPARITY`` and
    inverted: frame 0's median disparity becomes depth 1. The shift is not estimated (assumed 0). A ``metric``
    model's output is used as depth directly.

    Args:
        model: hub id or local folder.
        device: torch device.
        batch_size: frames per forward pass.
    """

    def __init__(self, model: str = DEFAULT_DEPTH_MODEL, *, device: str = "cpu", batch_size: int = 8) -> None:
        self.model_id, self.device, self.batch_size = model, device, batch_size
        self._model = None
        self._processor = None

    @property
    def backend(self) -> str:
        return f"hf:{self.model_id}"

    def _load(self) -> None:
        if self._model is not None:
            return
        from pathlib import Path

        from transformers import AutoImageProcessor, AutoModelForDepthEstimation

        from motionbench.weights import WeightsMissing, network_allowed

        local = Path(self.model_id).expanduser()
        kwargs = {} if local.is_dir() else {"local_files_only": not network_allowed()}
        where = str(local) if local.is_dir() else self.model_id
        try:
            self._processor = AutoImageProcessor.from_pretrained(where, **kwargs)
            self._model = AutoModelForDepthEstimation.from_pretrained(where, **kwargs).to(self.device).eval()
        except (OSError, ValueError) as exc:
            if local.is_dir():
                raise WeightsError(f"depth model folder {local} is not a transformers depth checkpoint: "
                                   f"{str(exc).splitlines()[0]}") from None
            raise WeightsMissing(f"depth model {self.model_id} is not on this machine; run "
                                 f"`huggingface-cli download {self.model_id}` (or set MOTIONBENCH_ALLOW_DOWNLOAD=1, "
                                 "or pass a local folder)") from None

    def estimate(self, frames: np.ndarray) -> np.ndarray:
        import torch
        import torch.nn.functional as F

        self._load()
        t, h, w = frames.shape[:3]
        outs = []
        with torch.no_grad():
            for start in range(0, t, self.batch_size):
                batch = [f for f in frames[start:start + self.batch_size]]
                inputs = self._processor(images=batch, return_tensors="pt").to(self.device)
                pred = self._model(**inputs).predicted_depth
                pred = F.interpolate(pred.unsqueeze(1).float(), size=(h, w), mode="bilinear", align_corners=False)
                outs.append(pred[:, 0].cpu())
        raw = torch.cat(outs).numpy().astype(np.float64)
        kind = getattr(self._model.config, "depth_estimation_type", "relative")
        if kind == "metric":
            return check_depth(np.maximum(raw, 1e-3), frames, self.backend)
        return check_depth(disparity_to_depth(raw), frames, self.backend)


def disparity_to_depth(disparity: np.ndarray) -> np.ndarray:
    """Relative disparity ``[T, H, W]`` -> depth by :class:`HubDepth`'s convention."""
    disparity = np.asarray(disparity, dtype=np.float64)
    medians = np.median(disparity.reshape(len(disparity), -1), axis=1)
    if medians[0] <= 0:
        raise ConfigError("disparity of the first frame has a non-positive median; the depth model output is unusable")
    scale = np.where(medians > 0, medians[0] / np.where(medians > 0, medians, 1.0), 1.0)
    normalised = disparity * scale[:, None, None] / medians[0]
    return (1.0 / np.maximum(normalised, MIN_DISPARITY)).astype(np.float32)


def fill_holes(depth: np.ndarray, visible: np.ndarray) -> np.ndarray:
    """Depth ``[T, H, W]`` with its holes filled from the *farthest* neighbouring known depth.

    The depth of a re-rendering is known where it was splatted; its holes are mostly
    disocclusions, which reveal background, so each hole pixel takes the largest depth among its
    known 3x3 neighbours, growing inwards until the hole is full. Used to lift a method's own
    re-rendering again (FYC's self-iterative tuning).

    Raises:
        ConfigError: a frame with no known depth at all.
    """
    import torch
    import torch.nn.functional as F

    d = torch.from_numpy(np.where(visible, depth, 0.0).astype(np.float32)).unsqueeze(1)
    known = torch.from_numpy(np.asarray(visible, bool)).unsqueeze(1)
    empty = ~known.flatten(1).any(dim=1)
    if bool(empty.any()):
        raise ConfigError(f"fill_holes: frame {int(empty.nonzero()[0])} has no known depth to fill from")
    for _ in range(sum(depth.shape[1:])):
        if bool(known.all()):
            break
        grown = F.max_pool2d(torch.where(known, d, torch.zeros_like(d)), 3, stride=1, padding=1)
        reach = F.max_pool2d(known.float(), 3, stride=1, padding=1) > 0
        new = reach & ~known
        d = torch.where(new, grown, d)
        known = known | new
    return d[:, 0].numpy()
