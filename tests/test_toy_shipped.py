"""The toy models MotionBench ships: they load through the real loaders and know their world.

The weights under ``motionbench/assets/toy/`` are trained by ``motionbench toy train`` /
``train-clip`` (never in CI). These tests check what a user relies on: the T2V model loads as a Wan
backbone through the same loader as real weights and draws a held-out caption in its colours; the
toy CLIP puts a frame's true caption first and scores a toy run through ``--clip toy``.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from motionbench.bench.synthetic import render
from motionbench.bench.toy import COLOURS, all_looks, params_for_look
from motionbench.bench.toy.detect import look_matches
from motionbench.toy.assets import toy_clip_folder, toy_t2v_folder

GENERATOR = {"camera": "toy_camera", "single_object": "toy_single_object", "multi_object": "toy_multi_object",
             "human": "toy_human"}


@pytest.fixture(scope="module")
def toy_backbone():
    """The shipped T2V model, loaded once for the module through the same loader as real Wan weights."""
    from motionbench.backbones import load_backbone

    return load_backbone("toy")


def _held_out(category: str, k: int):
    return all_looks(category, "held_out")[k]


def test_shipped_t2v_model_loads_as_a_wan_backbone_with_its_card(toy_backbone):
    from diffusers import WanTransformer3DModel

    from motionbench.toy.codec import ToyPCACodec

    folder = toy_t2v_folder()
    backbone = toy_backbone
    assert isinstance(backbone.transformer, WanTransformer3DModel) and isinstance(backbone.vae, ToyPCACodec)
    assert backbone.latent_shape(33, 32, 32) == (1, 48, 9, 8, 8)
    sizes = sum(p.stat().st_size for p in folder.parent.rglob("*.safetensors"))
    assert sizes <= 25 * 2**20, f"shipped toy weights are {sizes / 2**20:.1f} MiB (limit 25)"
    card = (folder / "README.md").read_text()
    record = json.loads((folder / "training.json").read_text())
    assert f"- steps: {record['step']} " in card and (folder / "loss.png").stat().st_size > 1000
    for part in ("transformer", "text_encoder", "vae"):  # a card beside every folder of weights
        assert (folder / part / "README.md").read_text() == card.replace("](loss.png)", "](../loss.png)")
    assert f"{json.loads((toy_clip_folder() / 'training.json').read_text())['settings']['steps']} steps" in \
        (toy_clip_folder() / "README.md").read_text()


@pytest.mark.parametrize("category,k", [("single_object", 0), ("human", 1)])
def test_shipped_t2v_model_draws_a_held_out_caption_in_its_colours(toy_backbone, category, k):
    from motionbench.backbones import generate_video

    look = _held_out(category, k)
    frames = generate_video(toy_backbone, look.caption(), num_frames=33, height=32, width=32, steps=12,
                            guidance=4.0, shift=2.0, seed=0)
    match = look_matches(frames, look)
    assert match.ok, f"{look.caption()!r} drawn as {match.shown}"


def _distinct_looks(category: str, n: int):
    """The first ``n`` held-out looks that differ in more than colour order ("red and blue checks" and
    "blue and red checks" are the same pattern shifted by one check)."""
    seen, out = set(), []
    for look in all_looks(category, "held_out"):
        key = look.caption() if category != "camera" else frozenset(look.colours)
        if key not in seen:
            seen.add(key)
            out.append(look)
        if len(out) == n:
            return out
    raise AssertionError(f"fewer than {n} distinct held-out {category} looks")


def _frames_and_captions(n: int):
    rng = np.random.default_rng(3)
    frames, looks = [], []
    for category in ("single_object", "human", "camera"):
        for look in _distinct_looks(category, n):
            clip = render(GENERATOR[category], seed=int(rng.integers(1000)), params=params_for_look(GENERATOR[category], look),
                          num_frames=33, size=(32, 32), fps=8.0)
            frames.append(clip.frames[16])
            looks.append(look)
    return np.stack(frames), looks


def test_toy_clip_puts_the_true_caption_first_for_held_out_frames():
    from motionbench.toy.clip import ToyClipTokenizer, frames_to_input, load_model

    model, _ = load_model(toy_clip_folder())
    frames, looks = _frames_and_captions(3)
    captions = [look.caption() for look in looks]
    tokenizer = ToyClipTokenizer()
    with torch.no_grad():
        image = model.encode_image(frames_to_input(frames), normalize=True)
        text = model.encode_text(tokenizer(captions), normalize=True)
    ranked = (image @ text.T).argmax(dim=1).tolist()
    assert ranked == list(range(len(captions))), [(c, captions[r]) for c, r in zip(captions, ranked)]


def test_clip_toy_scores_text_alignment_of_a_toy_clip():
    from motionbench.metrics.clip import ClipEncoder

    encoder = ClipEncoder("toy")
    assert encoder.backend.startswith("open_clip:") and "motionbench-toy" in encoder.backend
    look = _held_out("single_object", 2)
    clip = render("toy_single_object", seed=4, params=params_for_look("toy_single_object", look), num_frames=9,
                  size=(32, 32), fps=8.0)
    image = encoder.encode_frames(clip.frames)
    other_colour = next(c for c in COLOURS if c not in look.caption())
    true, wrong = ((image @ encoder.encode_text(text)).mean()
                   for text in (look.caption(), look.caption().replace(look.things[0].colour, other_colour)))
    assert true > wrong + 0.05
