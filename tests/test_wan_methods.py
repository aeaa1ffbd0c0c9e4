"""The Wan method toolkit (motionbench.methods.wan) across every Wan-based method on the tiny random Wan.

* one size policy: every method trains and samples at the same working size, the reference's
  aspect ratio, and the video shows the reference's whole field of view;
* expected output slices of ``fym`` and ``two-stage-lora`` (diffusers-style): an unintended
  numerical change to training or sampling fails here loudly (update them deliberately);
* every default of every Wan-based method names its source in ``motionbench methods NAME``.
"""

from __future__ import annotations

import os

import numpy as np
import pytest
import torch

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from motionbench.backbones import size_multiple, working_size  # noqa: E402
from motionbench.methods.base import GenerationRequest, Reference  # noqa: E402
from motionbench.methods.config import SOURCES, build_config, describe_options  # noqa: E402
from motionbench.methods.registry import METHODS, load_method_class  # noqa: E402
from motionbench.methods.wan import WanMethod  # noqa: E402
from motionbench.video import Clip  # noqa: E402

from conftest import textured_frames  # noqa: E402

torch.set_num_threads(1)
WAN_METHODS = [n for n in METHODS.names() if issubclass(load_method_class(n), WanMethod)]


def ramp(frames: np.ndarray) -> np.ndarray:
    """Frames whose red channel is the column (0 at the left, 255 at the right) and green the row."""
    t, h, w, _ = frames.shape
    out = frames.copy()
    out[..., 0] = np.round(np.linspace(0, 255, w))[None, None, :]
    out[..., 1] = np.round(np.linspace(0, 255, h))[None, :, None]
    return out


def assert_whole_view(frames: np.ndarray, what: str, tol: int = 12) -> None:
    red, green = frames[..., 0].astype(int), frames[..., 1].astype(int)
    assert red[:, :, 0].max() <= tol and red[:, :, -1].min() >= 255 - tol, f"{what}: columns are cut off"
    assert green[:, 0].max() <= tol and green[:, -1].min() >= 255 - tol, f"{what}: rows are cut off"


def test_working_size_keeps_the_aspect_at_the_pixel_budget():
    assert working_size((832, 480), 480 * 832, (16, 16)) == (480, 832)
    assert working_size((128, 128), 480 * 832, (16, 16)) == (624, 624)  # a square clip is not cropped to 16:9
    assert working_size((256, 128), 480 * 832, (16, 16)) == (448, 896)
    assert working_size((32, 32), 32 * 32, (4, 4)) == (32, 32)  # a backbone of multiple 4 (VAE 4 x patch 1)
    assert working_size((100, 30), 1024, (4, 4)) == (16, 60)


def test_the_size_multiple_comes_from_the_backbone():
    from types import SimpleNamespace

    from motionbench.backbones import load_backbone

    assert size_multiple(load_backbone("tiny")) == (16, 16)  # VAE factor 8 x patch 2, as Wan2.1
    # the geometry of a codec with spatial factor 4 and a (1, 1, 1) patch (the toy world's backbone)
    toy = SimpleNamespace(spatial_factor=4, transformer=SimpleNamespace(config=SimpleNamespace(patch_size=(1, 1, 1))))
    assert size_multiple(toy) == (4, 4)


def test_every_wan_method_sees_and_returns_the_references_whole_view(tmp_path, monkeypatch):
    """Training size == sampling size, equal across methods, at the clip's aspect; nothing is cropped."""
    assert {"fym", "two-stage-lora", "motiondirector", "ditflow", "base"} <= set(WAN_METHODS)
    clip = Clip(ramp(textured_frames(17, (96, 48), seed=2, shift=2)), fps=8.0)  # 2:1, moving texture in blue
    reference = Reference("wide", "camera", clip, ("a red car drives",), key=Reference.content_key(clip))
    request = GenerationRequest("a red car drives", seed=0, num_frames=17, size=(64, 32), fps=8.0)
    sizes = {}
    for name in WAN_METHODS:
        cls = load_method_class(name)
        method = cls(build_config(cls, ["preset=tiny"]))
        b = method.backbone()
        seen: list[tuple[int, int]] = []
        encoded: list[np.ndarray] = []
        hook = b.transformer.register_forward_pre_hook(
            lambda module, args, kwargs: seen.append(tuple(kwargs["hidden_states"].shape[-2:])), with_kwargs=True)
        real_encode, real_decode = b.encode_video, b.decode
        monkeypatch.setattr(b, "encode_video", lambda frames: (encoded.append(frames), real_encode(frames))[1])
        # the tiny model's output means nothing; a ramp of the sampled size shows what the output mapping keeps
        monkeypatch.setattr(b, "decode", lambda latents: ramp(real_decode(latents)))
        try:
            state = method.fit(reference, tmp_path / name)
            fit_sizes = set(seen)
            seen.clear()
            video = method.generate(state, reference, request)
        finally:
            hook.remove()
        if not fit_sizes and not encoded:  # `base` never looks at the reference: only its sampling size counts
            fit_sizes = set(seen)
        assert len(fit_sizes) == 1 and set(seen) == fit_sizes, (name, fit_sizes, set(seen))
        (h, w), = fit_sizes
        sizes[name] = (h * b.spatial_factor, w * b.spatial_factor)
        assert all(f.shape[1:3] == sizes[name] for f in encoded), name
        for frames in encoded:
            assert_whole_view(frames, f"{name} training frames")
        assert video.shape == (17, 32, 64, 3)
        assert_whole_view(video, f"{name} output")
    assert len(set(sizes.values())) == 1, sizes  # every method works at one size
    (h, w), = set(sizes.values())
    assert w == 2 * h  # the clip's aspect ratio


