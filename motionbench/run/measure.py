"""Timing and peak memory of one phase (fit or generate).

On CUDA the peak is ``torch.cuda.max_memory_allocated`` after resetting the peak statistics: all
tensors the process holds at the phase's high point, weights included, which is what decides
whether a method fits on a GPU. On the CPU there is no allocator to ask, so the peak is the growth
of the process's resident set size over its value when the phase began, taken from a sampling
thread (every few milliseconds) and from the kernel's exact lifetime maximum when that rose during
the phase. Records name which of the two they hold (:data:`CUDA_KIND` or :data:`CPU_KIND`); the two
are not comparable and the report never ranks them together.
"""

from __future__ import annotations

import resource
import sys
import threading
import time
from dataclasses import dataclass

CUDA_KIND = "cuda_max_allocated"
CPU_KIND = "cpu_rss_peak_delta"
_SAMPLE_EVERY_S = 0.005


def _ru_maxrss_bytes() -> int:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak if sys.platform == "darwin" else peak * 1024  # kilobytes on Linux


@dataclass
class PhaseMeasurement:
    seconds: float = 0.0
    peak_memory_mb: float | None = None
    memory_kind: str = CPU_KIND


class measure_phase:
    """Context manager timing a phase and measuring its peak memory on ``device``.

    Example::

        with measure_phase("cpu") as m:
            state = method.fit(reference, workdir)
        print(m.seconds, m.peak_memory_mb, m.memory_kind)
    """

    def __init__(self, device: str) -> None:
        self.cuda = device.startswith("cuda")
        self.device = device
        self.result = PhaseMeasurement(memory_kind=CUDA_KIND if self.cuda else CPU_KIND)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._peak_rss = 0

    def __enter__(self) -> PhaseMeasurement:
        if self.cuda:
            import torch

            torch.cuda.synchronize(self.device)
            torch.cuda.reset_peak_memory_stats(self.device)
        else:
            import psutil

            self._process = psutil.Process()
            self._baseline = self._process.memory_info().rss
            self._peak_rss = self._baseline
            self._ru_before = _ru_maxrss_bytes()
            self._thread = threading.Thread(target=self._sample, name="motionbench-rss", daemon=True)
            self._thread.start()
        self._t0 = time.perf_counter()
        return self.result

    def _sample(self) -> None:
        while not self._stop.wait(_SAMPLE_EVERY_S):
            rss = self._process.memory_info().rss
            if rss > self._peak_rss:
                self._peak_rss = rss

    def __exit__(self, *exc: object) -> None:
        if self.cuda:
            import torch

            torch.cuda.synchronize(self.device)  # queued kernels belong to this phase's time
            self.result.seconds = time.perf_counter() - self._t0
            self.result.peak_memory_mb = torch.cuda.max_memory_allocated(self.device) / 2**20
            return
        self.result.seconds = time.perf_counter() - self._t0
        self._stop.set()
        assert self._thread is not None
        self._thread.join()
        peak = max(self._peak_rss, self._process.memory_info().rss)
        ru_after = _ru_maxrss_bytes()
        if ru_after > self._ru_before:  # the process's all-time peak was set during this phase
            peak = max(peak, ru_after)
        self.result.peak_memory_mb = max(0, peak - self._baseline) / 2**20
