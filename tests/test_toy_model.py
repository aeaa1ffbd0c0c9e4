"""The toy T2V model's parts: the PCA codec, the training set, a few training steps, the loader."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from motionbench.toy.codec import ToyPCACodec
from motionbench.toy.data import block_weights, build_dataset, draw_example, render_example

CLIPS = [render_example(draw_example(99, i)).frames for i in range(28)]  # 24 to fit, 4 (one per category) to test


def _psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)
    return float(10 * np.log10(255.0 ** 2 / mse))


@pytest.fixture(scope="module")
def codec() -> ToyPCACodec:
    return ToyPCACodec.fit(CLIPS[:24], z_dim=48)


def _roundtrip(codec: ToyPCACodec, frames: np.ndarray) -> np.ndarray:
    x = torch.from_numpy(frames).permute(3, 0, 1, 2)[None].float() / 127.5 - 1
    z = codec.encode(x).latent_dist.mode()
    assert z.shape == (1, codec.config.z_dim, (len(frames) - 1) // 4 + 1, 8, 8)
    video = codec.decode(z, return_dict=False)[0]
    return ((video[0].clamp(-1, 1) + 1) * 127.5).round().byte().permute(1, 2, 3, 0).numpy()


def test_codec_reconstructs_unseen_toy_clips_and_keeps_wan_layout(codec):
    psnr = [_psnr(_roundtrip(codec, frames), frames) for frames in CLIPS[24:]]
    assert min(psnr) > 22 and np.mean(psnr) > 26, psnr
    # Latent frame 0 holds frame 0 alone (Wan's causal layout): a 1-frame video encodes to the same latent.
    x = torch.from_numpy(CLIPS[24]).permute(3, 0, 1, 2)[None].float() / 127.5 - 1
    full = codec.encode(x).latent_dist.mode()
    first = codec.encode(x[:, :, :1]).latent_dist.mode()
    torch.testing.assert_close(full[:, :, :1], first)
    # Fewer components reconstruct worse: the code really is the PCA truncation.
    small = ToyPCACodec.fit(CLIPS[:24], z_dim=8)
    assert _psnr(_roundtrip(small, CLIPS[25]), CLIPS[25]) < _psnr(_roundtrip(codec, CLIPS[25]), CLIPS[25]) - 3
    with pytest.raises(ValueError, match="4k\\+1 frames"):
        codec.encode(x[:, :, :6])


def test_codec_saves_and_loads_through_diffusers(codec, tmp_path):
    codec.save_pretrained(str(tmp_path / "vae"))
    config = json.loads((tmp_path / "vae" / "config.json").read_text())
    assert config["_class_name"] == "ToyPCACodec" and config["scale_factor_spatial"] == 4
    again = ToyPCACodec.from_pretrained(str(tmp_path / "vae"))
    torch.testing.assert_close(again.basis, codec.basis)
    assert again.config.latents_std == codec.config.latents_std


def test_training_examples_are_seeded_balanced_and_never_held_out():
    from motionbench.bench.toy import parse_caption

    first = [draw_example(0, i) for i in range(40)]
    assert first == [draw_example(0, i) for i in range(40)]
    assert first != [draw_example(1, i) for i in range(40)]
    cats = [parse_caption(e.caption).category for e in first]
    assert {c: cats.count(c) for c in set(cats)} == {"camera": 10, "single_object": 10, "multi_object": 10, "human": 10}
    assert not any(parse_caption(draw_example(0, i).caption).held_out() for i in range(400))


def test_block_weights_mark_object_blocks():
    fg = np.zeros((5, 8, 8), bool)
    fg[0, 0, 0] = True  # frame 0 -> latent 0
    fg[3, 5, 6] = True  # frames 1-4 -> latent 1
    w = block_weights(fg)
    assert w.shape == (2, 2, 2)
    assert w[0].tolist() == [[1, 0], [0, 0]] and w[1].tolist() == [[0, 0], [0, 1]]


def test_dataset_build_never_forks_its_caller_and_keeps_its_thread_count(codec, tmp_path, monkeypatch):
    """A child forked from a threaded process can hang for ever (a CI run did, here): one worker builds in
    the calling process, more are spawned, and the same examples come out either way."""
    import os

    def no_fork():
        raise AssertionError("build_dataset forked the calling process")

    codec.save_pretrained(str(tmp_path / "codec"))
    monkeypatch.setattr(os, "fork", no_fork)
    before = torch.get_num_threads()
    torch.set_num_threads(3)
    try:
        inline = build_dataset(tmp_path / "one", 6, 4, tmp_path / "codec", workers=1, chunk=3)
        assert torch.get_num_threads() == 3
        spawned = build_dataset(tmp_path / "two", 6, 4, tmp_path / "codec", workers=2, chunk=3)
        assert torch.get_num_threads() == 3
    finally:
        torch.set_num_threads(before)
    for name in ("latents.npy", "weights.npy"):
        np.testing.assert_array_equal(np.load(inline / name), np.load(spawned / name))
    assert (inline / "captions.json").read_text() == (spawned / "captions.json").read_text()
    assert json.loads((spawned / "done.json").read_text())["done"] == [0, 3]

def test_dataset_build_resumes_and_a_few_steps_lower_the_loss(codec, tmp_path):
    from motionbench.toy.train import ToyTrainer, TrainSettings

    codec.save_pretrained(str(tmp_path / "codec"))
    data = tmp_path / "data"
    count = 20
    build_dataset(data, count, 3, tmp_path / "codec", workers=1, chunk=8)
    meta = json.loads((data / "done.json").read_text())
    assert meta["done"] == [0, 8, 16]
    lat = np.load(data / "latents.npy")
    x = torch.from_numpy(render_example(draw_example(3, 5)).frames).permute(3, 0, 1, 2)[None].float() / 127.5 - 1
    np.testing.assert_allclose(lat[5], codec.encode(x).latent_dist.mode()[0].numpy(), atol=2e-3, rtol=1e-2)
    # A second build finds nothing to do.
    before = (data / "latents.npy").stat().st_mtime_ns
    build_dataset(data, count, 3, tmp_path / "codec", workers=1, chunk=8)
    assert (data / "latents.npy").stat().st_mtime_ns == before

    arch = {"transformer": dict(patch_size=(1, 1, 1), num_attention_heads=2, attention_head_dim=16, in_channels=48,
                                out_channels=48, text_dim=32, freq_dim=32, ffn_dim=64, num_layers=2,
                                cross_attn_norm=True, qk_norm="rms_norm_across_heads", eps=1e-6, rope_max_seq_len=32),
            "text_encoder": dict(d_model=32, num_layers=1, num_heads=2, d_kv=16, d_ff=64), "max_text_length": 16}
    settings = TrainSettings(steps=40, batch=4, lr=2e-3, warmup=5, checkpoint_every=20, threads=1, architecture=arch)
    trainer = ToyTrainer(tmp_path / "run", data, tmp_path / "codec", settings)
    probe = _fixed_loss(trainer)
    trainer.run(until=20)
    assert (tmp_path / "run" / "checkpoint.pt").exists()
    # Resume: a new trainer continues from step 20 with the same state.
    resumed = ToyTrainer(tmp_path / "run", data, tmp_path / "codec", settings)
    assert resumed.step == 20
    threads = torch.get_num_threads()
    resumed.run()
    assert resumed.step == 40
    assert torch.get_num_threads() == threads  # settings.threads held only while it trained
    assert _fixed_loss(resumed) < 0.9 * probe
    with pytest.raises(ValueError, match="other settings"):
        ToyTrainer(tmp_path / "run", data, tmp_path / "codec", TrainSettings(steps=40, batch=8, architecture=arch))

    # A fine-tune (--init) starts from the exported EMA weights, refuses a model of another codec.
    resumed.export(tmp_path / "model")
    tuned = ToyTrainer(tmp_path / "tune", data, tmp_path / "codec",
                       TrainSettings(steps=40, batch=4, threads=1, architecture=arch, init=str(tmp_path / "model")))
    for got, want in zip(tuned.transformer.state_dict().values(), resumed.ema_transformer.state_dict().values()):
        torch.testing.assert_close(got, want)
    for got, want in zip(tuned.text_encoder.state_dict().values(), resumed.ema_text.state_dict().values()):
        torch.testing.assert_close(got, want)
    other = ToyPCACodec.fit(CLIPS[4:20], z_dim=48)
    other.save_pretrained(str(tmp_path / "model" / "vae"))
    with pytest.raises(ValueError, match="not the training set's codec"):
        ToyTrainer(tmp_path / "tune2", data, tmp_path / "codec",
                   TrainSettings(steps=40, batch=4, threads=1, architecture=arch, init=str(tmp_path / "model")))


def _fixed_loss(trainer) -> float:
    """The weighted flow-matching loss on a fixed batch with fixed noise levels (not the random training draws)."""
    from motionbench.backbones.flow import add_noise, velocity_target
    from motionbench.toy.model import embed_captions

    g = torch.Generator().manual_seed(0)
    idx = list(range(8))
    x0 = (torch.from_numpy(np.stack([trainer.latents[i] for i in idx]).astype(np.float32)) - trainer.norm[0]) / trainer.norm[1]
    noise = torch.randn(x0.shape, generator=g)
    sigmas = torch.linspace(0.1, 0.9, len(idx))
    with torch.no_grad():
        emb = embed_captions(trainer.tokenizer, trainer.text_encoder, [trainer.captions[i] for i in idx], 16, trainer.device)
        pred = trainer.transformer(hidden_states=add_noise(x0, noise, sigmas), timestep=sigmas * 1000,
                                   encoder_hidden_states=emb, return_dict=False)[0]
    return float((pred - velocity_target(x0, noise)).pow(2).mean())
