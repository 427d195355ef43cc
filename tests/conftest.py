"""Fixtures of the Python cross-check tests.

Environment:
  BITNET_BIN             absolute path of the bitnet CLI (default: build/bitnet
                         of this repository); the tests fail if it is missing.
  BITNET_SHARED_DIR      the shared folder; assets are in its assets/ folder
                         (default: ../shared next to the repository).
  BITNET_REQUIRE_ASSETS  1: tests that need assets fail when they are missing
                         (otherwise they are skipped).
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from bitnet_cli import BitnetCLI

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def bitnet_bin() -> Path:
    p = Path(os.environ.get("BITNET_BIN") or REPO / "build" / "bitnet")
    if not p.is_file() or not os.access(p, os.X_OK):
        pytest.fail(f"bitnet binary not found at {p}: build it (make build) or set BITNET_BIN", pytrace=False)
    return p


@pytest.fixture(scope="session")
def bitnet(bitnet_bin) -> BitnetCLI:
    return BitnetCLI(bitnet_bin)


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
def asset(assets_dir):
    """asset("gguf/x.gguf") -> its path, checked against SHA256SUMS."""
    sums = {}
    for line in (assets_dir / "SHA256SUMS").read_text().splitlines():
        digest, name = line.split(maxsplit=1)
        sums[name.removeprefix("./")] = digest

    def get(rel: str) -> Path:
        p = assets_dir / rel
        if rel not in sums:
            pytest.fail(f"{rel} is not listed in SHA256SUMS", pytrace=False)
        got = hashlib.sha256(p.read_bytes()).hexdigest()
        if got != sums[rel]:
            pytest.fail(f"{p}: sha256 {got}, SHA256SUMS says {sums[rel]}", pytrace=False)
        return p

    return get
