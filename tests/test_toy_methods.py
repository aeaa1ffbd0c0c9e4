"""The toy world as the methods see it: reference captions, the {caption} training prompt, the toy presets."""

from __future__ import annotations

from pathlib import Path

import pytest

from motionbench.bench.clips import sample_caption
from motionbench.bench.manifest import load_manifest, parse_manifest
from motionbench.errors import ConfigError
from motionbench.methods.base import Reference
from motionbench.methods.config import build_config
from motionbench.methods.registry import load_method_class
from motionbench.run.references import load_reference_clip, make_reference

TOY = Path(__file__).resolve().parents[1] / "data" / "toy.yaml"


def test_toy_samples_have_the_caption_of_their_look_and_a_manifest_caption_wins(tmp_path):
    manifest = load_manifest(TOY)
    captions = {s.id: sample_caption(s) for s in manifest.samples}
    assert captions["toy-object-line"] == "a green circle on a gray background"
    assert captions["toy-camera-pan"] == "red and yellow checks"
    assert captions["toy-human-jump"] == "a white stick figure on a black background"
    for sample in manifest.samples:  # every prompt asks for another look than the reference's
        assert captions[sample.id] not in sample.prompts
    text = TOY.read_text().replace("    category: camera\n", "    category: camera\n    caption: \"my own words\"\n", 1)
    (tmp_path / "toy.yaml").write_text(text)
    first = load_manifest(tmp_path / "toy.yaml").samples[0]
    assert sample_caption(first) == "my own words"
    bad = TOY.read_text().replace("    category: camera\n", "    category: camera\n    caption: 3\n", 1)
    (tmp_path / "bad.yaml").write_text(bad)
    _, problems = parse_manifest(tmp_path / "bad.yaml")
    assert any("field 'caption' must be a non-empty string" in str(p) for p in problems)


def test_reference_key_depends_on_the_caption():
    sample = load_manifest(TOY).samples[3]
    clip, _ = load_reference_clip(sample)
    ref = make_reference(sample, clip)
    assert ref.caption == sample_caption(sample)
    assert ref.key == Reference.content_key(clip, ref.caption) != Reference.content_key(clip)


@pytest.mark.parametrize("name", ["fym", "two-stage-lora", "motiondirector", "ditflow", "base"])
def test_every_transfer_method_has_a_toy_preset_on_the_toy_model(name):
    cls = load_method_class(name)
    cfg = build_config(cls, ["preset=toy"])
    assert (cfg.model, cfg.train_frames, cfg.pixels, cfg.negative_prompt) == ("toy", 33, 32 * 32, "")
    if name in ("fym", "two-stage-lora", "motiondirector"):
        assert cfg.train_prompt == "{caption}"


def test_caption_training_prompt_is_filled_in_or_refused_with_the_fix():
    cls = load_method_class("fym")
    method = cls(build_config(cls, ["preset=tiny", "train_prompt=a clip of {caption}"]))
    sample = load_manifest(TOY).samples[0]
    clip, _ = load_reference_clip(sample)
    assert method.training_prompt(make_reference(sample, clip)) == "a clip of red and yellow checks"
    bare = Reference("real-1", "camera", clip, ("x",), key="k")
    with pytest.raises(ConfigError, match=r"sample 'real-1' has none; add `caption: \.\.\.`"):
        method.training_prompt(bare)
    plain = cls(build_config(cls, ["preset=tiny"]))
    assert plain.training_prompt(bare) == "a video"
