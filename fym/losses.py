"""FYM's temporal-stage loss: flow-matching MSE plus a motion-direction term.

``motion = 1 - mean_t cos(|pred[t+1] - pred[t]|, |target[t+1] - target[t]|)`` where the cosine is
taken between whole adjacent-frame difference maps (flattened over channels, rows and columns) of
the predicted and true velocities, for each batch element and each adjacent latent-frame pair,
then averaged. It rewards predicting *where and how much* the video changes between frames,
independently of the per-frame appearance error the MSE measures. (The paper writes it as a
negative cosine; ``1 - cos`` only shifts it to be non-negative.) With one latent frame it is 0.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from motionbench.backbones import TrainBatch, flow_matching_mse


def motion_cosine_loss(pred: torch.Tensor, target: torch.Tensor, eps: float = 1e-8) -> torch.Tensor:
    """``1 - mean cosine`` of absolute adjacent-frame differences along dim 2 of ``[B, C, F, h, w]``."""
    if pred.shape[2] < 2:
        return pred.new_zeros(())
    dp = (pred[:, :, 1:] - pred[:, :, :-1]).abs().float()
    dt = (target[:, :, 1:] - target[:, :, :-1]).abs().float()
    # [B, F-1, C*h*w]: one vector per adjacent pair
    dp = dp.transpose(1, 2).flatten(2)
    dt = dt.transpose(1, 2).flatten(2)
    return 1.0 - F.cosine_similarity(dp, dt, dim=-1, eps=eps).mean()


def make_temporal_loss(motion_weight: float = 1.0):
    """``loss_fn`` for :func:`motionbench.backbones.train`: MSE + ``motion_weight`` * motion term."""

    def loss_fn(pred: torch.Tensor, target: torch.Tensor, batch: TrainBatch, weights: torch.Tensor) -> torch.Tensor:
        loss = flow_matching_mse(pred, target, batch, weights)
        if motion_weight:
            loss = loss + motion_weight * motion_cosine_loss(pred, target)
        return loss

    return loss_fn
