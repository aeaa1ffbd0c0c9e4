"""FYM's adaptive RoPE: temporal positions of sparsely sampled frames stretched over the clip.

When the temporal LoRA trains on ``F_s`` of the clip's ``F`` latent frames, giving them positions
``0 .. F_s-1`` would teach motion at the wrong speed (``F/F_s`` times too fast per position step).
Adaptive RoPE instead places sampled frame ``i`` at

    pos(i) = F/2 + (F/F_s) * (i - F_s/2)

(the paper's formula: stretched by ``F/F_s`` and centred on the clip), applied through
:func:`motionbench.backbones.frame_positions`, which accepts fractional positions.
"""

from __future__ import annotations

import torch


def adaptive_positions(num_sampled: int, num_original: int) -> torch.Tensor:
    """Temporal RoPE positions (float64) of ``num_sampled`` latent frames standing for ``num_original``.

    ``num_sampled == num_original`` gives the default ``0, 1, ..., F-1``.
    """
    if not 1 <= num_sampled <= num_original:
        raise ValueError(f"need 1 <= sampled ({num_sampled}) <= original ({num_original}) latent frames")
    i = torch.arange(num_sampled, dtype=torch.float64)
    f, fs = float(num_original), float(num_sampled)
    return f / 2 + (f / fs) * (i - fs / 2)
