"""The toy CLIP: a small open_clip architecture trained contrastively on toy frames and captions.

It lets ``clip_text`` and ``clip_temporal`` score toy-world runs (``--clip toy``) instead of being
skipped. Architecture (an open_clip model config, :data:`TOY_CLIP_CONFIG`): a ViT on 32 x 32 frames
(patches of 8, 4 layers of width 128) and a 3-layer text transformer over the toy vocabulary with
argmax (end-of-text) pooling, both projected to 64 dimensions. Its tokenizer
(:class:`ToyClipTokenizer`) is word-level: ``<sot>`` words ``<eot>`` padded with 0, ``<eot>``
carrying the largest id as open_clip's pooling expects.

Training frames come from the toy T2V training set *through the codec* (what generated videos look
like), a random frame of each clip, with captions from the training split; captions that occur
twice in a batch count as positives of each other (soft targets), so duplicate looks are not
pushed apart. Zero-shot accuracy is measured on frames of held-out looks (:func:`zero_shot`).
"""

from __future__ import annotations

import json
import logging
import math
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch

from motionbench.bench.toy.vocab import words

TOY_CLIP_NAME = "motionbench-toy-clip"
CONTEXT_LENGTH = 16
TOY_CLIP_CONFIG: dict[str, Any] = {
    "embed_dim": 64,
    "vision_cfg": {"image_size": 32, "layers": 4, "width": 128, "head_width": 32, "patch_size": 8},
    "text_cfg": {"context_length": CONTEXT_LENGTH, "vocab_size": len(words()) + 3, "width": 128, "heads": 4,
                 "layers": 3},
}


class ToyClipTokenizer:
    """Word-level tokenizer of the toy captions for the toy CLIP (open_clip's tokenizer call signature)."""

    def __init__(self, context_length: int = CONTEXT_LENGTH) -> None:
        vocab = words()
        self.ids = {w: i + 1 for i, w in enumerate(vocab)}  # 0 = pad; 1.. = words
        self.sot = len(vocab) + 1
        self.eot = len(vocab) + 2  # the largest id: open_clip pools the text at the argmax token
        self.context_length = context_length

    def __call__(self, texts: str | list[str], context_length: int | None = None) -> torch.Tensor:
        if isinstance(texts, str):
            texts = [texts]
        n = context_length or self.context_length
        out = torch.zeros(len(texts), n, dtype=torch.long)
        for row, text in enumerate(texts):
            # Unknown words are dropped: the toy CLIP only knows the toy vocabulary.
            toks = [self.sot] + [self.ids[w] for w in text.lower().split() if w in self.ids][: n - 2] + [self.eot]
            out[row, : len(toks)] = torch.tensor(toks)
        return out


def register_config() -> str:
    """Make the toy architecture known to open_clip (idempotent); returns its name."""
    import open_clip
    from open_clip import factory

    if TOY_CLIP_NAME not in factory._MODEL_CONFIGS:
        factory._MODEL_CONFIGS[TOY_CLIP_NAME] = json.loads(json.dumps(TOY_CLIP_CONFIG))
    assert TOY_CLIP_NAME in open_clip.list_models()
    return TOY_CLIP_NAME


def build_model(seed: int = 0):
    """A freshly initialised toy CLIP and its image preprocessing (open_clip's, OpenAI mean/std)."""
    import open_clip

    name = register_config()
    previous = logging.root.manager.disable
    logging.disable(logging.WARNING)  # open_clip warns "no pretrained weights loaded": load_model loads them next
    try:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            model, _, preprocess = open_clip.create_model_and_transforms(name, pretrained=None, device="cpu")
    finally:
        logging.disable(previous)
    return model, preprocess


def frames_to_input(frames: np.ndarray) -> torch.Tensor:
    """uint8 ``[N, 32, 32, 3]`` -> the model's normalised input (what open_clip's preprocessing gives at 32 px)."""
    from open_clip.constants import OPENAI_DATASET_MEAN, OPENAI_DATASET_STD

    x = torch.from_numpy(np.ascontiguousarray(frames)).permute(0, 3, 1, 2).float() / 255.0
    mean = torch.tensor(OPENAI_DATASET_MEAN).view(1, 3, 1, 1)
    std = torch.tensor(OPENAI_DATASET_STD).view(1, 3, 1, 1)
    return (x - mean) / std


@dataclass
class ClipSettings:
    steps: int = 2500
    batch: int = 128
    lr: float = 1e-3
    warmup: int = 100
    weight_decay: float = 0.1
    seed: int = 0
    threads: int = 2


