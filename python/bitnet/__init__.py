"""bitnet: Python bindings of the bitnet inference engine for BitNet b1.58
(ternary) and LLaMA models.

    from bitnet import BitNetModel, GenerationConfig

    with BitNetModel.from_file("model.gguf") as model:
        print(model.generate("Once upon a time", GenerationConfig(max_new_tokens=50, temperature=0)))
        for piece in model.generate_stream("Once upon a time"):
            print(piece, end="", flush=True)

The engine is a Go library (libbitnet) reached through its C ABI with cffi;
importing the package loads it and checks its ABI version (an ImportError,
:class:`BitNetImportError`, when the library is missing or does not match).
BITNET_LIBRARY may name another build of the library.

Threads: several threads may generate on one model at once (independent
sessions, compute serialized per model). Processes: the library does not
survive fork(); a forked child raises :class:`ForkError`; use the 'spawn'
start method.
"""

from __future__ import annotations

from . import _native
from ._version import __version__

_native.load()

from .config import GenerationConfig, ModelConfig, SamplingConfig  # noqa: E402
from .device import Device, DeviceCapabilities, DeviceInfo, DeviceKind, DeviceMemoryInfo, list_devices  # noqa: E402
from .gpu import (  # noqa: E402
    CudaDeviceInfo,
    CudaKernel,
    DeviceAwareQuantizer,
    DeviceAwareQuantizerFactory,
    DeviceStats,
)
from .engine import InferenceEngine  # noqa: E402
from .errors import (  # noqa: E402
    BitNetError,
    BitNetImportError,
    BitNetIOError,
    BitNetMemoryError,
    BitNetTimeoutError,
    CanceledError,
    CapacityError,
    ClosedError,
    ConfigError,
    DeviceError,
    ForkError,
    InternalError,
    ModelError,
    NumericError,
    QuantizationError,
    TokenizationError,
    UnsupportedFormatError,
)
from .info import (  # noqa: E402
    ModelInfo,
    PerformanceMetrics,
    QuantizationInfo,
    QuantizationType,
    ThroughputMetrics,
    TimingMetrics,
    TokenizerInfo,
)
from .model import BitNetModel  # noqa: E402
from .sampling import Sampler, argmax, softmax  # noqa: E402
from .tokenizer import (  # noqa: E402
    Tokenizer,
    TokenizerDecision,
    TokenizerDiscovery,
    TokenizerStrategy,
    UniversalTokenizer,
)


def library_version() -> str:
    """Version string of the loaded libbitnet."""
    return _native.library_version()


def abi_version() -> int:
    """ABI version of the loaded libbitnet (equal to the header's)."""
    return int(_native.lib().bitnet_abi_version())


__all__ = [
    "__version__",
    "library_version",
    "abi_version",
    # models and generation
    "BitNetModel",
    "GenerationConfig",
    "ModelConfig",
    "ModelInfo",
    "QuantizationInfo",
    "QuantizationType",
    "PerformanceMetrics",
    "TimingMetrics",
    "ThroughputMetrics",
    "TokenizerInfo",
    "InferenceEngine",
    # devices
    "Device",
    "CudaDeviceInfo",
    "CudaKernel",
    "DeviceAwareQuantizer",
    "DeviceAwareQuantizerFactory",
    "DeviceStats",
    "DeviceKind",
    "DeviceInfo",
    "DeviceCapabilities",
    "DeviceMemoryInfo",
    "list_devices",
    # tokenizers
    "Tokenizer",
    "UniversalTokenizer",
    "TokenizerDiscovery",
    "TokenizerStrategy",
    "TokenizerDecision",
    # sampling
    "SamplingConfig",
    "Sampler",
    "softmax",
    "argmax",
    # errors
    "BitNetError",
    "BitNetImportError",
    "InternalError",
    "ModelError",
    "UnsupportedFormatError",
    "TokenizationError",
    "DeviceError",
    "QuantizationError",
    "BitNetIOError",
    "ConfigError",
    "BitNetMemoryError",
    "BitNetTimeoutError",
    "CapacityError",
    "NumericError",
    "CanceledError",
    "ClosedError",
    "ForkError",
]
