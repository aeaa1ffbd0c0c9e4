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
* seconds per clip;
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
                row.update(smooth=check.ok(), present=check.present, travel=check.travel, max_accel=check.max_accel)
            rows.append(row)
        summary = {"colour": float(np.mean([r["colour_ok"] for r in rows])),
                   "seconds_per_clip": float(np.mean([r["seconds"] for r in rows])), "clips": rows}
        if category == "single_object":
            summary["smooth_motion"] = float(np.mean([r["smooth"] for r in rows]))
            summary["present_every_frame"] = float(np.mean([r["present"] for r in rows]))
        out["categories"][category] = summary
    out["colour_all"] = float(np.mean([r["colour_ok"] for c in out["categories"].values() for r in c["clips"]]))
    return out


def report_quality(res: dict, args: argparse.Namespace) -> None:
    print(f"model {res['model']}: {args.clips} held-out clips per category, {args.steps} {args.sampler} steps, "
          f"guidance {args.guidance}, shift {args.shift}")
    print(f"{'category':<15} {'colour':>7} {'smooth':>7} {'s/clip':>7}")
    for name, c in res["categories"].items():
        smooth = f"{c['smooth_motion']:.0%}" if "smooth_motion" in c else "-"
        print(f"{name:<15} {c['colour']:>7.0%} {smooth:>7} {c['seconds_per_clip']:>7.2f}")
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
