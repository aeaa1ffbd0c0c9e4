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
# recording the arguments it was given in --log.
TOOL = """
import json, sys
from motionbench.video import read_video, write_video
args = dict(zip(sys.argv[1::2], sys.argv[2::2]))
clip = read_video(args["--ref"], num_frames=int(args["--frames"]))
write_video(args["--out"], clip.frames[:, :, ::-1].copy(), clip.fps)
open(args["--log"], "w").write(json.dumps(args))
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
               f"--frames {{num_frames}} --out {{output}} --log {keep}")
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
        method("command=echo 'CUDA out of memory' >&2; exit 3; touch \"$MB_OUTPUT\"", "shell=true").generate(None, ref, request)
    with pytest.raises(ExternalCommandError, match=r"(?s)exited with status 4: .*import sys.*--- stderr ---\nno GPU"):
        method(f"command={sys.executable} -c 'import sys; sys.stderr.write(\"no GPU\"); sys.exit(4)' {{output}}"
               ).generate(None, ref, request)
    with pytest.raises(ExternalCommandError, match=r"command cannot be started \(No such file or directory\): no-such-program"):
        method("command=no-such-program {output}").generate(None, ref, request)
    with pytest.raises(ExternalCommandError, match=r"wrote no video"):
        method("command=true {output}").generate(None, ref, request)
    with pytest.raises(ExternalCommandError, match=r"wrote 9 frames of 64x64, the request was 5 frames of 64x64"):
        method("command=cp {reference} {output}").generate(None, ref, GenerationRequest("p", 0, 5, (64, 64), 8.0))
    out = method("command=cp {reference} {output}", "resample=true").generate(None, ref, GenerationRequest("p", 0, 5, (64, 64), 8.0))
    assert out.shape == (5, 64, 64, 3)


def test_timeout_kills_the_whole_process_group(tmp_path: Path) -> None:
    marker = f"{time.time_ns() % 10**6}.5"
    m = method(f"command=echo starting >&2; sleep 7{marker} & sleep 8{marker}; cp \"$MB_REFERENCE\" \"$MB_OUTPUT\"",
               "timeout=1", "shell=true")
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
        f"fit_command=echo fitted >> {log}; cp \"$MB_REFERENCE\" \"$MB_STATE_DIR/ref.mp4\"",
        "command=cp \"$MB_STATE_DIR/ref.mp4\" \"$MB_OUTPUT\"", "shell=true"))
    cfg = RunConfig(methods=(choice,), out=tmp_path / "run", manifest=manifest, device="cpu", seeds=(0, 1))
    first = execute_run(cfg)
    assert first.ok == 4 and log.read_text().count("fitted") == 1
    second = execute_run(RunConfig(methods=(choice,), out=tmp_path / "run", manifest=manifest, device="cpu", seeds=(0, 1, 2)))
    assert second.ok == 2 and log.read_text().count("fitted") == 1  # reused from cache/states
    store = RunStore(tmp_path / "run")
    rec = store.latest_generations()["external/a/1-s2"]
    assert rec.fit_cached and rec.method_config["command"] == 'cp "$MB_STATE_DIR/ref.mp4" "$MB_OUTPUT"'
    ref = read_video(tmp_path / "data" / "a.mp4").frames.astype(int)
    assert np.abs(read_video(store.video_path(rec)).frames.astype(int) - ref).mean() < 12  # re-encoded twice


def test_hanging_command_ends_only_its_jobs(tmp_path: Path) -> None:
    manifest = write_manifest(tmp_path / "data", {"a": "ok", "b": "ok"}, prompts=("a cat", "hang forever"))
    choice = MethodChoice("external", ("command=case \"$MB_PROMPT\" in *hang*) sleep 60;; esac; "
                                       "cp \"$MB_REFERENCE\" \"$MB_OUTPUT\"", "timeout=1", "shell=true"))
    summary = execute_run(RunConfig(methods=(choice, MethodChoice("static")), out=tmp_path / "run",
                                    manifest=manifest, device="cpu"))
    latest = RunStore(tmp_path / "run").latest_generations()
    failed = {j for j, r in latest.items() if r.status != "ok"}
    assert failed == {"external/a/1-s0", "external/b/1-s0"} and summary.exit_code == 1
    assert all(latest[j].error.startswith("ExternalCommandTimeout: command timed out after 1 s") for j in failed)
    assert len(latest) == 8


# --- hostile data: no value from a manifest, prompt, path or option is ever read by a shell -------

# What a downloaded manifest may hold. Each must reach the program as one argument, byte for byte.
HOSTILE_PROMPTS = (
    'a dog\'s "best" day',
    "$(touch PWNED)",
    "`touch PWNED`",
    "; touch PWNED; rm -rf CANARY",
    "x && touch PWNED || touch PWNED",
    "line one\nline two; touch PWNED",
    "-rf",
    "--help",
    "$HOME ${PATH} %s {prompt} {{}} {0}",
    "' ; touch PWNED ; '",
    '" ; touch PWNED ; "',
    "a | tee PWNED > PWNED2 < /dev/null &",
    "back\\slash \\' \\\" and\ttab",
    "* ? [a-z] ~root !! #comment",
)
# A folder name that is a shell program, for the run directory, the scratch space and the source clip.
HOSTILE_DIR = "-d $(touch PWNED) `touch PWNED`; rm -rf CANARY 'q\" \\ ~"

# The program the templates call: copies the reference to the output, logs its argv and MB_* env.
ECHO_TOOL = """
import json, os, shutil, sys
args = dict(zip(sys.argv[1::2], sys.argv[2::2]))
shutil.copyfile(args["--ref"], args["--out"])
entry = {"argv": sys.argv[1:], "env": {k: v for k, v in os.environ.items() if k.startswith("MB_")}}
with open(args["--log"], "a") as fh:
    fh.write(json.dumps(entry) + "\\n")
