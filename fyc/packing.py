"""Temporal packing: the most-inpainted frames of one trajectory as context for the next.

After trajectory *a* is generated, its ``K`` frames with the largest inpainted area (the warp's hole
fraction) are kept, in time order, as a :class:`PackedContext`. Generating trajectory *b* of the
same source, their VAE latents (each frame encoded as a one-frame clip) are packed before *b*'s
latent frames as a :class:`~motionbench.backbones.vace.Prefix`, so *b*'s tokens attend to what the
model already invented for the regions the source never showed, through the DiT's own
self-attention; they are dropped after sampling.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from motionbench.backbones.vace import Prefix, PrefixMode
from motionbench.backbones.wan import WanBackbone


@dataclass(frozen=True)
class PackedContext:
    """Frames handed from one trajectory to the next (uint8 ``[K, H, W, 3]`` at the model's size).

    ``indices`` are their frame numbers in the trajectory they came from; ``hole_fraction`` their
    inpainted share.
    """

    frames: np.ndarray
    indices: tuple[int, ...]
    hole_fraction: tuple[float, ...]


def select_context(frames: np.ndarray, visible: np.ndarray, k: int) -> PackedContext:
    """The ``k`` frames with the most holes (ties: earlier first), returned in time order."""
    holes = 1.0 - np.asarray(visible, bool).reshape(len(visible), -1).mean(axis=1)
    order = sorted(range(len(holes)), key=lambda i: (-holes[i], i))[: min(k, len(holes))]
    chosen = sorted(order)
    return PackedContext(frames=np.ascontiguousarray(frames[chosen]), indices=tuple(chosen),
                         hole_fraction=tuple(float(holes[i]) for i in chosen))


@torch.no_grad()
def context_prefix(backbone: WanBackbone, context: PackedContext, mode: PrefixMode) -> Prefix:
    """The packed frames' latents ``[1, z, K, h, w]`` as a prefix."""
    latents = backbone.encode_frames(context.frames)  # [K, z, 1, h, w]
    return Prefix(latents=latents.permute(2, 1, 0, 3, 4).contiguous(), mode=mode)
