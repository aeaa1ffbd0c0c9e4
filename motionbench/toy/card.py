"""Model cards of the toy models: recipe, cost, loss curve and measured quality, written from the run's records.

Nothing on a card is typed by hand: :func:`write_t2v_card` reads the run folder (``settings.json``,
``losses.jsonl``), the exported weights (sizes, parameter counts) and the JSON that
``benchmarks/toy_quality.py --json`` wrote; :func:`write_clip_card` reads the CLIP's
``training.json`` and a zero-shot evaluation; :func:`write_vace_card` the inpainting run and
``benchmarks/toy_inpaint_quality.py``'s figures.
"""

from __future__ import annotations

import json
import os
import platform
from pathlib import Path
from typing import Any

import numpy as np


#: A model card's file name, beside the weights it describes.
CARD = "README.md"
#: The T2V pipeline's folders that hold weights (each gets a copy of the card).
WEIGHT_FOLDERS = ("transformer", "text_encoder", "vae")
#: What the base model must reach on held-out captions (issue 14).
COLOUR_TARGET, SMOOTH_TARGET = 0.9, 0.8


def machine() -> str:
    """A one-line description of this machine (CPU model, core count)."""
    model = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{model}, {os.cpu_count()} cores"


def read_losses(run_dir: Path) -> list[dict[str, float]]:
    rows = []
    for line in (Path(run_dir) / "losses.jsonl").read_text().splitlines():
        try:
            rows.append(json.loads(line))
        except json.JSONDecodeError:  # a torn last line of a killed run
            continue
    # A resumed run re-logs the steps after its last checkpoint: keep the latest record of each step.
    by_step = {int(r["step"]): r for r in rows}
    return [by_step[s] for s in sorted(by_step)]


