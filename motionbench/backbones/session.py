"""A method's handle on the backbone: loaded on first use, with a bounded prompt-embedding cache."""

from __future__ import annotations

from typing import Any

#: Prompt embeddings kept per method; a sample's few prompts repeat across seeds, so this is plenty.
MAX_CACHED_PROMPTS = 64
_CHECKPOINTING = {"auto": None, "on": True, "off": False}


class BackboneSession:
    """Owns one :class:`~motionbench.backbones.WanBackbone` for a method (FYM and the baselines share it).

    Args:
        model: ``"tiny"``, ``"wan2.1-1.3b-random"``, a hub id or a local folder (see ``load_backbone``).
        device, dtype: where and in what precision to load it.
        gradient_checkpointing: ``"auto"`` (on for CUDA), ``"on"`` or ``"off"``.
    """

    def __init__(self, model: str, *, device: str, dtype: str, gradient_checkpointing: str = "auto") -> None:
        self.model, self.device, self.dtype = model, device, dtype
        self.checkpointing = _CHECKPOINTING[gradient_checkpointing]
        self._backbone = None
        self._prompts: dict[str, Any] = {}

    def backbone(self):
        if self._backbone is None:
            from motionbench.backbones.wan import load_backbone

            self._backbone = load_backbone(self.model, device=self.device, dtype=self.dtype,
                                           gradient_checkpointing=self.checkpointing, seed=0)
        return self._backbone

    def embed(self, prompt: str):
        """Prompt embeddings ``[1, L, D]``, cached."""
        if prompt not in self._prompts:
            if len(self._prompts) >= MAX_CACHED_PROMPTS:
                self._prompts.clear()
            self._prompts[prompt] = self.backbone().encode_prompts([prompt])
        return self._prompts[prompt]

    def close(self) -> None:
        self._backbone = None
        self._prompts.clear()
