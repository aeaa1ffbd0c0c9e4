"""The benchmark definition: manifest schema, loading and validation.

A manifest is a YAML file (``data/manifest.yaml`` ships the default benchmark). Loading it yields
typed records; nothing downstream sees raw dicts. This module imports neither torch nor any video
library, so ``motionbench ls`` answers instantly; checking that media files decode lives in
:func:`validate_manifest` and imports the video reader only when asked to.

Schema (version 1)::

    schema_version: 1
    name: motionbench
    version: "0.1"
    defaults: {fps: 8, num_frames: 16, size: [128, 128]}     # optional
    categories:
      camera: {description: "..."}
      ...
    samples:
      - id: camera-pan                  # unique, [a-z0-9][a-z0-9_-]*, at most 64 characters
        category: camera                # one of the categories above
        source:                         # exactly one of synthetic / path / url
          synthetic: {generator: camera, seed: 1, params: {path: pan}}
          # path: clips/dance.mp4       (relative to the manifest's folder)
          # url: https://...  sha256: <64 hex>   (fetched by `motionbench download`)
        frames: {start: 0, count: 16}   # window of the source, in source frames (optional)
        fps: 8                          # optional; resample the window to this rate
        size: [128, 128]                # optional; [width, height] of the clip
        prompts: ["a red kite ...", "..."]
        box: [x0, y0, x1, y1]           # optional foreground box in clip pixels, for motion scoring
        attribution: "..."              # optional
        caption: "a green circle ..."   # optional: what the reference shows (tuning methods may train with
                                        # it: --method-opt train_prompt={caption}); toy-world clips have one

A sample of the *recapture* task (re-rendering along new camera paths, :mod:`motionbench.tasks`)
says ``task: recapture`` (or the manifest's ``defaults`` do) and gives its target camera paths::

      - id: room-orbit
        category: static_scene
        task: recapture
        source: {scene: {seed: 3, moving: none}}   # a 3-D scene (exact truth), or path / url (a real clip)
        frames: {count: 17}             # scene clips start at scene time 0 (no frames.start)
        size: [64, 64]
        paths: ["orbit:phi=20", "zoom:zoom=1.4", {keys: [{at: 0}, {at: 1, theta: 10}]}]
        prompts: ["a toy room"]         # optional, at most one: what the source shows (else its caption, if any)

``paths`` use the camera-path format of :mod:`motionbench.recapture.trajectory` (short or long
forms); each is parsed here, so ``motionbench validate`` names the path and field at fault.
Scene sources serve the recapture task only, 2-D synthetic generators the motion-transfer task
only (they have no depth). Real clips of the task have no truth: they are scored by the
consistency metrics only.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping, Sequence

import yaml

from motionbench import limits
from motionbench.errors import ConfigError, ManifestError
from motionbench.package_data import resolve_manifest, shipped_manifests
from motionbench.tasks import DEFAULT_MANIFESTS, MOTION_TRANSFER, RECAPTURE, TASKS

if TYPE_CHECKING:
    from motionbench.recapture.trajectory import CameraPath

SCHEMA_VERSION = 1
CATEGORIES = ("camera", "single_object", "multi_object", "human")
DEFAULT_MANIFEST = DEFAULT_MANIFESTS[MOTION_TRANSFER]
#: What a 3-D scene's ``moving`` may be (:func:`motionbench.bench.scenes.make_scene`).
SCENE_MOVERS = ("auto", "ball", "box", "none")
_ID_PATTERN = r"[a-z0-9][a-z0-9_-]*"
_SHA256_RE = re.compile(r"^[0-9a-f]{64}$")
SYNTHETIC_NUM_FRAMES = 17  # frames of a synthetic clip without frames.count


@dataclass(frozen=True)
class SyntheticSource:
    """A clip rendered by one of MotionBench's seeded generators."""

    generator: str
    seed: int
    params: Mapping[str, Any] = field(default_factory=dict)

    def describe(self) -> str:
        return f"synthetic:{self.generator}(seed={self.seed})"


@dataclass(frozen=True)
class FileSource:
    """A video file on disk (an absolute path, resolved against the manifest's folder)."""

    path: Path

    def describe(self) -> str:
        return str(self.path)


@dataclass(frozen=True)
class UrlSource:
    """A video to fetch with ``motionbench download``; ``path`` is where it is cached."""

    url: str
    sha256: str
    path: Path

    def describe(self) -> str:
        return self.url


