"""Shared test setup: offline hubs, one thread per process, small real video files."""

from __future__ import annotations

import contextlib
import importlib.util
import os
import sys
import tempfile
from pathlib import Path

import numpy as np
import pytest

# No test may reach a model hub; set before anything imports huggingface_hub.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
# Tests never write into the user's cache.
os.environ["MOTIONBENCH_CACHE"] = tempfile.mkdtemp(prefix="motionbench-test-cache-")


def textured_frames(num_frames: int = 9, size: tuple[int, int] = (64, 48), seed: int = 0, shift: int = 2) -> np.ndarray:
    """A smooth random texture translated ``shift`` pixels right per frame (uint8 [T, H, W, 3])."""
    rng = np.random.default_rng(seed)
    w, h = size
    base = rng.integers(0, 256, size=(h // 4 + 1, (w + shift * num_frames) // 4 + 2, 3), dtype=np.uint8)
    big = np.kron(base, np.ones((4, 4, 1), dtype=np.uint8))
    return np.stack([big[:h, t * shift : t * shift + w] for t in range(num_frames)])


@contextlib.contextmanager
def script_module(path: Path, name: str):
    """A script that is not a package module (benchmarks/, mutation/), imported as ``name`` for the block;
    registered in ``sys.modules`` meanwhile, since its dataclasses look their module up there."""
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
        yield module
    finally:
        sys.modules.pop(name, None)


@pytest.fixture
def make_video(tmp_path: Path):
    """Write an H.264 mp4 of a moving texture and return its path."""
    from motionbench.video import write_video

    def _make(name: str = "clip.mp4", num_frames: int = 9, size: tuple[int, int] = (64, 48), fps: float = 8.0, seed: int = 0) -> Path:
        return write_video(tmp_path / name, textured_frames(num_frames, size, seed), fps)

    return _make


def pytest_sessionfinish(session, exitstatus):
    """A child process a test left behind fails the run, and is killed rather than joined at exit.

    A worker that hangs would otherwise hold the interpreter's exit for ever (multiprocessing joins its
    children in an atexit hook), and CI would report a timeout instead of the test that caused it.
    """
    import multiprocessing

    left = multiprocessing.active_children()
    for child in left:
        child.kill()
        child.join(5)
    if left:
        names = ", ".join(f"{c.name} (pid {c.pid})" for c in left)
        session.config.get_terminal_writer().line(f"child processes left running by the tests, killed: {names}",
                                                  red=True)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
