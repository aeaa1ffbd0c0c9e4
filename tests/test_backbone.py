"""The Wan video-DiT toolkit on the tiny random config (CPU), plus a real-weights smoke test."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
import torch

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from motionbench.backbones import (  # noqa: E402
    TrainBatch,
    WAN_1_3B_HUB_ID,
    add_noise,
    flow_matching_mse,
    frame_positions,
    generate_video,
    latent_frame_count,
    load_backbone,
    predict_velocity,
    probe_self_attention,
    resize_frames,
    sample_latents,
    shift_sigmas,
    train,
    vae_frame_count,
    velocity_target,
)
from motionbench.backbones.lora import add_head_lora, load_lora, save_lora, set_lora_scales  # noqa: E402
from motionbench.errors import MotionBenchError, WeightsError  # noqa: E402

torch.set_num_threads(1)


@pytest.fixture(scope="module")
def backbone():
    return load_backbone("tiny", seed=0)


def moving_square(num_frames: int = 9, size: int = 32, step: int = 2) -> np.ndarray:
    """A bright square moving right on a dark gradient: known motion, cheap to encode."""
    frames = np.zeros((num_frames, size, size, 3), dtype=np.uint8)
    frames[..., 2] = np.linspace(20, 80, size, dtype=np.uint8)[None, None, :]
    for t in range(num_frames):
        x = 2 + t * step
        frames[t, 10:20, x:x + 10] = (230, 200, 40)
    return frames


def fixed_eval_loss(backbone, latents, embeds, sigmas=(0.3, 0.6, 0.9), seed=123) -> float:
    """Flow-matching loss at fixed noise levels and noise: a low-variance training signal."""
    g = torch.Generator("cpu").manual_seed(seed)
    losses = []
    with torch.no_grad():
        for s in sigmas:
            noise = torch.randn(latents.shape, generator=g)
            sig = torch.tensor([s])
            pred = predict_velocity(backbone, add_noise(latents, noise, sig), sig, embeds)
            losses.append(float(flow_matching_mse(pred.float(), velocity_target(latents, noise), None, torch.ones(1))))
    return float(np.mean(losses))


# -- frames -------------------------------------------------------------------------------------

def test_frame_count_policy():
    assert [vae_frame_count(n) for n in (1, 4, 5, 8, 9, 32, 33)] == [1, 1, 5, 5, 9, 29, 33]
    assert [vae_frame_count(n, "ceil") for n in (1, 2, 5, 6, 32)] == [1, 5, 5, 9, 33]
    assert latent_frame_count(81) == 21 and latent_frame_count(17) == 5
    with pytest.raises(MotionBenchError, match="4k\\+1"):
        latent_frame_count(32)


def test_resize_covers_and_centre_crops():
    frames = np.zeros((1, 20, 40, 3), dtype=np.uint8)
    frames[:, :, 10:30] = 255  # the centre half is white
    out = resize_frames(frames, 16, 16)
    assert out.shape == (1, 16, 16, 3)
    assert out[0, 8, 8, 0] == 255 and out[0, 8, 0, 0] > 100  # crop kept the centre, not the black sides


# -- text ---------------------------------------------------------------------------------------

def test_offline_tokenizer_and_encoder_distinguish_prompts(backbone):
    e = backbone.encode_prompts(["a red car drives", "a red car drives", "a dog runs"])
    assert e.shape == (3, backbone.max_text_length, backbone.transformer.config.text_dim)
    assert torch.equal(e[0], e[1])
    assert not torch.allclose(e[0], e[2])
    n_tokens = len("a dog runs".encode()) + 1  # bytes + </s>
    assert e[2, n_tokens:].abs().max() == 0 and e[2, :n_tokens].abs().max() > 0


# -- rope and attention probe -----------------------------------------------------------------

def test_rope_matches_diffusers_and_moves_only_time(backbone):
    from diffusers.models.transformers.transformer_wan import WanRotaryPosEmbed

    cfg = backbone.transformer.config
    x = torch.zeros(1, cfg.in_channels, 3, 8, 6)
    ref_cos, ref_sin = WanRotaryPosEmbed(cfg.attention_head_dim, cfg.patch_size, 256)(x)
    cos, sin = backbone.transformer.rope(x)
    assert torch.equal(cos, ref_cos) and torch.equal(sin, ref_sin)
    with frame_positions(backbone.transformer, [0.0, 2.5, 5.0]):
        cos2, _ = backbone.transformer.rope(x)
    t_dim = backbone.transformer.rope.t_dim
    tokens_per_frame = 4 * 3
    assert torch.equal(cos2[..., t_dim:], cos[..., t_dim:])  # rows/columns untouched
    assert torch.equal(cos2[:, :tokens_per_frame], cos[:, :tokens_per_frame])  # position 0 unchanged
    assert not torch.allclose(cos2[:, tokens_per_frame:, :, :t_dim], cos[:, tokens_per_frame:, :, :t_dim])
    assert backbone.transformer.rope.positions is None  # restored


def test_probe_reports_qk_without_changing_output(backbone):
    z = torch.randn(1, backbone.latent_channels, 2, 4, 4, generator=torch.Generator().manual_seed(0))
    e = backbone.encode_prompts(["x"])
    sig = torch.tensor([0.5])
    with torch.no_grad():
        plain = predict_velocity(backbone, z, sig, e)
        seen = []
        with probe_self_attention(backbone.transformer, lambda b, q, k: seen.append((b, q.shape, k.shape))):
            probed = predict_velocity(backbone, z, sig, e)
        again = predict_velocity(backbone, z, sig, e)
    torch.testing.assert_close(probed, plain, rtol=1e-5, atol=1e-5)
    assert torch.equal(again, plain)
    heads, d = backbone.num_heads, backbone.head_dim
    assert seen == [(b, (1, 2 * 2 * 2, heads, d), (1, 8, heads, d)) for b in range(backbone.num_blocks)]


# -- latents, training, sampling ---------------------------------------------------------------

def test_encode_decode_shapes_and_single_frames(backbone):
    clip = moving_square(9)
    z = backbone.encode_video(clip)
    assert z.shape == (1, backbone.latent_channels, 3, 4, 4)
    single = backbone.encode_frames(clip[:2])
    assert single.shape == (2, backbone.latent_channels, 1, 4, 4)
    torch.testing.assert_close(single[0:1], z[:, :, :1])  # causal VAE: frame 0 is encoded alone anyway
    out = backbone.decode(z)
    assert out.shape == clip.shape and out.dtype == np.uint8
    with pytest.raises(MotionBenchError, match="4k\\+1"):
        backbone.encode_video(clip[:8])


def test_shift_pushes_towards_noise():
    s = torch.tensor([0.1, 0.5, 0.9])
    assert torch.equal(shift_sigmas(s, 1.0), s)
    assert bool((shift_sigmas(s, 5.0) > s).all())


def test_a_head_lora_is_initialised_from_seed_0_unless_told_otherwise():
    """The adapters' initial weights are part of a run's reproducibility: the default seed is 0."""
    from motionbench.backbones.lora import lora_state

    states = {}
    for key, kwargs in (("default", {}), ("0", {"init_seed": 0}), ("1", {"init_seed": 1})):
        b = load_backbone("tiny", seed=0)
        heads = [[0, 1]] * b.num_blocks
        lora = add_head_lora(b.transformer, "x", heads, rank=2, alpha=2, **kwargs)
        states[key] = lora_state(b.transformer, lora)
    assert states["default"].keys() == states["0"].keys()
    assert all(torch.equal(states["default"][k], states["0"][k]) for k in states["0"])
    assert not all(torch.equal(states["1"][k], states["0"][k]) for k in states["0"])


def test_lora_training_lowers_loss_and_roundtrips(backbone, tmp_path):
    b = load_backbone("tiny", seed=0)
    z = b.encode_video(moving_square(9))
    e = b.encode_prompts(["a yellow square moves right"])
    lora = add_head_lora(b.transformer, "all", [list(range(b.num_heads))] * b.num_blocks, rank=4, alpha=4)
    set_lora_scales(b.transformer, {"all": 1.0})
    lora.set_trainable(True)
    before = fixed_eval_loss(b, z, e)
    stats = train(b, lora.parameters(), lambda step, g: TrainBatch(z, e), steps=40, lr=1e-2, seed=0,
                  after_step=lora.project)
    after = fixed_eval_loss(b, z, e)
    assert len(stats.losses) == 40 and stats.seconds_per_step > 0
    assert after < 0.85 * before, (before, after)

    save_lora(b.transformer, lora, tmp_path / "all.safetensors")
    fresh = load_backbone("tiny", seed=0)
    load_lora(fresh.transformer, tmp_path / "all.safetensors")
    set_lora_scales(fresh.transformer, {"all": 1.0})
    assert fixed_eval_loss(fresh, z, e) == pytest.approx(after, rel=1e-6)


def test_sampling_is_deterministic_and_guidance_hook_runs(backbone):
    kw = dict(num_frames=5, height=32, width=32, steps=3, guidance=4.0, shift=5.0)
    a = generate_video(backbone, "a cat", seed=7, **kw)
    b = generate_video(backbone, "a cat", seed=7, **kw)
    c = generate_video(backbone, "a cat", seed=8, **kw)
    assert a.shape == (5, 32, 32, 3) and a.dtype == np.uint8
    assert np.array_equal(a, b) and not np.array_equal(a, c)

    calls = []

    def hook(i, t, latents):
        calls.append(i)
        return latents * 0.5

    e, n = backbone.encode_prompts(["a cat"]), backbone.encode_prompts([""])
    plain = sample_latents(backbone, e, n, seed=7, **kw)
    guided = sample_latents(backbone, e, n, seed=7, latent_guidance=hook, **kw)
    assert calls == [0, 1, 2]
    assert not torch.allclose(plain, guided)


@pytest.mark.parametrize("sampler", ["unipc", "euler"])
def test_a_latent_edit_survives_the_sampler_at_every_step(backbone, sampler):
    """An edit by the guidance hook at step k > 0 moves the result about as much as one at step 0.

    UniPC's corrector would rebuild an edited latent from the previous step's and keep ~1-3% of it.
    """
    kw = dict(num_frames=5, height=32, width=32, steps=10, guidance=3.0, shift=5.0, seed=1, sampler=sampler)
    e, n = backbone.encode_prompts(["a cat"]), backbone.encode_prompts([""])
    delta = torch.randn(backbone.latent_shape(5, 32, 32), generator=torch.Generator().manual_seed(9)) * 0.5
    plain = sample_latents(backbone, e, n, **kw)

    def moved(k: int) -> float:
        edited = sample_latents(backbone, e, n, latent_guidance=lambda i, t, x: x + delta if i == k else x, **kw)
        return float((edited - plain).norm())

    at_start = moved(0)
    assert at_start > 0.5 * float(delta.norm())
    for k in (1, 3, 6):
        assert moved(k) > 0.7 * at_start, (sampler, k, moved(k), at_start)


# -- weights ------------------------------------------------------------------------------------

def test_offline_hub_load_says_how_to_get_weights(monkeypatch, tmp_path):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))  # an empty cache
    with pytest.raises(WeightsError) as info:
        load_backbone(WAN_1_3B_HUB_ID)
    message = str(info.value)
    assert "huggingface-cli download Wan-AI/Wan2.1-T2V-1.3B-Diffusers --local-dir" in message
    assert "--method-opt model=DIR" in message


def test_local_folder_missing_parts_is_named(tmp_path):
    (tmp_path / "transformer").mkdir()
    with pytest.raises(WeightsError, match="lacks vae/, text_encoder/, tokenizer/"):
        load_backbone(str(tmp_path))
    with pytest.raises(WeightsError, match="does not exist"):
        load_backbone(str(tmp_path / "nope"))


@pytest.mark.weights
@pytest.mark.skipif(not os.environ.get("MOTIONBENCH_WAN_DIR"),
                    reason="set MOTIONBENCH_WAN_DIR to a local copy of Wan-AI/Wan2.1-T2V-1.3B-Diffusers "
                           "(huggingface-cli download Wan-AI/Wan2.1-T2V-1.3B-Diffusers --local-dir DIR)")
def test_real_weights_load_and_generate():
    device = "cuda" if torch.cuda.is_available() else "cpu"
    b = load_backbone(os.environ["MOTIONBENCH_WAN_DIR"], device=device)
    assert (b.num_blocks, b.num_heads, b.head_dim) == (30, 12, 128)
    video = generate_video(b, "a red ball rolls on grass", num_frames=5, height=64, width=64, steps=2, seed=0)
    assert video.shape == (5, 64, 64, 3) and video.std() > 1.0


def test_gradient_checkpointing_gives_the_same_lora_gradients():
    from motionbench.backbones import training_step

    grads = []
    for checkpointing in (False, True):
        b = load_backbone("tiny", seed=0, gradient_checkpointing=checkpointing)
        assert b.transformer.gradient_checkpointing is checkpointing
        lora = add_head_lora(b.transformer, "all", [[0, 1]] * b.num_blocks, rank=2, alpha=2)
        set_lora_scales(b.transformer, {"all": 1.0})
        lora.set_trainable(True)
        with torch.no_grad():  # A is seeded-random already; make B non-zero so A gets gradients too
            for w, m in lora.masks:
                w.copy_(torch.randn(w.shape, generator=torch.Generator().manual_seed(1)) * m)
        z = torch.randn(1, b.latent_channels, 2, 4, 4, generator=torch.Generator().manual_seed(0))
        b.transformer.train()
        out = training_step(b, TrainBatch(z, b.encode_prompts(["x"])), torch.Generator().manual_seed(0))
        out.loss.backward()
        grads.append([p.grad.clone() for p in lora.parameters()])
    assert all(g is not None and g.abs().sum() > 0 for g in grads[1])
    for g0, g1 in zip(*grads):
        torch.testing.assert_close(g0, g1, rtol=1e-5, atol=1e-6)


def test_bf16_path_keeps_fp32_islands_and_trains():
    """The GPU precision setup (bf16 DiT, float32 norms/time embedding/LoRA/VAE), exercised on the CPU."""
    b = load_backbone("tiny", dtype="bf16", seed=0)
    params = dict(b.transformer.named_parameters())
    assert params["blocks.0.attn1.to_q.weight"].dtype == torch.bfloat16
    assert params["blocks.0.scale_shift_table"].dtype == torch.float32
    assert params["condition_embedder.time_embedder.linear_1.weight"].dtype == torch.float32
    assert next(b.vae.parameters()).dtype == torch.float32
    lora = add_head_lora(b.transformer, "all", [[0, 1, 2, 3]] * b.num_blocks, rank=2, alpha=2)
    set_lora_scales(b.transformer, {"all": 1.0})
    lora.set_trainable(True)
    assert all(p.dtype == torch.float32 for p in lora.parameters())
    z = b.encode_video(moving_square(5))
    stats = train(b, lora.parameters(), lambda s, g: TrainBatch(z, b.encode_prompts(["x"])), steps=3, lr=1e-3,
                  after_step=lora.project)
    assert all(np.isfinite(stats.losses))
    assert any(float(w.detach().abs().max()) > 0 for w, _ in lora.masks)
    video = generate_video(b, "x", num_frames=5, height=32, width=32, steps=2, guidance=2.0, seed=0)
    assert video.shape == (5, 32, 32, 3) and video.std() > 0


def test_head_lora_refuses_head_indices_outside_the_model(backbone):
    from motionbench.errors import MotionBenchError

    b = backbone
    with pytest.raises(MotionBenchError, match=rf"block 0 names heads \[{b.num_heads}\], the model has "
                                               rf"{b.num_heads} per block"):
        add_head_lora(b.transformer, "edge", [[0, b.num_heads]] + [[0]] * (b.num_blocks - 1), rank=2, alpha=2)
    with pytest.raises(MotionBenchError, match=r"block 0 names heads \[-1\]"):
        add_head_lora(b.transformer, "edge", [[-1]] + [[0]] * (b.num_blocks - 1), rank=2, alpha=2)
    with pytest.raises(TypeError):  # rank and alpha are named: a swapped pair cannot pass silently
        add_head_lora(b.transformer, "edge", [[0]] * b.num_blocks, 2, 2)


def test_reading_a_lora_needs_both_its_files(tmp_path):
    from motionbench.backbones.lora import read_lora
    from motionbench.errors import MotionBenchError

    weights = tmp_path / "spatial.safetensors"
    weights.write_bytes(b"\0" * 16)
    with pytest.raises(MotionBenchError, match=r"LoRA files missing: need .*spatial.safetensors and .*spatial.json"):
        read_lora(weights)  # the weights without their description
    weights.unlink()
    (tmp_path / "spatial.json").write_text("{}")
    with pytest.raises(MotionBenchError, match="LoRA files missing"):
        read_lora(weights)  # the description without the weights


def test_the_gradient_of_rows_of_heads_a_lora_does_not_own_is_exactly_zero():
    from motionbench.backbones import training_step

    b = load_backbone("tiny", seed=0)
    lora = add_head_lora(b.transformer, "one", [[1]] * b.num_blocks, rank=2, alpha=2)
    set_lora_scales(b.transformer, {"one": 1.0})
    lora.set_trainable(True)
    with torch.no_grad():  # non-zero owned rows, so every B row gets a gradient before the mask
        for w, m in lora.masks:
            w.copy_(torch.randn(w.shape, generator=torch.Generator().manual_seed(1)) * m)
    z = torch.randn(1, b.latent_channels, 2, 4, 4, generator=torch.Generator().manual_seed(0))
    b.transformer.train()
    training_step(b, TrainBatch(z, b.encode_prompts(["x"])), torch.Generator().manual_seed(0)).loss.backward()
    for w, mask in lora.masks:
        owned = mask.squeeze(1).bool()
        assert torch.equal(w.grad[~owned], torch.zeros_like(w.grad[~owned]))
        assert w.grad[owned].abs().sum() > 0


def test_head_lora_refuses_a_head_list_per_block_of_the_wrong_length_and_a_lora_owning_nothing(backbone):
    b = backbone
    with pytest.raises(MotionBenchError, match=rf"LoRA 'x': got head lists for {b.num_blocks + 1} blocks, model has "
                                               rf"{b.num_blocks}"):
        add_head_lora(b.transformer, "x", [[0]] * (b.num_blocks + 1), rank=2, alpha=2)
    with pytest.raises(MotionBenchError, match=rf"got head lists for {b.num_blocks - 1} blocks, model has {b.num_blocks}"):
        add_head_lora(b.transformer, "x", [[0]] * (b.num_blocks - 1), rank=2, alpha=2)  # too few: not "the rest empty"
    with pytest.raises(MotionBenchError, match="LoRA 'x' owns no attention head in any block; nothing to train"):
        add_head_lora(b.transformer, "x", [[]] * b.num_blocks, rank=2, alpha=2)
    assert "x" not in (getattr(b.transformer, "peft_config", None) or {})  # refused before touching the model


def test_a_block_that_owns_no_head_gets_no_lora():
    from motionbench.backbones.lora import lora_parameters

    b = load_backbone("tiny", seed=0)
    late = [[]] * (b.num_blocks - 1) + [[0, 1]]  # only the last block
    lora = add_head_lora(b.transformer, "late", late, rank=2, alpha=2)
    other = add_head_lora(b.transformer, "other", [[2]] * b.num_blocks, rank=2, alpha=2)
    last = b.transformer.blocks[-1].attn1
    assert all("late" in getattr(last, p).lora_A for p in ("to_q", "to_k", "to_v"))
    for block in b.transformer.blocks[:-1]:
        assert "late" not in block.attn1.to_q.lora_A and "other" in block.attn1.to_q.lora_A
    assert len(lora.masks) == 3 and len(lora.parameters()) == 6  # A and B of the last block's q, k, v
    assert [id(p) for p in lora_parameters(b.transformer, "late")] == [id(p) for p in lora.parameters()]
    assert len(lora_parameters(b.transformer, "other")) == len(other.parameters()) == 6 * b.num_blocks


def test_loading_a_lora_state_that_does_not_fit_names_the_keys(tmp_path):
    """A state missing a weight, or holding one of a block the adapter does not cover, is refused with
    the keys and the source named; the other adapters on the model are not counted as missing."""
    from motionbench.backbones.lora import install_lora, lora_state

    b = load_backbone("tiny", seed=0)
    heads = [[0, 1]] * b.num_blocks
    state = lora_state(b.transformer, add_head_lora(b.transformer, "saved", heads, rank=2, alpha=2))
    target = load_backbone("tiny", seed=0)
    add_head_lora(target.transformer, "other", heads, rank=2, alpha=2)  # an adapter the state knows nothing of
    lacking = {k: v for k, v in state.items() if k != "blocks.0.attn1.to_k.lora_A.weight"}
    with pytest.raises(MotionBenchError, match=r"LoRA a/b.safetensors does not fit the model: unexpected keys \[\], "
                                               r"missing \['blocks\.0\.attn1\.to_k\.lora_A\.lacking\.weight'\]; "
                                               r"delete it to retrain"):
        install_lora(target.transformer, "lacking", heads, 2, 2.0, lacking, source="a/b.safetensors")
    first_block = [[0, 1]] + [[]] * (b.num_blocks - 1)
    with pytest.raises(MotionBenchError, match=r"LoRA state does not fit the model: unexpected keys \['blocks\.1\.") as info:
        install_lora(target.transformer, "narrow", first_block, 2, 2.0, state)
    assert str(info.value).count("'blocks.1.") == 3  # the first 3 of block 1's 6 weights: enough to see the cause
    without_block_0 = {k: v for k, v in state.items() if not k.startswith("blocks.0.")}
    with pytest.raises(MotionBenchError, match=r"unexpected keys \[\], missing \['blocks\.0\.") as info:
        install_lora(target.transformer, "short", heads, 2, 2.0, without_block_0)
    assert str(info.value).count("'blocks.0.") == 3  # the first 3 of block 0's 6 missing weights
    loaded = install_lora(target.transformer, "whole", heads, 2, 2.0, state)  # fits, beside "other"
    assert all(not p.requires_grad for p in loaded.parameters())
    again = lora_state(target.transformer, loaded)
    assert set(again) == set(state) and all(torch.equal(again[k], state[k]) for k in state)


def test_remove_loras_gives_back_the_base_model():
    from motionbench.backbones.lora import remove_loras

    b = load_backbone("tiny", seed=0)
    z = torch.randn(1, b.latent_channels, 2, 4, 4, generator=torch.Generator().manual_seed(0))
    e, sig = b.encode_prompts(["x"]), torch.tensor([0.5])
    remove_loras(b.transformer)  # nothing to remove: a no-op
    with torch.no_grad():
        base = predict_velocity(b, z, sig, e)
    for name in ("one", "two"):
        lora = add_head_lora(b.transformer, name, [[0, 1]] * b.num_blocks, rank=2, alpha=2)
        with torch.no_grad():  # B starts at zero: make the adapters change the output
            for w, m in lora.masks:
                w.copy_(torch.ones_like(w) * m)
    set_lora_scales(b.transformer, {"one": 1.0, "two": 1.0})
    with torch.no_grad():
        assert not torch.allclose(predict_velocity(b, z, sig, e), base)
        remove_loras(b.transformer)
        assert not (getattr(b.transformer, "peft_config", None) or {})
        assert not any("lora_" in n for n, _ in b.transformer.named_parameters())
        torch.testing.assert_close(predict_velocity(b, z, sig, e), base, rtol=0, atol=0)


def test_reading_a_lora_refuses_unreadable_files_and_other_formats(backbone, tmp_path):
    from motionbench.backbones.lora import LORA_FORMAT, read_lora

    weights, side = tmp_path / "spatial.safetensors", tmp_path / "spatial.json"
    weights.write_bytes(b"\0" * 16)  # not a safetensors file
    side.write_text(f'{{"format": "{LORA_FORMAT}"}}')
    with pytest.raises(MotionBenchError, match=r"cannot read LoRA .*spatial.safetensors: .*; delete it to retrain"):
        read_lora(weights)
    side.write_text("{not json")
    with pytest.raises(MotionBenchError, match=r"cannot read LoRA .*spatial.safetensors: .*; delete it to retrain"):
        read_lora(weights)
    b = load_backbone("tiny", seed=0)
    lora = add_head_lora(b.transformer, "spatial", [[0]] * b.num_blocks, rank=2, alpha=2)
    save_lora(b.transformer, lora, weights)
    meta, state = read_lora(weights)
    assert (meta["format"], meta["heads_per_block"], meta["rank"]) == (LORA_FORMAT, [[0]] * b.num_blocks, 2)
    side.write_text(side.read_text().replace(LORA_FORMAT, "motionbench-head-lora/0"))
    with pytest.raises(MotionBenchError, match=rf"spatial.json: format 'motionbench-head-lora/0', expected "
                                               rf"'{LORA_FORMAT}'"):
        read_lora(weights)


def test_head_lora_refuses_a_head_index_well_past_the_models_heads(backbone):
    b = backbone
    far = b.num_heads + 5
    with pytest.raises(MotionBenchError, match=rf"block 0 names heads \[{far}\], the model has {b.num_heads} per block"):
        add_head_lora(b.transformer, "far", [[0, far]] + [[0]] * (b.num_blocks - 1), rank=2, alpha=2)


def test_activating_adapters_leaves_every_lora_weight_frozen_and_the_base_model_alone():
    """peft marks active adapters trainable; ``set_lora_scales`` freezes them (a stage unfreezes its own)."""
    from motionbench.backbones.lora import lora_parameters

    b = load_backbone("tiny", seed=0)
    for name in ("one", "two"):
        add_head_lora(b.transformer, name, [[0]] * b.num_blocks, rank=2, alpha=2)
    base = {n: p.requires_grad for n, p in b.transformer.named_parameters() if "lora_" not in n}
    set_lora_scales(b.transformer, {"one": 1.0, "two": 0.5})
    for name in ("one", "two"):
        assert lora_parameters(b.transformer, name) and not any(p.requires_grad for p in lora_parameters(b.transformer, name))
    assert {n: p.requires_grad for n, p in b.transformer.named_parameters() if n in base} == base  # untouched
