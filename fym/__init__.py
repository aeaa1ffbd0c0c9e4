"""Follow-Your-Motion (FYM) on Wan2.1: head classification, decoupled LoRA, sparse sampling, adaptive RoPE.

Modules (one job each):

* :mod:`fym.heads`   stage 1: per-head spatial/temporal template scores from one probing pass; JSON.
* :mod:`fym.stages`  stages 2 and 3: spatial LoRA on single frames, temporal LoRA on the clip.
* :mod:`fym.sparse`  which frames the temporal stage sees (uniform / random, 4k+1 counts).
* :mod:`fym.rope`    adaptive RoPE positions ``pos(i) = F/2 + (F/F_s)(i - F_s/2)``.
* :mod:`fym.losses`  the temporal loss: flow-matching MSE + (1 - cosine of frame differences).
* :mod:`fym.adapter` ``FollowYourMotion``, the MotionBench method (presets, ablation switches).

Choices where the paper and code leave room (each an option of the adapter where it matters):

* Head templates are bands of half-width ``h*w // 2`` tokens (about one frame's worth of tokens in
  total width) in frame-major and position-major order (``classify_band``); scores are computed at
  the 2nd of 1000 shifted timesteps (``classify_timestep_index``) with the training prompt.
* Frame counts and adaptive RoPE are in *latent* frames (what the transformer's RoPE indexes):
  81 pixel frames are 21 latents, the paper's 17 sparse frames are 5.
* Sparse frames are chosen in pixel space and encoded as one short clip by the VAE (not sliced
  from the full clip's latent, whose causal temporal compression mixes neighbouring frames).
* The motion term's cosine compares whole adjacent-latent-frame difference maps (channels x rows x
  columns), averaged over frame pairs.
* The benchmark has no captions of the reference clips; both stages train with ``train_prompt``
  ("a video" by default).
* LoRA weights are trained in float32 on a bf16 model; q/k/v rows of non-owned heads stay exactly
  zero (see :mod:`motionbench.backbones.lora`).
"""