@dataclass(frozen=True)
class SceneSource:
    """A 3-D scene (:mod:`motionbench.bench.scenes`) filmed by a static camera: known depth, exact novel views."""

    seed: int
    moving: str = "auto"

    def describe(self) -> str:
        return f"scene(seed={self.seed}, moving={self.moving})"


Source = SyntheticSource | FileSource | UrlSource | SceneSource


@dataclass(frozen=True)
class FrameWindow:
    start: int = 0
    count: int | None = None  # None: to the end of the source


def first_frames(sample: "Sample", count: int) -> "Sample":
    """``sample`` with its frame window cut to its first ``count`` frames (``motionbench run
    --clip-frames``): the method, the ground truth and the metrics all see the shorter clip, its
    motion at the speed it was filmed (unlike ``--num-frames``, which resamples the whole window)."""
    window = sample.frames
    return replace(sample, frames=FrameWindow(window.start, count if window.count is None else min(window.count, count)))


@dataclass(frozen=True)
class Sample:
    """One reference clip of the benchmark with the prompts to transfer its motion to."""

    id: str
    category: str
    source: Source
    prompts: tuple[str, ...]
    frames: FrameWindow = FrameWindow()
    fps: float | None = None
    size: tuple[int, int] | None = None  # (width, height)
    box: tuple[float, float, float, float] | None = None  # (x0, y0, x1, y1) in clip pixels
    attribution: str | None = None
    caption: str | None = None  # what the reference shows, in words (tuning methods may train with it)
    task: str = MOTION_TRANSFER
    paths: tuple["CameraPath", ...] = ()  # recapture: the target camera paths, in manifest order

    @property
    def is_synthetic(self) -> bool:
        return isinstance(self.source, SyntheticSource)

    @property
    def is_scene(self) -> bool:
        return isinstance(self.source, SceneSource)


@dataclass(frozen=True)
class Category:
    name: str
    description: str


