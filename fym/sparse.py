"""FYM's sparse motion sampling: which frames of the reference the temporal stage trains on.

The temporal LoRA sees ``count`` of the clip's ``T`` frames per step (paper: 17 of 81), encoded
as one short video, which cuts the attention cost roughly by ``(T/count)^2``. ``count`` is rounded
down to ``4k+1`` so the Wan VAE can encode it. Patterns:

* ``uniform``: evenly spaced, always the same frames (first and last included); latents are
  encoded once;
* ``random``: a fresh sorted random subset each step (from the training generator), covering
  different motion phases over training; encoded per step.
"""

from __future__ import annotations

from typing import Literal

import torch

from motionbench.backbones import vae_frame_count

SparsePattern = Literal["uniform", "random"]


def sparse_count(count: int, total: int, temporal_factor: int = 4) -> int:
    """Frames actually sampled: ``min(count, total)`` rounded down to ``T*k + 1``."""
    return vae_frame_count(max(1, min(count, total)), "floor", temporal_factor)


def sparse_indices(total: int, count: int, pattern: SparsePattern = "uniform",
                   generator: torch.Generator | None = None, temporal_factor: int = 4) -> list[int]:
    """Sorted frame indices in ``[0, total)``; see the module docstring."""
    n = sparse_count(count, total, temporal_factor)
    if pattern == "uniform":
        if n == 1:
            return [0]
        return [round(j * (total - 1) / (n - 1)) for j in range(n)]
    if pattern == "random":
        if generator is None:
            raise ValueError("the random sparse pattern needs a generator")
        return sorted(torch.randperm(total, generator=generator)[:n].tolist())
    raise ValueError(f"unknown sparse pattern {pattern!r}; choose uniform or random")
