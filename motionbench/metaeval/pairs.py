"""Labelled candidate videos against each reference, every one with its true tracks.

Against a reference (look 0), metaeval scores candidates a metric must rank:

- **positives** (``same_motion``): the same motion re-rendered in another look (looks 1 and 2): what a
  perfect motion transfer produces. Their true tracks equal the reference's bit for bit.
- **negatives**, each built twice (from looks 1 and 2, so they differ from the reference in look
  exactly as the positives do), of these kinds (:data:`NEGATIVE_KINDS`):

  - ``different_motion``: another reference of the same category (another path, pattern or action);
  - ``time_reversed``: the positive played backwards (tracks reversed in time);
  - ``frame_shuffled``: the positive's frames in a seeded random order, frame 0 moved;
  - ``static``: the positive's first frame repeated (tracks held at their frame-0 positions);
  - ``flicker``: the moving objects (for camera clips, patches of the scene) cut from the positive's
    first frame appear, fade and vanish at random places over a still background plate; nothing
    moves, so every true track is held at its frame-0 position (hidden where a blob covers it);
  - ``frozen_appearance``: the first frame, motionless, while its look cross-fades through other
    renders (looks 3-5) of the same pose; true tracks held at frame 0.

- **graded perturbations** of the look-1 positive (:data:`PERTURBATIONS`), at grades 0 (the positive
  itself), 0.25, 0.5, 0.75 and 1; a metric's score should fall as the grade rises:

  - ``time_warp``: the motion replayed on a warped clock ``tau(u) = u + g * 0.9 * sin(2 pi u) / (2 pi)``
    (``u`` = normalised time; monotone, ends fixed), from a render at 4x the frame rate so frames and
    tracks are exact (times are rounded to a quarter frame);
  - ``partial_motion``: the motion runs for the first ``1 - g`` of the clip, then freezes;
  - ``trajectory_noise``: the synthetic API cannot perturb motion directly, so each frame after the
    first is warped by a known smooth displacement field ``D_t`` (a random global shift plus a
    smooth random field, each component of standard deviation ``g * 2.0`` px, independent per frame);
    the output at ``x`` samples the input at ``x - D_t(x)``, so a point at ``p`` moves to the
    ``q`` with ``q - D_t(q) = p`` (solved by fixed-point iteration), which is its true track.

Labels are checked against the truth: :func:`motion_change` measures how far a candidate's true
displacement field is from the reference's, and a "negative" that is nearly the same motion (the
time reversal of a motion that is symmetric in time, such as a squat: down and up) is not a
negative; metaeval drops it and lists it (``MetaevalResult.dropped``).

Everything is seeded: the same seed gives the same videos, bit for bit.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass, replace
from typing import Iterator

import numpy as np

from motionbench.metaeval.references import SyntheticReference, Video
from motionbench.metrics.motion_matched import match_by_position

POSITIVE = "same_motion"
NEGATIVE_KINDS: tuple[str, ...] = ("different_motion", "time_reversed", "frame_shuffled", "static", "flicker",
                                   "frozen_appearance")
PERTURBATIONS: tuple[str, ...] = ("time_warp", "partial_motion", "trajectory_noise")
GRADES: tuple[float, ...] = (0.0, 0.25, 0.5, 0.75, 1.0)

#: One sentence per kind, for tables and the metric card.
DESCRIPTIONS: dict[str, str] = {
    POSITIVE: "the same motion re-rendered in another look (true tracks identical)",
    "different_motion": "another clip of the same category (another path, pattern or action)",
    "time_reversed": "the positive played backwards",
    "frame_shuffled": "the positive's frames in a seeded random order",
    "static": "the positive's first frame repeated",
    "flicker": "objects cut from the first frame appear and vanish at random places over a still plate",
    "frozen_appearance": "the first frame held still while its look cross-fades through other looks",
    "time_warp": "the motion on a warped clock, tau(u) = u + g*0.9*sin(2 pi u)/(2 pi)",
    "partial_motion": "the motion runs for the first 1-g of the clip, then freezes",
    "trajectory_noise": "frames warped by known smooth random displacement fields of std g*2 px",
}

#: A negative whose true motion differs from the reference's by less than this (see
#: :func:`motion_change`) is the same motion in all but name, and is dropped.
MIN_MOTION_CHANGE = 0.5

POSITIVE_LOOKS = (1, 2)
FROZEN_LOOKS = (3, 4, 5)
OVERSAMPLE = 4
WARP_AMPLITUDE = 0.9
NOISE_STD_PX = 2.0
FLICKER_LIFE = 3  # frames a flickering blob stays before it vanishes and reappears elsewhere


@dataclass(frozen=True)
class Candidate:
    """A video to score against the reference ``reference_id``.

    Attributes:
        reference_id: the reference it is compared with.
        kind: ``same_motion``, a negative kind or a perturbation name.
        label: ``positive``, ``negative`` or ``graded``.
        grade: the perturbation grade (graded candidates only).
        index: which copy of its kind (0 or 1; the grade's index for graded ones).
        video: frames and true tracks.
    """

    reference_id: str
    kind: str
    label: str
    grade: float | None
    index: int
    video: Video

    @property
    def key(self) -> str:
        g = f"@{self.grade:g}" if self.grade is not None else ""
        return f"{self.reference_id}/{self.kind}{g}#{self.index}"


def _rng(seed: int, *parts: object) -> np.random.Generator:
    """A generator seeded by ``seed`` and names, so each video's randomness is independent of order."""
    salt = zlib.crc32("/".join(str(p) for p in parts).encode())
    return np.random.default_rng([seed, salt])


def motion_change(candidate: Video, reference: Video) -> float:
    """How far the candidate's true motion is from the reference's (0 = the same motion).

    Each reference point is paired with the candidate point that starts nearest it (normalised
    coordinates), and the result is ``sum |d_cand - d_ref|^2 / sum |d_ref|^2`` over per-step
    displacements of every pair: 1 for a still candidate, about 2 for an unrelated motion of the same
    energy, 4 for the exact opposite motion.
    """
    cand = candidate.tracks[match_by_position(candidate.tracks[:, 0], reference.tracks[:, 0], reference.size)]
    dc, dr = np.diff(cand, axis=1), np.diff(reference.tracks, axis=1)
    energy = float((dr ** 2).sum())
    return float(((dc - dr) ** 2).sum() / energy) if energy > 0 else float("inf")


# -- negatives built from a positive -----------------------------------------------------------------

def time_reversed(v: Video) -> Video:
    return Video(v.frames[::-1].copy(), v.tracks[:, ::-1].copy(), v.visibility[:, ::-1].copy(), v.fps)


def frame_shuffled(v: Video, rng: np.random.Generator) -> Video:
    """Frames in a random order that moves frame 0 and keeps at most a quarter of frames in place."""
    t = v.num_frames
    for _ in range(1000):
        perm = rng.permutation(t)
        if perm[0] != 0 and (perm == np.arange(t)).sum() <= t // 4:
            break
    return Video(v.frames[perm].copy(), v.tracks[:, perm].copy(), v.visibility[:, perm].copy(), v.fps)


def held(v: Video, frames: np.ndarray) -> Video:
    """``frames`` with ``v``'s points held at their frame-0 positions (nothing moves)."""
    t = len(frames)
    tracks = np.repeat(v.tracks[:, :1], t, axis=1)
    vis = np.repeat(v.visibility[:, :1], t, axis=1)
    return Video(frames, tracks, vis, v.fps)


def static(v: Video) -> Video:
    return held(v, np.repeat(v.frames[:1], v.num_frames, axis=0))


def _blobs(v: Video, rng: np.random.Generator) -> list[tuple[np.ndarray, np.ndarray]]:
    """(patch ``[h, w, 3]``, alpha mask ``[h, w]``) of each moving object on frame 0, else scene patches."""
    import cv2

    frame = v.frames[0]
    out = []
    if v.foreground is not None and v.foreground[0].any():
        n, lab = cv2.connectedComponents(v.foreground[0].astype(np.uint8))
        for k in range(1, n):
            ys, xs = np.nonzero(lab == k)
            if len(ys) < 9:
                continue
            y0, y1, x0, x1 = ys.min(), ys.max() + 1, xs.min(), xs.max() + 1
            out.append((frame[y0:y1, x0:x1].copy(), (lab[y0:y1, x0:x1] == k).astype(np.float64)))
    if not out:  # camera clips: every pixel is scene, so flicker square patches of it
        w, h = v.size
        side = max(4, min(w, h) // 4)
        for _ in range(2):
            x0, y0 = int(rng.integers(0, w - side + 1)), int(rng.integers(0, h - side + 1))
            out.append((frame[y0:y0 + side, x0:x0 + side].copy(), np.ones((side, side))))
    return out


def flicker(v: Video, rng: np.random.Generator) -> Video:
    """Objects of frame 0 appearing, fading and vanishing at random places over a still plate."""
    t = v.num_frames
    w, h = v.size
    plate = v.frames[0].astype(np.float64)
    if v.foreground is not None and v.foreground[0].any():
        # The background is static in object clips: where an object covers it on frame 0, its
        # median over time shows what lies underneath.
        med = np.median(v.frames, axis=0)
        plate = np.where(v.foreground[0][..., None], med, plate)
    frames = np.repeat(plate[None], t, axis=0)
    cover = np.zeros((t, h, w), bool)
    fade = np.array([0.5, 1.0, 0.5])  # alpha over a blob's life: fade in, full, fade out
    for patch, mask in _blobs(v, rng):
        ph, pw = mask.shape
        phase = int(rng.integers(0, FLICKER_LIFE))
        for start in range(-phase, t, FLICKER_LIFE):
            x0, y0 = int(rng.integers(0, max(1, w - pw + 1))), int(rng.integers(0, max(1, h - ph + 1)))
            for j in range(FLICKER_LIFE):
                f = start + j
                if not 0 <= f < t:
                    continue
                a = fade[j] * mask[: h - y0, : w - x0]
                region = frames[f, y0:y0 + a.shape[0], x0:x0 + a.shape[1]]
                region[:] = region * (1 - a[..., None]) + patch[: a.shape[0], : a.shape[1]] * a[..., None]
                cover[f, y0:y0 + a.shape[0], x0:x0 + a.shape[1]] |= a >= 0.5
    out = held(v, np.clip(np.rint(frames), 0, 255).astype(np.uint8))
    # A held point is hidden wherever a blob covers it.
    xi = np.clip(np.rint(out.tracks[:, 0, 0]).astype(int), 0, w - 1)
    yi = np.clip(np.rint(out.tracks[:, 0, 1]).astype(int), 0, h - 1)
    vis = out.visibility & ~cover[:, yi, xi].T
    return Video(out.frames, out.tracks, vis, v.fps)


def frozen_appearance(v: Video, looks: list[Video]) -> Video:
    """Frame 0 of ``v`` and of ``looks`` (same pose, other looks), cross-faded in turn, motionless."""
    stills = [v.frames[0].astype(np.float64)] + [lk.frames[0].astype(np.float64) for lk in looks]
    t = v.num_frames
    pos = np.linspace(0.0, len(stills) - 1, t)
    lo = np.minimum(np.floor(pos).astype(int), len(stills) - 2)
    wgt = (pos - lo)[:, None, None, None]
    frames = np.stack([stills[i] for i in lo]) * (1 - wgt) + np.stack([stills[i + 1] for i in lo]) * wgt
    return held(v, np.clip(np.rint(frames), 0, 255).astype(np.uint8))


# -- graded perturbations ----------------------------------------------------------------------------

def warp_times(num_frames: int, grade: float) -> np.ndarray:
    """Warped times, in frames, of a clip's frames: ``(T-1) * tau(i / (T-1))`` (monotone, ends kept)."""
    u = np.linspace(0.0, 1.0, num_frames)
    return (num_frames - 1) * (u + grade * WARP_AMPLITUDE * np.sin(2 * np.pi * u) / (2 * np.pi))


def partial_times(num_frames: int, grade: float) -> np.ndarray:
    """Times, in frames, of a clip whose motion stops after the first ``1 - grade`` of it."""
    return np.minimum(np.arange(num_frames, dtype=np.float64), (1.0 - grade) * (num_frames - 1))


def retimed(dense: Video, times: np.ndarray, oversample: int, fps: float) -> Video:
    """Frames of an ``oversample``-times denser render at ``times`` (in original frames), rounded."""
    idx = np.clip(np.rint(np.asarray(times) * oversample).astype(int), 0, dense.num_frames - 1)
    return Video(dense.frames[idx].copy(), dense.tracks[:, idx].copy(), dense.visibility[:, idx].copy(), fps)


def _smooth_field(rng: np.random.Generator, size: tuple[int, int], std: float) -> np.ndarray:
    """``[H, W, 2]``: a global shift plus a bicubically upsampled 4x4 random field, std ``std`` each."""
    import cv2

    w, h = size
    coarse = rng.normal(0.0, std / np.sqrt(2), (4, 4, 2)).astype(np.float32)
    local = cv2.resize(coarse, (w, h), interpolation=cv2.INTER_CUBIC).astype(np.float64)
    shift = rng.normal(0.0, std / np.sqrt(2), 2)
    return local + shift


def _sample(field: np.ndarray, pts: np.ndarray) -> np.ndarray:
    """Bilinear sample of ``field [H, W, 2]`` at points ``[N, 2]`` (x, y), clamped to the frame."""
    h, w = field.shape[:2]
    x = np.clip(pts[:, 0], 0, w - 1)
    y = np.clip(pts[:, 1], 0, h - 1)
    x0, y0 = np.minimum(np.floor(x).astype(int), w - 2), np.minimum(np.floor(y).astype(int), h - 2)
    fx, fy = (x - x0)[:, None], (y - y0)[:, None]
    return (field[y0, x0] * (1 - fx) * (1 - fy) + field[y0, x0 + 1] * fx * (1 - fy)
            + field[y0 + 1, x0] * (1 - fx) * fy + field[y0 + 1, x0 + 1] * fx * fy)


def trajectory_noise(v: Video, grade: float, rng: np.random.Generator) -> Video:
    """Each frame after the first warped by a known smooth random field; tracks moved to match."""
    import cv2

    w, h = v.size
    frames = v.frames.copy()
    tracks = v.tracks.copy()
    if grade <= 0:
        return Video(frames, tracks, v.visibility.copy(), v.fps)
    xs, ys = np.meshgrid(np.arange(w, dtype=np.float64), np.arange(h, dtype=np.float64))
    for t in range(1, v.num_frames):
        d = _smooth_field(rng, (w, h), grade * NOISE_STD_PX)
        map_x = (xs - d[..., 0]).astype(np.float32)
        map_y = (ys - d[..., 1]).astype(np.float32)
        frames[t] = cv2.remap(v.frames[t], map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT101)
        p = v.tracks[:, t]
        q = p.copy()
        for _ in range(8):  # q = p + D(q): a contraction for fields this smooth and small
            q = p + _sample(d, q)
        tracks[:, t] = q
    return Video(frames, tracks, v.visibility.copy(), v.fps)


# -- all candidates of one reference -----------------------------------------------------------------

def build_candidates(ref: SyntheticReference, others: list[SyntheticReference], seed: int) -> Iterator[Candidate]:
    """Every candidate against ``ref``: positives, two of each negative kind, graded perturbations.

    Args:
        ref: the reference.
        others: other references of the same category (the ``different_motion`` negatives; the
            first two are used, rendered in looks 1 and 2).
        seed: the seed of every random choice (shuffles, blob places, noise fields).
    """
    positives = [ref.render(look) for look in POSITIVE_LOOKS]
    looks = [ref.render(look) for look in FROZEN_LOOKS]
    for i, pos in enumerate(positives):
        yield Candidate(ref.id, POSITIVE, "positive", None, i, pos)
    for i, pos in enumerate(positives):
        other = others[i % len(others)]
        yield Candidate(ref.id, "different_motion", "negative", None, i, _rewindow(other, ref).render(POSITIVE_LOOKS[i]))
        yield Candidate(ref.id, "time_reversed", "negative", None, i, time_reversed(pos))
        yield Candidate(ref.id, "frame_shuffled", "negative", None, i, frame_shuffled(pos, _rng(seed, ref.id, "shuffle", i)))
        yield Candidate(ref.id, "static", "negative", None, i, static(pos))
        yield Candidate(ref.id, "flicker", "negative", None, i, flicker(pos, _rng(seed, ref.id, "flicker", i)))
        order = looks if i == 0 else looks[::-1]
        yield Candidate(ref.id, "frozen_appearance", "negative", None, i, frozen_appearance(pos, order))
    dense = ref.render(POSITIVE_LOOKS[0], oversample=OVERSAMPLE)
    t = ref.num_frames
    for gi, g in enumerate(GRADES):
        yield Candidate(ref.id, "time_warp", "graded", g, gi, retimed(dense, warp_times(t, g), OVERSAMPLE, ref.fps))
        yield Candidate(ref.id, "partial_motion", "graded", g, gi,
                        retimed(dense, partial_times(t, g), OVERSAMPLE, ref.fps))
        yield Candidate(ref.id, "trajectory_noise", "graded", g, gi,
                        trajectory_noise(positives[0], g, _rng(seed, ref.id, "noise", gi)))


def _rewindow(other: SyntheticReference, ref: SyntheticReference) -> SyntheticReference:
    """``other``'s motion rendered on ``ref``'s frame count, size and fps, so only the motion differs."""
    return replace(other, num_frames=ref.num_frames, size=ref.size, fps=ref.fps)
