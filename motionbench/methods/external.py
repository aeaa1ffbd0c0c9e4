"""Benchmark any existing repository without porting it: a method that runs a command per video.

The rules a user writes templates by are in :class:`ExternalCommandMethod`'s docstring, which
``motionbench methods external`` prints. How they are kept here:

- A template is split into an argument list once (``shlex``, POSIX rules) when the options are
  validated; each placeholder is then replaced inside its own argument, and the program is started
  without a shell. A value (a prompt from a downloaded manifest, a path, a seed) is therefore always
  exactly one argument and never code, whatever quotes, ``$()``, backticks, ``;`` or newlines it holds.
- Templates that would mean something else without a shell are refused with the fix: a placeholder
  inside quotes, shell operators (``;``, ``&&``, ``|``, ``>``), expansions (``$VAR``, ``$(...)``,
  backticks, a leading ``~``). ``shell=true`` runs the template with ``/bin/sh -c`` instead; then no
  value is ever spliced into the command text: they are in the environment (``$MB_PROMPT``, ...),
  which the template must quote itself, and ``{placeholder}`` is refused.
- Commands run in their own process group, killed whole on timeout or when the run is interrupted
  (Ctrl-C, SIGTERM), so nothing they started keeps running.
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
ENV_PREFIX = "MB_"  # {prompt} is $MB_PROMPT in the command's environment
STDERR_TAIL_CHARS = 4000
SHELL_HINT = ("put the steps in a script and call it (e.g. command=bash run.sh {prompt} {output}; the script "
              "reads \"$1\", \"$2\"), or set shell=true and read the values from the environment, quoted: "
              "\"$MB_PROMPT\", \"$MB_OUTPUT\", ...")


class ExternalCommandError(MotionBenchError):
    """An external method's command failed or produced no usable video."""


class ExternalCommandTimeout(ExternalCommandError):
    """An external method's command ran past its timeout and was killed."""


def env_name(placeholder: str) -> str:
    return ENV_PREFIX + placeholder.upper()


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
    shell: bool = False  # run the templates with /bin/sh -c; values only in $MB_* variables

    def validate(self) -> None:
        """Merge the spec file under the inline options, then check the templates."""
        if self.spec:
            self._merge_spec(Path(self.spec).expanduser())
        if not isinstance(self.shell, bool):
            raise ConfigError(f"external: option shell={self.shell!r} must be true or false")
        if not self.command.strip():
            raise ConfigError("external: option 'command' is required (inline: --method-opt 'command=...', "
                              "or in a spec file: --method-opt spec=method.yaml)")
        parse_template(self.command, GENERATE_PLACEHOLDERS, "command", shell=self.shell, required="output")
        if self.fit_command:
            parse_template(self.fit_command, FIT_PLACEHOLDERS, "fit_command", shell=self.shell)
        for name in ("timeout", "fit_timeout"):
            value = getattr(self, name)
            if value is not None and not value > 0:
                raise ConfigError(f"external: option {name}={value!r} must be a positive number of seconds")
        for item in self.env:
            if "=" not in item or not item.split("=", 1)[0]:
                raise ConfigError(f"external: env item {item!r} is not KEY=VALUE")
            if item.startswith(ENV_PREFIX):
                raise ConfigError(f"external: env item {item!r}: names starting with {ENV_PREFIX} are reserved "
                                  "for the placeholder values")

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
                try:
                    value = float(value)
                except (TypeError, ValueError):
                    raise ConfigError(f"external: spec file {path}: {key} must be a number of seconds, "
                                      f"got {value!r}") from None
                if value != value or value in (float("inf"), float("-inf")):
                    raise ConfigError(f"external: spec file {path}: {key}={value!r} must be a finite number")
            elif key in ("command", "fit_command") and value is not None and not isinstance(value, str):
                raise ConfigError(f"external: spec file {path}: {key} must be a string (the command template)")
            setattr(self, key, value)
        self.spec = str(path.resolve())


