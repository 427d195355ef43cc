"""Loads libbitnet through cffi's ABI mode and guards every call.

The declarations come from the hand-written header bitnet.h (the contract of
the C ABI), shipped in the package next to the library. Its preprocessor
lines and extern "C" guards are removed before ``ffi.cdef``; integer
``#define`` constants are kept (cffi accepts them).

Where the library is looked for, first match wins:

1. the file named by the environment variable ``BITNET_LIBRARY``;
2. ``_lib/libbitnet.so`` (``.dylib`` on macOS) inside the installed package.

The header is ``_lib/bitnet.h`` inside the package, else ``capi/bitnet.h``
of the source checkout the package lives in.

Fork safety: the Go runtime inside the library does not survive ``fork()``.
The pid is recorded at load and ``os.register_at_fork`` marks a forked child;
every call there raises :class:`~bitnet.errors.ForkError`, and finalizers of
objects inherited from the parent do nothing.
"""

from __future__ import annotations

import contextlib
import os
import re
import sys
import threading
import weakref
from pathlib import Path
from typing import Any, Dict, Iterator, Optional, Tuple

from cffi import FFI

from . import errors
from .errors import BitNetImportError, ForkError

#: The ABI version this Python code is written against.
SUPPORTED_ABI_VERSION = 1

_PKG_DIR = Path(__file__).resolve().parent
_LIB_DIR = _PKG_DIR / "_lib"
_DEFINE = re.compile(r"^\s*#\s*define\s+([A-Za-z_][A-Za-z0-9_]*)\s+(-?(?:0[xX][0-9a-fA-F]+|\d+))\s*$")


def library_filename() -> str:
    """File name of the shared library on this platform."""
    if sys.platform == "darwin":
        return "libbitnet.dylib"
    if sys.platform == "win32":
        return "bitnet.dll"
    return "libbitnet.so"


def header_path() -> Path:
    """The bitnet.h the binding parses."""
    candidates = [_LIB_DIR / "bitnet.h", _PKG_DIR.parent.parent / "capi" / "bitnet.h"]
    for p in candidates:
        if p.is_file():
            return p
    raise BitNetImportError(
        "bitnet: the C header bitnet.h was not found (looked at "
        + ", ".join(str(p) for p in candidates)
        + "); reinstall the package (pip install .) or run scripts/build_lib.py"
    )


def library_path() -> Path:
    """The shared library to load (BITNET_LIBRARY, else the package's own)."""
    env = os.environ.get("BITNET_LIBRARY")
    if env:
        p = Path(env)
        if not p.is_file():
            raise BitNetImportError(f"bitnet: BITNET_LIBRARY={env} does not name a file")
        return p
    p = _LIB_DIR / library_filename()
    if not p.is_file():
        raise BitNetImportError(
            f"bitnet: the native library {p} is missing. It is built with Go when the package is installed "
            "(pip install . or pip install -e . in a bitnet checkout; `python3 scripts/build_lib.py` rebuilds it "
            "in place), or set BITNET_LIBRARY to a libbitnet built with "
            "`go build -buildmode=c-shared -o libbitnet.so ./capi`."
        )
    return p


def parse_header(text: str) -> Tuple[str, Dict[str, int]]:
    """Turns bitnet.h into cdef source: drops preprocessor lines (keeping
    integer #defines) and the extern "C" guards. Returns the source and the
    integer constants."""
    out = []
    consts: Dict[str, int] = {}
    skip_depth = 0  # inside #ifdef __cplusplus ... #endif
    for line in text.splitlines():
        s = line.strip()
        if s.startswith("#"):
            directive = s[1:].strip()
            if skip_depth:
                if directive.startswith(("if", "ifdef", "ifndef")):
                    skip_depth += 1
                elif directive.startswith("endif"):
                    skip_depth -= 1
                continue
            if re.match(r"ifdef\s+__cplusplus\b", directive):
                skip_depth = 1
                continue
            m = _DEFINE.match(line)
            if m:
                consts[m.group(1)] = int(m.group(2), 0)
                out.append(f"#define {m.group(1)} {m.group(2)}")
            continue
        if skip_depth:
            continue
        out.append(line)
    return "\n".join(out) + "\n", consts


