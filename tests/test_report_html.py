"""The HTML report: self-contained, and opened in real headless Chromium where every video loads and
plays and the page is not blank.

Chromium is driven through its DevTools protocol over a pipe (``--remote-debugging-pipe``): no port
is opened and the page is a ``file://`` URL, so nothing leaves the machine. Set
``MOTIONBENCH_REPORT_SCREENSHOT=/some/file.png`` to keep the screenshot.
"""

from __future__ import annotations

import base64
import fcntl
import io
import json
import os
import re
import select
import shutil
import subprocess
import tempfile
import time
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from motionbench.report import build
from motionbench.report.html import write_html_report
from motionbench.video import write_video

SMALL = Path(__file__).parent / "fixtures" / "store_small" / "small"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


def moving_square(seed: int, num_frames: int = 8, size: tuple[int, int] = (64, 48)) -> np.ndarray:
    """A coloured square sliding right over a horizontal gradient (uint8 [T, H, W, 3])."""
    rng = np.random.default_rng(seed)
    w, h = size
    colour = rng.integers(60, 256, 3).astype(np.uint8)
    frames = np.empty((num_frames, h, w, 3), np.uint8)
    frames[:] = np.linspace(30, 140, w).astype(np.uint8)[None, None, :, None]
    for t in range(num_frames):
        x = 4 + 5 * t
        frames[t, 16:32, x:x + 14] = colour
    return frames


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Any]:
    """The fixture store with real tiny mp4s, three of four references, and one failed generation."""
    run = tmp_path_factory.mktemp("store") / "small"
    shutil.copytree(SMALL, run)
    gens = [json.loads(line) for line in (run / "generations.jsonl").read_text().splitlines()]
    for i, g in enumerate(gens):
        write_video(run / g["video"], moving_square(i), fps=8.0)
    for sample in ("cam-pan", "cam-zoom", "obj-car"):  # obj-dog's reference is deliberately absent
        write_video(run / "videos" / "reference" / f"{sample}.mp4", moving_square(100), fps=8.0)
    failed = {**gens[0], "job": "fym/obj-car/2-s0", "sample": "obj-car", "category": "single_object",
              "prompt_index": 2, "prompt": "a paper boat on a pond", "status": "error", "video": None,
              "error": "OutOfMemoryError: CUDA out of memory. Tried to allocate 2.00 GiB"}
    with open(run / "generations.jsonl", "a") as fh:
        fh.write(json.dumps(failed) + "\n")
    out = run.parent / "report.html"
    stats = write_html_report(build([run], with_reported=True), out)
    return out, stats