def _placeholder_names(template: str, allowed: tuple[str, ...], option: str) -> list[str]:
    """The placeholders of ``template``, refusing unknown names, format specs and bad braces."""
    try:
        parsed = list(string.Formatter().parse(template))
    except ValueError as exc:
        raise ConfigError(f"external: option {option!r} is not a valid template ({exc}); "
                          "write literal braces as {{ and }}") from None
    names = []
    for _, name, spec, conversion in parsed:
        if name is None:
            continue
        if name not in allowed:
            raise ConfigError(f"external: option {option!r} uses unknown placeholder {{{name}}}; "
                              f"allowed: {', '.join('{' + a + '}' for a in allowed)}")
        if spec or conversion:
            raise ConfigError(f"external: option {option!r}: write the placeholder as {{{name}}}, without a "
                              "format spec or conversion")
        names.append(name)
    return names


def _refuse_shell_syntax(template: str, option: str) -> None:
    """Refuse what a shell would have interpreted in an argv template, and quoted placeholders.

    Walks the template with POSIX quoting rules: inside single quotes nothing is special; inside
    double quotes ``$`` and backticks still are; a backslash escapes the next character.
    """
    quote: str | None = None
    i, n = 0, len(template)

    def context(at: int) -> str:
        return template[max(0, at - 12): at + 14]

    while i < n:
        c = template[i]
        if c == "{" and template.startswith("{{", i):
            i += 2
            continue
        if c == "{" and quote is not None:
            end = template.find("}", i)
            name = template[i + 1:end] if end > i else ""
            raise ConfigError(
                f"external: option {option!r} puts the placeholder {{{name}}} inside quotes ({context(i)!r}). "
                f"Write it without quotes ({{{name}}}, not \"{{{name}}}\"): each value reaches the command as exactly "
                "one argument, spaces and quotes included, and no shell ever reads it")
        if quote == "'":
            if c == "'":
                quote = None
            i += 1
            continue
        if c == "\\":
            i += 2
            continue
        if quote is None and c in "'\"":
            quote = c
        elif quote == '"' and c == '"':
            quote = None
        elif c == "`" or (c == "$" and i + 1 < n and (template[i + 1] in "({_" or template[i + 1].isalnum())):
            raise ConfigError(f"external: option {option!r} uses shell expansion ({context(i)!r}), but commands "
                              f"run without a shell, so it would reach the program as text. {_hint()}")
        elif quote is None and (c in ";&|<>" or c == "\n" or (c == "~" and (i == 0 or template[i - 1].isspace()))):
            what = "a newline" if c == "\n" else repr(c)
            raise ConfigError(f"external: option {option!r} uses shell syntax ({what} in {context(i)!r}), but "
                              f"commands run without a shell, so that no prompt or path is ever run as code. {_hint()}")
        i += 1
    if quote is not None:
        raise ConfigError(f"external: option {option!r} has an unclosed {quote} quote")


def _hint() -> str:
    return "To use shell features, " + SHELL_HINT


def parse_template(template: str, allowed: tuple[str, ...], option: str, *, shell: bool = False,
                   required: str | None = None) -> list[str]:
    """Check a command template and split it into its argument templates (``[template]`` in shell mode).

    Raises:
        ConfigError: unknown placeholder, a placeholder in quotes, shell syntax without ``shell=true``,
            ``{placeholder}`` with ``shell=true``, or a missing ``required`` placeholder; the message
            shows the fix.
    """
    if shell:
        for name in allowed:
            if f"{{{name}}}" in template:
                raise ConfigError(
                    f"external: option {option!r}: with shell=true values are never written into the command "
                    f"text; use the environment variable, quoted: write \"${env_name(name)}\" instead of {{{name}}}")
        if required and env_name(required) not in template:
            raise ConfigError(f"external: option {option!r} must write the video to \"${env_name(required)}\"")
        return [template]
    _refuse_shell_syntax(template, option)
    names = _placeholder_names(template, allowed, option)
    if required and required not in names:
        raise ConfigError(f"external: {option!r} must write the video to {{{required}}}; add the placeholder")
    try:
        argv = shlex.split(template)
    except ValueError as exc:
        raise ConfigError(f"external: option {option!r} cannot be split into arguments ({exc})") from None
    if not argv or argv[0].startswith("{") and argv[0][1:-1] in allowed:
        raise ConfigError(f"external: option {option!r} must start with the program to run, not a placeholder")
    return argv


def render_argv(argv: list[str], values: dict[str, Any]) -> list[str]:
    """Each argument template with its placeholders replaced; a value stays inside its argument."""
    strings = {k: str(v) for k, v in values.items()}
    return [arg.format(**strings) for arg in argv]


