"""Follow-Your-Creation (FYC) on Wan2.1 VACE: camera-path re-rendering as per-video-tuned inpainting.

FYC (arXiv 2506.04590; "EasyCreator" at ICLR 2026) re-renders a monocular video along a new camera
path: lift each frame with its depth, splat it into the new camera (the harness,
:mod:`motionbench.recapture`), and let a Wan2.1 inpainting model fill the holes, tuned per video.

Modules (one job each):

* :mod:`motionbench_fyc.config`   options, presets (``paper``, ``1.3b``, ``tiny``) and ablation switches.
* :mod:`motionbench_fyc.pairs`    training pairs: a clip damaged by a composite mask (point-cloud / editing / union).
* :mod:`motionbench_fyc.tuning`   the LoRA, one flow-matching stage, and the self-iterative schedule by angle.
* :mod:`motionbench_fyc.packing`  temporal packing: the top-K most-inpainted frames of one path as the next one's prefix.
* :mod:`motionbench_fyc.method`   ``FollowYourCreation``: fit per source clip, generate per path and seed.

No code of FYC is public, and the paper text was not reachable (facts from summaries and reviews).
Every place this implementation decides what the paper does not say, or departs from it:

1. **Backbone**: the paper tunes the 14B Wan2.1 inpainting model without naming the variant; we use
   Wan2.1-VACE (diffusers ``WanVACETransformer3DModel``), the Wan2.1 architecture diffusers ships
   for masked video generation. ``paper`` loads the 14B VACE; the default is the 1.3B.
2. **LoRA placement**: unpublished. We put it on the self-attention q/k/v of every head of every main
   DiT block (the toolkit's head LoRA), leaving the VACE context blocks, cross-attention and FFN
   frozen; ``alpha = rank`` (scale 1 at full weight, 0.7 at inference as published).
3. **Composite-mask probabilities**: unpublished; uniform over point-cloud, editing and union.
   Editing masks are one to three ellipses or boxes drifting linearly, 5-35% of the frame, with no
   hole in the first frame (the paper's "first-frame mask 0", in its generate-where-1 convention).
4. **Point-cloud pairs**: each training example double-reprojects the clip along a random orbit
   ramping from the source camera to ``(phi, theta)``, ``|phi|`` in ``[0.3, 1]`` of the stage's angle,
   ``|theta|`` up to half of it; the damaged input keeps the twice-resampled pixels (as an inference
   warp's visible pixels are resampled once). The paper's camera sampling is not published.
5. **Self-iterative tuning**: stage angles (20, 30, 40) degrees by default (the paper: start under
   30, about +10 per round, number of rounds unpublished); the first stage gets the published 2000
   steps, each further round ``round_steps`` = 500 (ours). Our reading of "each round renders
   larger-angle damaged videos from the previous round's outputs": a round re-renders the source
   with the current LoRA along orbits at the previous angle (left and right), lifts those outputs
   with their splatted depth (holes filled from the farthest neighbour: disocclusions reveal
   background), and trains on them damaged by up to one more angle step, with the outputs as
   targets, mixed half and half (``source_mix``, ours) with source pairs at the round's angle. A new
   AdamW per stage. ``iterative=false`` trains one stage at the widest angle with the same total
   number of steps.
6. **Temporal packing**: K = 4 frames (unpublished), chosen by the warp's hole fraction, encoded
   one frame at a time, packed as VACE prefix frames (control = their latent, a keep mask) in
   ``reference`` mode: their noise positions are denoised freely and their content enters through
   the VACE context branch, as VACE treats reference images; ``renoise`` mode (ours) also resets
   them each step to their latent at the current noise level. Packing is not used in training
   (the paper does not say it is). The runner will generate a source's paths in manifest order
   so each path's context is fixed (see :mod:`motionbench.recapture`).
7. **Depth**: the paper uses DepthCrafter; synthetic scenes give exact depth, real clips any
   :class:`~motionbench.recapture.depth.DepthEstimator` (default Depth Anything V2 through
   ``transformers``, per frame, scale-aligned to frame 0).
8. **Frames and sizes**: tuning on the first 81 frames (floor to 4k+1) at 512x512 (cover and
   centre-crop, intrinsics adjusted); generation at the same size, padded to 4k+1 by repeating the
   last warped frame, then resized to the request. The output is the model's video everywhere (the
   warp is not pasted back over the visible pixels).
9. **Prompts**: no captions are assumed; tuning uses ``train_prompt`` ("a video") and generation the
   sample's prompt when there is one.
10. **Loss**: plain flow-matching MSE over the whole clip (not restricted to the holes), uniform
    timesteps with shift 5, as for the T2V methods.
"""
