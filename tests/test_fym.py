"""Follow-Your-Motion on the tiny random Wan (CPU): heads, decoupled LoRA, sparse/RoPE, motion loss, adapter.

The contract every method keeps (presets, options, state key, fit -> save -> load -> generate) is
checked once for all methods in ``test_method_contract.py``; this file checks what is FYM's own.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

import numpy as np
import pytest
import torch

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from motionbench.backbones import (  # noqa: E402
    add_noise,
    flow_matching_mse,
    load_backbone,
    predict_velocity,
    vae_frame_count,
    velocity_target,
)
from motionbench.backbones.lora import lora_state  # noqa: E402
from motionbench.bench.manifest import load_manifest  # noqa: E402
from motionbench.errors import ConfigError  # noqa: E402
from motionbench.methods.base import GenerationRequest, Reference  # noqa: E402
from motionbench.methods.config import build_config  # noqa: E402
from motionbench.video import Clip  # noqa: E402

import motionbench_fym.heads as heads_mod  # noqa: E402
from motionbench_fym.adapter import FollowYourMotion  # noqa: E402
from motionbench_fym.heads import HeadScores, classify_heads, position_major_index, template_scores  # noqa: E402
from motionbench_fym.losses import motion_cosine_loss  # noqa: E402
from motionbench_fym.rope import sparse_positions  # noqa: E402
from motionbench_fym.sparse import sparse_indices  # noqa: E402
from motionbench_fym.stages import StageSettings, TemporalOptions, spatial_stage, temporal_stage  # noqa: E402

torch.set_num_threads(1)
MANIFEST = Path(__file__).resolve().parents[1] / "data" / "manifest.yaml"


def moving_square(num_frames: int = 17, size: int = 32, step: int = 1) -> np.ndarray:
    frames = np.zeros((num_frames, size, size, 3), dtype=np.uint8)
    frames[..., 2] = np.linspace(20, 80, size, dtype=np.uint8)[None, None, :]
    for t in range(num_frames):
        x = 1 + t * step
        frames[t, 8:18, x:x + 10] = (230, 200, 40)
    return frames


@pytest.fixture()
def tiny():
    return load_backbone("tiny", seed=0)


def settings(steps: int, lr: float = 1e-2) -> StageSettings:
    return StageSettings(steps=steps, lr=lr, weight_decay=0.1, rank=4, alpha=4.0, shift=3.0, seed=0)


SPLIT = ([[0, 1], [2]], [[2, 3], [0, 1, 3]])  # (spatial heads, temporal heads) per block of the tiny model


# -- head classification ------------------------------------------------------------------------

def released_templates(num_frame: int, frame_size: int, block: int = 128) -> tuple[torch.Tensor, torch.Tensor]:
    """A transcription of the released code's template construction (``get_attention_mask``, in
    ``examples/wanvideo/Collect_attn_map.py``): 128-token blocks within ``frame_size // 128`` blocks
    of each other; the temporal one is the same mask with tokens re-ordered (reshape + permute)."""
    s = num_frame * frame_size
    spatial = torch.zeros(s, s)
    blocks = math.ceil(s / block)
    for i in range(blocks):
        for j in range(blocks):
            if abs(i - j) < frame_size // block:
                spatial[i * block:(i + 1) * block, j * block:(j + 1) * block] = 1
    temporal = spatial.reshape(frame_size, num_frame, frame_size, num_frame).permute(1, 0, 3, 2).reshape(s, s)
    return spatial, temporal


def routed_heads(frames: int, per_frame: int, fractions: list[float]) -> tuple[torch.Tensor, torch.Tensor]:
    """q/k ``[1, S, H, D]`` of heads whose queries attend either to their own frame or to their own
    position in every frame: head ``h`` sends the queries at the first ``fractions[h]`` of each
    frame's positions to their frame (1.0: a spatial head, 0.0: a temporal one, between: mixed)."""
    s = frames * per_frame
    token = torch.arange(s)
    frame, position = token // per_frame, token % per_frame
    key = torch.cat([torch.nn.functional.one_hot(frame, frames), torch.nn.functional.one_hot(position, per_frame)],
                    dim=-1).float()
    strength = 25.0 * key.shape[-1] ** 0.5  # logits of 25 after the 1/sqrt(d) scale: a hard choice
    queries = []
    for fraction in fractions:
        to_frame = position < round(fraction * per_frame)
        q = torch.zeros_like(key)
        q[to_frame, :frames] = key[to_frame, :frames]
        q[~to_frame, frames:] = key[~to_frame, frames:]
        queries.append(q * strength)
    heads = len(fractions)
    return torch.stack(queries, dim=1)[None], key[None, :, None].expand(1, s, heads, key.shape[-1])


