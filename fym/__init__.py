"""Follow-Your-Motion (FYM) on Wan2.1: head classification, decoupled LoRA, sparse sampling, adaptive RoPE.

Modules (one job each):

* :mod:`motionbench_fym.heads`   stage 1: per-head spatial/temporal template scores from one probing pass; JSON.
* :mod:`motionbench_fym.stages`  stages 2 and 3: spatial LoRA on single frames, temporal LoRA on the clip.
* :mod:`motionbench_fym.sparse`  which frames the temporal stage sees (uniform / random, 4k+1 counts).
* :mod:`motionbench_fym.rope`    adaptive RoPE: a sparse latent frame at the clip position it stands for.
* :mod:`motionbench_fym.losses`  the temporal loss: flow-matching MSE + (1 - cosine along time of frame differences).
* :mod:`motionbench_fym.adapter` ``FollowYourMotion``, the MotionBench method (presets, ablation switches).

The shared Wan plumbing (options, size policy, sampling, LoRA state) is the harness's
:mod:`motionbench.methods.wan`. "Paper" below is arXiv 2506.05207; "released code" is the public
training code (``examples/wanvideo/Collect_attn_map.py``, ``EffiVMT_train_wan_t2v_Head.py``,
``inference.py`` and the README's commands). Every default's source is listed by ``motionbench
methods fym``.

Where this implementation differs from the paper or the released code, and why:

* Framework: diffusers' Wan2.1 and peft instead of DiffSynth-Studio. The released code splits each
  q/k/v projection into per-kind modules (``q_spatial``, ``q_temporal``...); here a LoRA sits on
  the whole projection with the rows of non-owned heads held at exactly zero, the same update
  (:mod:`motionbench.backbones.lora`). LoRA weights train in float32 on a bf16 model, as there.
* Sparse motion sampling and adaptive RoPE are in the paper, not in the released code; both are
  implemented (switches ``sparse``, ``adaptive_rope``). Sparse frames are chosen in pixel space and
  encoded as one short clip (not sliced from the full clip's latent, whose causal temporal
  compression mixes neighbouring frames); counts are rounded down to 4k+1.
* Adaptive RoPE gives sparse latent frame ``j`` the position ``s[4j] / 4`` of the dense latent frame
  it stands for (:mod:`motionbench_fym.rope`). For uniform sampling this is the paper's stretch taken between
  the ends of the two clips, ``(L-1)/(L_s-1)`` (81 -> 17 frames: 0, 5, 10, 15, 20), where the
  paper's printed ``F/F_s`` (21/5) would end at 16.8, short of the clip's last latent frame.
* Head templates are the released code's 128-token block bands; a model with fewer than 128
  tokens a frame (the tiny and toy models) gets the block cut to one frame, as the released
  construction would give an empty template there. Scores are divided by the number of queries
  (the rule ``w_t >= alpha w_s`` is unchanged). Default ``alpha_threshold`` 1.25 (paper); the
  ``code`` preset uses the released 1.3.
* Both the head probe and the LoRAs use ``train_prompt`` ("a video"): the benchmark has no
  reference captions (the released code uses each video's caption).
* The motion loss is the released code's (cosine along time); the paper writes it as a negative
  cosine, which differs by a constant.
* The released training multiplies the loss by DiffSynth's bell-shaped per-timestep weight and
  does not clip gradients; here the loss is unweighted (``loss_weighting=none``) and gradients
  are clipped at norm 1 (``max_grad_norm``), the same for every LoRA method on the benchmark.
* Reference frames: the released code cover-crops every clip to a fixed 480x832 (544x544 in its
  README); here every Wan-based method trains *and* samples at one working size with the clip's
  aspect ratio at that many pixels (``pixels``), so no method sees a cropped reference.
* Sampling: the released ``inference.py`` samples 81 frames at 720x1280 with UniPC (flow shift 5),
  35 steps, CFG 7 and Wan's standard negative prompt; the same sampler, steps, CFG and negative
  prompt are the defaults here, at the working size (not 720x1280). The scales at which the two
  LoRAs are fused at inference are not published: 1 and 1.
* Hyper-parameters: ``paper`` preset rank 128 (alpha = rank: the paper gives no alpha), 3000 +
  2000 steps; ``code`` preset rank 16, alpha 16, lr 1e-4, 1500 steps per stage (500 x 3 epochs),
  weight decay 0.1 / 0.5, 45 frames at 544x544 pixels.
"""
