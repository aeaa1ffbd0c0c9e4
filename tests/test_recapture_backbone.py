"""The VACE inpainting backbone: configs, offline loading errors, and agreement with diffusers' pipeline."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from motionbench.backbones.sampling import initial_noise, make_scheduler
from motionbench.backbones.vace import (VACE_1_3B_HUB_ID, VACE_SPECS, Prefix, control_latents, load_vace_backbone,
                                        mask_latents, sample_inpaint)
from motionbench.errors import WeightsError


@pytest.fixture(scope="module")
def vace():
    return load_vace_backbone("tiny")


@pytest.fixture(scope="module")
def task():
    rng = np.random.default_rng(0)
    frames = rng.integers(0, 256, size=(5, 32, 32, 3)).astype(np.uint8)
    visible = np.ones((5, 32, 32), bool)
    visible[1:, 8:24, 4:20] = False
    return frames, visible


def test_configs_follow_the_published_vace_layout(vace):
    real = VACE_SPECS["wan2.1-vace-1.3b-random"].transformer
    assert (real["num_layers"], real["num_attention_heads"], real["attention_head_dim"], real["ffn_dim"]) == (30, 12, 128, 8960)
    assert real["vace_layers"] == list(range(0, 30, 2)) and real["vace_in_channels"] == 96
    cfg = vace.transformer.config
    assert cfg.vace_in_channels == 2 * cfg.in_channels + 64 and list(cfg.vace_layers) == [0]
    assert type(vace.transformer).__name__ == "WanVACETransformer3DModel"


def test_missing_weights_say_how_to_get_them(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(WeightsError, match="huggingface-cli download"):
        load_vace_backbone(VACE_1_3B_HUB_ID)
    (tmp_path / "transformer").mkdir()
    with pytest.raises(WeightsError, match="lacks vae, text_encoder, tokenizer"):
        load_vace_backbone(str(tmp_path))


def test_mask_channels_put_each_8x8_block_into_64_channels():
    generate = torch.zeros(5, 16, 16)
    generate[:, 3, 10] = 1  # block (0, 1), position (3, 2) inside it
    m = mask_latents(generate)
    assert m.shape == (1, 64, 2, 2, 2)
    assert m[0, 3 * 8 + 2, :, 0, 1].tolist() == [1.0, 1.0]
    assert m.sum() == 2


def test_control_latents_equal_the_diffusers_pipeline(vace, task):
    from diffusers import WanVACEPipeline

    frames, visible = task
    ours = control_latents(vace, frames, visible)
    pipe = WanVACEPipeline(tokenizer=vace.tokenizer, text_encoder=vace.text_encoder, vae=vace.vae,
                           scheduler=make_scheduler("unipc", 5.0), transformer=vace.transformer)
    video = torch.from_numpy(frames).permute(3, 0, 1, 2)[None].float() / 127.5 - 1
    mask = torch.from_numpy((~visible).astype(np.float32))[None, None].expand(1, 3, *visible.shape)
    ref = torch.cat([pipe.prepare_video_latents(video, mask, [[]], None, torch.device("cpu")),
                     pipe.prepare_masks(mask, [[]], None)], dim=1)
    assert torch.allclose(ours, ref.float(), atol=1e-5)  # batched VAE pass: equal up to float rounding


def test_sampling_matches_the_diffusers_pipeline(vace, task):
    from diffusers import WanVACEPipeline
    from PIL import Image

    frames, visible = task
    embeds, negative = vace.encode_prompts(["a room"]), vace.encode_prompts([""])
    ours = sample_inpaint(vace, control_latents(vace, frames, visible), embeds, negative, steps=3, guidance=3.0, seed=0)
    pipe = WanVACEPipeline(tokenizer=vace.tokenizer, text_encoder=vace.text_encoder, vae=vace.vae,
                           scheduler=make_scheduler("unipc", 5.0), transformer=vace.transformer)
    pipe.set_progress_bar_config(disable=True)
    theirs = pipe(video=[Image.fromarray(f) for f in frames],
                  mask=[Image.fromarray(((~v) * 255).astype(np.uint8)) for v in visible],
                  prompt_embeds=embeds, negative_prompt_embeds=negative, height=32, width=32, num_frames=5,
                  num_inference_steps=3, guidance_scale=3.0, latents=initial_noise(ours.shape, 0),
                  output_type="latent").frames
    assert torch.allclose(theirs.float(), ours, atol=1e-5)


def test_a_prefix_changes_the_video_and_its_modes_differ(vace, task):
    frames, visible = task
    embeds = vace.encode_prompts(["a room"])
    control = control_latents(vace, frames, visible)
    plain = sample_inpaint(vace, control, embeds, None, steps=3, guidance=1.0, seed=0)
    prefix = Prefix(vace.encode_frames(frames[:2]).permute(2, 1, 0, 3, 4).contiguous())
    packed = sample_inpaint(vace, control, embeds, None, steps=3, guidance=1.0, seed=0, prefix=prefix)
    renoised = sample_inpaint(vace, control, embeds, None, steps=3, guidance=1.0, seed=0,
                              prefix=Prefix(prefix.latents, mode="renoise"))
    assert packed.shape == plain.shape  # the prefix frames are cut off
    assert not torch.allclose(packed, plain) and not torch.allclose(renoised, packed)
    again = sample_inpaint(vace, control, embeds, None, steps=3, guidance=1.0, seed=0, prefix=prefix)
    assert torch.equal(again, packed)
