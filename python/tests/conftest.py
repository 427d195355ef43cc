"""Fixtures of the Python package tests.

Environment:
  BITNET_SHARED_DIR      the shared folder; assets are in its assets/ folder
                         (default: ../shared next to the repository).
  BITNET_REQUIRE_ASSETS  1: tests that need assets fail when they are missing
                         (otherwise they are skipped).
  BITNET_BIN             a Go-built bitnet CLI to convert models with (default:
                         `python -m bitnet`, the CLI inside the package).
  BITNET_LIBRARY         another build of libbitnet for the package to load.

Models are converted from the llama2.c checkpoints in the shared assets into
a temporary folder once per test session.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Callable, Dict

import pytest

import bitnet
from pkg_helpers import REPO, run_cli


@pytest.fixture(scope="session")
def assets_dir() -> Path:
    shared = Path(os.environ.get("BITNET_SHARED_DIR") or REPO.parent / "shared")
    d = shared / "assets"
    if not (d / "SHA256SUMS").is_file():
        msg = f"assets not found at {d} (set BITNET_SHARED_DIR)"
        if os.environ.get("BITNET_REQUIRE_ASSETS") == "1":
            pytest.fail(msg, pytrace=False)
        pytest.skip(msg)
    return d


@pytest.fixture(scope="session")
def asset(assets_dir) -> Callable[[str], Path]:
    """asset("models/x.bin") -> its path, checked against SHA256SUMS."""
    sums: Dict[str, str] = {}
    for line in (assets_dir / "SHA256SUMS").read_text().splitlines():
        digest, name = line.split(maxsplit=1)
        sums[name[2:] if name.startswith("./") else name] = digest
    checked: Dict[str, Path] = {}

    def get(rel: str) -> Path:
        if rel in checked:
            return checked[rel]
        p = assets_dir / rel
        if rel not in sums:
            pytest.fail(f"{rel} is not listed in SHA256SUMS", pytrace=False)
        got = hashlib.sha256(p.read_bytes()).hexdigest()
        if got != sums[rel]:
            pytest.fail(f"{p}: sha256 {got}, SHA256SUMS says {sums[rel]}", pytrace=False)
        checked[rel] = p
        return p

    return get


@pytest.fixture(scope="session")
def golden(asset) -> Callable[[str], str]:
    return lambda name: asset(f"golden/{name}").read_text(encoding="utf-8")


@pytest.fixture(scope="session")
def convert(asset, tmp_path_factory) -> Callable[[str, str], Path]:
    """convert("models/stories260K.bin", "f32") -> a GGUF converted once per session."""
    out_dir = tmp_path_factory.mktemp("models")
    made: Dict[tuple, Path] = {}

    def get(src: str, typ: str) -> Path:
        key = (src, typ)
        if key not in made:
            dst = out_dir / f"{Path(src).stem}-{typ}.gguf"
            run_cli("convert", asset(src), dst, "--type", typ, "--tokenizer", asset("models/tok512.model"), "--quiet")
            made[key] = dst
        return made[key]

    return get


@pytest.fixture(scope="session")
def stories_path(convert) -> Path:
    """stories260K (llama2.c) as an F32 GGUF."""
    return convert("models/stories260K.bin", "f32")


@pytest.fixture(scope="session")
def bit3m_path(convert) -> Path:
    """The ternary bitllama2c-3M as an I2_S GGUF."""
    return convert("models/bitllama2c-3M.bin", "i2_s")


@pytest.fixture(scope="session")
def stories(stories_path):
    with bitnet.BitNetModel.from_file(stories_path, bitnet.ModelConfig(n_threads=2)) as m:
        yield m


@pytest.fixture(scope="session")
def bit3m(bit3m_path):
    with bitnet.BitNetModel.from_file(bit3m_path, bitnet.ModelConfig(n_threads=2)) as m:
        yield m
