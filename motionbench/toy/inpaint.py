"""The toy inpainting model of the recapture task: a small Wan2.1 VACE trained on rendered rooms.

Follow-Your-Creation fills the holes of a depth warp with a VACE inpainting model. On a CPU only a
random VACE exists, whose fill is noise, so the recapture leaderboard cannot say whether tuning helps.
The recapture scenes (:mod:`motionbench.bench.scenes`) give training pairs for free: a scene filmed
by the static source camera, warped along a random camera path (:func:`motionbench.recapture.warp.warp_along_path`:
what every method starts from, with its holes), and the *exact* view along that path, which is the
target. The model learns the task it is used for: control = the warp and its mask, as
:func:`motionbench.backbones.vace.control_latents` builds them at inference; target = the exact view.

* scenes: seeds from :data:`SCENE_SEED_BASE` on, three paths each; the benchmark's scenes
  (``data/recapture.yaml``, seeds below 100) never occur;
* paths: orbit, arc, zoom, pan, dolly, turn and bullet time, drawn in about the ranges of the benchmark's paths
  (:func:`draw_path`);
* codec: :class:`~motionbench.toy.codec.ToyPCACodec` on 4-frame x 8 x 8-pixel blocks (Wan's VAE
  factors, so VACE's 64 mask channels per 8 x 8 block apply unchanged), 64 components, fitted on
  rooms of a separate stream;
* transformer: ``WanVACETransformer3DModel``, the toy T2V's dimensions (6 blocks of 4 heads x 32)
  with VACE hints at blocks 0, 2 and 4; text encoder and tokenizer as the toy T2V's. Captions carry
  nothing here (a quarter are empty, the rest the few room captions methods pass), so the model learns
  to inpaint from the control alone.

:func:`build_inpaint_dataset` writes, under ``DIR`` (the layout :class:`~motionbench.toy.train.ToyTrainer` reads):

* ``latents.npy``  float16 ``[N, 64, 5, 8, 8]``: codec latents of the exact views, unnormalised;
* ``control.npy``  float16 ``[N, 192, 5, 8, 8]``: the VACE control latents of the warps (normalised);
* ``weights.npy``  uint8 ``[N, 5, 8, 8]``: 1 where a latent block holds a hole pixel (the loss weighs them more);
* ``captions.json`` and ``done.json`` as for the T2V set.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

NUM_FRAMES, SIZE, FPS = 17, (64, 64), 8.0
BLOCK, Z_DIM = 8, 64
PATHS_PER_SCENE = 3
SCENE_SEED_BASE = 100_000
MOVING = ("none", "ball", "box")
CHUNK = 64
#: What methods pass as the prompt of a room (FYC's ``train_prompt``, the manifest's captions), and ``""``.
CAPTIONS = ("", "a video", "a textured toy room with a ball rolling across it", "a textured toy room")


@dataclass(frozen=True)
class InpaintExample:
    scene_seed: int
    moving: str
    path: str
    caption: str


def draw_path(rng: np.random.Generator) -> str:
    """A random camera path in the short form, about as far as the benchmark's paths go."""
    kind = ("orbit", "arc", "zoom", "pan", "dolly", "turn", "bullet")[int(rng.integers(7))]
    sign = 1 if rng.random() < 0.5 else -1
    if kind == "orbit":
        return f"orbit:phi={sign * rng.uniform(5, 25):.1f}"
    if kind == "arc":  # down by more than about 12 degrees, the camera sinks through the floor
        return f"arc:theta={rng.uniform(4, 15) if sign > 0 else -rng.uniform(4, 10):.1f}"
    if kind == "zoom":
        return f"zoom:zoom={rng.uniform(1.1, 1.6):.2f}"
    if kind == "pan":
        return f"pan:x={sign * rng.uniform(0.05, 0.2):.3f}"
    if kind == "dolly":
        return f"dolly:r={rng.uniform(-0.3, 0.2):.3f}"
    if kind == "turn":
        return f"turn:yaw={sign * rng.uniform(4, 15):.1f}"
    return f"bullet:phi={sign * rng.uniform(10, 25):.1f},at={rng.uniform(0, 1):.2f}"


def draw_inpaint_example(seed: int, index: int) -> InpaintExample:
    """Example ``index`` of the data stream ``seed``: its scene, path and caption."""
    rng = np.random.default_rng(np.random.SeedSequence([seed, index, 11]))
    scene = index // PATHS_PER_SCENE
    return InpaintExample(scene_seed=SCENE_SEED_BASE + seed * 1_000_000 + scene, moving=MOVING[scene % len(MOVING)],
                          path=draw_path(rng), caption=CAPTIONS[int(rng.integers(len(CAPTIONS)))])


@functools.lru_cache(maxsize=1)  # the examples of one scene are consecutive
def _scene(seed: int, moving: str):
    from motionbench.bench.scenes import render_clip

    return render_clip(seed, num_frames=NUM_FRAMES, size=SIZE, fps=FPS, moving=moving)


