"""Helpers of the Hugging Face tests: llama2.c checkpoints written as Hugging
Face model folders with PyPI's safetensors and numpy (independently of the
Go writer), and a local hub server speaking the hub's URL layout.
"""

from __future__ import annotations

import hashlib
import http.server
import json
import shutil
import struct
import threading
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional

import numpy as np
from safetensors.numpy import save_file

#: The commit every revision of a FakeHub resolves to.
COMMIT = "fedcba9876543210fedcba9876543210fedcba98"

OUTPUT_NORM_EPS_KEY = "bitnet_engine_output_rms_norm_eps"


# -- llama2.c checkpoints ----------------------------------------------------


@dataclass
class Llama2c:
    dim: int
    hidden: int
    layers: int
    heads: int
    kv_heads: int
    vocab: int
    seq_len: int
    ternary: bool
    embedding: np.ndarray
    final_norm: np.ndarray
    classifier: Optional[np.ndarray]
    attn_norm: List[np.ndarray] = field(default_factory=list)
    ffn_norm: List[np.ndarray] = field(default_factory=list)
    #: per layer: name -> float matrix (float files) or (codes int8, scale)
    mats: List[Dict[str, object]] = field(default_factory=list)

    @property
    def head_dim(self) -> int:
        return self.dim // self.heads


_KINDS = ["wq", "wk", "wv", "wo", "w1", "w2", "w3"]


def _shapes(m: Llama2c) -> Dict[str, tuple]:
    kv = m.kv_heads * m.head_dim
    return {"wq": (m.dim, m.dim), "wk": (kv, m.dim), "wv": (kv, m.dim), "wo": (m.dim, m.dim),
            "w1": (m.hidden, m.dim), "w2": (m.dim, m.hidden), "w3": (m.hidden, m.dim)}


