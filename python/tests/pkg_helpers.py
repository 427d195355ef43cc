"""Helpers of the package tests (a module of its own so that test files can
import them even when pytest also collects the repository's tests/ folder,
whose conftest module has the same name)."""

from __future__ import annotations

import os
import struct
import subprocess
import sys
from pathlib import Path
from typing import List

import bitnet

REPO = Path(__file__).resolve().parents[2]

#: The reference programs' greedy runs: 256 tokens after BOS.
GOLDEN_STEPS = 256


def greedy(max_new_tokens: int = GOLDEN_STEPS, **kw) -> bitnet.GenerationConfig:
    """Greedy decoding that ignores EOS, as the reference programs did."""
    kw.setdefault("ignore_eos", True)
    return bitnet.GenerationConfig(max_new_tokens=max_new_tokens, temperature=0.0, **kw)


def gguf_without_vocabulary(path: Path) -> Path:
    """Writes a GGUF file with one metadata key and no vocabulary."""

    def text(x):
        b = x.encode()
        return struct.pack("<Q", len(b)) + b

    kv = text("general.architecture") + struct.pack("<I", 8) + text("llama")
    path.write_bytes(b"GGUF" + struct.pack("<IQQ", 3, 0, 1) + kv)
    return path


def cli_command() -> List[str]:
    """The bitnet CLI: BITNET_BIN, else the package's `python -m bitnet`."""
    if os.environ.get("BITNET_BIN"):
        return [os.environ["BITNET_BIN"]]
    return [sys.executable, "-m", "bitnet"]


def run_cli(*args, check: bool = True) -> subprocess.CompletedProcess:
    cmd = [*cli_command(), *map(str, args)]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    if check and p.returncode != 0:
        raise AssertionError(f"{' '.join(cmd)} exited {p.returncode}:\n{p.stdout}\n{p.stderr}")
    return p