class _State:
    """The process-wide library state."""

    def __init__(self) -> None:
        self.ffi: Optional[FFI] = None
        self.lib: Any = None
        self.consts: Dict[str, int] = {}
        self.pid: int = -1
        self.forked: bool = False
        self.path: Optional[Path] = None
        self.header: Optional[Path] = None


_state = _State()
_lock = threading.Lock()


def _mark_forked() -> None:
    _state.forked = True


def _fork_message() -> str:
    return (
        f"bitnet: this process (pid {os.getpid()}) was created by fork() from pid {_state.pid}, which had loaded "
        "libbitnet; the Go runtime inside the library does not survive fork(), so the library cannot be used "
        "here. Use multiprocessing's 'spawn' start method (multiprocessing.get_context('spawn')), or import "
        "bitnet and load the model in the child process instead of inheriting it."
    )


def load() -> None:
    """Loads the library once and checks its ABI version (BitNetImportError
    on failure)."""
    with _lock:
        if _state.lib is not None:
            return
        hpath = header_path()
        cdef, consts = parse_header(hpath.read_text(encoding="utf-8"))
        ffi = FFI()
        try:
            ffi.cdef(cdef)
        except Exception as e:  # cffi.CDefError and friends
            raise BitNetImportError(f"bitnet: cannot parse {hpath}: {e}") from e
        lpath = library_path()
        try:
            lib = ffi.dlopen(str(lpath))
        except OSError as e:
            raise BitNetImportError(f"bitnet: cannot load {lpath}: {e}") from e
        want = consts.get("BITNET_ABI_VERSION")
        if want is None:
            raise BitNetImportError(f"bitnet: {hpath} defines no BITNET_ABI_VERSION")
        if want != SUPPORTED_ABI_VERSION:
            raise BitNetImportError(
                f"bitnet: header {hpath} declares ABI version {want}, but this Python package is written for "
                f"version {SUPPORTED_ABI_VERSION}; reinstall the package from one checkout"
            )
        got = int(lib.bitnet_abi_version())
        if got != want:
            raise BitNetImportError(
                f"bitnet: ABI version mismatch: {lpath} implements ABI version {got}, but the header {hpath} "
                f"declares version {want}; rebuild the library and the package from the same checkout "
                "(pip install . or scripts/build_lib.py), or point BITNET_LIBRARY at a matching build"
            )
        for name, value in consts.items():
            if name.startswith("BITNET_ERR_") and errors.CODE_NAMES.get(value) != name:
                raise BitNetImportError(f"bitnet: {hpath}: {name} = {value} differs from the binding's table")
        _state.ffi, _state.lib, _state.consts = ffi, lib, consts
        _state.pid, _state.path, _state.header = os.getpid(), lpath, hpath
        if hasattr(os, "register_at_fork"):
            os.register_at_fork(after_in_child=_mark_forked)


def forked() -> bool:
    """Whether this process is a fork child of the one that loaded the library."""
    return _state.forked or (_state.pid != -1 and os.getpid() != _state.pid)


def check_fork() -> None:
    """Raises ForkError in a forked child."""
    if forked():
        raise ForkError(_fork_message())


def ffi() -> FFI:
    """The FFI object (declarations only; safe in a forked child)."""
    assert _state.ffi is not None
    return _state.ffi


def lib() -> Any:
    """The library, after the fork check."""
    if forked():
        raise ForkError(_fork_message())
    return _state.lib


def lib_for_cleanup() -> Any:
    """The library for finalizers: None in a forked child, where releasing
    the parent's handles must not touch the dead Go runtime."""
    if forked() or _state.lib is None:
        return None
    return _state.lib


def const(name: str) -> int:
    """An integer constant of the header, e.g. const("BITNET_DEVICE_CUDA")."""
    return _state.consts[name]


