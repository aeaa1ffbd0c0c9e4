"""CLIP text alignment and temporal consistency with a tiny open_clip model (random weights, no network)."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest

from motionbench.metrics.scorer import FeatureOptions, build_scorer
from motionbench.metrics.api import ScoringItem
from motionbench.metrics.clip import ClipEncoder, clip_temporal_score, clip_text_score
from motionbench.video import Clip

TINY = "mb-tiny-clip"


@pytest.fixture(scope="module", autouse=True)
def tiny_clip_config(tmp_path_factory):
    """Register a tiny CLIP architecture with open_clip (a JSON config, as open_clip ships its own)."""
    import open_clip
    import torch

    torch.set_num_threads(1)
    cfg = {
        "embed_dim": 32,
        "quick_gelu": True,
        "vision_cfg": {"image_size": 32, "layers": 2, "width": 64, "head_width": 32, "patch_size": 8},
        "text_cfg": {"context_length": 77, "vocab_size": 49408, "width": 64, "heads": 2, "layers": 2},
    }
    path = tmp_path_factory.mktemp("clipcfg") / f"{TINY}.json"
    path.write_text(json.dumps(cfg))
    open_clip.add_model_config(path)
    yield


@pytest.fixture(scope="module")
def encoder():
    return ClipEncoder(f"{TINY}:random")


def frames(seed: int, t: int = 6, size: int = 40) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (t, size, size, 3), dtype=np.uint8)


def test_static_video_has_temporal_consistency_one(encoder):
    video = np.repeat(frames(0, t=1), 5, axis=0)
    emb = encoder.encode_frames(video)
    assert clip_temporal_score(emb) == pytest.approx(1.0, abs=1e-6)


def test_changing_video_is_less_consistent_than_a_static_one(encoder):
    assert clip_temporal_score(encoder.encode_frames(frames(1))) < 0.999


def test_text_and_temporal_scores_stay_in_range(encoder):
    for seed in range(3):
        emb = encoder.encode_frames(frames(seed))
        for prompt in ("a dog running on a beach", "", "a red car turning left at night"):
            s = clip_text_score(emb, encoder.encode_text(prompt))
            assert -1.0 <= s <= 1.0
        assert -1.0 <= clip_temporal_score(emb) <= 1.0


def test_embeddings_are_normalised_and_deterministic(encoder):
    emb = encoder.encode_frames(frames(5, t=3))
    assert np.allclose(np.linalg.norm(emb, axis=1), 1.0, atol=1e-5)
    again = ClipEncoder(f"{TINY}:random").encode_frames(frames(5, t=3))
    assert np.allclose(emb, again, atol=1e-5)


def test_scores_match_a_hand_computed_example():
    img = np.array([[3.0, 4.0], [1.0, 0.0], [0.0, 2.0]])  # unnormalised on purpose
    txt = np.array([0.0, 5.0])
    # cosines with the text: 0.8, 0, 1 -> mean 0.6; consecutive pairs: 0.6, 0 -> mean 0.3
    assert clip_text_score(img, txt) == pytest.approx(0.6)
    assert clip_temporal_score(img) == pytest.approx(0.3)


def test_temporal_needs_two_frames():
    with pytest.raises(ValueError, match="at least 2 frames"):
        clip_temporal_score(np.ones((1, 4)))


def test_a_local_weights_file_loads_and_names_its_checksum(encoder, tmp_path):
    import torch

    path = tmp_path / "tiny.pt"
    torch.save(encoder.model.state_dict(), path)
    enc = ClipEncoder(f"{TINY}:{path}")
    import hashlib

    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    assert enc.backend == f"open_clip:{TINY}:tiny.pt:sha256={digest[:12]}"  # the run records name this file
    v = frames(9, t=3)
    assert np.allclose(enc.encode_frames(v), encoder.encode_frames(v), atol=1e-5)


def test_scorer_shares_one_image_pass_and_one_text_pass_per_prompt(tmp_path):
    scorer = build_scorer(("clip_text", "clip_temporal"), FeatureOptions(clip=f"{TINY}:random"))
    encoder = scorer.provider("frame_embeddings").encoder
    ref = Clip(frames(0), 8.0)
    items = [ScoringItem(f"job{i}", Clip(frames(10 + i), 8.0), "a cat" if i % 2 else "a dog") for i in range(4)]
    out = scorer.score_sample(ref, items, cache_dir=tmp_path)
    assert encoder.frames_encoded == sum(it.clip.num_frames for it in items)
    assert encoder.texts_encoded == 2
    for it in items:
        got = {v.metric: v for v in out[it.job]}
        assert set(got) == {"clip_text", "clip_temporal"}
        emb = encoder.encode_frames(it.clip.frames)
        assert got["clip_text"].value == pytest.approx(clip_text_score(emb, encoder.encode_text(it.prompt)), abs=1e-6)
        assert got["clip_temporal"].status == "ok" and got["clip_temporal"].backend.endswith("random-init")


def test_missing_weights_are_skipped_with_the_command_never_zero(tmp_path, monkeypatch):
    import huggingface_hub

    monkeypatch.setenv("MOTIONBENCH_CACHE", str(tmp_path / "mb"))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setattr(huggingface_hub, "try_to_load_from_cache", lambda *a, **k: None)
    scorer = build_scorer(("clip_text", "clip_temporal"))
    out = scorer.score_sample(Clip(frames(0), 8.0), [ScoringItem("j", Clip(frames(1), 8.0), "a dog")])
    for v in out["j"]:
        assert v.status == "skipped" and v.value is None
        assert "motionbench download clip" in v.reason
    assert scorer.backends()["clip_text"].endswith("unavailable")


def test_bad_clip_specs_are_clear_errors():
    from motionbench.errors import WeightsError

    with pytest.raises(WeightsError, match="ARCH:WEIGHTS"):
        build_scorer(("clip_text",), FeatureOptions(clip="ViT-B-32"))
    with pytest.raises(WeightsError, match="not found"):
        build_scorer(("clip_text",), FeatureOptions(clip=f"{TINY}:/nonexistent/weights.pt"))
    with pytest.raises(WeightsError, match="not known to open_clip"):
        build_scorer(("clip_text",), FeatureOptions(clip="NoSuchArch:openai"))


def test_an_openai_style_torchscript_file_loads(encoder, tmp_path):
    """OpenAI publishes CLIP as TorchScript archives; they must load like plain state dicts."""
    import torch

    from motionbench.metrics.clip import _is_torchscript

    image = torch.zeros(1, 3, 32, 32)
    traced = torch.jit.trace_module(encoder.model, {"encode_image": image}, check_trace=False)
    path = tmp_path / "ViT-tiny.pt"
    torch.jit.save(traced, str(path))
    assert _is_torchscript(path)
    enc = ClipEncoder(f"{TINY}:{path}")
    v = frames(4, t=3)
    assert np.allclose(enc.encode_frames(v), encoder.encode_frames(v), atol=1e-5)
    assert np.allclose(enc.encode_text("a dog"), encoder.encode_text("a dog"), atol=1e-5)


def test_building_a_random_model_leaves_the_callers_rng_alone():
    import torch

    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    ClipEncoder(f"{TINY}:random")
    assert torch.equal(torch.rand(3), expected)


def test_frames_reach_the_model_as_rgb_with_openais_normalisation(encoder):
    """encode_frames against the preprocessing written out by hand: RGB channel order, values / 255,
    then OpenAI's per-channel mean and std (what CLIP was trained on; the weights-free specs use it too).
    Frames at the model's input size pass resize and crop unchanged."""
    import torch

    video = frames(11, t=3, size=32)
    mean = torch.tensor([0.48145466, 0.4578275, 0.40821073]).view(1, 3, 1, 1)
    std = torch.tensor([0.26862954, 0.26130258, 0.27577711]).view(1, 3, 1, 1)

    def by_hand(rgb: np.ndarray) -> np.ndarray:
        x = (torch.from_numpy(rgb).permute(0, 3, 1, 2).float() / 255.0 - mean) / std
        with torch.no_grad():
            return torch.nn.functional.normalize(encoder.model.encode_image(x).float(), dim=-1).numpy()

    expected = by_hand(video)
    np.testing.assert_allclose(encoder.encode_frames(video), expected, atol=1e-5)
    # the check can tell the channel orders apart: BGR gives other embeddings
    assert np.abs(by_hand(np.ascontiguousarray(video[..., ::-1])) - expected).max() > 1e-2