# -- expected slices (diffusers-style): fym and two-stage-lora on the tiny model -------------------

SLICE_KEY = "blocks.1.attn1.to_v.lora_B.weight"
EXPECTED = {
    "fym": {
        "lora": [0.0, 0.0, 0.0, 0.0, -0.0014980720588937402, -0.007460814900696278, 0.0006542254704982042,
                 0.0034658247604966164],
        "video": [[[133, 151, 116], [125, 134, 118], [123, 141, 121], [116, 138, 122]],
                  [[190, 121, 112], [119, 93, 113], [129, 91, 148], [132, 83, 110]],
                  [[210, 139, 110], [166, 101, 78], [154, 57, 83], [144, 72, 83]]],
    },
    "two-stage-lora": {
        "lora": [0.0083893071860075, 0.004700164310634136, 0.010891861282289028, -0.004212979692965746,
                 0.0004589630989357829, -0.009013313800096512, -0.002232629107311368, -0.004565804731100798],
        "video": [[[133, 151, 116], [125, 134, 118], [123, 141, 121], [116, 138, 122]],
                  [[190, 121, 112], [119, 93, 113], [129, 91, 147], [132, 83, 110]],
                  [[210, 139, 110], [166, 101, 78], [155, 57, 83], [144, 72, 83]]],
    },
}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_expected_output_slices(name, tmp_path):
    """A slice of the temporal LoRA and of the video, fitted and sampled with the ``tiny`` preset.

    If this fails after a deliberate change (training, sampling, defaults), print the new values and
    update ``EXPECTED`` in the same commit, saying why.
    """
    clip = Clip(textured_frames(17, (64, 64), seed=5, shift=2), fps=8.0)
    reference = Reference("t", "camera", clip, ("a dog",), key=Reference.content_key(clip))
    cls = load_method_class(name)
    method = cls(build_config(cls, ["preset=tiny"]))
    state = method.fit(reference, tmp_path)
    lora = state.adapters["temporal"].tensors[SLICE_KEY][:, 0][::6][:8]
    video = method.generate(state, reference, GenerationRequest("a dog", 0, 9, (64, 64), 8.0))
    torch.testing.assert_close(lora, torch.tensor(EXPECTED[name]["lora"]), rtol=1e-3, atol=1e-5)
    got = video[[0, 4, 8], 32, ::16, :].astype(int)
    assert np.abs(got - np.array(EXPECTED[name]["video"])).max() <= 1, got.tolist()


# -- where every default comes from ----------------------------------------------------------------

@pytest.mark.parametrize("name", WAN_METHODS)
def test_methods_listing_names_the_source_of_every_default(name):
    from typer.testing import CliRunner

    from motionbench.cli import app

    cls = load_method_class(name)
    rows = describe_options(cls)
    missing = [r.name for r in rows if r.source.split(":")[0] not in SOURCES]
    assert not missing, f"{name}: defaults without a source: {missing}"
    result = CliRunner().invoke(app, ["methods", name])
    assert result.exit_code == 0, result.output
    lines = {line.split(":")[0].strip(): line for line in result.output.splitlines() if line.startswith("  ")
             and " = " in line}
    for row in rows:
        assert row.name in lines, (name, row.name)
        assert f"= {row.default}" in lines[row.name] and f"({row.source.split(':')[0]}" in lines[row.name], \
            lines[row.name]
