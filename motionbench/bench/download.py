"""``motionbench download samples``: fetch a manifest's URL sources, checked by sha256."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from motionbench.bench.manifest import Manifest, UrlSource
from motionbench.errors import MotionBenchError


@dataclass(frozen=True)
class SampleDownload:
    sample_id: str
    path: Path
    status: str  # "present" (already there, checksum ok), "downloaded", "failed"
    error: str | None = None


def download_samples(manifest: Manifest, *, allow: bool = True) -> list[SampleDownload]:
    """Download every URL sample that is missing or fails its checksum; one failure does not stop the rest."""
    from motionbench import weights

    results = []
    for sample in manifest.samples:
        src = sample.source
        if not isinstance(src, UrlSource):
            continue
        if src.path.exists() and weights.file_sha256(src.path) == src.sha256:
            results.append(SampleDownload(sample.id, src.path, "present"))
            continue
        source = weights.Source(id=f"sample {sample.id}", url=src.url, filename=src.path.name, sha256=src.sha256,
                                command="motionbench download samples")
        try:
            weights.download(source, src.path, allow=allow)
        except MotionBenchError as exc:
            results.append(SampleDownload(sample.id, src.path, "failed", str(exc)))
            continue
        results.append(SampleDownload(sample.id, src.path, "downloaded"))
    return results