def test_a_zero_embedding_scores_zero_not_nan():
    d = 8
    text = np.ones(d)
    assert clip_text_score(np.zeros((3, d)), text) == 0.0
    frames_ = np.stack([np.ones(d), np.zeros(d), np.ones(d)])
    assert clip_temporal_score(frames_) == 0.0  # each pair has the zero frame: cos counted as 0


def test_both_clip_scores_rank_higher_as_better():
    """The report's best row and "vs best" tests read this: an aligned, steady video is the better one."""
    from motionbench.metrics.clip import ClipTemporal, ClipText

    assert ClipText.higher_is_better is True and ClipTemporal.higher_is_better is True


def test_a_file_that_is_not_a_clip_checkpoint_is_a_clear_error(tmp_path):
    from motionbench.errors import WeightsError

    path = tmp_path / "notes.pt"
    path.write_bytes(b"not a checkpoint at all")
    with pytest.raises(WeightsError, match=rf"{path}: cannot be loaded into {TINY} \(.*\); check that the file "
                                           "matches the architecture"):
        ClipEncoder(f"{TINY}:{path}")


def test_the_toy_clip_names_its_shipped_weights_checksum():
    import hashlib

    from motionbench.metrics.clip import TOY_CLIP
    from motionbench.toy.assets import toy_clip_folder
    from motionbench.toy.clip import TOY_CLIP_NAME

    enc = ClipEncoder(TOY_CLIP)
    digest = hashlib.sha256((toy_clip_folder() / "model.safetensors").read_bytes()).hexdigest()
    assert enc.arch == TOY_CLIP_NAME
    assert enc.backend == f"open_clip:{TOY_CLIP_NAME}:motionbench-toy:sha256={digest[:12]}"
    assert enc.encode_frames(frames(1, t=2)).shape[0] == 2


