"""Runs the bitnet CLI and parses its JSON output."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import numpy as np


def _float(v):
    return float(v) if not isinstance(v, str) else {"NaN": np.nan, "+Inf": np.inf, "-Inf": -np.inf}[v]


class BitnetCLI:
    def __init__(self, path: Path):
        self.path = str(path)

    def run(self, *args, check=True) -> subprocess.CompletedProcess:
        p = subprocess.run([self.path, *map(str, args)], capture_output=True, text=True, timeout=120)
        if check and p.returncode != 0:
            raise AssertionError(f"bitnet {' '.join(map(str, args))} exited {p.returncode}:\n{p.stderr}")
        return p

    def json(self, *args):
        return json.loads(self.run(*args).stdout)

    def logits(self, model, tokens) -> np.ndarray:
        """[len(tokens), vocab] float64 logits after each token."""
        out = self.json("logits", "--model", model, "--tokens", ",".join(map(str, tokens)), "--json", "--threads", 2)
        assert out["tokens"] == list(tokens)
        rows = np.array([[_float(v) for v in row] for row in out["logits"]], dtype=np.float64)
        assert rows.shape == (len(tokens), out["vocab_size"])
        return rows

    def convert(self, src, dst, typ, *extra):
        self.run("convert", src, dst, "--type", typ, "--quiet", *extra)
        return dst

    def inspect(self, path):
        return self.json("inspect", path, "--json", "--full")
