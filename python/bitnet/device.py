"""Compute devices: :class:`Device` and what the library reports about them."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any, ClassVar, List, Optional, Tuple

from . import _native
from .errors import ConfigError, DeviceError


class DeviceKind(enum.IntEnum):
    """Kinds of device (``BITNET_DEVICE_*``)."""

    AUTO = 0
    CPU = 1
    CUDA = 2
    METAL = 3


@dataclass(frozen=True)
class DeviceCapabilities:
    """What a device can compute."""

    supports_f16: bool
    supports_bf16: bool
    supports_int8: bool
    max_threads: int
    #: CUDA compute capability (major, minor); None on other devices.
    compute_capability: Optional[Tuple[int, int]]


@dataclass(frozen=True)
class DeviceMemoryInfo:
    """Memory of a device in bytes (0 when unknown)."""

    total: int
    free: int
    used: int


@dataclass(frozen=True)
class DeviceInfo:
    """Everything the library reports about one device."""

    device: "Device"
    name: str
    available: bool
    capabilities: DeviceCapabilities
    memory: DeviceMemoryInfo


@dataclass(frozen=True)
class Device:
    """A compute device: ``Device.AUTO`` (the best present), ``Device.CPU``,
    ``Device.cuda(i)`` or ``Device.METAL``.

    ``Device.cuda(i)`` runs the model on that NVIDIA GPU (the whole decode
    step on the device); AUTO resolves to the CPU. Asking for a device that
    is not present fails with :class:`DeviceError` when the model is loaded
    (or when the device is queried).
    """

    kind: DeviceKind
    index: int = 0

    AUTO: ClassVar["Device"]
    CPU: ClassVar["Device"]
    METAL: ClassVar["Device"]

    def __post_init__(self) -> None:
        object.__setattr__(self, "kind", DeviceKind(self.kind))
        if not isinstance(self.index, int) or isinstance(self.index, bool) or self.index < 0:
            raise ConfigError(f"Device.index must be a non-negative int, got {self.index!r}", field="index")

    @classmethod
    def cuda(cls, index: int = 0) -> "Device":
        """The CUDA GPU with this index."""
        return cls(DeviceKind.CUDA, index)

    @classmethod
    def parse(cls, spec: "str | Device") -> "Device":
        """A device from its name: "auto", "cpu", "cuda", "cuda:1", "metal"."""
        if isinstance(spec, Device):
            return spec
        s = str(spec).strip().lower()
        name, _, idx = s.partition(":")
        try:
            kind = DeviceKind[name.upper()]
            index = int(idx) if idx else 0
        except (KeyError, ValueError):
            raise ConfigError(f"unknown device {spec!r} (auto, cpu, cuda, cuda:N, metal)", field="device") from None
        return cls(kind, index)

    def __str__(self) -> str:
        if self.kind == DeviceKind.CUDA:
            return f"cuda:{self.index}"
        return self.kind.name.lower()

    def __repr__(self) -> str:
        if self.kind == DeviceKind.CUDA:
            return f"Device.cuda({self.index})"
        return f"Device.{self.kind.name}"

    @staticmethod
    def available_devices() -> List["Device"]:
        """The devices this machine offers (the CPU first)."""
        return [d.device for d in list_devices() if d.available]

    def info(self) -> DeviceInfo:
        """What the library reports about this device (DeviceError when it is
        not present). AUTO reports the device it would pick."""
        ffi, lib = _native.ffi(), _native.lib()
        if self.kind == DeviceKind.AUTO:
            devs = [d for d in list_devices() if d.available]
            if not devs:
                raise DeviceError("bitnet: no device is available")
            best = [d for d in devs if d.device.kind != DeviceKind.CPU]
            return (best or devs)[0]
        out = ffi.new("bitnet_device_info *")
        _native.check(lib.bitnet_device_query(int(self.kind), self.index, out), f"device {self}")
        return _device_info(out)

    def is_available(self) -> bool:
        """Whether the device is present and usable."""
        try:
            return self.info().available
        except DeviceError:
            return False

    def capabilities(self) -> DeviceCapabilities:
        """What the device can compute (DeviceError when it is not present)."""
        return self.info().capabilities

    def memory_info(self) -> DeviceMemoryInfo:
        """The device's memory (DeviceError when it is not present)."""
        return self.info().memory


Device.AUTO = Device(DeviceKind.AUTO)
Device.CPU = Device(DeviceKind.CPU)
Device.METAL = Device(DeviceKind.METAL)


def _device_info(d: Any) -> DeviceInfo:
    kind = DeviceKind(int(d.kind))
    cc = (int(d.compute_major), int(d.compute_minor)) if kind == DeviceKind.CUDA else None
    total, free = int(d.total_memory), int(d.free_memory)
    return DeviceInfo(
        device=Device(kind, int(d.index)),
        name=_native.char_array_str(d.name),
        available=bool(d.available),
        capabilities=DeviceCapabilities(
            supports_f16=bool(d.supports_f16),
            supports_bf16=bool(d.supports_bf16),
            supports_int8=bool(d.supports_int8),
            max_threads=int(d.max_threads),
            compute_capability=cc,
        ),
        memory=DeviceMemoryInfo(total=total, free=free, used=max(0, total - free)),
    )


def list_devices() -> List[DeviceInfo]:
    """Every device the library knows on this machine (the CPU first)."""
    ffi, lib = _native.ffi(), _native.lib()
    cap = 8
    while True:
        buf = ffi.new("bitnet_device_info[]", cap)
        n = ffi.new("size_t *")
        rc = lib.bitnet_devices(buf, cap, n)
        if rc == _native.const("BITNET_ERR_BUFFER_TOO_SMALL") and n[0] > cap:
            cap = int(n[0])
            continue
        _native.check(rc, "list devices")
        return [_device_info(buf[i]) for i in range(int(n[0]))]
