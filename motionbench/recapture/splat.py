"""Lift frames with their depth and splat them into another camera, with z-buffering (torch, batched).

:func:`forward_splat` is the core of the recapture pipeline. Every source pixel centre is lifted to
3-D with its depth and the source intrinsics, moved into the target camera, projected, and
splatted *bilinearly* onto the four target pixels around where it lands (weights
``(1 - |du|)(1 - |dv|)``). Per target pixel:

1. the z-buffer is the nearest depth among the contributions of weight >= ``ZBUFFER_MIN_WEIGHT``
   (points landing within about half a pixel; falling back to all contributions where none is
   that close), so a foreground edge whose points land a pixel away cannot hide the background
   pixel they merely graze;
2. contributions within ``depth_tolerance`` (relative) of the z-buffer are accepted, farther ones
   (occluded surfaces) dropped;
3. the colour and depth are the weighted means of the accepted contributions;
4. the pixel is *visible* when its *coverage* reaches ``min_coverage``: the weights of all its
   contributions, each multiplied by its point's local area magnification ``|det J|`` (how many
   target pixels one source pixel spans, from the projected positions of its neighbours on the
   same surface: :func:`area_magnification`). Inside a surface the coverage is about 1 at any
   scale; it falls to 0.5 where the source pixels' footprints end, so the default threshold 0.5
   puts a hole's edge where the source's pixels stop covering the target's pixel centres (a raw
   weight threshold would move it with the magnification). Occluded contributions count towards
   coverage (a pixel on a foreground silhouette is covered by the surfaces on both sides of it)
   but not towards colour; a disocclusion receives no contribution at all, so it stays a hole.

The result is a render with holes and a mask: 1 = visible (the model keeps it), 0 = to fill
(disoccluded, or outside the source's view). Bilinear footprints are two pixels wide, so a
surface magnified more than about 2x (a large dolly or zoom in one step) leaves cracks, which are
marked as holes.

:func:`double_reprojection` renders the source into a new view and that render back into the
source camera: the result is the source with exactly the damage a view change of that size does
(the training input of FYC), while the source itself is the target, so no multi-view data is
needed. Where nothing is lost the result is the source resampled twice (bilinear each way: about
30 dB PSNR on the embedded scenes' textures at 128x128, exact for the identity camera).

Shapes: images ``[B, C, H, W]`` (any float range), depth ``[B, 1, H, W]``, intrinsics ``[B, 3, 3]``,
source-to-target transforms ``[B, 4, 4]`` (see :mod:`motionbench.recapture.cameras`).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

ZBUFFER_MIN_WEIGHT = 0.25
DEFAULT_DEPTH_TOLERANCE = 0.05
DEFAULT_MIN_COVERAGE = 0.5
#: Neighbouring pixels whose 3-D points are farther apart than this many pixel footprints
#: (depth / focal) are on different surfaces, or on one seen too obliquely to interpolate.
SURFACE_STRETCH = 3.0


@dataclass
class Splat:
    """A render into the target camera.

    Attributes:
        image: ``[B, C, H, W]``, zero where not visible.
        visible: float ``[B, 1, H, W]``: 1 = visible, 0 = to fill.
        depth: ``[B, 1, H, W]`` target-camera depth, zero where not visible.
        coverage: ``[B, 1, H, W]`` magnification-normalised splat weight (about 1 inside a
            surface, 0.5 at a footprint's edge).
    """

    image: torch.Tensor
    visible: torch.Tensor
    depth: torch.Tensor
    coverage: torch.Tensor


def _check(image: torch.Tensor, depth: torch.Tensor, k: torch.Tensor, name: str) -> None:
    if image.ndim != 4:
        raise ValueError(f"{name}: image must be [B, C, H, W], got {tuple(image.shape)}")
    b, _, h, w = image.shape
    if depth.shape != (b, 1, h, w):
        raise ValueError(f"{name}: depth must be [B, 1, H, W] = {(b, 1, h, w)}, got {tuple(depth.shape)}")
    if k.shape != (b, 3, 3):
        raise ValueError(f"{name}: intrinsics must be [B, 3, 3] = {(b, 3, 3)}, got {tuple(k.shape)}")


def pixel_grid(height: int, width: int, *, dtype: torch.dtype = torch.float64,
               device: torch.device | str = "cpu") -> torch.Tensor:
    """Homogeneous pixel centres ``[3, H*W]`` (row-major): ``(u, v, 1)`` with ``u`` the column."""
    v, u = torch.meshgrid(torch.arange(height, dtype=dtype, device=device),
                          torch.arange(width, dtype=dtype, device=device), indexing="ij")
    return torch.stack([u.reshape(-1), v.reshape(-1), torch.ones(height * width, dtype=dtype, device=device)])


def unproject(depth: torch.Tensor, k: torch.Tensor) -> torch.Tensor:
    """Camera-frame points ``[B, 3, H*W]`` of every pixel centre at its depth ``[B, 1, H, W]``."""
    b, _, h, w = depth.shape
    rays = torch.linalg.inv(k.to(torch.float64)) @ pixel_grid(h, w, device=depth.device)  # [B, 3, N], z = 1
    return rays * depth.reshape(b, 1, -1).to(torch.float64)


def transform(points: torch.Tensor, m: torch.Tensor) -> torch.Tensor:
    """Apply rigid transforms ``[B, 4, 4]`` to points ``[B, 3, N]``."""
    m = m.to(points.dtype)
    return m[:, :3, :3] @ points + m[:, :3, 3:]


def project(points: torch.Tensor, k: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Pixel coordinates ``[B, 2, N]`` and depth ``[B, N]`` of camera-frame points ``[B, 3, N]``."""
    z = points[:, 2]
    uvw = k.to(points.dtype) @ points
    return uvw[:, :2] / z.clamp(min=1e-9).unsqueeze(1), z


def _neighbour_steps(uv: torch.Tensor, points: torch.Tensor, footprint: torch.Tensor, fallback: torch.Tensor,
                     dim: int) -> torch.Tensor:
    """One column of the Jacobian per source pixel along image axis ``dim`` (3: x, 2: y).

    The step to the next or previous neighbour (the shorter where both qualify) when that
    neighbour is on the same surface: its 3-D distance is under ``SURFACE_STRETCH`` footprints (a
    surface slanted less than about 70 degrees). Otherwise ``fallback``: the step of a
    fronto-parallel patch at the pixel's own depth.
    """
    n = uv.shape[dim]
    if n < 2:
        return fallback
    diff = uv.narrow(dim, 1, n - 1) - uv.narrow(dim, 0, n - 1)
    gap = (points.narrow(dim, 1, n - 1) - points.narrow(dim, 0, n - 1)).norm(dim=1, keepdim=True)
    scale = torch.minimum(footprint.narrow(dim, 1, n - 1), footprint.narrow(dim, 0, n - 1))
    same = gap <= SURFACE_STRETCH * scale
    # Pixel i's forward step is diff[i] (none for the last pixel), its backward step diff[i - 1].
    fwd = torch.cat([diff, diff.narrow(dim, n - 2, 1)], dim=dim)
    bwd = torch.cat([diff.narrow(dim, 0, 1), diff], dim=dim)
    none = torch.zeros_like(same.narrow(dim, 0, 1))
    ok_f = torch.cat([same, none], dim=dim)
    ok_b = torch.cat([none, same], dim=dim)
    shorter = torch.where((fwd ** 2).sum(1, keepdim=True) <= (bwd ** 2).sum(1, keepdim=True), fwd, bwd)
    return torch.where(ok_f & ok_b, shorter, torch.where(ok_f, fwd, torch.where(ok_b, bwd, fallback)))


def area_magnification(src_points: torch.Tensor, k_src: torch.Tensor, k_tgt: torch.Tensor, src_to_tgt: torch.Tensor,
                       uv: torch.Tensor, height: int, width: int) -> torch.Tensor:
    """``|det J|`` of the source-to-target pixel map at every source pixel: ``[B, H*W]``.

    ``src_points`` ``[B, 3, H*W]`` are the lifted source pixels, ``uv`` their target positions. The
    Jacobian's columns are the target steps to neighbouring pixels on the same surface (see
    :func:`_neighbour_steps`), so a surface that comes closer or turns towards the camera spreads its
    pixels' coverage over more target pixels; silhouettes and grazing surfaces fall back to a
    fronto-parallel patch, so sparse points there do not claim the unseen surface behind them.
    """
    b = src_points.shape[0]
    z = src_points[:, 2:3]
    fx = k_src[:, 0, 0].to(z.dtype).view(b, 1, 1)
    fy = k_src[:, 1, 1].to(z.dtype).view(b, 1, 1)

    def fronto(axis: int, f: torch.Tensor) -> torch.Tensor:
        step = torch.zeros_like(src_points)
        step[:, axis] = (z / f)[:, 0]
        return project(transform(src_points + step, src_to_tgt), k_tgt)[0] - uv

    grid = (b, -1, height, width)
    pts, pix = src_points.view(grid), uv.view(grid)
    footprint = (z / fx).view(grid)
    jx = _neighbour_steps(pix, pts, footprint, fronto(0, fx).view(grid), dim=3)
    jy = _neighbour_steps(pix, pts, footprint, fronto(1, fy).view(grid), dim=2)
    return (jx[:, 0] * jy[:, 1] - jx[:, 1] * jy[:, 0]).abs().reshape(b, -1)


def forward_splat(image: torch.Tensor, depth: torch.Tensor, k_src: torch.Tensor, k_tgt: torch.Tensor,
                  src_to_tgt: torch.Tensor, *, size: tuple[int, int] | None = None,
                  valid: torch.Tensor | None = None, depth_tolerance: float = DEFAULT_DEPTH_TOLERANCE,
                  min_coverage: float = DEFAULT_MIN_COVERAGE) -> Splat:
    """Splat ``image`` into the target camera (see the module docstring).

    Args:
        image: ``[B, C, H, W]`` source pixels.
        depth: ``[B, 1, H, W]`` source depth (positive).
        k_src, k_tgt: ``[B, 3, 3]`` intrinsics.
        src_to_tgt: ``[B, 4, 4]`` source-camera to target-camera transforms.
        size: target (width, height); default the source's.
        valid: optional ``[B, 1, H, W]`` mask of source pixels to use (e.g. a previous render's
            visibility); others are ignored.
        depth_tolerance: relative depth band accepted behind the z-buffer.
        min_coverage: coverage a pixel needs to count as visible.
    """
    _check(image, depth, k_src, "forward_splat")
    b, c, h, w = image.shape
    tw, th = size if size is not None else (w, h)
    src_points = unproject(depth, k_src)
    uv, z = project(transform(src_points, src_to_tgt), k_tgt)
    mag = area_magnification(src_points, k_src, k_tgt, src_to_tgt, uv, h, w)
    ok = z > 1e-6
    if valid is not None:
        ok = ok & (valid.reshape(b, -1) > 0.5)
    u, v = uv[:, 0], uv[:, 1]
    u0, v0 = torch.floor(u), torch.floor(v)
    fu, fv = u - u0, v - v0
    colours = image.reshape(b, c, -1).to(torch.float64)
    batch = torch.arange(b, device=image.device).view(b, 1).expand_as(u)
    idx_parts, w_parts, z_parts, c_parts, m_parts = [], [], [], [], []
    for du, dv in ((0, 0), (1, 0), (0, 1), (1, 1)):
        x = u0 + du
        y = v0 + dv
        wt = (fu if du else 1 - fu) * (fv if dv else 1 - fv)
        keep = ok & (x >= 0) & (x <= tw - 1) & (y >= 0) & (y <= th - 1) & (wt > 0)
        flat = (batch * th * tw + y.clamp(0, th - 1).long() * tw + x.clamp(0, tw - 1).long())
        idx_parts.append(flat[keep])
        w_parts.append(wt[keep])
        z_parts.append(z[keep])
        c_parts.append(colours.permute(0, 2, 1)[keep])
        m_parts.append(mag[keep])
    idx, wts, zs, cols = torch.cat(idx_parts), torch.cat(w_parts), torch.cat(z_parts), torch.cat(c_parts)
    mags = torch.cat(m_parts)
    total = b * th * tw
    inf = torch.full((total,), float("inf"), dtype=torch.float64, device=image.device)
    strong = wts >= ZBUFFER_MIN_WEIGHT
    z_strong = inf.scatter_reduce(0, idx[strong], zs[strong], reduce="amin")
    z_any = inf.scatter_reduce(0, idx, zs, reduce="amin")
    zbuf = torch.where(torch.isfinite(z_strong), z_strong, z_any)
    zero = torch.zeros(total, dtype=torch.float64, device=image.device)
    coverage = zero.index_add(0, idx, wts * mags)
    accept = zs <= zbuf[idx] * (1.0 + depth_tolerance)
    idx, wts, zs, cols = idx[accept], wts[accept], zs[accept], cols[accept]
    wsum = zero.index_add(0, idx, wts)
    dsum = zero.index_add(0, idx, wts * zs)
    csum = torch.zeros(total, c, dtype=torch.float64, device=image.device).index_add(0, idx, wts.unsqueeze(1) * cols)
    visible = (coverage >= min_coverage) & (wsum > 0)
    denom = wsum.clamp(min=1e-12)
    out = torch.where(visible.unsqueeze(1), csum / denom.unsqueeze(1), torch.zeros_like(csum))
    out_depth = torch.where(visible, dsum / denom, zero)
    return Splat(
        image=out.view(b, th, tw, c).permute(0, 3, 1, 2).to(image.dtype),
        visible=visible.view(b, 1, th, tw).to(image.dtype if image.is_floating_point() else torch.float32),
        depth=out_depth.view(b, 1, th, tw).to(depth.dtype),
        coverage=coverage.view(b, 1, th, tw).to(depth.dtype),
    )


def invert_transforms(m: torch.Tensor) -> torch.Tensor:
    """Inverse of rigid transforms ``[B, 4, 4]``."""
    r = m[:, :3, :3]
    out = torch.zeros_like(m)
    out[:, :3, :3] = r.transpose(1, 2)
    out[:, :3, 3] = -(r.transpose(1, 2) @ m[:, :3, 3:]).squeeze(-1)
    out[:, 3, 3] = 1
    return out


def double_reprojection(image: torch.Tensor, depth: torch.Tensor, k: torch.Tensor, src_to_tgt: torch.Tensor, *,
                        k_tgt: torch.Tensor | None = None, depth_tolerance: float = DEFAULT_DEPTH_TOLERANCE,
                        min_coverage: float = DEFAULT_MIN_COVERAGE) -> Splat:
    """Render the source into the target view and back (see the module docstring).

    Returns the :class:`Splat` in the *source* camera: the source where both trips kept it, holes
    (visible 0) where the view change loses it.
    """
    k_tgt = k if k_tgt is None else k_tgt
    h, w = image.shape[-2:]
    there = forward_splat(image, depth, k, k_tgt, src_to_tgt, depth_tolerance=depth_tolerance,
                          min_coverage=min_coverage)
    # Unvisited target pixels carry depth 0; they are excluded through `valid`, and clamping keeps
    # the lift finite.
    return forward_splat(there.image, there.depth.clamp(min=1e-6), k_tgt, k, invert_transforms(src_to_tgt),
                         size=(w, h), valid=there.visible, depth_tolerance=depth_tolerance,
                         min_coverage=min_coverage)
