"""The engine's logits against an independent numpy float64 forward pass
(reference.py) on tiny random models written by gguf-py, on the real
models in the shared assets, and after conversions to ternary types."""

from __future__ import annotations

import numpy as np
import pytest
from gguf import GGMLQuantizationType as QT
from gguf import GGUFReader
from gguf.quants import dequantize

import reference
from ggufmodels import Shape, Spec, write_gguf

TOKENS = [1, 17, 260, 5, 299, 42, 3, 100]
TOL = 1e-3  # max |engine - reference| / max |reference|, per position

VARIANTS = {
    # llama: float activations for float and block-quantized weights.
    "llama-f32": Spec(Shape("llama"), "float", QT.F32, QT.F32, output=True, seed=1),
    "llama-f16": Spec(Shape("llama"), "float", QT.F16, QT.F16, output=True, seed=2),
    "llama-q8_0": Spec(Shape("llama"), "float", QT.Q8_0, QT.Q8_0, output=True, seed=3),
    # llama with TQ2_0 weights: the int8 path with per-block d.
    "llama-tq2_0": Spec(Shape("llama"), "blocks", QT.TQ2_0, QT.F32, output=True, seed=9),
    # partial rotary embeddings (32 of 64 elements per head), both pairings.
    "llama-f32-rope32": Spec(Shape("llama", rope_dims=32), "float", QT.F32, QT.F32, output=True, seed=10),
    "bitnet-ternary-f32-rope32": Spec(Shape("bitnet", rope_dims=32), "ternary", QT.F32, QT.F32, output=True, scales=True, seed=11),
    # bitnet: ternary-valued F32 weights, per-matrix .scale, separate head.
    "bitnet-ternary-f32": Spec(Shape("bitnet"), "ternary", QT.F32, QT.F32, output=True, scales=True, seed=4),
    # bitnet: Gaussian F32 weights, ternarized with absmean at load.
    "bitnet-absmean-f32": Spec(Shape("bitnet"), "float", QT.F32, QT.F32, output=True, seed=5),
    # bitnet-b1.58: gguf-py's TQ quantizers (d = max|x| per 256-block, so
    # each block has its own d), head tied to an F16 embedding.
    "b1.58-tq2_0": Spec(Shape("bitnet-b1.58"), "blocks", QT.TQ2_0, QT.F16, output=False, seed=6),
    "b1.58-tq1_0": Spec(Shape("bitnet-b1.58"), "blocks", QT.TQ1_0, QT.F16, output=False, seed=7),
    # the same with one d for every block of a matrix (exactly ternary).
    "b1.58-tq2_0-uniform": Spec(Shape("bitnet-b1.58"), "blocks-uniform", QT.TQ2_0, QT.F16, output=False, seed=8),
}
PER_BLOCK_TQ = ["b1.58-tq2_0", "b1.58-tq1_0"]
TERNARY = ["llama-tq2_0", "bitnet-ternary-f32", "bitnet-absmean-f32", *PER_BLOCK_TQ, "b1.58-tq2_0-uniform"]


def assert_close(got, want, tol=TOL, what=""):
    """Engine vs engine (or vs a plain reference run): every position."""
    assert np.all(np.isfinite(got)), f"{what}: non-finite logits"
    err = reference.errors(got, want)
    assert err.max() < tol, f"{what}: relative error per position {np.array2string(err, precision=2)} (limit {tol})"


def assert_matches_reference(model, logits, tokens=TOKENS, what=""):
    """Engine vs reference, allowing isolated float32/float64 rounding
    flips of activations that lie on a rounding tie (reference.agrees)."""
    assert np.all(np.isfinite(logits)), f"{what}: non-finite logits"
    ok, err, flips = reference.agrees(model, tokens, logits, TOL)
    assert ok, f"{what}: relative error per position {np.array2string(err, precision=2)} (limit {TOL})"


def disagrees(model, logits, tokens=TOKENS):
    return not reference.agrees(model, tokens, logits, TOL)[0]


@pytest.fixture(scope="module")
def model_file(tmp_path_factory):
    """model_file(variant) -> path of the model written by gguf-py (once)."""
    d = tmp_path_factory.mktemp("models")
    cache = {}

    def get(name):
        if name not in cache:
            cache[name] = d / f"{name}.gguf"
            write_gguf(cache[name], VARIANTS[name])
        return cache[name]

    return get


@pytest.fixture(scope="module")
def engine_logits(bitnet, model_file):
    cache = {}

    def get(name):
        if name not in cache:
            cache[name] = bitnet.logits(model_file(name), TOKENS)
        return cache[name]

    return get


@pytest.mark.parametrize("variant", VARIANTS)
def test_engine_logits_match_numpy_reference(variant, model_file, engine_logits):
    assert_matches_reference(reference.load(model_file(variant)), engine_logits(variant), what=variant)


