"""Point trackers for motion fidelity.

- ``lk``: OpenCV pyramidal Lucas-Kanade on luma and half-weighted chroma, frame to frame, on a grid
  seeded on frame 0, with a forward-backward check. Needs no weights. A point that fails the check
  (or leaves the frame) is marked invisible from then on and moves with its nearest tracked points.
- ``cotracker3``: CoTracker3 offline through ``torch.hub`` (``facebookresearch/co-tracker``,
  ``cotracker3_offline``), loaded from a local checkout (``source='local'``) and a checkpoint file;
  called exactly as the DMT evaluation does (``grid_size`` plus a box mask as ``segm_mask``).
- ``gt`` (handled by the scorer): ground-truth tracks of synthetic clips for the reference side.
- tracks from ``.npz`` files (see :mod:`motionbench.metrics.tracks`).

``auto`` picks ``cotracker3`` when its code and weights are on this machine, else ``lk``; the backend
id always names the tracker that actually ran, with its grid and checkpoint hash.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np

from motionbench import weights
from motionbench import limits
from motionbench.errors import ConfigError, WeightsError
from motionbench.metrics.tracks import Tracks

TRACKERS = ("auto", "cotracker3", "lk", "gt")
DEFAULT_GRID = 55  # 55 x 55 = 3025 tracks, as in the DMT evaluation


class Tracker(Protocol):
    backend: str

    def track(self, frames: np.ndarray, box: tuple[float, float, float, float] | None = None) -> Tracks:
        """Track a grid seeded on frame 0 of ``frames`` uint8 ``[T, H, W, 3]`` (only inside ``box``)."""


def grid_points(size: tuple[int, int], grid: int, box: tuple[float, float, float, float] | None = None) -> np.ndarray:
    """A ``grid x grid`` lattice over the frame (margin 1/64 of each side), kept inside ``box``.

    Returns ``[N, 2]`` (x, y) float32 pixels.

    Raises:
        ConfigError: ``grid`` < 2, or no grid point falls inside ``box``.
    """
    if grid < 2:
        raise ConfigError(f"tracking grid must be at least 2 (points per side), got {grid}")
    w, h = size
    xs = np.linspace(w / 64, w - 1 - w / 64, grid)
    ys = np.linspace(h / 64, h - 1 - h / 64, grid)
    pts = np.stack(np.meshgrid(xs, ys), axis=-1).reshape(-1, 2)
    if box is not None:
        x0, y0, x1, y1 = box
        keep = (pts[:, 0] >= x0) & (pts[:, 0] <= x1) & (pts[:, 1] >= y0) & (pts[:, 1] <= y1)
        if not keep.any():
            raise ConfigError(f"no point of the {grid}x{grid} grid lies inside the box {box} of a {w}x{h} video; "
                              "use a larger box or a denser --grid")
        pts = pts[keep]
    return pts.astype(np.float32)


def scale_box(box: tuple[float, float, float, float], src: tuple[int, int], dst: tuple[int, int]) -> tuple[float, float, float, float]:
    """Express a box given in pixels of a ``src`` (w, h) video in pixels of a ``dst`` video."""
    sx, sy = dst[0] / src[0], dst[1] / src[1]
    return (box[0] * sx, box[1] * sy, box[2] * sx, box[3] * sy)


@dataclass
class LKTracker:
    """Pyramidal Lucas-Kanade on a grid with a forward-backward check (no weights).

    Each step, every tracked point is moved by pyramidal LK and checked by tracking it back: a
    point whose backward track misses its start by ``fb_threshold`` pixels or more fails. Pyramidal
    LK misses small objects that move far in one frame (at coarse levels the window is mostly
    background), so a failed point gets a second chance: a normalised cross-correlation search for
    its ``2 * patch + 1`` patch within ``search`` pixels, refined by single-level LK and checked
    again. Besides the forward-backward check, a step is accepted only if the point's patch still
    correlates (NCC >= ``min_ncc``) with where it was: LK can agree with itself both ways while
    locked onto the background that a fast object uncovered. A point that still fails is lost for good: it is marked invisible and
    from then on moves with the median step of its ``neighbours`` nearest tracked points (as a
    tracker that keeps estimating occluded points does), so a pan that carries points out of the
    frame still reads as a pan.

    LK runs on three channels, luma and the two chroma differences (YCrCb), and OpenCV sums its
    structure tensor over them. A grey image alone loses colours of equal luma: the toy world's green
    (35, 170, 60) on gray (117, 117, 117) is one flat grey level, and a grey-level tracker sees no
    object there at all. The chroma channels count ``chroma`` (half) as much as luma, as video codecs
    keep them: at half the resolution and more coarsely quantised (on x264 copies of the synthetic
    clips, full-weight RGB tracked worse than grey; luma with half-weight chroma as well as grey).
    """

    grid: int = DEFAULT_GRID
    fb_threshold: float = 1.0  # pixels
    window: int = 21
    levels: int = 3
    search: int = 32  # pixels searched around a point that pyramidal LK lost; 0 disables the search
    patch: int = 7
    neighbours: int = 8
    min_ncc: float = 0.7  # normalised cross-correlation of the point's patch before and after a step
    chroma: float = 0.5  # weight of the two chroma channels against luma in the images LK tracks on

    @property
    def backend(self) -> str:
        import cv2

        return (f"lk:opencv-{cv2.__version__}:grid={self.grid}:win={self.window}:levels={self.levels}"
                f":fb={self.fb_threshold:g}:ncc={self.min_ncc:g}:search={self.search}:chroma={self.chroma:g}")

    def track(self, frames: np.ndarray, box: tuple[float, float, float, float] | None = None) -> Tracks:
        h, w = frames.shape[1:3]
        return self.track_points(frames, grid_points((w, h), self.grid, box))

    def track_points(self, frames: np.ndarray, points: np.ndarray) -> Tracks:
        """Track given frame-0 ``points [N, 2]`` (x, y) pixels through ``frames`` uint8 ``[T, H, W, 3]``."""
        t, h, w = frames.shape[:3]
        if t < 2:
            raise ConfigError(f"tracking needs at least 2 frames, got {t}")
        images = [_lk_image(f, self.chroma) for f in frames]
        pts = np.asarray(points, np.float32).reshape(-1, 2)
        n = len(pts)
        tracks = np.empty((n, t, 2), np.float32)
        vis = np.zeros((n, t), bool)
        tracks[:, 0] = pts
        vis[:, 0] = True
        alive = np.ones(n, bool)
        for i in range(1, t):
            tracks[:, i] = tracks[:, i - 1]
            idx = np.flatnonzero(alive)
            if idx.size:
                p1, ok = self._step(images[i - 1], images[i], tracks[idx, i - 1])
                tracks[idx[ok], i] = p1[ok]
                vis[idx[ok], i] = True
                alive[idx[~ok]] = False
            self._carry_lost(tracks, vis[:, i], i)
        return Tracks(tracks, vis, (w, h))

    def _lk(self, a: np.ndarray, b: np.ndarray, p0: np.ndarray, guess: np.ndarray | None, levels: int):
        """LK from ``a`` to ``b`` and back; returns (p1, ok) with the forward-backward check."""
        import cv2

        params = dict(winSize=(self.window, self.window), maxLevel=levels,
                      criteria=(cv2.TERM_CRITERIA_EPS | cv2.TERM_CRITERIA_COUNT, 30, 0.01))
        q0 = p0.reshape(-1, 1, 2).astype(np.float32)
        if guess is None:
            q1, st1, _ = cv2.calcOpticalFlowPyrLK(a, b, q0, None, **params)
        else:
            q1, st1, _ = cv2.calcOpticalFlowPyrLK(a, b, q0, guess.reshape(-1, 1, 2).astype(np.float32).copy(),
                                                  flags=cv2.OPTFLOW_USE_INITIAL_FLOW, **params)
        back, st2, _ = cv2.calcOpticalFlowPyrLK(b, a, q1, q0.copy(), flags=cv2.OPTFLOW_USE_INITIAL_FLOW, **params)
        q1 = q1.reshape(-1, 2)
        h, w = a.shape[:2]
        fb = np.linalg.norm(back.reshape(-1, 2) - p0, axis=1)
        inside = (q1[:, 0] >= 0) & (q1[:, 0] <= w - 1) & (q1[:, 1] >= 0) & (q1[:, 1] <= h - 1)
        ok = (st1.ravel() == 1) & (st2.ravel() == 1) & (fb < self.fb_threshold) & inside
        # LK can agree with itself both ways while locked onto the background a fast object left:
        # the patch must also still look the same.
        for k in np.flatnonzero(ok):
            ok[k] = _patch_ncc(a, b, p0[k], q1[k], self.patch) >= self.min_ncc
        return q1, ok

    def _step(self, a: np.ndarray, b: np.ndarray, p0: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        p1, ok = self._lk(a, b, p0, None, self.levels)
        failed = np.flatnonzero(~ok)
        if self.search > 0 and failed.size:
            guesses, found = self._search(a, b, p0[failed])
            if found.any():
                sel = failed[found]
                q1, q_ok = self._lk(a, b, p0[sel], guesses[found], 0)
                p1[sel[q_ok]] = q1[q_ok]
                ok[sel[q_ok]] = True
        return p1, ok

    def _search(self, a: np.ndarray, b: np.ndarray, p0: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Best normalised-cross-correlation match of each point's patch within ``search`` pixels."""
        import cv2

        h, w = a.shape[:2]
        r, s = self.patch, self.search
        guesses = np.zeros_like(p0)
        found = np.zeros(len(p0), bool)
        for k, (x, y) in enumerate(p0):
            xi, yi = int(round(float(x))), int(round(float(y)))
            if xi - r < 0 or yi - r < 0 or xi + r >= w or yi + r >= h:
                continue
            tmpl = a[yi - r:yi + r + 1, xi - r:xi + r + 1]
            x0, y0 = max(0, xi - s - r), max(0, yi - s - r)
            x1, y1 = min(w, xi + s + r + 1), min(h, yi + s + r + 1)
            region = b[y0:y1, x0:x1]
            flat = tmpl.reshape(-1, tmpl.shape[2] if tmpl.ndim == 3 else 1).std(axis=0).max() < 1e-6  # per channel
            if region.shape[0] <= 2 * r or region.shape[1] <= 2 * r or flat:
                continue
            score = cv2.matchTemplate(region, tmpl, cv2.TM_CCOEFF_NORMED)
            _, best, _, (mx, my) = cv2.minMaxLoc(score)
            if best > 0.5:
                guesses[k] = (x0 + mx + r + (x - xi), y0 + my + r + (y - yi))
                found[k] = True
        return guesses, found

    def _carry_lost(self, tracks: np.ndarray, visible: np.ndarray, i: int) -> None:
        """Move points not visible at step ``i`` with the median step of their nearest visible points."""
        lost = np.flatnonzero(~visible)
        seen = np.flatnonzero(visible)
        if lost.size == 0 or seen.size == 0:
            return
        step = tracks[seen, i] - tracks[seen, i - 1]
        d = np.linalg.norm(tracks[lost, i - 1][:, None] - tracks[seen, i - 1][None], axis=-1)
        k = min(self.neighbours, seen.size)
        near = np.argpartition(d, k - 1, axis=1)[:, :k]
        tracks[lost, i] = tracks[lost, i - 1] + np.median(step[near], axis=1)


