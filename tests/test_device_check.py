"""benchmarks/device_check.py: the GPU check runs every section on the CPU (--smoke), keeps to its
budgets, and reports what it measured (and what it could not) in JSON and Markdown."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from conftest import script_module

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "benchmarks" / "device_check.py"
SECTIONS = ["machine", "fym_stages", "fym_run", "motiondirector", "ditflow", "fyc", "cotracker", "clip", "toy"]


@pytest.fixture(scope="module")
def dc():
    with script_module(SCRIPT, "device_check") as module:
        yield module


def run_check(tmp_path: Path, *args: str, timeout: float = 600) -> tuple[subprocess.CompletedProcess, dict, str]:
    out = tmp_path / "out"
    env = dict(os.environ, HF_HUB_OFFLINE="1", OMP_NUM_THREADS="1")
    proc = subprocess.run([sys.executable, str(SCRIPT), *args, "--out", str(out)], capture_output=True, text=True,
                          env=env, timeout=timeout, cwd=ROOT)
    reports = sorted(out.glob("*.json"))
    assert len(reports) == 1, (proc.stdout[-3000:], proc.stderr[-3000:])
    return proc, json.loads(reports[0].read_text()), reports[0].with_suffix(".md").read_text()


@pytest.mark.slow
def test_smoke_runs_every_section_on_the_cpu_and_reports_every_figure(tmp_path):
    # An explicit empty checkout keeps the run the same on machines that have co-tracker and those that do not.
    proc, report, md = run_check(tmp_path, "--smoke", "--cotracker-repo", str(tmp_path / "no-checkout"),
                                 "--copy-to", str(tmp_path / "copy"))
    assert proc.returncode == 0, proc.stdout[-4000:]
    sections = {s["name"]: s for s in report["sections"]}
    assert [s["name"] for s in report["sections"]] == SECTIONS
    assert report["format"] == "motionbench-device-check/1" and report["mode"] == "smoke"
    assert report["versions"]["torch"] and report["machine"]["cpu_count"] >= 1
    for name in ("machine", "fym_stages", "fym_run", "motiondirector", "ditflow", "clip"):
        assert sections[name]["status"] == "ok", (name, sections[name])
    assert sections["cotracker"]["status"] == "skipped" and "no-checkout" in sections["cotracker"]["reason"]
    assert sections["toy"]["status"] in ("ok", "skipped")
    if sections["toy"]["status"] == "skipped":
        assert "toy" in sections["toy"]["reason"]

    # 1. stages: what each one trains on, and a projection made of exactly those medians
    f = sections["fym_stages"]["figures"]
    assert f["temporal_sparse"]["latent_frames"] == 3 and f["temporal_dense"]["latent_frames"] == 5
    assert f["spatial"]["latent_frames"] == f["two_stage_spatial"]["latent_frames"] == 1
    assert f["two_stage_temporal"]["lora_heads"] == 2 * f["temporal_dense"]["lora_heads"]
    for stage in ("temporal_sparse", "temporal_dense", "spatial", "two_stage_spatial", "two_stage_temporal"):
        steps = f[stage]["step_seconds"]
        assert len(steps) == 2 and all(s > 0 for s in steps)  # SMOKE: 2 timed steps after 1 warm-up
        assert f[stage]["seconds_per_step"] == pytest.approx(sorted(steps)[0] / 2 + sorted(steps)[1] / 2)
    paper = f["projection"]["presets"]["paper"]
    expected = (f["heads"]["seconds"] + 3000 * f["spatial"]["seconds_per_step"]
                + 2000 * f["temporal_sparse"]["seconds_per_step"])
    assert paper["fym_total_s"] == pytest.approx(expected)
    assert report["goals"]["fym_over_two_stage_lora_paper_preset"]["value"] == pytest.approx(paper["ratio"])
    assert report["goals"]["sparse_over_dense_speedup"]["value"] == pytest.approx(
        f["temporal_dense"]["seconds_per_step"] / f["temporal_sparse"]["seconds_per_step"])

    # 2. the end-to-end run wrote a decodable video, its record and a motion-fidelity score
    run = sections["fym_run"]["figures"]
    gen = run["generation"]
    assert gen["status"] == "ok" and gen["video_probe"]["frames"] == 17 and gen["video_probe"]["width"] == 32
    assert gen["fit_seconds"] > 0 and gen["video_probe"]["bytes"] > 0
    assert run["scores"]["motion_fidelity/matched"]["status"] == "ok"
    assert run["fit_info"]["stages"]["temporal"]["steps"] == 1
    # 3. baselines: fit and generation timed; DiTFlow's guidance cost from a guided and an unguided run
    md_figures = sections["motiondirector"]["figures"]
    assert md_figures["generation"]["fit_seconds"] > 0
    assert md_figures["fit_info"]["training"]["steps"] == 2  # one joint step: a spatial and a temporal update
    ditflow = sections["ditflow"]["figures"]
    assert ditflow["guided"]["generate_seconds"] > 0 and isinstance(ditflow["seconds_per_guided_step"], float)
    # 3c. FYC: the tiny preset's two angle stages (the second re-renders its own output), then a scored re-rendering
    fyc = sections["fyc"]["figures"]
    assert fyc["generation"]["status"] == "ok" and fyc["generation"]["fit_seconds"] > 0
    assert fyc["lora"] == {"rank": 4, "alpha": 4.0}
    assert [(s["max_angle"], s["steps"], len(s["own_outputs"])) for s in fyc["stages"]] == [(10.0, 1, 0), (20.0, 1, 1)]
    assert fyc["scores"]["novel_view/psnr"]["status"] == "ok" and fyc["scores"]["novel_view/psnr"]["value"] > 0
    # 4. CLIP: both measures of throughput
    clip = sections["clip"]["figures"]["mb-smoke-clip"]
    assert clip["metric_pipeline"]["frames_per_s"] > 0 and clip["model_only"]["frames_per_s"] > 0

    assert "| fym_over_two_stage_lora_paper_preset | <= 0.25 |" in md and "## 2. end-to-end" in md
    copied = sorted(p.name for p in (tmp_path / "copy").iterdir())
    assert [Path(n).suffix for n in copied] == [".json", ".log", ".md"]
    assert "== fym_stages: ok" in (tmp_path / "copy" / copied[1]).read_text()


@pytest.mark.slow
def test_cotracker_section_with_a_checkout(tmp_path):
    """CoTracker3's real architecture (random weights) on the CPU: tens of seconds, so apart from the smoke test."""
    repo = next((Path(p) for p in (os.environ.get("MOTIONBENCH_COTRACKER_REPO"), ROOT / ".cotracker")
                 if p and (Path(p) / "hubconf.py").is_file()), None)
    if repo is None:
        pytest.skip("needs a co-tracker checkout: $MOTIONBENCH_COTRACKER_REPO or benchmarks/prepare_device.py "
                    "--cotracker DIR")
    proc, report, _ = run_check(tmp_path, "--smoke", "--only", "cotracker", "--cotracker-repo", str(repo),
                                "--section-budget", "cotracker=500")
    cotracker = report["sections"][1]
    assert cotracker["status"] == "ok", cotracker
    track = cotracker["figures"]["track"]
    assert track["tracks"] == 5 * 5 and track["frames"] == 9 and track["frames_per_s"] > 0
    assert cotracker["figures"]["tracker"]["backend"] == "cotracker3_offline:random-init:grid=5"