@dataclass(frozen=True)
class Manifest:
    path: Path
    name: str
    version: str
    categories: tuple[Category, ...]
    samples: tuple[Sample, ...]

    def category_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.categories)

    def sample(self, sample_id: str) -> Sample:
        for s in self.samples:
            if s.id == sample_id:
                return s
        raise ManifestError(
            f"{self.path}: no sample with id {sample_id!r}; run `motionbench ls` to list the ids"
        )

    def select(
        self,
        categories: Sequence[str] = (),
        sample_ids: Sequence[str] = (),
        limit: int | None = None,
        task: str | None = None,
    ) -> list[Sample]:
        """Samples filtered by category and id (each list empty = all) and task (None = any), in manifest order.

        Raises:
            ManifestError: an unknown category or id, or an id of a sample of another task.
        """
        unknown = [c for c in categories if c not in self.category_names()]
        if unknown:
            raise ManifestError(
                f"unknown category {unknown[0]!r}; the manifest {self.path} has: "
                + ", ".join(self.category_names())
            )
        known_ids = {s.id for s in self.samples}
        missing = [i for i in sample_ids if i not in known_ids]
        if missing:
            raise ManifestError(
                f"unknown sample id {missing[0]!r} in {self.path}; run `motionbench ls` to list the ids"
            )
        if task is not None:
            other = [s for s in self.samples if s.id in sample_ids and s.task != task]
            if other:
                raise ManifestError(f"sample {other[0].id!r} of {self.path} is a {other[0].task} sample; "
                                    f"this command plans {task} samples (pass --task {other[0].task})")
        chosen = [
            s
            for s in self.samples
            if (not categories or s.category in categories) and (not sample_ids or s.id in sample_ids)
            and (task is None or s.task == task)
        ]
        return chosen[:limit] if limit is not None else chosen


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a manifest: where it is and what to do about it."""

    where: str  # "sample 'camera-pan', field 'prompts[1]'" or "manifest"
    message: str

    def __str__(self) -> str:
        return f"{self.where}: {self.message}"


class _Collector:
    """Gathers every problem instead of stopping at the first, so `validate` can list them all."""

    def __init__(self) -> None:
        self.problems: list[Problem] = []

    def add(self, where: str, message: str) -> None:
        self.problems.append(Problem(where, message))


def _read_yaml(path: Path) -> Any:
    if not path.exists():
        names = ", ".join(shipped_manifests())
        raise ManifestError(f"manifest not found: {path} (pass --manifest PATH, or the name of a shipped one: {names})")
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ManifestError(f"{path} is not valid YAML: {exc}") from None


def _parse_source(raw: Any, where: str, root: Path, out: _Collector) -> Source | None:
    if not isinstance(raw, Mapping):
        out.add(where, "field 'source' must be a mapping with one of: synthetic, path, url")
        return None
    kinds = [k for k in ("synthetic", "scene", "path", "url") if k in raw]
    if len(kinds) != 1:
        out.add(where, f"field 'source' needs exactly one of synthetic, scene, path, url (found: {kinds or 'none'})")
        return None
    kind = kinds[0]
    if kind == "scene":
        scene = raw["scene"]
        if not isinstance(scene, Mapping):
            out.add(where, "field 'source.scene' must be a mapping {seed, moving}")
            return None
        unknown = [k for k in scene if k not in ("seed", "moving")]
        if unknown:
            out.add(where, f"field 'source.scene' has unknown key {unknown[0]!r}; keys: seed, moving")
        seed, moving = scene.get("seed", 0), scene.get("moving", "auto")
        ok = True
        if (problem := limits.int_range_problem(seed, 0, limits.MAX_SEED)) is not None:
            out.add(where, f"field 'source.scene.seed' {problem}")
            ok = False
        if moving not in SCENE_MOVERS:
            out.add(where, f"field 'source.scene.moving' is {moving!r}, not one of: {', '.join(SCENE_MOVERS)}")
            ok = False
        return SceneSource(seed, str(moving)) if ok else None
    if kind == "synthetic":
        syn = raw["synthetic"]
        if not isinstance(syn, Mapping):
            out.add(where, "field 'source.synthetic' must be a mapping {generator, seed, params}")
            return None
        generator, seed, params = syn.get("generator"), syn.get("seed", 0), syn.get("params", {}) or {}
        ok = True
        if not isinstance(generator, str) or not generator:
            out.add(where, "field 'source.synthetic.generator' must name a generator (camera, single_object, multi_object, human)")
            ok = False
        if (problem := limits.int_range_problem(seed, 0, limits.MAX_SEED)) is not None:
            out.add(where, f"field 'source.synthetic.seed' {problem}")
            ok = False
        if not isinstance(params, Mapping):
            out.add(where, "field 'source.synthetic.params' must be a mapping")
            ok = False
        return SyntheticSource(generator, seed, dict(params)) if ok else None
    if kind == "path":
        value = raw["path"]
        if not isinstance(value, str) or not value:
            out.add(where, "field 'source.path' must be a file path")
            return None
        path = Path(value).expanduser()
        return FileSource(path if path.is_absolute() else (root / path).resolve())
    url, sha = raw.get("url"), raw.get("sha256")
    ok = True
    if not isinstance(url, str) or not url.startswith(("http://", "https://")):
        out.add(where, f"field 'source.url' must be an http(s) URL, got {url!r}")
        ok = False
    if not isinstance(sha, str) or not _SHA256_RE.match(sha):
        out.add(where, "field 'source.sha256' must be the file's 64-hex-digit sha256 (url sources are checked)")
        ok = False
    if not ok:
        return None
    cache = raw.get("cache_path") or f"downloads/{Path(url.split('?')[0]).name}"
    return UrlSource(url, sha, (root / cache).resolve())


def _parse_sample(raw: Any, index: int, root: Path, categories: Sequence[str], defaults: Mapping[str, Any], out: _Collector) -> Sample | None:
    if not isinstance(raw, Mapping):
        out.add(f"samples[{index}]", "each sample must be a mapping with id, category, source, prompts")
        return None
    sid = raw.get("id")
    problem = limits.id_problem(sid, _ID_PATTERN)
    if problem:
        out.add(f"samples[{index}]", f"field 'id' {problem}")
        sid = None
    where = f"sample {sid!r}" if sid else f"samples[{index}]"
    known = {"id", "category", "source", "prompts", "frames", "fps", "size", "box", "attribution", "caption", "task",
             "paths"}
    for key in raw:
        if key not in known:
            out.add(where, f"unknown field {key!r}; allowed: {', '.join(sorted(known))}")
    task = raw.get("task", defaults.get("task", MOTION_TRANSFER))
    if task not in TASKS:
        out.add(where, f"field 'task' is {task!r}, not one of: {', '.join(TASKS)}")
        task = MOTION_TRANSFER
    recapture = task == RECAPTURE
    category = raw.get("category")
    if category not in categories:
        out.add(where, f"field 'category' is {category!r}, not one of: {', '.join(categories)}")
    source = _parse_source(raw.get("source"), where, root, out)
    if recapture and isinstance(source, SyntheticSource):
        out.add(where, "field 'source': a recapture sample needs a 3-D scene (scene: {seed: ...}) or a real clip "
                       "(path or url); the 2-D synthetic generators have no depth to re-render from")
    if not recapture and isinstance(source, SceneSource):
        out.add(where, "field 'source': scene sources serve the recapture task; add task: recapture and paths")
    paths = _parse_paths(raw.get("paths"), where, recapture, out)

    prompts_raw = raw.get("prompts")
    prompts: list[str] = []
    if recapture and prompts_raw is None:
        pass  # prompts are optional for recapture: a caption of the source, for CLIP-T and prompted methods
    elif recapture and isinstance(prompts_raw, list) and len(prompts_raw) > 1:
        out.add(where, f"field 'prompts' has {len(prompts_raw)} entries; a recapture sample takes at most one "
                       "(a caption of the source clip)")
    elif not isinstance(prompts_raw, list) or (not prompts_raw and not recapture):
        out.add(where, "field 'prompts' must be a " + ("list of at most one string" if recapture else
                                                       "non-empty list of strings"))
    else:
        for i, p in enumerate(prompts_raw):
            if not isinstance(p, str) or not p.strip():
                out.add(where, f"field 'prompts[{i}]' is empty; write the appearance to generate")
            elif (problem := limits.prompt_problem(p)) is not None:
                out.add(where, f"field 'prompts[{i}]' {problem}")
            else:
                prompts.append(p.strip())

    frames_raw = raw.get("frames")
    if frames_raw is not None and not isinstance(frames_raw, Mapping):
        out.add(where, "field 'frames' must be a mapping {start, count}")
        frames_raw = None
    start = (frames_raw or {}).get("start", 0)
    if not limits.is_integer(start) or start < 0:
        out.add(where, f"field 'frames.start' must be an integer >= 0, got {start!r}")
        start = 0
    count_field = "frames.count" if frames_raw is not None and "count" in frames_raw else "defaults.num_frames"
    count = (frames_raw or {}).get("count", defaults.get("num_frames"))
    if count is not None and (problem := limits.frames_problem(count)) is not None:
        out.add(where, f"field '{count_field}' {problem}")
        count = None
    window = FrameWindow(start, count)
    if isinstance(source, SceneSource) and start:
        out.add(where, f"field 'frames.start' is {start}; a scene clip starts at scene time 0 (remove frames.start)")

    fps = raw.get("fps", defaults.get("fps"))
    if fps is not None and (problem := limits.fps_problem(fps)) is not None:
        out.add(where, f"field 'fps' {problem}")
        fps = None
    size = raw.get("size", defaults.get("size"))
    if size is not None:
        problems = [limits.side_problem(v) for v in size] if isinstance(size, list) and len(size) == 2 else ["?"]
        if any(problems):
            out.add(where, f"field 'size' must be [width, height] in pixels, each an integer from {limits.MIN_SIDE} "
                           f"to {limits.MAX_SIDE}, got {size!r}")
            size = None
        else:
            size = (size[0], size[1])
    if isinstance(source, (SyntheticSource, SceneSource)) and start + (count or SYNTHETIC_NUM_FRAMES) > limits.MAX_FRAMES:
        # a synthetic clip is rendered from its first frame: the window's end is what it costs
        out.add(where, f"fields 'frames.start' + 'frames.count' reach frame {start + (count or SYNTHETIC_NUM_FRAMES)}; "
                       f"a synthetic clip has at most {limits.MAX_FRAMES} frames")
    if size is not None and count is not None and (problem := limits.budget_problem(count, size)) is not None:
        out.add(where, f"fields 'frames.count' and 'size': {problem}")
    box = raw.get("box")
    if box is not None and recapture:
        out.add(where, "field 'box' applies to motion transfer (the foreground motion is scored); recapture scores "
                       "whole frames")
        box = None
    if box is not None:
        if not (isinstance(box, list) and len(box) == 4 and all(limits.is_finite_number(v) for v in box)
                and box[0] < box[2] and box[1] < box[3]):
            out.add(where, f"field 'box' must be [x0, y0, x1, y1] (finite numbers) with x0 < x1 and y0 < y1, got {box!r}")
            box = None
        else:
            box = tuple(float(v) for v in box)
    attribution = raw.get("attribution")
    if attribution is not None and not isinstance(attribution, str):
        out.add(where, "field 'attribution' must be a string")
        attribution = None
    caption = raw.get("caption")
    if caption is not None:
        if not isinstance(caption, str) or not caption.strip():
            out.add(where, "field 'caption' must be a non-empty string (what the reference clip shows)")
            caption = None
        elif (problem := limits.prompt_problem(caption)) is not None:
            out.add(where, f"field 'caption' {problem}")
            caption = None
        else:
            caption = caption.strip()
    if sid is None or source is None:
        return None
    # A sample with other problems is still returned so `validate` can check its media too;
    # load_manifest refuses the manifest as a whole whenever any problem was collected.
    return Sample(sid, str(category), source, tuple(prompts), window, float(fps) if fps else None, size, box, attribution,
                  caption, str(task), paths)


def _parse_paths(raw: Any, where: str, recapture: bool, out: _Collector) -> tuple["CameraPath", ...]:
    """A recapture sample's camera paths, each checked by :meth:`CameraPath.parse` (every problem collected)."""
    if not recapture:
        if raw is not None:
            out.add(where, "field 'paths' applies to recapture samples only; add task: recapture")
        return ()
    if not isinstance(raw, list) or not raw:
        out.add(where, "field 'paths' must be a non-empty list of camera paths, e.g. [\"orbit:phi=20\", \"zoom\"] "
                       "(the format: motionbench/recapture/trajectory.py)")
        return ()
    from motionbench.recapture.trajectory import CameraPath

    paths: list[CameraPath] = []
    seen: dict[str, int] = {}
    for j, spec in enumerate(raw):
        try:
            path = CameraPath.parse(spec, where=f"field 'paths[{j}]'")
        except ConfigError as exc:
            out.add(where, str(exc))
            continue
        if path.key in seen:
            out.add(where, f"field 'paths[{j}]' has the same geometry as paths[{seen[path.key]}]; give each path once")
            continue
        seen[path.key] = j
        paths.append(path)
    return tuple(paths)


