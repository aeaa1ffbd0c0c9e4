"""FYM's adaptive RoPE: each sparsely sampled latent frame keeps the temporal position it has in the clip.

When the temporal LoRA trains on a subset of the clip's frames, giving the short clip's latent
frames positions ``0, 1, 2, ...`` would teach motion at the wrong speed. Adaptive RoPE gives each
of them the position of the dense latent frame it stands for.

Wan's causal VAE encodes pixel frames ``0 | 1..T | T+1..2T | ...`` (``T = 4``): latent frame ``j``
is closed by pixel frame ``T*j``. In the dense clip, pixel frame ``p = T*f`` closes latent ``f``,
whose RoPE position is ``f = p / T``. A sparse clip of sorted pixel frames ``s[0], s[1], ...``
(``T*k_s + 1`` of them) is encoded the same way, so its latent ``j`` is closed by pixel frame
``s[T*j]`` and gets

    pos(j) = s[T*j] / T

the dense latent position of that frame (fractional when ``s[T*j]`` falls inside a dense latent,
as random patterns allow). For uniform sampling of ``F_s`` of ``F`` pixel frames with ``F - 1`` a
multiple of ``F_s - 1`` (81 -> 17: ``s[i] = 5i``) this is ``pos(j) = j (L - 1) / (L_s - 1)`` in
latent frames (``L = 21`` dense, ``L_s = 5`` sparse: 0, 5, 10, 15, 20). That is the paper's
stretch: its ``pos(i) = F/2 + (F/F_s)(i - F_s/2)`` is ``(F/F_s) i`` (the ``F/2`` terms cancel),
with the stretch taken between the ends of the two clips, ``(L-1)/(L_s-1)``, instead of between
their counts, ``L/L_s`` (21/5 = 4.2 would end at 16.8, short of the clip's last latent frame 20).
Positions are applied through :func:`motionbench.backbones.frame_positions`.
"""

from __future__ import annotations

from typing import Sequence

import torch


def sparse_positions(indices: Sequence[int], temporal_factor: int = 4) -> torch.Tensor:
    """Temporal RoPE positions (float64) of the latent frames of the clip of pixel frames ``indices``.

    Args:
        indices: sorted pixel-frame indices into the dense clip, ``temporal_factor * k + 1`` of them.
        temporal_factor: the VAE's temporal compression ``T``.

    Returns:
        ``[k + 1]`` positions ``indices[T*j] / T``; the dense clip itself (``0, 1, ..., T*k``) gives
        ``0, 1, ..., k``.
    """
    idx = [int(i) for i in indices]
    if not idx or (len(idx) - 1) % temporal_factor:
        raise ValueError(f"{len(idx)} frames cannot be encoded: the VAE needs {temporal_factor}k+1")
    if any(b <= a for a, b in zip(idx, idx[1:])) or idx[0] < 0:
        raise ValueError(f"frame indices must be sorted, distinct and >= 0, got {idx}")
    closing = torch.tensor(idx[::temporal_factor], dtype=torch.float64)
    return closing / temporal_factor