def _decoded_frames(latents: np.ndarray, codec, indices: np.ndarray, frame_index: np.ndarray) -> np.ndarray:
    # The training set stores unnormalised codec latents: they decode as they are.
    with torch.no_grad():
        z = torch.from_numpy(np.stack([latents[i] for i in indices]).astype(np.float32))
        video = codec.decode(z, return_dict=False)[0]  # [B, 3, T, H, W] in [-1, 1]
    picked = video[torch.arange(len(indices)), :, torch.from_numpy(frame_index)]  # [B, 3, H, W]
    return ((picked.clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8).permute(0, 2, 3, 1).numpy()


def train_clip(data_dir: Path, out: Path, settings: ClipSettings,
               on_step: Callable[[int, float, float], None] | None = None) -> dict[str, Any]:
    """Train the toy CLIP on the T2V training set's clips; write ``model.safetensors`` + ``config.json``."""
    from motionbench.toy.train import torch_threads

    with torch_threads(settings.threads):
        return _train_clip(data_dir, out, settings, on_step)


def _train_clip(data_dir: Path, out: Path, settings: ClipSettings,
                on_step: Callable[[int, float, float], None] | None) -> dict[str, Any]:
    from safetensors.torch import save_file

    from motionbench.toy.codec import ToyPCACodec

    data_dir, out = Path(data_dir), Path(out)
    codec = ToyPCACodec.from_pretrained(str(data_dir / "codec"))
    latents = np.load(data_dir / "latents.npy", mmap_mode="r")
    captions: list[str] = json.loads((data_dir / "captions.json").read_text())
    tokenizer = ToyClipTokenizer()
    model, _ = build_model(settings.seed)
    model.train()
    opt = torch.optim.AdamW(model.parameters(), lr=settings.lr, weight_decay=settings.weight_decay, betas=(0.9, 0.98))
    rng = np.random.default_rng(settings.seed)
    losses: list[float] = []
    start = time.perf_counter()
    num_frames = (latents.shape[2] - 1) * 4 + 1
    for step in range(settings.steps):
        lr = settings.lr * min(1.0, (step + 1) / settings.warmup) * 0.5 * (1 + math.cos(math.pi * step / settings.steps))
        for g in opt.param_groups:
            g["lr"] = lr
        t0 = time.perf_counter()
        idx = rng.integers(len(captions), size=settings.batch)
        frames = _decoded_frames(latents, codec, idx, rng.integers(num_frames, size=settings.batch))
        caps = [captions[i] for i in idx]
        image = model.encode_image(frames_to_input(frames), normalize=True)
        text = model.encode_text(tokenizer(caps), normalize=True)
        logits = model.logit_scale.exp() * image @ text.T
        same = torch.tensor([[a == b for b in caps] for a in caps], dtype=torch.float32)
        target = same / same.sum(dim=1, keepdim=True)
        loss = 0.5 * (torch.sum(-target * logits.log_softmax(dim=1), dim=1).mean()
                      + torch.sum(-target * logits.log_softmax(dim=0).T, dim=1).mean())
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        with torch.no_grad():
            model.logit_scale.clamp_(0, math.log(100))
        losses.append(float(loss.detach()))
        if on_step:
            on_step(step + 1, losses[-1], time.perf_counter() - t0)
    out.mkdir(parents=True, exist_ok=True)
    model.eval()
    save_file({k: v.contiguous() for k, v in model.state_dict().items()}, str(out / "model.safetensors"))
    (out / "config.json").write_text(json.dumps({"name": TOY_CLIP_NAME, "open_clip_config": TOY_CLIP_CONFIG,
                                                 "context_length": CONTEXT_LENGTH}, indent=1))
    record = {"settings": asdict(settings), "seconds": time.perf_counter() - start,
              "losses": [round(x, 4) for x in losses]}
    (out / "training.json").write_text(json.dumps(record))
    return record


def load_model(folder: Path):
    """The trained toy CLIP from a folder written by :func:`train_clip` (eval mode)."""
    from safetensors.torch import load_file

    model, preprocess = build_model(0)
    model.load_state_dict(load_file(str(Path(folder) / "model.safetensors")), strict=True)
    return model.eval(), preprocess


@torch.no_grad()
def zero_shot(model, frames: np.ndarray, candidates: list[list[str]], truth: list[int]) -> float:
    """Accuracy of picking ``candidates[i][truth[i]]`` for frame ``i`` by image-text cosine."""
    tokenizer = ToyClipTokenizer()
    image = model.encode_image(frames_to_input(frames), normalize=True)
    hits = 0
    for i, cands in enumerate(candidates):
        text = model.encode_text(tokenizer(cands), normalize=True)
        hits += int(int((text @ image[i]).argmax()) == truth[i])
    return hits / max(1, len(candidates))


def zero_shot_figures(model, per_attribute: int = 48, seed: int = 0) -> dict[str, dict[str, float]]:
    """Zero-shot accuracy on frames of held-out looks, per attribute (see the model card).

    * ``object colour`` / ``object shape``: a single object of a held-out (colour, shape) pair against
      the captions with every other colour / shape;
    * ``figure colour``: a stick figure of a held-out colour against every colour;
    * ``scene colour``: a held-out scene colour pair against every other first colour.
    """
    from dataclasses import replace

    from motionbench.bench.synthetic import render
    from motionbench.bench.toy import COLOURS, SHAPES, all_looks, params_for_look
    from motionbench.bench.toy.vocab import Thing

    rng = np.random.default_rng(seed)
    jobs = {"object colour": "single_object", "object shape": "single_object", "figure colour": "human",
            "scene colour": "camera"}
    generators = {"single_object": "toy_single_object", "human": "toy_human", "camera": "toy_camera"}
    out = {}
    for attribute, category in jobs.items():
        looks = all_looks(category, "held_out")
        frames, candidates, truth = [], [], []
        for k in range(per_attribute):
            look = looks[int(rng.integers(len(looks)))]
            params = params_for_look(generators[category], look)
            clip = render(generators[category], seed=int(rng.integers(2**31)), params=params, num_frames=33,
                          size=(32, 32), fps=8.0)
            frames.append(clip.frames[int(rng.integers(33))])
            if attribute in ("object colour", "figure colour"):
                t = look.things[0]
                options = [replace(look, things=(Thing(c, t.shape),)) for c in COLOURS]
                truth.append(list(COLOURS).index(t.colour))
            elif attribute == "object shape":
                t = look.things[0]
                options = [replace(look, things=(Thing(t.colour, s),)) for s in SHAPES]
                truth.append(list(SHAPES).index(t.shape))
            else:
                first, second = look.colours
                names = [c for c in COLOURS if c != second]
                options = [replace(look, colours=(c, second)) for c in names]
                truth.append(names.index(first))
            candidates.append([o.caption() for o in options])
        out[attribute] = {"frames": per_attribute, "accuracy": zero_shot(model, np.stack(frames), candidates, truth)}
    return out
