"""The weights resolver: local paths and caches, no network unless allowed, sha256 checks."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import pytest

from motionbench import weights
from motionbench.errors import WeightsError


@pytest.fixture(autouse=True)
def isolated_caches(tmp_path, monkeypatch):
    import huggingface_hub

    monkeypatch.setenv("MOTIONBENCH_CACHE", str(tmp_path / "mb"))
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.delenv("MOTIONBENCH_COTRACKER_REPO", raising=False)
    monkeypatch.delenv("MOTIONBENCH_ALLOW_DOWNLOAD", raising=False)
    monkeypatch.setattr(huggingface_hub, "try_to_load_from_cache", lambda *a, **k: None)


def _source(tmp_path, payload: bytes, sha: str | None):
    src_file = tmp_path / "remote.bin"
    src_file.write_bytes(payload)
    return weights.Source("test:blob", src_file.as_uri(), "blob.bin", sha, "motionbench download test")


def test_download_refuses_without_permission_and_names_the_command(tmp_path):
    src = _source(tmp_path, b"abc", None)
    dest = tmp_path / "out" / "blob.bin"
    with pytest.raises(WeightsError, match="motionbench download test"):
        weights.download(src, dest)
    assert not dest.exists()


def test_download_checks_sha256_and_leaves_nothing_on_mismatch(tmp_path, monkeypatch):
    payload = b"weights" * 1000
    good = _source(tmp_path, payload, hashlib.sha256(payload).hexdigest())
    dest = weights.download(good, tmp_path / "out" / "blob.bin", allow=True)
    assert dest.read_bytes() == payload
    assert weights.file_sha256(dest) == hashlib.sha256(payload).hexdigest()
    bad = _source(tmp_path, payload, "0" * 64)
    with pytest.raises(WeightsError, match="expected 0000"):
        weights.download(bad, tmp_path / "out2" / "blob.bin", allow=True)
    assert not (tmp_path / "out2" / "blob.bin").exists()
    assert list((tmp_path / "out2").iterdir()) == []  # no partial file either
    monkeypatch.setenv("MOTIONBENCH_ALLOW_DOWNLOAD", "1")  # the environment switch also allows it
    assert weights.download(good, tmp_path / "out3" / "blob.bin").is_file()


def test_openai_clip_sources_carry_their_published_checksum():
    src = weights.clip_source("ViT-B-32-quickgelu", "openai")
    assert src.sha256 == "40d365715913c9da98579312b702a82c18be219cc2a73407c4526f58eba950af"
    assert src.command == "motionbench download clip"
    assert weights.clip_source("ViT-L-14-quickgelu", "openai").command.endswith("--clip ViT-L-14-quickgelu:openai")
    with pytest.raises(WeightsError, match="known tags"):
        weights.clip_source("ViT-B-32-quickgelu", "laion9000")


def test_clip_weights_are_found_in_our_cache_or_reported_missing_with_the_command(tmp_path):
    with pytest.raises(weights.WeightsMissing, match="run `motionbench download clip`"):
        weights.locate_clip("ViT-B-32-quickgelu", "openai")
    f = weights.home() / "weights" / "clip" / "ViT-B-32-quickgelu" / "openai" / "ViT-B-32.pt"
    f.parent.mkdir(parents=True)
    f.write_bytes(b"x")
    loc = weights.locate_clip("ViT-B-32-quickgelu", "openai")
    assert loc.path == f and loc.origin == "MotionBench cache"
    explicit = tmp_path / "mine.safetensors"
    explicit.write_bytes(b"y")
    assert weights.locate_clip("ViT-B-32-quickgelu", str(explicit)).origin == "explicit path"
    with pytest.raises(WeightsError, match="not found"):
        weights.locate_clip("ViT-B-32-quickgelu", str(tmp_path / "nope.pt"))


def test_cotracker_is_found_in_the_torch_hub_cache_or_an_explicit_checkout(tmp_path, monkeypatch):
    with pytest.raises(weights.WeightsMissing, match="motionbench download cotracker"):
        weights.locate_cotracker_checkpoint()
    with pytest.raises(weights.WeightsMissing, match="--tracker-repo"):
        weights.locate_cotracker_repo()
    ckpt = tmp_path / "torch" / "hub" / "checkpoints" / "scaled_offline.pth"
    ckpt.parent.mkdir(parents=True)
    ckpt.write_bytes(b"z")
    assert weights.locate_cotracker_checkpoint().origin == "torch hub cache"
    hub_repo = tmp_path / "torch" / "hub" / "facebookresearch_co-tracker_main"
    hub_repo.mkdir()
    (hub_repo / "hubconf.py").write_text("")
    assert weights.locate_cotracker_repo().path == hub_repo
    checkout = tmp_path / "co-tracker"
    checkout.mkdir()
    monkeypatch.setenv("MOTIONBENCH_COTRACKER_REPO", str(checkout))
    with pytest.raises(WeightsError, match="no hubconf.py"):
        weights.locate_cotracker_repo()
    (checkout / "hubconf.py").write_text("")
    assert weights.locate_cotracker_repo().origin == "$MOTIONBENCH_COTRACKER_REPO"


def test_fetch_without_permission_fails_before_any_network_use():
    with pytest.raises(WeightsError, match="network is not allowed"):
        weights.fetch_clip("ViT-B-32-quickgelu", "openai")
    with pytest.raises(WeightsError, match="network is not allowed"):
        weights.fetch_cotracker()


def test_clip_spec_parsing():
    assert weights.parse_clip_spec("ViT-L-14-quickgelu:openai") == ("ViT-L-14-quickgelu", "openai")
    assert weights.parse_clip_spec("ViT-B-32:/w/x.pt") == ("ViT-B-32", "/w/x.pt")
    for bad in ("ViT-B-32", ":openai", "ViT-B-32:"):
        with pytest.raises(WeightsError, match="ARCH:WEIGHTS"):
            weights.parse_clip_spec(bad)


def test_importing_weights_and_metrics_loads_no_torch():
    code = "import sys, motionbench.weights, motionbench.metrics; print('torch' in sys.modules, 'open_clip' in sys.modules)"
    root = str(Path(__file__).resolve().parents[1])
    env = {**os.environ, "PYTHONPATH": root}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=root, env=env)
    assert out.stdout.strip() == "False False"
