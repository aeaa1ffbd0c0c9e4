"""What a run ran on: package versions, the git commit, the device. Recorded in ``run.json``.

Versions come from installed package metadata, so capturing them imports neither torch nor any
model library; only describing a CUDA device asks torch.
"""

from __future__ import annotations

import os
import platform
from dataclasses import replace
from importlib import metadata
from pathlib import Path

from motionbench.package_data import checkout_commit, source_checkout
from motionbench.run.info import DeviceInfo, GitState

# Distribution names whose versions decide whether two runs are comparable.
TRACKED_PACKAGES = ("motionbench", "torch", "diffusers", "open_clip_torch", "transformers", "peft",
                    "numpy", "av", "decord", "opencv-python-headless", "ray")


def package_versions(names: tuple[str, ...] = TRACKED_PACKAGES) -> dict[str, str | None]:
    """Installed version of each distribution, ``None`` when it is not installed."""
    out: dict[str, str | None] = {}
    for name in names:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = None
    return out


def git_state(root: Path | None = None) -> GitState:
    """Commit and dirtiness of the MotionBench checkout that is running, or of ``root``.

    ``commit`` is None for an installed package (whatever repository its environment sits in) and
    outside git.
    """
    root = root if root is not None else source_checkout()
    state = checkout_commit(root) if root is not None else None
    return GitState(*state) if state else GitState()


def device_info(device: str) -> DeviceInfo:
    """The compute device a run asked for, described well enough to compare timings."""
    info = DeviceInfo(requested=device, host=platform.node(), platform=platform.platform(),
                      python=platform.python_version(), cpu=platform.processor() or platform.machine(),
                      cpu_count=os.cpu_count())
    if device.startswith("cuda"):
        import torch  # only a CUDA run pays for importing torch here

        if torch.cuda.is_available():
            index = torch.device(device).index or 0
            props = torch.cuda.get_device_properties(index)
            info = replace(info, gpu=props.name, gpu_memory_mb=props.total_memory // 2**20,
                           gpu_count=torch.cuda.device_count(), cuda=torch.version.cuda)
    return info
