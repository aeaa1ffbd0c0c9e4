"""Benchmark any existing repository without porting it: a method that runs shell commands.

Give the commands inline::

    motionbench run --method external \\
        --method-opt 'command=python gen.py --video {reference} --prompt {prompt} --seed {seed} --out {output}'

or in a small YAML spec (``--method-opt spec=mymethod.yaml``)::

    command: python sample.py --ref {reference} --prompt {prompt} --seed {seed} --frames {num_frames} --out {output}
    fit_command: python tune.py --ref {reference} --save {state_dir}   # optional, once per reference
    timeout: 1800          # seconds per command (generate)
    fit_timeout: 7200      # seconds for the fit command (default: timeout)
    cwd: /path/to/repo     # where the commands run (relative paths: against the spec's folder)
    env: {CUDA_VISIBLE_DEVICES: "0"}
    resample: false        # true: resample the output to the requested frames and size

Inline options override the spec. Placeholders: ``{reference}`` (the reference clip as an mp4, at
the sample's frames/fps/size), ``{prompt}``, ``{seed}``, ``{num_frames}``, ``{width}``,
``{height}``, ``{fps}``, ``{output}`` (where to write the video), ``{state_dir}`` (the fit
command's output folder; also usable in ``command``). Every value is shell-quoted, so prompts with
quotes or spaces are safe; write a literal brace as ``{{`` or ``}}``.

The output must be a video of the requested number of frames and size (``resample=true`` accepts
any and resamples it). A command that exits non-zero, times out, or writes no readable video ends
its job with :class:`ExternalCommandError` (or :class:`ExternalCommandTimeout`) whose message
holds the end of the command's stderr. Commands run in their own process group, which is killed
whole on timeout, so nothing they started keeps running.
"""

from __future__ import annotations

import os
import shlex
import shutil
import signal
import string
import subprocess
import tempfile
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import numpy as np

from motionbench.errors import ConfigError, MotionBenchError
from motionbench.methods.base import GenerationRequest, Method, Reference
from motionbench.video import read_video, write_video

GENERATE_PLACEHOLDERS = ("reference", "prompt", "seed", "num_frames", "width", "height", "fps", "output", "state_dir")
FIT_PLACEHOLDERS = ("reference", "state_dir", "width", "height", "fps", "num_frames")
STDERR_TAIL_CHARS = 4000


class ExternalCommandError(MotionBenchError):
    """An external method's command failed or produced no usable video."""


class ExternalCommandTimeout(ExternalCommandError):
    """An external method's command ran past its timeout and was killed."""


@dataclass
class ExternalConfig:
    spec: str | None = None
    command: str = ""
    fit_command: str | None = None
    timeout: float = 3600.0
    fit_timeout: float | None = None
    cwd: str | None = None
    env: tuple[str, ...] = ()  # "KEY=VALUE" items
    resample: bool = False

    def validate(self) -> None:
        """Merge the spec file under the inline options, then check the templates."""
        if self.spec:
            self._merge_spec(Path(self.spec).expanduser())
        if not self.command.strip():
            raise ConfigError("external: option 'command' is required (inline: --method-opt 'command=...', "
                              "or in a spec file: --method-opt spec=method.yaml)")
        check_template(self.command, GENERATE_PLACEHOLDERS, "command")
        if "{output}" not in self.command.replace("{{", ""):
            raise ConfigError("external: 'command' must write the video to {output}; add the placeholder")
        if self.fit_command:
            check_template(self.fit_command, FIT_PLACEHOLDERS, "fit_command")
        for name in ("timeout", "fit_timeout"):
            value = getattr(self, name)
            if value is not None and not value > 0:
                raise ConfigError(f"external: option {name}={value!r} must be a positive number of seconds")
        for item in self.env:
            if "=" not in item:
                raise ConfigError(f"external: env item {item!r} is not KEY=VALUE")

    def _merge_spec(self, path: Path) -> None:
        import yaml

        if not path.is_file():
            raise ConfigError(f"external: spec file {path} not found")
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except yaml.YAMLError as exc:
            raise ConfigError(f"external: spec file {path} is not valid YAML: {exc}") from None
        if not isinstance(data, dict):
            raise ConfigError(f"external: spec file {path} must be a mapping of options")
        defaults = ExternalConfig()
        allowed = [f.name for f in fields(self) if f.name != "spec"]
        for key, value in data.items():
            if key not in allowed:
                raise ConfigError(f"external: spec file {path}: unknown key {key!r}; allowed: {', '.join(allowed)}")
            if getattr(self, key) != getattr(defaults, key):
                continue  # set inline: the command line wins over the spec
            if key == "env":
                if not isinstance(value, dict):
                    raise ConfigError(f"external: spec file {path}: 'env' must be a mapping")
                value = tuple(f"{k}={v}" for k, v in value.items())
            elif key == "cwd" and value is not None:
                value = str((path.parent / str(value)).resolve())
            elif key in ("timeout", "fit_timeout") and value is not None:
                value = float(value)
            setattr(self, key, value)
        self.spec = str(path.resolve())


