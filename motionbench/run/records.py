"""Typed records of the results store (see DESIGN.md, "The results store").

``generations.jsonl`` holds one :class:`GenerationRecord` per job attempt outcome and
``scores.jsonl`` one :class:`ScoreRecord` per (job, metric, variant): a metric's
:class:`~motionbench.metrics.api.ScoreValue` with its job's identity, built by :meth:`ScoreRecord.of`. Each line is one JSON object
written whole in one write. Readers take the *last* record of a key, so a rescore supersedes the
earlier one without rewriting the file.

Records say their task (:mod:`motionbench.tasks`). A recapture record also names its camera path
(``path_index`` in the sample's list, the long form ``path`` and its geometry ``path_key``) and,
for generations, what the method reported (``method_info``). These fields are left out of a line
while they hold their motion-transfer defaults (:data:`TASK_FIELDS`), so motion-transfer lines are
exactly what they were before the second task existed, and a line without ``task`` is motion
transfer (as every older store is).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any, Iterator, Literal, TypeVar

from motionbench.metrics.api import ScoreValue
from motionbench.run.jsonl import read_lines
from motionbench.tasks import MOTION_TRANSFER

GenerationStatus = Literal["ok", "error"]


def job_id(method: str, sample: str, prompt_index: int, seed: int) -> str:
    """The key of one generation job; independent of workers, shards and ordering."""
    return f"{method}/{sample}/{prompt_index}-s{seed}"


def recapture_job_id(method: str, sample: str, path_index: int, path_key: str, seed: int) -> str:
    """The key of one recapture job: the path's index and geometry (an edited path is a new job)."""
    return f"{method}/{sample}/{path_index}-{path_key}-s{seed}"


@dataclass
class GenerationRecord:
    job: str
    method: str
    sample: str
    category: str
    prompt_index: int
    prompt: str
    seed: int
    status: GenerationStatus
    video: str | None = None  # path relative to the run directory
    num_frames: int | None = None
    size: tuple[int, int] | None = None
    fit_seconds: float | None = None  # None when the fitted state came from the cache
    fit_cached: bool = False
    generate_seconds: float | None = None
    fit_peak_memory_mb: float | None = None
    generate_peak_memory_mb: float | None = None
    # What the peak memory figures measure: "cuda_max_allocated" (torch.cuda.max_memory_allocated)
    # or "cpu_rss_peak_delta" (growth of the process's resident set); see motionbench.run.measure.
    memory_kind: str | None = None
    error: str | None = None  # "<ErrorType>: message" plus captured stderr where there is one
    method_config: dict[str, Any] = field(default_factory=dict)
    finished_at: str = ""
    video_sha256: str | None = None  # of the video file this record made; scores name it (None: older stores)
    task: str = MOTION_TRANSFER
    path_index: int | None = None  # recapture: the path's index in the sample's paths
    path: dict[str, Any] | None = None  # recapture: the path's long form (CameraPath.to_dict)
    path_key: str | None = None  # recapture: the path's geometry hash (CameraPath.key)
    method_info: dict[str, Any] | None = None  # recapture: what the method reported (hole fraction, packed frames)


@dataclass(frozen=True, kw_only=True)
class ScoreRecord(ScoreValue):
    """A metric's :class:`ScoreValue` for one job, with the job's identity; built by :meth:`of`."""

    job: str
    method: str
    sample: str
    category: str
    prompt_index: int
    seed: int
    video_sha256: str | None = None  # the scored video (GenerationRecord.video_sha256): a regenerated video is scored anew
    task: str = MOTION_TRANSFER
    path_index: int | None = None
    path_key: str | None = None

    @classmethod
    def of(cls, generation: GenerationRecord, value: ScoreValue) -> "ScoreRecord":
        """The record of ``value``, scored on ``generation``'s video."""
        return cls(**asdict(value), job=generation.job, method=generation.method, sample=generation.sample,
                   category=generation.category, prompt_index=generation.prompt_index, seed=generation.seed,
                   video_sha256=generation.video_sha256, task=generation.task, path_index=generation.path_index,
                   path_key=generation.path_key)

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.job, self.metric, self.variant)


R = TypeVar("R", GenerationRecord, ScoreRecord)


#: Task fields and their motion-transfer defaults: left out of a line that holds them (see the module docstring).
TASK_FIELDS: dict[str, Any] = {"task": MOTION_TRANSFER, "path_index": None, "path": None, "path_key": None,
                               "method_info": None}


def to_json_line(record: GenerationRecord | ScoreRecord) -> str:
    data = asdict(record)
    for key, default in TASK_FIELDS.items():
        if key in data and data[key] == default:
            del data[key]
    return json.dumps(data, sort_keys=True, allow_nan=False) + "\n"


def from_dict(cls: type[R], data: dict[str, Any]) -> R:
    names = {f.name for f in fields(cls)}
    kwargs = {k: v for k, v in data.items() if k in names}
    if "size" in kwargs and kwargs["size"] is not None:
        kwargs["size"] = tuple(kwargs["size"])
    return cls(**kwargs)


def iter_records(path: Path, cls: type[R]) -> Iterator[R]:
    """Records of a JSONL file; an unfinished last line is skipped with a warning, any other bad line
    raises StoreError naming it (see :mod:`motionbench.run.jsonl`)."""
    return read_lines(path, lambda data: from_dict(cls, data), cls.__name__)
