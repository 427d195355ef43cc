"""The GPU surface of the seed API: :class:`CudaKernel` (what a CUDA device
is and offers) and :class:`DeviceAwareQuantizer` (BitNet b1.58 activation
quantization and I2_S matrix products on a GPU, falling back to the CPU on
any GPU failure), with :class:`DeviceStats`.

Without a GPU, :class:`CudaKernel` raises :class:`DeviceError` and a
quantizer asked for ``Device.AUTO`` runs on the CPU (its stats say why).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Tuple

import numpy as np

from . import _native
from .device import Device, DeviceKind
from .errors import ConfigError


@dataclass(frozen=True)
class CudaDeviceInfo:
    """A CUDA device as :meth:`CudaKernel.device_info` reports it."""

    index: int
    name: str
    multiprocessor_count: int
    compute_capability: Tuple[int, int]
    total_memory: int
    free_memory: int
    max_threads_per_block: int


class CudaKernel:
    """A CUDA device (``CudaKernel(index)``): its name, multiprocessors,
    compute capability and memory. Raises :class:`DeviceError` when the
    device is not present."""

    def __init__(self, index: int = 0) -> None:
        if not isinstance(index, int) or index < 0:
            raise ConfigError(f"index must be a non-negative int, got {index!r}", field="index")
        self._index = index
        self._info = self._query()

    def _query(self) -> CudaDeviceInfo:
        lib, ffi = _native.lib(), _native.ffi()
        info = ffi.new("bitnet_device_info *")
        _native.check(lib.bitnet_device_query(int(DeviceKind.CUDA), self._index, info), f"CUDA device {self._index}")
        return CudaDeviceInfo(
            index=int(info.index),
            name=ffi.string(info.name).decode("utf-8", "replace"),
            multiprocessor_count=int(info.multiprocessors),
            compute_capability=(int(info.compute_major), int(info.compute_minor)),
            total_memory=int(info.total_memory),
            free_memory=int(info.free_memory),
            max_threads_per_block=int(info.max_threads),
        )

    def device_info(self) -> CudaDeviceInfo:
        """The device's description (read when the kernel was made)."""
        return self._info

    def memory_stats(self) -> Tuple[int, int]:
        """(used, total) device memory in bytes, read now."""
        info = self._query()
        return info.total_memory - info.free_memory, info.total_memory

    def launch_config(self, rows: int, threads_per_block: int = 256) -> Tuple[int, int]:
        """(blocks, threads) for one thread per row, from the device's limits
        rather than fixed numbers: at most the device's threads per block,
        and enough blocks to cover every row."""
        threads = max(32, min(threads_per_block, self._info.max_threads_per_block))
        return max(1, -(-rows // threads)), threads


@dataclass(frozen=True)
class DeviceStats:
    """Running totals of a :class:`DeviceAwareQuantizer`."""

    device_type: str
    gpu_active: bool
    total_operations: int
    quantization_operations: int
    matmul_operations: int
    gpu_operations: int
    cpu_operations: int
    fallbacks: int
    #: gpu_operations / total_operations (0 without operations).
    efficiency: float
    total_ms: float
    last_gpu_error: str
    gpu_memory_used: int
    gpu_memory_total: int

    def is_gpu_effective(self) -> bool:
        """Whether the GPU did most of the work (efficiency above 0.8)."""
        return self.efficiency > 0.8


class DeviceAwareQuantizer:
    """Quantization and I2_S matrix products on ``device`` (``Device.AUTO``:
    the first GPU when present, else the CPU; ``Device.CPU``;
    ``Device.cuda(i)``), with automatic CPU fallback when a GPU call fails."""

    def __init__(self, device: Device = Device.AUTO) -> None:
        if device.kind not in (DeviceKind.AUTO, DeviceKind.CPU, DeviceKind.CUDA):
            raise ConfigError(f"a quantizer runs on AUTO, CPU or CUDA, not {device}", field="device")
        lib, ffi = _native.lib(), _native.ffi()
        out = ffi.new("bitnet_quantizer **")
        _native.check(lib.bitnet_quantizer_new(int(device.kind), device.index, out), "DeviceAwareQuantizer")
        self.device = device
        self._h = _native.Handle(out[0], "bitnet_quantizer_free", type(self).__name__)

    def close(self) -> None:
        """Frees the quantizer (and its GPU resources)."""
        self._h.close()

    def __enter__(self) -> "DeviceAwareQuantizer":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def force_cpu_fallback(self, force: bool = True) -> None:
        """Runs every operation on the CPU (True) or lets the GPU work again."""
        with self._h.use() as p:
            _native.check(_native.lib().bitnet_quantizer_force_cpu_fallback(p, int(bool(force))), "force_cpu_fallback")

    def quantize(self, x: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
        """Per-row int8 quantization of a float32 matrix [rows, cols] (or a
        vector): (q int8 [rows, cols], s float32 [rows]) with s = 127/max|x|."""
        a = np.ascontiguousarray(x, dtype=np.float32)
        rows2 = a.reshape(1, -1) if a.ndim == 1 else a
        if rows2.ndim != 2:
            raise ConfigError("x must be a vector or a matrix", field="x")
        n, cols = rows2.shape
        q = np.empty((n, cols), dtype=np.int8)
        s = np.empty(n, dtype=np.float32)
        ffi = _native.ffi()
        with self._h.use() as p:
            _native.check(
                _native.lib().bitnet_quantizer_quantize(
                    p, ffi.from_buffer("float[]", rows2), n, cols, ffi.from_buffer("int8_t[]", q), ffi.from_buffer("float[]", s)
                ),
                "quantize",
            )
        return (q[0], s) if a.ndim == 1 else (q, s)

    def matmul_i2s(self, weights: bytes, rows: int, cols: int, q: np.ndarray, scales: np.ndarray) -> np.ndarray:
        """An I2_S matrix (rows*cols/4 + 32 bytes, bitnet.cpp's layout) times
        n int8 activation rows q [n, cols] with scales [n]: float32 [n, rows]."""
        qa = np.ascontiguousarray(q, dtype=np.int8).reshape(-1, cols)
        sa = np.ascontiguousarray(scales, dtype=np.float32).reshape(-1)
        n = qa.shape[0]
        if sa.size != n:
            raise ConfigError(f"{sa.size} scales for {n} rows", field="scales")
        w = np.frombuffer(weights, dtype=np.uint8)
        out = np.empty((n, rows), dtype=np.float32)
        ffi = _native.ffi()
        with self._h.use() as p:
            _native.check(
                _native.lib().bitnet_quantizer_matmul_i2s(
                    p, ffi.from_buffer("uint8_t[]", w), w.size, rows, cols, ffi.from_buffer("int8_t[]", qa),
                    ffi.from_buffer("float[]", sa), n, ffi.from_buffer("float[]", out),
                ),
                "matmul_i2s",
            )
        return out

    def stats(self) -> DeviceStats:
        """The running totals."""
        ffi = _native.ffi()
        st = ffi.new("bitnet_device_stats *")
        with self._h.use() as p:
            _native.check(_native.lib().bitnet_quantizer_stats(p, st), "stats")
        return DeviceStats(
            device_type=ffi.string(st.device_type).decode(),
            gpu_active=bool(st.gpu_active),
            total_operations=int(st.total_operations),
            quantization_operations=int(st.quantization_operations),
            matmul_operations=int(st.matmul_operations),
            gpu_operations=int(st.gpu_operations),
            cpu_operations=int(st.cpu_operations),
            fallbacks=int(st.fallbacks),
            efficiency=float(st.efficiency),
            total_ms=float(st.total_ms),
            last_gpu_error=ffi.string(st.last_gpu_error).decode("utf-8", "replace"),
            gpu_memory_used=int(st.gpu_memory_used),
            gpu_memory_total=int(st.gpu_memory_total),
        )

    def reset_stats(self) -> None:
        """Zeroes the running totals."""
        with self._h.use() as p:
            _native.check(_native.lib().bitnet_quantizer_reset_stats(p), "reset_stats")


class DeviceAwareQuantizerFactory:
    """Makes quantizers for a device, or for the best present one."""

    @staticmethod
    def create(device: Device = Device.AUTO) -> DeviceAwareQuantizer:
        """A quantizer on ``device``."""
        return DeviceAwareQuantizer(device)

    @staticmethod
    def auto_detect() -> DeviceAwareQuantizer:
        """A quantizer on the first GPU when one works, else on the CPU."""
        return DeviceAwareQuantizer(Device.AUTO)
