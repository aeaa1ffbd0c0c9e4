"""The external-command method: templates, quoting, spec files, fit states, failures and timeouts."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np
import psutil
import pytest

sys.path.insert(0, str(Path(__file__).parent / "fixtures"))
from runner_support import moving_texture, write_manifest  # noqa: E402

from motionbench.errors import ConfigError  # noqa: E402
from motionbench.methods.base import GenerationRequest, Reference  # noqa: E402
from motionbench.methods.config import build_config  # noqa: E402
from motionbench.methods.external import (ExternalCommandError, ExternalCommandMethod,  # noqa: E402
                                          ExternalCommandTimeout)
from motionbench.run.execute import MethodChoice  # noqa: E402
from motionbench.run.runner import RunConfig, execute_run  # noqa: E402
from motionbench.run.store import RunStore  # noqa: E402
from motionbench.video import Clip, read_video  # noqa: E402

# A stand-in for someone's repository: flips the reference left-right and writes it to --out,
# recording the arguments it was given.
TOOL = """
import json, sys
from motionbench.video import read_video, write_video
args = dict(zip(sys.argv[1::2], sys.argv[2::2]))
clip = read_video(args["--ref"], num_frames=int(args["--frames"]))
write_video(args["--out"], clip.frames[:, :, ::-1].copy(), clip.fps)
open(args["--out"] + ".args.json", "w").write(json.dumps(args))
"""


def method(*options: str) -> ExternalCommandMethod:
    cls = ExternalCommandMethod
    return cls(build_config(cls, list(options)), "cpu")


def reference() -> Reference:
    clip = Clip(moving_texture(9, (64, 64)), 8.0)
    return Reference("a", "camera", clip, ("p",), key=Reference.content_key(clip))


def test_command_gets_quoted_values_and_its_output_is_read_back(tmp_path: Path) -> None:
    tool = tmp_path / "tool.py"
    tool.write_text(TOOL)
    keep = tmp_path / "kept"
    m = method(f"command={sys.executable} {tool} --ref {{reference}} --prompt {{prompt}} --seed {{seed}} "
               f"--frames {{num_frames}} --out {{output}} && cp {{output}}.args.json {keep}")
    prompt = "a dog's \"best\" day; rm -rf $HOME `echo x`"
    ref = reference()
    frames = m.generate(None, ref, GenerationRequest(prompt, 3, 9, (64, 64), 8.0))
    import json

    args = json.loads(keep.read_text())
    assert args["--prompt"] == prompt and args["--seed"] == "3"  # passed through verbatim, never interpreted
    flipped = np.abs(frames.astype(int) - ref.clip.frames[:, :, ::-1]).mean()
    unflipped = np.abs(frames.astype(int) - ref.clip.frames).mean()
    assert frames.shape == (9, 64, 64, 3) and flipped < unflipped / 4  # the tool's output, two H.264 passes lossy
    m.close()


def test_spec_file_with_inline_override(tmp_path: Path) -> None:
    spec = tmp_path / "spec.yaml"
    spec.write_text("command: cp {reference} {output}\ntimeout: 5\ncwd: .\nenv: {A: '1'}\n")
    cfg = build_config(ExternalCommandMethod, [f"spec={spec}", "timeout=9"])
    assert cfg.command == "cp {reference} {output}" and cfg.timeout == 9.0  # the command line wins
    assert cfg.cwd == str(tmp_path) and cfg.env == ("A=1",)
    spec.write_text("command: cp {reference} {output}\ntimout: 5\n")
    with pytest.raises(ConfigError, match=r"unknown key 'timout'; allowed: command, fit_command, timeout"):
        build_config(ExternalCommandMethod, [f"spec={spec}"])
    with pytest.raises(ConfigError, match=r"spec file .*missing.yaml not found"):
        build_config(ExternalCommandMethod, [f"spec={tmp_path / 'missing.yaml'}"])


@pytest.mark.parametrize("command, message", [
    ("", "option 'command' is required"),
    ("cp {reference} {out}", r"unknown placeholder \{out\}; allowed: \{reference\}"),
    ("cp {reference} x.mp4", r"must write the video to \{output\}"),
    ("cp {reference {output}", "not a valid template"),
])
def test_bad_templates_are_refused(command: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        build_config(ExternalCommandMethod, [f"command={command}"])


def test_failures_carry_stderr_and_name_the_problem(tmp_path: Path) -> None:
    ref = reference()
    request = GenerationRequest("p", 0, 9, (64, 64), 8.0)
    with pytest.raises(ExternalCommandError, match=r"(?s)exited with status 3.*--- stderr ---\nCUDA out of memory"):
        method("command=echo 'CUDA out of memory' >&2; exit 3; touch {output}").generate(None, ref, request)
    with pytest.raises(ExternalCommandError, match=r"wrote no video"):
        method("command=true {output}").generate(None, ref, request)
    with pytest.raises(ExternalCommandError, match=r"wrote 9 frames of 64x64, the request was 5 frames of 64x64"):
        method("command=cp {reference} {output}").generate(None, ref, GenerationRequest("p", 0, 5, (64, 64), 8.0))
    out = method("command=cp {reference} {output}", "resample=true").generate(None, ref, GenerationRequest("p", 0, 5, (64, 64), 8.0))
    assert out.shape == (5, 64, 64, 3)


def test_timeout_kills_the_whole_process_group(tmp_path: Path) -> None:
    marker = f"{time.time_ns() % 10**6}.5"
    m = method(f"command=echo starting >&2; sleep 7{marker} & sleep 8{marker}; cp {{reference}} {{output}}", "timeout=1")
    t0 = time.monotonic()
    with pytest.raises(ExternalCommandTimeout, match=r"(?s)timed out after 1 s and was killed.*starting"):
        m.generate(None, reference(), GenerationRequest("p", 0, 9, (64, 64), 8.0))
    assert time.monotonic() - t0 < 10
    time.sleep(0.2)
    alive = [p.info["cmdline"] for p in psutil.process_iter(["cmdline"]) if marker in " ".join(p.info["cmdline"] or [])]
    assert alive == []  # both sleeps (the shell's child and its background job) are gone


def test_fit_command_state_is_cached_and_used(tmp_path: Path) -> None:
    manifest = write_manifest(tmp_path / "data", {"a": "ok"})
    log = tmp_path / "fits.log"
    choice = MethodChoice("external", (
        f"fit_command=echo fitted >> {log}; cp {{reference}} {{state_dir}}/ref.mp4",
        "command=cp {state_dir}/ref.mp4 {output}"))
    cfg = RunConfig(methods=(choice,), out=tmp_path / "run", manifest=manifest, device="cpu", seeds=(0, 1))
    first = execute_run(cfg)
    assert first.ok == 4 and log.read_text().count("fitted") == 1
    second = execute_run(RunConfig(methods=(choice,), out=tmp_path / "run", manifest=manifest, device="cpu", seeds=(0, 1, 2)))
    assert second.ok == 2 and log.read_text().count("fitted") == 1  # reused from cache/states
    store = RunStore(tmp_path / "run")
    rec = store.latest_generations()["external/a/1-s2"]
    assert rec.fit_cached and rec.method_config["command"] == "cp {state_dir}/ref.mp4 {output}"
    ref = read_video(tmp_path / "data" / "a.mp4").frames.astype(int)
    assert np.abs(read_video(store.video_path(rec)).frames.astype(int) - ref).mean() < 12  # re-encoded twice


def test_hanging_command_ends_only_its_jobs(tmp_path: Path) -> None:
    manifest = write_manifest(tmp_path / "data", {"a": "ok", "b": "ok"}, prompts=("a cat", "hang forever"))
    choice = MethodChoice("external", ("command=case {prompt} in *hang*) sleep 60;; esac; cp {reference} {output}",
                                       "timeout=1"))
    summary = execute_run(RunConfig(methods=(choice, MethodChoice("static")), out=tmp_path / "run",
                                    manifest=manifest, device="cpu"))
    latest = RunStore(tmp_path / "run").latest_generations()
    failed = {j for j, r in latest.items() if r.status != "ok"}
    assert failed == {"external/a/1-s0", "external/b/1-s0"} and summary.exit_code == 1
    assert all(latest[j].error.startswith("ExternalCommandTimeout: command timed out after 1 s") for j in failed)
    assert len(latest) == 8
