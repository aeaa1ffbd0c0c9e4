"""What a run ran on: package versions, the git commit, the device. Recorded in ``run.json``.

Versions come from installed package metadata, so capturing them imports neither torch nor any
model library; only describing a CUDA device asks torch.
"""

from __future__ import annotations

import os
import platform
import subprocess
from importlib import metadata
from pathlib import Path
from typing import Any

# Distribution names whose versions decide whether two runs are comparable.
TRACKED_PACKAGES = ("motionbench", "torch", "diffusers", "open_clip_torch", "transformers", "peft",
                    "numpy", "av", "decord", "opencv-python-headless", "ray")
_REPO_ROOT = Path(__file__).resolve().parents[2]


def package_versions(names: tuple[str, ...] = TRACKED_PACKAGES) -> dict[str, str | None]:
    """Installed version of each distribution, ``None`` when it is not installed."""
    out: dict[str, str | None] = {}
    for name in names:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = None
    return out


def git_state(root: Path = _REPO_ROOT) -> dict[str, Any]:
    """Commit and dirtiness of the MotionBench checkout, or ``{"commit": None}`` outside git."""
    def git(*args: str) -> str:
        return subprocess.run(["git", "-C", str(root), *args], capture_output=True, text=True,
                              timeout=10, check=True).stdout.strip()

    try:
        commit = git("rev-parse", "HEAD")
        dirty = bool(git("status", "--porcelain", "--untracked-files=no"))
    except (OSError, subprocess.SubprocessError):
        return {"commit": None, "dirty": None}
    return {"commit": commit, "dirty": dirty}


def device_info(device: str) -> dict[str, Any]:
    """The compute device a run asked for, described well enough to compare timings."""
    info: dict[str, Any] = {
        "requested": device,
        "host": platform.node(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "cpu": platform.processor() or platform.machine(),
        "cpu_count": os.cpu_count(),
    }
    if device.startswith("cuda"):
        import torch

        if torch.cuda.is_available():
            index = torch.device(device).index or 0
            props = torch.cuda.get_device_properties(index)
            info.update(gpu=props.name, gpu_memory_mb=props.total_memory // 2**20,
                        gpu_count=torch.cuda.device_count(), cuda=torch.version.cuda)
    return info