def test_a_legacy_non_zip_checkpoint_loads_as_a_plain_state_dict(encoder, tmp_path):
    """Only zip archives can be TorchScript; an old-format torch.save file goes to open_clip's loader."""
    import torch

    path = tmp_path / "legacy.pt"
    torch.save(encoder.model.state_dict(), path, _use_new_zipfile_serialization=False)
    v = frames(4, t=2)
    assert np.allclose(ClipEncoder(f"{TINY}:{path}").encode_frames(v), encoder.encode_frames(v), atol=1e-5)


def test_a_toy_spec_given_as_a_fresh_string_loads_the_toy_clip():
    """``--clip toy`` arrives as a new string from the command line, equal to but not the constant."""
    from motionbench.metrics.clip import TOY_CLIP
    from motionbench.toy.clip import TOY_CLIP_NAME

    spec = "".join(["to", "y"])
    assert spec == TOY_CLIP and spec is not TOY_CLIP
    enc = ClipEncoder(spec)
    assert enc.arch == TOY_CLIP_NAME and enc.backend.startswith(f"open_clip:{TOY_CLIP_NAME}:motionbench-toy:")


def test_an_installation_without_the_toy_clip_skips_its_scores_with_the_retrain_command(tmp_path, monkeypatch):
    from motionbench.toy import assets

    monkeypatch.setattr(assets, "_asset", lambda *parts: tmp_path.joinpath(*parts))  # no shipped assets
    scorer = build_scorer(("clip_text", "clip_temporal"), FeatureOptions(clip="toy"))
    out = scorer.score_sample(Clip(frames(0), 8.0), [ScoringItem("j", Clip(frames(1), 8.0), "a dog")])
    for v in out["j"]:
        assert v.status == "skipped" and v.value is None
        assert "motionbench toy train-clip" in v.reason
    assert scorer.backends()["clip_text"] == "open_clip:toy:unavailable"


def test_a_named_pretrained_tag_uses_that_tags_preprocessing(encoder, tmp_path, monkeypatch):
    """Weights named by an open_clip tag are fed frames normalised with the mean and std open_clip lists
    for that tag (not OpenAI's, which only files and random weights fall back on)."""
    import open_clip
    import torch

    mean, std = (0.5, 0.4, 0.3), (0.2, 0.25, 0.3)
    table = {"mbtest": {"url": "https://example.invalid/mb-tiny.pt", "mean": mean, "std": std}}
    monkeypatch.setitem(open_clip.pretrained._PRETRAINED, TINY, table)
    monkeypatch.setenv("MOTIONBENCH_CACHE", str(tmp_path))
    cached = tmp_path / "weights" / "clip" / TINY / "mbtest" / "mb-tiny.pt"  # as `motionbench download clip` puts it
    cached.parent.mkdir(parents=True)
    torch.save(encoder.model.state_dict(), cached)
    enc = ClipEncoder(f"{TINY}:mbtest")
    assert enc.backend.startswith(f"open_clip:{TINY}:mbtest:sha256=")
    video = frames(12, t=2, size=32)
    x = torch.from_numpy(video).permute(0, 3, 1, 2).float() / 255.0
    x = (x - torch.tensor(mean).view(1, 3, 1, 1)) / torch.tensor(std).view(1, 3, 1, 1)
    with torch.no_grad():
        expected = torch.nn.functional.normalize(encoder.model.encode_image(x).float(), dim=-1).numpy()
    np.testing.assert_allclose(enc.encode_frames(video), expected, atol=1e-5)


def _deeper_arch_with_a_torchscript_file_of_the_tiny_one(encoder, tmp_path):
    """A TINY TorchScript archive and the name of an architecture with one more vision layer."""
    import open_clip
    import torch

    deep = f"{TINY}-deep"
    cfg = json.loads(json.dumps(open_clip.get_model_config(TINY)))  # a copy of the tiny config
    cfg["vision_cfg"]["layers"] = 3
    cfg_path = tmp_path / f"{deep}.json"
    cfg_path.write_text(json.dumps(cfg))
    open_clip.add_model_config(cfg_path)
    traced = torch.jit.trace_module(encoder.model, {"encode_image": torch.zeros(1, 3, 32, 32)}, check_trace=False)
    path = tmp_path / "ViT-tiny.pt"
    torch.jit.save(traced, str(path))
    return deep, path


