"""Download progress bars on stderr for BitNetModel.from_pretrained.

One bar per file: tqdm's when the ``tqdm`` package is importable, else a
simple one-line bar redrawn with carriage returns (one line per file when
stderr is not a terminal). The library reports progress from one of its own
threads; the bar is only touched under a lock.
"""

from __future__ import annotations

import sys
import threading
from typing import Any, Optional, TextIO


def _short_name(file: str) -> str:
    """'org/name@commit/path' -> 'org/name/path'."""
    at = file.find("@")
    if at < 0:
        return file
    slash = file.find("/", at)
    return file if slash < 0 else file[:at] + file[slash:]


def _size(n: int) -> str:
    if n < 0:
        return "?"
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n:.1f} {unit}" if unit != "B" else f"{n} B"
        n /= 1024  # type: ignore[assignment]
    return f"{n} B"  # pragma: no cover


class DownloadProgress:
    """Receives (file, done, total) reports and draws them."""

    def __init__(self, stream: Optional[TextIO] = None, use_tqdm: Optional[bool] = None) -> None:
        self._stream = stream if stream is not None else sys.stderr
        self._lock = threading.Lock()
        self._file: Optional[str] = None
        self._bar: Any = None
        self._done = 0
        self._tqdm: Any = None
        if use_tqdm is not False:
            try:
                from tqdm.auto import tqdm

                self._tqdm = tqdm
            except ImportError:
                if use_tqdm:
                    raise
        self.files_seen = 0

    def __call__(self, file: str, done: int, total: int) -> None:
        with self._lock:
            if file != self._file:
                self._finish()
                self._start(file, done, total)
            self._advance(done, total)
            if total >= 0 and done >= total:
                self._finish()

    def _start(self, file: str, done: int, total: int) -> None:
        self._file = file
        self._done = done
        self.files_seen += 1
        name = _short_name(file)
        if self._tqdm is not None:
            self._bar = self._tqdm(
                total=total if total >= 0 else None, initial=done, unit="B", unit_scale=True,
                unit_divisor=1024, desc=name, file=self._stream, leave=True, dynamic_ncols=True,
            )
        elif not self._isatty():
            self._stream.write(f"downloading {name} ({_size(total)})\n")
            self._stream.flush()

    def _advance(self, done: int, total: int) -> None:
        if self._bar is not None:
            self._bar.update(max(0, done - self._done))
        elif self._isatty():
            line = f"\r{_short_name(self._file or '')}  {_size(done)}"
            if total > 0:
                width = 24
                filled = done * width // total
                line += f" / {_size(total)} [{'=' * filled}{' ' * (width - filled)}] {done * 100 // total:3d}%"
            self._stream.write(line)
            self._stream.flush()
        self._done = done

    def _finish(self) -> None:
        if self._file is None:
            return
        if self._bar is not None:
            self._bar.close()
            self._bar = None
        elif self._isatty():
            self._stream.write("\n")
        else:
            self._stream.write(f"downloaded {_short_name(self._file)}\n")
        self._stream.flush()
        self._file = None

    def close(self) -> None:
        """Ends the bar of a file left unfinished (a failed download)."""
        with self._lock:
            self._finish()

    def _isatty(self) -> bool:
        try:
            return bool(self._stream.isatty())
        except (AttributeError, ValueError):
            return False
