"""`motionbench download samples` fetches URL sources over real HTTP (loopback) and checks sha256."""

from __future__ import annotations

import hashlib
import http.server
import subprocess
import sys
import threading
from functools import partial
from pathlib import Path

import pytest

from motionbench.bench.clips import load_sample
from motionbench.bench.manifest import load_manifest


@pytest.fixture
def server(tmp_path: Path):
    root = tmp_path / "www"
    root.mkdir()
    handler = partial(http.server.SimpleHTTPRequestHandler, directory=str(root))
    handler.log_message = lambda *a: None  # type: ignore[attr-defined]
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield root, f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()


def test_url_samples_download_once_and_bad_checksums_save_nothing(tmp_path: Path, server, make_video) -> None:
    root, base = server
    video = make_video("dance.mp4", num_frames=10)
    (root / "dance.mp4").write_bytes(video.read_bytes())
    (root / "other.mp4").write_bytes(video.read_bytes()[:-10] + b"0123456789")
    good = hashlib.sha256(video.read_bytes()).hexdigest()
    manifest = tmp_path / "bench" / "manifest.yaml"
    manifest.parent.mkdir()
    manifest.write_text(f"""schema_version: 1
categories:
  human: {{description: People.}}
samples:
  - id: dance
    category: human
    source: {{url: "{base}/dance.mp4", sha256: "{good}"}}
    prompts: [a robot dancing]
  - id: tampered
    category: human
    source: {{url: "{base}/other.mp4", sha256: "{good}"}}
    prompts: [a robot dancing]
""")
    cmd = [sys.executable, "-m", "motionbench", "download", "samples", "--manifest", str(manifest)]
    first = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert first.returncode == 1, first.stdout + first.stderr
    assert "dance: downloaded" in first.stdout
    assert "tampered: failed" in first.stdout and "sha256" in first.stdout
    assert not (tmp_path / "bench" / "downloads" / "other.mp4").exists()  # a bad file is never kept
    sample = load_manifest(manifest).sample("dance")
    assert load_sample(sample).clip.num_frames == 10
    second = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert "dance: present" in second.stdout
