"""Frame-count and resolution policy for Wan-style video VAEs, and uint8 <-> tensor conversion.

Wan's causal VAE compresses time by 4 and keeps the first frame on its own, so it encodes and
decodes clips of ``4k + 1`` frames only (1, 5, 9, ..., 33, ..., 81), and space by 8; with the
transformer's 2x2 patches, heights and widths must be multiples of 16.

Policy for other frame counts (used by every method in MotionBench):

* references (encoding): keep the first ``4k + 1`` frames that fit (``"floor"``), dropping at most
  3 trailing frames, so no invented (padded) frames teach the model a false motion;
* generation (decoding): sample the next ``4k + 1`` count (``"ceil"``) and drop the trailing
  extra frames, so the returned video has exactly the requested count.

Sizes: a video's height and width must be multiples of the backbone's *size multiple*, the VAE's
spatial factor times the transformer's patch size (8 x 2 = 16 for Wan2.1; :func:`size_multiple`).
A method's *working size* (:func:`working_size`) keeps a clip's aspect ratio at about a given
number of pixels, rounded to that multiple.

Resizing keeps the aspect ratio: scale to cover the target, then centre-crop.
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
import torch
import torch.nn.functional as F

from motionbench.errors import MotionBenchError

TEMPORAL_FACTOR = 4
SPATIAL_MULTIPLE = 16


def vae_frame_count(n: int, mode: Literal["floor", "ceil"] = "floor", factor: int = TEMPORAL_FACTOR) -> int:
    """The ``factor*k + 1`` frame count nearest ``n`` from below (``floor``) or above (``ceil``).

    Raises:
        MotionBenchError: when ``n < 1``.
    """
    if n < 1:
        raise MotionBenchError(f"a video needs at least 1 frame, got {n}")
    k = (n - 1) // factor if mode == "floor" else -(-(n - 1) // factor)
    return factor * k + 1


def latent_frame_count(num_frames: int, factor: int = TEMPORAL_FACTOR) -> int:
    """Latent frames of a ``factor*k + 1``-frame clip: ``k + 1``."""
    if (num_frames - 1) % factor:
        raise MotionBenchError(
            f"{num_frames} frames cannot be encoded by the Wan VAE: it needs {factor}k+1 frames "
            f"(e.g. {vae_frame_count(num_frames, 'floor', factor)} or {vae_frame_count(num_frames, 'ceil', factor)}); "
            "see motionbench.backbones.frames for the truncation policy")
    return (num_frames - 1) // factor + 1


def round_size(size: int, multiple: int = SPATIAL_MULTIPLE) -> int:
    """Nearest multiple of ``multiple`` (at least one multiple)."""
    return max(multiple, int(round(size / multiple)) * multiple)


def size_multiple(backbone: Any) -> tuple[int, int]:
    """``(rows, columns)`` every video height and width must be a multiple of, for ``backbone``:
    the VAE's spatial factor times the transformer's patch size (16 x 16 for Wan2.1)."""
    _, p_h, p_w = backbone.transformer.config.patch_size
    s = int(backbone.spatial_factor)
    return s * int(p_h), s * int(p_w)


def working_size(clip_size: tuple[int, int], pixels: int, multiple: tuple[int, int]) -> tuple[int, int]:
    """``(height, width)``: the aspect ratio of ``clip_size = (width, height)`` at about ``pixels``
    pixels, each side rounded to its ``multiple`` (at least one multiple).

    Raises:
        MotionBenchError: an empty clip or a non-positive pixel budget.
    """
    width, height = clip_size
    if width < 1 or height < 1:
        raise MotionBenchError(f"cannot size a video of {width}x{height} pixels")
    if pixels < 1:
        raise MotionBenchError(f"the pixel budget must be >= 1, got {pixels}")
    h = (pixels * height / width) ** 0.5
    return round_size(h, multiple[0]), round_size(h * width / height, multiple[1])


def resize_frames(frames: np.ndarray, height: int, width: int) -> np.ndarray:
    """Resize ``uint8 [T, H, W, 3]`` to ``[T, height, width, 3]``: cover, then centre-crop."""
    t, h, w, _ = frames.shape
    if (h, w) == (height, width):
        return frames
    x = torch.from_numpy(np.ascontiguousarray(frames)).permute(0, 3, 1, 2).float()
    scale = max(height / h, width / w)
    nh, nw = max(height, round(h * scale)), max(width, round(w * scale))
    x = F.interpolate(x, size=(nh, nw), mode="bilinear", align_corners=False, antialias=True)
    top, left = (nh - height) // 2, (nw - width) // 2
    x = x[:, :, top:top + height, left:left + width]
    return x.round().clamp(0, 255).to(torch.uint8).permute(0, 2, 3, 1).contiguous().numpy()


def frames_to_tensor(frames: np.ndarray, device: torch.device | str = "cpu",
                     dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """``uint8 [T, H, W, 3]`` -> ``[1, 3, T, H, W]`` in ``[-1, 1]`` (the VAE's input range)."""
    if frames.ndim != 4 or frames.shape[-1] != 3 or frames.dtype != np.uint8:
        raise MotionBenchError(f"frames must be uint8 [T, H, W, 3], got {frames.dtype} {tuple(frames.shape)}")
    x = torch.from_numpy(np.ascontiguousarray(frames)).to(device)
    x = x.permute(3, 0, 1, 2).unsqueeze(0).to(dtype)
    return x / 127.5 - 1.0


def tensor_to_frames(video: torch.Tensor) -> np.ndarray:
    """``[1, 3, T, H, W]`` (or ``[3, T, H, W]``) in ``[-1, 1]`` -> ``uint8 [T, H, W, 3]``."""
    if video.ndim == 5:
        video = video[0]
    x = ((video.float().clamp(-1, 1) + 1.0) * 127.5).round().to(torch.uint8)
    return x.permute(1, 2, 3, 0).contiguous().cpu().numpy()
