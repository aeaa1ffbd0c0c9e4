"""Benchmark-definition commands: ls, validate, synth, add.

``ls`` and ``validate`` import no torch and no model code, so they answer instantly.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import List, Optional

import typer
from rich.table import Table

from motionbench.bench.manifest import CATEGORIES, load_manifest
from motionbench.cli.app import app, console, err_console
from motionbench.errors import ConfigError
from motionbench.package_data import data_folder, resolve_manifest, source_checkout
from motionbench.tasks import MOTION_TRANSFER, RECAPTURE

MANIFEST_HELP = "Manifest YAML, or the name of a shipped one: toy (default: the benchmark, data/manifest.yaml)."
ManifestOpt = typer.Option(None, "--manifest", "-m", help=MANIFEST_HELP)


@app.command("ls")
def ls_command(
    manifest: Optional[Path] = ManifestOpt,
    category: List[str] = typer.Option([], "--category", "-c", help="Only this category (repeatable)."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of tables."),
) -> None:
    """List the benchmark's categories and samples with their prompt counts."""
    m = load_manifest(manifest)
    samples = m.select(categories=category)
    if as_json:
        out = {
            "manifest": str(m.path), "name": m.name, "version": m.version,
            "categories": [{"name": c.name, "description": c.description,
                            "samples": sum(1 for s in samples if s.category == c.name)}
                           for c in m.categories if not category or c.name in category],
            "samples": [{"id": s.id, "category": s.category, "source": s.source.describe(),
                         "prompts": list(s.prompts), "frames": s.frames.count, "fps": s.fps,
                         "size": list(s.size) if s.size else None, "box": list(s.box) if s.box else None,
                         **({"task": s.task, "paths": [p.to_dict() for p in s.paths]} if s.paths else {})}
                        for s in samples],
        }
        typer.echo(json.dumps(out, indent=2))
        return
    cats = Table(title=f"{m.name} {m.version} ({m.path})", title_justify="left")
    for col in ("category", "samples", "prompts", "description"):
        cats.add_column(col)
    for c in m.categories:
        if category and c.name not in category:
            continue
        mine = [s for s in samples if s.category == c.name]
        cats.add_row(c.name, str(len(mine)), str(sum(len(s.prompts) for s in mine)), c.description)
    console.print(cats)
    rows = Table(show_edge=False, expand=True)
    # A recapture sample shows its camera paths where a motion-transfer sample shows its first prompt.
    cells = [(s.id, s.category, str(s.frames.count or "all"), str(len(s.prompts)),
              "paths: " + ", ".join(p.name or p.key for p in s.paths) if s.paths else s.prompts[0]) for s in samples]
    for i, col in enumerate(("id", "category", "frames", "prompts")):
        rows.add_column(col, no_wrap=True, min_width=max([len(col)] + [len(c[i]) for c in cells]))
    last = "first prompt or camera paths" if any(s.paths for s in samples) else "first prompt"
    rows.add_column(f"{last} (sources: --json)", no_wrap=True, overflow="ellipsis", ratio=1)
    for c in cells:
        rows.add_row(*c)
    console.print(rows)


@app.command("validate")
def validate_command(
    manifest: Optional[Path] = typer.Argument(None, help=MANIFEST_HELP),
    no_media: bool = typer.Option(False, "--no-media", help="Check the schema only, not the video files."),
) -> None:
    """Check a manifest: every problem at once, each with its sample id and field. Exit 1 if any."""
    from motionbench.bench.validate import validate_manifest

    path = resolve_manifest(manifest)
    problems = validate_manifest(path, check_media=not no_media)
    if problems:
        err_console.print(f"[bold red]{path}: {len(problems)} problem(s)[/]", soft_wrap=True)
        for p in problems:
            err_console.print(f"  - {p}", highlight=False, markup=False, soft_wrap=True)
        raise typer.Exit(1)
    m = load_manifest(path)
    console.print(f"[green]ok[/] {path}: {len(m.samples)} samples in {len(m.categories)} categories")