def _lk_image(frame: np.ndarray, chroma: float) -> np.ndarray:
    """uint8 ``[H, W, 3]``: luma, and the chroma channels scaled by ``chroma`` about their neutral 128."""
    import cv2

    ycc = cv2.cvtColor(np.ascontiguousarray(frame), cv2.COLOR_RGB2YCrCb).astype(np.float32)
    ycc[..., 1:] = 128.0 + chroma * (ycc[..., 1:] - 128.0)
    return np.clip(np.rint(ycc), 0, 255).astype(np.uint8)


def _patch_ncc(a: np.ndarray, b: np.ndarray, pa: np.ndarray, pb: np.ndarray, r: int) -> float:
    """Normalised cross-correlation of the (2r+1)^2 patches of ``a`` at ``pa`` and ``b`` at ``pb`` (sub-pixel).

    Only the patch pixels that lie inside the frame in both patches count: near an edge,
    ``getRectSubPix`` fills the rest by repeating the border, which is not the scene.
    """
    import cv2

    size = (2 * r + 1, 2 * r + 1)
    h, w = a.shape[:2]
    offsets = np.arange(-r, r + 1, dtype=np.float64)

    def inside(p: np.ndarray) -> np.ndarray:
        xs, ys = float(p[0]) + offsets, float(p[1]) + offsets
        return ((ys >= 0) & (ys <= h - 1))[:, None] & ((xs >= 0) & (xs <= w - 1))[None, :]

    keep = inside(pa) & inside(pb)
    x = cv2.getRectSubPix(a, size, (float(pa[0]), float(pa[1]))).astype(np.float32)[keep]  # [K] or [K, C]
    y = cv2.getRectSubPix(b, size, (float(pb[0]), float(pb[1]))).astype(np.float32)[keep]
    if x.size == 0:
        return 1.0  # nothing of either patch in view: nothing to compare
    # each channel about its own mean: a flat colour is flat, whatever its channels' levels
    x = (x - x.mean(axis=0)).ravel()
    y = (y - y.mean(axis=0)).ravel()
    denom = float(np.sqrt((x @ x) * (y @ y)))
    return float(x @ y) / denom if denom > 1e-6 else 1.0  # flat patches: nothing to compare


