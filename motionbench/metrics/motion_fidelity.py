"""Motion fidelity (Yatim et al., "Space-Time Diffusion Features for Zero-Shot Text-Driven Motion
Transfer", CVPR 2024): how well the point trajectories of a generated video follow the reference's.

Both videos are tracked on a grid seeded on frame 0 (optionally only inside a foreground box). For
each track, the per-step displacements ``d_t = p_{t+1} - p_t`` are normalised to unit length, and
``corr(a, b) = mean_t <u_a,t, u_b,t>``. With ``S[n, m] = corr(generated n, reference m)``:

- ``dmt`` (the public DMT evaluation code, reproduced exactly): ``mean_n max_m (S - I)[n, m]``. The
  identity is subtracted as in that code (for rectangular S, ``I`` is ``eye(N, M)``), so a generated
  track is never credited for matching the reference track with the same index.
- ``symmetric`` (the two-sided form of the paper): ``(mean_n max_m S + mean_m max_n S) / 2``, with no
  identity subtraction. The paper writes the plain sum of the two terms; we halve it so both
  variants share the [-1, 1] scale.

Static points. The DMT code divides by the displacement's norm with no epsilon, so a point that does
not move in a step gives 0/0 = NaN, and one static point turns the whole score into NaN. Here a
displacement shorter than :data:`STATIC_EPS` pixels has a unit vector of **zero**: that step adds 0
to every correlation. Every displacement of at least that length is treated exactly as in the DMT
code, so scores differ from it only where it would give NaN or follow sub-millipixel noise. A
fully static generated video therefore scores 0 under ``dmt`` (every ``S`` entry is 0; the
subtracted identity only lowers the diagonal), a defined low number rather than NaN.

Visibility is ignored, as in the DMT code (CoTracker's positions for occluded points are its own
estimates and are used as they are).
"""

from __future__ import annotations

import numpy as np

from motionbench.metrics.base import Metric, MetricInputError
from motionbench.metrics.motion_matched import motion_fidelity_matched
from motionbench.metrics.tracks import Tracks, align_tracks

#: A displacement shorter than this (in pixels) counts as no motion: its unit vector is zero. A
#: thousandth of a pixel is far below any tracker's accuracy, and above the float noise LK reports
#: for a point that does not move (about 1e-6 px).
STATIC_EPS = 1e-3

VARIANTS = ("dmt", "symmetric", "matched")  # matched: see motionbench.metrics.motion_matched


def unit_displacements(tracks: np.ndarray, eps: float = STATIC_EPS) -> np.ndarray:
    """Per-step displacements of ``tracks [N, T, 2]`` normalised to unit length: ``[N, T-1, 2]``.

    A displacement shorter than ``eps`` maps to the zero vector (not NaN).
    """
    d = np.diff(np.asarray(tracks, dtype=np.float64), axis=1)
    norm = np.linalg.norm(d, axis=-1, keepdims=True)
    return np.where(norm >= eps, d / np.maximum(norm, eps), 0.0)


def similarity_matrix(generated: np.ndarray, reference: np.ndarray, eps: float = STATIC_EPS) -> np.ndarray:
    """``S[n, m] = mean_t <u_gen n,t, u_ref m,t>`` for tracks ``[N, T, 2]`` and ``[M, T, 2]``.

    Computed as one matrix product (``[N, 2(T-1)] @ [2(T-1), M]``) so a 55x55 grid fits in memory.
    """
    g = unit_displacements(generated, eps)
    r = unit_displacements(reference, eps)
    if g.shape[1] != r.shape[1]:
        raise ValueError(f"track lengths differ ({g.shape[1] + 1} vs {r.shape[1] + 1} frames); align them first")
    steps = g.shape[1]
    return (g.reshape(len(g), -1) @ r.reshape(len(r), -1).T) / steps


def motion_fidelity_dmt(generated: np.ndarray, reference: np.ndarray, eps: float = STATIC_EPS) -> float:
    """The public DMT score: ``mean_n max_m (S - I)``, for pixel tracks of equal length.

    Example:
        >>> import numpy as np
        >>> ref = np.array([[[0, 0], [1, 0], [2, 0]], [[5, 5], [5, 6], [5, 7]]], float)
        >>> round(motion_fidelity_dmt(ref, ref), 6)  # track 0 only matches track 1 off the diagonal
        0.0
    """
    s = similarity_matrix(generated, reference, eps)
    s = s - np.eye(*s.shape)
    return float(s.max(axis=1).mean())


def motion_fidelity_symmetric(generated: np.ndarray, reference: np.ndarray, eps: float = STATIC_EPS) -> float:
    """The paper's two-sided score, halved: ``(mean_n max_m S + mean_m max_n S) / 2``."""
    s = similarity_matrix(generated, reference, eps)
    return float(0.5 * (s.max(axis=1).mean() + s.max(axis=0).mean()))


def motion_fidelity(generated: Tracks, reference: Tracks, variant: str = "dmt") -> float:
    """Motion fidelity of ``generated`` tracks against ``reference`` tracks.

    Tracks of videos with different lengths or sizes are first aligned (see
    :mod:`motionbench.metrics.tracks`).

    Raises:
        ValueError: unknown ``variant``.
    """
    if variant not in VARIANTS:
        raise ValueError(f"unknown motion fidelity variant {variant!r}; choose one of {', '.join(VARIANTS)}")
    g, r = align_tracks(generated, reference)
    if variant == "matched":
        return motion_fidelity_matched(g.tracks, r.tracks, r.visibility, r.size)
    fn = motion_fidelity_dmt if variant == "dmt" else motion_fidelity_symmetric
    return fn(g.tracks, r.tracks)


class MotionFidelity(Metric):
    """Motion fidelity between tracks of a generated video and of its reference, in one variant."""

    name = "motion_fidelity"
    higher_is_better = True
    version = "1"
    convention = (
        "DMT motion fidelity in [-1, 1]: unit per-step displacements, corr = mean over steps of dot "
        "products; variant dmt = mean over generated tracks of max over reference tracks of (S - I) "
        "(public DMT code); variant symmetric = half the sum of both one-sided means, no identity; "
        "variant matched = mean over moving tracks (path >= 1 px in either video) of 2 sum<g,r> / "
        "sum(|g|^2+|r|^2) over the per-step pixel displacements of each reference track and the generated "
        "track starting nearest it, reliable (visible) reference steps only "
        "(motionbench.metrics.motion_matched). "
        f"Displacements under {STATIC_EPS:g} px have a zero unit vector (no NaN). Grid seeded on frame 0, "
        "inside the sample's box when given (both videos, box scaled to each). Different lengths: both "
        "resampled in time to the shorter; different sizes: generated coordinates scaled to the "
        "reference's pixels. Visibility: ignored by dmt and symmetric; matched uses the reference's."
    )
    needs = ("generated_tracks", "reference_tracks")
    variants = VARIANTS

    def __call__(self, generated_tracks: Tracks, reference_tracks: Tracks) -> float:  # type: ignore[override]
        """The score; raises MetricInputError where it is undefined (matched with no reliable reference step)."""
        value = motion_fidelity(generated_tracks, reference_tracks, self.variant)
        if self.variant == "matched" and np.isnan(value):
            raise MetricInputError("the tracker marked every reference point invisible at every step, so there is "
                                   "no reliable reference motion to compare with")
        return value
