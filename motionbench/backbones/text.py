"""Text side of Wan: offline stand-in tokenizer and UMT5 encoder, and prompt encoding.

The real Wan2.1 text encoder is UMT5-XXL (4096-d output) with its sentencepiece tokenizer, loaded
from the pipeline folder. For the random-weight configs nothing may come from the hub, so:

* the tokenizer is byte-level: every UTF-8 byte is one token (256 tokens + ``<pad>``, ``</s>``,
  ``<unk>``), built in memory with the ``tokenizers`` library and wrapped in
  :class:`transformers.PreTrainedTokenizerFast`; distinct prompts give distinct token sequences;
* the encoder is a small random :class:`transformers.UMT5EncoderModel` whose output width matches
  the transformer's ``text_dim`` (32 for ``tiny``; 4096 for ``wan2.1-1.3b-random``, where it is a
  1-layer stand-in: prompt encoding runs once per prompt and is not part of the tuning cost).
"""

from __future__ import annotations

from typing import Sequence

import torch

PAD, EOS, UNK = "<pad>", "</s>", "<unk>"


def build_byte_tokenizer(max_length: int = 64):
    """A byte-level tokenizer built offline (no vocabulary files, no hub).

    Token ids: 0 ``<pad>``, 1 ``</s>``, 2 ``<unk>``, then the 256 byte symbols; ``</s>`` is appended
    to every sequence as in T5.
    """
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors
    from transformers import PreTrainedTokenizerFast

    vocab = {PAD: 0, EOS: 1, UNK: 2}
    for symbol in sorted(pre_tokenizers.ByteLevel.alphabet()):
        vocab[symbol] = len(vocab)
    tok = Tokenizer(models.BPE(vocab=vocab, merges=[], unk_token=UNK))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    tok.decoder = decoders.ByteLevel()
    tok.post_processor = processors.TemplateProcessing(single=f"$A {EOS}", special_tokens=[(EOS, 1)])
    return PreTrainedTokenizerFast(tokenizer_object=tok, pad_token=PAD, eos_token=EOS, unk_token=UNK,
                                   model_max_length=max_length)


def build_text_encoder(d_model: int, num_layers: int = 2, num_heads: int = 4, d_kv: int = 8, d_ff: int = 64,
                       vocab_size: int = 259, seed: int = 0):
    """A random UMT5 encoder with output width ``d_model`` (seeded, so reproducible)."""
    from transformers import UMT5Config, UMT5EncoderModel

    config = UMT5Config(vocab_size=vocab_size, d_model=d_model, d_kv=d_kv, d_ff=d_ff, num_layers=num_layers,
                        num_heads=num_heads, relative_attention_num_buckets=8,
                        relative_attention_max_distance=32, dropout_rate=0.0, pad_token_id=0,
                        eos_token_id=1, decoder_start_token_id=0)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = UMT5EncoderModel(config)
    return model.eval().requires_grad_(False)


@torch.no_grad()
def encode_text(tokenizer, text_encoder, prompts: Sequence[str], max_length: int,
                device: torch.device | str, dtype: torch.dtype) -> torch.Tensor:
    """Prompts -> ``[B, max_length, D]`` embeddings, zeroed past each prompt's last token.

    Mirrors the Wan pipeline: pad to ``max_length``, run the encoder with the attention mask and
    zero the padded positions (the transformer sees them as empty context).
    """
    enc = tokenizer(list(prompts), padding="max_length", max_length=max_length, truncation=True,
                    add_special_tokens=True, return_attention_mask=True, return_tensors="pt")
    ids, mask = enc.input_ids, enc.attention_mask
    model_device = next(text_encoder.parameters()).device
    hidden = text_encoder(ids.to(model_device), attention_mask=mask.to(model_device)).last_hidden_state
    hidden = hidden * mask.to(model_device).unsqueeze(-1).to(hidden.dtype)
    return hidden.to(device=device, dtype=dtype)
