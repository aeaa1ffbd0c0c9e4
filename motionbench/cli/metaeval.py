"""``motionbench metaeval``: how well each motion-fidelity variant separates same from other motion."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import List, Optional

import typer
from rich.table import Table

from motionbench.cli.app import app, console, err_console

_SHORT = {
    "different_motion": "diff.\nmotion", "time_reversed": "time\nreversed", "frame_shuffled": "frame\nshuffled",
    "static": "static", "flicker": "flicker", "frozen_appearance": "frozen\nlook",
    "time_warp": "ρ time\nwarp", "partial_motion": "ρ partial\nmotion", "trajectory_noise": "ρ traj.\nnoise",
}


def _cell(est: dict | None, good: bool | None = None) -> str:
    if est is None:
        return "-"
    text = f"{est['value']:.2f}"
    if good is True:
        text = f"[green]{text}[/]"
    elif good is False:
        text = f"[red]{text}[/]"
    if est["low"] is not None and est["high"] is not None:
        text += f"\n[dim]{est['low']:.2f}..{est['high']:.2f}[/]"
    return text


def render_table(card: dict) -> Table:
    """The metaeval table of a metric card: AUC per negative kind, Spearman per perturbation."""
    target = card["target"]["min_auc"]
    table = Table(title="Motion fidelity validity: AUC of positives vs each negative kind; "
                        "Spearman ρ of score vs perturbation grade (ideal -1). 95% bootstrap over references.",
                  title_justify="left", show_lines=True)
    table.add_column("tracker")
    table.add_column("variant")
    kinds = [k["name"] for k in card["negative_kinds"]]
    perts = [p["name"] for p in card["perturbations"]]
    for k in kinds:
        table.add_column(_SHORT.get(k, k), justify="right")
    table.add_column("min\nAUC", justify="right")
    for p in perts:
        table.add_column(_SHORT.get(p, p), justify="right")
    table.add_column("mean\npositive", justify="right")
    for row in card["rows"]:
        cells = [row["tracker"], row["variant"]]
        cells += [_cell(row["auc"][k], None if row["auc"][k] is None else row["auc"][k]["value"] >= target) for k in kinds]
        m = row["min_auc"]
        cells.append("-" if m is None else (f"[bold green]{m:.2f}[/]" if row["meets_target"] else f"[bold red]{m:.2f}[/]"))
        cells += [_cell(row["spearman"][p]) for p in perts]
        pos = row["mean_score"].get("same_motion")
        cells.append("-" if pos is None else f"{pos:.2f}")
        table.add_row(*cells)
    return table


@app.command("metaeval")
def metaeval_cmd(
    tracker: Optional[List[str]] = typer.Option(None, "--tracker", "-t",
                                                help="gt (true tracks on both sides), lk, cotracker3 (when its weights are here); repeat for several. Default: all three."),
    variant: Optional[List[str]] = typer.Option(None, "--variant", "-v", help="Motion fidelity variant(s); default: all (dmt, symmetric, matched)."),
    seed: int = typer.Option(0, help="Seeds every random choice (shuffles, blob places, noise fields, bootstrap)."),
    grid: int = typer.Option(24, help="Points per side of the LK / CoTracker grid."),
    resamples: int = typer.Option(1000, help="Bootstrap resamples for the intervals (0: none)."),
    manifest: Optional[Path] = typer.Option(None, help="Take the references from this manifest's synthetic samples (default: data/manifest.yaml, the embedded clips)."),
    builtin: bool = typer.Option(False, "--builtin", help="Use metaeval's own twelve references (three per category) instead of a manifest."),
    category: Optional[List[str]] = typer.Option(None, "--category", "-c", help="Only references of this category (repeatable)."),
    cache_dir: Optional[Path] = typer.Option(None, help="Keep computed tracks here across runs (keyed by video content and tracker backend)."),
    as_json: bool = typer.Option(False, "--json", help="Print the result as JSON (metric card, summary and raw scores) instead of the table."),
    out: Optional[Path] = typer.Option(None, "--out", "-o", help="Also write the JSON result to this file."),
) -> None:
    """Judge the motion-fidelity metrics on synthetic clips with known motion.

    Against each reference clip: positives are the same motion in a new look; negatives are another
    motion of the category, time-reversed, frame-shuffled, static, flickering objects, and a still
    frame whose look changes; graded perturbations (time warp, partial motion, trajectory noise)
    should lower the score monotonically. Prints AUC and Spearman per tracker and variant.
    """
    from dataclasses import replace

    from motionbench.errors import ConfigError
    from motionbench.metaeval import MetaevalConfig, metric_card, run_metaeval
    from motionbench.metaeval.pairs import MIN_MOTION_CHANGE
    from motionbench.metaeval.references import DEFAULT_REFERENCES, references_from_manifest

    from motionbench.cli.options import check_grid

    config = MetaevalConfig(seed=seed, grid=check_grid(grid), resamples=resamples)
    if tracker:
        config = replace(config, trackers=tuple(tracker))
    if variant:
        config = replace(config, variants=tuple(variant))
    if builtin and manifest is not None:
        raise ConfigError("--builtin and --manifest exclude each other; pass one")
    refs = DEFAULT_REFERENCES if builtin else references_from_manifest(manifest)
    if category:
        known = sorted({r.category for r in refs})
        bad = [c for c in category if c not in known]
        if bad:
            raise ConfigError(f"unknown category {', '.join(bad)}; the references have: {', '.join(known)}")
        refs = tuple(r for r in refs if r.category in category)
    config = replace(config, references=tuple(refs))

    def progress(ref_id: str) -> None:
        err_console.print(f"[dim]metaeval: {ref_id}[/]", highlight=False)

    result = run_metaeval(config, cache_dir=cache_dir, progress=None if as_json else progress)
    card = metric_card(result)
    payload = {"card": card, "result": result.to_dict()}
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = out.with_name(f".{out.name}.{os.getpid()}.partial")
        tmp.write_text(json.dumps(payload, indent=1, allow_nan=False))
        os.replace(tmp, out)
    if as_json:
        sys.stdout.write(json.dumps(payload, allow_nan=False) + "\n")
        return
    console.print(render_table(card))
    for d in card["dropped"]:
        console.print(f"[yellow]dropped negative[/] {d['reference']}/{d['kind']}#{d['index']}: its true motion differs "
                      f"from the reference's by only {d['motion_change']:.2f} (< {MIN_MOTION_CHANGE:g}); not a negative",
                      highlight=False, soft_wrap=True)
    for s in card["skipped"]:
        console.print(f"[yellow]skipped tracker {s['tracker']}:[/] {s['reason']}", highlight=False, soft_wrap=True)
    counts = card["config"]["counts"]
    console.print(f"{len(config.references)} references; " + ", ".join(f"{k} {v}" for k, v in counts.items())
                  + f"; seed {seed}, grid {grid}; {card['seconds']:.0f} s", highlight=False, soft_wrap=True)
    if out is not None:
        console.print(f"wrote {out}", highlight=False)
