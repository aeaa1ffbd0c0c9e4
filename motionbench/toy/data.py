"""The toy model's training set: seeded toy clips of training looks, encoded once by the codec.

Example ``i`` of a data seed is fully determined by ``(seed, i)``: its category (cycling through
the four, so every chunk is balanced), a training-split look (:func:`motionbench.bench.toy.random_look`),
its path or action, a speed in ``[0.6, 1.5]`` and a motion seed. Held-out looks never occur.

:func:`build_dataset` renders and encodes examples (in spawned worker processes when asked) and writes, under ``DIR``:

* ``latents.npy``  float16 ``[N, C, 9, 8, 8]`` codec latents, *unnormalised*;
* ``weights.npy``  uint8 ``[N, 9, 8, 8]``: 1 where a latent block holds a moving object's pixels;
* ``captions.json`` the caption of each example;
* ``done.json``    which chunks are complete (a killed build resumes where it stopped).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator

import numpy as np

from motionbench.bench.toy.vocab import CATEGORIES, random_look
from motionbench.bench.toy.world import ACTIONS, CAMERA_PATHS, OBJECT_PATHS, generator_of, params_for_look

NUM_FRAMES, SIZE, FPS = 33, (32, 32), 8.0
CHUNK = 256


@dataclass(frozen=True)
class Example:
    generator: str
    params: dict[str, Any]
    motion_seed: int
    caption: str


def draw_example(seed: int, index: int) -> Example:
    """Example ``index`` of the data stream ``seed`` (see the module docstring)."""
    rng = np.random.default_rng(np.random.SeedSequence([seed, index, 7]))
    category = CATEGORIES[index % len(CATEGORIES)]
    generator = generator_of(category)
    look = random_look(rng, category, "train")
    params = params_for_look(generator, look)
    if generator == "toy_camera":
        params["path"] = CAMERA_PATHS[int(rng.integers(len(CAMERA_PATHS)))]
    elif generator == "toy_human":
        params["action"] = ACTIONS[int(rng.integers(len(ACTIONS)))]
    elif generator == "toy_single_object":
        params["path"] = OBJECT_PATHS[int(rng.integers(len(OBJECT_PATHS)))]
    params["speed"] = float(np.round(rng.uniform(0.6, 1.5), 3))
    return Example(generator, params, int(rng.integers(2**31)), look.caption())


def render_example(example: Example):
    """The example's clip (a :class:`~motionbench.bench.synthetic.SynthClip`)."""
    from motionbench.bench.synthetic import render

    return render(example.generator, seed=example.motion_seed, params=example.params, num_frames=NUM_FRAMES,
                  size=SIZE, fps=FPS)


