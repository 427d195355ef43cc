"""The wheel: built with `python -m build --wheel`, platform-tagged, and
working in a fresh virtual environment on a PATH without Go."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]

SMOKE = textwrap.dedent(
    """
    import shutil, sys
    import bitnet
    assert shutil.which("go") is None, "go is on PATH: the smoke test must run without it"
    assert "{venv}" in bitnet.__file__, bitnet.__file__
    with bitnet.BitNetModel.from_file(sys.argv[1]) as m:
        text = m.generate("", bitnet.GenerationConfig(max_new_tokens=12, temperature=0.0))
        pieces = list(m.generate_stream("", bitnet.GenerationConfig(max_new_tokens=12, temperature=0.0)))
    assert "".join(pieces) == text, (pieces, text)
    print(text)
    """
)


def _run(cmd, **kw):
    p = subprocess.run([str(c) for c in cmd], capture_output=True, text=True, **kw)
    assert p.returncode == 0, f"{' '.join(map(str, cmd))} exited {p.returncode}:\n{p.stdout[-3000:]}\n{p.stderr[-3000:]}"
    return p


@pytest.mark.slow
def test_wheel_installs_and_runs_in_a_fresh_venv_without_go(tmp_path, stories_path, golden):
    dist = tmp_path / "dist"
    _run([sys.executable, "-m", "build", "--wheel", "--outdir", dist, REPO], timeout=900)
    wheels = list(dist.glob("*.whl"))
    assert len(wheels) == 1, wheels
    whl = wheels[0]
    name, version, py, abi, plat = whl.stem.split("-")
    assert (name, py, abi) == ("bitnet", "py3", "none") and plat != "any", whl.name
    with zipfile.ZipFile(whl) as z:
        names = set(z.namelist())
    lib = "bitnet/_lib/libbitnet.dylib" if sys.platform == "darwin" else "bitnet/_lib/libbitnet.so"
    for want in (lib, "bitnet/_lib/bitnet.h", "bitnet/py.typed", "bitnet/__init__.py", "bitnet/__main__.py"):
        assert want in names, f"{want} missing from {whl.name}"

    venv = tmp_path / "venv"
    _run([sys.executable, "-m", "venv", venv], timeout=300)
    bindir = venv / ("Scripts" if os.name == "nt" else "bin")
    _run([bindir / "python", "-m", "pip", "install", "--quiet", "--disable-pip-version-check", whl], timeout=600)

    env = {k: v for k, v in os.environ.items() if not k.startswith(("BITNET_", "PYTHON", "GO"))}
    env["PATH"] = os.pathsep.join(["/usr/bin", "/bin"])
    script = tmp_path / "smoke.py"
    script.write_text(SMOKE.replace("{venv}", str(venv)))
    out = _run([bindir / "python", script, stories_path], env=env, cwd=tmp_path, timeout=300).stdout
    assert golden("stories260K.runc.greedy.txt").startswith(out.rstrip("\n"))
    p = _run([bindir / "bitnet", "version"], env=env, cwd=tmp_path, timeout=60)
    assert p.stdout.startswith("bitnet ")
    p = _run([bindir / "python", "-m", "bitnet", "version"], env=env, cwd=tmp_path, timeout=60)
    assert p.stdout.startswith("bitnet ")