def placeholder_env(values: dict[str, Any]) -> dict[str, str]:
    """The values as ``MB_*`` environment variables (both modes; the only channel with shell=true)."""
    return {env_name(k): str(v) for k, v in values.items()}


def _check_values(values: dict[str, Any], what: str) -> None:
    for key, value in values.items():
        if "\0" in str(value):
            raise ExternalCommandError(f"{what}: the value of {{{key}}} contains a NUL character, which no program "
                                       "can receive as an argument; remove it from the prompt or path")


def run_command(argv: list[str], *, timeout: float, cwd: str | None, env: dict[str, str], what: str,
                shell: bool = False) -> None:
    """Run ``argv`` (or ``/bin/sh -c argv[0]`` with ``shell``) in its own process group.

    The group is killed whole on timeout, and on any exception while waiting (Ctrl-C, SIGTERM),
    so nothing it started outlives the job.

    Raises:
        ExternalCommandError: the program cannot be started or exits non-zero (with its stderr's end).
        ExternalCommandTimeout: it ran past ``timeout`` seconds.
    """
    args = ["/bin/sh", "-c", argv[0]] if shell else argv
    shown = argv[0] if shell else shlex.join(argv)
    try:
        proc = subprocess.Popen(args, cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                stderr=subprocess.PIPE, start_new_session=True)
    except OSError as exc:
        raise ExternalCommandError(f"{what} cannot be started ({exc.strerror or exc}): {shown}"
                                   + (f" (in {cwd})" if cwd else "")) from None
    try:
        _, stderr = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        _kill_group(proc)
        _, stderr = proc.communicate()
        raise ExternalCommandTimeout(f"{what} timed out after {timeout:g} s and was killed: {shown}"
                                     + _stderr_tail(stderr)) from None
    finally:
        if proc.poll() is None:
            _kill_group(proc)
            proc.wait()
    if proc.returncode != 0:
        raise ExternalCommandError(f"{what} exited with status {proc.returncode}: {shown}" + _stderr_tail(stderr))


def _kill_group(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)  # the whole group: the program and whatever it started
    except ProcessLookupError:
        pass


def _stderr_tail(stderr: bytes | None) -> str:
    text = (stderr or b"").decode("utf-8", "replace").strip()
    if not text:
        return " (no stderr)"
    if len(text) > STDERR_TAIL_CHARS:
        text = "..." + text[-STDERR_TAIL_CHARS:]
    return "\n--- stderr ---\n" + text