"""


def _hostile_manifest(folder: Path) -> Path:
    import yaml

    folder.mkdir(parents=True)
    clip = folder / f"{HOSTILE_DIR}.mp4"  # the source file's own name is hostile too
    from motionbench.video import write_video

    write_video(clip, moving_texture(9, (64, 64)), 8.0)
    doc = {"schema_version": 1, "name": "hostile", "categories": {"camera": {"description": "c"}},
           "samples": [{"id": "a", "category": "camera", "source": {"path": clip.name},
                        "prompts": list(HOSTILE_PROMPTS)}]}
    path = folder / "manifest.yaml"
    path.write_text(yaml.safe_dump(doc, allow_unicode=True))
    return path


def _nothing_ran(root: Path, canary: Path) -> None:
    pwned = [p for p in root.rglob("PWNED*")]
    assert pwned == [] and canary.is_dir(), f"a shell interpreted data: {pwned}"


@pytest.mark.parametrize("mode", ["argv", "shell"])
def test_hostile_prompts_and_paths_reach_the_program_verbatim(tmp_path: Path, monkeypatch, mode: str) -> None:
    import json
    import shlex
    import tempfile

    root = tmp_path / HOSTILE_DIR
    root.mkdir()
    monkeypatch.chdir(root)  # where `touch PWNED` would land
    canary = root / "CANARY"
    canary.mkdir()
    scratch = root / "tmp" / HOSTILE_DIR
    scratch.mkdir(parents=True)
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))  # {reference}, {output}, {state_dir} live here
    manifest = _hostile_manifest(root / "data")
    tool, log = root / "tool.py", root / "calls.jsonl"
    tool.write_text(ECHO_TOOL)
    program = f"{shlex.quote(sys.executable)} {shlex.quote(str(tool))}"
    if mode == "argv":
        command = f"{program} --prompt {{prompt}} --ref {{reference}} --out {{output}} --seed {{seed}} --log {shlex.quote(str(log))}"
        fit = f"{program} --ref {{reference}} --out {{state_dir}}/ref.mp4 --log {shlex.quote(str(log))}"
    else:
        command = (f'{program} --prompt "$MB_PROMPT" --ref "$MB_REFERENCE" --out "$MB_OUTPUT" --seed "$MB_SEED" '
                   f'--log {shlex.quote(str(log))} && test -s "$MB_OUTPUT"')
        fit = f'{program} --ref "$MB_REFERENCE" --out "$MB_STATE_DIR/ref.mp4" --log {shlex.quote(str(log))}'
    options = (f"command={command}", f"fit_command={fit}") + (("shell=true",) if mode == "shell" else ())
    out = Path(f"{HOSTILE_DIR}-run")  # relative, starting with '-': paths given to the program are absolute
    for attempt in range(2):  # the second run takes the fitted state from the cache under `out`
        cfg = RunConfig(methods=(MethodChoice("external", options),), out=out, manifest=manifest, device="cpu",
                        seeds=(0,) if attempt == 0 else (0, 1))
        summary = execute_run(cfg)
        assert summary.exit_code == 0, [r.error for r in summary.failed]
    _nothing_ran(tmp_path, canary)
    calls = [json.loads(line) for line in log.read_text().splitlines()]
    generate = [c for c in calls if "--prompt" in c["argv"]]
    got = sorted(c["argv"][c["argv"].index("--prompt") + 1] for c in generate)
    assert got == sorted([p.strip() for p in HOSTILE_PROMPTS] * 2)  # every job, every prompt, verbatim
    assert all(c["env"]["MB_PROMPT"] == c["argv"][c["argv"].index("--prompt") + 1] for c in generate)
    for c in calls:
        for flag in ("--ref", "--out"):
            path = c["argv"][c["argv"].index(flag) + 1]
            assert Path(path).is_absolute() and HOSTILE_DIR in path  # one argument, hostile name intact
    assert len([c for c in calls if "--prompt" not in c["argv"]]) == 1  # fitted once, then from the cache
    latest = RunStore(out).latest_generations()
    assert len(latest) == 2 * len(HOSTILE_PROMPTS) and all(r.status == "ok" for r in latest.values())
    assert {r.prompt for r in latest.values()} == {p.strip() for p in HOSTILE_PROMPTS}


@pytest.mark.parametrize("template, fix", [
    ('python gen.py --prompt "{prompt}" --out {output}', r"placeholder \{prompt\} inside quotes.*without quotes \(\{prompt\}, not \"\{prompt\}\"\)"),
    ("python gen.py --prompt '{prompt}' --out {output}", r"placeholder \{prompt\} inside quotes"),
    ('python gen.py --out "{output}"', r"placeholder \{output\} inside quotes"),
    ("python gen.py --prompt {prompt} --out {output}; rm -rf x", r"shell syntax \(';'.*shell=true.*\$MB_PROMPT"),
    ("python gen.py --out {output} && echo done", r"shell syntax \('&'"),
    ("python gen.py --out {output} | tee log", r"shell syntax \('\|'"),
    ("python gen.py --out {output} > log 2>&1", r"shell syntax \('>'"),
    ("python gen.py --out {output} < input", r"shell syntax \('<'"),
    ("python gen.py --out {output} &", r"shell syntax \('&'"),
    ("python gen.py --home $HOME --out {output}", r"shell expansion.*\$HOME"),
    ('python gen.py --home "${HOME}" --out {output}', r"shell expansion"),
    ("python gen.py --date $(date) --out {output}", r"shell expansion"),
    ("python gen.py --date `date` --out {output}", r"shell expansion"),
    ("python ~/gen.py --out {output}", r"shell syntax \('~'"),
    ("python gen.py --out {output}\nrm -rf x", r"shell syntax \(a newline"),
    ("python gen.py --out {output} 'unclosed", r"unclosed ' quote"),
    ("{prompt} --out {output}", r"must start with the program"),
    ("python gen.py --seed {seed:04d} --out {output}", r"without a format spec"),
])
def test_templates_that_a_shell_would_read_differently_are_refused_with_the_fix(template: str, fix: str) -> None:
    with pytest.raises(ConfigError, match=fix):
        build_config(ExternalCommandMethod, [f"command={template}"])


@pytest.mark.parametrize("template, fix", [
    ('python gen.py --prompt "{prompt}" --out "$MB_OUTPUT"', r'write "\$MB_PROMPT" instead of \{prompt\}'),
    ("python gen.py --prompt {prompt} --out $MB_OUTPUT", r'write "\$MB_PROMPT" instead of \{prompt\}'),
    ('python gen.py --prompt "$MB_PROMPT"', r'must write the video to "\$MB_OUTPUT"'),
])
def test_shell_mode_takes_values_only_from_the_environment(template: str, fix: str) -> None:
    with pytest.raises(ConfigError, match=fix):
        build_config(ExternalCommandMethod, [f"command={template}", "shell=true"])


def test_quoted_placeholder_no_longer_runs_a_prompt_as_code(tmp_path: Path, monkeypatch) -> None:
    """The reported attack: a template quoting its placeholder, a prompt that closes the quote."""
    import json

    monkeypatch.chdir(tmp_path)
    (tmp_path / "CANARY").mkdir()
    tool, log = tmp_path / "tool.py", tmp_path / "calls.jsonl"
    tool.write_text(ECHO_TOOL)
    program = f"{sys.executable} {tool} --ref {{reference}} --out {{output}} --log {log}"
    with pytest.raises(ConfigError, match="inside quotes"):
        method(f'command={program} --prompt "{{prompt}}"')
    # The fix the message gives: the same template without the quotes.
    m = method(f"command={program} --prompt {{prompt}}")
    attack = '"; touch PWNED; rm -rf CANARY; echo "'
    m.generate(None, reference(), GenerationRequest(attack, 0, 9, (64, 64), 8.0))
    m.close()
    _nothing_ran(tmp_path, tmp_path / "CANARY")
    assert json.loads(log.read_text())["argv"][-1] == attack


def test_a_nul_in_a_value_fails_its_job_with_a_message(tmp_path: Path) -> None:
    m = method("command=cp {reference} {output}")
    with pytest.raises(ExternalCommandError, match=r"value of \{prompt\} contains a NUL"):
        m.generate(None, reference(), GenerationRequest("a\0b", 0, 9, (64, 64), 8.0))
    m.close()


def test_non_finite_and_wrong_typed_spec_values_are_refused(tmp_path: Path) -> None:
    for value, message in (("nan", "finite"), ("inf", "finite"), ("-1", "positive")):
        with pytest.raises(ConfigError, match=message):
            build_config(ExternalCommandMethod, ["command=cp {reference} {output}", f"timeout={value}"])
    spec = tmp_path / "spec.yaml"
    spec.write_text("command: cp {reference} {output}\ntimeout: .nan\n")
    with pytest.raises(ConfigError, match=r"timeout=nan must be a finite number"):
        build_config(ExternalCommandMethod, [f"spec={spec}"])
    spec.write_text("command: [cp, x]\n")
    with pytest.raises(ConfigError, match=r"command must be a string"):
        build_config(ExternalCommandMethod, [f"spec={spec}"])


def test_methods_external_explains_the_rules() -> None:
    from typer.testing import CliRunner

    from motionbench.cli import app

    result = CliRunner().invoke(app, ["methods", "external"])
    text = " ".join(result.output.split())
    assert result.exit_code == 0
    assert "No shell runs the command" in text and '({prompt}, not "{prompt}")' in text
    assert "shell=true" in text and '"$MB_PROMPT"' in text and "shell: bool = False" in text