def block_weights(foreground: np.ndarray, block: int = 4, frames_per_latent: int = 4) -> np.ndarray:
    """``bool [4k+1, H, W]`` -> ``uint8 [k+1, H/b, W/b]``: 1 where any pixel of the latent block is foreground."""
    t, h, w = foreground.shape
    fg = np.concatenate([np.repeat(foreground[:1], frames_per_latent, axis=0), foreground[1:]], axis=0)
    fg = fg.reshape((t + frames_per_latent - 1) // frames_per_latent, frames_per_latent, h // block, block,
                    w // block, block)
    return fg.any(axis=(1, 3, 5)).astype(np.uint8)


def _encode_chunk(args: tuple[int, int, int, str]) -> tuple[int, dict[str, np.ndarray]]:
    import torch

    from motionbench.toy.codec import ToyPCACodec

    seed, start, stop, codec_dir = args
    codec = ToyPCACodec.from_pretrained(codec_dir)
    latents, weights = [], []
    for i in range(start, stop):
        clip = render_example(draw_example(seed, i))
        x = torch.from_numpy(clip.frames).permute(3, 0, 1, 2)[None].float() / 127.5 - 1
        with torch.no_grad():
            latents.append(codec.encode(x).latent_dist.mode()[0].numpy().astype(np.float16))
        weights.append(block_weights(clip.foreground))
    return start, {"latents": np.stack(latents), "weights": np.stack(weights)}


def fit_codec(seed: int, count: int, z_dim: int):
    """Fit the PCA codec on ``count`` examples of a stream distinct from the training stream."""
    from motionbench.toy.codec import ToyPCACodec

    clips = [render_example(draw_example(seed + 1_000_003, i)).frames for i in range(count)]
    return ToyPCACodec.fit(clips, z_dim=z_dim)


def _one_thread() -> None:
    """A worker's initializer: the workers share the cores, so each computes on one thread."""
    import torch

    torch.set_num_threads(1)


def run_chunks(fn: Callable[[tuple], tuple], todo: list[tuple], workers: int) -> Iterator[tuple]:
    """``fn`` of each chunk of ``todo``, in this process when one worker suffices, else in ``workers`` processes.

    The processes are *spawned*, not forked: the caller may hold threads (torch's, a progress bar's), and a
    child forked while one of them held a lock can hang for ever (it did, in CI).
    """
    import multiprocessing as mp

    if workers <= 1 or len(todo) <= 1:
        yield from map(fn, todo)
        return
    with mp.get_context("spawn").Pool(min(workers, len(todo)), initializer=_one_thread) as pool:
        yield from pool.imap_unordered(fn, todo)


def build_chunked(out: Path, count: int, seed: int, chunk: int, arrays: dict[str, tuple[Any, tuple[int, ...]]],
                  encode: Callable[[tuple], tuple[int, dict[str, np.ndarray]]], codec_dir: Path, workers: int,
                  progress: Callable[[int], None] | None, caption_of: Callable[[int], str], **meta: Any) -> Path:
    """The resumable build both toy training sets share.

    ``arrays`` (name -> (dtype, shape of one example)) become ``out/NAME.npy`` memory maps of ``count``
    examples, filled chunk by chunk by ``encode((seed, start, stop, codec_dir)) -> (start, {name: values})``
    (in worker processes: :func:`run_chunks`). ``done.json`` records the finished chunks (plus ``meta``),
    so a killed build resumes where it stopped; ``captions.json`` is written from ``caption_of(i)``.
    """
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    meta_path = out / "done.json"
    old = json.loads(meta_path.read_text()) if meta_path.exists() else {}
    if old and (old.get("count"), old.get("seed"), old.get("chunk", CHUNK)) != (count, seed, chunk):
        raise ValueError(f"{out} holds a dataset of {old.get('count')} examples of seed {old.get('seed')}; "
                         "use another folder or delete it")
    first = next(iter(arrays))
    mode = "r+" if (out / f"{first}.npy").exists() else "w+"
    maps = {name: np.lib.format.open_memmap(out / f"{name}.npy", mode=mode, dtype=dtype, shape=(count, *shape))
            for name, (dtype, shape) in arrays.items()}
    done = set(old.get("done", []))
    todo = [(seed, s, min(s + chunk, count), str(codec_dir)) for s in range(0, count, chunk) if s not in done]

    def save() -> None:
        tmp = meta_path.with_suffix(".tmp")
        tmp.write_text(json.dumps({"count": count, "seed": seed, "chunk": chunk, "done": sorted(done), **meta}))
        os.replace(tmp, meta_path)

    for start, parts in run_chunks(encode, todo, workers):
        for name, values in parts.items():
            maps[name][start:start + len(values)] = values
            maps[name].flush()
        done.add(start)
        save()
        if progress:
            progress(len(parts[first]))
    # Captions are a pure function of (seed, i): written from the stream, not from what workers reported.
    (out / "captions.json").write_text(json.dumps([caption_of(i) for i in range(count)]))
    return out


def build_dataset(out: Path, count: int, seed: int, codec_dir: Path, workers: int = 2,
                  progress: Callable[[int], None] | None = None, chunk: int = CHUNK) -> Path:
    """Render and encode ``count`` examples into ``out`` (resumable; see the module docstring)."""
    from motionbench.toy.codec import ToyPCACodec

    z = int(ToyPCACodec.from_pretrained(str(codec_dir)).config.z_dim)
    blocks = ((NUM_FRAMES - 1) // 4 + 1, SIZE[1] // 4, SIZE[0] // 4)
    return build_chunked(out, count, seed, chunk, {"latents": (np.float16, (z, *blocks)), "weights": (np.uint8, blocks)},
                         _encode_chunk, codec_dir, workers, progress, lambda i: draw_example(seed, i).caption)