def test_a_section_over_its_budget_is_stopped_and_the_next_one_runs(tmp_path):
    t0 = time.time()
    proc, report, md = run_check(tmp_path, "--smoke", "--start", "spawn", "--only", "toy",
                                 "--section-budget", "machine=0.5")
    sections = {s["name"]: s for s in report["sections"]}
    assert sections["machine"]["status"] == "timeout" and "0.5 s budget" in sections["machine"]["reason"]
    assert sections["toy"]["status"] in ("ok", "skipped")
    assert proc.returncode == 1  # a section that timed out makes the check fail
    assert time.time() - t0 < 120
    assert "| machine | timeout |" in md


def test_the_whole_run_stops_within_its_overall_budget(tmp_path):
    t0 = time.time()
    proc, report, _ = run_check(tmp_path, "--smoke", "--start", "spawn", "--only", "toy", "--budget", "23.5",
                                "--section-budget", "machine=100")
    machine, toy = report["sections"]
    # the machine section gets what is left after the reserve (23.5 - 20 s), not its 100 s; then nothing is left
    assert machine["budget_s"] == pytest.approx(3.5, abs=0.3)
    assert machine["status"] in ("ok", "timeout")
    assert toy["status"] == "skipped" and "left" in toy["reason"]
    assert time.time() - t0 < 23.5 + 10  # interpreter start and teardown around the budget


def test_no_time_left_skips_the_remaining_sections(tmp_path):
    proc, report, _ = run_check(tmp_path, "--smoke", "--only", "clip", "--budget", "5")
    assert [s["status"] for s in report["sections"]] == ["skipped", "skipped"]
    assert all("left" in s["reason"] for s in report["sections"])
    assert report["goals"]["sparse_over_dense_speedup"]["value"] is None


