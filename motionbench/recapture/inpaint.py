"""Fill the holes of a warped clip with the VACE inpainting backbone (shared by FYC and the baselines).

:func:`inpaint_path` is a whole re-rendering at the model's size: resize the source, warp it along
the path, inpaint (:func:`inpaint_warped`); :func:`to_size` brings the result to the request's size.
:func:`inpaint_warped` takes a warp (:mod:`.warp`), builds VACE's control latents with the warp's
mask (holes optionally dilated), samples under classifier-free guidance and decodes. Whatever adapter
is active on the transformer (FYC's LoRA at its inference weight, or none) is used as it is; an
optional :class:`~motionbench.backbones.vace.Prefix` packs context frames before the video.

The output is the model's video everywhere (visible pixels are regenerated under the control of
the kept content, as VACE does), not the warp pasted over it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from motionbench.backbones.frames import resize_frames, vae_frame_count
from motionbench.backbones.sampling import Sampler
from motionbench.backbones.vace import Prefix, control_latents, sample_inpaint
from motionbench.backbones.wan import WanBackbone
from motionbench.recapture.masks import dilate_holes
from motionbench.recapture.task import SourceClip, pad_frames, resize_source
from motionbench.recapture.trajectory import CameraPath
from motionbench.recapture.warp import Warped, warp_along_path


@dataclass(frozen=True)
class InpaintSettings:
    """Sampling options of the inpainting backbone."""

    steps: int = 30
    guidance: float = 5.0
    shift: float = 5.0
    sampler: Sampler = "unipc"
    hole_dilation: int = 0
    conditioning_scale: float = 1.0


def inpaint_warped(backbone: WanBackbone, frames: np.ndarray, visible: np.ndarray, prompt_embeds: torch.Tensor,
                   negative_embeds: torch.Tensor | None, settings: InpaintSettings, *, seed: int,
                   prefix: Prefix | None = None) -> np.ndarray:
    """Inpaint ``frames`` (uint8 ``[T, H, W, 3]``, ``T = 4k + 1``) where ``visible`` is False.

    Returns uint8 ``[T, H, W, 3]``.
    """
    keep = dilate_holes(visible, settings.hole_dilation)
    control = control_latents(backbone, frames, keep)
    latents = sample_inpaint(backbone, control, prompt_embeds, negative_embeds if settings.guidance > 1.0 else None,
                             steps=settings.steps, guidance=settings.guidance, shift=settings.shift, seed=seed,
                             sampler=settings.sampler, prefix=prefix, conditioning_scale=settings.conditioning_scale)
    return backbone.decode(latents)[: len(frames)]


@dataclass(frozen=True)
class InpaintedPath:
    """A re-rendering at the model's size: the inpainted ``frames`` and the ``warped`` input."""

    frames: np.ndarray
    warped: Warped


def inpaint_path(backbone: WanBackbone, source: SourceClip, path: CameraPath | str, *, size: tuple[int, int],
                 settings: InpaintSettings, prompt_embeds: torch.Tensor, negative_embeds: torch.Tensor | None,
                 seed: int, prefix: Prefix | None = None, device: str = "cpu") -> InpaintedPath:
    """Warp ``source`` at the model's ``size`` (width, height) along ``path`` and inpaint it.

    The warp is padded to the next 4k+1 frames by repeating its last frame (the VAE's frame policy)
    and the output cut back to the path's frame count.

    Raises:
        ConfigError: the source has no depth, or the path does not fit it.
    """
    small = resize_source(source, size)
    warped = warp_along_path(small.frames, small.require_depth(), small.intrinsics, path, device=device)
    n = len(warped.frames)
    count = vae_frame_count(n, "ceil")
    frames = inpaint_warped(backbone, pad_frames(warped.frames, count), pad_frames(warped.visible, count),
                            prompt_embeds, negative_embeds, settings, seed=seed, prefix=prefix)[:n]
    return InpaintedPath(frames=frames, warped=warped)


def to_size(frames: np.ndarray, visible: np.ndarray, size: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """Frames and their visibility mask resized to ``size`` (width, height) (cover, centre-crop)."""
    w, h = size
    if frames.shape[1:3] == (h, w):
        return frames, visible
    mask = np.repeat(np.asarray(visible, np.uint8)[..., None] * 255, 3, axis=-1)
    return resize_frames(frames, h, w), resize_frames(mask, h, w)[..., 0] > 127
