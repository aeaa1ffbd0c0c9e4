"""Follow-Your-Motion on the tiny random Wan (CPU): heads, decoupled LoRA, sparse/RoPE, motion loss, adapter."""

from __future__ import annotations

import os

import numpy as np
import pytest
import torch

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from motionbench.backbones import (  # noqa: E402
    add_noise,
    flow_matching_mse,
    frame_positions,
    load_backbone,
    predict_velocity,
    velocity_target,
)
from motionbench.backbones.lora import lora_state  # noqa: E402
from motionbench.errors import ConfigError  # noqa: E402
from motionbench.methods.base import GenerationRequest, Reference  # noqa: E402
from motionbench.methods.config import build_config  # noqa: E402
from motionbench.video import Clip  # noqa: E402

import fym.heads as heads_mod  # noqa: E402
from fym.adapter import GENERATION_ONLY, FollowYourMotion  # noqa: E402
from fym.heads import HeadScores, classify_heads, position_major_index, template_scores  # noqa: E402
from fym.losses import motion_cosine_loss  # noqa: E402
from fym.rope import adaptive_positions  # noqa: E402
from fym.sparse import sparse_indices  # noqa: E402
from fym.stages import StageSettings, TemporalOptions, spatial_stage, temporal_stage  # noqa: E402

torch.set_num_threads(1)


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

def one_hot_qk(labels: torch.Tensor, dim: int, strength: float = 12.0) -> torch.Tensor:
    return torch.nn.functional.one_hot(labels, dim).float() * strength