def loss_curve(losses: list[dict[str, float]], path: Path, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    steps = np.array([r["step"] for r in losses])
    values = np.array([r["loss"] for r in losses])
    window = max(1, len(values) // 60)
    smooth = np.convolve(values, np.ones(window) / window, mode="valid")
    fig, ax = plt.subplots(figsize=(6, 3), dpi=100)
    ax.plot(steps, values, color="#bbbbbb", linewidth=0.5, label="per step")
    ax.plot(steps[window - 1:], smooth, color="#1f5fbf", linewidth=1.5, label=f"mean of {window}")
    ax.set_xlabel("step")
    ax.set_ylabel("loss")
    ax.set_title(title, fontsize=10)
    ax.set_ylim(0, float(np.percentile(values, 99.5)) * 1.05)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def _size(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*.safetensors"))


def _count(folder: Path) -> int:
    from safetensors import safe_open

    n = 0
    for p in folder.rglob("*.safetensors"):
        with safe_open(str(p), "pt") as f:
            for k in f.keys():
                n += int(np.prod(f.get_slice(k).get_shape()))
    return n


def write_t2v_card(folder: Path, run_dir: Path, quality: dict[str, Any] | None, machine_line: str,
                   threads: int, history: str = "", examples: int | None = None) -> Path:
    """``folder/README.md`` (also in each weights subfolder) and ``folder/loss.png`` for the exported toy T2V model.

    ``history``: how the run deviated from one uninterrupted command (e.g. a schedule changed on
    resume), in a sentence; the learning rate actually used is read from ``losses.jsonl`` regardless.
    """
    folder, run_dir = Path(folder), Path(run_dir)
    settings, losses, cost = _run_record(run_dir, folder, "toy T2V: weighted flow-matching loss")
    seconds, per_step, first, last = cost["seconds"], cost["per_step"], cost["first"], cost["last"]
    arch = settings["architecture"]
    tr, te = arch["transformer"], arch["text_encoder"]
    lines = [
        "# MotionBench toy text-to-video model",
        "",
        "A Wan2.1-architecture text-to-video model trained by MotionBench on its toy world (32 x 32 pixels,",
        "33 frames, flat-coloured shapes, stick figures, checks and dots; captions name appearance only).",
        "It exists so that every method and metric of the benchmark means something on a CPU. It is a",
        "sanity world, like Moving MNIST: it says nothing about how a method does with real Wan2.1 weights.",
        "",
        "## Architecture",
        f"- transformer: diffusers `WanTransformer3DModel`, {tr['num_layers']} blocks of {tr['num_attention_heads']} heads x "
        f"{tr['attention_head_dim']} (dim {tr['num_attention_heads'] * tr['attention_head_dim']}), FFN {tr['ffn_dim']}, "
        f"patch {tuple(tr['patch_size'])}, {tr['in_channels']} latent channels",
        "- vae: `motionbench.toy.codec.ToyPCACodec`, a fixed linear code of 4-frame x 4 x 4-pixel blocks (PCA; "
        "Wan's 4x temporal layout with the first frame alone)",
        f"- text encoder: transformers `UMT5EncoderModel`, {te['num_layers']} layers, d_model {te['d_model']}, "
        "trained jointly; word-level tokenizer over the toy vocabulary",
        f"- {_count(folder) / 1e6:.2f} M parameters in {_size(folder) / 2**20:.1f} MiB of safetensors",
        "",
        "## Training",
        f"- data: {examples or 'the'} clips of training looks from `motionbench toy data` "
        "(seed 0); held-out looks never seen",
        f"- recipe: rectified flow (Wan's velocity target), AdamW lr {settings['lr']:g} (warm-up {settings['warmup']}, "
        f"cosine to {settings['min_lr_ratio']:g}x), batch {settings['batch']}, weight decay {settings['weight_decay']:g}, "
        f"EMA {settings['ema']:g}, {settings['empty_caption']:.0%} empty captions, object blocks weighted "
        f"{1 + settings['object_weight']:g}x, noise levels {settings['logit_normal_fraction']:.0%} logit-normal / rest uniform, "
        f"shift {settings['shift']:g}, seed {settings['seed']}",
        f"- steps: {losses[-1]['step']} (the exported weights are the EMA at that step); learning rate "
        f"{max(r['lr'] for r in losses):.2g} at its peak, {losses[-1]['lr']:.2g} at the last step",
        *([f"- started from: `{settings['init']}` (a fine-tune of that model, with the same codec)"]
          if settings.get("init") else []),
        *([f"- history: {history}"] if history else []),
        f"- wall time: {seconds / 3600:.2f} h of training steps ({per_step:.2f} s per step, median) on {machine_line}, "
        f"{threads} torch thread(s), float32" + (", torch.compile" if settings.get("compile", True) else ""),
        f"- loss: {first:.3f} (mean of the first 50 steps) -> {last:.3f} (mean of the last 200)",
        "",
        "![loss curve](loss.png)",
        "",
    ]
    if quality:
        lines += ["## Quality on held-out captions (`benchmarks/toy_quality.py`)",
                  f"Sampling: {quality['steps']} {quality['sampler']} steps, guidance {quality['guidance']:g}, "
                  f"shift {quality['shift']:g}; {quality['clips_per_category']} clips per category, each for a held-out look.",
                  "",
                  "| category | caption's colours | one object on a smooth path |",
                  "|---|---:|---:|"]
        for name, c in quality["categories"].items():
            smooth = f"{c['smooth_motion']:.0%}" if "smooth_motion" in c else "-"
            lines.append(f"| {name} | {c['colour']:.0%} | {smooth} |")
        smooth_all = quality["categories"].get("single_object", {}).get("smooth_motion")
        lines += [f"| all | {quality['colour_all']:.0%} | |", "",
                  f"Targets: the caption's colours in at least {COLOUR_TARGET:.0%} of clips "
                  f"({'met' if quality['colour_all'] >= COLOUR_TARGET else 'not met'}); one object on a smooth path in "
                  f"at least {SMOOTH_TARGET:.0%} of single-object clips ("
                  + ("not measured" if smooth_all is None else "met" if smooth_all >= SMOOTH_TARGET else "not met") + ").",
                  "",
                  "Colour: the most covering palette colours are exactly the caption's (objects over the named "
                  "background; `motionbench.bench.toy.detect.look_matches`). Smooth path: one blob of about the "
                  "object's area in every frame, travelling >= 3 px, no frame-to-frame acceleration above "
                  "1.5 px/frame^2 (`detect.smooth_motion`).", ""]
    lines += ["## Rebuild", "```",
              "motionbench toy data --out .cache/toy/data" + (f" --count {examples}" if examples not in (None, 24000) else ""),
              f"motionbench toy train --data .cache/toy/data --run .cache/toy/run --steps {settings['steps']} "
              f"--batch {settings['batch']} --lr {settings['lr']:g} --threads {threads}"
              + (" --compile" if settings.get("compile", True) else "")
              + (f" --init {settings['init']}" if settings.get("init") else "")
              + (f" --shift {settings['shift']:g}" if settings["shift"] != 1 else "")
              + (f" --ema {settings['ema']:g}" if settings["ema"] != 0.999 else ""),
              "motionbench toy export --run .cache/toy/run",
              "python benchmarks/toy_quality.py --clip-zero-shot --write-cards .cache/toy/run", "```", ""]
    return _write_card(folder, "\n".join(lines))


def _run_record(run_dir: Path, folder: Path, title: str) -> tuple[dict[str, Any], list[dict[str, float]], dict[str, float]]:
    """A training run's settings, losses (drawn to ``folder/loss.png``) and cost figures."""
    settings = json.loads((Path(run_dir) / "settings.json").read_text())
    losses = read_losses(run_dir)
    loss_curve(losses, Path(folder) / "loss.png", title)
    cost = {"seconds": float(sum(r["seconds"] for r in losses)),
            "per_step": float(np.median([r["seconds"] for r in losses])),
            "first": float(np.mean([r["loss"] for r in losses[:50]])),
            "last": float(np.mean([r["loss"] for r in losses[-200:]]))}
    return settings, losses, cost


def _write_card(folder: Path, text: str) -> Path:
    """The card in ``folder`` and beside each folder of weights (the loader reads those folders one by one)."""
    for part in WEIGHT_FOLDERS:
        (folder / part / CARD).write_text(text.replace("](loss.png)", "](../loss.png)"))
    path = folder / CARD
    path.write_text(text)
    return path


def write_vace_card(folder: Path, run_dir: Path, quality: dict[str, Any], machine_line: str, threads: int,
                    examples: int | None = None) -> Path:
    """``folder/README.md`` (and beside each weights subfolder) and ``loss.png`` for the toy inpainting model.

    ``quality`` is what ``benchmarks/toy_inpaint_quality.py --json`` writes.
    """
    folder, run_dir = Path(folder), Path(run_dir)
    settings, losses, cost = _run_record(run_dir, folder, "toy VACE: hole-weighted flow-matching loss")
    tr, te = settings["architecture"]["transformer"], settings["architecture"]["text_encoder"]
    lines = [
        "# MotionBench toy inpainting model (recapture task)",
        "",
        "A Wan2.1 VACE trained by MotionBench to fill the holes of depth warps of its rendered rooms (64 x 64",
        "pixels, 17 frames; `motionbench.toy.inpaint`), so that the recapture task's inpainting methods (`fyc`,",
        "`warp-inpaint-untuned`, `preset=toy`) mean something on a CPU. It knows these rooms only: it says nothing",
        "about how a method does with the real Wan2.1 VACE.",
        "",
        "## Architecture",
        f"- transformer: diffusers `WanVACETransformer3DModel`, {tr['num_layers']} blocks of {tr['num_attention_heads']} "
        f"heads x {tr['attention_head_dim']}, FFN {tr['ffn_dim']}, patch {tuple(tr['patch_size'])}, VACE hints at blocks "
        f"{', '.join(map(str, tr['vace_layers']))}, {tr['in_channels']} latent channels, {tr['vace_in_channels']} control "
        "channels (the warp's latent with the holes blanked, the blank reactive latent, the 8 x 8 mask blocks)",
        "- vae: `motionbench.toy.codec.ToyPCACodec`, a fixed linear code of 4-frame x 8 x 8-pixel blocks (Wan's VAE "
        f"factors), {tr['in_channels']} principal components fitted on rooms of a separate stream",
        f"- text encoder: transformers `UMT5EncoderModel`, {te['num_layers']} layers, d_model {te['d_model']}; "
        "captions carry nothing here (a quarter empty, the rest the few room captions methods pass)",
        f"- {_count(folder) / 1e6:.2f} M parameters in {_size(folder) / 2**20:.1f} MiB of safetensors",
        "",
        "## Training",
        f"- data: {examples or 'the'} warps from `motionbench toy data --task recapture` (seed 0): rooms of seeds "
        "from 100000 on (the benchmark's rooms never occur), each warped along three random paths (orbit, arc, "
        "zoom, pan, dolly, turn, bullet time); the target is the exact view along the path",
        f"- recipe: rectified flow (Wan's velocity target), AdamW lr {settings['lr']:g} (warm-up {settings['warmup']}, "
        f"cosine to {settings['min_lr_ratio']:g}x), batch {settings['batch']}, weight decay {settings['weight_decay']:g}, "
        f"EMA {settings['ema']:g}, hole blocks weighted {1 + settings['object_weight']:g}x, noise levels "
        f"{settings['logit_normal_fraction']:.0%} logit-normal / rest uniform, shift {settings['shift']:g}, seed {settings['seed']}",
        f"- steps: {losses[-1]['step']} (the exported weights are the EMA at that step)",
        f"- wall time: {cost['seconds'] / 3600:.2f} h of training steps ({cost['per_step']:.2f} s per step, median) on "
        f"{machine_line}, {threads} torch thread(s), float32",
        f"- loss: {cost['first']:.3f} (mean of the first 50 steps) -> {cost['last']:.3f} (mean of the last 200)",
        "",
        "![loss curve](loss.png)",
        "",
        "## Quality (`benchmarks/toy_inpaint_quality.py`)",
        f"Sampling: {quality['steps']} {quality['sampler']} steps, no guidance, shift {quality['shift']:g}. PSNR against "
        "the exact view (dB; `motionbench.metrics.novel_view`); *holes* are the true ones (what the source never saw).",
        "",
        "| rooms | re-renderings | method | PSNR | PSNR in the holes |",
        "|---|---:|---|---:|---:|",
    ]
    for group in quality["groups"]:
        for method, row in group["methods"].items():
            lines.append(f"| {group['name']} | {group['count']} | {method} | {row['psnr']:.2f} | {row['psnr_holes']:.2f} |")
    lines += ["", "`warp-only` leaves the holes black; `mean colour` fills them with the mean colour of the visible "
              "pixels of each frame (the floor any fill must beat).", "",
              "## Rebuild", "```",
              f"motionbench toy data --task recapture --out .cache/toy/vace-data --count {examples or 3000} --codec-clips 96",
              f"motionbench toy train --task recapture --data .cache/toy/vace-data --run .cache/toy/vace-run "
              f"--steps {settings['steps']} --batch {settings['batch']} --lr {settings['lr']:g} --threads {threads}",
              "motionbench toy export --run .cache/toy/vace-run --data .cache/toy/vace-data",
              "python benchmarks/toy_inpaint_quality.py --write-card .cache/toy/vace-run --data .cache/toy/vace-data",
              "```", ""]
    return _write_card(folder, "\n".join(lines))


def write_clip_card(folder: Path, zero_shot: dict[str, Any], machine_line: str) -> Path:
    """``folder/README.md`` and ``folder/loss.png`` for the toy CLIP (from its ``training.json``)."""
    from motionbench.toy.clip import TOY_CLIP_CONFIG

    folder = Path(folder)
    record = json.loads((folder / "training.json").read_text())
    s = record["settings"]
    losses = [{"step": i + 1, "loss": v} for i, v in enumerate(record["losses"])]
    loss_curve(losses, folder / "loss.png", "toy CLIP: contrastive loss")
    v, t = TOY_CLIP_CONFIG["vision_cfg"], TOY_CLIP_CONFIG["text_cfg"]
    lines = [
        "# MotionBench toy CLIP",
        "",
        "An open_clip architecture trained by MotionBench on frames of its toy world and their captions, so that",
        "`clip_text` and `clip_temporal` score toy runs (`--clip toy`). It knows the toy vocabulary only; its",
        "numbers are comparable with each other, never with a real CLIP's.",
        "",
        "## Architecture",
        f"- image: ViT on {v['image_size']} x {v['image_size']} frames, patches of {v['patch_size']}, {v['layers']} layers "
        f"of width {v['width']}; text: {t['layers']}-layer transformer of width {t['width']}, context {t['context_length']}, "
        f"word-level vocabulary of {t['vocab_size']} ids; embeddings of {TOY_CLIP_CONFIG['embed_dim']} dimensions",
        f"- {_count(folder) / 1e6:.2f} M parameters in {_size(folder) / 2**20:.1f} MiB of safetensors",
        "",
        "## Training",
        f"- data: a random frame of each toy training clip, decoded through the toy codec (what generated videos look "
        f"like), with its caption; captions repeated in a batch are positives of each other",
        f"- recipe: symmetric InfoNCE with a learned temperature, AdamW lr {s['lr']:g} (warm-up {s['warmup']}, cosine), "
        f"batch {s['batch']}, weight decay {s['weight_decay']:g}, {s['steps']} steps, seed {s['seed']}",
        f"- wall time: {record['seconds'] / 60:.1f} min on {machine_line}, {s['threads']} torch thread(s)",
        "",
        "![loss curve](loss.png)",
        "",
        "## Zero-shot accuracy on frames of held-out looks",
        "Each frame's caption against the captions that differ from it in one attribute only.",
        "",
        "| attribute | frames | accuracy |",
        "|---|---:|---:|",
    ]
    for name, row in zero_shot.items():
        lines.append(f"| {name} | {row['frames']} | {row['accuracy']:.0%} |")
    lines += ["", "## Rebuild", "```",
              f"motionbench toy train-clip --data .cache/toy/data --steps {s['steps']} --batch {s['batch']} "
              f"--lr {s['lr']:g} --seed {s['seed']} --threads {s['threads']}",
              "python benchmarks/toy_quality.py --clip-zero-shot --write-cards .cache/toy/run", "```", ""]
    path = folder / CARD
    path.write_text("\n".join(lines))
    return path