def read_llama2c(path: Path) -> Llama2c:
    """Reads a legacy float llama2.c checkpoint or a bitllama2c ak42 v1
    ternary one."""
    b = Path(path).read_bytes()
    if struct.unpack_from("<I", b, 0)[0] == 0x616B3432:
        dim, hidden, layers, heads, kvh, vocab, seq = struct.unpack_from("<7i", b, 8)
        m = Llama2c(dim, hidden, layers, heads, kvh, vocab, seq, True, None, None, None)  # type: ignore[arg-type]
        off = 256
        m.final_norm = np.frombuffer(b, "<f4", dim, off).copy()
        off += 4 * dim
        m.embedding = np.frombuffer(b, "<f4", vocab * dim, off).reshape(vocab, dim).copy()
        off += 4 * vocab * dim
        m.mats = [{} for _ in range(layers)]
        lut = np.array([0, 1, 0, -1], np.int8)  # 00 = 0, 01 = +1, 11 = -1
        for kind in _KINDS:
            rows, cols = _shapes(m)[kind]
            for layer in range(layers):
                scale = np.frombuffer(b, "<f4", 1, off)[0]
                off += 4
                n = rows * cols
                raw = np.frombuffer(b, np.uint8, (n + 3) // 4, off)
                off += (n + 3) // 4
                # first weight in the two most significant bits
                codes = np.stack([raw >> 6 & 3, raw >> 4 & 3, raw >> 2 & 3, raw & 3], axis=1).reshape(-1)[:n]
                m.mats[layer][kind] = (lut[codes].reshape(rows, cols), np.float32(scale))
        assert off == len(b), (off, len(b))
        return m
    dim, hidden, layers, heads, kvh, vocab, seq = struct.unpack_from("<7i", b, 0)
    shared = vocab > 0
    vocab = abs(vocab)
    m = Llama2c(dim, hidden, layers, heads, kvh, vocab, seq, False, None, None, None)  # type: ignore[arg-type]
    f = np.frombuffer(b, "<f4", (len(b) - 28) // 4, 28)
    pos = 0

    def take(*shape):
        nonlocal pos
        n = int(np.prod(shape))
        out = f[pos:pos + n].reshape(shape).copy()
        pos += n
        return out

    kv = kvh * (dim // heads)
    m.embedding = take(vocab, dim)
    att = take(layers, dim)
    wq, wk, wv, wo = take(layers, dim, dim), take(layers, kv, dim), take(layers, kv, dim), take(layers, dim, dim)
    ffn = take(layers, dim)
    w1, w2, w3 = take(layers, hidden, dim), take(layers, dim, hidden), take(layers, hidden, dim)
    m.final_norm = take(dim)
    take(seq, dim // heads // 2)
    take(seq, dim // heads // 2)
    m.classifier = None if shared else take(vocab, dim)
    m.attn_norm, m.ffn_norm = list(att), list(ffn)
    m.mats = [{"wq": wq[i], "wk": wk[i], "wv": wv[i], "wo": wo[i], "w1": w1[i], "w2": w2[i], "w3": w3[i]} for i in range(layers)]
    return m


def interleaved_to_half(w: np.ndarray, head_dim: int) -> np.ndarray:
    """Reorders q/k rows, head by head, from interleaved RoPE pairs (2i,
    2i+1) to Hugging Face's rotate-half pairs (i, i + head_dim/2)."""
    rows = w.shape[0]
    heads = rows // head_dim
    return w.reshape(heads, head_dim // 2, 2, *w.shape[1:]).swapaxes(1, 2).reshape(w.shape)


def pack_ternary(codes: np.ndarray) -> np.ndarray:
    """transformers' pack_weights: uint8 [out/4, in], rows r + k*out/4 in
    bits 2k..2k+1, value + 1."""
    out, cols = codes.shape
    q = out // 4
    u = (codes.astype(np.int16) + 1).astype(np.uint8)
    packed = np.zeros((q, cols), np.uint8)
    for k in range(4):
        packed |= u[k * q:(k + 1) * q] << (2 * k)
    return packed


_HF_NAMES = {"wq": "self_attn.q_proj", "wk": "self_attn.k_proj", "wv": "self_attn.v_proj", "wo": "self_attn.o_proj",
             "w1": "mlp.gate_proj", "w2": "mlp.down_proj", "w3": "mlp.up_proj"}


def to_bf16(a: np.ndarray) -> np.ndarray:
    """float32 -> bfloat16 bits (round to nearest even) as uint16."""
    u = a.astype(np.float32).view(np.uint32).astype(np.uint64)
    return ((u + 0x7FFF + ((u >> 16) & 1)) >> 16).astype(np.uint16)


def write_hf_folder(dst: Path, model: Path, tokenizer: Path, arch: str, weights: str = "f32",
                    linear_class: str = "autobitlinear", shards: int = 1) -> Path:
    """Writes a llama2.c checkpoint as a Hugging Face folder: stories260K as
    LlamaForCausalLM (q/k rows in rotate-half order), bitllama2c-3M as
    BitNetForCausalLM / BitnetForCausalLM with weights "f32" (codes times
    scale), "bf16" (the same rounded, as a master checkpoint stores them) or
    "packed" (uint8 + weight_scale: the scale for autobitlinear, its inverse
    for bitlinear)."""
    m = read_llama2c(model)
    dst.mkdir(parents=True, exist_ok=True)
    t: Dict[str, np.ndarray] = {}
    cfg = {
        "architectures": [arch], "hidden_size": m.dim, "intermediate_size": m.hidden, "num_hidden_layers": m.layers,
        "num_attention_heads": m.heads, "num_key_value_heads": m.kv_heads, "max_position_embeddings": m.seq_len,
        "vocab_size": m.vocab, "rms_norm_eps": 1e-5, "rope_theta": 10000.0, "hidden_act": "silu",
        "tie_word_embeddings": m.classifier is None, "bos_token_id": 1, "eos_token_id": 2, "torch_dtype": "float32",
    }
    t["model.embed_tokens.weight"] = m.embedding
    t["model.norm.weight"] = m.final_norm
    if m.classifier is not None:
        t["lm_head.weight"] = m.classifier
    if not m.ternary:
        assert arch == "LlamaForCausalLM"
        cfg["model_type"] = "llama"
        for i in range(m.layers):
            p = f"model.layers.{i}."
            t[p + "input_layernorm.weight"] = m.attn_norm[i]
            t[p + "post_attention_layernorm.weight"] = m.ffn_norm[i]
            for kind, name in _HF_NAMES.items():
                w = m.mats[i][kind]
                if kind in ("wq", "wk"):
                    w = interleaved_to_half(w, m.head_dim)
                t[p + name + ".weight"] = np.ascontiguousarray(w, np.float32)
    else:
        cfg.update(model_type="bitnet", rms_norm_eps=0.0)
        cfg[OUTPUT_NORM_EPS_KEY] = 1e-5
        if weights == "packed":
            cfg["quantization_config"] = {"quant_method": "bitnet", "linear_class": linear_class, "quantization_mode": "offline"}
        sub = ("self_attn.attn_sub_norm", "mlp.ffn_sub_norm") if arch == "BitNetForCausalLM" else ("self_attn.inner_attn_ln", "mlp.ffn_layernorm")
        for i in range(m.layers):
            p = f"model.layers.{i}."
            # bitllama2c's weightless norms divide by n once more.
            t[p + "input_layernorm.weight"] = np.full(m.dim, 1 / m.dim, np.float32)
            t[p + "post_attention_layernorm.weight"] = np.full(m.dim, 1 / m.dim, np.float32)
            t[p + sub[0] + ".weight"] = np.full(m.dim, 1 / m.dim, np.float32)
            t[p + sub[1] + ".weight"] = np.full(m.hidden, 1 / m.hidden, np.float32)
            for kind, name in _HF_NAMES.items():
                codes, scale = m.mats[i][kind]  # type: ignore[misc]
                if kind in ("wq", "wk"):
                    codes = interleaved_to_half(codes, m.head_dim)
                if weights == "packed":
                    t[p + name + ".weight"] = pack_ternary(codes)
                    ws = scale if linear_class == "autobitlinear" else np.float32(1 / np.float64(scale))
                    t[p + name + ".weight_scale"] = np.array([ws], np.float32)
                else:
                    t[p + name + ".weight"] = (codes.astype(np.float32) * scale).astype(np.float32)
    t = {k: np.ascontiguousarray(v) for k, v in t.items()}
    bf16 = set()
    if weights == "bf16":
        # numpy has no bfloat16: written as raw bits, patched to BF16 below.
        bf16 = {k for k in t if k.endswith("_proj.weight")}
        t = {k: (to_bf16(v) if k in bf16 else v) for k, v in t.items()}
    names = sorted(t)
    if shards <= 1:
        save_file(t, str(dst / "model.safetensors"), metadata={"format": "pt"})
        if bf16:
            _retype(dst / "model.safetensors", bf16)
    else:
        weight_map = {}
        for s in range(shards):
            fname = f"model-{s + 1:05d}-of-{shards:05d}.safetensors"
            part = {n: t[n] for n in names[s::shards]}
            save_file(part, str(dst / fname), metadata={"format": "pt"})
            weight_map.update({n: fname for n in part})
        (dst / "model.safetensors.index.json").write_text(json.dumps({"metadata": {}, "weight_map": weight_map}))
    (dst / "config.json").write_text(json.dumps(cfg, indent=2))
    shutil.copy(tokenizer, dst / "tokenizer.model")
    return dst


def _retype(path: Path, names: set) -> None:
    """Marks uint16 tensors as BF16 (same element size, so the data section
    stays as it is; only the header is rewritten)."""
    b = path.read_bytes()
    n = struct.unpack_from("<Q", b, 0)[0]
    header = json.loads(b[8:8 + n])
    for k in names:
        assert header[k]["dtype"] == "U16"
        header[k]["dtype"] = "BF16"
    new = json.dumps(header, separators=(",", ":")).encode()
    new += b" " * (-len(new) % 8)
    path.write_bytes(struct.pack("<Q", len(new)) + new + b[8 + n:])


# -- a local hub -----------------------------------------------------------


class FakeHub:
    """A hub on 127.0.0.1: GET /api/models/{repo}[/revision/{rev}] lists a
    repository; HEAD and GET /{repo}/resolve/{rev}/{file} serve files with
    X-Repo-Commit, a SHA-256 ETag (X-Linked-Etag, as LFS files) and Range
    requests. Hooks: bad_hash (announce a wrong SHA-256), cut_once (cut the
    first GET of a file after n bytes), fail_5xx (answer n requests 503)."""

    def __init__(self) -> None:
        self.repos: Dict[str, Dict[str, bytes]] = {}
        self.log: List[str] = []
        #: the Authorization header of each request, as in log
        self.auth: List[str] = []
        self.bad_hash: set = set()
        self.cut_once: Dict[str, int] = {}
        self.fail_5xx = 0
        self.lock = threading.Lock()
        hub = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a):  # quiet
                pass

            def do_HEAD(self):
                hub._serve(self, head=True)

            def do_GET(self):
                hub._serve(self, head=False)

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def publish_dir(self, repo: str, folder: Path) -> None:
        for p in sorted(Path(folder).iterdir()):
            self.repos.setdefault(repo, {})[p.name] = p.read_bytes()

    def requests(self, substr: str = "") -> List[str]:
        with self.lock:
            return [e for e in self.log if substr in e]

    def _send(self, h, code: int, body: bytes = b"", headers: Optional[dict] = None, head: bool = False) -> None:
        h.send_response(code)
        for k, v in (headers or {}).items():
            h.send_header(k, v)
        if "Content-Length" not in (headers or {}):
            h.send_header("Content-Length", str(len(body)))
        h.end_headers()
        if not head:
            h.wfile.write(body)

    def _serve(self, h, head: bool) -> None:
        path = urllib.parse.urlsplit(h.path).path
        with self.lock:
            self.log.append(f"{h.command} {path} {h.headers.get('Range', '')}".strip())
            self.auth.append(h.headers.get("Authorization", ""))
            if self.fail_5xx > 0:
                self.fail_5xx -= 1
                return self._send(h, 503, b"overloaded", head=head)
        parts = [urllib.parse.unquote(x) for x in path.lstrip("/").split("/")]
        if parts[:2] == ["api", "models"]:
            return self._listing(h, parts[2:], head)
        if len(parts) < 5 or parts[2] != "resolve":
            return self._send(h, 404, b"not found", head=head)
        repo, rev, name = "/".join(parts[:2]), parts[3], "/".join(parts[4:])
        files = self.repos.get(repo)
        if files is None:
            return self._send(h, 404, b"Repository not found", {"X-Error-Code": "RepoNotFound"}, head)
        if rev not in ("main", COMMIT):
            return self._send(h, 404, b"Revision not found", {"X-Error-Code": "RevisionNotFound"}, head)
        if name not in files:
            return self._send(h, 404, b"Entry not found", {"X-Error-Code": "EntryNotFound", "X-Repo-Commit": COMMIT}, head)
        data = files[name]
        sha = hashlib.sha256(data).hexdigest()
        if name in self.bad_hash:
            sha = "0" * 64
        headers = {"X-Repo-Commit": COMMIT, "X-Linked-Etag": f'"{sha}"', "ETag": f'"{sha}"',
                   "X-Linked-Size": str(len(data)), "Accept-Ranges": "bytes"}
        if head:
            headers["Content-Length"] = str(len(data))
            return self._send(h, 200, b"", headers, head=True)
        start, code = 0, 200
        rng = h.headers.get("Range")
        if rng:
            start = int(rng.split("=")[1].split("-")[0])
            code = 206
            headers["Content-Range"] = f"bytes {start}-{len(data) - 1}/{len(data)}"
        body = data[start:]
        headers["Content-Length"] = str(len(body))
        with self.lock:
            cut = self.cut_once.pop(name, None)
        if cut is not None:
            h.send_response(code)
            for k, v in headers.items():
                h.send_header(k, v)
            h.end_headers()
            h.wfile.write(body[:cut])
            h.wfile.flush()
            h.close_connection = True
            return
        self._send(h, code, body, headers)

    def _listing(self, h, rest: List[str], head: bool) -> None:
        repo = "/".join(rest[:2])
        files = self.repos.get(repo)
        if files is None:
            return self._send(h, 404, b'{"error":"Repository not found"}', {"X-Error-Code": "RepoNotFound"}, head)
        if len(rest) > 2 and rest[2] == "tree":
            # huggingface_hub's list_repo_tree: one page of file entries.
            tree = []
            for n in sorted(files):
                data = files[n]
                sha1 = hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()
                tree.append({"type": "file", "path": n, "size": len(data), "oid": sha1,
                             "lfs": {"size": len(data), "oid": hashlib.sha256(data).hexdigest(), "pointerSize": 134}})
            return self._send(h, 200, json.dumps(tree).encode(), {"Content-Type": "application/json"}, head)
        siblings = [{"rfilename": n} for n in sorted(files)]
        body = json.dumps({"id": repo, "modelId": repo, "sha": COMMIT, "private": False, "siblings": siblings,
                           "lastModified": "2026-01-01T00:00:00.000Z", "tags": [], "downloads": 0, "likes": 0}).encode()
        self._send(h, 200, body, {"Content-Type": "application/json"}, head)
