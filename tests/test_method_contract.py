"""The method contract, checked once for every registered method (its ``tiny`` preset where it has one).

* every preset builds (and the built-in ones are ``Config`` instances, so a misspelt option fails
  at import; plug-ins may give mappings, checked when used);
* an unknown option is refused, naming it and suggesting the nearest;
* ``state_key`` ignores exactly the method's ``sampling_options``: changing one never refits,
  changing any other option does;
* ``fit -> save_state -> load_state -> generate`` in a fresh instance gives the same video as the
  fitted instance, of the requested shape, deterministically.
"""

from __future__ import annotations

import dataclasses
import os
import typing
from pathlib import Path
from typing import Any

import numpy as np
import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from motionbench.errors import ConfigError  # noqa: E402
from motionbench.methods.base import GenerationRequest, Reference  # noqa: E402
from motionbench.methods.config import build_config  # noqa: E402
from motionbench.methods.registry import METHODS, load_method_class  # noqa: E402
from motionbench.video import Clip  # noqa: E402

from conftest import textured_frames  # noqa: E402

#: Methods without a tiny preset that need options to run at all.
OPTIONS = {"external": ["command=cp {reference} {output}", "resample=true"]}  # a real command, run for real
# The motion-transfer interface's contract (recapture methods keep theirs in test_recapture_contract.py).
NAMES = [n for n in METHODS.names() if "motion_transfer" in load_method_class(n).tasks]


def contract_options(cls: type) -> list[str]:
    return ["preset=tiny"] if "tiny" in (cls.presets or {}) else list(OPTIONS.get(cls.name, []))


def make(cls: type, *extra: str) -> Any:
    return cls(build_config(cls, [*contract_options(cls), *extra]))


@pytest.fixture(scope="module")
def reference() -> Reference:
    clip = Clip(textured_frames(17, (64, 48), seed=3, shift=2), fps=8.0)  # non-square, moving
    return Reference("texture", "camera", clip, ("a red car drives",), key=Reference.content_key(clip))


def other_value(value: Any, annotation: Any) -> Any:
    """A different valid-typed value of an option (for checking what ``state_key`` depends on)."""
    if typing.get_origin(annotation) is typing.Literal:
        return next(a for a in typing.get_args(annotation) if a != value)
    if isinstance(value, bool):
        return not value
    if isinstance(value, (int, float)):
        return value + 1
    if isinstance(value, str):
        return value + "x"
    if isinstance(value, tuple):
        return (*value, "x")
    if value is None:
        return "x"
    raise AssertionError(f"no other value for {value!r} ({annotation})")


def test_the_built_in_methods_are_registered():
    assert {"fym", "two-stage-lora", "motiondirector", "ditflow", "reference", "static", "shuffle", "noise",
            "external"} <= set(NAMES)


@pytest.mark.parametrize("name", NAMES)
def test_presets_build_and_are_configs(name):
    cls = load_method_class(name)
    ours = cls.__module__.split(".")[0] in ("motionbench", "motionbench_fym", "motionbench_baselines")  # plug-ins may use mappings
    for preset, value in (cls.presets or {}).items():
        assert isinstance(value, cls.Config) or not ours, f"{name}: preset {preset} is a {type(value).__name__}"
        assert isinstance(build_config(cls, [f"preset={preset}"]), cls.Config)


@pytest.mark.parametrize("name", NAMES)
def test_unknown_options_are_refused(name):
    cls = load_method_class(name)
    with pytest.raises(ConfigError, match="unknown option 'no_such_option'"):
        build_config(cls, [*contract_options(cls), "no_such_option=1"])
    fields = [f.name for f in dataclasses.fields(cls.Config)]
    if fields:
        typo = fields[0][:-1] + "_"
        with pytest.raises(ConfigError, match=f"did you mean '{fields[0]}'"):
            build_config(cls, [*contract_options(cls), f"{typo}=1"])


@pytest.mark.parametrize("name", NAMES)
def test_state_key_ignores_exactly_the_sampling_options(name):
    cls = load_method_class(name)
    config = build_config(cls, contract_options(cls))
    base = cls(config).state_key()
    hints = typing.get_type_hints(cls.Config)
    fields = {f.name for f in dataclasses.fields(cls.Config)}
    assert set(cls.sampling_options) <= fields, f"{name}: sampling_options name unknown options"
    from motionbench.errors import ConfigError

    for field in sorted(fields):
        changed = dataclasses.replace(config, **{field: other_value(getattr(config, field), hints[field])})
        try:
            key = cls(changed).state_key()
        except ConfigError:  # a combination the method refuses (external: shell=true with {placeholders}) has no state
            continue
        if field in cls.sampling_options:
            assert key == base, f"{name}: sampling option {field} changed the state key"
        else:
            assert key != base, f"{name}: option {field} does not change the state key"


@pytest.mark.parametrize("name", NAMES)
def test_fit_save_load_generate_roundtrip(name, reference, tmp_path):
    cls = load_method_class(name)
    method = make(cls)
    state = method.fit(reference, tmp_path / "work")
    request = GenerationRequest("a red car drives", seed=3, num_frames=10, size=(40, 24), fps=8.0)
    video = method.generate(state, reference, request)
    assert video.shape == (10, 24, 40, 3) and video.dtype == np.uint8
    assert np.array_equal(video, method.generate(state, reference, request)), f"{name} is not deterministic"

    saved = tmp_path / "state"
    saved.mkdir()
    method.save_state(state, saved)
    (saved / "fit.json").write_text('{"fit_seconds": 1.0}')  # the runner writes its own record beside the state
    fresh = make(cls)
    again = fresh.generate(fresh.load_state(saved), reference, request)
    assert np.array_equal(again, video), f"{name}: a loaded state generates another video"
    method.close()
    fresh.close()



def test_presets_are_checked_and_one_preset_at_most():
    from dataclasses import dataclass

    from motionbench.methods.base import Method

    @dataclass
    class Options:
        rank: int = 4

    class Plugin(Method):  # a plug-in's presets may be mappings: their keys are checked when used
        name, summary, Config = "plugin", "test", Options
        presets = {"good": {"rank": 8}, "typo": {"rnak": 8}, "other": Options(rank=2)}

        def generate(self, state, reference, request):
            raise NotImplementedError

    assert build_config(Plugin, ["preset=good"]).rank == 8
    assert build_config(Plugin, ["preset=other", "rank=3"]).rank == 3
    with pytest.raises(ConfigError, match="preset 'typo' sets unknown option\\(s\\) rnak"):
        build_config(Plugin, ["preset=typo"])
    with pytest.raises(ConfigError, match="at most one preset"):
        build_config(Plugin, ["preset=good", "preset=other"])
    with pytest.raises(TypeError, match="rnak"):  # a Config-instance preset with a typo fails where it is written
        Options(rnak=8)
