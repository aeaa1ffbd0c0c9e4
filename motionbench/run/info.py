"""``run.json`` as typed records: what a run was asked to do, on what, with which backends.

One dataclass family, converted to and from JSON here and nowhere else::

    RunInfo
      schema, created, updated, command
      settings: RunSettings     what the finished videos depend on (compared before resuming)
      request:  RunRequest      which samples, seeds, device, executor (free to change between runs)
      versions                  package versions
      git:      GitState        commit and dirtiness of the MotionBench checkout
      device:   DeviceInfo      the machine, well enough to compare timings
      metric_backends           metric name -> backend id of its latest scoring

The file is schema 2. Schema 1 files, which MotionBench wrote before these records existed (their
settings and request sat together under ``config``), are read and converted in memory; the next
write stores them as schema 2. Files of another schema, or not a JSON object, are refused with
what to do. :class:`motionbench.run.store.RunStore` does the file I/O (atomic writes, the lock).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from motionbench.errors import MotionBenchError
from motionbench.tasks import MOTION_TRANSFER

RUN_SCHEMA = 2
_SETTINGS_KEYS = ("manifest", "methods", "num_frames", "size")
_REQUEST_KEYS = ("seeds", "categories", "samples", "limit", "device", "executor")


class RunInfoError(MotionBenchError):
    """``run.json`` cannot be read as a run record."""


@dataclass(frozen=True)
class GitState:
    """The MotionBench checkout a run came from (``commit`` None outside git)."""

    commit: str | None = None
    dirty: bool | None = None

    def describe(self) -> str | None:
        if not self.commit:
            return None
        short = self.commit[:12] if len(self.commit) == 40 else self.commit
        return short + (" (dirty)" if self.dirty else "")


@dataclass(frozen=True)
class DeviceInfo:
    """The compute device a run asked for, and the machine around it."""

    requested: str = "cpu"
    host: str | None = None
    platform: str | None = None
    python: str | None = None
    cpu: str | None = None
    cpu_count: int | None = None
    gpu: str | None = None
    gpu_memory_mb: int | None = None
    gpu_count: int | None = None
    cuda: str | None = None

    def describe(self) -> str:
        if self.gpu:
            return self.gpu + (f" (x{self.gpu_count} visible)" if self.gpu_count and self.gpu_count > 1 else "")
        cores = f", {self.cpu_count} cores" if self.cpu_count else ""
        return f"{self.requested} ({self.cpu or '?'}{cores})"


@dataclass(frozen=True)
class RunSettings:
    """What the finished videos depend on; a run is resumed only with the same settings.

    Attributes:
        manifest: the manifest's resolved path (where ``motionbench score`` finds the samples; not
            compared: the same manifest may be named by another path).
        methods: method name -> its resolved options (for adopted videos, ``{"videos": DIR}``).
        num_frames, size: run-wide overrides; None takes each reference clip's own.
        clip_frames: every reference clip cut to its first N frames (None: the manifest's windows).
        task: the task of the run's samples (:mod:`motionbench.tasks`; older runs: motion transfer).
        depth: recapture: the depth model real clips were lifted with (None: the default model).
    """

    manifest: str | None = None
    methods: dict[str, dict[str, Any]] = field(default_factory=dict)
    num_frames: int | None = None
    size: tuple[int, int] | None = None
    task: str = MOTION_TRANSFER
    depth: str | None = None
    clip_frames: int | None = None

    def conflicts(self, new: "RunSettings") -> list[str]:
        """Why videos made with ``new`` may not join those made with these settings (empty: they may)."""
        out = []
        if self.task != new.task:
            out.append(f"it holds the {self.task} task, this command runs {new.task} (one task per run directory)")
        if self.depth != new.depth:
            out.append(f"it lifted real clips with depth={self.depth or 'the default model'}, this command asks for "
                       f"{new.depth or 'the default model'}")
        for key in ("num_frames", "size", "clip_frames"):
            old_value, new_value = getattr(self, key), getattr(new, key)
            if old_value != new_value:
                out.append(f"it was generated with {key}={_shown(old_value)}, "
                           f"this command asks for {_shown(new_value)}")
        for name, cfg in new.methods.items():
            before = self.methods.get(name)
            if before is not None and before != cfg:
                changed = sorted(k for k in set(before) | set(cfg) if before.get(k) != cfg.get(k))
                out.append(f"it ran method {name!r} with other options ({', '.join(changed)} differ: "
                           f"{ {k: before.get(k) for k in changed} } then, { {k: cfg.get(k) for k in changed} } now)")
        return out

    def joined(self, new: "RunSettings") -> "RunSettings":
        """``new``, keeping the methods the run already has (methods added to a run join them)."""
        return replace(new, methods={**self.methods, **new.methods})


@dataclass(frozen=True)
class RunRequest:
    """Which jobs the latest command asked for; changing these between runs mixes nothing."""

    seeds: tuple[int, ...] = (0,)
    categories: tuple[str, ...] = ()
    samples: tuple[str, ...] = ()
    limit: int | None = None
    device: str = "cpu"
    executor: str = "local"


@dataclass(frozen=True)
class RunInfo:
    """The content of ``run.json`` (see the module docstring)."""

    settings: RunSettings = field(default_factory=RunSettings)
    request: RunRequest | None = None  # None for runs of adopted videos (nothing was generated)
    created: str | None = None
    updated: str | None = None
    command: tuple[str, ...] = ()
    versions: dict[str, str | None] = field(default_factory=dict)
    git: GitState = field(default_factory=GitState)
    device: DeviceInfo | None = None
    metric_backends: dict[str, str] = field(default_factory=dict)
    schema: int = RUN_SCHEMA

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["schema"] = RUN_SCHEMA
        return data

    @classmethod
    def from_json(cls, data: Any, where: Path | str) -> "RunInfo":
        """Read a schema 2 record, or convert a schema 1 one.

        Raises:
            RunInfoError: not an object, another schema, or fields of the wrong shape; naming ``where``.
        """
        if not isinstance(data, dict):
            raise RunInfoError(f"{where}: expected a JSON object, found {type(data).__name__}; restore the file "
                               "or delete it (reports do not need it; `motionbench run` writes a new one)")
        schema = data.get("schema")
        if schema == 1:
            data = _from_schema_1(data)
        elif schema != RUN_SCHEMA:
            newer = isinstance(schema, int) and schema > RUN_SCHEMA
            raise RunInfoError(
                f"{where}: schema {schema!r} is not one this MotionBench reads (1 or {RUN_SCHEMA}); "
                + ("it was written by a newer MotionBench: upgrade to read it" if newer
                   else "it was not written by `motionbench run`: delete it and rerun, or write it as a "
                        f"schema {RUN_SCHEMA} record (see motionbench/run/info.py)"))
        try:
            settings = _build(RunSettings, data.get("settings") or {})
            request = data.get("request")
            return _build(cls, {
                **data,
                "settings": replace(settings, size=tuple(settings.size) if settings.size else None),
                "request": _build(RunRequest, {k: tuple(v) if isinstance(v, list) else v for k, v in request.items()})
                if request is not None else None,
                "command": tuple(data.get("command") or ()),
                "git": _build(GitState, data.get("git") or {}),
                "device": _build(DeviceInfo, data["device"]) if data.get("device") is not None else None,
            })
        except (TypeError, AttributeError) as exc:
            raise RunInfoError(f"{where}: a field has the wrong shape ({exc}); restore the file or delete it") from None


def _shown(value: Any) -> str:
    return "None (each reference's own)" if value is None else repr(value)


def _build(cls: type, data: dict[str, Any]) -> Any:
    """``cls`` from the keys it knows (unknown keys are left out: they may come from a newer minor version)."""
    names = {f.name for f in fields(cls)}
    return cls(**{k: v for k, v in data.items() if k in names})


def _from_schema_1(data: dict[str, Any]) -> dict[str, Any]:
    """A schema 1 record (settings and request together under ``config``) as schema 2 fields."""
    config = data.get("config") or {}
    out = {k: v for k, v in data.items() if k != "config"}
    out["settings"] = {k: config[k] for k in _SETTINGS_KEYS if k in config}
    out["request"] = {k: config[k] for k in _REQUEST_KEYS if k in config} if "seeds" in config else None
    return out
