"""The ``bitnet`` command: the library's command-line tool, run in-process
through ``bitnet_cli_main`` (``python -m bitnet ...`` runs the same)."""

from __future__ import annotations

import os
import sys
from typing import List, Optional


def main(argv: Optional[List[str]] = None) -> int:
    """Runs the command line (argv without the program name; default
    sys.argv[1:]) and returns its exit status."""
    try:
        from . import _native

        _native.load()
        _native.check_fork()
    except ImportError as e:
        print(f"bitnet: {e}", file=sys.stderr)
        return 1
    args = sys.argv[1:] if argv is None else list(argv)
    ffi, lib = _native.ffi(), _native.lib()
    keep = [ffi.new("char[]", os.fsencode(a)) for a in ["bitnet", *args]]
    cargv = ffi.new("char *[]", keep + [ffi.NULL])
    # The tool writes to the process's file descriptors 1 and 2 directly.
    sys.stdout.flush()
    sys.stderr.flush()
    return int(lib.bitnet_cli_main(len(keep), cargv))


def console_main() -> None:
    """Entry point of the ``bitnet`` console script."""
    sys.exit(main())
