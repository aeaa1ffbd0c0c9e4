"""Video DiT toolkit shared by the tuning and training-free methods (Wan2.1 T2V through diffusers).

Loading (:mod:`.wan`)
    ``load_backbone(model, device, dtype, gradient_checkpointing)`` -> :class:`WanBackbone` from
    ``"tiny"`` (random, CPU, tests), ``"wan2.1-1.3b-random"`` (real architecture, random weights,
    GPU timing), a hub id (``WAN_1_3B_HUB_ID``) or a local diffusers folder. ``WanBackbone`` has
    ``encode_video(frames)`` (``uint8 [4k+1, H, W, 3]`` -> latents), ``encode_frames(frames)``
    (each frame as a 1-frame video), ``encode_prompts(prompts)``, ``decode(latents)`` -> uint8
    frames, and geometry helpers (``latent_shape``, ``num_blocks``, ``num_heads``, ``head_dim``).

Methods (:mod:`.session`)
    ``BackboneSession(model, device=, dtype=, gradient_checkpointing=)``: a method's backbone, loaded
    on first use, with a bounded prompt-embedding cache (FYM and the baselines hold one each).

Frames (:mod:`.frames`)
    ``vae_frame_count(n, "floor"|"ceil")`` (the 4k+1 policy), ``latent_frame_count``,
    ``resize_frames(frames, h, w)`` (cover + centre-crop), ``round_size``, ``size_multiple(backbone)``
    (VAE factor x patch), ``working_size(clip_size, pixels, multiple)`` (aspect kept).

Training (:mod:`.flow`)
    ``train(backbone, params, batch_fn, steps=, lr=, loss_fn=, after_step=...)`` -> ``TrainStats``:
    the AdamW flow-matching loop; ``TrainBatch`` (latents, prompt embeddings, RoPE frame
    positions); ``training_step`` (sample shifted noise levels, noise, predict, loss);
    ``flow_matching_mse``; ``sample_sigmas``, ``shift_sigmas``, ``add_noise``, ``velocity_target``,
    ``loss_weights``, ``predict_velocity``.

Sampling (:mod:`.sampling`)
    ``sample_latents(backbone, embeds, negative, num_frames=, height=, width=, steps=, guidance=,
    shift=, seed=, sampler=, latent_guidance=)`` with an optional per-step latent-guidance hook;
    ``generate_video(backbone, prompt, ...)`` -> uint8 frames; ``make_scheduler``; ``initial_noise``.

Positions and attention (:mod:`.rope`, :mod:`.attention`)
    ``frame_positions(transformer, positions)``: context manager giving each latent frame a
    (fractional) temporal RoPE position; ``probe_self_attention(transformer, callback, blocks)``:
    context manager reporting each self-attention's post-RoPE q and k to ``callback``.

LoRA on attention heads (:mod:`.lora`)
    ``add_head_lora(transformer, name, heads_per_block, rank=, alpha=)`` adds a peft LoRA on the
    self-attention q/k/v projections restricted to the output rows of the given heads (other rows
    get exactly zero update); ``save_lora`` / ``load_lora`` (safetensors + JSON);
    ``set_lora_scales``; ``lora_parameters``; ``lora_state`` / ``install_lora`` (in memory); ``remove_loras``.

Inpainting (:mod:`.vace`, imported from there: it is the recapture task's backbone)
    ``load_vace_backbone(model, ...)`` -> the same :class:`WanBackbone` around a Wan2.1-VACE
    transformer (``tiny``, ``wan2.1-vace-1.3b-random``, hub ids, local folders); ``control_latents``
    (video + visibility mask -> VACE's 96-channel control), ``sample_inpaint`` (with a ``Prefix`` of
    packed context frames), ``VaceSession``. Training passes the control through
    ``TrainBatch.conditioning``.
"""

from motionbench.backbones.attention import QKProbeProcessor, probe_self_attention
from motionbench.backbones.flow import (
    TrainBatch,
    TrainStats,
    add_noise,
    flow_matching_mse,
    loss_weights,
    predict_velocity,
    sample_sigmas,
    shift_sigmas,
    train,
    training_step,
    velocity_target,
)
from motionbench.backbones.frames import (
    latent_frame_count,
    resize_frames,
    round_size,
    size_multiple,
    vae_frame_count,
    working_size,
)
from motionbench.backbones.rope import FramePositionRope, frame_positions, install_frame_position_rope
from motionbench.backbones.sampling import generate_video, initial_noise, make_scheduler, sample_latents
from motionbench.backbones.wan import SPECS, WAN_1_3B_HUB_ID, WanBackbone, load_backbone
from motionbench.backbones.session import BackboneSession

__all__ = [
    "BackboneSession", "FramePositionRope", "QKProbeProcessor", "SPECS", "TrainBatch", "TrainStats", "WAN_1_3B_HUB_ID", "WanBackbone",
    "add_noise", "flow_matching_mse", "frame_positions", "generate_video", "initial_noise",
    "install_frame_position_rope", "latent_frame_count", "load_backbone", "loss_weights", "make_scheduler",
    "predict_velocity", "probe_self_attention", "resize_frames", "round_size", "sample_latents", "sample_sigmas",
    "shift_sigmas", "size_multiple", "train", "training_step", "vae_frame_count", "velocity_target", "working_size",
]
