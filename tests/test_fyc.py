"""Follow-Your-Creation on the tiny VACE: tuning lowers the loss, each ablation switch changes what runs."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from motionbench_baselines.recapture import WarpInpaintUntuned, WarpOnly
from motionbench_fyc.method import FollowYourCreation
from motionbench_fyc.pairs import TrainingClip, make_example
from motionbench_fyc.tuning import StageRecord, add_fyc_lora, tune_stage
from motionbench.backbones.flow import TrainBatch, training_step
from motionbench.backbones.vace import control_latents
from motionbench.bench.scenes import render_clip
from motionbench.methods.config import build_config
from motionbench.recapture.task import RecaptureRequest, SourceClip
from motionbench.recapture.trajectory import CameraPath


@pytest.fixture(scope="module")
def source() -> SourceClip:
    clip = render_clip(0, num_frames=9, size=(32, 32))
    return SourceClip("scene0", clip.source.frames, clip.fps, clip.intrinsics, clip.source.depth, "exact")


def make(cls, *options: str):
    return cls(build_config(cls, ["preset=tiny", *options]))


@pytest.fixture(scope="module")
def fitted(source):
    method = make(FollowYourCreation)
    state = method.fit(source)
    yield method, state
    method.close()


PATHS = [RecaptureRequest(CameraPath.parse("orbit:phi=15"), seed=0), RecaptureRequest(CameraPath.parse("orbit:phi=-15"), seed=0)]


def test_a_lora_stage_lowers_its_loss(fitted, source):
    method, _ = fitted
    backbone = method.session.backbone()
    from motionbench.backbones.lora import remove_loras

    remove_loras(backbone.transformer)
    method._active = None
    clip = TrainingClip(source.frames, source.depth, source.intrinsics)
    example = make_example(clip, np.random.default_rng(0), max_angle=15, kinds=("point_cloud",))
    embeds = backbone.encode_prompts(["a video"])
    batch = TrainBatch(latents=backbone.encode_video(example.target), prompt_embeds=embeds,
                       conditioning={"control_hidden_states": control_latents(backbone, example.damaged, example.visible)})

    def held_out_loss() -> float:  # the same 16 noise draws and noise levels every time
        g = torch.Generator().manual_seed(123)
        with torch.no_grad():
            return float(np.mean([training_step(backbone, batch, g).loss.item() for _ in range(16)]))

    lora = add_fyc_lora(backbone, rank=8, alpha=8.0)
    before = held_out_loss()  # LoRA B starts at zero: this is the base model
    record = StageRecord(index=0, max_angle=15, steps=25)
    tune_stage(backbone, lora, lambda rng: example, embeds, steps=25, lr=3e-3, weight_decay=0.0, shift=5.0,
               timestep_sampling="uniform", seed=0, record=record, pool=1)
    after = held_out_loss()
    remove_loras(backbone.transformer)
    assert len(record.losses) == 25 and record.mask_kinds == {"point_cloud": 25}
    assert after < 0.97 * before


def test_composite_masks_switch_changes_the_masks_trained_on(source):
    on = make(FollowYourCreation, "iterative=false", "example_pool=4", "mask_probabilities=0,1,1")
    off = make(FollowYourCreation, "iterative=false", "example_pool=4", "mask_probabilities=0,1,1",
               "composite_masks=false")
    kinds_on = on.fit(source).stages[0].mask_kinds
    kinds_off = off.fit(source).stages[0].mask_kinds
    assert set(kinds_on) <= {"editing", "union"} and sum(kinds_on.values()) == 5
    assert kinds_off == {"point_cloud": 5}


def test_iterative_switch_changes_the_stages(fitted, source):
    _, state = fitted  # tiny preset: iterative, stage angles 10 then 20
    assert [(s.max_angle, s.steps) for s in state.stages] == [(10.0, 3), (20.0, 2)]
    assert state.stages[0].origins == {"source": 3}
    assert state.stages[1].own_outputs == ["own:orbit:phi=10"]
    assert set(state.stages[1].origins) <= {"source", "own:orbit:phi=10"} and sum(state.stages[1].origins.values()) == 2
    single = make(FollowYourCreation, "iterative=false").fit(source)
    assert [(s.max_angle, s.steps) for s in single.stages] == [(20.0, 5)]  # same step budget, widest angle
    assert single.stages[0].own_outputs == [] and single.stages[0].origins == {"source": 5}


def test_temporal_packing_switch_changes_the_second_path(fitted, source):
    method, state = fitted
    first, second = method.generate_paths(state, source, PATHS)
    assert first.info["packed_frames"] == 0 and second.info["packed_frames"] == 2
    assert first.context.frames.shape == (2, 32, 32, 3)
    # The context is the first path's most-inpainted frames: the orbit's last frames.
    assert first.context.indices == (7, 8)
    alone = make(FollowYourCreation, "temporal_packing=false")
    alone_second = alone.generate(state, source, PATHS[1], context=first.context)
    assert alone_second.info["packed_frames"] == 0 and alone_second.context is None
    assert np.array_equal(alone.generate(state, source, PATHS[0]).frames, first.frames)
    assert not np.array_equal(alone_second.frames, second.frames)
    alone.close()


def test_state_round_trips_and_the_key_ignores_generation_options(fitted, source, tmp_path):
    method, state = fitted
    method.save_state(state, tmp_path)
    loaded = method.load_state(tmp_path)
    assert [s.to_dict() for s in loaded.stages] == [s.to_dict() for s in state.stages]
    assert np.array_equal(method.generate(loaded, source, PATHS[0]).frames, method.generate(state, source, PATHS[0]).frames)
    untuned = method.generate(None, source, PATHS[0])
    assert not np.array_equal(untuned.frames, method.generate(state, source, PATHS[0]).frames)
    key = method.state_key()
    assert make(FollowYourCreation, "packing_frames=3").state_key() == key
    assert make(FollowYourCreation, "rank=8").state_key() != key
    # The rounds' own re-renderings use the inference options, so they matter for iterative fits only.
    assert make(FollowYourCreation, "guidance=2").state_key() != key
    flat = make(FollowYourCreation, "iterative=false")
    assert make(FollowYourCreation, "iterative=false", "guidance=2").state_key() == flat.state_key()


def test_warp_only_keeps_holes_black_and_copies_the_source_for_the_identity(source):
    warp = WarpOnly(build_config(WarpOnly, []))
    same = warp.generate(None, source, RecaptureRequest(CameraPath.parse("identity")))
    assert np.array_equal(same.frames, source.frames) and same.visible.all()
    out = warp.generate(None, source, PATHS[0])
    assert (~out.visible).any()
    assert (out.frames[~out.visible] == 0).all()


def test_warp_inpaint_untuned_fills_the_holes_deterministically(source):
    method = make(WarpInpaintUntuned)
    a = method.generate(None, source, PATHS[0])
    b = method.generate(None, source, PATHS[0])
    c = method.generate(None, source, RecaptureRequest(PATHS[0].path, seed=1))
    assert np.array_equal(a.frames, b.frames) and not np.array_equal(a.frames, c.frames)
    assert a.frames[~a.visible].std() > 1.0  # invented content, not the warp's black
    big = method.generate(None, source, RecaptureRequest(PATHS[0].path, size=(48, 40)))
    assert big.frames.shape == (9, 40, 48, 3) and big.visible.shape == (9, 40, 48)
    method.close()
