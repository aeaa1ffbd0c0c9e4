"""CLIP text alignment and CLIP temporal consistency (open_clip).

Convention (stated in every score record and in ``--help``): **raw cosine similarity**, no scaling
and no clamp, on L2-normalised CLIP embeddings, averaged over the frames of one video:

- ``clip_text``: mean over all frames t of cos(image_t, text). FYM-style numbers are about 0.2-0.4.
- ``clip_temporal``: mean over consecutive pairs (t, t+1) of cos(image_t, image_{t+1}); a static
  video scores 1.

Both metrics share one image-embedding pass per video (:meth:`ClipEncoder.encode_frames`); text
embeddings are computed once per prompt. The default model is ViT-B/32 with OpenAI weights in its
QuickGELU form (``ViT-B-32-quickgelu:openai``); ``ARCH:/path/to/weights`` loads a local file,
``ARCH:random`` builds random weights (only for tests and speed measurements: the backend id says so),
and ``toy`` is the small CLIP MotionBench trained on its toy world (for ``data/toy.yaml`` runs).
"""

from __future__ import annotations

import hashlib
import zipfile

import numpy as np

from motionbench import weights
from motionbench.errors import WeightsError
from motionbench.metrics.base import Metric, MetricInputError

DEFAULT_CLIP = "ViT-B-32-quickgelu:openai"
TOY_CLIP = "toy"  # the toy world's own CLIP (motionbench.toy.clip), shipped with the package

CONVENTION_TEXT = ("raw cosine similarity of L2-normalised CLIP image and text embeddings, mean over all "
                   "frames; no scaling (not 100x, not 2.5x), no clamp; range [-1, 1], FYM-style ~0.2-0.4")
CONVENTION_TEMPORAL = ("raw cosine similarity of L2-normalised CLIP image embeddings of consecutive frames "
                       "(t, t+1), mean over the T-1 pairs; no clamp; range [-1, 1], a static video scores 1")


