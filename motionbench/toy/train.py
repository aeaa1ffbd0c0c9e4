"""Training the toy text-to-video model: rectified flow on codec latents, with EMA, resumable.

The objective is Wan2.1's (:mod:`motionbench.backbones.flow`): predict the velocity ``eps - x0`` of
``x_t = (1 - s) x0 + s eps``, the transformer conditioned on ``1000 s`` and on the caption. What
the toy recipe adds, each for a reason found in two feasibility runs (shared/TOYWORLD-NOTES.md):

* noise levels: a mixture, ``logit_normal_fraction`` logit-normal(0, 1) (SD3's choice) and the rest
  uniform, so the lowest noise levels, which clean up the background, are not starved;
* the loss weighs latent blocks that hold a moving object's pixels (an inpainting set: a hole's) ``1 + object_weight`` times
  (objects are a small part of each frame, yet all of what the benchmark measures);
* ``empty_caption`` of the captions are replaced by ``""`` (classifier-free guidance);
* the text encoder trains jointly with the transformer (it starts from random weights);
* an exponential moving average of the weights (``ema``) is what gets exported and sampled.

A run lives in one folder: ``settings.json``, ``checkpoint.pt`` (written every
``checkpoint_every`` steps by write-then-rename, so a killed run resumes from the last one) and
``losses.jsonl`` (step, loss, seconds, lr). :func:`export` writes the EMA weights in the diffusers
layout the backbone loader reads.
"""

from __future__ import annotations

import contextlib
import copy
import json
import math
import os
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator

import numpy as np
import torch

from motionbench.backbones.flow import NUM_TRAIN_TIMESTEPS, add_noise, shift_sigmas, velocity_target
from motionbench.toy.model import ToyArchitecture, build_networks, build_tokenizer, embed_captions, save_pipeline


@dataclass
class TrainSettings:
    """The toy T2V recipe (``motionbench toy train`` options)."""

    steps: int = 12000
    batch: int = 8
    lr: float = 8e-4
    warmup: int = 300
    min_lr_ratio: float = 0.1  # cosine decay from lr to lr * min_lr_ratio at `steps`
    weight_decay: float = 0.01
    betas: tuple[float, float] = (0.9, 0.99)
    max_grad_norm: float = 1.0
    ema: float = 0.999
    empty_caption: float = 0.1
    object_weight: float = 4.0
    logit_normal_fraction: float = 0.7
    shift: float = 1.0
    seed: int = 0
    checkpoint_every: int = 250
    threads: int = 2
    device: str = "cpu"
    architecture: dict[str, Any] = field(default_factory=lambda: ToyArchitecture().to_dict())
    compile: bool = False  # the CLI's --compile (recorded for the card; the trainer itself does not compile)
    init: str = ""  # an exported model folder (transformer/, text_encoder/, vae/) to start from; "" = random

    def __post_init__(self) -> None:
        self.betas = tuple(self.betas)  # a list when read back from settings.json


@contextlib.contextmanager
def torch_threads(count: int) -> Iterator[None]:
    """torch computes on ``count`` threads inside the block; the caller's setting is back afterwards."""
    before = torch.get_num_threads()
    torch.set_num_threads(count)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def lr_at(step: int, s: TrainSettings) -> float:
    if step < s.warmup:
        return s.lr * (step + 1) / s.warmup
    progress = min(1.0, (step - s.warmup) / max(1, s.steps - s.warmup))
    return s.lr * (s.min_lr_ratio + (1 - s.min_lr_ratio) * 0.5 * (1 + math.cos(math.pi * progress)))


def draw_sigmas(batch: int, generator: torch.Generator, s: TrainSettings) -> torch.Tensor:
    u_uniform = torch.rand(batch, generator=generator, dtype=torch.float64)
    u_logit = torch.sigmoid(torch.randn(batch, generator=generator, dtype=torch.float64))
    pick = torch.rand(batch, generator=generator, dtype=torch.float64) < s.logit_normal_fraction
    u = torch.where(pick, u_logit, u_uniform).clamp(1.0 / NUM_TRAIN_TIMESTEPS, 1.0 - 1.0 / NUM_TRAIN_TIMESTEPS)
    return shift_sigmas(u, s.shift).float()


