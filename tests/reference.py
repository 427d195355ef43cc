"""An independent numpy float64 forward pass of the three architectures the
engine runs (llama, bitnet, bitnet-b1.58), reading GGUF files with
llama.cpp's gguf-py (never with the project's own reader).

It follows docs/FORMATS.md, not the Go code:

- llama: RMSNorm, RoPE on adjacent pairs (2i, 2i+1), causal GQA attention,
  SwiGLU silu(gate) * up; float weights take float activations.
- bitnet: RoPE on rotate-half pairs (i, i + d/2), sub-norms before
  attn_output and ffn_down, silu gating, optional per-matrix ``.scale``.
- bitnet-b1.58 (and its old name bitnet-25): as bitnet, relu(gate)^2 * up.

Linear layers of the BitNet architectures are all BitLinear: a matrix
stored in a ternary type (TQ1_0, TQ2_0) keeps its codes and per-block scale
d; a float matrix whose values are 0 or +-a becomes codes with scale a; any
other float matrix is ternarized with absmean. TQ matrices in a llama file
also take the int8 path. The int8 path quantizes each token row:
s = 127 / max(max|x|, 1e-5), q = clamp(round_half_even(x s), -128, 127),
y = sum_blocks d_b (codes_b . q_b) / s * scale.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, replace

import numpy as np
from gguf import GGMLQuantizationType as QT
from gguf import GGUFReader
from gguf.quants import dequantize

TERNARY_TYPES = {QT.TQ1_0: 54, QT.TQ2_0: 66}  # type -> bytes per 256-block
LINEARS = ("attn_q", "attn_k", "attn_v", "attn_output", "ffn_gate", "ffn_up", "ffn_down")


@dataclass(frozen=True)
class Config:
    arch: str
    dim: int
    n_layers: int
    n_heads: int
    n_kv_heads: int
    head_dim: int
    ffn: int
    rope_dims: int
    rope_base: float
    eps: float
    output_eps: float
    rope: str  # "adjacent" (2i, 2i+1) or "half" (i, i + d/2)
    act: str  # "silu" or "relu2"
    sub_norms: bool
    bit_linear: bool
    quantize_activations: bool = True  # the int8 path of ternary matrices


ARCHS = {
    "llama": dict(rope="adjacent", act="silu", sub_norms=False, bit_linear=False),
    "bitnet": dict(rope="half", act="silu", sub_norms=True, bit_linear=True),
    "bitnet-b1.58": dict(rope="half", act="relu2", sub_norms=True, bit_linear=True),
    "bitnet-25": dict(rope="half", act="relu2", sub_norms=True, bit_linear=True),
}


class Activations:
    """The input of linear layers: float rows x, quantized to int8 at most
    once (as the engine does) when a ternary matrix reads them.

    quant records rounding near-ties and applies requested flips: float64
    here and float32 in an engine can round x * s differently when it lies
    within ~1e-5 of k + 1/2, which can move logits by a few 1e-3. Tests use
    the record to tell such flips from real disagreements."""

    def __init__(self, x, quant):
        self.x, self.quant, self._q = x, quant, None

    def quantized(self):
        if self._q is None:
            self._q = self.quant(self.x)
        return self._q


class Quantizer:
    """Per-token absmax int8 quantization, counting its calls. flips: set of
    (call, token, element) to round the other way; near: the near-ties
    (|x s - k - 1/2| < delta) seen, as (distance, (call, token, element))."""

    def __init__(self, flips=(), delta=0.0):
        self.calls, self.flips, self.delta, self.near = 0, set(flips), delta, []

    def __call__(self, x):
        s = 127.0 / np.maximum(np.abs(x).max(axis=-1, keepdims=True), 1e-5)
        xs = x * s
        q = np.rint(xs)  # round half to even
        dist = np.abs(xs - np.floor(xs) - 0.5)
        for t, j in zip(*np.nonzero(dist < self.delta)):
            self.near.append((dist[t, j], (self.calls, int(t), int(j))))
        for c, t, j in self.flips:
            if c == self.calls:
                q[t, j] = np.floor(xs[t, j]) if q[t, j] > xs[t, j] else np.ceil(xs[t, j])
        self.calls += 1
        return np.clip(q, -128, 127), s


class Linear:
    """y = W x for a float matrix, or the BitLinear int8 path for ternary
    codes with per-block scales d ([rows, cols / block]) and a scale."""

    def __init__(self, w=None, codes=None, block_d=None, scale=1.0):
        self.w, self.codes, self.block_d, self.scale = w, codes, block_d, float(scale)

    @property
    def ternary(self):
        return self.codes is not None

    def __call__(self, act: Activations, cfg: Config):
        if not self.ternary or not cfg.quantize_activations:
            return act.x @ self.dense().T
        q, s = act.quantized()
        rows, nb = self.block_d.shape
        c = self.codes.reshape(rows, nb, -1)
        qb = q.reshape(q.shape[0], nb, -1)
        sums = np.einsum("rbj,tbj->trb", c, qb)  # exact integer sums per block
        return (sums * self.block_d[None]).sum(axis=-1) / s * self.scale

    def dense(self):
        """The matrix as float values, scale included."""
        if not self.ternary:
            return self.w * self.scale
        w = self.codes.reshape(self.block_d.shape + (-1,)) * self.block_d[..., None]
        return w.reshape(self.codes.shape) * self.scale


def ternarize(w):
    """Codes and scale of a float matrix: exact for values in {0, +-a},
    absmean (gamma = mean|w| >= 1e-5, round half to even, clamp) otherwise."""
    a = np.abs(w).max()
    nz = np.abs(w)[w != 0]
    if a == 0 or np.all(np.abs(nz - a) <= a * 2.0**-20):
        return np.sign(w), (a if a > 0 else 0.0)
    gamma = max(np.abs(w).mean(), 1e-5)
    return np.clip(np.rint(w / gamma), -1, 1), gamma


@dataclass
class Model:
    cfg: Config
    embd: np.ndarray  # [vocab, dim]
    output: Linear
    output_norm: np.ndarray
    layers: list  # of dicts: norms (arrays) and linears (Linear)


def _field(reader, key, default=None):
    f = reader.fields.get(key)
    return default if f is None else f.contents()


def _tensor_values(t):
    """A tensor as float64 [rows, cols] (or [n]), decoded by gguf-py."""
    v = dequantize(t.data, t.tensor_type).astype(np.float64)
    return v.reshape(tuple(int(d) for d in reversed(t.shape.tolist())))


def _ternary_blocks(t):
    """Codes and per-256-block d of a TQ1_0/TQ2_0 matrix."""
    w = _tensor_values(t)
    rows, cols = w.shape
    raw = np.asarray(t.data, dtype=np.uint8).reshape(rows, cols // 256, TERNARY_TYPES[t.tensor_type])
    d = raw[..., -2:].copy().view(np.float16)[..., 0].astype(np.float64)
    wb = w.reshape(rows, cols // 256, 256)
    codes = np.where(d[..., None] != 0, np.rint(wb / np.where(d == 0, 1, d)[..., None]), 0)
    return codes.reshape(rows, cols), d


def _linear(tensors, name, cfg: Config, bit_linear: bool):
    t = tensors[name + ".weight"]
    scale = 1.0
    if name + ".scale" in tensors:
        scale = float(_tensor_values(tensors[name + ".scale"]).reshape(-1)[0])
    if t.tensor_type in TERNARY_TYPES:
        codes, d = _ternary_blocks(t)
        return Linear(codes=codes, block_d=d, scale=scale)
    w = _tensor_values(t)
    if not bit_linear:
        return Linear(w=w, scale=scale)
    codes, a = ternarize(w)
    return Linear(codes=codes, block_d=np.full((w.shape[0], 1), a), scale=scale)


def load(path, **overrides) -> Model:
    """Reads a GGUF model with gguf-py. overrides replace Config fields
    (tests use them to break the reference on purpose)."""
    r = GGUFReader(path)
    arch = _field(r, "general.architecture")
    p = arch + "."
    dim = _field(r, p + "embedding_length")
    n_heads = _field(r, p + "attention.head_count")
    head_dim = _field(r, p + "attention.key_length", dim // n_heads)
    eps = _field(r, p + "attention.layer_norm_rms_epsilon", 1e-5)
    cfg = Config(
        arch=arch,
        dim=dim,
        n_layers=_field(r, p + "block_count"),
        n_heads=n_heads,
        n_kv_heads=_field(r, p + "attention.head_count_kv", n_heads),
        head_dim=head_dim,
        ffn=_field(r, p + "feed_forward_length"),
        rope_dims=_field(r, p + "rope.dimension_count", head_dim),
        rope_base=_field(r, p + "rope.freq_base", 10000.0),
        eps=eps,
        output_eps=_field(r, p + "output_norm.layer_norm_rms_epsilon", eps),
        **ARCHS[arch],
    )
    cfg = replace(cfg, **overrides)
    tensors = {t.name: t for t in r.tensors}
    embd = _tensor_values(tensors["token_embd.weight"])
    if "output.weight" in tensors:
        output = _linear(tensors, "output", cfg, bit_linear=False)
    else:
        output = Linear(w=embd)  # tied
    layers = []
    for i in range(cfg.n_layers):
        b = f"blk.{i}."
        L = {n: _tensor_values(tensors[b + n + ".weight"]) for n in ("attn_norm", "ffn_norm")}
        if cfg.sub_norms:
            for n in ("attn_sub_norm", "ffn_sub_norm"):
                L[n] = _tensor_values(tensors[b + n + ".weight"])
        for n in LINEARS:
            L[n] = _linear(tensors, b + n, cfg, cfg.bit_linear)
        layers.append(L)
    return Model(cfg, embd, output, _tensor_values(tensors["output_norm.weight"]), layers)


def rms_norm(x, w, eps):
    return x / np.sqrt(np.mean(x * x, axis=-1, keepdims=True) + eps) * w


def rope(x, n_heads, cfg: Config):
    """Rotates [n, n_heads * head_dim] at positions 0..n-1."""
    n, hd, rd = x.shape[0], cfg.head_dim, cfg.rope_dims
    x = x.reshape(n, n_heads, hd).copy()
    theta = cfg.rope_base ** (-np.arange(0, rd, 2) / rd)  # base^(-2i/rope_dims)
    ang = np.arange(n)[:, None] * theta[None, :]
    cos, sin = np.cos(ang)[:, None, :], np.sin(ang)[:, None, :]
    if cfg.rope == "adjacent":
        a, b = np.arange(0, rd, 2), np.arange(1, rd, 2)
    else:
        a, b = np.arange(rd // 2), np.arange(rd // 2, rd)
    x0, x1 = x[..., a].copy(), x[..., b].copy()
    x[..., a] = x0 * cos - x1 * sin
    x[..., b] = x0 * sin + x1 * cos
    return x.reshape(n, n_heads * hd)


def attention(q, k, v, cfg: Config):
    n, hd = q.shape[0], cfg.head_dim
    q = q.reshape(n, cfg.n_heads, hd)
    k = k.reshape(n, cfg.n_kv_heads, hd)
    v = v.reshape(n, cfg.n_kv_heads, hd)
    group = cfg.n_heads // cfg.n_kv_heads
    out = np.empty_like(q)
    mask = np.triu(np.full((n, n), -np.inf), 1)
    for h in range(cfg.n_heads):
        s = q[:, h] @ k[:, h // group].T / np.sqrt(hd) + mask
        p = np.exp(s - s.max(axis=-1, keepdims=True))
        out[:, h] = (p / p.sum(axis=-1, keepdims=True)) @ v[:, h // group]
    return out.reshape(n, cfg.n_heads * hd)


def forward(model: Model, tokens, quant: Quantizer | None = None) -> np.ndarray:
    """The logits after each token: [len(tokens), vocab]."""
    cfg, quant = model.cfg, quant or Quantizer()
    x = model.embd[np.asarray(tokens)]
    for L in model.layers:
        h = Activations(rms_norm(x, L["attn_norm"], cfg.eps), quant)
        q = rope(L["attn_q"](h, cfg), cfg.n_heads, cfg)
        k = rope(L["attn_k"](h, cfg), cfg.n_kv_heads, cfg)
        a = attention(q, k, L["attn_v"](h, cfg), cfg)
        if cfg.sub_norms:
            a = rms_norm(a, L["attn_sub_norm"], cfg.eps)
        x = x + L["attn_output"](Activations(a, quant), cfg)
        h = Activations(rms_norm(x, L["ffn_norm"], cfg.eps), quant)
        g, u = L["ffn_gate"](h, cfg), L["ffn_up"](h, cfg)
        if cfg.act == "silu":
            f = g / (1 + np.exp(-g)) * u
        else:
            f = np.maximum(g, 0) ** 2 * u
        if cfg.sub_norms:
            f = rms_norm(f, L["ffn_sub_norm"], cfg.eps)
        x = x + L["ffn_down"](Activations(f, quant), cfg)
    h = Activations(rms_norm(x, model.output_norm, cfg.output_eps), quant)
    return model.output(h, cfg)


def errors(got, want):
    """max |got - want| / max |want| of each position."""
    assert got.shape == want.shape, (got.shape, want.shape)
    return np.abs(got - want).max(axis=1) / np.abs(want).max(axis=1)


def agrees(model: Model, tokens, logits, tol, delta=1e-4, max_flips=2):
    """Whether logits (an engine's) agree with the reference within tol at
    every position, allowing the engine to have rounded up to max_flips
    activations that lie within delta of a rounding tie the other way.
    Returns (ok, per-position errors of the best candidate, flips used)."""
    quant = Quantizer(delta=delta)
    err = errors(logits, forward(model, tokens, quant))
    best = (err, ())
    if err.max() < tol:
        return True, err, ()
    near = [key for _, key in sorted(quant.near)][:6]  # the likeliest to flip
    for n in range(1, max_flips + 1):
        for flips in itertools.combinations(near, n):
            err = errors(logits, forward(model, tokens, Quantizer(flips)))
            if err.max() < best[0].max():
                best = (err, flips)
            if err.max() < tol:
                return True, err, flips
    return False, best[0], best[1]