class _Resources(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.urls: list[tuple[str, str, str]] = []
        self.tags: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        for name, value in attrs:
            if name in ("src", "href", "poster", "data") and value is not None:
                self.urls.append((tag, name, value))


def test_report_is_one_self_contained_file(report: tuple[Path, Any]) -> None:
    path, stats = report
    text = path.read_text(encoding="utf-8")
    parser = _Resources()
    parser.feed(text)
    for tag, attr, url in parser.urls:
        assert url.startswith(("data:", "#")), f"<{tag} {attr}> points outside the file: {url[:80]}"
    assert not re.search(r"@import|url\(\s*['\"]?(https?:|//)", text)
    assert "link" not in parser.tags and "script" not in parser.tags
    # 16 generated videos + 3 references; the failed job and obj-dog's reference say why they are absent.
    assert parser.tags.count("video") == 19 == stats.videos
    assert stats.missing_videos == 3  # obj-dog reference; fym/obj-car/2 failed; ditflow has no prompt-2 job
    assert "reference video not stored (expected videos/reference/obj-dog.mp4" in text
    assert "generation failed: OutOfMemoryError: CUDA out of memory" in text
    assert text.count('autoplay loop muted playsinline') == 19
    assert "a corgi running on a beach" in text  # prompts as captions
    assert text.count('<img src="data:image/svg+xml;base64,') == 3  # 2 metric charts + fidelity vs tuning
    assert "FYM ‡" in text and "arXiv:2506.05207" in text
    assert stats.size_bytes == path.stat().st_size < 1_000_000


# ------------------------------------------------------------------------------ headless Chromium
class DevTools:
    """A minimal Chrome DevTools Protocol client over ``--remote-debugging-pipe`` (fds 3 and 4)."""

    def __init__(self, binary: str) -> None:
        self.profile = tempfile.mkdtemp(prefix="motionbench-chromium-")
        to_child_r, self._to_child = os.pipe()
        self._from_child, from_child_w = os.pipe()

        def wire_fds() -> None:  # runs in the child: Chromium reads commands on fd 3, answers on fd 4
            a = fcntl.fcntl(to_child_r, fcntl.F_DUPFD, 10)
            b = fcntl.fcntl(from_child_w, fcntl.F_DUPFD, 10)
            os.dup2(a, 3)
            os.dup2(b, 4)

        flags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--mute-audio", f"--user-data-dir={self.profile}", "--remote-debugging-pipe", "about:blank"]
        self.proc = subprocess.Popen([binary, *flags], preexec_fn=wire_fds, close_fds=False,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        os.close(to_child_r)
        os.close(from_child_w)
        self._buf = b""
        self._id = 0
        self._events: list[dict] = []

    def call(self, method: str, params: dict | None = None, session: str | None = None, timeout: float = 30) -> dict:
        self._id += 1
        msg: dict[str, Any] = {"id": self._id, "method": method, "params": params or {}}
        if session:
            msg["sessionId"] = session
        os.write(self._to_child, json.dumps(msg).encode() + b"\0")
        deadline = time.monotonic() + timeout
        while True:
            reply = self._read(deadline)
            if reply.get("id") == self._id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply["result"]
            self._events.append(reply)

    def wait_event(self, name: str, timeout: float = 30) -> dict:
        for i, event in enumerate(self._events):
            if event.get("method") == name:
                return self._events.pop(i)
        deadline = time.monotonic() + timeout
        while True:
            event = self._read(deadline)
            if event.get("method") == name:
                return event
            self._events.append(event)

    def evaluate(self, expression: str, session: str, timeout: float = 30) -> Any:
        res = self.call("Runtime.evaluate", {"expression": expression, "awaitPromise": True, "returnByValue": True},
                        session=session, timeout=timeout)
        if "exceptionDetails" in res:
            raise RuntimeError(f"page script failed: {res['exceptionDetails']}")
        return res["result"].get("value")

    def _read(self, deadline: float) -> dict:
        while b"\0" not in self._buf:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("Chromium did not answer in time")
            ready, _, _ = select.select([self._from_child], [], [], left)
            if ready:
                chunk = os.read(self._from_child, 1 << 20)
                if not chunk:
                    raise RuntimeError(f"Chromium exited (code {self.proc.poll()})")
                self._buf += chunk
        msg, self._buf = self._buf.split(b"\0", 1)
        return json.loads(msg)

    def close(self) -> None:
        try:
            self.call("Browser.close", timeout=5)
        except Exception:  # already gone: nothing to close
            pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        os.close(self._to_child)
        os.close(self._from_child)
        shutil.rmtree(self.profile, ignore_errors=True)


# Samples every video's currentTime every 50 ms for 1.5 s; a playing video shows many distinct times.
PLAYBACK_PROBE = """
(async () => {
  const vids = [...document.querySelectorAll('video')];
  const seen = vids.map(() => new Set());
  for (let k = 0; k < 30; k++) {
    vids.forEach((v, i) => seen[i].add(v.currentTime));
    await new Promise(r => setTimeout(r, 50));
  }
  return vids.map((v, i) => {
    const r = v.getBoundingClientRect();
    return {title: v.title, readyState: v.readyState, error: v.error ? `${v.error.code} ${v.error.message}` : null,
            paused: v.paused, distinctTimes: seen[i].size, width: v.videoWidth, height: v.videoHeight,
            rect: [r.left + window.scrollX, r.top + window.scrollY, r.width, r.height]};
  });
})()
"""


@pytest.mark.skipif(CHROMIUM is None, reason="chromium not installed (apt-get install chromium; `make browser`)")
def test_report_videos_load_and_play_in_headless_chromium(report: tuple[Path, Any]) -> None:
    from PIL import Image

    path, _ = report
    browser = DevTools(CHROMIUM)  # type: ignore[arg-type]
    try:
        target = browser.call("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = browser.call("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        browser.call("Page.enable", session=session)
        browser.call("Emulation.setDeviceMetricsOverride",
                     {"width": 1300, "height": 1000, "deviceScaleFactor": 1, "mobile": False}, session=session)
        browser.call("Page.navigate", {"url": path.resolve().as_uri()}, session=session)
        browser.wait_event("Page.loadEventFired", timeout=60)
        # Chromium pauses muted autoplay videos outside the viewport (as for a reader who has not
        # scrolled there yet): make the viewport as tall as the page so every video is on screen.
        height = browser.evaluate("document.documentElement.scrollHeight", session)
        browser.call("Emulation.setDeviceMetricsOverride",
                     {"width": 1300, "height": height, "deviceScaleFactor": 1, "mobile": False}, session=session)
        videos = browser.evaluate(PLAYBACK_PROBE, session, timeout=60)
        shot = browser.call("Page.captureScreenshot", {"format": "png"}, session=session, timeout=60)
    finally:
        browser.close()

    assert len(videos) == 19
    for v in videos:
        assert v["error"] is None, v
        assert v["readyState"] >= 2, f"{v['title']}: not loaded (readyState {v['readyState']})"
        assert (v["width"], v["height"]) == (64, 48), v  # decoded: H.264 plays in this Chromium
        assert not v["paused"] and v["distinctTimes"] >= 5, f"{v['title']}: does not play ({v})"

    png = base64.b64decode(shot["data"])
    if os.environ.get("MOTIONBENCH_REPORT_SCREENSHOT"):
        Path(os.environ["MOTIONBENCH_REPORT_SCREENSHOT"]).write_bytes(png)
    image = np.asarray(Image.open(io.BytesIO(png)).convert("RGB")).astype(np.float64)
    assert image.shape[0] == height and image.std() > 10, "the screenshot is blank"
    # Inside each video's box the frame itself is drawn: the gradient and square, not a flat colour.
    for v in videos:
        x, y, w, h = (int(round(c)) for c in v["rect"])
        region = image[y + 2:y + h - 2, x + 2:x + w - 2]
        assert region.size and region.std() > 15, f"{v['title']}: its box in the screenshot is flat"


def test_cli_writes_the_html_report_beside_any_format(report: tuple[Path, Any]) -> None:
    import sys

    path, _ = report
    run = path.parent / "small"
    repo = Path(__file__).resolve().parents[1]
    out = path.parent / "cli_report.html"
    proc = subprocess.run([sys.executable, "-m", "motionbench", "report", str(run), "--by", "overall",
                           "--html", str(out), "--video-width", "128"],
                          cwd=repo, env={**os.environ, "PYTHONPATH": str(repo), "COLUMNS": "200"},
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert "overall (mean of categories)" in proc.stdout  # the terminal table is still printed
    assert re.search(rf"HTML report: {re.escape(str(out))} \(0\.\d\d MiB, 19 videos, 3 missing\)", proc.stderr)
    html_text = out.read_text(encoding="utf-8")
    assert html_text.count("<video ") == 19
    assert "<h3>camera</h3>" in html_text  # the HTML report keeps categories whatever --by says
    default = subprocess.run([sys.executable, "-m", "motionbench", "report", str(run), "--format", "html"],
                             cwd=repo, env={**os.environ, "PYTHONPATH": str(repo)}, capture_output=True, text=True,
                             timeout=300)
    assert default.returncode == 0 and (run / "report.html").exists(), default.stderr
