"""The seed's GPU surface on a machine without a GPU (what CI runs):
CudaKernel reports the missing device, and DeviceAwareQuantizer computes on
the CPU with the same numbers as the BitNet b1.58 arithmetic."""

from __future__ import annotations

import numpy as np
import pytest

import bitnet


def has_gpu() -> bool:
    return any(d.kind == bitnet.DeviceKind.CUDA for d in bitnet.Device.available_devices())


def pack_i2s(codes: np.ndarray, scale: float) -> bytes:
    """bitnet.cpp's I2_S: blocks of 128 weights in 32 bytes, byte j holding
    weights j, j+32, j+64, j+96 in bits 7-6, 5-4, 3-2, 1-0 (code = w + 1),
    then a 32-byte tail starting with the float32 scale."""
    c = (codes.reshape(-1, 4, 32) + 1).astype(np.uint8)
    packed = (c[:, 0] << 6) | (c[:, 1] << 4) | (c[:, 2] << 2) | c[:, 3]
    tail = np.zeros(32, dtype=np.uint8)
    tail[:4] = np.frombuffer(np.float32(scale).tobytes(), dtype=np.uint8)
    return packed.astype(np.uint8).tobytes() + tail.tobytes()


@pytest.mark.skipif(has_gpu(), reason="checks the no-GPU behaviour")
def test_cuda_kernel_without_a_gpu_raises_device_error():
    with pytest.raises(bitnet.DeviceError, match="CUDA"):
        bitnet.CudaKernel(0)


def test_quantizer_quantize_matches_the_bitnet_rule():
    rng = np.random.default_rng(3)
    x = rng.standard_normal((5, 300)).astype(np.float32)
    with bitnet.DeviceAwareQuantizerFactory.auto_detect() as q:
        qs, s = q.quantize(x)
        want_s = np.float32(127) / np.abs(x).max(axis=1)
        assert np.array_equal(s, want_s)
        want_q = np.clip(np.rint((x * want_s[:, None]).astype(np.float32)), -128, 127).astype(np.int8)
        assert np.array_equal(qs, want_q)
        st = q.stats()
        assert st.quantization_operations == 1 and st.total_operations == 1
        if not has_gpu():
            assert not st.gpu_active and st.cpu_operations == 1 and st.last_gpu_error


def test_quantizer_matmul_i2s_computes_the_ternary_product_and_counts_it():
    rng = np.random.default_rng(4)
    rows, cols, n = 37, 256, 3
    codes = rng.integers(-1, 2, size=(rows, cols)).astype(np.int8)
    w = pack_i2s(codes, 0.75)
    x = rng.standard_normal((n, cols)).astype(np.float32)
    with bitnet.DeviceAwareQuantizer(bitnet.Device.AUTO) as q:
        qa, s = q.quantize(x)
        out = q.matmul_i2s(w, rows, cols, qa, s)
        dots = qa.astype(np.int64) @ codes.T.astype(np.int64)
        want = (dots.astype(np.float32) * (np.float32(1) / s[:, None]) * np.float32(0.75)).astype(np.float32)
        np.testing.assert_allclose(out, want, rtol=1e-6)
        q.force_cpu_fallback(True)
        again = q.matmul_i2s(w, rows, cols, qa, s)
        assert np.array_equal(out, again)
        st = q.stats()
        assert st.matmul_operations == 2 and not st.gpu_active
        q.reset_stats()
        assert q.stats().total_operations == 0


def test_quantizer_rejects_bad_shapes_and_devices():
    with bitnet.DeviceAwareQuantizer(bitnet.Device.CPU) as q:
        with pytest.raises(bitnet.ConfigError):
            q.matmul_i2s(b"\x00" * 10, 4, 128, np.zeros((1, 128), np.int8), np.ones(1, np.float32))
    with pytest.raises(bitnet.ConfigError):
        bitnet.DeviceAwareQuantizer(bitnet.Device.METAL)
    q = bitnet.DeviceAwareQuantizer(bitnet.Device.CPU)
    q.close()
    with pytest.raises(bitnet.ClosedError):
        q.stats()
