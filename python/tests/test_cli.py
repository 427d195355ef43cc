"""The command line through the package: `python -m bitnet` and `bitnet`."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import bitnet


def test_python_m_bitnet_runs_the_library_cli():
    p = subprocess.run([sys.executable, "-m", "bitnet", "version"], capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    assert p.stdout.startswith("bitnet ") and bitnet.library_version() in p.stdout
    p = subprocess.run([sys.executable, "-m", "bitnet", "no-such-command"], capture_output=True, text=True, timeout=60)
    assert p.returncode == 2 and "unknown command" in p.stderr


def test_python_m_bitnet_generates_like_the_api(stories, stories_path):
    p = subprocess.run(
        [sys.executable, "-m", "bitnet", "generate", "--model", str(stories_path), "--temperature", "0",
         "--max-tokens", "20", "--quiet"],
        capture_output=True, text=True, timeout=120,
    )
    assert p.returncode == 0, p.stderr
    want = stories.generate("", bitnet.GenerationConfig(max_new_tokens=20, temperature=0.0))
    assert p.stdout.strip() == want.strip()


def test_console_script_is_installed_next_to_the_interpreter():
    exe = Path(sys.executable).parent / ("bitnet.exe" if os.name == "nt" else "bitnet")
    if not exe.exists():
        exe = Path(shutil.which("bitnet") or "")
    assert exe.is_file(), "the `bitnet` console script is missing (pip install . installs it)"
    p = subprocess.run([str(exe), "version"], capture_output=True, text=True, timeout=60)
    assert p.returncode == 0 and p.stdout.startswith("bitnet ")


def test_main_returns_the_exit_status_in_process(capfd):
    from bitnet.cli import main

    assert main(["help"]) == 0
    out, _ = capfd.readouterr()
    assert "Usage: bitnet COMMAND" in out
