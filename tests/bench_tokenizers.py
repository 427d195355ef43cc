"""Encoding throughput of the engine's Llama-3 tokenizer against Hugging Face
`tokenizers`, both single-threaded, on the same text: the repository's Go and
Markdown sources (as BenchmarkBPEEncodeLlama3RepoText in tokenize/ uses),
optionally repeated. Prints the numbers; asserts nothing about speed.

    BITNET_BIN=build/bitnet .venv/bin/python tests/bench_tokenizers.py [--repeat N]

The engine's time is `bitnet tokenize --stats` (one Encode call, measured
inside the process, without loading, GOMAXPROCS=1 so that even the garbage
collector shares the one thread); Hugging Face's is one `encode` call
(Rust, from Python), with RAYON_NUM_THREADS=1 and TOKENIZERS_PARALLELISM=false.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ["RAYON_NUM_THREADS"] = "1"
os.environ["TOKENIZERS_PARALLELISM"] = "false"

from tokenizers import Tokenizer  # noqa: E402

REPO = Path(__file__).resolve().parent.parent


def repo_text() -> str:
    paths = []
    for root, dirs, files in os.walk(REPO):
        dirs[:] = [d for d in dirs if not d.startswith(".") and d != "build"]
        paths += [Path(root, f) for f in files if f.endswith((".go", ".md"))]
    # the Go benchmark sorts "../path" strings byte-wise
    paths.sort(key=lambda p: ("../" + p.relative_to(REPO).as_posix()).encode())
    return "".join(p.read_text() for p in paths)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--repeat", type=int, default=4, help="copies of the text (default 4)")
    ap.add_argument("--runs", type=int, default=3, help="timed runs, best kept (default 3)")
    args = ap.parse_args()
    shared = Path(os.environ.get("BITNET_SHARED_DIR") or REPO.parent / "shared")
    model = shared / "assets" / "tokenizers" / "llama3-tokenizer.json"
    bitnet = os.environ.get("BITNET_BIN") or str(REPO / "build" / "bitnet")
    text = repo_text() * args.repeat
    size = len(text.encode())

    hf = Tokenizer.from_file(str(model))
    hf.encode_special_tokens = True
    best_hf, hf_ids = float("inf"), None
    for _ in range(args.runs):
        t0 = time.perf_counter()
        hf_ids = hf.encode(text, add_special_tokens=False).ids
        best_hf = min(best_hf, time.perf_counter() - t0)

    with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False, encoding="utf-8") as f:
        f.write(text)
    try:
        best_go, go_ids = float("inf"), None
        for _ in range(args.runs):
            p = subprocess.run([bitnet, "tokenize", "--model", str(model), "--file", f.name, "--no-bos", "--stats"],
                               capture_output=True, text=True, check=True, env={**os.environ, "GOMAXPROCS": "1"})
            ms = float(re.search(r"in ([0-9.]+) ms", p.stderr).group(1))
            best_go = min(best_go, ms / 1e3)
            go_ids = [int(x) for x in p.stdout.split()]
    finally:
        os.unlink(f.name)

    print(f"text: {size / 1e6:.2f} MB, {len(hf_ids)} tokens (ids equal: {go_ids == hf_ids})")
    print(f"bitnet (Go, 1 thread):          {size / 1e6 / best_go:8.2f} MB/s  ({best_go * 1e3:.1f} ms)")
    print(f"HF tokenizers (Rust, 1 thread): {size / 1e6 / best_hf:8.2f} MB/s  ({best_hf * 1e3:.1f} ms)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