@app.command("synth")
def synth_command(
    out: Optional[Path] = typer.Option(None, "--out", "-o", help="Folder for the clips (default: $MOTIONBENCH_CACHE/synth)."),
    manifest: Optional[Path] = ManifestOpt,
    sample: List[str] = typer.Option([], "--sample", "-s", help="Only this sample id (repeatable)."),
    appearance: int = typer.Option(0, "--appearance", help="Render the same motion with look number K (0 = reference look)."),
) -> None:
    """Write the synthetic clips as mp4 + ground-truth tracks (.tracks.npz). Up-to-date files are kept."""
    from motionbench.bench.clips import cache_root, materialize

    m = load_manifest(manifest)
    folder = out or cache_root() / "synth"
    chosen = [s for s in m.select(sample_ids=sample) if s.is_synthetic]
    written = 0
    for s in chosen:
        result = materialize(s, folder, appearance)
        written += result.written
    console.print(f"{len(chosen)} synthetic clips in {folder} ({written} written, {len(chosen) - written} already up to date)")


def _slug(text: str) -> str:
    """A sample id from a file name: lower-case words joined by '-', at most the id length limit."""
    from motionbench.limits import MAX_ID_LENGTH

    slug = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
    slug = slug if slug and slug[0].isalnum() else f"clip-{slug}".strip("-")
    return slug[:MAX_ID_LENGTH].rstrip("-")


@app.command("add")
def add_command(
    video: Path = typer.Argument(..., help="The reference video to add."),
    category: str = typer.Option(..., "--category", "-c", help=f"One of: {', '.join(CATEGORIES)} (the manifest's "
                                                                 "categories; data/recapture.yaml: static_scene, "
                                                                 "dynamic_scene)."),
    prompt: List[str] = typer.Option([], "--prompt", "-p", help="A new appearance for the motion (repeatable; "
                                                                 "recapture: at most one caption, optional)."),
    sample_id: Optional[str] = typer.Option(None, "--id", help="Sample id (default: from the file name)."),
    manifest: Optional[Path] = ManifestOpt,
    frames: Optional[int] = typer.Option(None, "--frames", help="Use only the first N frames."),
    attribution: Optional[str] = typer.Option(None, "--attribution", help="Source and licence of the clip."),
    task: str = typer.Option(MOTION_TRANSFER, "--task", help="motion_transfer, or recapture (then give --path)."),
    path: List[str] = typer.Option([], "--path", help="Recapture: a target camera path, e.g. orbit:phi=20 "
                                                      "(repeatable; format: motionbench/recapture/trajectory.py)."),
) -> None:
    """Check a video decodes whole and append it to a manifest as a new sample; the rest of the file is untouched."""
    from motionbench.bench.manifest_edit import add_sample
    from motionbench.tasks import DEFAULT_MANIFESTS, check_task

    target = resolve_manifest(manifest) if manifest else DEFAULT_MANIFESTS[check_task(task)]
    if source_checkout() is None and target.resolve().parent == data_folder():
        # Appending to the shipped copy would edit the installed package (and be lost by the next upgrade).
        raise ConfigError(f"{target} is the manifest shipped inside the installed MotionBench package; "
                          f"copy it (cp {target} my-bench.yaml) and pass --manifest my-bench.yaml")
    added = add_sample(target, video, category=category, prompts=prompt, sample_id=sample_id or _slug(video.stem),
                       frames=frames, attribution=attribution, task=task, paths=path)
    what = f"{len(path)} camera path(s)" if task == RECAPTURE else f"{len(prompt)} prompt(s)"
    console.print(f"[green]added[/] sample {added.entry['id']!r} ({category}, {what}) to {target}", highlight=False)
    if added.rewritten:
        err_console.print("note: the manifest's layout (a flow-style samples list) could not take an appended entry; "
                          "it was rewritten, keeping comments and data", highlight=False)
