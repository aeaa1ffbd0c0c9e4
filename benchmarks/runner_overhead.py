"""The runner's own cost per job, excluding the method's fit and generate and the scoring.

Runs the ``static`` reference method (whose generate is a copy) over a temporary manifest of real
mp4 clips with the local executor, then subtracts the fit and generate seconds the records report
from the run's wall time. What is left is the runner: planning, loading references, measuring
phases, checking the output, writing the video (H.264, temp file + rename + fsync) and appending
the record. The video write is also timed on its own, since it dominates and depends on the size.
A second, resumed run measures the cost of recognising finished jobs (each video is probed).

    PYTHONPATH=. python benchmarks/runner_overhead.py [--samples 4 --prompts 3 --seeds 2 --size 128x128 --frames 17]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np


def make_manifest(folder: Path, samples: int, prompts: int, size: tuple[int, int], frames: int) -> Path:
    from motionbench.video import write_video

    rng = np.random.default_rng(0)
    w, h = size
    lines = ["schema_version: 1", "name: overhead", "categories:", "  camera: {description: c}", "samples:"]
    for i in range(samples):
        base = rng.integers(0, 256, size=(h // 8 + 1, w // 8 + frames + 2, 3), dtype=np.uint8)
        big = np.kron(base, np.ones((8, 8, 1), dtype=np.uint8))
        clip = np.stack([big[:h, 2 * t: 2 * t + w] for t in range(frames)])
        write_video(folder / f"s{i}.mp4", np.ascontiguousarray(clip), 8.0)
        plist = ", ".join(f'"prompt {k}"' for k in range(prompts))
        lines += [f"  - id: s{i}", "    category: camera", f"    source: {{path: s{i}.mp4}}", f"    prompts: [{plist}]"]
    (folder / "manifest.yaml").write_text("\n".join(lines) + "\n")
    return folder / "manifest.yaml"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=4)
    parser.add_argument("--prompts", type=int, default=3)
    parser.add_argument("--seeds", type=int, default=2)
    parser.add_argument("--size", default="128x128")
    parser.add_argument("--frames", type=int, default=17)
    parser.add_argument("--repeats", type=int, default=5, help="median over this many measurements")
    args = parser.parse_args()
    size = tuple(int(v) for v in args.size.lower().split("x"))

    from motionbench.run.execute import MethodChoice
    from motionbench.run.runner import RunConfig, execute_run
    from motionbench.run.store import RunStore
    from motionbench.video import read_video, write_video

    with tempfile.TemporaryDirectory(prefix="motionbench-overhead-") as tmp:
        tmp_path = Path(tmp)
        manifest = make_manifest(tmp_path, args.samples, args.prompts, size, args.frames)
        def timed_run(out: str, seeds: int) -> tuple[float, int, float]:
            """(wall seconds, jobs, wall minus the method's fit and generate seconds)."""
            config = RunConfig(methods=(MethodChoice("static"),), out=tmp_path / out, manifest=manifest,
                               device="cpu", seeds=tuple(range(seeds)))
            t0 = time.perf_counter()
            summary = execute_run(config)
            wall = time.perf_counter() - t0
            records = RunStore(tmp_path / out).generation_records()
            assert summary.ok == len(records) == args.samples * args.prompts * seeds, summary
            fit = sum({r.sample: r.fit_seconds or 0.0 for r in records}.values())  # one fit per group
            generate = sum(r.generate_seconds or 0.0 for r in records)
            return wall, len(records), wall - fit - generate

        timed_run("warmup", 1)  # imports, codec initialisation
        overheads, fixeds = [], []
        for rep in range(args.repeats):
            wall, jobs, small = timed_run(f"run{rep}", args.seeds)
            _, jobs_big, big = timed_run(f"run-big{rep}", 4 * args.seeds)
            overheads.append((big - small) / (jobs_big - jobs))  # the marginal cost of one more job
            fixeds.append(small - overheads[-1] * jobs)  # per run: manifest, run.json (versions, git), lock
        overhead, fixed = statistics.median(overheads), statistics.median(fixeds)
        config = RunConfig(methods=(MethodChoice("static"),), out=tmp_path / "run0", manifest=manifest,
                           device="cpu", seeds=tuple(range(args.seeds)))
        records = RunStore(tmp_path / "run0").generation_records()

        frames = read_video(tmp_path / "run0" / records[0].video).frames
        writes = []
        for i in range(20):
            t = time.perf_counter()
            write_video(tmp_path / f"w{i}.mp4", frames, 8.0)
            writes.append(time.perf_counter() - t)
        write = statistics.median(writes)

        resumes = []
        for _ in range(args.repeats):
            t0 = time.perf_counter()
            resumed = execute_run(config)
            resumes.append((time.perf_counter() - t0) / jobs)
            assert resumed.already_done == jobs and resumed.ok == 0
        resume = statistics.median(resumes)

    print(f"jobs: {jobs} ({args.samples} samples x {args.prompts} prompts x {args.seeds} seeds), "
          f"{args.frames} frames of {size[0]}x{size[1]}, local executor, static method")
    print(f"fixed cost per run ~{fixed * 1000:.0f} ms (median of {args.repeats}; manifest, run.json, lock)")
    print(f"runner overhead per job (marginal, {jobs} vs {jobs_big} jobs, median of {args.repeats}): {overhead * 1000:.1f} ms "
          f"(of which writing the video ~{write * 1000:.1f} ms, everything else ~{(overhead - write) * 1000:.1f} ms)")
    print(f"resumed run, per finished job skipped (incl. the fixed cost): {resume * 1000:.1f} ms")


if __name__ == "__main__":
    sys.exit(main())