def test_head_templates_and_split_follow_the_released_code(monkeypatch):
    """Scores are sum(A * M) with the released code's masks, and the split is its rule (alpha 1.3)."""
    frames, per_frame = 4, 256  # 16x16 tokens a frame: two 128-token blocks
    spatial_mask, temporal_mask = released_templates(frames, per_frame)
    q, k = routed_heads(frames, per_frame, [1.0, 0.0, 0.45])
    g = torch.Generator().manual_seed(0)
    q = torch.cat([q, torch.randn(1, q.shape[1], 1, q.shape[-1], generator=g) * 3], dim=2)  # + a random head
    k = torch.cat([k, torch.randn(1, k.shape[1], 1, k.shape[-1], generator=g) * 3], dim=2)
    monkeypatch.setattr(heads_mod, "CHUNK_ELEMENTS", 4 * 1024 * 100)  # several query chunks
    w_s, w_t = template_scores(q, k, frames, per_frame)
    attn = torch.softmax(q[0].transpose(0, 1) @ k[0].transpose(0, 1).transpose(-1, -2) / q.shape[-1] ** 0.5, dim=-1)
    s = frames * per_frame
    torch.testing.assert_close(w_s, (attn * spatial_mask).sum(dim=(1, 2)) / s, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(w_t, (attn * temporal_mask).sum(dim=(1, 2)) / s, rtol=1e-5, atol=1e-6)
    released_split = [not bool(wt < ws * 1.3) for ws, wt in zip(w_s, w_t)]  # the code: w_t < 1.3 w_s -> spatial
    scores = HeadScores(spatial=[w_s.tolist()], temporal=[w_t.tolist()], alpha=1.3, sigma=1.0, timestep=1000.0,
                        latent_frames=frames, tokens_per_frame=per_frame, block=128)
    assert scores.is_temporal() == [released_split]
    assert released_split[:3] == [False, True, False]  # the mixed head is spatial under the released band...
    pi = position_major_index(frames, per_frame)
    idx = torch.arange(s)
    half = per_frame // 2  # ...and would be temporal under a band of half a frame's tokens
    old_s = (attn[2] * ((idx[:, None] - idx[None]).abs() <= half)).sum()
    old_t = (attn[2] * ((pi[:, None] - pi[None]).abs() <= half)).sum()
    assert old_t >= 1.3 * old_s


def test_frames_of_fewer_tokens_than_a_block_get_a_one_frame_band():
    """The tiny model has 4-16 tokens a frame: the block is cut to one frame (not an empty band)."""
    frames, per_frame = 3, 16
    q, k = routed_heads(frames, per_frame, [1.0, 0.0])
    w_s, w_t = template_scores(q, k, frames, per_frame)
    # (a frame's positions can straddle two blocks of the position-major order, as in the released code)
    assert w_s[0] > 0.99 and w_t[1] > 0.9 and w_s[1] < 0.34 and w_t[0] < 0.34


def test_classify_heads_on_model_saves_and_reloads(tiny, tmp_path):
    z = tiny.encode_video(moving_square(9))
    e = tiny.encode_prompts(["a square"])
    scores = classify_heads(tiny, z, e, alpha=1.25, seed=0)
    assert len(scores.spatial) == tiny.num_blocks and len(scores.spatial[0]) == tiny.num_heads
    assert scores.sigma == pytest.approx(0.9998, abs=1e-4)
    assert scores.block == scores.tokens_per_frame == 4  # 32x32 pixels: 2x2 tokens, fewer than 128
    assert all(0 < w <= 1 for block in scores.spatial + scores.temporal for w in block)
    assert scores.counts(alpha=1e-6) == (0, 8) and scores.counts(alpha=1e6) == (8, 0)
    scores.save(tmp_path / "heads.json")
    again = HeadScores.load(tmp_path / "heads.json")
    assert again == scores and again.temporal_heads(1.0) == scores.temporal_heads(1.0)
    assert classify_heads(tiny, z, e, alpha=1.25, seed=0) == scores  # deterministic per seed


# -- decoupled LoRA -----------------------------------------------------------------------------

def delta_rows(transformer, name):
    """{(block, proj): per-head delta} of adapter ``name``."""
    out = {}
    d = transformer.config.attention_head_dim
    for b, block in enumerate(transformer.blocks):
        for proj in ("to_q", "to_k", "to_v"):
            layer = getattr(block.attn1, proj)
            if name not in getattr(layer, "lora_A", {}):
                continue
            delta = (layer.lora_B[name].weight @ layer.lora_A[name].weight) * layer.scaling[name]
            out[(b, proj)] = delta.view(-1, d, delta.shape[-1])
    return out


def test_non_owned_rows_get_exactly_zero_update(tiny):
    clip = moving_square(9)
    e = tiny.encode_prompts(["a square"])
    sp = spatial_stage(tiny, tiny.encode_frames(clip), e, SPLIT[0], settings(8))
    before = {k: v.clone() for k, v in lora_state(tiny.transformer, sp.lora).items()}
    tp = temporal_stage(tiny, clip, tiny.encode_video(clip), e, SPLIT[1], settings(8),
                        TemporalOptions(sparse=True, sparse_frames=5))
    for result, owned in ((sp, SPLIT[0]), (tp, SPLIT[1])):
        deltas = delta_rows(tiny.transformer, result.name)
        assert sorted({b for b, _ in deltas}) == [b for b, h in enumerate(owned) if h]
        for (b, _), delta in deltas.items():
            for h in range(tiny.num_heads):
                if h in owned[b]:
                    assert delta[h].abs().max() > 0
                else:
                    assert torch.count_nonzero(delta[h]) == 0
    after = lora_state(tiny.transformer, sp.lora)
    assert all(torch.equal(before[k], after[k]) for k in before)  # spatial LoRA frozen in stage 3


def eval_loss(backbone, latents, embeds, positions=None, seed=5, motion=False) -> float:
    """The stage objective at fixed noise levels and noise (low variance, unlike the training losses)."""
    g = torch.Generator().manual_seed(seed)
    total = []
    with torch.no_grad():
        for sig in (0.35, 0.65, 0.9):
            noise = torch.randn(latents.shape, generator=g)
            s = torch.tensor([sig])
            pred = predict_velocity(backbone, add_noise(latents, noise, s), s, embeds, positions)
            target = velocity_target(latents, noise)
            loss = flow_matching_mse(pred, target, None, torch.ones(1))
            total.append(float(loss + motion_cosine_loss(pred, target)) if motion else float(loss))
    return float(np.mean(total))


def test_each_stage_lowers_its_loss(tiny):
    clip = moving_square(17)
    e = tiny.encode_prompts(["a square"])
    frame_latents = tiny.encode_frames(clip)
    sp0 = np.mean([eval_loss(tiny, frame_latents[i:i + 1], e) for i in (0, 8, 16)])
    spatial_stage(tiny, frame_latents, e, SPLIT[0], settings(30))
    sp1 = np.mean([eval_loss(tiny, frame_latents[i:i + 1], e) for i in (0, 8, 16)])
    assert sp1 < 0.9 * sp0, (sp0, sp1)

    clip_latents = tiny.encode_video(clip)
    idx = sparse_indices(17, 9)
    sparse = tiny.encode_video(clip[idx])
    pos = sparse_positions(idx)
    t0 = eval_loss(tiny, sparse, e, pos, motion=True)
    tp = temporal_stage(tiny, clip, clip_latents, e, SPLIT[1], settings(40, lr=2e-2),
                        TemporalOptions(sparse=True, sparse_frames=9, adaptive_rope=True, motion_loss=True))
    t1 = eval_loss(tiny, sparse, e, pos, motion=True)
    assert t1 < 0.95 * t0, (t0, t1)
    assert np.mean(tp.stats.losses[-10:]) < np.mean(tp.stats.losses[:10])


def test_temporal_stage_trains_on_mse_plus_the_weighted_motion_term(tiny):
    """With ``motion_loss`` the temporal stage's objective is MSE + motion_weight * motion term. Its first
    step sees the same noise and (LoRA B = 0) the same prediction whatever the options, so the first
    losses differ by exactly the motion term times the weight: 0 without it, linear in the weight."""
    clip = moving_square(9)
    e = tiny.encode_prompts(["a square"])
    latents = tiny.encode_video(clip)

    def first_loss(name: str, **options) -> float:
        result = temporal_stage(tiny, clip, latents, e, SPLIT[1], settings(1), TemporalOptions(sparse=False, **options),
                                frozen=(), name=name)
        return result.stats.losses[0]

    plain = first_loss("t0", motion_loss=False)
    once = first_loss("t1", motion_loss=True, motion_weight=1.0)
    twice = first_loss("t2", motion_loss=True, motion_weight=2.0)
    assert once - plain > 1e-3  # the motion term is positive on an untrained prediction
    assert twice - plain == pytest.approx(2 * (once - plain), rel=1e-4)
    assert first_loss("t3", motion_loss=True, motion_weight=0.0) == pytest.approx(plain, rel=1e-6)


# -- sparse sampling and adaptive RoPE ----------------------------------------------------------

def test_sparse_frames_keep_the_positions_of_the_dense_latents_they_stand_for():
    # 81 -> 17 uniformly: pixel frames 0, 5, ..., 80; the sparse latents are closed by frames 0, 20, 40, 60, 80,
    # which close dense latents 0, 5, 10, 15, 20 (the paper's F/F_s = 21/5 would give 0, 4.2, ..., 16.8)
    assert sparse_positions(sparse_indices(81, 17)).tolist() == [0.0, 5.0, 10.0, 15.0, 20.0]
    # the code preset's 45 -> 17: frames 0, 3, 6, 8, 11, ... 44; closing frames 0, 11, 22, 33, 44 of 12 latents
    assert sparse_indices(45, 17)[::4] == [0, 11, 22, 33, 44]
    assert sparse_positions(sparse_indices(45, 17)).tolist() == [0.0, 2.75, 5.5, 8.25, 11.0]
    # a random pattern: each latent sits where the frame that closes it sits in the clip
    drawn = [2, 3, 7, 8, 13, 14, 15, 19, 30]  # latents closed by frames 2, 13, 30
    assert sparse_positions(drawn).tolist() == [0.5, 3.25, 7.5]
    # the dense clip keeps its integer positions
    assert sparse_positions(range(17)).tolist() == [0.0, 1.0, 2.0, 3.0, 4.0]
    with pytest.raises(ValueError, match="4k\\+1"):
        sparse_positions([0, 1, 2])
    with pytest.raises(ValueError, match="sorted"):
        sparse_positions([0, 2, 1, 3, 4])


def test_sparse_indices():
    assert sparse_indices(81, 17) == list(range(0, 81, 5))
    assert sparse_indices(17, 9) == list(range(0, 17, 2))
    assert sparse_indices(17, 8) == [0, 4, 8, 12, 16]  # 8 -> 5 (4k+1)
    g = torch.Generator().manual_seed(0)
    draws = [sparse_indices(33, 9, "random", g) for _ in range(5)]
    assert all(len(d) == 9 == len(set(d)) and d == sorted(d) for d in draws)
    assert len({tuple(d) for d in draws}) > 1


def record_rope_inputs(transformer):
    seen = []
    handle = transformer.rope.register_forward_pre_hook(
        lambda mod, args: seen.append((args[0].shape[2], None if mod.positions is None else mod.positions.tolist())))
    return seen, handle


@pytest.mark.parametrize("sparse,adaptive,pattern", [(True, True, "uniform"), (True, True, "random"),
                                                     (True, False, "uniform"), (False, True, "uniform")])
def test_temporal_stage_feeds_sparse_frames_at_their_clip_positions(tiny, sparse, adaptive, pattern):
    clip = moving_square(17)  # 5 latent frames
    e = tiny.encode_prompts(["a square"])
    seen, handle = record_rope_inputs(tiny.transformer)
    try:
        result = temporal_stage(tiny, clip, tiny.encode_video(clip), e, SPLIT[1], settings(3),
                                TemporalOptions(sparse=sparse, sparse_frames=5, sparse_pattern=pattern,
                                                adaptive_rope=adaptive))
    finally:
        handle.remove()
    assert len(seen) == len(result.frames_per_step) == 3  # one forward pass per step
    if not sparse:
        assert {n for n, _ in seen} == {5} and all(p is None for _, p in seen)
        return
    assert {n for n, _ in seen} == {2} and result.latent_frames_per_step == [2, 2, 2]  # 5 pixel frames -> 2 latents
    for (_, positions), frames in zip(seen, result.frames_per_step):
        assert positions == ([frames[0] / 4, frames[4] / 4] if adaptive else None)
    if pattern == "uniform" and adaptive:
        assert seen[0][1] == [0.0, 4.0]  # frames 0, 4, 8, 12, 16: the sparse clip spans the dense latents 0..4


def test_motion_loss_compares_frame_differences_along_time():
    """FYM's released form: cosine over time (dim 2) per channel and position, then the mean."""
    # [B=1, C=2, T=3, h=1, w=1]; per channel the |differences| over time are
    #   channel 0: pred |0->1|, |1->3| = (1, 2); target (0, 2, 2) -> (2, 0): cos = 2 / (sqrt(5) * 2) = 1/sqrt(5)
    #   channel 1: pred (0, 0, 4) -> (0, 4); target (1, 2, 4) -> (1, 2): cos = 8 / (4 * sqrt(5)) = 2/sqrt(5)
    pred = torch.tensor([[0.0, 1.0, 3.0], [0.0, 0.0, 4.0]]).reshape(1, 2, 3, 1, 1)
    target = torch.tensor([[0.0, 2.0, 2.0], [1.0, 2.0, 4.0]]).reshape(1, 2, 3, 1, 1)
    expected = 1 - (1 / math.sqrt(5) + 2 / math.sqrt(5)) / 2  # 0.3292 (per-frame-pair cosines would give 0.106)
    assert float(motion_cosine_loss(pred, target)) == pytest.approx(expected, abs=1e-6)

    g = torch.Generator().manual_seed(0)
    target = torch.randn(1, 4, 4, 3, 3, generator=g)
    assert float(motion_cosine_loss(target + 0.7, target)) == pytest.approx(0.0, abs=1e-6)  # same differences
    assert float(motion_cosine_loss(target[:, :, :1], target[:, :, :1])) == 0.0  # one frame: no motion
    # Two frames are the shortest clip with motion: a still prediction of a moving target is as far as it gets.
    two = torch.tensor([0.0, 1.0]).reshape(1, 1, 2, 1, 1)
    assert float(motion_cosine_loss(torch.zeros_like(two), two)) == pytest.approx(1.0)
    static = target[:, :, :1].expand_as(target) + 0.01 * torch.randn(target.shape, generator=g)
    pred = static.clone().requires_grad_(True)
    loss = motion_cosine_loss(pred, target)
    assert float(loss.detach()) > 0.05
    loss.backward()
    assert pred.grad.abs().sum() > 0


# -- adapter ------------------------------------------------------------------------------------

def make_reference(num_frames: int = 20) -> Reference:
    clip = Clip(moving_square(num_frames, size=48)[:, :40], fps=8.0)
    return Reference("square", "single_object", clip, ("a red ball",), key=Reference.content_key(clip))


def test_presets_and_ablation_switches():
    paper = build_config(FollowYourMotion, ["preset=paper"])
    assert (paper.rank, paper.spatial_steps, paper.temporal_steps, paper.alpha_threshold) == (128, 3000, 2000, 1.25)
    code = build_config(FollowYourMotion, ["preset=code"])
    assert (code.rank, code.lora_alpha, code.lr, code.spatial_steps, code.temporal_steps) == (16, 16.0, 1e-4, 1500, 1500)
    assert (code.spatial_weight_decay, code.temporal_weight_decay, code.alpha_threshold) == (0.1, 0.5, 1.3)
    assert (code.train_frames, code.pixels, code.classify_block) == (45, 544 * 544, 128)
    ablated = build_config(FollowYourMotion, ["preset=paper", "sparse=false", "decoupled=off"])
    assert (ablated.sparse, ablated.decoupled, ablated.adaptive_rope, ablated.motion_loss) == (False, False, True, True)
    with pytest.raises(ConfigError, match="sparse_pattern"):
        build_config(FollowYourMotion, ["sparse_pattern=zigzag"])
    with pytest.raises(ConfigError, match="pixels=0 must be > 0"):
        build_config(FollowYourMotion, ["pixels=0"])


def test_inference_defaults_are_the_released_ones():
    """FYM samples as its released inference does, with Wan's standard negative prompt (not "")."""
    from diffusers.pipelines.wan import pipeline_wan

    for preset in ("paper", "code"):
        cfg = build_config(FollowYourMotion, [f"preset={preset}"])
        assert (cfg.sample_steps, cfg.guidance, cfg.sample_shift, cfg.sampler) == (35, 7.0, 5.0, "unipc")
        assert cfg.negative_prompt.startswith("Bright tones, overexposed, static, blurred details")
        assert f'negative_prompt = "{cfg.negative_prompt}"' in pipeline_wan.EXAMPLE_DOC_STRING  # diffusers' own text


def test_default_benchmark_exercises_every_fym_switch():
    """On the benchmark's clips, 'w/o sparse sampling' and 'w/o adaptive RoPE' change what trains."""
    manifest = load_manifest(MANIFEST)
    for preset in ("paper", "code"):
        cfg = build_config(FollowYourMotion, [f"preset={preset}"])
        for sample in manifest.samples:
            frames = vae_frame_count(min(cfg.train_frames, sample.frames.count))
            idx = sparse_indices(frames, cfg.sparse_frames)
            assert len(idx) < frames, (preset, sample.id)  # sparse trains on fewer frames than dense
            dense_positions = list(range(len(sparse_positions(idx))))
            assert sparse_positions(idx).tolist() != dense_positions, (preset, sample.id)  # adaptive RoPE moves them


def test_head_scores_are_reused_from_the_cache(tmp_path, monkeypatch):
    import motionbench_fym.heads

    reference = make_reference()
    first = FollowYourMotion(build_config(FollowYourMotion, ["preset=tiny", f"heads_cache={tmp_path / 'h'}"]))
    first.fit(reference, tmp_path / "w1")
    assert len(list((tmp_path / "h").glob(f"{reference.key}-*.json"))) == 1

    def forbidden(*args, **kwargs):
        raise AssertionError("heads were re-classified instead of reused")

    monkeypatch.setattr(motionbench_fym.heads, "classify_heads", forbidden)
    second = FollowYourMotion(build_config(FollowYourMotion, ["preset=tiny", f"heads_cache={tmp_path / 'h'}",
                                                              "rank=2", "alpha_threshold=1e6"]))
    state = second.fit(reference, tmp_path / "w2")
    assert state.heads.alpha == 1e6 and state.info["heads"]["temporal"] == 0  # rule re-applied to cached scores
    assert "temporal" not in state.adapters


def test_offline_default_model_names_the_download(monkeypatch, tmp_path):
    from motionbench.errors import WeightsError

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    method = FollowYourMotion(build_config(FollowYourMotion, []))
    with pytest.raises(WeightsError, match="huggingface-cli download Wan-AI/Wan2.1-T2V-1.3B-Diffusers"):
        method.fit(make_reference(), tmp_path / "w")


def test_fit_records_both_stages_and_the_state_keeps_the_heads(tmp_path):
    method = FollowYourMotion(build_config(FollowYourMotion, ["preset=tiny"]))
    reference = make_reference()
    state = method.fit(reference, tmp_path / "work")
    info = state.info
    assert info["frames"] == 17 and info["heads"]["spatial"] + info["heads"]["temporal"] == 8
    assert info["heads"]["spatial"] > 0 and info["heads"]["temporal"] > 0  # both stages trained
    assert set(state.adapters) == {"spatial", "temporal"}
    assert info["stages"]["temporal"]["latent_frames"] == 3  # 9 sparse frames of 17 -> 3 latents
    assert info["stages"]["spatial"]["steps"] == info["stages"]["temporal"]["steps"] == 6
    saved = tmp_path / "state"
    saved.mkdir()
    method.save_state(state, saved)
    assert {p.name for p in saved.iterdir()} >= {"heads.json", "state.json", "spatial.safetensors",
                                                 "temporal.safetensors"}
    loaded = FollowYourMotion(build_config(FollowYourMotion, ["preset=tiny"])).load_state(saved)
    assert loaded.heads == state.heads and loaded.info == state.info

    # LoRA scales are generation options: zero scales give the base model, a different video
    request = GenerationRequest(prompt="a red ball", seed=3, num_frames=10, size=(40, 24), fps=8.0)
    video = method.generate(state, reference, request)
    base = FollowYourMotion(build_config(FollowYourMotion, ["preset=tiny", "spatial_scale=0", "temporal_scale=0"]))
    assert not np.array_equal(base.generate(base.load_state(saved), reference, request), video)


def test_temporal_loss_is_mse_plus_the_motion_term_with_weight_one_by_default():
    from motionbench_fym.losses import make_temporal_loss

    g = torch.Generator().manual_seed(0)
    pred, target = torch.randn(2, 3, 4, 2, 2, generator=g), torch.randn(2, 3, 4, 2, 2, generator=g)
    weights = torch.tensor([1.0, 0.5])
    mse = make_temporal_loss(0.0)(pred, target, None, weights)  # the batch is not read by the loss
    motion = motion_cosine_loss(pred, target)
    assert float(motion) > 0.01
    assert float(make_temporal_loss()(pred, target, None, weights)) == pytest.approx(float(mse + motion), abs=1e-6)
    assert float(make_temporal_loss(0.5)(pred, target, None, weights)) == pytest.approx(float(mse + 0.5 * motion),
                                                                                          abs=1e-6)


# -- stage seeds, skipped stages, the subset cache ------------------------------------------------

def initial_lora_a(transformer, name):
    """{(block, proj): lora_A weight} of adapter ``name`` (B starts at zero, so A is the whole start)."""
    return {(b, p): getattr(block.attn1, p).lora_A[name].weight.detach().clone()
            for b, block in enumerate(transformer.blocks) for p in ("to_q", "to_k", "to_v")
            if name in getattr(getattr(block.attn1, p), "lora_A", {})}


def test_the_temporal_lora_starts_from_seed_plus_one_and_the_spatial_from_the_seed(tiny):
    """Zero steps leave each LoRA as it was initialised. On the same heads the temporal LoRA does not
    start as a copy of the spatial one: it is drawn from the stage seed + 1 (the spatial from the seed),
    as an adapter created with that seed on a fresh model is."""
    from motionbench.backbones.lora import add_head_lora

    clip = moving_square(9)
    e = tiny.encode_prompts(["a square"])
    heads = SPLIT[1]
    cfg = StageSettings(steps=0, lr=1e-2, weight_decay=0.0, rank=4, alpha=4.0, seed=3)
    spatial_stage(tiny, tiny.encode_frames(clip), e, heads, cfg)
    temporal_stage(tiny, clip, tiny.encode_video(clip), e, heads, cfg, TemporalOptions(sparse=False))
    spatial, temporal = initial_lora_a(tiny.transformer, "spatial"), initial_lora_a(tiny.transformer, "temporal")
    assert spatial.keys() == temporal.keys() and len(spatial) == 6
    assert all(not torch.equal(spatial[k], temporal[k]) for k in spatial)
    fresh = load_backbone("tiny", seed=0)
    for seed, stage in ((3, spatial), (4, temporal)):
        add_head_lora(fresh.transformer, f"s{seed}", heads, rank=4, alpha=4.0, init_seed=seed)
        made = initial_lora_a(fresh.transformer, f"s{seed}")
        assert all(torch.equal(made[k], stage[k]) for k in stage), seed


def test_the_temporal_stage_draws_its_batches_from_seed_plus_one(tiny):
    """train() hands batch_fn a generator seeded with the stage's training seed before anything else
    draws from it, so the first random subset is the one a generator seeded with seed + 1 draws."""
    clip = moving_square(17)
    e = tiny.encode_prompts(["a square"])
    result = temporal_stage(tiny, clip, tiny.encode_video(clip), e, SPLIT[1], settings(1),
                            TemporalOptions(sparse=True, sparse_frames=5, sparse_pattern="random"), frozen=())
    draw = lambda seed: tuple(sparse_indices(17, 5, "random", torch.Generator().manual_seed(seed),  # noqa: E731
                                             tiny.temporal_factor))
    assert draw(0) != draw(1)  # the two seeds tell apart
    assert result.frames_per_step == [draw(1)]


def test_a_stage_that_owns_no_head_trains_nothing(tiny):
    clip = moving_square(9)
    e = tiny.encode_prompts(["a square"])
    none = [[] for _ in range(tiny.num_blocks)]
    sp = spatial_stage(tiny, tiny.encode_frames(clip), e, none, settings(3))
    assert (sp.lora, sp.stats, sp.heads, sp.latent_frames_per_step) == (None, None, 0, [])
    assert "spatial" not in (getattr(tiny.transformer, "peft_config", None) or {})
    tp = temporal_stage(tiny, clip, tiny.encode_video(clip), e, none, settings(3), TemporalOptions(sparse_frames=5))
    assert (tp.name, tp.lora, tp.stats, tp.heads, tp.latent_frames_per_step, tp.frames_per_step) == (
        "temporal", None, None, 0, [], [])
    assert not (getattr(tiny.transformer, "peft_config", None) or {})  # no adapter was added



def test_a_stages_options_are_keyword_only(tiny):
    """``name``, ``frozen`` and ``encoded`` come after the positional inputs; passed by position they are refused,
    so a call can never train a LoRA under the wrong name or freeze the wrong adapters by argument order."""
    clip = moving_square(9)
    e = tiny.encode_prompts(["a square"])
    none = [[] for _ in range(tiny.num_blocks)]
    with pytest.raises(TypeError, match="positional argument"):
        spatial_stage(tiny, tiny.encode_frames(clip), e, none, settings(1), "renamed")
    with pytest.raises(TypeError, match="positional argument"):
        temporal_stage(tiny, clip, tiny.encode_video(clip), e, none, settings(1), TemporalOptions(), ())

def test_the_cache_of_encoded_subsets_is_emptied_when_it_holds_64(tiny):
    clip = moving_square(17)
    e = tiny.encode_prompts(["a square"])
    latents = tiny.encode_video(clip)
    placeholder = torch.zeros(1)
    encoded = {(-i,): placeholder for i in range(63)}  # 63 subsets that are never drawn
    temporal_stage(tiny, clip, latents, e, SPLIT[1], settings(1), TemporalOptions(sparse_frames=5), frozen=(),
                   name="t5", encoded=encoded)
    five = tuple(sparse_indices(17, 5))
    assert len(encoded) == 64 and five in encoded  # below the bound: kept, and the new subset added
    temporal_stage(tiny, clip, latents, e, SPLIT[1], settings(1), TemporalOptions(sparse_frames=9), frozen=(),
                   name="t9", encoded=encoded)
    assert list(encoded) == [tuple(sparse_indices(17, 9))]  # at 64, emptied before the next subset


# -- head scores: files, geometry checks, the probing timestep --------------------------------------

def test_head_scores_files_that_cannot_be_used_are_refused(tmp_path):
    from motionbench.errors import MotionBenchError
    from motionbench_fym.heads import HEADS_FORMAT

    path = tmp_path / "heads.json"
    with pytest.raises(MotionBenchError, match=r"cannot read head scores .*heads.json: .*; delete it to recompute"):
        HeadScores.load(path)  # missing
    path.write_text("{not json")
    with pytest.raises(MotionBenchError, match=r"cannot read head scores .*heads.json: .*; delete it to recompute"):
        HeadScores.load(path)
    scores = HeadScores(spatial=[[0.5, 0.2]], temporal=[[0.4, 0.6]], alpha=1.25, sigma=0.9, timestep=900.0,
                        latent_frames=2, tokens_per_frame=4, block=4)
    scores.save(path)
    assert HeadScores.load(path) == scores
    path.write_text(path.read_text().replace(HEADS_FORMAT, "fym-head-scores/1"))
    with pytest.raises(MotionBenchError, match=rf"heads.json: format 'fym-head-scores/1', expected '{HEADS_FORMAT}'"):
        HeadScores.load(path)  # an older format: its scores mean something else


def test_template_geometry_is_checked():
    from motionbench_fym.heads import template_block

    assert (template_block(16), template_block(128), template_block(4096)) == (16, 128, 128)
    assert template_block(300, block=64) == 64
    for tokens, block in ((0, 128), (16, 0)):
        with pytest.raises(ValueError, match=rf"need >= 1 token a frame and a block >= 1, got {tokens} and {block}"):
            template_block(tokens, block)
    q, k = routed_heads(3, 16, [1.0])
    for frames in (4, 2):  # fewer tokens than the geometry says, and more
        with pytest.raises(ValueError, match=f"48 tokens do not match {frames} frames x 16 tokens"):
            template_scores(q, k, frames, 16)


def test_attention_is_scored_in_chunks_of_a_bounded_number_of_probabilities(monkeypatch):
    """A chunk holds at most CHUNK_ELEMENTS probabilities (batch x heads x queries x keys; by default
    half a GiB of float32), and chunking does not change the scores."""
    assert heads_mod.CHUNK_ELEMENTS * 4 == 2 ** 29
    frames, per_frame = 3, 16
    q, k = routed_heads(frames, per_frame, [1.0, 0.0])  # batch 1, 2 heads, 48 tokens
    whole = template_scores(q, k, frames, per_frame)
    rows, band_mask = [], heads_mod.band_mask
    monkeypatch.setattr(heads_mod, "band_mask", lambda r, c, t, b: rows.append(len(r)) or band_mask(r, c, t, b))
    monkeypatch.setattr(heads_mod, "CHUNK_ELEMENTS", 1 * 2 * 48 * 10)  # room for 10 queries a chunk
    chunked = template_scores(q, k, frames, per_frame)
    assert rows == [10, 10] * 4 + [8, 8]  # both templates of each chunk: 4 x 10 + 8 = 48 queries
    torch.testing.assert_close(chunked, whole)
    rows.clear()  # a bound below one query's row still makes progress: one query a chunk
    monkeypatch.setattr(heads_mod, "CHUNK_ELEMENTS", 1 * 2 * 48 - 1)
    torch.testing.assert_close(template_scores(q, k, frames, per_frame), whole)
    assert rows == [1, 1] * 48


def test_the_probing_timestep_is_one_of_the_thousand_shifted_steps():
    from motionbench.errors import MotionBenchError
    from motionbench_fym.heads import classification_sigma

    sigma, timestep = classification_sigma()
    assert sigma == pytest.approx(0.9998, abs=1e-4) and timestep == pytest.approx(1000 * sigma)
    assert classification_sigma(0) == (pytest.approx(1.0), pytest.approx(1000.0))  # pure noise
    later, _ = classification_sigma(999)
    assert 0 < later < sigma
    assert classification_sigma(1, shift=1.0)[0] == pytest.approx(0.999, abs=1e-6)  # unshifted: 1 - 1/1000
    for index in (-1, 1000):
        with pytest.raises(MotionBenchError, match=rf"classify_timestep_index must be in \[0, 1000\), got {index}"):
            classification_sigma(index)


def test_the_stage_and_classification_defaults_are_the_paper_presets():
    """Called without options, the stages and the head classifier do what ``preset=paper`` asks for."""
    cfg = build_config(FollowYourMotion, ["preset=paper"])
    assert TemporalOptions() == TemporalOptions(sparse=cfg.sparse, sparse_frames=cfg.sparse_frames,
                                                sparse_pattern=cfg.sparse_pattern, adaptive_rope=cfg.adaptive_rope,
                                                motion_loss=cfg.motion_loss, motion_weight=cfg.motion_weight)
    plain = StageSettings(steps=1, lr=1e-4, weight_decay=0.1, rank=4, alpha=4.0)
    assert (plain.shift, plain.timestep_sampling, plain.weighting, plain.seed, plain.max_grad_norm) == (
        cfg.train_shift, cfg.timestep_sampling, cfg.loss_weighting, cfg.seed, cfg.max_grad_norm)
    tiny = load_backbone("tiny", seed=0)
    z, e = tiny.encode_video(moving_square(5)), tiny.encode_prompts(["a square"])
    assert classify_heads(tiny, z, e) == classify_heads(
        tiny, z, e, alpha=cfg.alpha_threshold, timestep_index=cfg.classify_timestep_index, shift=cfg.train_shift,
        block=cfg.classify_block, seed=cfg.seed)


def test_the_temporal_stage_trains_beside_the_frozen_adapters_at_scale_one(tiny):
    """The adapters named in ``frozen`` (those present) are active while the temporal LoRA trains: its
    first step (temporal B = 0, same noise) then sees the trained spatial LoRA's prediction. Every
    active adapter is at its trained strength, scale alpha / rank."""
    clip = moving_square(9)
    e = tiny.encode_prompts(["a square"])
    latents = tiny.encode_video(clip)
    spatial_stage(tiny, tiny.encode_frames(clip), e, SPLIT[0], settings(3))
    options = TemporalOptions(sparse=False, motion_loss=False)

    def first_loss(name: str, frozen: tuple[str, ...]) -> float:
        return temporal_stage(tiny, clip, latents, e, SPLIT[1], settings(1), options, frozen=frozen,
                              name=name).stats.losses[0]

    alone = first_loss("alone", ())
    assert set(tiny.transformer.active_adapters()) == {"alone"}
    beside = first_loss("beside", ("spatial", "absent"))  # an adapter the model lacks is ignored
    assert set(tiny.transformer.active_adapters()) == {"spatial", "beside"}
    assert abs(beside - alone) > 1e-6 * abs(alone)
    q = tiny.transformer.blocks[0].attn1.to_q
    assert q.scaling["spatial"] == q.scaling["beside"] == pytest.approx(4.0 / 4)


def test_a_cache_of_encoded_subsets_handed_in_over_the_bound_is_emptied_too(tiny):
    """The bound holds whatever the caller hands in: a cache already past 64 subsets is emptied."""
    clip = moving_square(17)
    e = tiny.encode_prompts(["a square"])
    encoded = {(-i,): torch.zeros(1) for i in range(70)}  # 70 subsets that are never drawn
    temporal_stage(tiny, clip, tiny.encode_video(clip), e, SPLIT[1], settings(1), TemporalOptions(sparse_frames=5),
                   frozen=(), encoded=encoded)
    assert list(encoded) == [tuple(sparse_indices(17, 5))]


def test_a_trained_spatial_lora_comes_back_frozen(tiny):
    clip = moving_square(9)
    e = tiny.encode_prompts(["a square"])
    sp = spatial_stage(tiny, tiny.encode_frames(clip), e, SPLIT[0], settings(1))
    assert sp.lora.parameters() and not any(p.requires_grad for p in sp.lora.parameters())


def test_position_major_ranks_are_the_integers_p_times_frames_plus_f():
    """Frame-major token f*hw + p has position-major rank p*F + f: a permutation of the token indices."""
    frames, per_frame = 3, 4
    pi = position_major_index(frames, per_frame)
    want = [p * frames + f for f in range(frames) for p in range(per_frame)]  # tokens in frame-major order
    assert pi.dtype == torch.int64 and pi.tolist() == want
    assert sorted(pi.tolist()) == list(range(frames * per_frame))


def test_a_template_block_of_one_token_is_allowed():
    from motionbench_fym.heads import template_block

    assert template_block(16, block=1) == 1
    q, k = routed_heads(3, 4, [1.0, 0.0])
    w_s, w_t = template_scores(q, k, 3, 4, block=1)  # bands of 4 single-token blocks: still one frame wide
    assert w_s[0] > 0.9 and w_t[1] > 0.9


def test_the_probing_timestep_defaults_to_wans_shift_of_five():
    """With shift s a step's unshifted sigma u becomes s*u / (1 + (s-1)*u); step 1 of 1000 has u = 0.999."""
    from motionbench_fym.heads import classification_sigma

    u = classification_sigma(1, shift=1.0)[0]
    sigma, timestep = classification_sigma()
    assert sigma == pytest.approx(5 * u / (1 + 4 * u), rel=1e-6) and timestep == pytest.approx(1000 * sigma)
    assert classification_sigma() == classification_sigma(1, shift=5.0)


# -- the stages hand train() their own heads, settings, batches and loss ----------------------------

class RecordingTrain:
    """Stands in for :func:`motionbench.backbones.train` in the stages: records what it is handed and
    the model's LoRA state while it 'trains', draws ``steps`` batches from a generator seeded with the
    seed it was given (as train does), and returns stats it made."""

    def __init__(self, backbone):
        self.backbone = backbone
        self.calls = []

    def __call__(self, backbone, params, batch_fn, **kwargs):
        assert backbone is self.backbone
        params = list(params)
        q = backbone.transformer.blocks[0].attn1.to_q
        generator = torch.Generator().manual_seed(kwargs["seed"])
        from motionbench.backbones import TrainStats
        stats = TrainStats(losses=[0.5] * kwargs["steps"])
        self.calls.append(dict(
            params=params, kwargs=kwargs, stats=stats,
            trainable={n for n, p in backbone.transformer.named_parameters() if p.requires_grad},
            params_trainable=[p.requires_grad for p in params],
            active=set(backbone.transformer.active_adapters()),
            scaling=dict(q.scaling),
            batches=[batch_fn(step, generator) for step in range(kwargs["steps"])]))
        return stats


def lora_names(transformer, name):
    return {n for n, _ in transformer.named_parameters() if f".{name}." in n and "lora_" in n}


ODD = StageSettings(steps=3, lr=0.02, weight_decay=0.3, rank=2, alpha=6.0, shift=2.5, timestep_sampling="logit_normal",
                    weighting="cosmap", seed=7, max_grad_norm=0.5)


def test_the_spatial_stage_trains_its_own_lora_on_one_random_frame_per_step(tiny, monkeypatch):
    """Stage 2 trains exactly its new LoRA's weights (active alone, at scale alpha / rank) with the
    stage's settings and plain MSE; each step's batch is one frame ``frame_latents[i:i+1]``, ``i``
    drawn from train's generator; the LoRA comes back frozen with train's stats."""
    import motionbench_fym.stages as stages_mod

    recorder = RecordingTrain(tiny)
    monkeypatch.setattr(stages_mod, "train", recorder)
    clip = moving_square(9)
    e = tiny.encode_prompts(["a square"])
    frame_latents = tiny.encode_frames(clip)
    result = spatial_stage(tiny, frame_latents, e, SPLIT[0], ODD)
    (call,) = recorder.calls
    kw = call["kwargs"]
    assert kw == dict(steps=3, lr=0.02, weight_decay=0.3, loss_fn=flow_matching_mse, shift=2.5,
                      timestep_sampling="logit_normal", weighting="cosmap", seed=7, max_grad_norm=0.5,
                      after_step=result.lora.project)
    assert [id(p) for p in call["params"]] == [id(p) for p in result.lora.parameters()]
    # blocks 0 and 1 own heads: A and B of q, k, v in each, and nothing else trains
    assert call["trainable"] == lora_names(tiny.transformer, "spatial") and len(call["trainable"]) == 12
    assert all(call["params_trainable"]) and not any(p.requires_grad for p in result.lora.parameters())
    assert call["active"] == {"spatial"} and call["scaling"] == {"spatial": 3.0}  # 6 / 2
    assert tiny.transformer.blocks[0].attn1.to_q.lora_A["spatial"].weight.shape[0] == 2  # the rank
    g = torch.Generator().manual_seed(7)
    for batch in call["batches"]:
        i = int(torch.randint(9, (1,), generator=g))
        assert torch.equal(batch.latents, frame_latents[i:i + 1]) and batch.prompt_embeds is e
        assert batch.frame_positions is None
    assert len({float(b.latents.sum()) for b in call["batches"]}) > 1  # not always the same frame
    assert (result.name, result.heads, result.stats, result.latent_frames_per_step) == ("spatial", 3, call["stats"],
                                                                                        [1, 1, 1])
    assert result.frames_per_step == []


@pytest.mark.parametrize("sparse,adaptive,motion", [(True, True, True), (True, False, False), (False, True, True)])
def test_the_temporal_stage_trains_its_lora_beside_the_frozen_one_on_its_subsets(tiny, monkeypatch, sparse, adaptive,
                                                                                 motion):
    """Stage 3 trains only its LoRA (seed + 1), with the frozen spatial LoRA active at scale 1; each
    step's batch is the clip (dense: the given latents, all frames, dense positions) or a subset
    drawn from train's generator, encoded (and cached) and placed at its clip positions with adaptive
    RoPE; the loss is MSE + weight * motion term with the motion loss, plain MSE without."""
    import motionbench_fym.stages as stages_mod
    from motionbench_fym.losses import make_temporal_loss

    clip = moving_square(17)
    e = tiny.encode_prompts(["a square"])
    spatial_stage(tiny, tiny.encode_frames(clip), e, SPLIT[0], settings(1))  # really trained, then frozen
    recorder = RecordingTrain(tiny)
    monkeypatch.setattr(stages_mod, "train", recorder)
    clip_latents = tiny.encode_video(clip)
    encoded = {}
    options = TemporalOptions(sparse=sparse, sparse_frames=5, sparse_pattern="random", adaptive_rope=adaptive,
                              motion_loss=motion, motion_weight=0.5)
    result = temporal_stage(tiny, clip, clip_latents, e, SPLIT[1], ODD, options, encoded=encoded)
    (call,) = recorder.calls
    kw = call["kwargs"]
    loss_fn = kw.pop("loss_fn")
    assert kw == dict(steps=3, lr=0.02, weight_decay=0.3, shift=2.5, timestep_sampling="logit_normal",
                      weighting="cosmap", seed=8, max_grad_norm=0.5, after_step=result.lora.project)
    g = torch.Generator().manual_seed(0)
    pred, target = torch.randn(1, 4, 3, 2, 2, generator=g), torch.randn(1, 4, 3, 2, 2, generator=g)
    weights = torch.ones(1)
    mse = flow_matching_mse(pred, target, None, weights)
    want = mse + 0.5 * motion_cosine_loss(pred, target) if motion else mse
    assert float(loss_fn(pred, target, None, weights)) == pytest.approx(float(want), rel=1e-6)
    if not motion:
        assert loss_fn is flow_matching_mse
    assert [id(p) for p in call["params"]] == [id(p) for p in result.lora.parameters()]
    # SPLIT[1] owns heads in both blocks: A and B of q, k, v in each; the spatial LoRA stays frozen
    assert call["trainable"] == lora_names(tiny.transformer, "temporal") and len(call["trainable"]) == 12
    assert all(call["params_trainable"]) and not any(p.requires_grad for p in result.lora.parameters())
    assert call["active"] == {"spatial", "temporal"}
    assert call["scaling"] == {"spatial": 1.0, "temporal": 3.0}  # each alpha / rank at scale 1
    draws = torch.Generator().manual_seed(8)
    for batch, frames_used, latent_frames in zip(call["batches"], result.frames_per_step,
                                                 result.latent_frames_per_step):
        assert batch.prompt_embeds is e
        if not sparse:
            assert frames_used == tuple(range(17)) and batch.latents is clip_latents and latent_frames == 5
            assert batch.frame_positions is None
            continue
        idx = tuple(sparse_indices(17, 5, "random", draws, tiny.temporal_factor))
        assert frames_used == idx and latent_frames == 2
        torch.testing.assert_close(batch.latents, tiny.encode_video(clip[list(idx)]))
        assert encoded[idx] is batch.latents
        if adaptive:
            assert batch.frame_positions.tolist() == [idx[0] / 4, idx[4] / 4]
        else:
            assert batch.frame_positions is None
    assert len(result.frames_per_step) == len(result.latent_frames_per_step) == 3
    if sparse:
        assert len(set(result.frames_per_step)) > 1  # random subsets, drawn anew each step
    else:
        assert encoded == {}
    assert (result.name, result.heads, result.stats) == ("temporal", 5, call["stats"])


# -- head scores: the rule on hand values, and what classify_heads probes ------------------------------

def test_the_head_rule_is_w_t_at_least_alpha_times_w_s_on_hand_values(tmp_path):
    """Two blocks of three heads; with alpha 1.25, alpha * w_s is 0.625, 0.625, 0.3125 and
    0.3125, 0.625, 0.9375 (exact in binary), so head (0, 0) sits exactly on the threshold (temporal)."""
    import json

    from motionbench_fym.heads import HEADS_FORMAT

    scores = HeadScores(spatial=[[0.5, 0.5, 0.25], [0.25, 0.5, 0.75]], temporal=[[0.625, 0.5, 0.5], [0.25, 0.75, 0.5]],
                        alpha=1.25, sigma=0.9, timestep=900.0, latent_frames=2, tokens_per_frame=4, block=4)
    assert scores.is_temporal() == [[True, False, True], [False, True, False]]
    assert scores.temporal_heads() == [[0, 2], [1]] and scores.spatial_heads() == [[1], [0, 2]]
    assert scores.counts() == (3, 3)
    # another alpha re-applies the rule without touching the stored one: 1.0 -> every w_t >= w_s but (1, 2)
    assert scores.temporal_heads(1.0) == [[0, 1, 2], [0, 1]] and scores.spatial_heads(1.0) == [[], [2]]
    assert scores.counts(1.0) == (1, 5)
    assert scores.temporal_heads(2.0) == [[2], []] and scores.counts(2.0) == (5, 1)  # 2 w_s: 1, 1, 0.5 / 0.5, 1, 1.5
    assert scores.counts(0.0) == (0, 6) and scores.spatial_heads(0.0) == [[], []]  # alpha 0 is an alpha, not "unset"
    assert scores.alpha == 1.25 and scores.counts() == (3, 3)
    path = tmp_path / "heads.json"
    scores.save(path)
    data = json.loads(path.read_text())
    assert data["format"] == HEADS_FORMAT and data["is_temporal"] == [[1, 0, 1], [0, 1, 0]]  # the stored alpha's kinds
    assert {k: data[k] for k in ("alpha", "latent_frames", "tokens_per_frame", "block")} == dict(
        alpha=1.25, latent_frames=2, tokens_per_frame=4, block=4)
    assert [p.name for p in tmp_path.iterdir()] == ["heads.json"]  # written through a temporary file, then moved
    assert HeadScores.load(path) == scores


def test_classify_heads_scores_the_probed_attention_of_the_noised_reference(tiny):
    """classify_heads noises the reference to x_t = (1 - sigma) z + sigma * eps (eps from ``seed``, sigma
    the index-th shifted step), runs the model once with the prompt, and scores each block's self-attention
    q/k with the templates of the token grid. A 40x48 clip gives 5x6 latents and 2x3 = 6 tokens a frame
    (the patch embedding drops the odd latent row); the geometry fields are integers."""
    from motionbench.backbones import probe_self_attention

    from motionbench_fym.heads import classification_sigma

    clip = moving_square(5, size=48)[:, :40]
    z = tiny.encode_video(clip)
    e = tiny.encode_prompts(["a square"])
    assert tuple(z.shape[2:]) == (2, 5, 6)
    u = 1 - 1 / 1000  # the unshifted sigma of step 1; shift 5 makes it 5u / (1 + 4u)
    sigma = 5 * u / (1 + 4 * u)
    noise = torch.randn(z.shape, generator=torch.Generator().manual_seed(3))
    x_t = (1 - sigma) * z + sigma * noise
    seen = {}
    with probe_self_attention(tiny.transformer, lambda i, q, k: seen.__setitem__(i, (q.clone(), k.clone()))):
        predict_velocity(tiny, x_t, torch.tensor([sigma]), e)
    assert sorted(seen) == [0, 1]
    for block in (4, 128):  # 4 < 6 tokens: 4-token blocks; 128: cut to one frame's 6 tokens
        scores = classify_heads(tiny, z, e, alpha=1.1, seed=3, block=block)
        for i in (0, 1):
            w_s, w_t = template_scores(*seen[i], 2, 6, block=block)
            assert scores.spatial[i] == pytest.approx(w_s.tolist(), rel=1e-5)
            assert scores.temporal[i] == pytest.approx(w_t.tolist(), rel=1e-5)
        assert (scores.latent_frames, scores.tokens_per_frame, scores.block) == (2, 6, min(block, 6))
        assert all(type(v) is int for v in (scores.latent_frames, scores.tokens_per_frame, scores.block))
        assert scores.alpha == 1.1 and scores.sigma == pytest.approx(sigma, rel=1e-6)
        assert scores.timestep == pytest.approx(1000 * sigma, rel=1e-6)
    assert classify_heads(tiny, z, e, seed=4).spatial != classify_heads(tiny, z, e, seed=3).spatial  # the seed's noise
    later = classify_heads(tiny, z, e, timestep_index=500, shift=2.0, alpha=2)
    assert (later.sigma, later.timestep) == pytest.approx(classification_sigma(500, 2.0))
    assert type(later.alpha) is float and later.alpha == 2.0  # stored (and saved) as a float


def test_template_scores_of_a_batch_are_the_mean_over_its_samples():
    """Scores are summed over queries and batch and divided by B*S: a batch of two maps scores their mean."""
    frames, per_frame = 3, 4
    q1, k1 = routed_heads(frames, per_frame, [1.0, 0.0, 0.5])
    g = torch.Generator().manual_seed(1)
    q2, k2 = torch.randn(q1.shape, generator=g) * 4, torch.randn(k1.shape, generator=g) * 4
    one, two = template_scores(q1, k1, frames, per_frame), template_scores(q2, k2, frames, per_frame)
    both = template_scores(torch.cat([q1, q2]), torch.cat([k1, k2]), frames, per_frame)
    for a, b, ab in zip(one, two, both):
        torch.testing.assert_close(ab, (a + b) / 2)
    assert float(one[0][0]) > 0.99 and float(two[0].sum() + two[1].sum()) > 0  # head 0 of the first: its own frame


def test_the_temporal_stage_defaults_are_the_papers_components_and_seed_0():
    """FYM's defaults are the method as published: sparse sampling of 17 frames (the paper's 81 -> 17),
    adaptive RoPE and the motion loss on (each an ablation switch), and a fixed seed 0."""
    from motionbench_fym.stages import StageSettings, TemporalOptions

    assert TemporalOptions() == TemporalOptions(sparse=True, sparse_frames=17, sparse_pattern="uniform",
                                                adaptive_rope=True, motion_loss=True, motion_weight=1.0)
    fields = {f.name: f for f in __import__("dataclasses").fields(StageSettings)}
    assert fields["seed"].default == 0
