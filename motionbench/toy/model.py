"""The toy text-to-video model's architecture: a small Wan2.1 DiT, the PCA codec, a tiny UMT5, a word tokenizer.

Everything is a stock class of diffusers or transformers built from a small config, saved in the
diffusers pipeline layout (``transformer/``, ``vae/``, ``text_encoder/``, ``tokenizer/``), so
:func:`motionbench.backbones.load_backbone` loads the trained toy model exactly as it loads real
Wan2.1 weights from a folder.

* transformer: ``WanTransformer3DModel``, 6 blocks of 4 heads x 32 (dim 128), FFN 256, patch
  (1, 1, 1) on the codec's 48-channel latents (8 x 8 tokens per latent frame at 32 x 32 pixels);
* vae: :class:`motionbench.toy.codec.ToyPCACodec` (4 frames x 4 x 4 pixels per token);
* text_encoder: ``UMT5EncoderModel``, 2 layers, d_model 64, trained jointly with the transformer;
* tokenizer: a word-level ``tokenizers`` model over the toy vocabulary
  (:func:`motionbench.bench.toy.words`), ``</s>`` appended as in T5, unknown words -> ``<unk>``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch

from motionbench.bench.toy.vocab import words

PAD, EOS, UNK = "<pad>", "</s>", "<unk>"
MAX_TEXT_LENGTH = 16


@dataclass(frozen=True)
class ToyArchitecture:
    """Constructor arguments of the three networks (the codec's come from its fit)."""

    transformer: dict[str, Any] = field(default_factory=lambda: dict(
        patch_size=(1, 1, 1), num_attention_heads=4, attention_head_dim=32, in_channels=48, out_channels=48,
        text_dim=64, freq_dim=64, ffn_dim=256, num_layers=6, cross_attn_norm=True, qk_norm="rms_norm_across_heads",
        eps=1e-6, rope_max_seq_len=64))
    text_encoder: dict[str, Any] = field(default_factory=lambda: dict(
        d_model=64, num_layers=2, num_heads=4, d_kv=16, d_ff=128))
    max_text_length: int = MAX_TEXT_LENGTH

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def build_tokenizer():
    """The word-level tokenizer of the toy captions (ids: 0 pad, 1 ``</s>``, 2 unk, then the words)."""
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, processors
    from transformers import PreTrainedTokenizerFast

    vocab = {PAD: 0, EOS: 1, UNK: 2}
    for w in words():
        vocab[w] = len(vocab)
    tok = Tokenizer(models.WordLevel(vocab=vocab, unk_token=UNK))
    tok.normalizer = normalizers.Lowercase()
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    tok.post_processor = processors.TemplateProcessing(single=f"$A {EOS}", special_tokens=[(EOS, 1)])
    return PreTrainedTokenizerFast(tokenizer_object=tok, pad_token=PAD, eos_token=EOS, unk_token=UNK,
                                   model_max_length=MAX_TEXT_LENGTH)


def build_networks(arch: ToyArchitecture, seed: int = 0):
    """Freshly initialised (transformer, text_encoder), seeded; a VACE transformer when the config has ``vace_layers``."""
    from diffusers import WanTransformer3DModel, WanVACETransformer3DModel
    from transformers import UMT5Config, UMT5EncoderModel

    vocab_size = 3 + len(words())
    te = arch.text_encoder
    config = UMT5Config(vocab_size=vocab_size, d_model=te["d_model"], d_kv=te["d_kv"], d_ff=te["d_ff"],
                        num_layers=te["num_layers"], num_heads=te["num_heads"], relative_attention_num_buckets=8,
                        relative_attention_max_distance=16, dropout_rate=0.0, pad_token_id=0, eos_token_id=1,
                        decoder_start_token_id=0)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        cls = WanVACETransformer3DModel if "vace_layers" in arch.transformer else WanTransformer3DModel
        transformer = cls(**arch.transformer)
        text_encoder = UMT5EncoderModel(config)
    return transformer, text_encoder


def embed_captions(tokenizer, text_encoder, captions: list[str], max_length: int, device: torch.device) -> torch.Tensor:
    """Caption embeddings ``[B, L, D]`` with gradients (training), zeroed past each caption's end as Wan does."""
    enc = tokenizer(list(captions), padding="max_length", max_length=max_length, truncation=True,
                    return_attention_mask=True, return_tensors="pt")
    ids, mask = enc.input_ids.to(device), enc.attention_mask.to(device)
    hidden = text_encoder(ids, attention_mask=mask).last_hidden_state
    return hidden * mask.unsqueeze(-1).to(hidden.dtype)


def save_pipeline(folder: Path, transformer, codec, text_encoder, tokenizer) -> None:
    """Write the diffusers layout that :func:`motionbench.backbones.load_backbone` reads."""
    folder = Path(folder)
    transformer.save_pretrained(folder / "transformer", safe_serialization=True)
    codec.save_pretrained(folder / "vae", safe_serialization=True)
    text_encoder.save_pretrained(folder / "text_encoder", safe_serialization=True)
    tokenizer.save_pretrained(folder / "tokenizer")
