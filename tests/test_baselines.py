"""The baselines on the tiny random Wan (CPU): each algorithm's defining property.

The contract every method keeps is checked once for all methods in ``test_method_contract.py``.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
import torch

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from motionbench.errors import ConfigError  # noqa: E402
from motionbench.methods.base import GenerationRequest, Reference  # noqa: E402
from motionbench.methods.config import build_config  # noqa: E402
from motionbench.methods.wan import several_adapters  # noqa: E402
from motionbench.video import Clip  # noqa: E402

from motionbench_baselines.attention_flow import amf_loss, attention_motion_flow, frame_pairs  # noqa: E402
from motionbench_baselines.ditflow import DiTFlow  # noqa: E402
from motionbench_baselines.motiondirector import (  # noqa: E402
    DualPathSchedule,
    MotionDirector,
    appearance_debiased_mse,
    motiondirector_loss,
)
from motionbench_baselines.two_stage_lora import TwoStageLoRA  # noqa: E402

torch.set_num_threads(1)


def moving_square(num_frames: int = 17, size: int = 64, step: int = 2) -> np.ndarray:
    """A bright square moving right on a dark gradient: known motion, cheap to encode."""
    frames = np.zeros((num_frames, size, size, 3), dtype=np.uint8)
    frames[..., 2] = np.linspace(20, 80, size, dtype=np.uint8)[None, None, :]
    for t in range(num_frames):
        x = 2 + t * step
        frames[t, 20:36, x:x + 16] = (230, 200, 40)
    return frames


@pytest.fixture(scope="module")
def reference() -> Reference:
    clip = Clip(moving_square(), fps=8.0)
    return Reference("square", "single_object", clip, ("a red car drives",), key=Reference.content_key(clip))


def tiny(cls, *overrides: str):
    return cls(build_config(cls, ["preset=tiny", *overrides]))


# -- MotionDirector: the appearance-debiased loss ----------------------------------------------------

def test_debiased_loss_ignores_appearance_shared_by_all_frames():
    g = torch.Generator().manual_seed(0)
    pred, target = torch.randn(2, 4, 5, 6, 6, generator=g), torch.randn(2, 4, 5, 6, 6, generator=g)
    # An appearance offset: differs over channels and space, the same in every frame.
    look_pred, look_target = torch.randn(2, 4, 1, 6, 6, generator=g), torch.randn(2, 4, 1, 6, 6, generator=g)
    for anchor in (0, 3):
        base = appearance_debiased_mse(pred, target, anchor)
        same = appearance_debiased_mse(pred + look_pred, target + look_pred, anchor)
        different = appearance_debiased_mse(pred + 3 * look_pred, target + look_target, anchor)
        torch.testing.assert_close(same, base, rtol=1e-5, atol=1e-6)
        torch.testing.assert_close(different, base, rtol=1e-5, atol=1e-6)
    plain = torch.nn.functional.mse_loss(pred, target)
    plain_shifted = torch.nn.functional.mse_loss(pred + 3 * look_pred, target + look_target)
    assert abs(float(plain_shifted - plain)) > 0.5  # plain MSE does see appearance
    assert abs(float(appearance_debiased_mse(pred, target, 0) - plain)) > 0.1  # and is a different loss
    # It does see motion: changing one frame relative to the others changes it.
    moved = pred.clone()
    moved[:, :, 2] += 1.0
    assert float(appearance_debiased_mse(moved, target, 0)) > float(appearance_debiased_mse(pred, target, 0)) + 0.1
    # One frame has no motion at all.
    assert float(appearance_debiased_mse(pred[:, :, :1], target[:, :, :1], 0)) == 0.0


def test_motiondirector_loss_is_plain_mse_on_spatial_batches_and_adds_debiasing_on_clips():
    from motionbench_baselines.motiondirector import _batch_type

    batch_type = _batch_type()
    g = torch.Generator().manual_seed(1)
    pred, target = torch.randn(1, 4, 3, 4, 4, generator=g), torch.randn(1, 4, 3, 4, 4, generator=g)
    w = torch.ones(1)
    loss = motiondirector_loss(mse_weight=1.0, debias_weight=1.0)
    plain = torch.nn.functional.mse_loss(pred, target)
    spatial = batch_type(latents=pred, prompt_embeds=None, path="spatial")
    temporal = batch_type(latents=pred, prompt_embeds=None, path="temporal", anchor=1)
    torch.testing.assert_close(loss(pred, target, spatial, w), plain)
    torch.testing.assert_close(loss(pred, target, temporal, w), plain + appearance_debiased_mse(pred, target, 1))


def test_dual_path_updates_each_adapter_only_on_its_own_path():
    from motionbench.backbones import load_backbone, train
    from motionbench.backbones.lora import add_head_lora

    b = load_backbone("tiny", seed=0)
    frames = moving_square(9, 32)
    frame_latents, clip_latents = b.encode_frames(frames), b.encode_video(frames)
    embeds = b.encode_prompts(["a square"])
    heads = [list(range(b.num_heads))] * b.num_blocks
    with several_adapters():
        spatial = add_head_lora(b.transformer, "spatial", heads, rank=2, alpha=2, init_seed=0)
        temporal = add_head_lora(b.transformer, "temporal", heads, rank=2, alpha=2, init_seed=1)
    spatial.set_trainable(True)
    temporal.set_trainable(True)
    schedule = DualPathSchedule(b.transformer, spatial, temporal, frame_latents, clip_latents, embeds)

    def snapshot(lora):
        return torch.cat([p.detach().flatten().clone() for p in lora.parameters()])

    changed: list[tuple[bool, bool]] = []
    last = [snapshot(spatial), snapshot(temporal)]

    def after(step: int) -> None:
        schedule.after_step(step)
        now = [snapshot(spatial), snapshot(temporal)]
        changed.append((not torch.equal(now[0], last[0]), not torch.equal(now[1], last[1])))
        last[:] = now

    train(b, spatial.parameters() + temporal.parameters(), schedule, steps=4, lr=1e-2, weight_decay=1e-2,
          loss_fn=motiondirector_loss(), seed=0, after_step=after)
    assert [p for p, _, _ in schedule.log] == ["spatial", "temporal"] * 2
    assert [f for _, f, _ in schedule.log] == [1, clip_latents.shape[2]] * 2  # single frames vs the clip
    assert changed == [(True, False), (False, True)] * 2


# -- DiTFlow: Attention Motion Flow -------------------------------------------------------------------

def shifted_features(dx: int, dy: int, size: int = 8, heads: int = 2, dim: int = 16, seed: int = 0) -> torch.Tensor:
    """Two frames of random per-position features, the second one the first translated by (dx, dy)."""
    g = torch.Generator().manual_seed(seed)
    field = torch.randn(size + 4, size + 4, heads, dim, generator=g) * 4.0
    oy = ox = 2
    first = field[oy:oy + size, ox:ox + size]
    second = field[oy - dy:oy - dy + size, ox - dx:ox - dx + size]  # second[y, x] = first[y - dy, x - dx]
    return torch.stack([first, second]).reshape(1, 2 * size * size, heads, dim)


@pytest.mark.parametrize("dx,dy", [(2, 1), (-1, 2), (0, -2)])
def test_amf_of_translated_features_points_along_the_shift(dx, dy):
    size = 8
    feats = shifted_features(dx, dy, size)
    pairs = frame_pairs(2, "all")
    assert pairs == [(0, 0), (0, 1), (1, 0), (1, 1)]
    hard = attention_motion_flow(feats, feats, (2, size, size), pairs, hard=True)
    soft = attention_motion_flow(feats, feats, (2, size, size), pairs, temperature=2.0)
    ys, xs = torch.meshgrid(torch.arange(size), torch.arange(size), indexing="ij")
    # Tokens of frame 0 whose content is still inside frame 1, and vice versa.
    forward_ok = ((xs + dx >= 0) & (xs + dx < size) & (ys + dy >= 0) & (ys + dy < size)).flatten()
    backward_ok = ((xs - dx >= 0) & (xs - dx < size) & (ys - dy >= 0) & (ys - dy < size)).flatten()
    shift = torch.tensor([dx, dy], dtype=torch.float32)
    assert torch.equal(hard[1][forward_ok], shift.expand(int(forward_ok.sum()), 2))
    assert torch.equal(hard[2][backward_ok], (-shift).expand(int(backward_ok.sum()), 2))
    torch.testing.assert_close(soft[1][forward_ok], shift.expand(int(forward_ok.sum()), 2), atol=0.05, rtol=0)
    assert hard[0].abs().max() == 0 and hard[3].abs().max() == 0  # a frame against itself does not move


def test_amf_adjacent_pairs_and_loss_masking():
    feats = shifted_features(1, 0, seed=3)
    adjacent = attention_motion_flow(feats, feats, (2, 8, 8), frame_pairs(2, "adjacent"), hard=True)
    full = attention_motion_flow(feats, feats, (2, 8, 8), frame_pairs(2, "all"), hard=True)
    assert torch.equal(adjacent[0], full[1])
    reference = torch.zeros(1, 4, 2)
    reference[0, 0] = torch.tensor([1.0, 0.0])
    flow = torch.zeros(1, 4, 2)
    flow[0, 1:] = 5.0  # wrong only where the reference is static
    assert float(amf_loss(flow, reference, ignore_static=True)) == pytest.approx(0.5)  # (1^2 + 0^2) / 2
    assert float(amf_loss(flow, reference, ignore_static=False)) > 10


def test_ditflow_guidance_step_lowers_the_amf_loss(reference):
    from motionbench.backbones import initial_noise

    method = tiny(DiTFlow, "optimization_steps=4")
    state = method.fit(reference, Path("."))
    assert state.flow.shape == (len(frame_pairs(state.grid[0], "all")), state.grid[1] * state.grid[2], 2)
    assert state.info["moving_fraction"] > 0  # the reference's AMF is not all zero
    guidance = method.guidance(state, "a red car drives")
    b = method.backbone()
    x = initial_noise(b.latent_shape(state.frames, state.height, state.width), seed=5)
    t = torch.tensor(950.0)
    before = guidance.loss(x, t)
    x_new = guidance.optimise(x, t, lr=0.05)
    after = guidance.loss(x_new, t)
    assert not torch.equal(x_new, x)
    assert after < 0.95 * before, (before, after, guidance.losses)
    trace = guidance.losses[-1]  # the loss before each Adam step
    assert trace[0] == pytest.approx(before, rel=1e-4)
    assert all(b < a for a, b in zip(trace, trace[1:])), trace


def test_ditflow_guidance_works_with_gradient_checkpointing(reference):
    """CUDA runs checkpoint the blocks: the backward pass re-runs the probed block and must agree."""
    from motionbench.backbones import initial_noise

    results = []
    for checkpointing in ("off", "on"):
        method = tiny(DiTFlow, f"gradient_checkpointing={checkpointing}")
        state = method.fit(reference, Path("."))
        guidance = method.guidance(state, "a red car drives")
        x = initial_noise(method.backbone().latent_shape(state.frames, state.height, state.width), seed=2)
        results.append(guidance.optimise(x, torch.tensor(900.0), lr=0.05))
    assert method.backbone().transformer.gradient_checkpointing
    torch.testing.assert_close(results[1], results[0], rtol=1e-4, atol=1e-5)


def test_ditflow_guidance_changes_the_video(reference):
    guided = tiny(DiTFlow)
    plain = tiny(DiTFlow, "guidance_steps=0")
    assert guided.state_key() == plain.state_key()  # guidance options never invalidate the fitted AMF
    state = guided.fit(reference, Path("."))
    request = GenerationRequest("a red car drives", seed=1, num_frames=17, size=(64, 64), fps=8.0)
    assert not np.array_equal(guided.generate(state, reference, request), plain.generate(state, reference, request))


def test_ditflow_matches_frames_by_time_for_shorter_and_longer_videos(reference):
    method = tiny(DiTFlow, "frame_pairs=adjacent")
    state = method.fit(reference, Path("."))  # 17 frames: 5 latent frames, pairs (0,1)..(3,4)
    short = method.guidance(state, "a cat", num_frames=9)  # 3 latent frames
    long = method.guidance(state, "a cat", num_frames=25)  # 7 latent frames
    assert short.pairs == [(0, 1), (1, 2)] and torch.equal(short.reference.cpu(), state.flow[:2])
    assert long.pairs == state.pairs and long.grid == (7, *state.grid[1:])
    b = method.backbone()
    for guide, frames in ((short, 9), (long, 25)):
        x = torch.randn(b.latent_shape(frames, state.height, state.width), generator=torch.Generator().manual_seed(0))
        assert np.isfinite(guide.loss(x, torch.tensor(900.0)))
    request = GenerationRequest("a cat", seed=0, num_frames=22, size=(40, 24), fps=8.0)
    assert method.generate(state, reference, request).shape == (22, 24, 40, 3)


def test_ditflow_rejects_a_block_the_model_lacks(reference):
    with pytest.raises(ConfigError, match="block=7 but the model has 2 blocks"):
        tiny(DiTFlow, "block=7").fit(reference, Path("."))


# -- two-stage LoRA ---------------------------------------------------------------------------------

def test_two_stage_lora_touches_every_head(reference):
    method = tiny(TwoStageLoRA)
    state = method.fit(reference, Path("."))
    b = method.backbone()
    d = b.head_dim
    assert set(state.adapters) == {"spatial", "temporal"}
    for name, adapter in state.adapters.items():
        for block in range(b.num_blocks):
            for proj in ("to_q", "to_k", "to_v"):
                prefix = f"blocks.{block}.attn1.{proj}"
                a = adapter.tensors[f"{prefix}.lora_A.weight"]
                bw = adapter.tensors[f"{prefix}.lora_B.weight"]
                delta = bw @ a  # lora_B starts at zero: any non-zero row was trained
                per_head = delta.reshape(b.num_heads, d, -1).flatten(1).norm(dim=1)
                assert bool((per_head > 0).all()), (name, prefix, per_head)
    stages = state.info["stages"]
    assert stages["spatial"]["steps"] == 4 and stages["temporal"]["steps"] == 4


# -- the LoRA baselines sample with the adapters their method uses ---------------------------------

@pytest.mark.parametrize("cls,active", [(TwoStageLoRA, {"spatial", "temporal"}), (MotionDirector, {"temporal"})],
                         ids=["two-stage-lora", "motiondirector"])
def test_sampling_uses_the_methods_adapters(cls, active, reference):
    method = tiny(cls)
    state = method.fit(reference, Path("."))
    method.generate(state, reference, GenerationRequest("a red car drives", seed=0, num_frames=5, size=(32, 32),
                                                        fps=8.0))
    assert set(method.backbone().transformer.active_adapters()) == active  # MotionDirector: temporal path only


def test_two_stage_lora_is_fym_with_every_component_off(reference):
    """The baseline reproduces FYM's "all components off" row exactly (same weights, same video)."""
    fym = pytest.importorskip("motionbench_fym.adapter")
    shared = ["model=tiny", "train_frames=17", "pixels=1024", "rank=4", "lora_alpha=4.0", "lr=3e-3",
              "spatial_steps=3", "temporal_steps=3", "sample_steps=3", "guidance=3.0"]
    baseline = TwoStageLoRA(build_config(TwoStageLoRA, shared))
    all_off = fym.FollowYourMotion(build_config(fym.FollowYourMotion, shared + [
        "decoupled=false", "sparse=false", "adaptive_rope=false", "motion_loss=false"]))
    ours, theirs = baseline.fit(reference, Path(".")), all_off.fit(reference, Path("."))
    for name in ("spatial", "temporal"):
        mine, other = ours.adapters[name].tensors, theirs.adapters[name].tensors
        assert set(mine) == set(other)
        assert all(torch.equal(mine[k], other[k]) for k in mine), name
    request = GenerationRequest("a cat", seed=0, num_frames=17, size=(32, 32), fps=8.0)
    assert np.array_equal(baseline.generate(ours, reference, request), all_off.generate(theirs, reference, request))
