"""Configuration dataclasses: generation, sampling and model loading.

Each dataclass checks its values when created and again when used (fields
can be assigned in between); a bad value raises :class:`ConfigError` (also a
ValueError) naming the field.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import List, Optional, Union

from .device import Device
from .errors import ConfigError

_U64 = 1 << 64
_I32 = (1 << 31) - 1


def _fail(cls: str, name: str, what: str, value: object) -> None:
    raise ConfigError(f"{cls}.{name} {what}, got {value!r}", field=name)


def _int(cls: str, name: str, v: object, lo: int, hi: int = _I32) -> None:
    if not isinstance(v, int) or isinstance(v, bool):
        _fail(cls, name, "must be an int", v)
    if not lo <= v <= hi:  # type: ignore[operator]
        _fail(cls, name, f"must be in [{lo}, {hi}]", v)


def _float(cls: str, name: str, v: object, lo: float, hi: float, lo_open: bool = False) -> None:
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
        _fail(cls, name, "must be a finite number", v)
    ok = (v > lo if lo_open else v >= lo) and v <= hi  # type: ignore[operator]
    if not ok:
        _fail(cls, name, f"must be in {'(' if lo_open else '['}{lo}, {hi}]", v)


def _bool(cls: str, name: str, v: object) -> None:
    if not isinstance(v, bool):
        _fail(cls, name, "must be a bool", v)


def _seed(cls: str, v: object) -> None:
    if v is not None:
        _int(cls, "seed", v, 0, _U64 - 1)


def random_seed() -> int:
    """A fresh 64-bit seed from the operating system."""
    return int.from_bytes(os.urandom(8), "little")


@dataclass
class SamplingConfig:
    """How the next token is chosen from logits.

    temperature 0 is greedy (argmax); top_k 0, top_p 1, min_p 0 and
    repetition_penalty 1 switch those filters off. seed None draws a fresh
    random seed for each sampler.
    """

    temperature: float = 0.7
    top_k: int = 50
    top_p: float = 0.9
    min_p: float = 0.0
    repetition_penalty: float = 1.0
    #: How many of the latest tokens the repetition penalty looks at.
    repeat_last_n: int = 64
    seed: Optional[int] = None

    def __post_init__(self) -> None:
        self.validate()

    def validate(self) -> None:
        """Raises ConfigError naming the first bad field."""
        c = "SamplingConfig"
        _float(c, "temperature", self.temperature, 0.0, 1e6)
        _int(c, "top_k", self.top_k, 0)
        _float(c, "top_p", self.top_p, 0.0, 1.0, lo_open=True)
        _float(c, "min_p", self.min_p, 0.0, 1.0)
        _float(c, "repetition_penalty", self.repetition_penalty, 0.0, 1e6, lo_open=True)
        _int(c, "repeat_last_n", self.repeat_last_n, 0)
        _seed(c, self.seed)


@dataclass
class GenerationConfig:
    """Settings of one text generation.

    The fields of the seed API come first (with its defaults); min_p,
    repeat_last_n, add_bos, parse_special and ignore_eos follow.

    ``stream`` is informational: :meth:`BitNetModel.generate` always returns
    the whole text and :meth:`BitNetModel.generate_stream` always streams.
    """

    max_new_tokens: int = 100
    #: 0 is greedy decoding.
    temperature: float = 0.7
    top_p: float = 0.9
    top_k: int = 50
    repetition_penalty: float = 1.0
    #: Generation ends when the text contains one; the text stops before it.
    stop_sequences: List[str] = field(default_factory=list)
    #: None draws a fresh random seed for each call.
    seed: Optional[int] = None
    skip_special_tokens: bool = True
    stream: bool = False
    min_p: float = 0.0
    repeat_last_n: int = 64
    #: True adds BOS before the prompt, False does not, None follows the vocabulary.
    add_bos: Optional[bool] = None
    #: Match special-token texts such as "<s>" in the prompt.
    parse_special: bool = False
    #: Keep generating past end-of-sequence tokens.
    ignore_eos: bool = False

    def __post_init__(self) -> None:
        if isinstance(self.stop_sequences, tuple):
            self.stop_sequences = list(self.stop_sequences)
        self.validate()

    def validate(self) -> None:
        """Raises ConfigError naming the first bad field."""
        c = "GenerationConfig"
        _int(c, "max_new_tokens", self.max_new_tokens, 1)
        _float(c, "temperature", self.temperature, 0.0, 1e6)
        _float(c, "top_p", self.top_p, 0.0, 1.0, lo_open=True)
        _int(c, "top_k", self.top_k, 0)
        _float(c, "repetition_penalty", self.repetition_penalty, 0.0, 1e6, lo_open=True)
        if not isinstance(self.stop_sequences, (list, tuple)) or not all(
            isinstance(s, str) and s for s in self.stop_sequences
        ):
            _fail(c, "stop_sequences", "must be a list of non-empty strings", self.stop_sequences)
        _seed(c, self.seed)
        _bool(c, "skip_special_tokens", self.skip_special_tokens)
        _bool(c, "stream", self.stream)
        _float(c, "min_p", self.min_p, 0.0, 1.0)
        _int(c, "repeat_last_n", self.repeat_last_n, 0)
        if self.add_bos is not None:
            _bool(c, "add_bos", self.add_bos)
        _bool(c, "parse_special", self.parse_special)
        _bool(c, "ignore_eos", self.ignore_eos)

    def sampling(self) -> SamplingConfig:
        """The sampling part of this configuration."""
        return SamplingConfig(
            temperature=self.temperature, top_k=self.top_k, top_p=self.top_p, min_p=self.min_p,
            repetition_penalty=self.repetition_penalty, repeat_last_n=self.repeat_last_n, seed=self.seed,
        )

    @classmethod
    def greedy(cls, max_new_tokens: int = 100, **kw: object) -> "GenerationConfig":
        """Deterministic decoding: temperature 0 (argmax at each step)."""
        return cls(max_new_tokens=max_new_tokens, temperature=0.0, **kw)  # type: ignore[arg-type]


@dataclass
class ModelConfig:
    """How a model is loaded.

    Used by the engine: ``device``, ``max_seq_len`` (the context length of
    each session; None uses the model's own, capped at 4096), ``n_threads``
    (None: BITNET_NUM_THREADS, else every core) and ``tokenizer_path`` (None:
    the tokenizer embedded in the GGUF file).

    Informational (as in the seed API; the file decides): ``dtype``,
    ``vocab_size``, ``num_heads``, ``hidden_size``, ``num_layers`` and
    ``quantization``. :attr:`BitNetModel.config` returns them filled in from
    the loaded model.
    """

    device: Device = Device.AUTO
    dtype: str = "f16"
    max_seq_len: Optional[int] = 2048
    n_threads: Optional[int] = None
    tokenizer_path: Optional[Union[str, Path]] = None
    vocab_size: Optional[int] = None
    num_heads: Optional[int] = None
    hidden_size: Optional[int] = None
    num_layers: Optional[int] = None
    quantization: Optional[str] = None

    def __post_init__(self) -> None:
        if isinstance(self.device, str):
            self.device = Device.parse(self.device)
        self.validate()

    def validate(self) -> None:
        """Raises ConfigError naming the first bad field."""
        c = "ModelConfig"
        if not isinstance(self.device, Device):
            _fail(c, "device", "must be a Device (Device.AUTO, Device.CPU, Device.cuda(i), Device.METAL)", self.device)
        if not isinstance(self.dtype, str):
            _fail(c, "dtype", "must be a str such as 'f16'", self.dtype)
        if self.max_seq_len is not None:
            _int(c, "max_seq_len", self.max_seq_len, 1)
        if self.n_threads is not None:
            _int(c, "n_threads", self.n_threads, 1, 4096)
        if self.tokenizer_path is not None and not isinstance(self.tokenizer_path, (str, os.PathLike)):
            _fail(c, "tokenizer_path", "must be a path", self.tokenizer_path)
        for name in ("vocab_size", "num_heads", "hidden_size", "num_layers"):
            v = getattr(self, name)
            if v is not None:
                _int(c, name, v, 0)

