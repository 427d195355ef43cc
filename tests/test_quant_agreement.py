"""The engine's quantizers and dequantizers against llama.cpp's gguf-py
(gguf.quants), end to end through `bitnet convert`."""

from __future__ import annotations

import numpy as np
import pytest
from gguf import GGMLQuantizationType as QT
from gguf import GGUFReader
from gguf.quants import dequantize, quantize

from ggufmodels import Shape, Spec, make_weights, write_gguf


def _llama_weights(seed):
    """Weights of a one-layer llama model whose matrices also hold rows that
    stress rounding: zeros, a constant, exact half-step lattices, tiny and
    large magnitudes, a single outlier."""
    spec = Spec(Shape("llama", n_layers=1), "float", QT.F32, QT.F32, output=True, seed=seed)
    w = make_weights(spec)
    rng = np.random.default_rng(seed + 100)
    for name, v in w.items():
        if v.ndim != 2:
            continue
        cols = v.shape[1]
        v[0] = 0
        v[1] = 0.375
        v[2] = (np.arange(cols) % 33 - 16) / np.float32(16)  # ties for Q4/Q8 steps
        v[3] = (np.arange(cols) % 255 - 127) / np.float32(127)
        v[4] = rng.standard_normal(cols) * np.float32(1e-6)
        v[5] = rng.standard_normal(cols) * np.float32(300)
        v[6] = rng.standard_normal(cols) * np.float32(0.01)
        v[6, 17] = 5.0
        v[7] = np.where(np.arange(cols) % 2 == 0, 1.0, -1.0) * np.float32(2.0 ** -14)
    return spec, w


@pytest.fixture(scope="module")
def llama_f32(tmp_path_factory):
    """(path, float32 values) of a llama F32 model written by gguf-py."""
    spec, w = _llama_weights(31)
    p = tmp_path_factory.mktemp("quant") / "llama-f32.gguf"
    write_gguf(p, spec, w)
    return p, w


def _is_matrix_to_quantize(name):
    return name.endswith(".weight") and (name.startswith("blk.") and "norm" not in name or name in ("token_embd.weight", "output.weight"))


GGUF_QUANTIZERS = {"q8_0": QT.Q8_0, "q4_0": QT.Q4_0, "q4_1": QT.Q4_1, "bf16": QT.BF16, "f16": QT.F16}


@pytest.mark.parametrize("typ", GGUF_QUANTIZERS)
def test_convert_quantizes_bit_identically_to_gguf_py(typ, llama_f32, bitnet, tmp_path):
    src, w = llama_f32
    out = bitnet.convert(src, tmp_path / f"{typ}.gguf", typ)
    qt = GGUF_QUANTIZERS[typ]
    tensors = {t.name: t for t in GGUFReader(str(out)).tensors}
    checked = 0
    for name, v in w.items():
        t = tensors[name]
        if not _is_matrix_to_quantize(name):
            assert t.tensor_type == QT.F32, f"{name} (a norm) should stay F32"
            np.testing.assert_array_equal(np.asarray(t.data).reshape(v.shape), v, err_msg=name)
            continue
        assert t.tensor_type == qt, name
        want = quantize(v, qt).view(np.uint8).reshape(-1)
        got = np.asarray(t.data).view(np.uint8).reshape(-1)
        assert got.shape == want.shape, name
        diff = np.flatnonzero(got != want)
        assert diff.size == 0, f"{name}: {diff.size} bytes differ from gguf-py, first at byte {diff[:8]}"
        checked += 1
    assert checked == 9  # 7 linear + embedding + output


# --- dequantization: gguf-py writes quantized tensors, the engine decodes ---

DEQUANT_CASES = {
    "q8_0": ("llama", QT.Q8_0),
    "q4_0": ("llama", QT.Q4_0),
    "q4_1": ("llama", QT.Q4_1),
    "bf16": ("llama", QT.BF16),
    "f16": ("llama", QT.F16),
    # Ternary types need a BitNet architecture; gguf-py's TQ quantizers on
    # Gaussian data give arbitrary codes and per-block d.
    "tq1_0": ("bitnet-b1.58", QT.TQ1_0),
    "tq2_0": ("bitnet-b1.58", QT.TQ2_0),
}


