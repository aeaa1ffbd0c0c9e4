"""What `validate` passes, `run` can do: the stated limits on manifests and command-line options.

Every value here once passed its check and failed later (a file name too long, a 30 GB allocation,
NaN in a JSON file, a quadratic seed list); each must now be refused up front, naming the field or
option and the limit.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

sys.path.insert(0, str(Path(__file__).parent / "fixtures"))
from runner_support import use_plugin  # noqa: E402

from motionbench import limits  # noqa: E402
from motionbench.bench.manifest import load_manifest  # noqa: E402
from motionbench.bench.validate import validate_manifest  # noqa: E402
from motionbench.cli import app  # noqa: E402
from motionbench.errors import ConfigError, ManifestError  # noqa: E402
from motionbench.methods.config import build_config  # noqa: E402
from motionbench.run.plan import parse_seeds  # noqa: E402

SYNTHETIC = {"synthetic": {"generator": "camera", "seed": 1, "params": {"path": "pan"}}}

# (what is wrong, the sample's fields, a phrase the problem must contain)
BAD_SAMPLES = [
    ("300-character id", {"id": "a" * 300}, "at most 64"),
    ("id with shell syntax", {"id": "a;rm -rf x"}, "field 'id' must match"),
    ("id starting with '-'", {"id": "-rf"}, "field 'id' must match"),
    ("id with a slash", {"id": "../../etc"}, "field 'id' must match"),
    ("100000x100000 size", {"size": [100000, 100000]}, "each an integer from 16 to 4096"),
    ("size of floats", {"size": [64.5, 64]}, "field 'size'"),
    ("fps .nan", {"fps": float("nan")}, "field 'fps' must be a finite number"),
    ("fps .inf", {"fps": float("inf")}, "field 'fps' must be a finite number"),
    ("fps 0", {"fps": 0}, "field 'fps'"),
    ("box with .nan", {"box": [0, 0, float("nan"), 10]}, "field 'box'"),
    ("box with .inf", {"box": [0, 0, float("inf"), 10]}, "field 'box'"),
    ("2 million frames", {"frames": {"start": 0, "count": 2_000_000}}, "'frames.count' must be from 2 to 1024"),
    ("one frame", {"frames": {"start": 0, "count": 1}}, "'frames.count' must be from 2 to 1024"),
    ("frames past the synthetic limit", {"frames": {"start": 5000, "count": 16}}, "at most 1024 frames"),
    ("a clip over the memory budget", {"frames": {"count": 1000}, "size": [4096, 4096]}, "GiB"),
    ("negative generator seed", {"source": {"synthetic": {"generator": "camera", "seed": -1}}}, "source.synthetic.seed"),
    ("a NUL in a prompt", {"prompts": ["a\x00b"]}, "control character"),
    ("a 5000-character prompt", {"prompts": ["x" * 5000]}, "at most 4000"),
]


def _manifest(tmp_path: Path, sample: dict, defaults: dict | None = None) -> Path:
    body = {"id": "s", "category": "camera", "source": SYNTHETIC, "prompts": ["a cat"], **sample}
    doc = {"schema_version": 1, "name": "t", "categories": {"camera": {"description": "c"}}, "samples": [body]}
    if defaults:
        doc["defaults"] = defaults
    path = tmp_path / "m.yaml"
    path.write_text(yaml.safe_dump(doc))
    return path


@pytest.mark.parametrize("what, fields, phrase", BAD_SAMPLES, ids=[b[0] for b in BAD_SAMPLES])
def test_validate_refuses_what_run_cannot_do(tmp_path: Path, what: str, fields: dict, phrase: str) -> None:
    path = _manifest(tmp_path, fields)
    problems = [str(p) for p in validate_manifest(path, check_media=False)]
    assert any(phrase in p for p in problems), problems
    with pytest.raises(ManifestError, match="problem"):  # and `run` refuses it before any work
        load_manifest(path)


def test_defaults_are_checked_like_the_samples_that_inherit_them(tmp_path: Path) -> None:
    path = _manifest(tmp_path, {}, defaults={"num_frames": 0, "fps": float("nan"), "size": [8, 8]})
    text = "\n".join(str(p) for p in validate_manifest(path, check_media=False))
    assert "'defaults.num_frames' must be from 2 to 1024" in text and "'fps'" in text and "'size'" in text


def test_the_limits_themselves_are_accepted(tmp_path: Path) -> None:
    path = _manifest(tmp_path, {"id": "a" * limits.MAX_ID_LENGTH, "size": [limits.MAX_SIDE, limits.MIN_SIDE],
                                "frames": {"start": 0, "count": limits.MAX_FRAMES}, "fps": limits.MAX_FPS,
                                "prompts": ["line one\nline two\twith a tab", "x" * limits.MAX_PROMPT_CHARS]})
    assert validate_manifest(path, check_media=False) == []


@pytest.mark.parametrize("text, message", [
    ("0-200000", "more than 1000 seeds"),
    ("0-999,5000-5999", "more than 1000 seeds"),
    ("5-3", "the range '5-3' is empty"),
    ("-1", "not a seed"),
    ("1e3", "not a seed"),
    ("9" * 5000, "not a seed"),
    ("4294967296", "seeds go from 0 to 4294967295"),
    (",", "names no seed"),
])
def test_seeds_are_bounded_before_a_range_is_expanded(text: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        parse_seeds(text)


def test_seeds_within_the_limit_parse_in_order_without_repeats() -> None:
    assert parse_seeds("3, 1-2, 2, 0") == (3, 1, 2, 0)
    assert parse_seeds(f"0-{limits.MAX_SEEDS - 1}") == tuple(range(limits.MAX_SEEDS))
    assert parse_seeds("4294967295") == (limits.MAX_SEED,)


@pytest.mark.parametrize("args, message", [
    (["--num-frames", "0"], "--num-frames must be from 2 to 1024"),
    (["--num-frames", "100000"], "--num-frames must be from 2 to 1024"),
    (["--size", "100000x100000"], "each side from 16 to 4096"),
    (["--size", "64x0"], "each side from 16 to 4096"),
    (["--size", "9" * 50 + "x64"], "each side from 16 to 4096"),
    (["--num-frames", "1024", "--size", "4096x4096"], "GiB"),
    (["--seeds", "0-200000"], "more than 1000 seeds"),
])
def test_run_options_get_the_manifest_limits(tmp_path: Path, args: list[str], message: str) -> None:
    manifest = _manifest(tmp_path, {})
    result = CliRunner().invoke(app, ["run", "--method", "static", "--manifest", str(manifest),
                                      "--out", str(tmp_path / "run"), "--device", "cpu", "--no-score", *args])
    assert isinstance(result.exception, ConfigError) and message in str(result.exception), result.output
    assert not (tmp_path / "run").exists()  # refused before anything was written


@pytest.mark.parametrize("grid", ["1", "100000"])
def test_grid_options_get_the_limits(tmp_path: Path, grid: str) -> None:
    result = CliRunner().invoke(app, ["metric", "motion-fidelity", "-r", "a.mp4", "-g", "b.mp4", "--tracker", "lk",
                                      "--grid", grid])
    assert isinstance(result.exception, ConfigError) and "--grid" in str(result.exception) \
        and "from 2 to 256" in str(result.exception)
    result = CliRunner().invoke(app, ["metaeval", "--grid", grid])
    assert isinstance(result.exception, ConfigError) and "from 2 to 256" in str(result.exception)


@pytest.mark.parametrize("value", ["nan", "NaN", "inf", "-inf", "1e999"])
def test_numeric_method_options_reject_non_finite_values_up_front(value: str) -> None:
    use_plugin()
    from motionbench.methods.registry import load_method_class

    cls = load_method_class("fitcount")
    with pytest.raises(ConfigError, match=rf"fitcount: option gain={value!r} must be a finite number"):
        build_config(cls, [f"gain={value}"])


def test_non_finite_values_from_a_mapping_or_preset_are_refused_too() -> None:
    use_plugin()
    from motionbench.methods.registry import load_method_class

    cls = load_method_class("fitcount")
    with pytest.raises(ConfigError, match=r"option gain=nan must be a finite number"):
        build_config(cls, {"gain": float("nan")})
    assert build_config(cls, ["gain=2.5"]).gain == 2.5