def _training_examples(data_dir: Path) -> tuple[list[str], np.ndarray]:
    """Captions of every example, and the indices of the examples whose chunk is complete.

    A build stopped early (or still running) trains on the chunks it finished.
    """
    from motionbench.toy.data import CHUNK, draw_example

    meta = json.loads((data_dir / "done.json").read_text())
    count, seed = int(meta["count"]), int(meta["seed"])
    path = data_dir / "captions.json"
    captions = json.loads(path.read_text()) if path.exists() else [draw_example(seed, i).caption for i in range(count)]
    chunk = int(meta.get("chunk", CHUNK))
    indices = np.concatenate([np.arange(s, min(s + chunk, count)) for s in sorted(meta["done"])])
    return captions, indices


class ToyTrainer:
    """One training run over a dataset built by :func:`motionbench.toy.data.build_dataset`."""

    def __init__(self, run_dir: Path, data_dir: Path, codec_dir: Path, settings: TrainSettings) -> None:
        from motionbench.toy.codec import ToyPCACodec

        self.run_dir, self.data_dir = Path(run_dir), Path(data_dir)
        self.run_dir.mkdir(parents=True, exist_ok=True)
        saved = self.run_dir / "settings.json"
        if saved.exists():
            old = json.loads(saved.read_text())
            mine = json.loads(json.dumps(asdict(settings)))
            # Only the length of the run and how it is checkpointed may change on resume.
            mutable = {"steps", "checkpoint_every", "threads", "device", "compile"}
            diff = sorted(k for k in mine if k not in mutable and old.get(k) != mine[k])
            if diff:
                raise ValueError(f"{self.run_dir} was started with other settings ({', '.join(diff)}); "
                                 "resume with the same ones or use a new folder")
        saved.write_text(json.dumps(asdict(settings), indent=1))
        self.s = settings
        self.device = torch.device(settings.device)
        self.codec = ToyPCACodec.from_pretrained(str(codec_dir))
        self.tokenizer = build_tokenizer()
        arch = ToyArchitecture(**{k: settings.architecture[k] for k in ("transformer", "text_encoder", "max_text_length")})
        arch.transformer["patch_size"] = tuple(arch.transformer["patch_size"])
        self.arch = arch
        self.transformer, self.text_encoder = build_networks(arch, settings.seed)
        if settings.init:
            self._warm_start(Path(settings.init))
        self.transformer.to(self.device).train()
        self.forward = self.transformer  # may be replaced by a compiled wrapper of the same module
        self.text_encoder.to(self.device).train()
        self.ema_transformer = copy.deepcopy(self.transformer).eval().requires_grad_(False)
        self.ema_text = copy.deepcopy(self.text_encoder).eval().requires_grad_(False)
        self.params = list(self.transformer.parameters()) + list(self.text_encoder.parameters())
        self.optimizer = torch.optim.AdamW(self.params, lr=settings.lr, betas=settings.betas,
                                           weight_decay=settings.weight_decay)
        self.generator = torch.Generator("cpu").manual_seed(settings.seed)
        self.step = 0
        self.latents = np.load(self.data_dir / "latents.npy", mmap_mode="r")
        self.weights = np.load(self.data_dir / "weights.npy", mmap_mode="r")
        # An inpainting set (motionbench.toy.inpaint) also holds each example's VACE control latents.
        control = self.data_dir / "control.npy"
        self.control = np.load(control, mmap_mode="r") if control.exists() else None
        if (self.control is None) != ("vace_layers" not in arch.transformer):
            raise ValueError(f"{self.data_dir} is {'not ' if self.control is None else ''}an inpainting set "
                             f"(control.npy), but the architecture is {'not ' if self.control is not None else ''}VACE")
        self.captions, self.indices = _training_examples(self.data_dir)
        mean = torch.tensor(self.codec.config.latents_mean).view(1, -1, 1, 1, 1)
        std = torch.tensor(self.codec.config.latents_std).view(1, -1, 1, 1, 1)
        self.norm = (mean, std)
        self._resume()

    def _warm_start(self, folder: Path) -> None:
        """Start from an exported model's weights (its EMA) instead of random ones: a fine-tune."""
        from safetensors.torch import load_file

        files = {"transformer": folder / "transformer" / "diffusion_pytorch_model.safetensors",
                 "text_encoder": folder / "text_encoder" / "model.safetensors"}
        missing = [str(f) for f in files.values() if not f.is_file()]
        if missing:
            raise FileNotFoundError(f"--init {folder}: not an exported toy model (missing {', '.join(missing)}); "
                                    "give a folder written by `motionbench toy export`")
        basis = load_file(str(folder / "vae" / "diffusion_pytorch_model.safetensors")).get("basis")
        if basis is None or basis.shape != self.codec.basis.shape or not torch.allclose(basis, self.codec.basis, atol=1e-5):
            raise ValueError(f"--init {folder}: its codec (vae/) is not the training set's codec "
                             f"({self.data_dir / 'codec'}); its latents would mean something else")
        for name, module in (("transformer", self.transformer), ("text_encoder", self.text_encoder)):
            # from_pretrained restores what save_pretrained leaves out (the text encoder's tied embeddings).
            state = type(module).from_pretrained(str(folder / name)).state_dict()
            try:
                module.load_state_dict(state, strict=True)
            except RuntimeError as err:
                raise ValueError(f"--init {folder}: its {name} does not match the run's architecture: {err}") from err

    # -- checkpoints ---------------------------------------------------------------------------------
    @property
    def checkpoint_path(self) -> Path:
        return self.run_dir / "checkpoint.pt"

    def _resume(self) -> None:
        if not self.checkpoint_path.exists():
            return
        ck = torch.load(self.checkpoint_path, map_location=self.device, weights_only=False)
        self.transformer.load_state_dict(ck["transformer"])
        self.text_encoder.load_state_dict(ck["text_encoder"])
        self.ema_transformer.load_state_dict(ck["ema_transformer"])
        self.ema_text.load_state_dict(ck["ema_text"])
        self.optimizer.load_state_dict(ck["optimizer"])
        self.generator.set_state(ck["generator"])
        self.step = int(ck["step"])

    def save_checkpoint(self) -> None:
        tmp = self.checkpoint_path.with_suffix(".tmp")
        torch.save({"transformer": self.transformer.state_dict(), "text_encoder": self.text_encoder.state_dict(),
                    "ema_transformer": self.ema_transformer.state_dict(), "ema_text": self.ema_text.state_dict(),
                    "optimizer": self.optimizer.state_dict(), "generator": self.generator.get_state(),
                    "step": self.step}, tmp)
        os.replace(tmp, self.checkpoint_path)

    # -- one step -----------------------------------------------------------------------------------
    def batch(self) -> tuple[torch.Tensor, torch.Tensor, list[str]]:
        idx = self._pick()
        return self._examples(idx)

    def _pick(self) -> list[int]:
        pick = torch.randint(len(self.indices), (self.s.batch,), generator=self.generator).tolist()
        return [int(self.indices[i]) for i in pick]

    def _examples(self, idx: list[int]) -> tuple[torch.Tensor, torch.Tensor, list[str]]:
        x0 = torch.from_numpy(np.stack([self.latents[i] for i in idx]).astype(np.float32))
        x0 = (x0 - self.norm[0]) / self.norm[1]
        w = torch.from_numpy(np.stack([self.weights[i] for i in idx]).astype(np.float32))
        drop = torch.rand(self.s.batch, generator=self.generator) < self.s.empty_caption
        caps = ["" if d else self.captions[i] for i, d in zip(idx, drop.tolist())]
        return x0, 1.0 + self.s.object_weight * w, caps

    def _conditioning(self, idx: list[int]) -> dict[str, torch.Tensor]:
        """The transformer's extra inputs: VACE's control latents (scale 1) for an inpainting set, else none."""
        if self.control is None:
            return {}
        control = torch.from_numpy(np.stack([self.control[i] for i in idx]).astype(np.float32)).to(self.device)
        hints = len(self.arch.transformer["vace_layers"])
        return {"control_hidden_states": control, "control_hidden_states_scale": torch.ones(hints, device=self.device)}

    def train_step(self) -> float:
        s = self.s
        idx = self._pick()
        x0, weight, caps = self._examples(idx)
        x0, weight = x0.to(self.device), weight.to(self.device)
        extra = self._conditioning(idx)
        sigmas = draw_sigmas(s.batch, self.generator, s)
        noise = torch.randn(x0.shape, generator=self.generator).to(self.device)
        x_t = add_noise(x0, noise, sigmas.to(self.device))
        embeds = embed_captions(self.tokenizer, self.text_encoder, caps, self.arch.max_text_length, self.device)
        pred = self.forward(hidden_states=x_t, timestep=(sigmas * NUM_TRAIN_TIMESTEPS).to(self.device),
                            encoder_hidden_states=embeds, return_dict=False, **extra)[0]
        err = (pred.float() - velocity_target(x0, noise)).pow(2).mean(dim=1)  # [B, F, h, w]
        loss = ((err * weight).flatten(1).sum(1) / weight.flatten(1).sum(1)).mean()
        for group in self.optimizer.param_groups:
            group["lr"] = lr_at(self.step, s)
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(self.params, s.max_grad_norm)
        self.optimizer.step()
        self._ema_update()
        self.step += 1
        return float(loss.detach())

    @torch.no_grad()
    def _ema_update(self) -> None:
        decay = min(self.s.ema, (1 + self.step) / (10 + self.step))
        for ema, live in ((self.ema_transformer, self.transformer), (self.ema_text, self.text_encoder)):
            for pe, pl in zip(ema.parameters(), live.parameters()):
                pe.lerp_(pl.detach(), 1 - decay)

    def run(self, until: int | None = None, on_step: Callable[[int, float, float], None] | None = None) -> None:
        """Train to step ``until`` (default ``settings.steps``), checkpointing as it goes."""
        until = self.s.steps if until is None else until
        log = (self.run_dir / "losses.jsonl").open("a")
        with torch_threads(self.s.threads):
            self._run(until, log, on_step)

    def _run(self, until: int, log, on_step: Callable[[int, float, float], None] | None) -> None:
        try:
            while self.step < until:
                t0 = time.perf_counter()
                loss = self.train_step()
                dt = time.perf_counter() - t0
                log.write(json.dumps({"step": self.step, "loss": round(loss, 5), "seconds": round(dt, 4),
                                      "lr": lr_at(self.step - 1, self.s)}) + "\n")
                if self.step % 25 == 0:
                    log.flush()
                if self.step % self.s.checkpoint_every == 0 or self.step == until:
                    self.save_checkpoint()
                if on_step:
                    on_step(self.step, loss, dt)
        finally:
            log.close()

    # -- export -----------------------------------------------------------------------------------
    def export(self, folder: Path, card: dict[str, Any] | None = None) -> Path:
        """The EMA weights as a diffusers-layout folder (+ ``training.json``: settings, step, card data)."""
        folder = Path(folder)
        save_pipeline(folder, self.ema_transformer, self.codec, self.ema_text, self.tokenizer)
        record = {"settings": asdict(self.s), "step": self.step, **(card or {})}
        (folder / "training.json").write_text(json.dumps(record, indent=1))
        return folder