def render_inpaint_example(example: InpaintExample):
    """``(warped frames uint8 [T, H, W, 3], visible bool [T, H, W], exact view uint8 [T, H, W, 3])``."""
    from motionbench.recapture.warp import warp_along_path

    clip = _scene(example.scene_seed, example.moving)
    warped = warp_along_path(clip.source.frames, clip.source.depth, clip.intrinsics, example.path)
    return warped.frames, warped.visible, clip.target(example.path).frames


def codec_control(codec, frames: np.ndarray, visible: np.ndarray):
    """VACE control latents ``[1, 2 z + 64, F, h, w]`` of a warp, with the codec alone.

    The same arithmetic as :func:`motionbench.backbones.vace.control_latents` on a backbone whose VAE
    is ``codec`` (a test holds them equal), without building a transformer.
    """
    import torch

    from motionbench.backbones.vace import mask_latents

    video = torch.from_numpy(np.ascontiguousarray(frames)).permute(3, 0, 1, 2)[None].float() / 127.5 - 1
    generate = torch.from_numpy(~np.asarray(visible, bool))
    m = generate.float().view(1, 1, *generate.shape)
    mean = torch.tensor(codec.config.latents_mean).view(1, -1, 1, 1, 1)
    std = torch.tensor(codec.config.latents_std).view(1, -1, 1, 1, 1)
    with torch.no_grad():
        z = codec.encode(torch.cat([video * (1 - m), video * m])).latent_dist.mode().float()
    inactive, reactive = ((z - mean) / std).chunk(2)
    return torch.cat([inactive, reactive, mask_latents(generate, 4, BLOCK)], dim=1)


def _encode_chunk(args: tuple[int, int, int, str]) -> tuple[int, dict[str, np.ndarray]]:
    import torch

    from motionbench.toy.codec import ToyPCACodec
    from motionbench.toy.data import block_weights

    seed, start, stop, codec_dir = args
    codec = ToyPCACodec.from_pretrained(codec_dir)
    out: dict[str, list[np.ndarray]] = {"latents": [], "control": [], "weights": []}
    for i in range(start, stop):
        ex = draw_inpaint_example(seed, i)
        warped, visible, target = render_inpaint_example(ex)
        x = torch.from_numpy(target).permute(3, 0, 1, 2)[None].float() / 127.5 - 1
        with torch.no_grad():
            out["latents"].append(codec.encode(x).latent_dist.mode()[0].numpy().astype(np.float16))
        out["control"].append(codec_control(codec, warped, visible)[0].numpy().astype(np.float16))
        out["weights"].append(block_weights(~visible, block=BLOCK))
    return start, {k: np.stack(v) for k, v in out.items()}


def fit_inpaint_codec(seed: int, scenes: int, z_dim: int = Z_DIM):
    """Fit the PCA codec on source clips and exact views of ``scenes`` rooms of a stream apart from training's."""
    from motionbench.toy.codec import ToyPCACodec

    clips = []
    for s in range(scenes):
        ex = draw_inpaint_example(seed + 1_000, s * PATHS_PER_SCENE)
        clip = _scene(ex.scene_seed, ex.moving)
        clips += [clip.source.frames, clip.target(ex.path).frames]
    return ToyPCACodec.fit(clips, z_dim=z_dim, block=BLOCK)


def build_inpaint_dataset(out: Path, count: int, seed: int, codec_dir: Path, workers: int = 2,
                          progress: Callable[[int], None] | None = None, chunk: int = CHUNK) -> Path:
    """Render, warp and encode ``count`` examples into ``out`` (resumable; see the module docstring)."""
    from motionbench.toy.codec import ToyPCACodec
    from motionbench.toy.data import build_chunked

    z = int(ToyPCACodec.from_pretrained(str(codec_dir)).config.z_dim)
    blocks = ((NUM_FRAMES - 1) // 4 + 1, SIZE[1] // BLOCK, SIZE[0] // BLOCK)
    arrays = {"latents": (np.float16, (z, *blocks)), "control": (np.float16, (2 * z + BLOCK * BLOCK, *blocks)),
              "weights": (np.uint8, blocks)}
    return build_chunked(out, count, seed, chunk, arrays, _encode_chunk, codec_dir, workers, progress,
                         lambda i: draw_inpaint_example(seed, i).caption, task="recapture")


def inpaint_architecture():
    """The toy VACE's :class:`~motionbench.toy.model.ToyArchitecture` (T2V dimensions, 64 channels, 3 hints)."""
    from motionbench.toy.model import ToyArchitecture

    arch = ToyArchitecture()
    transformer = dict(arch.transformer, in_channels=Z_DIM, out_channels=Z_DIM, vace_layers=[0, 2, 4],
                       vace_in_channels=2 * Z_DIM + BLOCK * BLOCK)
    return ToyArchitecture(transformer=transformer, text_encoder=dict(arch.text_encoder),
                           max_text_length=arch.max_text_length)
