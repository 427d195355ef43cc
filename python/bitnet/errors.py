"""Exceptions of the bitnet package.

Every failure of the library arrives as a :class:`BitNetError` subclass chosen
by the library's error code (``BITNET_ERR_*`` in bitnet.h). Several classes
also derive from the matching built-in exception, so ordinary handlers work:
``except OSError`` catches a missing model file, ``except ValueError`` a bad
configuration value.

This module does not load the native library; it can be imported anywhere.
"""

from __future__ import annotations

from typing import Dict, Optional, Type

# Error codes of bitnet.h (stable; the binding checks them against the
# shipped header when the library is loaded).
OK = 0
ERR_INTERNAL = -1
ERR_INVALID_ARGUMENT = -2
ERR_IO = -3
ERR_FORMAT = -4
ERR_UNSUPPORTED = -5
ERR_MODEL = -6
ERR_TOKENIZATION = -7
ERR_QUANTIZATION = -8
ERR_DEVICE = -9
ERR_CAPACITY = -10
ERR_MEMORY = -11
ERR_NUMERIC = -12
ERR_CANCELED = -13
ERR_CLOSED = -14
ERR_TIMEOUT = -15
ERR_BUFFER_TOO_SMALL = -16
ERR_FORKED = -17

CODE_NAMES: Dict[int, str] = {
    OK: "BITNET_OK",
    ERR_INTERNAL: "BITNET_ERR_INTERNAL",
    ERR_INVALID_ARGUMENT: "BITNET_ERR_INVALID_ARGUMENT",
    ERR_IO: "BITNET_ERR_IO",
    ERR_FORMAT: "BITNET_ERR_FORMAT",
    ERR_UNSUPPORTED: "BITNET_ERR_UNSUPPORTED",
    ERR_MODEL: "BITNET_ERR_MODEL",
    ERR_TOKENIZATION: "BITNET_ERR_TOKENIZATION",
    ERR_QUANTIZATION: "BITNET_ERR_QUANTIZATION",
    ERR_DEVICE: "BITNET_ERR_DEVICE",
    ERR_CAPACITY: "BITNET_ERR_CAPACITY",
    ERR_MEMORY: "BITNET_ERR_MEMORY",
    ERR_NUMERIC: "BITNET_ERR_NUMERIC",
    ERR_CANCELED: "BITNET_ERR_CANCELED",
    ERR_CLOSED: "BITNET_ERR_CLOSED",
    ERR_TIMEOUT: "BITNET_ERR_TIMEOUT",
    ERR_BUFFER_TOO_SMALL: "BITNET_ERR_BUFFER_TOO_SMALL",
    ERR_FORKED: "BITNET_ERR_FORKED",
}


class BitNetError(Exception):
    """Base class of every error the bitnet package raises.

    Attributes:
        code: the library's error code (a negative ``BITNET_ERR_*`` value).
        message: the library's message, with the context of the failing call.
    """

    #: Code used when the error is raised by Python code rather than the library.
    default_code: int = ERR_INTERNAL

    def __init__(self, message: str, code: Optional[int] = None) -> None:
        super().__init__(message)
        self.message: str = message
        self.code: int = self.default_code if code is None else code

    @property
    def code_name(self) -> str:
        """The symbolic name of :attr:`code`, such as ``"BITNET_ERR_IO"``."""
        return CODE_NAMES.get(self.code, f"code {self.code}")

    def __str__(self) -> str:
        return self.message

    def __reduce__(self):
        return (_rebuild, (type(self), self.message, self.code))


def _rebuild(cls: Type[BitNetError], message: str, code: int) -> BitNetError:
    return cls(message, code)


class InternalError(BitNetError):
    """A bug in the library (a recovered panic): BITNET_ERR_INTERNAL."""

    default_code = ERR_INTERNAL


class ModelError(BitNetError):
    """A model file is malformed (BITNET_ERR_FORMAT), uses something the
    engine does not implement (BITNET_ERR_UNSUPPORTED), or is inconsistent
    (BITNET_ERR_MODEL)."""

    default_code = ERR_MODEL


class UnsupportedFormatError(ModelError, NotImplementedError):
    """A model file or folder this version cannot load (for example a
    Hugging Face architecture or configuration it does not implement, such
    as rope_scaling). The message names what is missing; nothing falls back
    silently to another format."""

    default_code = ERR_UNSUPPORTED