def test_constructed_heads_are_classified(monkeypatch):
    frames, per_frame = 3, 16
    s = frames * per_frame
    token = torch.arange(s)
    # head 0 attends to the tokens of its own frame; head 1 to the same position in every frame
    q = torch.stack([one_hot_qk(token // per_frame, 16), one_hot_qk(token % per_frame, 16)], dim=1)[None]
    monkeypatch.setattr(heads_mod, "CHUNK_ELEMENTS", 2 * s * 7)  # force several query chunks
    w_s, w_t = template_scores(q, q, frames, per_frame, band=per_frame // 2)
    scores = HeadScores(spatial=[w_s.tolist()], temporal=[w_t.tolist()], alpha=1.25, sigma=1.0, timestep=1000.0,
                        latent_frames=frames, tokens_per_frame=per_frame, band=per_frame // 2)
    assert scores.is_temporal() == [[False, True]]
    assert w_s[0] > 0.6 and w_t[1] > 0.99 and w_s[1] < 0.34  # temporal head: only itself inside the frame band


def test_template_scores_match_dense_definition():
    """Chunked scores == sum(A * M) with M_t = the spatial band after permuting to position-major."""
    frames, per_frame, band = 3, 6, 3
    s = frames * per_frame
    g = torch.Generator().manual_seed(0)
    q, k = torch.randn(2, s, 4, 8, generator=g), torch.randn(2, s, 4, 8, generator=g)
    attn = torch.softmax(q.transpose(1, 2) @ k.transpose(1, 2).transpose(-1, -2) / 8 ** 0.5, dim=-1)  # [B,H,S,S]
    idx = torch.arange(s)
    m_s = ((idx[:, None] - idx[None, :]).abs() <= band).float()
    pi = position_major_index(frames, per_frame)
    perm = torch.zeros(s, s)
    perm[idx, pi] = 1.0  # row i (frame-major) -> column pi(i) (position-major)
    m_t = perm @ m_s @ perm.T
    assert m_s.sum() == m_t.sum()
    w_s, w_t = template_scores(q, k, frames, per_frame, band)
    torch.testing.assert_close(w_s, (attn * m_s).sum(dim=(0, 2, 3)) / (2 * s))
    torch.testing.assert_close(w_t, (attn * m_t).sum(dim=(0, 2, 3)) / (2 * s))


def test_classify_heads_on_model_saves_and_reloads(tiny, tmp_path):
    z = tiny.encode_video(moving_square(9))
    e = tiny.encode_prompts(["a square"])
    scores = classify_heads(tiny, z, e, alpha=1.25, seed=0)
    assert len(scores.spatial) == tiny.num_blocks and len(scores.spatial[0]) == tiny.num_heads
    assert scores.sigma == pytest.approx(0.9998, abs=1e-4)
    assert all(0 < w <= 1 for block in scores.spatial + scores.temporal for w in block)
    assert scores.counts(alpha=1e-6) == (0, 8) and scores.counts(alpha=1e6) == (8, 0)
    scores.save(tmp_path / "heads.json")
    again = HeadScores.load(tmp_path / "heads.json")
    assert again == scores and again.temporal_heads(1.0) == scores.temporal_heads(1.0)
    assert classify_heads(tiny, z, e, alpha=1.25, seed=0) == scores  # deterministic per seed


# -- decoupled LoRA -----------------------------------------------------------------------------

def delta_rows(transformer, name):
    """{(block, proj): (owned-row |delta| max, other-row |delta| max)} of adapter ``name``."""
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
    sparse = tiny.encode_video(clip[sparse_indices(17, 9)])
    pos = adaptive_positions(sparse.shape[2], clip_latents.shape[2])
    t0 = eval_loss(tiny, sparse, e, pos, motion=True)
    tp = temporal_stage(tiny, clip, clip_latents, e, SPLIT[1], settings(40, lr=2e-2),
                        TemporalOptions(sparse=True, sparse_frames=9, adaptive_rope=True, motion_loss=True))
    t1 = eval_loss(tiny, sparse, e, pos, motion=True)
    assert t1 < 0.95 * t0, (t0, t1)
    assert np.mean(tp.stats.losses[-10:]) < np.mean(tp.stats.losses[:10])


# -- sparse sampling and adaptive RoPE ----------------------------------------------------------

def test_adaptive_positions_follow_the_formula():
    f, fs = 21, 5
    expected = [f / 2 + (f / fs) * (i - fs / 2) for i in range(fs)]
    assert adaptive_positions(fs, f).tolist() == pytest.approx(expected, abs=1e-12)
    assert adaptive_positions(5, 5).tolist() == [0.0, 1.0, 2.0, 3.0, 4.0]
    with pytest.raises(ValueError):
        adaptive_positions(6, 5)


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


@pytest.mark.parametrize("sparse,adaptive", [(True, True), (True, False), (False, True)])
def test_temporal_stage_feeds_sparse_frames_with_stretched_positions(tiny, sparse, adaptive):
    clip = moving_square(17)  # 5 latent frames
    e = tiny.encode_prompts(["a square"])
    seen, handle = record_rope_inputs(tiny.transformer)
    try:
        result = temporal_stage(tiny, clip, tiny.encode_video(clip), e, SPLIT[1], settings(2),
                                TemporalOptions(sparse=sparse, sparse_frames=5, adaptive_rope=adaptive))
    finally:
        handle.remove()
    frames_fed = {n for n, _ in seen}
    if sparse:
        assert frames_fed == {2} and result.latent_frames_per_step == [2, 2]  # 5 pixel frames -> 2 latents
        expected = adaptive_positions(2, 5).tolist() if adaptive else None
        assert all(p == expected for _, p in seen)
        if adaptive:
            assert expected == [0.0, 2.5]
    else:
        assert frames_fed == {5} and all(p is None for _, p in seen)


def test_motion_loss():
    g = torch.Generator().manual_seed(0)
    target = torch.randn(1, 4, 4, 3, 3, generator=g)
    assert float(motion_cosine_loss(target + 0.7, target)) == pytest.approx(0.0, abs=1e-6)  # same differences
    static = target[:, :, :1].expand_as(target) + 0.01 * torch.randn(target.shape, generator=g)
    assert float(motion_cosine_loss(static, target)) > 0.1
    assert float(motion_cosine_loss(target[:, :, :1], target[:, :, :1])) == 0.0
    pred = static.clone().requires_grad_(True)
    motion_cosine_loss(pred, target).backward()
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
    ablated = build_config(FollowYourMotion, ["preset=paper", "sparse=false", "decoupled=off"])
    assert (ablated.sparse, ablated.decoupled, ablated.adaptive_rope, ablated.motion_loss) == (False, False, True, True)
    with pytest.raises(ConfigError, match="multiple of 16"):
        build_config(FollowYourMotion, ["train_height=100"])
    with pytest.raises(ConfigError, match="sparse_pattern"):
        build_config(FollowYourMotion, ["sparse_pattern=zigzag"])


def test_head_scores_are_reused_from_the_cache(tmp_path, monkeypatch):
    import fym.heads

    reference = make_reference()
    first = FollowYourMotion(build_config(FollowYourMotion, ["preset=tiny", f"heads_cache={tmp_path / 'h'}"]))
    first.fit(reference, tmp_path / "w1")
    assert len(list((tmp_path / "h").glob(f"{reference.key}-*.json"))) == 1

    def forbidden(*args, **kwargs):
        raise AssertionError("heads were re-classified instead of reused")

    monkeypatch.setattr(fym.heads, "classify_heads", forbidden)
    second = FollowYourMotion(build_config(FollowYourMotion, ["preset=tiny", f"heads_cache={tmp_path / 'h'}",
                                                              "rank=2", "alpha_threshold=1e6"]))
    state = second.fit(reference, tmp_path / "w2")
    assert state.heads.alpha == 1e6 and state.info["heads"]["temporal"] == 0  # rule re-applied to cached scores
    assert "temporal" not in state.loras


def test_offline_default_model_names_the_download(monkeypatch, tmp_path):
    from motionbench.errors import WeightsError

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    method = FollowYourMotion(build_config(FollowYourMotion, []))
    with pytest.raises(WeightsError, match="huggingface-cli download Wan-AI/Wan2.1-T2V-1.3B-Diffusers"):
        method.fit(make_reference(), tmp_path / "w")


def test_sizes_keep_the_aspect_ratio_at_the_training_area():
    from fym.adapter import area_size

    assert area_size((832, 480), 480 * 832) == (480, 832)
    assert area_size((128, 128), 480 * 832) == (624, 624)  # a square clip is not cropped to 16:9
    paper = FollowYourMotion(build_config(FollowYourMotion, ["preset=paper"]))
    assert paper.train_size((256, 256)) == (624, 624) and paper.sample_size((256, 128)) == (448, 896)
    fixed = FollowYourMotion(build_config(FollowYourMotion, ["preset=paper", "size_policy=fixed"]))
    assert fixed.train_size((256, 256)) == (480, 832) and fixed.sample_size((250, 130)) == (128, 256)
    assert FollowYourMotion(build_config(FollowYourMotion, ["preset=tiny"])).sample_size((128, 96)) == (32, 32)


def test_state_key_ignores_generation_options():
    base = FollowYourMotion(build_config(FollowYourMotion, ["preset=tiny"]))
    for opt in ("guidance=7", "sample_steps=9", "temporal_scale=0.5", "negative_prompt=blurry", "heads_cache=/tmp/x"):
        assert FollowYourMotion(build_config(FollowYourMotion, ["preset=tiny", opt])).state_key() == base.state_key()
    for opt in ("rank=8", "sparse=false", "alpha_threshold=1.3", "model=wan2.1-1.3b-random"):
        assert FollowYourMotion(build_config(FollowYourMotion, ["preset=tiny", opt])).state_key() != base.state_key()
    assert {"guidance", "sample_steps", "spatial_scale"} <= GENERATION_ONLY


def test_fit_generate_deterministic_and_state_roundtrip(tmp_path):
    method = FollowYourMotion(build_config(FollowYourMotion, ["preset=tiny"]))
    reference = make_reference()
    state = method.fit(reference, tmp_path / "work")
    info = state.info
    assert info["frames"] == 17 and info["heads"]["spatial"] + info["heads"]["temporal"] == 8
    assert info["heads"]["spatial"] > 0 and info["heads"]["temporal"] > 0  # both stages trained
    assert info["stages"]["temporal"]["latent_frames"] == 3  # 9 sparse frames of 17 -> 3 latents
    request = GenerationRequest(prompt="a red ball", seed=3, num_frames=10, size=(40, 24), fps=8.0)
    video = method.generate(state, reference, request)
    assert video.shape == (10, 24, 40, 3) and video.dtype == np.uint8
    assert np.array_equal(video, method.generate(state, reference, request))
    other_seed = method.generate(state, reference, GenerationRequest("a red ball", 4, 10, (40, 24), 8.0))
    assert not np.array_equal(video, other_seed)

    saved = tmp_path / "state"
    saved.mkdir()
    method.save_state(state, saved)
    assert {p.name for p in saved.iterdir()} >= {"heads.json", "fym_state.json", "spatial.safetensors", "temporal.safetensors"}
    (saved / "fit.json").write_text('{"fit_seconds": 1.0}')  # the runner writes its own record beside ours
    fresh = FollowYourMotion(build_config(FollowYourMotion, ["preset=tiny"]))
    loaded = fresh.load_state(saved)
    assert loaded.heads == state.heads and loaded.info == state.info
    assert np.array_equal(fresh.generate(loaded, reference, request), video)

    # LoRA scales are generation options: zero scales give the base model, a different video
    base = FollowYourMotion(build_config(FollowYourMotion, ["preset=tiny", "spatial_scale=0", "temporal_scale=0"]))
    assert not np.array_equal(base.generate(base.load_state(saved), reference, request), video)