def parse_manifest(path: Path) -> tuple[Manifest | None, list[Problem]]:
    """Parse and check the schema, collecting every problem (no media access)."""
    path = resolve_manifest(path).resolve()
    data = _read_yaml(path)
    out = _Collector()
    if not isinstance(data, Mapping):
        out.add("manifest", "the top level must be a mapping with schema_version, categories, samples")
        return None, out.problems
    version = data.get("schema_version")
    if version != SCHEMA_VERSION:
        out.add("manifest", f"field 'schema_version' is {version!r}; this MotionBench reads version {SCHEMA_VERSION}")
    cats_raw = data.get("categories")
    categories: list[Category] = []
    if not isinstance(cats_raw, Mapping) or not cats_raw:
        out.add("manifest", "field 'categories' must map each category name to {description: ...}")
    else:
        for name, body in cats_raw.items():
            desc = body.get("description") if isinstance(body, Mapping) else None
            if not isinstance(desc, str) or not desc.strip():
                out.add(f"category {name!r}", "field 'description' must be a non-empty string")
            categories.append(Category(str(name), (desc or "").strip()))
    defaults = data.get("defaults") or {}
    if not isinstance(defaults, Mapping):
        out.add("manifest", "field 'defaults' must be a mapping")
        defaults = {}
    samples_raw = data.get("samples")
    samples: list[Sample] = []
    if not isinstance(samples_raw, list) or not samples_raw:
        out.add("manifest", "field 'samples' must be a non-empty list")
        samples_raw = []
    names = [c.name for c in categories]
    seen: dict[str, int] = {}
    for i, raw in enumerate(samples_raw):
        sample = _parse_sample(raw, i, path.parent, names, defaults, out)
        sid = raw.get("id") if isinstance(raw, Mapping) else None
        if isinstance(sid, str):
            if sid in seen:
                out.add(f"sample {sid!r}", f"duplicate id (samples[{seen[sid]}] and samples[{i}]); ids must be unique")
                continue
            seen[sid] = i
        if sample is not None:
            samples.append(sample)
    manifest = Manifest(path, str(data.get("name", path.stem)), str(data.get("version", "0")), tuple(categories), tuple(samples))
    return manifest, out.problems


def load_manifest(path: Path | str | None = None) -> Manifest:
    """Load a manifest, raising :class:`ManifestError` listing every schema problem."""
    manifest, problems = parse_manifest(resolve_manifest(path))
    if problems or manifest is None:
        where = resolve_manifest(path)
        listing = "\n".join(f"  - {p}" for p in problems)
        raise ManifestError(f"{where} has {len(problems)} problem(s):\n{listing}\nRun `motionbench validate {where}` for details.")
    return manifest
