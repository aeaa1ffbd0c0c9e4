"""Procedural textures: every synthetic surface carries detail at several scales.

Trackers and motion metrics need texture to lock onto; a flat colour has no trackable points and
makes ground truth untestable. A texture is a scalar pattern (noise, stripes, checks, blobs, cells,
marble) mixed with fine value noise, mapped through a palette whose colours have well-separated
luminance, so every window of a few pixels has contrast. No feature is finer than ``min_feature``
texture pixels, so warped or scaled textures stay free of aliasing under bilinear sampling.

Everything here draws from the generator it is given and nothing else, so a texture is fixed by the
look's random stream alone.
"""

from __future__ import annotations

import numpy as np

PATTERNS = ("noise", "stripes", "checker", "blobs", "cells", "marble")


def value_noise(rng: np.random.Generator, height: int, width: int, cell: float) -> np.ndarray:
    """Smooth noise with features about ``cell`` pixels across: a random lattice, bicubic-upsampled.

    Returns:
        float32 ``[height, width]``, roughly in [0, 1] (cubic interpolation overshoots slightly).
    """
    import cv2

    cell = max(float(cell), 1.0)
    gh, gw = int(np.ceil(height / cell)) + 4, int(np.ceil(width / cell)) + 4
    lattice = rng.random((gh, gw), dtype=np.float32)
    up = cv2.resize(lattice, (int(round(gw * cell)), int(round(gh * cell))), interpolation=cv2.INTER_CUBIC)
    # A random crop offset so the lattice phase differs between textures.
    oy = int(rng.integers(0, max(1, up.shape[0] - height - int(cell))) + int(cell) // 2)
    ox = int(rng.integers(0, max(1, up.shape[1] - width - int(cell))) + int(cell) // 2)
    return up[oy : oy + height, ox : ox + width]


def _stretch(field: np.ndarray) -> np.ndarray:
    """Map ``field``'s range onto [0, 1]. No clipping: clipped extremes would leave flat patches."""
    lo, hi = float(field.min()), float(field.max())
    return ((field - lo) / max(hi - lo, 1e-6)).astype(np.float32)


def fbm(rng: np.random.Generator, height: int, width: int, min_feature: float, octaves: int = 4) -> np.ndarray:
    """Fractal noise: octaves of :func:`value_noise` from ``min_feature`` up, stretched to [0, 1]."""
    total = np.zeros((height, width), np.float32)
    for k in range(octaves):
        total += value_noise(rng, height, width, min_feature * 2.0**k) * (0.75**k)
    return _stretch(total)


def _soft(x: np.ndarray, sharpness: float) -> np.ndarray:
    # A smooth step instead of a hard threshold keeps edges about 1/sharpness wide (anti-aliased).
    return (0.5 + 0.5 * np.tanh(sharpness * x)).astype(np.float32)


def pattern_field(rng: np.random.Generator, pattern: str, height: int, width: int, min_feature: float) -> np.ndarray:
    """A scalar pattern in [0, 1]; ``pattern`` is one of :data:`PATTERNS`."""
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    warp = fbm(rng, height, width, min_feature * 4.0, octaves=2) - 0.5
    angle = rng.uniform(0.0, np.pi)
    u = xx * np.cos(angle) + yy * np.sin(angle)
    v = -xx * np.sin(angle) + yy * np.cos(angle)
    period = rng.uniform(4.0, 7.0) * min_feature
    if pattern == "noise":
        return fbm(rng, height, width, min_feature, octaves=5)
    if pattern == "stripes":
        return _stretch(np.sin(2 * np.pi * (u + 0.5 * period * warp) / period))
    if pattern == "checker":
        s = np.sin(np.pi * (u + 0.3 * period * warp) / period) * np.sin(np.pi * (v - 0.3 * period * warp) / period)
        return _soft(s, 3.0)
    if pattern == "blobs":
        return _soft(fbm(rng, height, width, min_feature * 3.0, octaves=3) - 0.5, 6.0)
    if pattern == "cells":
        # Soft dots on a jittered lattice.
        cell = period
        gy, gx = np.floor(yy / cell), np.floor(xx / cell)
        jitter = rng.uniform(0.3, 0.7, size=(int(gy.max()) + 2, int(gx.max()) + 2, 2)).astype(np.float32)
        cy = (gy + jitter[gy.astype(int), gx.astype(int), 0]) * cell
        cx = (gx + jitter[gy.astype(int), gx.astype(int), 1]) * cell
        d = np.hypot(yy - cy, xx - cx)
        return _soft(0.3 * cell - d, 1.0)
    if pattern == "marble":
        return _stretch(np.sin(2 * np.pi * u / (2.5 * period) + 6.0 * warp))
    raise ValueError(f"unknown texture pattern {pattern!r}; allowed: {', '.join(PATTERNS)}")


def _hsv_to_rgb(h: np.ndarray, s: np.ndarray, v: np.ndarray) -> np.ndarray:
    i = np.floor(h * 6.0).astype(int) % 6
    f = h * 6.0 - np.floor(h * 6.0)
    p, q, t = v * (1 - s), v * (1 - s * f), v * (1 - s * (1 - f))
    table = np.stack(
        [np.stack(c, axis=-1) for c in ((v, t, p), (q, v, p), (p, v, t), (p, q, v), (t, p, v), (v, p, q))], axis=0
    )
    return table[i, np.arange(len(h))]


def palette(rng: np.random.Generator, n: int = 3, hue: float | None = None) -> np.ndarray:
    """``n`` colours (float32 ``[n, 3]``, 0..255) around one random hue, with evenly spread luminance.

    Luminance, not HSV value, is spread: a saturated red and a dark grey can have the same value
    yet look alike in grey, and trackers work in grey.
    """
    base = rng.random() if hue is None else hue
    hues = (base + rng.uniform(-0.12, 0.12, n)) % 1.0
    sats = rng.uniform(0.35, 0.9, n)
    rgb = _hsv_to_rgb(hues, sats, np.ones(n))
    target = np.linspace(0.12, 0.85, n) + rng.uniform(-0.04, 0.04, n)
    luma = rgb @ np.array([0.299, 0.587, 0.114])
    rgb = rgb * (target / np.maximum(luma, 1e-3))[:, None]
    # Where scaling overshoots a channel, lift the others towards white to reach the luminance anyway.
    over = rgb.max(axis=1, keepdims=True)
    rgb = np.where(over > 1.0, rgb / over, rgb)
    luma = rgb @ np.array([0.299, 0.587, 0.114])
    lift = np.clip((target - luma) / np.maximum(1.0 - luma, 1e-3), 0.0, 1.0)[:, None]
    rgb = rgb + (1.0 - rgb) * lift
    return (np.clip(rgb, 0.0, 1.0) * 255.0).astype(np.float32)


def colorize(field: np.ndarray, colours: np.ndarray) -> np.ndarray:
    """Map a field in [0, 1] through a piecewise-linear palette; float32 ``[H, W, 3]``."""
    pos = np.clip(field, 0.0, 1.0) * (len(colours) - 1)
    lo = np.minimum(pos.astype(int), len(colours) - 2)
    frac = (pos - lo)[..., None]
    return (colours[lo] * (1.0 - frac) + colours[lo + 1] * frac).astype(np.float32)


def make_texture(
    rng: np.random.Generator,
    height: int,
    width: int,
    *,
    min_feature: float = 3.0,
    pattern: str | None = None,
    colours: np.ndarray | None = None,
) -> np.ndarray:
    """A colour texture, float32 ``[height, width, 3]`` in 0..255.

    Args:
        rng: the look's random stream.
        min_feature: the finest detail, in texture pixels (>= 2 to stay alias-free when sampled).
        pattern: one of :data:`PATTERNS`; drawn at random when None.
        colours: the palette; drawn at random when None.
    """
    import cv2

    pattern = pattern or PATTERNS[int(rng.integers(len(PATTERNS)))]
    colours = palette(rng) if colours is None else colours
    coarse = pattern_field(rng, pattern, height, width, min_feature)
    # Fine grain everywhere, so even the inside of a large check or blob has trackable detail. Local
    # contrast normalisation gives the grain the same strength in every window (raw noise has
    # patches where the random lattice happens to be flat).
    grain = fbm(rng, height, width, min_feature * 1.2, octaves=2)
    sigma = 1.5 * min_feature
    mean = cv2.GaussianBlur(grain, (0, 0), sigma)
    std = np.sqrt(cv2.GaussianBlur((grain - mean) ** 2, (0, 0), sigma) + 1e-4)
    grain = np.clip(0.5 + 0.22 * (grain - mean) / std, 0.0, 1.0)
    return colorize(_stretch(0.6 * coarse + 0.4 * grain), colours)
