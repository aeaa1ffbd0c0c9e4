"""The recapture interface's contract, checked on every registered method that serves the task:
what the runner relies on (the source's frames at its size, uint8, deterministic per seed, a
fitted state that survives save and load). FYC's own tuning is tested in test_fyc.py and through the
runner in test_recapture_runner.py; here it is held to the same contract without a fit (its tiny
fit is the slow part)."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).parent / "fixtures"))
from recapture_support import write_scene_manifest  # noqa: E402

from motionbench.bench.manifest import load_manifest  # noqa: E402
from motionbench.methods.registry import METHODS, load_method_class, methods_of_task  # noqa: E402
from motionbench.recapture.sources import load_recapture_sample  # noqa: E402
from motionbench.recapture.task import RecaptureMethod, RecaptureRequest  # noqa: E402
from motionbench.run.execute import MethodChoice  # noqa: E402
from motionbench.tasks import MOTION_TRANSFER, RECAPTURE  # noqa: E402

BUILT_IN = {"fyc", "reference", "warp-inpaint-untuned", "warp-only"}
NAMES = methods_of_task(RECAPTURE)


def test_the_built_in_recapture_methods_are_registered_and_the_others_serve_motion_transfer() -> None:
    assert BUILT_IN <= set(NAMES)
    for name in METHODS.names():
        assert set(load_method_class(name).tasks) <= {MOTION_TRANSFER, RECAPTURE}, name
    assert "fym" not in NAMES and "reference" in methods_of_task(MOTION_TRANSFER)


@pytest.fixture(scope="module")
def source(tmp_path_factory):
    manifest = write_scene_manifest(tmp_path_factory.mktemp("contract") / "data",
                                    {"ball": (2, "ball", "dynamic_scene", ["orbit:phi=12"])})
    sample = load_manifest(manifest).samples[0]
    return load_recapture_sample(sample).source, sample.paths[0]


def options(name: str) -> tuple[str, ...]:
    return ("preset=tiny",) if "tiny" in getattr(load_method_class(name), "presets", {}) else ()


@pytest.mark.parametrize("name", sorted(set(NAMES) - {"fyc"}))
def test_a_recapture_method_returns_the_source_frames_at_its_size_deterministically(name, source, tmp_path) -> None:
    clip, path = source
    method = MethodChoice(name, options(name)).instantiate("cpu", RECAPTURE)
    assert isinstance(method, RecaptureMethod)
    try:
        state = None
        if method.fits:
            (tmp_path / "fit").mkdir()
            method.save_state(method.fit(clip, tmp_path / "fit"), tmp_path / "state")
            state = method.load_state(tmp_path / "state")
        first = method.generate(state, clip, RecaptureRequest(path, seed=0)).frames
        again = method.generate(state, clip, RecaptureRequest(path, seed=0)).frames
    finally:
        method.close()
    assert first.dtype == np.uint8 and first.shape == (clip.num_frames, clip.size[1], clip.size[0], 3)
    assert np.array_equal(first, again), f"{name}: the same seed gave another video"


def test_fyc_serves_the_task_with_the_interface_the_runner_needs() -> None:
    method = MethodChoice("fyc", ("preset=tiny",)).instantiate("cpu", RECAPTURE)
    try:
        assert isinstance(method, RecaptureMethod) and method.fits and method.needs_depth
        assert method.chains_paths()  # temporal packing hands a context from path to path
        key = method.state_key()
    finally:
        method.close()
    unpacked = MethodChoice("fyc", ("preset=tiny", "temporal_packing=false")).instantiate("cpu", RECAPTURE)
    try:
        assert not unpacked.chains_paths()
        assert unpacked.state_key() == key  # packing happens at inference: the same tuned state serves both
    finally:
        unpacked.close()
    longer = MethodChoice("fyc", ("preset=tiny", "steps=4")).instantiate("cpu", RECAPTURE)
    try:
        assert longer.state_key() != key
    finally:
        longer.close()