def test_a_torchscript_file_missing_layers_of_the_architecture_is_a_clear_error(encoder, tmp_path):
    """Loading must not leave the layers the file lacks at their random initial values."""
    from motionbench.errors import WeightsError

    deep, path = _deeper_arch_with_a_torchscript_file_of_the_tiny_one(encoder, tmp_path)
    with pytest.raises(WeightsError, match=rf"(?s){re.escape(str(path))}: cannot be loaded into {deep} \(.*Missing key"):
        ClipEncoder(f"{deep}:{path}")


def test_a_long_loading_error_quotes_only_the_first_200_characters_of_its_cause(encoder, tmp_path):
    from motionbench.errors import WeightsError

    deep, path = _deeper_arch_with_a_torchscript_file_of_the_tiny_one(encoder, tmp_path)
    with pytest.raises(WeightsError) as info:
        ClipEncoder(f"{deep}:{path}")
    cause = str(info.value.__context__)  # the loader's own error, hidden from the traceback by `from None`
    assert len(cause) > 200
    assert str(info.value) == (f"{path}: cannot be loaded into {deep} (RuntimeError: {cause[:200]}); "
                               "check that the file matches the architecture")


def test_a_pretrained_tag_named_after_random_in_sort_order_uses_its_own_preprocessing(encoder, tmp_path, monkeypatch):
    """Only the tag ``random`` itself falls back on OpenAI's preprocessing; a tag such as ``webli``
    (SigLIP's), sorting after it, gets the mean and std open_clip lists for it."""
    import open_clip
    import torch

    mean, std = (0.5, 0.5, 0.5), (0.5, 0.5, 0.5)
    table = {"webli": {"url": "https://example.invalid/mb-tiny-webli.pt", "mean": mean, "std": std}}
    monkeypatch.setitem(open_clip.pretrained._PRETRAINED, TINY, table)
    monkeypatch.setenv("MOTIONBENCH_CACHE", str(tmp_path))
    cached = tmp_path / "weights" / "clip" / TINY / "webli" / "mb-tiny-webli.pt"
    cached.parent.mkdir(parents=True)
    torch.save(encoder.model.state_dict(), cached)
    video = frames(13, t=2, size=32)
    x = torch.from_numpy(video).permute(0, 3, 1, 2).float() / 255.0
    x = (x - torch.tensor(mean).view(1, 3, 1, 1)) / torch.tensor(std).view(1, 3, 1, 1)
    with torch.no_grad():
        expected = torch.nn.functional.normalize(encoder.model.encode_image(x).float(), dim=-1).numpy()
    np.testing.assert_allclose(ClipEncoder(f"{TINY}:webli").encode_frames(video), expected, atol=1e-5)


def test_a_prompts_text_embedding_is_the_unit_vector_of_the_models_text_features(encoder):
    import torch

    got = encoder.encode_text("a dog runs along a beach")
    with torch.no_grad():
        raw = encoder.model.encode_text(encoder.tokenizer(["a dog runs along a beach"])).float()[0]
    assert got.shape == (32,) and np.linalg.norm(got) == pytest.approx(1.0, abs=1e-5)
    np.testing.assert_allclose(got, (raw / raw.norm()).numpy(), atol=1e-6)


def test_two_frames_are_enough_for_temporal_consistency():
    # one consecutive pair: its cosine, (3*4 + 4*0) / (5*4) = 0.6
    assert clip_temporal_score(np.array([[3.0, 4.0], [4.0, 0.0]])) == pytest.approx(0.6)


def test_frames_are_embedded_32_a_forward_pass_by_default():
    """The default batch bounds the memory of one image pass: 33 frames take a pass of 32 and one of 1."""
    enc = ClipEncoder(f"{TINY}:random")
    sizes = []
    hook = enc.model.visual.register_forward_hook(lambda module, args, out: sizes.append(len(args[0])))
    try:
        enc.encode_frames(frames(14, t=33, size=32))
    finally:
        hook.remove()
    assert sizes == [32, 1]


def test_random_init_weights_are_open_clips_initialisation_under_seed_zero():
    """``ARCH:random`` names one model (its backend id carries no seed): the one open_clip builds after
    ``torch.manual_seed(0)``, in every process and every MotionBench version that writes that id."""
    import open_clip
    import torch

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        reference = open_clip.create_model(TINY, pretrained=None)
    got = ClipEncoder(f"{TINY}:random").model.state_dict()
    want = reference.state_dict()
    assert got.keys() == want.keys()
    assert all(torch.equal(got[k], want[k]) for k in want)
