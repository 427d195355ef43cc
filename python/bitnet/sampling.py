"""Sampling: :class:`Sampler` over the library's sampler, and NaN-safe
:func:`softmax` and :func:`argmax` on numpy arrays.

NaN logits count as -inf everywhere; when no logit is finite (all NaN or
-inf) there is nothing to choose and :class:`NumericError` is raised.
"""

from __future__ import annotations

import threading
import weakref
from typing import Any, Optional, Sequence

import numpy as np

from . import _native
from .config import SamplingConfig, random_seed
from .errors import ClosedError, ConfigError, NumericError


def _as_logits(logits: Any, what: str = "logits") -> np.ndarray:
    a = np.asarray(logits)
    if a.ndim != 1:
        raise ConfigError(f"{what} must be one-dimensional, got shape {a.shape}", field=what)
    if a.size == 0:
        raise ConfigError(f"{what} is empty", field=what)
    if not (np.issubdtype(a.dtype, np.floating) or np.issubdtype(a.dtype, np.integer)):
        raise ConfigError(f"{what} must hold numbers, got dtype {a.dtype}", field=what)
    return a


def _sanitized(logits: Any) -> np.ndarray:
    a = _as_logits(logits)
    a = a.astype(np.float64 if a.dtype == np.float64 else np.float32, copy=True)
    a[np.isnan(a)] = -np.inf
    if not np.any(a > -np.inf):
        raise NumericError("no finite logit: every value is NaN or -inf")
    return a


def argmax(logits: Any) -> int:
    """Index of the largest logit (the first on ties); NaN counts as -inf.

    Raises NumericError when no logit is finite.
    """
    return int(np.argmax(_sanitized(logits)))


def softmax(logits: Any) -> np.ndarray:
    """Probabilities of the logits (same float dtype; float32 for other
    inputs); NaN counts as -inf (probability 0).

    Raises NumericError when no logit is finite.
    """
    a = _sanitized(logits)
    m = a.max()
    if np.isposinf(m):
        out = np.where(np.isposinf(a), 1.0, 0.0).astype(a.dtype)
    else:
        out = np.exp(a - m)
    return (out / out.sum()).astype(a.dtype, copy=False)


def fill_sampling_config(c: Any, cfg: SamplingConfig, seed: Optional[int] = None) -> None:
    """Fills a bitnet_sampling_config struct from cfg (seed overrides cfg.seed)."""
    lib = _native.lib()
    lib.bitnet_sampling_config_default(c)
    c.temperature = float(cfg.temperature)
    c.top_k = int(cfg.top_k)
    c.top_p = float(cfg.top_p)
    c.min_p = float(cfg.min_p)
    c.repetition_penalty = float(cfg.repetition_penalty)
    c.repeat_last_n = int(cfg.repeat_last_n)
    s = seed if seed is not None else cfg.seed
    c.seed = random_seed() if s is None else int(s)


def _free_sampler(ptr: Any) -> None:
    lib = _native.lib_for_cleanup()
    if lib is not None:
        lib.bitnet_sampler_free(ptr)


class Sampler:
    """Chooses tokens from logits with the library's sampler (temperature,
    top-k, top-p, min-p, repetition penalty; NaN-safe).

    A sampler keeps its random state: with a fixed seed, the sequence of
    samples is reproducible. Calls are serialized with a lock, so a sampler
    may be shared between threads.
    """

    def __init__(self, config: Optional[SamplingConfig] = None) -> None:
        _native.check_fork()
        self.config: SamplingConfig = config if config is not None else SamplingConfig()
        self.config.validate()
        ffi, lib = _native.ffi(), _native.lib()
        c = ffi.new("bitnet_sampling_config *")
        fill_sampling_config(c, self.config)
        self.seed: int = int(c.seed)
        out = ffi.new("bitnet_sampler **")
        _native.check(lib.bitnet_sampler_new(c, out), "sampler")
        self._ptr: Any = out[0]
        self._lock = threading.Lock()
        self._finalizer = weakref.finalize(self, _free_sampler, self._ptr)

    def sample(self, logits: Any, history: Optional[Sequence[int]] = None) -> int:
        """A token id drawn from logits (1-D, any float dtype; converted to
        float32). history holds earlier token ids for the repetition penalty.

        Raises NumericError when no logit is finite.
        """
        a = np.ascontiguousarray(_as_logits(logits), dtype=np.float32)
        h = np.ascontiguousarray(np.asarray([] if history is None else history, dtype=np.int32))
        ffi = _native.ffi()
        out = ffi.new("int32_t *")
        with self._lock:
            if not self._finalizer.alive:
                raise ClosedError("Sampler used after close()")
            lib = _native.lib()
            lp = ffi.from_buffer("float[]", a)
            hp = ffi.from_buffer("int32_t[]", h) if h.size else ffi.NULL
            _native.check(lib.bitnet_sampler_sample(self._ptr, lp, a.size, hp, h.size, out), "sample")
        return int(out[0])

    def close(self) -> None:
        """Frees the sampler (idempotent)."""
        with self._lock:
            self._finalizer()

    def __enter__(self) -> "Sampler":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