class CoTracker3Tracker:
    """CoTracker3 offline from a local co-tracker checkout and a checkpoint file.

    Args:
        repo: a local checkout of github.com/facebookresearch/co-tracker (has ``hubconf.py``).
        checkpoint: the ``scaled_offline.pth`` file; ``None`` builds random weights, which only
            tests use (the backend id then says ``random-init``).
        grid: points per side of the query grid.
        device: torch device string.
    """

    def __init__(self, repo: Path, checkpoint: Path | None, *, grid: int = DEFAULT_GRID, device: str = "cpu",
                 checkpoint_sha256: str | None = None) -> None:
        self.repo = Path(repo)
        self.checkpoint = Path(checkpoint) if checkpoint is not None else None
        self.grid = grid
        self.device = device
        if self.checkpoint is None:
            self._weights = "random-init"
        else:
            self._weights = f"sha256={(checkpoint_sha256 or weights.file_sha256(self.checkpoint))[:12]}"
        self._model = None

    @property
    def backend(self) -> str:
        return f"cotracker3_offline:{self._weights}:grid={self.grid}"

    def _load(self):
        if self._model is None:
            import torch

            try:
                model = torch.hub.load(str(self.repo), "cotracker3_offline", source="local", pretrained=False)
            except Exception as exc:  # hubconf import errors come in many types
                raise WeightsError(f"could not build cotracker3_offline from the checkout {self.repo} "
                                   f"({type(exc).__name__}: {exc}); is it a clone of github.com/facebookresearch/co-tracker?") from None
            if self.checkpoint is not None:
                state = torch.load(self.checkpoint, map_location="cpu", weights_only=True)
                if isinstance(state, dict) and "model" in state and isinstance(state["model"], dict):
                    state = state["model"]
                try:
                    model.model.load_state_dict(state)
                except RuntimeError as exc:
                    raise WeightsError(f"{self.checkpoint}: does not fit cotracker3_offline ({str(exc)[:200]}); "
                                       "is it scaled_offline.pth?") from None
            self._model = model.to(self.device).eval()
        return self._model

    def track(self, frames: np.ndarray, box: tuple[float, float, float, float] | None = None) -> Tracks:
        import torch

        model = self._load()
        t, h, w = frames.shape[:3]
        video = torch.from_numpy(np.ascontiguousarray(frames)).permute(0, 3, 1, 2)[None].float().to(self.device)
        mask = None
        if box is not None:
            # The DMT evaluation passes a rectangular mask; CoTracker keeps grid points inside it.
            mask = torch.zeros(1, 1, h, w, device=self.device)
            x0, y0, x1, y1 = (int(round(v)) for v in box)
            mask[..., max(0, y0):min(h, y1 + 1), max(0, x0):min(w, x1 + 1)] = 1
        with torch.no_grad():
            tracks, vis = model(video, grid_size=self.grid, segm_mask=mask)
        tr = tracks[0].permute(1, 0, 2).cpu().numpy().astype(np.float64)  # [N, T, 2]
        vis = vis[0]
        if vis.ndim == 3:  # some co-tracker versions return [B, T, N, 1]
            vis = vis[..., 0]
        vi = vis.permute(1, 0).cpu().numpy().astype(bool)
        if tr.shape[0] == 0:
            raise ConfigError(f"no CoTracker grid point lies inside the box {box}; use a larger box")
        return Tracks(tr, vi, (w, h))


