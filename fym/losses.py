"""FYM's temporal-stage loss: flow-matching MSE plus a motion term along time.

``motion = 1 - mean cos_t(|pred[t+1] - pred[t]|, |target[t+1] - target[t]|)``: for every batch
element, channel and latent position, the sequence over time of absolute adjacent-frame
differences of the predicted velocity is compared by cosine with the same sequence of the target,
and the cosines are averaged over batch, channels and positions. This is the released training
code's form (``cosine_similarity(model_pred_residual, target_residual, dim=2)`` on ``[B, C, T, H,
W]`` latents, in ``examples/wanvideo/EffiVMT_train_wan_t2v_Head.py``): it rewards predicting *when*
each location changes, independently of the per-frame error the MSE measures. The paper writes the
term as a negative cosine of adjacent-frame differences; ``1 - cos`` only shifts it to be
non-negative. With one latent frame there are no differences and the term is 0; with two, each
sequence has one non-negative entry, so the cosine is 1 wherever both differ from zero (the
released code behaves the same).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from motionbench.backbones import TrainBatch, flow_matching_mse


def motion_cosine_loss(pred: torch.Tensor, target: torch.Tensor, eps: float = 1e-8) -> torch.Tensor:
    """``1 - mean`` over ``(B, C, h, w)`` of the cosine along time (dim 2 of ``[B, C, F, h, w]``)
    between the absolute adjacent-frame differences of ``pred`` and of ``target``."""
    if pred.shape[2] < 2:
        return pred.new_zeros(())
    dp = (pred[:, :, 1:] - pred[:, :, :-1]).abs().float()
    dt = (target[:, :, 1:] - target[:, :, :-1]).abs().float()
    return 1.0 - F.cosine_similarity(dp, dt, dim=2, eps=eps).mean()


def make_temporal_loss(motion_weight: float = 1.0):
    """``loss_fn`` for :func:`motionbench.backbones.train`: MSE + ``motion_weight`` * motion term."""

    def loss_fn(pred: torch.Tensor, target: torch.Tensor, batch: TrainBatch, weights: torch.Tensor) -> torch.Tensor:
        loss = flow_matching_mse(pred, target, batch, weights)
        if motion_weight:
            loss = loss + motion_weight * motion_cosine_loss(pred, target)
        return loss

    return loss_fn
