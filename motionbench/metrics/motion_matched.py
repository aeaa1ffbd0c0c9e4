"""Motion fidelity, variant ``matched``: position-matched displacement agreement.

Designed from what ``motionbench metaeval`` measures on clips with known motion. The DMT form
(``dmt``) compares only the *direction* of each step and credits a generated track with the best
reference track *anywhere* in the frame, so time-reversed or frame-shuffled motion, and blobs that
flicker in the right places, keep much of the score, while a perfect copy loses part of it to the
identity subtraction. ``matched`` compares each reference point with the generated point that starts
at the same place, step by step, direction *and* magnitude.

Definition. Both track sets are first aligned (same length and pixel frame, see
:func:`motionbench.metrics.tracks.align_tracks`). Then:

1. **Reliable reference steps.** Step ``t`` of reference track ``m`` (``t -> t+1``) counts only when
   the reference point is visible at both ends. Trackers mark a point that fails their
   forward-backward check (LK) or leaves view as invisible, so unreliable reference motion is
   dropped. The generated side is never excused: a generated point the tracker lost is compared at
   the positions the tracker reports for it (held, or carried along with its neighbours, depending
   on the tracker), whatever its visibility flag says.
2. **Matching by position.** Each reference track ``m`` is paired with the generated track ``n(m)``
   whose frame-0 position is nearest to its own, in coordinates normalised by the frame size
   (``x / W``, ``y / H``). Trackers seed both videos on the same grid, so this pairs the same grid
   point of both videos; it never pairs a track with a far-away one that happens to move alike.
3. **Moving tracks only.** A pair counts only when its point travels at least :data:`MIN_PATH_PX`
   pixels (path length over its reliable steps) in the reference *or* in the generated video;
   pairs that stay within tracker noise in both (static background, LK jitter of a few hundredths
   of a pixel) say nothing about motion and are dropped. A generated point that moves where the
   reference is still is kept (and scores 0), so motion that appears from nowhere (flicker) costs.
4. **Displacement agreement, per track.** With the matched pair's per-step displacements ``g_t``
   (generated) and ``r_t`` (reference), in reference pixels, over the reliable steps::

       agreement = 2 * sum_t <g_t, r_t> / sum_t (|g_t|^2 + |r_t|^2)

   which is in ``[-1, 1]``: ``1`` exactly when every displacement is equal, ``0`` when one side does
   not move, ``-1`` for the opposite motion. Per step it is ``cos(angle) * 2ab / (a^2 + b^2)``
   (``a``, ``b`` the lengths), so direction *and* speed count: a step at half or double the speed
   keeps 0.8 of its credit. Within a track, steps weigh by their motion energy, so a frame pair
   where neither point moves neither helps nor hurts.
5. **Score** = the mean agreement over the kept pairs, in ``[-1, 1]``. Each moving point counts
   once, so a few points that a tracker drags far (say, along an occluding edge) cannot outweigh
   the rest. When no pair is kept (neither video moves beyond noise), the two agree: the score is
   ``1``. With no reliable reference step at all it is NaN (the caller reports an error).

Appearance enters only through the tracker: renders of the same motion in another look have the same
tracks and score exactly 1 with ground-truth tracks.
"""

from __future__ import annotations

import numpy as np

#: A track that travels less than this (pixels, summed over its reliable steps) in both videos is
#: taken as static: tracker noise, not motion.
MIN_PATH_PX = 1.0


def match_by_position(generated_start: np.ndarray, reference_start: np.ndarray,
                      size: tuple[int, int]) -> np.ndarray:
    """For each reference start ``[M, 2]``, the index of the nearest generated start ``[N, 2]``.

    Distances are taken in coordinates normalised by ``size`` = (width, height) of the frame both
    are expressed in; ties go to the lower index.
    """
    scale = np.asarray(size, dtype=np.float64)
    g = np.asarray(generated_start, np.float64) / scale
    r = np.asarray(reference_start, np.float64) / scale
    out = np.empty(len(r), dtype=np.int64)
    g2 = (g ** 2).sum(-1)
    chunk = 1024  # bounds the [chunk, N] distance block for dense grids
    for i in range(0, len(r), chunk):
        # |r - g|^2 = |r|^2 + |g|^2 - 2 r.g; |r|^2 is constant per row, so it does not change the argmin
        out[i:i + chunk] = (g2[None, :] - 2.0 * r[i:i + chunk] @ g.T).argmin(axis=1)
    return out


def motion_fidelity_matched(generated: np.ndarray, reference: np.ndarray, reference_visibility: np.ndarray,
                            size: tuple[int, int]) -> float:
    """The ``matched`` score for aligned pixel tracks (see the module docstring).

    Args:
        generated: ``[N, T, 2]`` generated tracks, in the reference's pixels.
        reference: ``[M, T, 2]`` reference tracks.
        reference_visibility: bool ``[M, T]``.
        size: (width, height) of the reference frame (for position matching).

    Returns:
        A float in ``[-1, 1]``; NaN when no reference step is reliable.

    Example:
        >>> import numpy as np
        >>> ref = np.array([[[0, 0], [2, 0], [4, 0]]], float)
        >>> vis = np.ones((1, 3), bool)
        >>> motion_fidelity_matched(ref, ref, vis, (8, 8)), motion_fidelity_matched(ref[:, ::-1], ref, vis, (8, 8))
        (1.0, -1.0)
    """
    g_all = np.asarray(generated, np.float64)
    r = np.asarray(reference, np.float64)
    vis = np.asarray(reference_visibility, bool)
    if g_all.shape[1] != r.shape[1]:
        raise ValueError(f"track lengths differ ({g_all.shape[1]} vs {r.shape[1]} frames); align them first")
    steps = vis[:, :-1] & vis[:, 1:]  # [M, T-1] reliable reference steps
    count = int(steps.sum())
    if count == 0:
        return float("nan")
    g = g_all[match_by_position(g_all[:, 0], r[:, 0], size)]
    dg = np.diff(g, axis=1) * steps[..., None]
    dr = np.diff(r, axis=1) * steps[..., None]
    cross = 2.0 * (dg * dr).sum(axis=(1, 2))
    energy = (dg ** 2 + dr ** 2).sum(axis=(1, 2))
    path = np.maximum(np.linalg.norm(dg, axis=-1).sum(1), np.linalg.norm(dr, axis=-1).sum(1))
    moving = (path >= MIN_PATH_PX) & (energy > 0)
    if not moving.any():
        return 1.0
    return float((cross[moving] / energy[moving]).mean())
