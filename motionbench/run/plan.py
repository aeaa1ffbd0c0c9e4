"""Planning a run: which jobs exist, how they group, which shard owns which group.

A job is one generated video: (method, sample, prompt index, seed) in motion transfer, (method,
sample, camera path, seed) in recapture. Jobs of the same (method, sample) form a *group*: the
method fits once per group and generates each job of it. Groups are the unit of scheduling (one
Ray task, one shard member), so a fit is never repeated across workers. A recapture group lists
its jobs seed by seed, each seed's paths in manifest order: a method that hands a context from one
path to the next (FYC's temporal packing) finds the paths of one chain together and in order.

Shards are a deterministic partition of groups by a hash of the group key; it depends on nothing
but the key and ``n``, so ``--shard 0/2`` and ``--shard 1/2`` cover the unsharded run exactly once
however many workers or GPUs run them.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Iterable, Sequence

from motionbench import limits
from motionbench.bench.manifest import Sample
from motionbench.errors import ConfigError
from motionbench.run.records import job_id, recapture_job_id
from motionbench.tasks import MOTION_TRANSFER, RECAPTURE

if TYPE_CHECKING:
    from motionbench.recapture.trajectory import CameraPath


@dataclass(frozen=True)
class Job:
    method: str
    sample: str
    category: str
    prompt_index: int
    prompt: str
    seed: int
    task: str = MOTION_TRANSFER
    path_index: int | None = None  # recapture: index of ``path`` in the sample's paths
    path: "CameraPath | None" = None  # recapture: the target camera path

    @property
    def id(self) -> str:
        if self.path is not None:
            return recapture_job_id(self.method, self.sample, int(self.path_index or 0), self.path.key, self.seed)
        return job_id(self.method, self.sample, self.prompt_index, self.seed)

    @property
    def video_relpath(self) -> str:
        """Where the job's video lives, relative to the run directory."""
        if self.path is not None:
            return f"videos/{self.method}/{self.sample}/{self.path_index}-{self.path.key}-s{self.seed}.mp4"
        return f"videos/{self.method}/{self.sample}/{self.prompt_index}-s{self.seed}.mp4"


@dataclass(frozen=True)
class Group:
    """The jobs of one (method, sample): fit once, generate each."""

    method: str
    sample: Sample
    jobs: tuple[Job, ...]

    @property
    def key(self) -> str:
        return group_key(self.method, self.sample.id)


@dataclass(frozen=True)
class Shard:
    index: int
    count: int

    @classmethod
    def parse(cls, text: str) -> "Shard":
        """``"i/n"`` with ``0 <= i < n``."""
        m = re.fullmatch(r"\s*(\d+)\s*/\s*(\d+)\s*", text)
        if not m:
            raise ConfigError(f"--shard {text!r} is not of the form i/n (e.g. --shard 0/4)")
        i, n = int(m.group(1)), int(m.group(2))
        if n < 1 or not 0 <= i < n:
            raise ConfigError(f"--shard {text!r}: need 0 <= i < n (shards of n=4 are 0/4 .. 3/4)")
        return cls(i, n)

    def owns(self, key: str) -> bool:
        return shard_of(key, self.count) == self.index

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"


def group_key(method: str, sample: str) -> str:
    return f"{method}/{sample}"


def shard_of(key: str, count: int) -> int:
    """Which of ``count`` shards owns a group key (a stable hash, not Python's salted ``hash``)."""
    digest = hashlib.sha256(key.encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") % count


def parse_seeds(text: str) -> tuple[int, ...]:
    """``"0,1,2"`` or ``"0-3"`` (inclusive) -> seeds, in order, without repeats.

    Linear in the number of seeds, and at most :data:`~motionbench.limits.MAX_SEEDS` of them, each
    from 0 to :data:`~motionbench.limits.MAX_SEED`: a range is checked before it is expanded.
    """
    seeds: dict[int, None] = {}  # insertion-ordered set
    for part in text.split(","):
        part = part.strip()
        if not part:
            continue
        m = re.fullmatch(r"(\d{1,12})\s*-\s*(\d{1,12})", part)
        if m:
            low, high = int(m.group(1)), int(m.group(2))
            if low > high:
                raise ConfigError(f"--seeds {text!r}: the range {part!r} is empty; write it low-high, e.g. {high}-{low}")
        elif re.fullmatch(r"\d{1,12}", part):
            low = high = int(part)
        else:
            raise ConfigError(f"--seeds {text!r}: {part!r} is not a seed (an integer from 0 to {limits.MAX_SEED}) or a range; "
                              "write e.g. --seeds 0,1,2 or 0-3")
        if high > limits.MAX_SEED:
            raise ConfigError(f"--seeds {text!r}: seeds go from 0 to {limits.MAX_SEED}; {high} is too large")
        if high - low + 1 > limits.MAX_SEEDS:  # checked before the range is expanded
            raise _too_many_seeds(text)
        for s in range(low, high + 1):
            seeds[s] = None
        if len(seeds) > limits.MAX_SEEDS:
            raise _too_many_seeds(text)
    if not seeds:
        raise ConfigError(f"--seeds {text!r} names no seed; write e.g. --seeds 0,1")
    return tuple(seeds)


def _too_many_seeds(text: str) -> ConfigError:
    return ConfigError(f"--seeds {text!r} names more than {limits.MAX_SEEDS} seeds; a run takes at most "
                       f"{limits.MAX_SEEDS} (split the work into several runs)")


def plan_groups(methods: Sequence[str], samples: Sequence[Sample], seeds: Iterable[int],
                shard: Shard | None = None) -> list[Group]:
    """Groups in a stable order (method, then manifest order), each with its jobs, shard-filtered."""
    seeds = tuple(seeds)
    groups = []
    for method in methods:
        for sample in samples:
            if shard is not None and not shard.owns(group_key(method, sample.id)):
                continue
            if sample.task == RECAPTURE:
                # The one prompt of a recapture sample describes the source; its caption serves as well.
                prompt = sample.prompts[0] if sample.prompts else (sample.caption or "")
                jobs = tuple(Job(method, sample.id, sample.category, 0, prompt, seed, RECAPTURE, i, path)
                             for seed in seeds for i, path in enumerate(sample.paths))
            else:
                jobs = tuple(
                    Job(method, sample.id, sample.category, i, prompt, seed)
                    for i, prompt in enumerate(sample.prompts)
                    for seed in seeds
                )
            groups.append(Group(method, sample, jobs))
    return groups