def _normalise(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    return x / np.maximum(np.linalg.norm(x, axis=-1, keepdims=True), 1e-12)


def clip_text_score(image_embeddings: np.ndarray, text_embedding: np.ndarray) -> float:
    """Mean over frames of cos(image_t, text) for ``image_embeddings [T, D]`` and ``text_embedding [D]``.

    Inputs are normalised here, so unnormalised embeddings cannot give a wrong scale.
    """
    img = _normalise(image_embeddings)
    txt = _normalise(text_embedding).reshape(-1)
    return float((img @ txt).mean())


def clip_temporal_score(image_embeddings: np.ndarray) -> float:
    """Mean over t of cos(image_t, image_{t+1}) for ``image_embeddings [T, D]``.

    Raises:
        MetricInputError: fewer than 2 frames.
    """
    img = _normalise(image_embeddings)
    if len(img) < 2:
        raise MetricInputError(f"temporal consistency needs at least 2 frames, got {len(img)}")
    return float(np.sum(img[1:] * img[:-1], axis=-1).mean())


class ClipText(Metric):
    """CLIP text alignment of one video from its frame embeddings and its prompt's embedding."""

    name = "clip_text"
    higher_is_better = True
    version = "1"
    convention = CONVENTION_TEXT
    needs = ("frame_embeddings", "text_embedding")

    def __call__(self, frame_embeddings: np.ndarray, text_embedding: np.ndarray) -> float:  # type: ignore[override]
        return clip_text_score(frame_embeddings, text_embedding)


class ClipTemporal(Metric):
    """CLIP temporal consistency of one video from its frame embeddings."""

    name = "clip_temporal"
    higher_is_better = True
    version = "1"
    convention = CONVENTION_TEMPORAL
    needs = ("frame_embeddings",)

    def __call__(self, frame_embeddings: np.ndarray) -> float:  # type: ignore[override]
        return clip_temporal_score(frame_embeddings)


def _is_torchscript(path) -> bool:
    """Whether ``path`` is a TorchScript zip archive (it has ``<name>/constants.pkl`` and ``<name>/code/``)."""
    if not zipfile.is_zipfile(path):
        return False
    with zipfile.ZipFile(path) as zf:
        names = zf.namelist()
    return any(n.endswith("/constants.pkl") for n in names) and any("/code/" in n for n in names)


class ClipEncoder:
    """An open_clip model with its preprocessing; embeds frames (batched) and prompts (memoised).

    Args:
        spec: ``ARCH:WEIGHTS``: an open_clip pretrained tag, a weights file, or ``random``.
        device: torch device string.
        batch_size: frames per forward pass.

    Raises:
        WeightsError: the weights are not on this machine (the message has the fixing command), or
            the spec is malformed.
    """

    def __init__(self, spec: str = DEFAULT_CLIP, *, device: str = "cpu", batch_size: int = 32) -> None:
        import open_clip
        import torch

        self.spec = spec
        self.device = device
        self.batch_size = batch_size
        self._text: dict[str, np.ndarray] = {}
        self.frames_encoded = 0  # counters for the caching benchmark and tests
        self.texts_encoded = 0
        if spec == TOY_CLIP:
            self._load_toy()
            return
        self.arch, tag = weights.parse_clip_spec(spec)
        if self.arch not in open_clip.list_models():
            raise WeightsError(f"CLIP architecture {self.arch!r} is not known to open_clip; "
                               "examples: ViT-B-32-quickgelu, ViT-L-14-quickgelu")
        if tag == "random":
            located = None
            self.backend = f"open_clip:{self.arch}:random-init"
        else:
            located = weights.locate_clip(self.arch, tag)
            label = located.path.name if weights.is_weight_path(tag) else tag
            self.backend = f"open_clip:{self.arch}:{label}:sha256={located.sha256[:12]}"
        # The preprocessing (mean, std, resize) of the named weights; OpenAI's for files and random.
        cfg = ({} if tag == "random" or weights.is_weight_path(tag)
               else open_clip.pretrained.get_pretrained_cfg(self.arch, tag))
        preprocess_kw = {k: cfg[c] for k, c in (("image_mean", "mean"), ("image_std", "std"),
                                                ("image_interpolation", "interpolation"),
                                                ("image_resize_mode", "resize_mode")) if cfg.get(c)}
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(0)  # random-init models are reproducible, without touching the caller's RNG
            model, _, preprocess = open_clip.create_model_and_transforms(self.arch, pretrained=None, device="cpu",
                                                                         **preprocess_kw)
        if located is not None:
            try:
                if _is_torchscript(located.path):
                    # OpenAI's own .pt files are TorchScript archives, which torch.load refuses with
                    # weights_only=True; torch.jit.load reads them without unpickling Python objects.
                    # Their parameter names are open_clip's; the extras are constants and buffers.
                    state = torch.jit.load(str(located.path), map_location="cpu").state_dict()
                    for key in ("input_resolution", "context_length", "vocab_size", "attn_mask"):
                        state.pop(key, None)
                    model.load_state_dict(state, strict=True)
                else:
                    open_clip.load_checkpoint(model, str(located.path))
            except Exception as exc:  # wrong file for the architecture, corrupt archive, ...
                raise WeightsError(f"{located.path}: cannot be loaded into {self.arch} ({type(exc).__name__}: "
                                   f"{str(exc)[:200]}); check that the file matches the architecture") from None
        self.model = model.to(device).eval()
        self.preprocess = preprocess
        self.tokenizer = open_clip.get_tokenizer(self.arch)

    def _load_toy(self) -> None:
        """The toy world's CLIP, shipped with MotionBench (:mod:`motionbench.toy.clip`); its word tokenizer."""
        from motionbench.toy.assets import toy_clip_folder
        from motionbench.toy.clip import TOY_CLIP_NAME, ToyClipTokenizer, load_model

        try:
            folder = toy_clip_folder()
        except WeightsError as exc:
            raise weights.WeightsMissing(str(exc)) from None
        digest = hashlib.sha256((folder / "model.safetensors").read_bytes()).hexdigest()
        self.arch = TOY_CLIP_NAME
        self.backend = f"open_clip:{TOY_CLIP_NAME}:motionbench-toy:sha256={digest[:12]}"
        model, self.preprocess = load_model(folder)
        self.model = model.to(self.device).eval()
        self.tokenizer = ToyClipTokenizer()

    def encode_frames(self, frames: np.ndarray) -> np.ndarray:
        """L2-normalised image embeddings ``[T, D]`` (float32) of uint8 frames ``[T, H, W, 3]``."""
        import torch
        from PIL import Image

        out = []
        with torch.no_grad():
            for i in range(0, len(frames), self.batch_size):
                batch = torch.stack([self.preprocess(Image.fromarray(f)) for f in frames[i:i + self.batch_size]])
                emb = self.model.encode_image(batch.to(self.device)).float()
                out.append(torch.nn.functional.normalize(emb, dim=-1).cpu().numpy())
        self.frames_encoded += len(frames)
        return np.concatenate(out)

    def encode_text(self, prompt: str) -> np.ndarray:
        """L2-normalised text embedding ``[D]`` (float32), computed once per prompt."""
        import torch

        if prompt not in self._text:
            with torch.no_grad():
                emb = self.model.encode_text(self.tokenizer([prompt]).to(self.device)).float()
            self._text[prompt] = torch.nn.functional.normalize(emb, dim=-1)[0].cpu().numpy()
            self.texts_encoded += 1
        return self._text[prompt]
