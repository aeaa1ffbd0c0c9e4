"""Quality of the toy inpainting model (the recapture task's toy VACE) on rooms it never saw.

    HF_HUB_OFFLINE=1 python benchmarks/toy_inpaint_quality.py [--model toy|FOLDER] [--rooms 24] [--json OUT]
        [--write-card RUN_DIR --data DATA_DIR]

Each re-rendering is a room warped along a camera path (what every recapture method starts from)
and compared with the exact view along that path: PSNR overall and inside the true holes (what the
source never saw), as the ``novel_view`` metric computes them. Three fills of the same warp:

* ``warp-only``: the holes left black;
* ``mean colour``: each frame's holes filled with the mean colour of its visible pixels (the floor);
* ``toy VACE``: the model's re-rendering, untuned (what ``warp-inpaint-untuned preset=toy`` returns).

Two groups of rooms: the benchmark's (``data/recapture.yaml``: every sample and path) and
``--rooms`` rooms of a stream apart from training's, on random paths. ``--write-card RUN_DIR``
writes the model card of the shipped model from these figures and the run's records.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np


def mean_fill(frames: np.ndarray, visible: np.ndarray) -> np.ndarray:
    out = frames.copy()
    for f, v in zip(out, visible):
        if v.any() and not v.all():
            f[~v] = np.round(f[v].reshape(-1, 3).mean(axis=0)).astype(np.uint8)
    return out


def cases(rooms: int, seed: int = 7):
    """``(group, name, SourceClip, SceneClip, path)`` of the benchmark's rooms, then of ``rooms`` held-out ones."""
    from motionbench.bench.manifest import load_manifest
    from motionbench.recapture.sources import load_recapture_sample
    from motionbench.recapture.task import SourceClip
    from motionbench.toy.inpaint import _scene, draw_inpaint_example

    for sample in load_manifest("recapture").samples:
        loaded = load_recapture_sample(sample)
        if loaded.scene is None:
            continue
        for path in sample.paths:
            yield "benchmark (data/recapture.yaml)", f"{sample.id} {getattr(path, 'name', None) or path}", loaded.source, \
                loaded.scene, path
    for i in range(rooms):
        ex = draw_inpaint_example(seed, i * 3)  # one path per room
        scene = _scene(ex.scene_seed, ex.moving)
        source = SourceClip(f"room-{ex.scene_seed}", scene.source.frames, scene.fps, scene.intrinsics,
                            scene.source.depth, "exact")
        yield f"held-out rooms (stream {seed})", f"room {ex.scene_seed} {ex.path}", source, scene, ex.path


def evaluate(model: str, rooms: int, steps: int, shift: float, sampler: str = "unipc", threads: int = 2) -> dict:
    import torch

    from motionbench.backbones.vace import load_vace_backbone
    from motionbench.metrics.novel_view import masked_psnr, psnr
    from motionbench.recapture.inpaint import InpaintSettings, inpaint_path

    torch.set_num_threads(threads)
    backbone = load_vace_backbone(model)
    embeds = backbone.encode_prompts(["a video"])
    settings = InpaintSettings(steps=steps, guidance=1.0, shift=shift, sampler=sampler)
    groups: dict[str, dict] = {}
    seconds = []
    for group, name, source, scene, path in cases(rooms):
        t0 = time.perf_counter()
        result = inpaint_path(backbone, source, path, size=source.size, settings=settings, prompt_embeds=embeds,
                              negative_embeds=None, seed=0)
        seconds.append(time.perf_counter() - t0)
        view = scene.target(path)
        holes = ~scene.seen_from_source(path, view)
        warped = result.warped
        fills = {"warp-only": warped.frames, "mean colour": mean_fill(warped.frames, warped.visible),
                 "toy VACE": result.frames}
        g = groups.setdefault(group, {"name": group, "rows": []})
        g["rows"].append({"case": name, **{m: {"psnr": psnr(f, view.frames), "psnr_holes": masked_psnr(f, view.frames, holes)}
                                           for m, f in fills.items()}})
    out = {"model": model, "steps": steps, "shift": shift, "sampler": sampler, "seconds_per_video": float(np.median(seconds)),
           "groups": []}
    for g in groups.values():
        methods = {}
        for m in ("warp-only", "mean colour", "toy VACE"):
            rows = [r[m] for r in g["rows"] if r[m]["psnr_holes"] is not None]
            methods[m] = {"psnr": float(np.mean([r["psnr"] for r in rows])),
                          "psnr_holes": float(np.mean([r["psnr_holes"] for r in rows]))}
        out["groups"].append({"name": g["name"], "count": len(g["rows"]), "methods": methods, "rows": g["rows"]})
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default="toy", help="toy (the shipped model) or a diffusers VACE folder")
    parser.add_argument("--rooms", type=int, default=24, help="held-out rooms (one random path each)")
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--shift", type=float, default=2.0)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--json", default="", help="write the figures to this file")
    parser.add_argument("--write-card", default="", metavar="RUN_DIR", help="write the shipped model's card (RUN_DIR: the run of `toy train --task recapture`)")
    parser.add_argument("--data", default=".cache/toy/vace-data", help="the training set (its size goes on the card)")
    parser.add_argument("--train-threads", type=int, default=1, help="torch threads the training used (for the card)")
    args = parser.parse_args(argv)
    res = evaluate(args.model, args.rooms, args.steps, args.shift, threads=args.threads)
    print(f"model {res['model']}: {res['steps']} {res['sampler']} steps, shift {res['shift']:g}, "
          f"{res['seconds_per_video']:.1f} s per re-rendering")
    for g in res["groups"]:
        print(f"{g['name']} ({g['count']} re-renderings)")
        for m, row in g["methods"].items():
            print(f"  {m:12s} PSNR {row['psnr']:6.2f}  holes {row['psnr_holes']:6.2f}")
    if args.json:
        Path(args.json).write_text(json.dumps(res, indent=1))
    if args.write_card:
        if args.model != "toy":
            raise SystemExit("--write-card describes the shipped model: use it with --model toy")
        from motionbench.toy.assets import toy_vace_folder
        from motionbench.toy.card import machine, write_vace_card

        done = Path(args.data) / "done.json"
        examples = json.loads(done.read_text())["count"] if done.exists() else None
        print("wrote", write_vace_card(toy_vace_folder(), Path(args.write_card), res, machine(), args.train_threads,
                                       examples=examples))


if __name__ == "__main__":
    main()
