"""Descriptions of models, tokenizers and generation runs (plain dataclasses)."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any, List, Optional

from . import _native
from .device import Device, DeviceKind


class QuantizationType(str, enum.Enum):
    """Weight types (the names the library reports, as in GGUF files).

    The ternary types are I2_S (Microsoft bitnet.cpp), TQ1_0 and TQ2_0
    (llama.cpp). UNKNOWN stands for a type this package has no name for.
    """

    I2_S = "I2_S"
    TQ1_0 = "TQ1_0"
    TQ2_0 = "TQ2_0"
    F32 = "F32"
    F16 = "F16"
    BF16 = "BF16"
    Q8_0 = "Q8_0"
    Q4_0 = "Q4_0"
    Q4_1 = "Q4_1"
    Q5_0 = "Q5_0"
    Q5_1 = "Q5_1"
    Q2_K = "Q2_K"
    Q3_K = "Q3_K"
    Q4_K = "Q4_K"
    Q5_K = "Q5_K"
    Q6_K = "Q6_K"
    IQ2_S = "IQ2_S"
    TL1 = "TL1"
    TL2 = "TL2"
    UNKNOWN = "UNKNOWN"

    @classmethod
    def parse(cls, name: str) -> "QuantizationType":
        """The type of a name such as "i2_s" or "I2_S" (UNKNOWN if none)."""
        try:
            return cls(name.strip().upper())
        except ValueError:
            return cls.UNKNOWN

    @property
    def is_ternary(self) -> bool:
        """Whether weights of this type are {-1, 0, +1} times a scale."""
        return self in (QuantizationType.I2_S, QuantizationType.TQ1_0, QuantizationType.TQ2_0,
                        QuantizationType.TL1, QuantizationType.TL2)

    def __str__(self) -> str:
        return self.value


@dataclass(frozen=True)
class QuantizationInfo:
    """How a model's weights are stored."""

    qtype: QuantizationType
    #: Storage cost of one weight, in bits, over the whole model.
    bits_per_weight: float
    #: Size reduction against float32 weights (32 / bits_per_weight).
    compression_ratio: float


@dataclass(frozen=True)
class ModelInfo:
    """Information about a loaded model (from its file and the load)."""

    name: str
    architecture: str
    num_parameters: int
    #: File size in bytes.
    model_size: int
    quantization: QuantizationInfo
    #: "ternary" for BitNet b1.58 weights, and "backend:<name>".
    features: List[str]
    vocab_size: int
    #: Positions each session holds (ModelConfig.max_seq_len, or the model's).
    context_length: int
    train_context_length: int
    embedding_length: int
    block_count: int
    head_count: int
    head_count_kv: int
    feed_forward_length: int
    n_threads: int
    device: Device
    backend: str
    ternary: bool
    load_ms: float


def model_info_from_c(i: Any) -> ModelInfo:
    """ModelInfo from a bitnet_model_info struct."""
    s = _native.char_array_str
    bpw = float(i.bits_per_weight)
    wt = s(i.weight_type)
    backend = s(i.backend)
    ternary = bool(i.ternary)
    features = (["ternary"] if ternary else []) + ([f"backend:{backend}"] if backend else [])
    try:
        kind = DeviceKind(int(i.device_kind))
    except ValueError:
        kind = DeviceKind.CPU
    return ModelInfo(
        name=s(i.name),
        architecture=s(i.architecture),
        num_parameters=int(i.num_parameters),
        model_size=int(i.model_size),
        quantization=QuantizationInfo(
            qtype=QuantizationType.parse(wt),
            bits_per_weight=bpw,
            compression_ratio=(32.0 / bpw) if bpw > 0 else 0.0,
        ),
        features=features,
        vocab_size=int(i.vocab_size),
        context_length=int(i.context_length),
        train_context_length=int(i.train_context_length),
        embedding_length=int(i.embedding_length),
        block_count=int(i.block_count),
        head_count=int(i.head_count),
        head_count_kv=int(i.head_count_kv),
        feed_forward_length=int(i.feed_forward_length),
        n_threads=int(i.n_threads),
        device=Device(kind, max(0, int(i.device_index))),
        backend=backend,
        ternary=ternary,
        load_ms=float(i.load_ms),
    )


@dataclass(frozen=True)
class TimingMetrics:
    """Durations of one generation, in milliseconds."""

    tokenize: float = 0.0
    #: Evaluating the prompt (the part not reused from the cache).
    prefill: float = 0.0
    #: Producing the tokens after the first.
    decode: float = 0.0
    total: float = 0.0


@dataclass(frozen=True)
class ThroughputMetrics:
    """Throughput of one generation, in tokens per second."""

    prefill: float = 0.0
    decode: float = 0.0
    e2e: float = 0.0


@dataclass(frozen=True)
class TokenizerInfo:
    """Description of a tokenizer."""

    #: Where it was loaded from (a file path, or the model file for an embedded one).
    source: str
    vocab_size: int
    bos_id: Optional[int]
    eos_id: Optional[int]
    eot_id: Optional[int] = None
    pad_id: Optional[int] = None
    #: "spm", "bpe", ...
    kind: str = ""
    #: Whether the vocabulary asks for BOS at the start of a prompt.
    add_bos: bool = False


def _opt_id(v: int) -> Optional[int]:
    return None if v < 0 else int(v)


def tokenizer_info_from_c(i: Any) -> TokenizerInfo:
    """TokenizerInfo from a bitnet_tokenizer_info struct."""
    s = _native.char_array_str
    return TokenizerInfo(
        source=s(i.source),
        vocab_size=int(i.vocab_size),
        bos_id=_opt_id(i.bos_id),
        eos_id=_opt_id(i.eos_id),
        eot_id=_opt_id(i.eot_id),
        pad_id=_opt_id(i.pad_id),
        kind=s(i.kind),
        add_bos=bool(i.add_bos),
    )


@dataclass(frozen=True)
class PerformanceMetrics:
    """What one generation call did and how long it took."""

    timing: TimingMetrics = field(default_factory=TimingMetrics)
    throughput: ThroughputMetrics = field(default_factory=ThroughputMetrics)
    tokenizer: Optional[TokenizerInfo] = None
    #: Prompt tokens evaluated by this call.
    prompt_tokens: int = 0
    #: Prompt tokens reused from the session's cache (not evaluated).
    cached_prompt_tokens: int = 0
    generated_tokens: int = 0
    #: "max_tokens", "eos", "stop_sequence", "context_full", "stopped", ...
    stop_reason: str = ""

    @property
    def tokens_per_second(self) -> float:
        """Decode throughput (the seed API's name)."""
        return self.throughput.decode


def metrics_from_c(m: Any, tokenizer: Optional[TokenizerInfo]) -> PerformanceMetrics:
    """PerformanceMetrics from a bitnet_metrics struct."""
    return PerformanceMetrics(
        timing=TimingMetrics(
            tokenize=float(m.tokenize_ms), prefill=float(m.prefill_ms),
            decode=float(m.decode_ms), total=float(m.total_ms),
        ),
        throughput=ThroughputMetrics(
            prefill=float(m.prefill_tokens_per_second), decode=float(m.decode_tokens_per_second),
            e2e=float(m.e2e_tokens_per_second),
        ),
        tokenizer=tokenizer,
        prompt_tokens=int(m.prompt_tokens),
        cached_prompt_tokens=int(m.cached_prompt_tokens),
        generated_tokens=int(m.generated_tokens),
        stop_reason=_native.char_array_str(m.stop_reason),
    )