def last_error() -> Tuple[int, str]:
    """Code and message of the last failure on this thread."""
    lib_, f = lib(), ffi()
    code = int(lib_.bitnet_last_error_code())
    p = lib_.bitnet_last_error()
    msg = f.string(p).decode("utf-8", "replace") if p != f.NULL else ""
    return code, msg


def raise_for(rc: int, context: str = "") -> None:
    """Raises the exception of a failed call's return code (no-op for BITNET_OK)."""
    if rc == 0:
        return
    _, msg = last_error()
    if context and not msg:
        msg = f"{context}: failed with {errors.CODE_NAMES.get(rc, f'code {rc}')}"
    elif context and not msg.startswith(context):
        msg = f"{context}: {msg}"
    raise errors.from_code(rc, msg)


def check(rc: int, context: str = "") -> None:
    """raise_for, named for the common call pattern ``check(lib().f(...))``."""
    if rc != 0:
        raise_for(rc, context)


def take_string(p: Any) -> str:
    """Decodes and frees a string the library allocated (NULL -> "")."""
    f = ffi()
    if p == f.NULL:
        return ""
    try:
        return f.string(p).decode("utf-8", "replace")
    finally:
        lib().bitnet_free_string(p)


def library_version() -> str:
    """Version string of the loaded library."""
    return ffi().string(lib().bitnet_version()).decode("utf-8", "replace")


def loaded_library_path() -> Optional[Path]:
    """The path the library was loaded from."""
    return _state.path


def char_array_str(arr: Any) -> str:
    """A NUL-terminated char[N] struct field as str."""
    return ffi().string(arr).decode("utf-8", "replace")


def call_with_buffer(fn: Any, ctype: str, cap: int, context: str) -> Tuple[Any, int]:
    """Calls fn(buf, cap, n_out) with a caller-owned array of ctype, growing
    it when the library answers BITNET_ERR_BUFFER_TOO_SMALL. Returns the
    buffer and the length written."""
    f = ffi()
    cap = max(1, int(cap))
    n = f.new("size_t *")
    for _ in range(8):
        buf = f.new(f"{ctype}[]", cap)
        rc = fn(buf, cap, n)
        if rc == errors.ERR_BUFFER_TOO_SMALL and int(n[0]) > cap:
            cap = int(n[0])
            continue
        check(rc, context)
        return buf, int(n[0])
    raise errors.CapacityError(f"{context}: the needed buffer size kept growing", errors.ERR_BUFFER_TOO_SMALL)


class Handle:
    """An owned library handle shared by threads: calls hold it with use(),
    close() marks it closed and frees it once no call is using it, and a
    finalizer frees it if its owner is garbage-collected first. In a forked
    child nothing is freed (the parent's Go runtime is gone)."""

    def __init__(self, ptr: Any, free_fn: str, what: str) -> None:
        self.ptr = ptr
        self.what = what
        self._users = 0
        self._closed = False
        self._lock = threading.Lock()
        self._finalizer = weakref.finalize(self, _free_handle, free_fn, ptr)

    @property
    def closed(self) -> bool:
        return self._closed

    def acquire(self) -> Any:
        """Marks one use and returns the pointer (ClosedError after close,
        ForkError in a forked child)."""
        check_fork()
        with self._lock:
            if self._closed:
                raise errors.ClosedError(f"{self.what} used after close()")
            self._users += 1
        return self.ptr

    def release(self) -> None:
        with self._lock:
            self._users -= 1
            free = self._closed and self._users == 0
        if free:
            self._finalizer()

    @contextlib.contextmanager
    def use(self) -> Iterator[Any]:
        p = self.acquire()
        try:
            yield p
        finally:
            self.release()

    def close(self) -> None:
        """Frees the handle now, or when the last call using it returns."""
        with self._lock:
            self._closed = True
            free = self._users == 0
        if free:
            self._finalizer()


def _free_handle(free_fn: str, ptr: Any) -> None:
    lib_ = lib_for_cleanup()
    if lib_ is not None:
        getattr(lib_, free_fn)(ptr)