class TokenizationError(BitNetError):
    """Text could not be encoded, ids could not be decoded, or no tokenizer
    was found: BITNET_ERR_TOKENIZATION."""

    default_code = ERR_TOKENIZATION


class DeviceError(BitNetError):
    """A requested compute device is missing or failed: BITNET_ERR_DEVICE."""

    default_code = ERR_DEVICE


class QuantizationError(BitNetError):
    """A tensor cannot be quantized to the requested type: BITNET_ERR_QUANTIZATION."""

    default_code = ERR_QUANTIZATION


class BitNetIOError(BitNetError, OSError):
    """A file could not be read or written: BITNET_ERR_IO. Also an OSError."""

    default_code = ERR_IO


class ConfigError(BitNetError, ValueError):
    """A bad argument or configuration value: BITNET_ERR_INVALID_ARGUMENT.
    Also a ValueError. :attr:`field` names the offending field when known."""

    default_code = ERR_INVALID_ARGUMENT

    def __init__(self, message: str, code: Optional[int] = None, field: Optional[str] = None) -> None:
        super().__init__(message, code)
        self.field: Optional[str] = field

    def __reduce__(self):
        return (_rebuild_config, (self.message, self.code, self.field))


def _rebuild_config(message: str, code: int, field: Optional[str]) -> "ConfigError":
    return ConfigError(message, code, field)


class BitNetMemoryError(BitNetError, MemoryError):
    """An allocation would exceed a limit (a KV cache too large for the
    context length, ...): BITNET_ERR_MEMORY. Also a MemoryError."""

    default_code = ERR_MEMORY


class BitNetTimeoutError(BitNetError, TimeoutError):
    """An operation ran past its deadline: BITNET_ERR_TIMEOUT. Also a TimeoutError."""

    default_code = ERR_TIMEOUT


class CapacityError(BitNetError):
    """A fixed capacity is exhausted, such as a prompt longer than the
    context: BITNET_ERR_CAPACITY (and BITNET_ERR_BUFFER_TOO_SMALL, which the
    binding normally handles itself)."""

    default_code = ERR_CAPACITY


class NumericError(BitNetError):
    """A computation produced no usable number, such as logits that are all
    NaN: BITNET_ERR_NUMERIC."""

    default_code = ERR_NUMERIC


class CanceledError(BitNetError):
    """The operation was stopped by its caller: BITNET_ERR_CANCELED."""

    default_code = ERR_CANCELED


class ClosedError(BitNetError):
    """An object was used after close(): BITNET_ERR_CLOSED."""

    default_code = ERR_CLOSED


class ForkError(BitNetError):
    """The library was called in a child created by fork() after the parent
    had loaded it: BITNET_ERR_FORKED. The Go runtime inside the library does
    not survive fork(); use the 'spawn' start method of multiprocessing, or
    load the model in the child."""

    default_code = ERR_FORKED


class BitNetImportError(ImportError):
    """The native library could not be loaded, or its ABI version differs
    from the one of the header the package was built with."""


_BY_CODE: Dict[int, Type[BitNetError]] = {
    ERR_INTERNAL: InternalError,
    ERR_INVALID_ARGUMENT: ConfigError,
    ERR_IO: BitNetIOError,
    ERR_FORMAT: ModelError,
    ERR_UNSUPPORTED: ModelError,
    ERR_MODEL: ModelError,
    ERR_TOKENIZATION: TokenizationError,
    ERR_QUANTIZATION: QuantizationError,
    ERR_DEVICE: DeviceError,
    ERR_CAPACITY: CapacityError,
    ERR_MEMORY: BitNetMemoryError,
    ERR_NUMERIC: NumericError,
    ERR_CANCELED: CanceledError,
    ERR_CLOSED: ClosedError,
    ERR_TIMEOUT: BitNetTimeoutError,
    ERR_BUFFER_TOO_SMALL: CapacityError,
    ERR_FORKED: ForkError,
}


def error_class(code: int) -> Type[BitNetError]:
    """The exception class of a library error code (BitNetError for unknown codes)."""
    return _BY_CODE.get(code, BitNetError)


def from_code(code: int, message: str) -> BitNetError:
    """The exception for a failed library call that returned code."""
    if not message:
        message = f"bitnet: call failed with {CODE_NAMES.get(code, f'code {code}')}"
    return error_class(code)(message, code)


__all__ = [
    "BitNetError",
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
    "BitNetImportError",
    "error_class",
    "from_code",
]