def test_tq_fixtures_have_distinct_block_scales(model_file):
    """The per-block TQ models really exercise per-block d (and the uniform
    one does not), as read by gguf-py."""
    for name in [*PER_BLOCK_TQ, "b1.58-tq2_0-uniform"]:
        m = reference.load(model_file(name))
        d = m.layers[0]["attn_q"].block_d
        assert d.shape == (256, 1) and m.layers[0]["ffn_down"].block_d.shape == (256, 2)
        n_distinct = len(np.unique(m.layers[0]["ffn_up"].block_d))
        assert (n_distinct > 100) if name in PER_BLOCK_TQ else (n_distinct == 1), name


# --- tests of the test: a reference that is wrong in one detail must fail ---


def _broken(path, **overrides):
    return reference.load(path, **overrides)


@pytest.mark.parametrize("variant", ["llama-f32", "llama-f32-rope32", "bitnet-ternary-f32", "bitnet-ternary-f32-rope32", "b1.58-tq2_0"])
def test_comparison_fails_with_the_other_rope_pairing(variant, model_file, engine_logits):
    m = reference.load(model_file(variant))
    other = "half" if m.cfg.rope == "adjacent" else "adjacent"
    assert disagrees(_broken(model_file(variant), rope=other), engine_logits(variant))


@pytest.mark.parametrize("variant", ["llama-f32", "bitnet-ternary-f32", "b1.58-tq1_0"])
def test_comparison_fails_with_the_other_gating(variant, model_file, engine_logits):
    m = reference.load(model_file(variant))
    other = "relu2" if m.cfg.act == "silu" else "silu"
    assert disagrees(_broken(model_file(variant), act=other), engine_logits(variant))


@pytest.mark.parametrize("variant", TERNARY)
def test_comparison_fails_without_activation_quantization(variant, model_file, engine_logits):
    assert disagrees(_broken(model_file(variant), quantize_activations=False), engine_logits(variant))


@pytest.mark.parametrize("variant", ["llama-f32", "bitnet-absmean-f32"])
def test_comparison_fails_without_sub_norms_or_with_them(variant, model_file, engine_logits):
    m = reference.load(model_file(variant))
    if m.cfg.sub_norms:
        assert disagrees(_broken(model_file(variant), sub_norms=False), engine_logits(variant))
    else:
        # A llama reference run as if it were BitNet (ternarized weights).
        assert disagrees(_broken(model_file(variant), bit_linear=True), engine_logits(variant))


def test_rounding_tie_allowance_cannot_absorb_a_real_error(model_file, engine_logits):
    """reference.agrees forgives only flips of near-tie activations: one
    logit moved by 2 * TOL of its position's scale is still caught."""
    name = "bitnet-ternary-f32-rope32"  # has a near-tie the engine rounds the other way
    m, logits = reference.load(model_file(name)), engine_logits(name).copy()
    ok, _, flips = reference.agrees(m, TOKENS, logits, TOL)
    assert ok and flips, "expected this fixture to need one rounding flip"
    logits[5, 7] += 2 * TOL * np.abs(logits[5]).max()
    assert disagrees(m, logits)


def test_reference_activation_quantizer_rounds_half_to_even_and_flips():
    x = np.array([[127.0, -127.0, 0.5, 1.5, -0.5, 2.5, -2.5000001]])
    q, s = reference.Quantizer()(x)
    assert s[0, 0] == 1.0
    np.testing.assert_array_equal(q, [[127, -127, 0, 2, 0, 2, -3]])
    q, _ = reference.Quantizer(flips=[(0, 0, 2), (0, 0, 5)])(x)
    np.testing.assert_array_equal(q, [[127, -127, 1, 2, 0, 3, -3]])


def _one_scale_per_matrix(model):
    """Re-ternarizes each ternary matrix from its dequantized values, as a
    float matrix of a BitNet model (one scale per tensor, absmean unless
    the values are exactly ternary)."""
    for L in model.layers:
        for n in reference.LINEARS:
            lin = L[n]
            codes, a = reference.ternarize(lin.dense() / lin.scale)
            L[n] = reference.Linear(codes=codes, block_d=np.full((codes.shape[0], 1), a), scale=lin.scale)
    return model


@pytest.mark.parametrize("variant", ["llama-tq2_0", *PER_BLOCK_TQ])
def test_comparison_fails_without_per_block_scales(variant, model_file, engine_logits):
    assert disagrees(_one_scale_per_matrix(reference.load(model_file(variant))), engine_logits(variant))


# --- conversions by the engine keep the ternary codes ---