@dataclass(frozen=True)
class TrackerChoice:
    """The tracker that will run, or why the requested one cannot."""

    requested: str
    tracker: Tracker | None
    unavailable: str | None = None  # reason with the fixing command, when tracker is None


def build_tracker(name: str = "auto", *, grid: int | None = None, device: str = "cpu",
                  repo: str | Path | None = None, checkpoint: str | Path | None = None) -> TrackerChoice:
    """Resolve a tracker name (``auto``, ``cotracker3``, ``lk``, ``gt``) without the network.

    ``gt`` returns the LK tracker, which runs on the generated side (ground truth exists only for
    the reference of synthetic clips).

    Raises:
        ConfigError: unknown tracker name or bad grid.
    """
    if name not in TRACKERS:
        raise ConfigError(f"unknown tracker {name!r}; choose one of {', '.join(TRACKERS)}")
    if grid is not None and (problem := limits.int_range_problem(grid, limits.MIN_GRID, limits.MAX_GRID)):
        raise ConfigError(f"--grid (points per side of the tracking grid) {problem}")
    g = grid or DEFAULT_GRID
    if name in ("lk", "gt"):
        return TrackerChoice(name, LKTracker(grid=g))
    try:
        repo_loc = weights.locate_cotracker_repo(repo)
        ckpt = weights.locate_cotracker_checkpoint(checkpoint)
    except weights.WeightsMissing as exc:
        if name == "auto":
            return TrackerChoice(name, LKTracker(grid=g))
        return TrackerChoice(name, None, str(exc))
    return TrackerChoice(name, CoTracker3Tracker(repo_loc.path, ckpt.path, grid=g, device=device))