@pytest.mark.parametrize("case", DEQUANT_CASES)
def test_convert_to_f32_dequantizes_exactly_as_gguf_py(case, bitnet, tmp_path):
    arch, qt = DEQUANT_CASES[case]
    if arch == "llama":
        spec, w = _llama_weights(41)
        spec.linear_type = spec.embd_type = qt
    else:
        spec = Spec(Shape(arch, n_layers=1), "float", qt, QT.F16, output=False, seed=42)
        w = make_weights(spec)
        w["blk.0.ffn_up.weight"][3] = 0  # all-zero blocks: d = 0
    src = tmp_path / f"{case}.gguf"
    write_gguf(src, spec, w)
    out = bitnet.convert(src, tmp_path / f"{case}-f32.gguf", "f32")
    ours = {t.name: t for t in GGUFReader(str(out)).tensors}
    checked = 0
    for t in GGUFReader(str(src)).tensors:
        if t.tensor_type != qt:
            continue
        want = dequantize(t.data, t.tensor_type).reshape(-1)
        got = ours[t.name]
        assert got.tensor_type == QT.F32, t.name
        got = np.asarray(got.data).reshape(-1)
        bad = np.flatnonzero(got.view(np.uint32) != want.astype(np.float32).view(np.uint32))
        assert bad.size == 0, f"{t.name}: {bad.size} values differ, e.g. index {bad[0]}: {got[bad[0]]!r} vs gguf-py {want[bad[0]]!r}"
        checked += 1
    assert checked >= 7


# --- Q6_K: gguf-py only dequantizes it ---


@pytest.fixture(scope="module")
def q6k(llama_f32, bitnet, tmp_path_factory):
    src, w = llama_f32
    d = tmp_path_factory.mktemp("q6k")
    out = bitnet.convert(src, d / "q6_k.gguf", "q6_k")
    back = bitnet.convert(out, d / "q6_k-f32.gguf", "f32")
    return w, {t.name: t for t in GGUFReader(str(out)).tensors}, {t.name: t for t in GGUFReader(str(back)).tensors}


def test_gguf_py_dequantizes_our_q6_k_as_we_do(q6k):
    w, quantized, back = q6k
    names = [n for n in w if _is_matrix_to_quantize(n)]
    assert len(names) == 9
    for name in names:
        t = quantized[name]
        assert t.tensor_type == QT.Q6_K, name
        theirs = dequantize(t.data, QT.Q6_K).reshape(-1)
        ours = np.asarray(back[name].data).reshape(-1)
        np.testing.assert_array_equal(ours.view(np.uint32), theirs.astype(np.float32).view(np.uint32), err_msg=name)


def test_q6_k_error_is_within_a_6_bit_bound(q6k):
    """Q6_K stores q in -32..31 times an 8-bit sub-block scale times an f16
    super-block scale d. Every value must lie within one 6-bit step
    (max|x| / 32 over its 16-value sub-block) of the original, plus what
    rounding the sub-block scales costs (at most 32 * d / 2, about the
    super-block's max|x| / 256; allowed twice) and the f16 resolution of d
    (2^-24 times 128 * 32). The average RMS error must be that of a 6-bit
    grid (step / sqrt(12) = 0.29 steps; a 5-bit grid gives 0.58)."""
    w, quantized, _ = q6k
    for name, v in w.items():
        if not _is_matrix_to_quantize(name):
            continue
        got = dequantize(quantized[name].data, QT.Q6_K).astype(np.float64).reshape(-1, 16)
        x = v.astype(np.float64).reshape(-1, 16)
        err = np.abs(got - x)
        amax = np.abs(x).max(axis=1, keepdims=True)
        super_amax = np.abs(x).reshape(-1, 16, 16).max(axis=(1, 2)).repeat(16)[:, None]
        bound = amax / 32 + super_amax / 128 + 2.0**-13
        worst = np.argmax((err - bound).max(axis=1))
        assert np.all(err <= bound), f"{name}: sub-block {worst}: error {err[worst].max()} > bound {bound[worst, 0]}"
        big = amax[:, 0] >= 1e-3
        rms_steps = np.sqrt((err[big] ** 2).mean(axis=1)) / (amax[big, 0] / 32)
        assert rms_steps.mean() < 0.35, f"{name}: mean RMS error {rms_steps.mean():.3f} steps"
