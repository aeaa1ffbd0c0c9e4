"""The recapture task's toy inpainting model: its training pairs, its control latents, training, the shipped weights."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from motionbench.toy.inpaint import (BLOCK, SCENE_SEED_BASE, build_inpaint_dataset, codec_control, draw_inpaint_example,
                                     fit_inpaint_codec, render_inpaint_example)


@pytest.fixture(scope="module")
def codec():
    return fit_inpaint_codec(5, 2)


def test_training_rooms_are_seeded_and_never_the_benchmarks():
    from motionbench.bench.manifest import load_manifest
    from motionbench.recapture.trajectory import CameraPath

    benchmark = {s.source.seed for s in load_manifest("recapture").samples if hasattr(s.source, "seed")}
    draws = [draw_inpaint_example(0, i) for i in range(300)]
    assert draws[7] == draw_inpaint_example(0, 7) and draws[7] != draw_inpaint_example(1, 7)
    assert not benchmark & {d.scene_seed for d in draws}
    assert min(d.scene_seed for d in draws) >= SCENE_SEED_BASE
    assert {d.path.split(":")[0] for d in draws} == {"orbit", "arc", "zoom", "pan", "dolly", "turn", "bullet"}
    for d in draws:
        CameraPath.parse(d.path)  # every drawn path is valid


def test_a_training_pair_is_the_warp_and_the_exact_view(codec):
    from motionbench.bench.scenes import render_clip

    ex = draw_inpaint_example(0, 4)
    warped, visible, target = render_inpaint_example(ex)
    clip = render_clip(ex.scene_seed, num_frames=17, size=(64, 64), moving=ex.moving)
    np.testing.assert_array_equal(target, clip.target(ex.path).frames)
    assert 0.02 < 1 - visible.mean() < 0.6  # the warp has holes to fill
    assert (warped[~visible] == 0).all()
    # where the warp sees the scene, it agrees with the exact view (up to resampling at silhouettes)
    err = np.abs(warped.astype(int) - target.astype(int)).max(axis=-1)[visible]
    assert np.median(err) <= 2


def test_codec_control_is_what_vace_control_latents_builds_at_inference(codec):
    from motionbench.backbones.vace import control_latents
    from motionbench.backbones.wan import WanBackbone

    warped, visible, _ = render_inpaint_example(draw_inpaint_example(0, 1))
    backbone = WanBackbone(transformer=None, vae=codec, text_encoder=None, tokenizer=None, name="codec",
                           device=torch.device("cpu"), dtype=torch.float32)
    expected = control_latents(backbone, warped, visible)
    got = codec_control(codec, warped, visible)
    assert got.shape == (1, 2 * 64 + BLOCK * BLOCK, 5, 8, 8)
    torch.testing.assert_close(got, expected, atol=1e-5, rtol=1e-5)


def _tiny_vace_arch() -> dict:
    return {"transformer": dict(patch_size=(1, 1, 1), num_attention_heads=2, attention_head_dim=16, in_channels=64,
                                out_channels=64, text_dim=32, freq_dim=32, ffn_dim=64, num_layers=2, cross_attn_norm=True,
                                qk_norm="rms_norm_across_heads", eps=1e-6, rope_max_seq_len=32, vace_layers=[0],
                                vace_in_channels=2 * 64 + BLOCK * BLOCK),
            "text_encoder": dict(d_model=32, num_layers=1, num_heads=2, d_kv=16, d_ff=64), "max_text_length": 16}


def test_inpainting_set_builds_resumably_and_a_few_steps_lower_the_loss(codec, tmp_path):
    from motionbench.toy.train import ToyTrainer, TrainSettings

    codec.save_pretrained(str(tmp_path / "codec"))
    data = tmp_path / "data"
    build_inpaint_dataset(data, 6, 0, tmp_path / "codec", workers=1, chunk=3)
    assert json.loads((data / "done.json").read_text())["done"] == [0, 3]
    before = (data / "control.npy").stat().st_mtime_ns
    build_inpaint_dataset(data, 6, 0, tmp_path / "codec", workers=1, chunk=3)  # nothing left to do
    assert (data / "control.npy").stat().st_mtime_ns == before
    warped, visible, target = render_inpaint_example(draw_inpaint_example(0, 2))
    np.testing.assert_allclose(np.load(data / "control.npy")[2], codec_control(codec, warped, visible)[0].numpy(),
                               atol=2e-2, rtol=1e-2)  # float16
    weights = np.load(data / "weights.npy")[2]
    assert weights.any() and not weights.all()  # blocks holding a hole pixel, and only those

    settings = TrainSettings(steps=30, batch=4, lr=2e-3, warmup=5, checkpoint_every=30, threads=1,
                             architecture=_tiny_vace_arch(), empty_caption=0.0)
    trainer = ToyTrainer(tmp_path / "run", data, tmp_path / "codec", settings)
    probe = _fixed_loss(trainer)
    trainer.run()
    assert _fixed_loss(trainer) < 0.9 * probe
    # a T2V architecture on an inpainting set (or the other way round) is refused
    with pytest.raises(ValueError, match="inpainting set"):
        ToyTrainer(tmp_path / "run2", data, tmp_path / "codec", TrainSettings(steps=1, threads=1))


def _fixed_loss(trainer) -> float:
    """The flow-matching loss on the set's 6 examples with fixed noise levels, under their control latents."""
    from motionbench.backbones.flow import add_noise, velocity_target
    from motionbench.toy.model import embed_captions

    idx = list(range(6))
    g = torch.Generator().manual_seed(0)
    x0 = (torch.from_numpy(np.stack([trainer.latents[i] for i in idx]).astype(np.float32)) - trainer.norm[0]) / trainer.norm[1]
    noise = torch.randn(x0.shape, generator=g)
    sigmas = torch.linspace(0.1, 0.9, len(idx))
    with torch.no_grad():
        emb = embed_captions(trainer.tokenizer, trainer.text_encoder, [""] * len(idx), 16, trainer.device)
        pred = trainer.transformer(hidden_states=add_noise(x0, noise, sigmas), timestep=sigmas * 1000,
                                   encoder_hidden_states=emb, return_dict=False, **trainer._conditioning(idx))[0]
    return float((pred - velocity_target(x0, noise)).pow(2).mean())


