"""Wan's 3-D rotary position embedding with settable (fractional) temporal positions.

Wan2.1 splits each head's channels into a temporal, a height and a width part and rotates each by
its token's integer (frame, row, column) index. :class:`FramePositionRope` replaces the
transformer's ``rope`` module: with no positions set it returns exactly what diffusers'
``WanRotaryPosEmbed`` returns; with :func:`frame_positions` it uses the given (possibly
fractional) temporal position for each latent frame instead of ``0, 1, 2, ...``. Methods use this
to train on a subset of frames while keeping the timing of the full clip (FYM's adaptive RoPE).
"""

from __future__ import annotations

import contextlib
from typing import Iterator, Sequence

import torch
from torch import nn


def _angles(positions: torch.Tensor, dim: int, theta: float) -> tuple[torch.Tensor, torch.Tensor]:
    """cos/sin ``[len(positions), dim]`` in the interleaved layout diffusers uses (float64 math)."""
    inv_freq = 1.0 / (theta ** (torch.arange(0, dim, 2, dtype=torch.float64, device=positions.device) / dim))
    angles = torch.outer(positions.to(torch.float64), inv_freq)
    return angles.cos().repeat_interleave(2, dim=1).float(), angles.sin().repeat_interleave(2, dim=1).float()


class FramePositionRope(nn.Module):
    """Drop-in for ``WanRotaryPosEmbed`` whose temporal positions can be overridden.

    Args:
        attention_head_dim: channels per head (128 in Wan2.1).
        patch_size: the transformer's ``(p_t, p_h, p_w)``.
        theta: rotary base.

    Attributes:
        positions: ``None`` (integer frame indices) or a 1-D tensor with one temporal position per
            latent frame (after temporal patching); set it with :func:`frame_positions`.
    """

    def __init__(self, attention_head_dim: int, patch_size: Sequence[int], theta: float = 10000.0) -> None:
        super().__init__()
        self.attention_head_dim = attention_head_dim
        self.patch_size = tuple(patch_size)
        self.theta = theta
        self.h_dim = self.w_dim = 2 * (attention_head_dim // 6)
        self.t_dim = attention_head_dim - self.h_dim - self.w_dim
        self.positions: torch.Tensor | None = None

    def forward(self, hidden_states: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        _, _, num_frames, height, width = hidden_states.shape
        p_t, p_h, p_w = self.patch_size
        ppf, pph, ppw = num_frames // p_t, height // p_h, width // p_w
        device = hidden_states.device
        if self.positions is None:
            t_pos = torch.arange(ppf, device=device, dtype=torch.float64)
        else:
            t_pos = self.positions.to(device=device, dtype=torch.float64)
            if t_pos.shape != (ppf,):
                raise ValueError(f"frame positions have shape {tuple(t_pos.shape)} but the input has {ppf} latent frames")
        cos_t, sin_t = _angles(t_pos, self.t_dim, self.theta)
        cos_h, sin_h = _angles(torch.arange(pph, device=device), self.h_dim, self.theta)
        cos_w, sin_w = _angles(torch.arange(ppw, device=device), self.w_dim, self.theta)

        def grid(t: torch.Tensor, h: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
            parts = [t.view(ppf, 1, 1, -1).expand(ppf, pph, ppw, -1),
                     h.view(1, pph, 1, -1).expand(ppf, pph, ppw, -1),
                     w.view(1, 1, ppw, -1).expand(ppf, pph, ppw, -1)]
            return torch.cat(parts, dim=-1).reshape(1, ppf * pph * ppw, 1, -1)

        return grid(cos_t, cos_h, cos_w), grid(sin_t, sin_h, sin_w)


def install_frame_position_rope(transformer: nn.Module) -> FramePositionRope:
    """Replace ``transformer.rope`` by a :class:`FramePositionRope` (idempotent); return it."""
    if isinstance(transformer.rope, FramePositionRope):
        return transformer.rope
    cfg = transformer.config
    rope = FramePositionRope(cfg.attention_head_dim, cfg.patch_size)
    transformer.rope = rope
    return rope


@contextlib.contextmanager
def frame_positions(transformer: nn.Module, positions: torch.Tensor | Sequence[float] | None) -> Iterator[None]:
    """Within the block, the transformer's temporal RoPE uses ``positions`` (one per latent frame).

    ``None`` means the default integer positions. The previous setting is restored on exit.
    """
    rope = install_frame_position_rope(transformer)
    previous = rope.positions
    if positions is not None and not isinstance(positions, torch.Tensor):
        positions = torch.tensor(list(positions), dtype=torch.float64)
    rope.positions = positions
    try:
        yield
    finally:
        rope.positions = previous
