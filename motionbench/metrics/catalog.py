"""The built-in metrics as plug-in specs: what ``motionbench metrics`` lists without importing them.

pyproject.toml registers each under the entry-point group ``motionbench.metrics``, exactly as a
third-party package registers its own (see :mod:`motionbench.plugins`).
"""

from __future__ import annotations

from motionbench.plugins import PluginSpec

clip_text = PluginSpec("motionbench.metrics.clip:ClipText",
                       "CLIP text alignment: mean over frames of cos(image, prompt), raw cosine")
clip_temporal = PluginSpec("motionbench.metrics.clip:ClipTemporal",
                           "CLIP temporal consistency: mean cos(image_t, image_t+1) over consecutive frames")
motion_fidelity = PluginSpec(
    "motionbench.metrics.motion_fidelity:MotionFidelity",
    "Motion fidelity of point tracks against the reference's (variants dmt, symmetric, matched)")
toy_prompt_colour = PluginSpec("motionbench.metrics.appearance:ToyPromptColour",
                               "Toy world: share of videos showing exactly the prompt's colours (palette detector)")
toy_colour_leakage = PluginSpec("motionbench.metrics.appearance:ToyColourLeakage",
                                "Toy world: share of videos showing a reference colour the prompt does not name")
novel_view = PluginSpec("motionbench.metrics.novel_view:NovelView",
                        "Recapture: PSNR and SSIM against the exact re-rendering, overall and in the holes (3-D scenes)")
camera_accuracy = PluginSpec("motionbench.metrics.camera_accuracy:CameraAccuracyMetric",
                             "Recapture: rotation and translation error of the camera solved from background tracks")