# -- the shipped model ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def toy_vace():
    from motionbench.backbones.vace import load_vace_backbone

    return load_vace_backbone("toy")


def test_shipped_inpainting_model_loads_as_a_vace_backbone_with_its_card(toy_vace):
    from diffusers import WanVACETransformer3DModel

    from motionbench.toy.assets import toy_vace_folder
    from motionbench.toy.codec import ToyPCACodec

    assert isinstance(toy_vace.transformer, WanVACETransformer3DModel)
    assert isinstance(toy_vace.vae, ToyPCACodec) and toy_vace.spatial_factor == BLOCK
    folder = toy_vace_folder()
    size = sum(p.stat().st_size for p in folder.rglob("*.safetensors"))
    assert size < 10 * 2**20
    card = (folder / "README.md").read_text()
    for needed in ("## Training", "wall time", "## Quality", "PSNR in the holes", "toy VACE", "mean colour"):
        assert needed in card
    assert (folder / "loss.png").stat().st_size > 1000


def test_shipped_inpainting_model_fills_the_holes_of_a_benchmark_room_better_than_their_mean_colour(toy_vace):
    """The benchmark's rooms never occur in training; its fill must beat the floor any fill must beat."""
    from motionbench.bench.manifest import load_manifest
    from motionbench.metrics.novel_view import masked_psnr
    from motionbench.recapture.inpaint import InpaintSettings, inpaint_path
    from motionbench.recapture.sources import load_recapture_sample

    from pathlib import Path

    from conftest import script_module

    sample = next(s for s in load_manifest("recapture").samples if s.id == "room-a")
    loaded = load_recapture_sample(sample)
    path = "orbit:phi=20"
    result = inpaint_path(toy_vace, loaded.source, path, size=(64, 64),
                          settings=InpaintSettings(steps=20, guidance=1.0, shift=2.0),
                          prompt_embeds=toy_vace.encode_prompts(["a video"]), negative_embeds=None, seed=0)
    view = loaded.scene.target(path)
    holes = ~loaded.scene.seen_from_source(path, view)
    model = masked_psnr(result.frames, view.frames, holes)
    with script_module(Path(__file__).resolve().parents[1] / "benchmarks" / "toy_inpaint_quality.py", "tiq") as bench:
        floor = masked_psnr(bench.mean_fill(result.warped.frames, result.warped.visible), view.frames, holes)
    black = masked_psnr(result.warped.frames, view.frames, holes)
    assert model > floor + 0.5 > black  # measured: 14.8 dB, 13.9 dB (mean colour), 5.8 dB (black holes)


def test_toy_commands_build_train_and_export_the_inpainting_model(tmp_path):
    """`motionbench toy data|train|export` with --task recapture, end to end at a few examples and steps."""
    from typer.testing import CliRunner

    from motionbench.backbones.vace import load_vace_backbone
    from motionbench.cli import app

    data, run, out = tmp_path / "data", tmp_path / "run", tmp_path / "vace"
    cli = CliRunner()
    res = cli.invoke(app, ["toy", "data", "--task", "recapture", "--out", str(data), "--count", "16", "--codec-clips", "8",
                           "--workers", "1"])
    assert res.exit_code == 0, res.output
    assert json.loads((data / "done.json").read_text())["task"] == "recapture"
    res = cli.invoke(app, ["toy", "train", "--task", "recapture", "--data", str(data), "--run", str(run), "--steps", "2",
                           "--batch", "2", "--threads", "1"])
    assert res.exit_code == 0, res.output
    assert json.loads((run / "settings.json").read_text())["architecture"]["transformer"]["vace_layers"] == [0, 2, 4]
    res = cli.invoke(app, ["toy", "export", "--run", str(run), "--data", str(data), "--out", str(out)])
    assert res.exit_code == 0, res.output
    backbone = load_vace_backbone(str(out))
    assert backbone.transformer.config.vace_in_channels == 2 * 64 + BLOCK * BLOCK
    res = cli.invoke(app, ["toy", "data", "--task", "inpainting", "--out", str(tmp_path / "x")], env={"COLUMNS": "200"})
    assert res.exit_code == 2 and "'inpainting' is not one of: motion_transfer, recapture" in res.output
    assert not (tmp_path / "x").exists()
