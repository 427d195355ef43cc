#!/usr/bin/env python3
"""Builds libbitnet (the C ABI of ./capi) with the local Go toolchain.

    python3 scripts/build_lib.py [OUT_DIR]

writes OUT_DIR/libbitnet.so (libbitnet.dylib on macOS) and OUT_DIR/bitnet.h,
the header the Python binding parses. OUT_DIR defaults to python/bitnet/_lib,
where a source checkout or an editable install (pip install -e .) finds it.
setup.py imports this file for `pip install .` and wheel builds.

Environment: GO names the go command (default: `go` on PATH, then
/usr/local/go/bin/go); GOFLAGS and the other Go variables apply as usual.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HEADER = ROOT / "capi" / "bitnet.h"
DEFAULT_OUT = ROOT / "python" / "bitnet" / "_lib"


class BuildError(RuntimeError):
    """The shared library could not be built."""


def library_name() -> str:
    """File name of the shared library on this platform."""
    if sys.platform == "darwin":
        return "libbitnet.dylib"
    if sys.platform == "win32":
        return "bitnet.dll"
    return "libbitnet.so"


def find_go() -> str:
    """Path of the go command, or BuildError saying how to get one."""
    candidates = []
    if os.environ.get("GO"):
        candidates.append(os.environ["GO"])
    found = shutil.which("go")
    if found:
        candidates.append(found)
    candidates.append("/usr/local/go/bin/go")
    for c in candidates:
        p = shutil.which(c) if os.sep not in c else (c if os.access(c, os.X_OK) else None)
        if p:
            return p
    raise BuildError(
        "building the bitnet Python package needs the Go toolchain (go 1.26 or later) to compile "
        "libbitnet from ./capi, and no `go` command was found on PATH (nor $GO, nor /usr/local/go/bin/go). "
        "Install Go from https://go.dev/dl/ or set GO=/path/to/go; or install a prebuilt wheel "
        "(python -m build --wheel on a machine with Go), which needs no Go at install time."
    )


def build(out_dir: Path | str = DEFAULT_OUT, *, quiet: bool = False) -> Path:
    """Builds the library into out_dir, copies the header next to it and
    returns the library's path."""
    out_dir = Path(out_dir).resolve()
    if not (ROOT / "go.mod").is_file() or not (ROOT / "capi").is_dir():
        raise BuildError(f"{ROOT} is not a bitnet source checkout (go.mod and capi/ are needed to build libbitnet)")
    if not HEADER.is_file():
        raise BuildError(f"{HEADER} is missing")
    go = find_go()
    out_dir.mkdir(parents=True, exist_ok=True)
    lib = out_dir / library_name()
    env = dict(os.environ)
    env["CGO_ENABLED"] = "1"
    cmd = [go, "build", "-trimpath", "-buildmode=c-shared", "-o", str(lib), "./capi"]
    if not quiet:
        print("building libbitnet:", " ".join(cmd), file=sys.stderr)
    try:
        subprocess.run(cmd, cwd=ROOT, env=env, check=True)
    except subprocess.CalledProcessError as e:
        raise BuildError(
            f"`{' '.join(cmd)}` failed with exit status {e.returncode} (see the output above); "
            "cgo needs a C compiler (gcc or clang) on PATH"
        ) from e
    # go build also writes a generated header (libbitnet.h); the binding uses
    # the hand-written capi/bitnet.h, the contract.
    (out_dir / (lib.stem + ".h")).unlink(missing_ok=True)
    shutil.copyfile(HEADER, out_dir / "bitnet.h")
    return lib


def main(argv: list[str]) -> int:
    out = Path(argv[1]) if len(argv) > 1 else DEFAULT_OUT
    try:
        lib = build(out)
    except BuildError as e:
        print(f"build_lib: {e}", file=sys.stderr)
        return 1
    print(lib)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
