"""Tiny models with random weights, written with gguf-py's GGUFWriter (not
the project's writer), for cross-checks against the engine.

A model is built in two steps: make_weights() returns float32 values per
tensor name, and write_gguf() stores them, quantizing each tensor with
gguf.quants.quantize to the type asked for it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from gguf import GGMLQuantizationType as QT
from gguf import GGUFWriter
from gguf.quants import quantize

LINEARS = ("attn_q", "attn_k", "attn_v", "attn_output", "ffn_gate", "ffn_up", "ffn_down")


@dataclass
class Shape:
    arch: str = "llama"
    dim: int = 256
    n_layers: int = 2
    n_heads: int = 4
    n_kv_heads: int = 2
    ffn: int = 512
    vocab: int = 300
    rope_base: float = 10000.0
    eps: float = 1e-5
    context: int = 64
    rope_dims: int | None = None  # rotated elements per head (default: all)

    @property
    def kv_dim(self):
        return self.dim // self.n_heads * self.n_kv_heads

    def linear_shapes(self):
        """(name, rows, cols) of every linear weight."""
        d, kv, f = self.dim, self.kv_dim, self.ffn
        per = {"attn_q": (d, d), "attn_k": (kv, d), "attn_v": (kv, d), "attn_output": (d, d),
               "ffn_gate": (f, d), "ffn_up": (f, d), "ffn_down": (d, f)}
        return [(f"blk.{i}.{n}.weight", *per[n]) for i in range(self.n_layers) for n in LINEARS]


@dataclass
class Spec:
    """Which values and types a model gets.

    linear: how linear weights are made: "float" (Gaussian), "ternary"
    (0 or +-a per matrix), "blocks" (ternary codes times a random positive d
    per 256-block, so a TQ quantizer keeps the codes and d exactly),
    "blocks-uniform" (the same with one d for the whole matrix).
    """

    shape: Shape = field(default_factory=Shape)
    linear: str = "float"
    linear_type: QT = QT.F32
    embd_type: QT = QT.F32
    output: bool = True  # a separate output.weight (else tied to token_embd)
    scales: bool = False  # blk.N.<matrix>.scale tensors
    seed: int = 0


def _ternary_codes(rng, rows, cols):
    return rng.choice(np.array([-1, 0, 1], np.float32), size=(rows, cols), p=[0.35, 0.3, 0.35])


def _away_from_ties(w):
    """Nudges Gaussian weights so no |w|/mean|w| sits near the absmean
    rounding boundary 0.5 (float32 vs float64 arithmetic could round such
    a value either way)."""
    for _ in range(10):
        g = np.abs(w.astype(np.float64)).mean()
        r = np.abs(w) / g
        near = np.abs(r - 0.5) < 1e-3
        if not near.any():
            return w
        w = np.where(near, w * np.float32(1.01), w).astype(np.float32)
    raise AssertionError("could not move weights away from the absmean boundary")


def make_weights(spec: Spec) -> dict[str, np.ndarray]:
    """float32 values of every tensor, shaped [rows, cols] (numpy order)."""
    s, rng = spec.shape, np.random.default_rng(spec.seed)
    t: dict[str, np.ndarray] = {}
    f32 = np.float32
    t["token_embd.weight"] = rng.standard_normal((s.vocab, s.dim)).astype(f32)
    t["output_norm.weight"] = (1 + 0.2 * rng.standard_normal(s.dim)).astype(f32)
    if spec.output:
        t["output.weight"] = (rng.standard_normal((s.vocab, s.dim)) / np.sqrt(s.dim)).astype(f32)
    sub = s.arch != "llama"
    for i in range(s.n_layers):
        b = f"blk.{i}."
        t[b + "attn_norm.weight"] = (1 + 0.2 * rng.standard_normal(s.dim)).astype(f32)
        t[b + "ffn_norm.weight"] = (1 + 0.2 * rng.standard_normal(s.dim)).astype(f32)
        if sub:
            t[b + "attn_sub_norm.weight"] = (1 + 0.2 * rng.standard_normal(s.dim)).astype(f32)
            t[b + "ffn_sub_norm.weight"] = (1 + 0.2 * rng.standard_normal(s.ffn)).astype(f32)
    for name, rows, cols in s.linear_shapes():
        if spec.linear == "float":
            w = (rng.standard_normal((rows, cols)) / np.sqrt(cols)).astype(f32)
            if s.arch != "llama":
                w = _away_from_ties(w)
        elif spec.linear == "ternary":
            a = f32(rng.uniform(0.5, 2.0) / np.sqrt(cols))
            w = _ternary_codes(rng, rows, cols) * a
        elif spec.linear in ("blocks", "blocks-uniform"):
            nb = cols // 256
            if spec.linear == "blocks":
                d = rng.uniform(0.5, 1.5, size=(rows, nb))
            else:
                d = np.full((rows, nb), rng.uniform(0.5, 1.5))
            d = (d / np.sqrt(cols)).astype(np.float16).astype(f32)  # exact in the f16 block scale
            codes = _ternary_codes(rng, rows, cols).reshape(rows, nb, 256)
            codes[:, :, 0] = 1  # every block holds a nonzero, so max|x| = d
            w = (codes * d[..., None]).reshape(rows, cols)
        else:
            raise ValueError(spec.linear)
        t[name] = w.astype(f32)
        if spec.scales:
            t[name.replace(".weight", ".scale")] = np.array([rng.uniform(0.5, 2.0)], f32)
    return t


def _tokens(vocab):
    """A minimal SentencePiece-style vocabulary: specials, 256 byte tokens,
    then pieces."""
    toks = ["<unk>", "<s>", "</s>"] + [f"<0x{i:02X}>" for i in range(256)]
    types = [2, 3, 3] + [6] * 256
    letters = "abcdefghijklmnopqrstuvwxyz"
    i = 0
    while len(toks) < vocab:
        piece = "\u2581" + letters[i % 26] + (letters[i // 26] if i >= 26 else "")
        toks.append(piece)
        types.append(1)
        i += 1
    scores = [0.0] * 259 + [-float(k) for k in range(len(toks) - 259)]
    return toks[:vocab], scores[:vocab], types[:vocab]


def tensor_type(spec: Spec, name: str) -> QT:
    if name in ("token_embd.weight", "output.weight"):
        return spec.embd_type
    parts = name.split(".")
    if len(parts) == 4 and parts[0] == "blk" and parts[2] in LINEARS and parts[3] == "weight":
        return spec.linear_type
    return QT.F32


def write_gguf(path, spec: Spec, weights: dict[str, np.ndarray] | None = None, alignment: int | None = None) -> dict[str, np.ndarray]:
    """Writes the model with GGUFWriter (general.alignment set when
    alignment is given); returns the float32 values used."""
    s = spec.shape
    if weights is None:
        weights = make_weights(spec)
    w = GGUFWriter(str(path), s.arch)
    if alignment is not None:
        w.add_custom_alignment(alignment)
    w.add_name(f"test-{s.arch}")
    w.add_context_length(s.context)
    w.add_embedding_length(s.dim)
    w.add_block_count(s.n_layers)
    w.add_feed_forward_length(s.ffn)
    w.add_head_count(s.n_heads)
    w.add_head_count_kv(s.n_kv_heads)
    w.add_rope_dimension_count(s.rope_dims or s.dim // s.n_heads)
    w.add_rope_freq_base(s.rope_base)
    w.add_layer_norm_rms_eps(s.eps)
    w.add_vocab_size(s.vocab)
    toks, scores, types = _tokens(s.vocab)
    w.add_tokenizer_model("llama")
    w.add_token_list(toks)
    w.add_token_scores(scores)
    w.add_token_types(types)
    w.add_bos_token_id(1)
    w.add_eos_token_id(2)
    w.add_unk_token_id(0)
    for name, v in weights.items():
        qt = tensor_type(spec, name)
        if qt == QT.F32:
            w.add_tensor(name, v.astype(np.float32))
        elif qt == QT.F16:
            w.add_tensor(name, v.astype(np.float16))
        else:
            w.add_tensor(name, quantize(v, qt), raw_dtype=qt)  # byte shape in, element shape out
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    return weights
