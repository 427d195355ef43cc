"""InferenceEngine: logits of token sequences, for callers who drive
generation themselves."""

from __future__ import annotations

import threading
from typing import Any, Optional, Sequence

import numpy as np

from . import _native
from .config import SamplingConfig
from .errors import ClosedError, ConfigError, InternalError
from .model import BitNetModel
from .sampling import Sampler
from .tokenizer import _ids_array, int32_buffer


class InferenceEngine:
    """Low-level access to a model's forward pass.

    Each engine owns one session of the model (a sequence and its KV cache);
    :meth:`forward` and :meth:`next_token_logits` evaluate their input on a
    fresh sequence. Calls on one engine are serialized; use one engine per
    thread for parallel work.
    """

    def __init__(self, model: BitNetModel) -> None:
        if not isinstance(model, BitNetModel):
            raise ConfigError(f"model must be a BitNetModel, got {type(model).__name__}", field="model")
        self.model = model
        self._lock = threading.Lock()
        self._session: Any = None
        self._closed = False

    @property
    def vocab_size(self) -> int:
        return self.model.model_info.vocab_size

    def _fresh_session(self) -> Any:
        if self._closed:
            raise ClosedError("InferenceEngine used after close()")
        if self.model.closed:
            if self._session is not None:
                self.model._session_return(self._session)
                self._session = None
            raise ClosedError("InferenceEngine used after its BitNetModel was closed")
        if self._session is None:
            self._session, _ = self.model._session_lease()
        else:
            _native.check(_native.lib().bitnet_session_reset(self._session), "reset session")
        return self._session

    def _ids(self, input_ids: Sequence[int]) -> np.ndarray:
        a = _ids_array(input_ids, "input_ids")
        if a.size == 0:
            raise ConfigError("input_ids is empty", field="input_ids")
        return a

    def forward(self, input_ids: Sequence[int]) -> np.ndarray:
        """Logits after each token of input_ids, evaluated in one pass on a
        fresh sequence: a float32 array of shape [len(input_ids), vocab]."""
        a = self._ids(input_ids)
        vocab = self.vocab_size
        out = np.empty((a.size, vocab), dtype=np.float32)
        ffi = _native.ffi()
        n = ffi.new("size_t *")
        with self._lock:
            s = self._fresh_session()
            lib = _native.lib()
            _native.check(
                lib.bitnet_session_eval_all(s, int32_buffer(a), a.size, ffi.from_buffer("float[]", out), out.size, n),
                "forward",
            )
        if int(n[0]) != out.size:
            raise InternalError(f"forward: the library wrote {int(n[0])} logits, expected {out.size}")
        return out

    def next_token_logits(self, input_ids: Sequence[int], temperature: float = 1.0) -> np.ndarray:
        """Logits of the token after input_ids (fresh sequence) divided by
        temperature: float32, shape [vocab]."""
        if isinstance(temperature, bool) or not isinstance(temperature, (int, float)) or not temperature > 0 \
                or not np.isfinite(temperature):
            raise ConfigError(f"temperature must be a finite number > 0, got {temperature!r}", field="temperature")
        a = self._ids(input_ids)
        out = np.empty(self.vocab_size, dtype=np.float32)
        ffi = _native.ffi()
        n = ffi.new("size_t *")
        with self._lock:
            s = self._fresh_session()
            lib = _native.lib()
            _native.check(lib.bitnet_session_eval(s, int32_buffer(a), a.size), "next_token_logits")
            _native.check(lib.bitnet_session_logits(s, ffi.from_buffer("float[]", out), out.size, n),
                          "next_token_logits")
        if temperature != 1.0:
            out /= np.float32(temperature)
        return out

    def sample_token(self, logits: Any, config: Optional[SamplingConfig] = None,
                     history: Optional[Sequence[int]] = None) -> int:
        """A token drawn from logits with a new :class:`Sampler` of config
        (NaN-safe; NumericError when no logit is finite). For a reproducible
        sequence of draws keep one Sampler instead."""
        with Sampler(config if config is not None else SamplingConfig()) as smp:
            return smp.sample(logits, history)

    def reset(self) -> None:
        """Empties the engine's sequence."""
        with self._lock:
            if self._session is not None and not self._closed:
                _native.check(_native.lib().bitnet_session_reset(self._session), "reset session")

    def close(self) -> None:
        """Returns the engine's session to the model (idempotent)."""
        with self._lock:
            if not self._closed and self._session is not None:
                self.model._session_return(self._session)
            self._session = None
            self._closed = True

    def __enter__(self) -> "InferenceEngine":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:
            pass