class ExternalCommandMethod(Method):
    """Runs your repository's own script for each video, from a command template.

    Inline:

        motionbench run --method external \\
            --method-opt 'command=python gen.py --video {reference} --prompt {prompt} --seed {seed} --out {output}'

    or a small YAML spec (--method-opt spec=mymethod.yaml; inline options override it):

        command: python sample.py --ref {reference} --prompt {prompt} --seed {seed} --frames {num_frames} --out {output}
        fit_command: python tune.py --ref {reference} --save {state_dir}   # optional, once per reference
        timeout: 1800          # seconds per command (generate)
        fit_timeout: 7200      # seconds for the fit command (default: timeout)
        cwd: /path/to/repo     # where the commands run (relative paths: against the spec's folder)
        env: {CUDA_VISIBLE_DEVICES: "0"}
        resample: false        # true: resample the output to the requested frames and size
        shell: false           # true: run with /bin/sh -c, values only in $MB_* variables (below)

    Placeholders: {reference} (the reference clip as an mp4, at the sample's frames, fps and size),
    {prompt}, {seed}, {num_frames}, {width}, {height}, {fps}, {output} (where to write the video),
    {state_dir} (the fit command's output folder; also usable in command). Write literal braces as
    {{ and }}.

    No shell runs the command: it is split into arguments once, like a shell would split it, and each
    placeholder becomes part of exactly one argument, so a prompt with quotes, $(...), backticks, ';'
    or newlines reaches your program verbatim and is never run. Hence: write placeholders bare, not in
    quotes ({prompt}, not "{prompt}"); shell syntax (;, &&, |, >, $VAR, ~) is refused with the fix. To
    chain steps, call a script (command=bash run.sh {prompt} {output}, which reads "$1" "$2"), or set
    shell=true: the command then runs with /bin/sh -c, {placeholders} are refused, and the values are
    in the environment as MB_REFERENCE, MB_PROMPT, MB_SEED, MB_NUM_FRAMES, MB_WIDTH, MB_HEIGHT, MB_FPS,
    MB_OUTPUT and MB_STATE_DIR (quote them: "$MB_PROMPT"). These variables are set in both modes.

    The output must be a video of the requested number of frames and size (resample=true accepts any
    and resamples it). A command that exits non-zero, times out, or writes no readable video fails its
    job with the end of its stderr. Commands run in their own process group, killed whole on timeout
    or when the run is stopped (Ctrl-C, SIGTERM).
    """

    name = "external"
    usage = __doc__  # printed by `motionbench methods external`
    Config = ExternalConfig

    def __init__(self, config: ExternalConfig, device: str = "cpu") -> None:
        super().__init__(config, device)
        self.fits = bool(config.fit_command)  # fitted states are cached only when there is a fit
        self._argv = parse_template(config.command, GENERATE_PLACEHOLDERS, "command", shell=config.shell)
        self._fit_argv = (parse_template(config.fit_command, FIT_PLACEHOLDERS, "fit_command", shell=config.shell)
                          if config.fit_command else None)
        self._tmp = tempfile.TemporaryDirectory(prefix="motionbench-external-")
        self._references: dict[str, Path] = {}
        self._count = 0

    def _run(self, argv: list[str], values: dict[str, Any], timeout: float, what: str) -> str:
        """Run one templated command; returns how it was shown (for messages)."""
        _check_values(values, what)
        env = dict(os.environ)
        env.update(item.split("=", 1) for item in self.config.env)
        env.update(placeholder_env(values))
        args = argv if self.config.shell else render_argv(argv, values)
        run_command(args, timeout=timeout, cwd=self.config.cwd, env=env, what=what, shell=self.config.shell)
        return args[0] if self.config.shell else shlex.join(args)

    def _reference_file(self, reference: Reference) -> Path:
        """The reference clip as an mp4 the command can read (written once per reference)."""
        key = reference.key or Reference.content_key(reference.clip)
        if key not in self._references:
            path = Path(self._tmp.name).absolute() / f"reference-{key}.mp4"
            write_video(path, reference.clip.frames, reference.clip.fps)
            self._references[key] = path
        return self._references[key]

    def fit(self, reference: Reference, workdir: Path) -> Any:
        if self._fit_argv is None:
            return None
        state_dir = Path(workdir).absolute() / "state"  # absolute: a value never starts with '-'
        state_dir.mkdir()
        w, h = reference.clip.size
        values = {"reference": self._reference_file(reference), "state_dir": state_dir, "width": w, "height": h,
                  "fps": reference.clip.fps, "num_frames": reference.clip.num_frames}
        self._run(self._fit_argv, values, self.config.fit_timeout or self.config.timeout, "fit command")
        # The workdir is deleted after fit: keep the state in our own scratch space.
        kept = Path(self._tmp.name).absolute() / f"state-{reference.key}-{self._next()}"
        shutil.copytree(state_dir, kept)
        return kept

    def save_state(self, state: Any, directory: Path) -> None:
        if state is not None:
            shutil.copytree(state, directory / "state")

    def load_state(self, directory: Path) -> Any:
        state = Path(directory).absolute() / "state"
        return state if state.is_dir() else None

    def _next(self) -> int:
        self._count += 1
        return self._count

    def generate(self, state: Any, reference: Reference, request: GenerationRequest) -> np.ndarray:
        w, h = request.size
        output = Path(self._tmp.name).absolute() / f"output-{self._next()}.mp4"
        values = {"reference": self._reference_file(reference), "prompt": request.prompt, "seed": request.seed,
                  "num_frames": request.num_frames, "width": w, "height": h, "fps": request.fps,
                  "output": output, "state_dir": state if state is not None else ""}
        shown = self._run(self._argv, values, self.config.timeout, "command")
        if not output.exists():
            where = "$MB_OUTPUT" if self.config.shell else "{output}"
            raise ExternalCommandError(f"command exited 0 but wrote no video at {where} ({output}): {shown}")
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