def check_template(template: str, allowed: tuple[str, ...], option: str) -> None:
    """Raise ConfigError naming any placeholder ``template`` uses that is not in ``allowed``."""
    try:
        names = [name for _, name, _, _ in string.Formatter().parse(template) if name is not None]
    except ValueError as exc:
        raise ConfigError(f"external: option {option!r} is not a valid template ({exc}); "
                          "write literal braces as {{ and }}") from None
    for name in names:
        if name not in allowed:
            raise ConfigError(f"external: option {option!r} uses unknown placeholder {{{name}}}; "
                              f"allowed: {', '.join('{' + a + '}' for a in allowed)}")


def render(template: str, values: dict[str, Any]) -> str:
    """The command with every placeholder replaced by its shell-quoted value."""
    return template.format(**{k: shlex.quote(str(v)) for k, v in values.items()})


def run_command(command: str, *, timeout: float, cwd: str | None, env: dict[str, str], what: str) -> None:
    """Run ``command`` with ``sh -c`` in its own process group; raise on failure or timeout."""
    proc = subprocess.Popen(["/bin/sh", "-c", command], cwd=cwd, env=env, stdin=subprocess.DEVNULL,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)
    try:
        _, stderr = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)  # the whole group: the shell and whatever it started
        _, stderr = proc.communicate()
        raise ExternalCommandTimeout(f"{what} timed out after {timeout:g} s and was killed: {command}"
                                     + _stderr_tail(stderr)) from None
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    if proc.returncode != 0:
        raise ExternalCommandError(f"{what} exited with status {proc.returncode}: {command}" + _stderr_tail(stderr))


def _stderr_tail(stderr: bytes | None) -> str:
    text = (stderr or b"").decode("utf-8", "replace").strip()
    if not text:
        return " (no stderr)"
    if len(text) > STDERR_TAIL_CHARS:
        text = "..." + text[-STDERR_TAIL_CHARS:]
    return "\n--- stderr ---\n" + text


class ExternalCommandMethod(Method):
    name = "external"
    summary = "Runs any repository through a shell command template (inline or a YAML spec)."
    Config = ExternalConfig

    def __init__(self, config: ExternalConfig, device: str = "cpu") -> None:
        super().__init__(config, device)
        self.fits = bool(config.fit_command)  # fitted states are cached only when there is a fit
        self._tmp = tempfile.TemporaryDirectory(prefix="motionbench-external-")
        self._references: dict[str, Path] = {}
        self._count = 0

    def _env(self) -> dict[str, str]:
        env = dict(os.environ)
        env.update(item.split("=", 1) for item in self.config.env)
        return env

    def _reference_file(self, reference: Reference) -> Path:
        """The reference clip as an mp4 the command can read (written once per reference)."""
        key = reference.key or Reference.content_key(reference.clip)
        if key not in self._references:
            path = Path(self._tmp.name) / f"reference-{key}.mp4"
            write_video(path, reference.clip.frames, reference.clip.fps)
            self._references[key] = path
        return self._references[key]

    def fit(self, reference: Reference, workdir: Path) -> Any:
        if not self.config.fit_command:
            return None
        state_dir = workdir / "state"
        state_dir.mkdir()
        w, h = reference.clip.size
        values = {"reference": self._reference_file(reference), "state_dir": state_dir, "width": w, "height": h,
                  "fps": reference.clip.fps, "num_frames": reference.clip.num_frames}
        timeout = self.config.fit_timeout or self.config.timeout
        run_command(render(self.config.fit_command, values), timeout=timeout, cwd=self.config.cwd,
                    env=self._env(), what="fit command")
        # The workdir is deleted after fit: keep the state in our own scratch space.
        kept = Path(self._tmp.name) / f"state-{reference.key}-{self._next()}"
        shutil.copytree(state_dir, kept)
        return kept

    def save_state(self, state: Any, directory: Path) -> None:
        if state is not None:
            shutil.copytree(state, directory / "state")

    def load_state(self, directory: Path) -> Any:
        return directory / "state" if (directory / "state").is_dir() else None

    def _next(self) -> int:
        self._count += 1
        return self._count

    def generate(self, state: Any, reference: Reference, request: GenerationRequest) -> np.ndarray:
        w, h = request.size
        output = Path(self._tmp.name) / f"output-{self._next()}.mp4"
        values = {"reference": self._reference_file(reference), "prompt": request.prompt, "seed": request.seed,
                  "num_frames": request.num_frames, "width": w, "height": h, "fps": request.fps,
                  "output": output, "state_dir": state if state is not None else ""}
        command = render(self.config.command, values)
        run_command(command, timeout=self.config.timeout, cwd=self.config.cwd, env=self._env(), what="command")
        if not output.exists():
            raise ExternalCommandError(f"command exited 0 but wrote no video at {{output}}: {command}")
        try:
            if self.config.resample:
                clip = read_video(output, num_frames=request.num_frames, size=request.size)
            else:
                clip = read_video(output)
        except MotionBenchError as exc:
            raise ExternalCommandError(f"command's output cannot be read: {exc}") from None
        finally:
            output.unlink(missing_ok=True)
        if clip.num_frames != request.num_frames or clip.size != request.size:
            raise ExternalCommandError(
                f"command wrote {clip.num_frames} frames of {clip.size[0]}x{clip.size[1]}, the request was "
                f"{request.num_frames} frames of {w}x{h}; pass {{num_frames}}/{{width}}/{{height}} to the command, "
                "or set resample=true to resample its output")
        return clip.frames

    def close(self) -> None:
        self._tmp.cleanup()
