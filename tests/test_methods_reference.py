"""The reference methods: what each returns, determinism by seed, resampling to the request."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).parent / "fixtures"))
from runner_support import moving_texture  # noqa: E402

from motionbench.methods.base import GenerationRequest, Reference  # noqa: E402
from motionbench.methods.config import build_config  # noqa: E402
from motionbench.methods.reference import non_identity_permutation  # noqa: E402
from motionbench.methods.registry import load_method_class  # noqa: E402
from motionbench.video import Clip  # noqa: E402

FRAMES = moving_texture(9, (64, 48))


def generate(name: str, seed: int = 0, num_frames: int = 9, size: tuple[int, int] = (64, 48)) -> np.ndarray:
    cls = load_method_class(name)
    method = cls(build_config(cls, []), "cpu")
    clip = Clip(FRAMES.copy(), 8.0)
    ref = Reference("s", "camera", clip, ("p",), key=Reference.content_key(clip))
    out = method.generate(None, ref, GenerationRequest("a prompt", seed, num_frames, size, 8.0))
    assert out.dtype == np.uint8 and out.shape == (num_frames, size[1], size[0], 3)
    return out


def test_reference_returns_the_clip_and_resamples_it() -> None:
    assert np.array_equal(generate("reference"), FRAMES)
    five = generate("reference", num_frames=5)
    assert np.array_equal(five, FRAMES[[0, 2, 4, 6, 8]])  # evenly spaced, first and last kept
    half = generate("reference", size=(32, 24))
    assert np.abs(half.astype(int) - FRAMES[:, ::2, ::2].astype(int)).mean() < 20


def test_static_repeats_the_first_frame() -> None:
    out = generate("static", num_frames=6)
    assert all(np.array_equal(f, FRAMES[0]) for f in out)


def test_shuffle_permutes_frames_by_seed_never_identity() -> None:
    a, b, a2 = generate("shuffle", seed=0), generate("shuffle", seed=1), generate("shuffle", seed=0)
    assert np.array_equal(a, a2) and not np.array_equal(a, b)
    # The same set of frames, in another order.
    order = [next(i for i in range(9) if np.array_equal(f, FRAMES[i])) for f in a]
    assert sorted(order) == list(range(9)) and order != list(range(9))
    for seed in range(50):
        perm = non_identity_permutation(3, seed)
        assert sorted(perm) == [0, 1, 2] and list(perm) != [0, 1, 2]


def test_noise_is_seeded_uniform_noise() -> None:
    a, b = generate("noise", seed=3), generate("noise", seed=4)
    assert np.array_equal(a, generate("noise", seed=3)) and not np.array_equal(a, b)
    assert 120 < a.mean() < 135 and a.std() > 70  # uniform on 0..255: mean 127.5, std 73.9


@pytest.mark.parametrize("name", ["reference", "static", "shuffle", "noise"])
def test_reference_methods_take_no_options(name: str) -> None:
    from motionbench.errors import ConfigError

    with pytest.raises(ConfigError, match=rf"{name}: unknown option 'rank'; options: $"):
        build_config(load_method_class(name), ["rank=8"])