@pytest.mark.parametrize(
    "variant,target",
    [("bitnet-ternary-f32", "i2_s"), ("bitnet-ternary-f32", "tq2_0"), ("bitnet-ternary-f32", "tq1_0"),
     ("b1.58-tq2_0-uniform", "i2_s"), ("b1.58-tq2_0-uniform", "tq1_0")],
)
def test_ternary_conversion_of_exactly_ternary_model_keeps_logits(variant, target, bitnet, model_file, engine_logits, tmp_path):
    src = model_file(variant)
    out = bitnet.convert(src, tmp_path / f"{target}.gguf", target)
    # The stored matrices (codes times scale, decoded by the engine's own
    # f32 conversion since gguf-py cannot read I2_S) are the source's.
    back = {t.name: t for t in GGUFReader(str(bitnet.convert(out, tmp_path / "back.gguf", "f32"))).tensors}
    ref = reference.load(src)
    for i, L in enumerate(ref.layers):
        for n in reference.LINEARS:
            b = f"blk.{i}.{n}"
            w = np.asarray(back[b + ".weight"].data, dtype=np.float64)
            if b + ".scale" in back:
                w = w * float(back[b + ".scale"].data[0])
            np.testing.assert_allclose(w, L[n].dense(), rtol=1e-6, atol=0, err_msg=b)
    got = bitnet.logits(out, TOKENS)
    assert_matches_reference(ref, got, what=f"{variant} -> {target} vs reference")
    # Same codes and scale: at most float32 rounding of scale products
    # differs (were it to flip an activation's rounding, the difference
    # would reach ~1e-3; the reference check above allows for that).
    assert_close(got, engine_logits(variant), tol=1e-5, what=f"{variant} -> {target} vs source")


def _source_codes(path):
    """Ternary codes of every linear matrix, decoded by gguf-py."""
    r = GGUFReader(str(path))
    out = {}
    for t in r.tensors:
        if t.tensor_type in (QT.TQ1_0, QT.TQ2_0):
            out[t.name] = np.sign(dequantize(t.data, t.tensor_type))
    return out


@pytest.mark.parametrize("variant", PER_BLOCK_TQ)
def test_i2s_conversion_of_per_block_tq_keeps_codes(variant, bitnet, model_file, tmp_path):
    """I2_S has one scale per tensor, so a TQ file with per-block d keeps its
    codes but not its scales: the converted model must equal the reference
    run with one absmean scale per matrix, and its codes the source's."""
    src = model_file(variant)
    i2s = bitnet.convert(src, tmp_path / "i2s.gguf", "i2_s")
    back = bitnet.convert(i2s, tmp_path / "back-f32.gguf", "f32")
    got_codes = {t.name: np.sign(t.data.astype(np.float64)) for t in GGUFReader(str(back)).tensors}
    src_codes = _source_codes(src)
    assert len(src_codes) == 14
    for name, codes in src_codes.items():
        np.testing.assert_array_equal(got_codes[name], codes, err_msg=name)
    want = _one_scale_per_matrix(reference.load(src))
    assert_matches_reference(want, bitnet.logits(i2s, TOKENS), what=f"{variant} -> i2_s")


def test_ternary_conversion_of_llama_float_model_is_refused(bitnet, model_file, tmp_path):
    for target in ("i2_s", "tq2_0", "tq1_0"):
        p = bitnet.run("convert", model_file("llama-f32"), tmp_path / f"{target}.gguf", "--type", target, "--quiet", check=False)
        assert p.returncode != 0, target
        assert not (tmp_path / f"{target}.gguf").exists() or (tmp_path / f"{target}.gguf").stat().st_size == 0


# --- the real models of the shared assets ---

STORY_TOKENS = [1, 403, 407, 261, 378, 432, 383, 286, 261, 376, 298]  # BOS + llama.cpp's greedy story


@pytest.mark.parametrize("name", ["gguf/stories260K-f32.gguf", "gguf/bit3M-bitnet-tq2_0.gguf"])
def test_engine_logits_of_real_models_match_numpy_reference(name, asset, bitnet):
    path = asset(name)
    model = reference.load(path)
    got = bitnet.logits(path, STORY_TOKENS)
    assert_matches_reference(model, got, STORY_TOKENS, what=name)
    # Both trained models continue llama.cpp's greedy story.
    want = reference.forward(model, STORY_TOKENS)
    assert list(np.argmax(want[:-1], axis=1)) == STORY_TOKENS[1:]


def test_real_ternary_model_in_i2s_keeps_logits(asset, bitnet, tmp_path):
    src = asset("gguf/bit3M-bitnet-tq2_0.gguf")
    i2s = bitnet.convert(src, tmp_path / "bit3M-i2s.gguf", "i2_s")
    assert_close(bitnet.logits(i2s, STORY_TOKENS), bitnet.logits(src, STORY_TOKENS), tol=1e-5, what="bit3M i2_s")