def test_without_a_gpu_the_gpu_run_says_so_and_skips_the_rest(tmp_path):
    if _cuda_available():
        pytest.skip("this machine has a GPU: the check would run for real")
    proc, report, _ = run_check(tmp_path, "--only", "clip", "--section-budget", "machine=300")  # a busy CPU
    machine, clip = report["sections"]
    assert machine["status"] == "failed" and "torch sees no CUDA device" in machine["error"]
    assert machine["figures"]["cuda_available"] is False
    assert clip["status"] == "skipped" and "machine check found no GPU" in clip["reason"]
    assert proc.returncode == 1


def test_a_slow_machine_check_does_not_skip_the_gpu_sections(tmp_path):
    """Only a machine check that saw no GPU skips the rest; one that ran out of time does not."""
    # The GPU profile's machine section starts a fresh interpreter, so half a second stops it on any
    # machine; the toy section then starts (and is stopped at its own 3 s budget) instead of being skipped.
    proc, report, _ = run_check(tmp_path, "--only", "toy", "--section-budget", "machine=0.5",
                                "--section-budget", "toy=3")
    machine, toy = report["sections"]
    assert machine["status"] == "timeout"
    assert "machine check" not in (toy.get("reason") or "")
    assert toy["status"] in ("ok", "failed", "timeout")  # it ran


def _cuda_available() -> bool:
    import torch

    return torch.cuda.is_available()


def _dead(pid: int, wait: float = 5.0) -> bool:
    """Whether ``pid`` is gone (or a zombie) within ``wait`` seconds: a SIGKILL is delivered, not instant."""
    deadline = time.time() + wait
    while True:
        try:
            if psutil.Process(pid).status() == psutil.STATUS_ZOMBIE:
                return True
        except psutil.NoSuchProcess:
            return True
        if time.time() >= deadline:
            return False
        time.sleep(0.05)


def test_supervise_kills_a_child_that_ignores_sigterm_and_its_grandchild(dc):
    script = ("import signal, subprocess, sys, time\n"
              "signal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
              "p = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(120)'])\n"
              "print(p.pid, flush=True)\n"
              "time.sleep(120)\n")
    t0 = time.time()
    child = dc.spawn_child([sys.executable, "-c", script])
    rc, tail = dc.supervise(child, timeout=2.0)
    assert rc is None and time.time() - t0 < 2.0 + 3 * dc.KILL_GRACE_S
    assert _dead(child.pid) and _dead(int(tail[0]))


def test_a_forked_section_is_stopped_too(dc):
    def hang() -> int:
        print("started", flush=True)
        time.sleep(120)
        return 0

    child = dc.fork_child(hang)
    rc, tail = dc.supervise(child, timeout=1.0)
    assert rc is None and tail == ["started"] and _dead(child.pid)
    child = dc.fork_child(lambda: 3)
    assert dc.supervise(child, timeout=30.0) == (3, [])


def test_projection_and_goals(dc):
    per_step = {"spatial": 0.1, "temporal_sparse": 0.5, "temporal_dense": 2.0, "two_stage_spatial": 0.12,
                "two_stage_temporal": 2.2}
    fym = {"spatial_steps": 3000, "temporal_steps": 2000}
    out = dc.projection(per_step, 20.0, {"paper": (fym, fym)})
    assert out["sparse_speedup"] == pytest.approx(4.0) and out["sparse_speedup_met"] is True
    p = out["presets"]["paper"]
    assert p["fym_total_s"] == pytest.approx(20 + 300 + 1000)
    assert p["two_stage_total_s"] == pytest.approx(360 + 4400)
    assert p["ratio"] == pytest.approx(1320 / 4760) and p["ratio_met"] is False


def test_results_are_named_by_date_and_device_and_never_overwritten(dc, tmp_path):
    report = dc.Report(mode="gpu", device="cuda", budget_s=540, started_at="2026-12-01T10:00:00Z", argv=[])
    report.sections.append(dc.SectionResult("machine", "m", "ok", 25, figures={"device": {"gpu": "NVIDIA H200"}}))
    assert dc.result_stem(report, tmp_path) == "2026-12-01-nvidia-h200"
    (tmp_path / "2026-12-01-nvidia-h200.json").write_text("{}")
    assert dc.result_stem(report, tmp_path) == "2026-12-01-nvidia-h200-2"
    md = dc.render_markdown(report)
    assert "| sparse_over_dense_speedup | >= 3 | not measured | None |" in md


@pytest.mark.parametrize("profile", ["GPU", "SMOKE"])
def test_every_profile_option_builds_its_method_config(dc, profile):
    """The GPU profile runs only on a GPU: an option a method no longer has must fail here, not there."""
    from motionbench.methods.config import build_config
    from motionbench.methods.registry import load_method_class

    for method, opts in getattr(dc, profile).run_opts.items():
        cls = load_method_class(method)
        config = build_config(cls, opts)
        for opt in opts:
            key, value = opt.split("=", 1)
            if key != "preset":
                assert str(getattr(config, key)) == value, (method, key)
