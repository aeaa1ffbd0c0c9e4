"""Synthetic 3-D scenes with known depth, drawn exactly from any camera (the recapture task's truth).

The 2-D generators of :mod:`motionbench.bench.synthetic` know the motion of every point; these
scenes also know its *depth* and can be seen from cameras that never filmed them, so a video
re-rendered along a new camera path is scored against the exact re-rendering
(:mod:`motionbench.metrics.novel_view`) and against the exact holes: what the source never saw.

* :mod:`.primitives`: textured quads (boxes are six of them) and solid-textured balls, exact ray
  intersection in torch.
* :mod:`.scene`: :class:`Scene` (objects with paths through scene time) and its ray-cast
  renderer (colour anti-aliased by 2x2 rays per pixel; depth = z of the nearest hit; labels), and
  :func:`static_tracks` (ground-truth tracks of background points, for camera accuracy).
* :mod:`.clip`: :func:`make_scene` (a seeded room with boxes, a ball and a moving object),
  :func:`render_clip` (filmed by a static source camera) and :class:`SceneClip` with
  :meth:`~SceneClip.target` (the exact view along any :class:`~motionbench.recapture.CameraPath`)
  and :meth:`~SceneClip.seen_from_source` (the true visibility mask).

Example::

    clip = render_clip(0, num_frames=17, size=(64, 64))
    truth = clip.target("orbit:phi=20")          # frames, depth, labels, cameras
    holes = ~clip.seen_from_source("orbit:phi=20", truth)

At 64x64 a 17-frame clip renders in about a second on one CPU core.
"""

from motionbench.bench.scenes.clip import SceneClip, make_scene, render_clip
from motionbench.bench.scenes.primitives import Placement, Quad, Sphere, box_faces
from motionbench.bench.scenes.scene import Scene, SceneObject, View, static_tracks

__all__ = ["Placement", "Quad", "Scene", "SceneClip", "SceneObject", "Sphere", "View", "box_faces", "make_scene",
           "render_clip", "static_tracks"]
