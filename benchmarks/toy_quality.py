"""Quality figures of the toy text-to-video model on captions held out from its training.

    HF_HUB_OFFLINE=1 python benchmarks/toy_quality.py [--model toy|FOLDER] [--clips 16] [--json OUT]
        [--clip-zero-shot] [--write-cards RUN_DIR]

For every category it samples clips for held-out looks (colour/shape pairs, figure colours and scene
colour pairs never seen in training; :mod:`motionbench.bench.toy.vocab`) and reports

* colour: the share of clips whose most covering palette colours are exactly the caption's
  (:func:`motionbench.bench.toy.detect.look_matches`; objects over the named background);
* smooth motion (single objects): the share of clips with one blob of about the object's area in
  every frame, travelling >= 3 px with no frame-to-frame acceleration above 1.5 px/frame^2
  (:func:`motionbench.bench.toy.detect.smooth_motion`);
* one-blob frames (single objects): the share of frames holding one blob of about the object's
  area (:func:`motionbench.bench.toy.detect.blob_track`), a finer reading than the all-or-nothing check;
* seconds per clip;
* with ``--renoise 0.2,0.6``: the same checks on training clips noised to each level and denoised
  from there (SDEdit), which tells the noise levels the model fails at from those it handles;
* with ``--clip-zero-shot``: the toy CLIP's zero-shot accuracy on frames of held-out looks, per
  attribute (:func:`motionbench.toy.clip.zero_shot_figures`).

``--write-cards RUN_DIR`` then writes both model cards (``README.md`` + ``loss.png``) into the
shipped folders from these figures and the T2V run's records (:mod:`motionbench.toy.card`).

Targets (issue 14): colour >= 90% of clips, smooth motion >= 80% of single-object clips.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np


def held_out_looks(category: str, n: int, seed: int):
    from motionbench.bench.toy import all_looks

    looks = all_looks(category, "held_out")
    rng = np.random.default_rng(seed)
    return [looks[i] for i in rng.permutation(len(looks))[:n]] if n <= len(looks) else \
        [looks[i % len(looks)] for i in rng.permutation(n)]


def evaluate(model: str, clips: int, steps: int, guidance: float, shift: float, sampler: str, seed: int = 0,
             threads: int = 2) -> dict:
    import torch

    from motionbench.backbones import generate_video, load_backbone
    from motionbench.bench.toy import CATEGORIES
    from motionbench.bench.toy.detect import look_matches, smooth_motion
    from motionbench.bench.toy.world import object_area

    torch.set_num_threads(threads)
    backbone = load_backbone(model)
    out: dict = {"model": model, "clips_per_category": clips, "steps": steps, "guidance": guidance, "shift": shift,
                 "sampler": sampler, "categories": {}}
    for category in CATEGORIES:
        rows = []
        for k, look in enumerate(held_out_looks(category, clips, seed)):
            t0 = time.perf_counter()
            frames = generate_video(backbone, look.caption(), num_frames=33, height=32, width=32, steps=steps,
                                    guidance=guidance, shift=shift, seed=seed * 1000 + k, sampler=sampler)
            dt = time.perf_counter() - t0
            match = look_matches(frames, look)
            row = {"caption": look.caption(), "colour_ok": match.ok, "shown": list(match.shown), "seconds": dt}
            if category == "single_object":
                check = smooth_motion(frames, look.background, object_area(look.things[0].shape))
                row.update(smooth=check.ok(), present=check.present, travel=check.travel, max_accel=check.max_accel,
                           one_blob_frames=_one_blob_share(frames, look))
            rows.append(row)
        summary = {"colour": float(np.mean([r["colour_ok"] for r in rows])),
                   "seconds_per_clip": float(np.mean([r["seconds"] for r in rows])), "clips": rows}
        if category == "single_object":
            summary["smooth_motion"] = float(np.mean([r["smooth"] for r in rows]))
            summary["present_every_frame"] = float(np.mean([r["present"] for r in rows]))
            summary["one_blob_frames"] = float(np.mean([r["one_blob_frames"] for r in rows]))
        out["categories"][category] = summary
    out["colour_all"] = float(np.mean([r["colour_ok"] for c in out["categories"].values() for r in c["clips"]]))
    return out


def _one_blob_share(frames: np.ndarray, look) -> float:
    from motionbench.bench.toy.detect import blob_track
    from motionbench.bench.toy.world import object_area

    track = blob_track(frames, look.background, object_area(look.things[0].shape))
    return float(np.mean([c is not None for c in track]))


def renoise(model: str, levels: list[float], clips: int, steps: int, guidance: float, shift: float,
            sampler: str, threads: int = 2) -> dict[str, dict[str, float]]:
    """Single-object training clips noised to each level, denoised from there: smooth-path share, one-blob frames."""
    import torch

    from motionbench.backbones import load_backbone
    from motionbench.backbones.sampling import make_scheduler
    from motionbench.bench.toy import look_from_params
    from motionbench.bench.toy.detect import smooth_motion
    from motionbench.bench.toy.world import object_area
    from motionbench.toy.data import draw_example, render_example

    torch.set_num_threads(threads)
    backbone = load_backbone(model)
    examples = [e for e in (draw_example(5, i) for i in range(1, 8 * clips, 4)) if e.generator == "toy_single_object"]
    examples = examples[:clips]
    negative = backbone.encode_prompts([""])
    out = {}
    for level in levels:
        smooth, blobs = [], []
        for k, example in enumerate(examples):
            look = look_from_params(example.generator, example.params)
            scheduler = make_scheduler(sampler, shift)
            scheduler.set_timesteps(steps)
            start = int(torch.argmin((scheduler.sigmas[:-1] - level).abs()))
            sigma = float(scheduler.sigmas[start])
            x0 = backbone.encode_video(render_example(example).frames)
            noise = torch.randn(x0.shape, generator=torch.Generator().manual_seed(k))
            latents = (1 - sigma) * x0 + sigma * noise
            context = torch.cat([backbone.encode_prompts([example.caption]), negative])
            with torch.no_grad():
                for t in scheduler.timesteps[start:]:
                    pred = backbone.transformer(hidden_states=torch.cat([latents, latents]), timestep=t.expand(2),
                                                encoder_hidden_states=context, return_dict=False)[0]
                    cond, uncond = pred.chunk(2)
                    latents = scheduler.step(uncond + guidance * (cond - uncond), t, latents, return_dict=False)[0]
            frames = backbone.decode(latents)
            smooth.append(smooth_motion(frames, look.background, object_area(look.things[0].shape)).ok())
            blobs.append(_one_blob_share(frames, look))
        out[f"{level:g}"] = {"sigma": sigma, "clips": len(examples), "smooth_motion": float(np.mean(smooth)),
                             "one_blob_frames": float(np.mean(blobs))}
        print(f"renoised to sigma {sigma:.2f}: smooth {np.mean(smooth):.0%} of {len(examples)} clips, "
              f"one-blob frames {np.mean(blobs):.1%}", flush=True)
    return out


def report_quality(res: dict, args: argparse.Namespace) -> None:
    print(f"model {res['model']}: {args.clips} held-out clips per category, {args.steps} {args.sampler} steps, "
          f"guidance {args.guidance}, shift {args.shift}")
    print(f"{'category':<15} {'colour':>7} {'smooth':>7} {'1-blob':>7} {'s/clip':>7}")
    for name, c in res["categories"].items():
        smooth = f"{c['smooth_motion']:.0%}" if "smooth_motion" in c else "-"
        blobs = f"{c['one_blob_frames']:.1%}" if "one_blob_frames" in c else "-"
        print(f"{name:<15} {c['colour']:>7.0%} {smooth:>7} {blobs:>7} {c['seconds_per_clip']:>7.2f}")
    print(f"{'all':<15} {res['colour_all']:>7.0%}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default="toy")
    parser.add_argument("--clips", type=int, default=16, help="clips per category (0: the toy CLIP only)")
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--guidance", type=float, default=4.0)
    parser.add_argument("--shift", type=float, default=2.0)
    parser.add_argument("--sampler", default="unipc")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", default="")
    parser.add_argument("--renoise", default="", metavar="LEVELS",
                        help="comma-separated noise levels: also denoise single-object training clips from each")
    parser.add_argument("--clip-zero-shot", action="store_true", help="also evaluate the shipped toy CLIP")
    parser.add_argument("--write-cards", default="", metavar="RUN_DIR",
                        help="write the model cards of the shipped models (RUN_DIR: the T2V run of `toy train`)")
    parser.add_argument("--threads", type=int, default=2, help="torch threads the training used (for the card)")
    parser.add_argument("--data", default=".cache/toy/data", help="the training set (its size goes on the card)")
    parser.add_argument("--eval-threads", type=int, default=2, help="torch threads of this evaluation")
    parser.add_argument("--history", default="", help="a sentence for the card on how the run was interrupted or changed")
    args = parser.parse_args()
    res = evaluate(args.model, args.clips, args.steps, args.guidance, args.shift, args.sampler, args.seed,
                   args.eval_threads) \
        if args.clips else {"categories": {}}
    if args.clips:
        report_quality(res, args)
    if args.renoise:
        res["renoise"] = renoise(args.model, [float(v) for v in args.renoise.split(",")], 10, args.steps,
                                 args.guidance, args.shift, args.sampler, args.eval_threads)
    if args.clip_zero_shot:
        from motionbench.toy.assets import toy_clip_folder
        from motionbench.toy.clip import load_model, zero_shot_figures

        model, _ = load_model(toy_clip_folder())
        res["clip_zero_shot"] = zero_shot_figures(model)
        print(f"toy CLIP zero-shot on frames of held-out looks ({toy_clip_folder()}):")
        for name, row in res["clip_zero_shot"].items():
            print(f"  {name:<14} {row['accuracy']:>6.0%} of {row['frames']} frames")
    if args.write_cards:
        from motionbench.toy.assets import toy_clip_folder, toy_t2v_folder
        from motionbench.toy.card import machine, write_clip_card, write_t2v_card

        if args.model != "toy":
            raise SystemExit("--write-cards describes the shipped model: use it with --model toy")
        if args.clips:
            examples = len(json.loads((Path(args.data) / "captions.json").read_text()))
            print("wrote", write_t2v_card(toy_t2v_folder(), args.write_cards, res, machine(), args.threads,
                                             args.history, examples))
        if "clip_zero_shot" in res:
            print("wrote", write_clip_card(toy_clip_folder(), res["clip_zero_shot"], machine()))
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(res, fh, indent=1)


if __name__ == "__main__":
    main()
